"""One torch thread for the adapter tests: their models are tiny, and on a shared 2-core machine a second
intra-op thread mostly spin-waits (a one-epoch BasicTS run measured 10x slower with two threads under load)."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
