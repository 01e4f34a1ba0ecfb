"""Fixtures of the sepnet tests: tiny language-model folders on disk."""
from __future__ import annotations

import pytest
from sepnet_helpers import TINY_CONFIGS, save_tiny_model


@pytest.fixture(scope="session")
def tiny_lms(tmp_path_factory) -> dict[str, str]:
    """``{model_type: folder}`` of the four tiny models, each with a tokenizer."""
    root = tmp_path_factory.mktemp("tiny_lms")
    return {name: str(save_tiny_model(name, root / name)) for name in TINY_CONFIGS}
