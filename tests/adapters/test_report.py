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


def _core_params(r: int, n: int, core: str) -> int:
    return {"full": n * r * r, "diagonal": n * r, "shared": r * r}[core]


def _nall_params(d: int, r: int, n: int, core: str) -> int:
    """``W``, ``b``, ``A``, ``B`` and the cores of one NALL (the docstring's count)."""
    return d * d + d + r * (d + d) + _core_params(r, n, core)


def _predictor_params(t_in: int, h: int, d: int, r: int, n: int, core: str, layers: int) -> int:
    return (t_in * d + d) + layers * (2 * d + _nall_params(d, r, n, core)) + (d * h + h)


@pytest.mark.parametrize("core", ["full", "diagonal", "shared"])
def test_counts_match_the_equations(core):
    d, r, L, H = 8, 2, 12, 12
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N, stlora_core=core))  # K = 2, one block each
    report = parameter_report(model)
    adapter = (_predictor_params(H, H, d, r, N, core, 1) + _predictor_params(L + H, H, d, r, N, core, 1)
               + (L + H) * H + H)
    node = 0 if core == "shared" else 2 * _core_params(r, N, core)
    assert (report.backbone, report.adapter, report.node_specific) == (L * H + H, adapter, node)
    assert report.total == report.trainable == report.backbone + report.adapter
    assert report.overhead_percent == pytest.approx(100 * adapter / (L * H + H))
    assert report.node_share_percent == pytest.approx(100 * node / adapter)
    assert "adapter" in str(report) and report.as_dict()["adapter"] == adapter
    assert (report.shared_part, report.node_part) == (adapter - node, node)
    assert report.node_formula == {"full": "K*L*N*r**2", "diagonal": "K*L*N*r", "shared": "0"}[core]
    assert "N" not in report.shared_formula and f"per-node [{report.node_formula}] = {node:,}" in str(report)
    assert report.settings == {"rank": 2, "hidden_size": 8, "num_layers": 1, "num_predictors": 2, "core": core,
                               "fusion": "gate"}


def test_a_formula_that_disagrees_with_the_model_is_reported(caplog):
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N))
    model.st_lora.extra = torch.nn.Linear(2, 2)  # changed after it was built
    with caplog.at_level(logging.WARNING):
        parameter_report(model)
    assert "the adapter formula gives" in caplog.text


def test_trainable_is_the_adapter_when_the_backbone_is_frozen():
    report = parameter_report(TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N, stlora_freeze_backbone=True)))
    assert report.trainable == report.adapter


@pytest.mark.parametrize("fill, expected, core", [("zeros", 0.0, "full"), ("same", 0.0, "full"),
                                                  ("random", None, "full"), ("random", 0.0, "shared")])
def test_core_spread(fill, expected, core):
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N, stlora_core=core))
    torch.manual_seed(0)
    with torch.no_grad():
        for tensor in model.st_lora.core_parameters():
            if fill == "same":
                tensor.copy_(torch.randn(tensor.shape[1:]).expand_as(tensor))
            elif fill == "random":
                tensor.normal_()
    spread = core_spread(model)
    if expected is None:
        assert 0.8 < spread["relative_spread"] <= 1.0 and spread["node_norm"] > 0
    else:
        assert spread["relative_spread"] == pytest.approx(expected, abs=1e-6)
        assert (spread["node_norm"] > 0) == (fill != "zeros")


def test_callback_writes_the_report_to_the_run_log(caplog):
    model = TinyModelSTLoRA(TinyModelSTLoRA.Config(num_nodes=N))
    runner = SimpleNamespace(model=model, logger=logging.getLogger("BasicTS-test"))
    with caplog.at_level(logging.INFO, logger="BasicTS-test"):
        ParameterReportCallback().on_train_start(runner)
    assert f"adapter {parameter_report(model).adapter:,}" in caplog.text
