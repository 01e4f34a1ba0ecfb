"""Shared fixtures (a tiny synthetic BasicTS dataset, the shared raw data, a BasicTS training helper) and the
one rule of the default suite: **a test that trains through BasicTS is slow.**

Tests that use ``train_basicts`` are marked slow here; any other test that reaches
``BasicTSLauncher.launch_training`` without the mark fails, naming this rule, so no training can slip into the
default suite (``pytest -m "not slow"``) and no mark can be forgotten.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
from basicts import BasicTSLauncher

from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.runtime import benchmark_config, launch_training, read_test_metrics, read_training_log

SHARED_DATASETS = Path(os.environ.get("STLORA_SHARED_DATASETS",
                                      Path(__file__).resolve().parents[2] / "shared" / "datasets"))

torch.set_num_threads(1)  # tiny test models: one thread is fastest and robust to a busy machine

@pytest.fixture(autouse=True)
def _no_log_handler_on_a_closed_stream():
    """BasicTS's loggers keep the stream handler they were created with; under pytest that stream is an earlier
    test's capture, closed since, and a later test's log line then prints "--- Logging error ---" and a traceback
    into that test's stderr. Such handlers are dropped before each test."""
    loggers = [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values()
                                      if isinstance(v, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if getattr(getattr(handler, "stream", None), "closed", False):
                logger.removeHandler(handler)
    yield


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "train_basicts" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _training_is_slow(request, monkeypatch):
    """Refuse BasicTS training in a test that is not marked slow (see the module docstring)."""
    if request.node.get_closest_marker("slow") is None:
        def refuse(*args, **kwargs):
            raise AssertionError(f"{request.node.nodeid} trains through BasicTS but is not marked slow: use the "
                                 "train_basicts fixture or @pytest.mark.slow (tests/conftest.py)")
        monkeypatch.setattr(BasicTSLauncher, "launch_training", staticmethod(refuse))


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> str:
    """A prepared BasicTS dataset folder: 12 nodes, 4 days of 5-minute steps, with a graph."""
    data, adj = generate_synthetic(num_nodes=12, num_days=4, seed=0)
    out = tmp_path_factory.mktemp("datasets")
    return str(write_dataset(data, adj, out, "TINY", step_minutes=5).path)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """``../shared/datasets`` (raw real data); tests using it skip when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"real raw data not found at {SHARED_DATASETS} (set STLORA_SHARED_DATASETS)")
    return SHARED_DATASETS


@pytest.fixture
def train_basicts(tmp_path):
    """Train a model through ``BasicTSLauncher`` and return ``(cfg, test_metrics, training_log)``.

    ``train_basicts(Model, Model.Config(...), dataset, num_epochs=1, **overrides)``.
    """
    def run(model, model_config, dataset, **overrides):
        overrides.setdefault("num_epochs", 1)
        overrides.setdefault("ckpt_save_dir", str(tmp_path / "ckpt" / model.__name__))
        cfg = benchmark_config(model, model_config, dataset, **overrides)
        run_dir = launch_training(cfg)
        return cfg, read_test_metrics(run_dir), read_training_log(run_dir)

    return run
