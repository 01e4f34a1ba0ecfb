"""Parameter reports, the core-spread measure and the training-start callback."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch

from adapters_helpers import TinyModelSTLoRA
from stlora_plugin import core_spread, parameter_report
from stlora_plugin.adapters import ParameterReportCallback

N = 5


def _nall_params(d: int, r: int, n: int, core: str) -> int:
    """``W``, ``b``, ``A``, ``B`` and the cores of one NALL (the docstring's count)."""
    return d * d + d + r * (d + d) + (n * r * r if core == "full" else n * r)


def _predictor_params(t_in: int, h: int, d: int, r: int, n: int, core: str, layers: int) -> int:
    return (t_in * d + d) + layers * (2 * d + _nall_params(d, r, n, core)) + (d * h + h)


@pytest.mark.parametrize("core", ["full", "diagonal"])
def test_counts_match_the_equations(core):
    d, r, L, H = 8, 2, 12, 12
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N, stlora_core=core))  # K = 2, one block each
    report = parameter_report(model)
    adapter = (_predictor_params(H, H, d, r, N, core, 1) + _predictor_params(L + H, H, d, r, N, core, 1)
               + (L + H) * H + H)
    node = 2 * (N * r * r if core == "full" else N * r)
    assert (report.backbone, report.adapter, report.node_specific) == (L * H + H, adapter, node)
    assert report.total == report.trainable == report.backbone + report.adapter
    assert report.overhead_percent == pytest.approx(100 * adapter / (L * H + H))
    assert report.node_share_percent == pytest.approx(100 * node / adapter)
    assert "adapter" in str(report) and report.as_dict()["adapter"] == adapter


def test_trainable_is_the_adapter_when_the_backbone_is_frozen():
    report = parameter_report(TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N, stlora_freeze_backbone=True)))
    assert report.trainable == report.adapter


@pytest.mark.parametrize("fill, expected", [("zeros", 0.0), ("same", 0.0), ("random", None)])
def test_core_spread(fill, expected):
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N))
    torch.manual_seed(0)
    with torch.no_grad():
        for core in model.st_lora.node_specific_parameters():
            if fill == "same":
                core.copy_(torch.randn(core.shape[1:]).expand_as(core))
            elif fill == "random":
                core.normal_()
    spread = core_spread(model)
    if expected is None:
        assert 0.8 < spread["relative_spread"] <= 1.0 and spread["node_norm"] > 0
    else:
        assert spread["relative_spread"] == pytest.approx(expected, abs=1e-6)


def test_callback_writes_the_report_to_the_run_log(caplog):
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N))
    runner = SimpleNamespace(model=model, logger=logging.getLogger("BasicTS-test"))
    with caplog.at_level(logging.INFO, logger="BasicTS-test"):
        ParameterReportCallback().on_train_start(runner)
    assert f"adapter {parameter_report(model).adapter:,}" in caplog.text
