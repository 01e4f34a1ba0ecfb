"""The symbolic parameter count against the modules, and configuration by a parameter budget."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import sympy
from basicts.models.STID import STID
from easydict import EasyDict

from adapters_helpers import TinyModel
from stlora_plugin import parameter_report, st_lora
from stlora_plugin.adapters import STLoRAFusion
from stlora_plugin.adapters.budget import (HIDDEN_SIZES, LAYERS, RANKS, SYMBOLS, adapter_formula, choose_by_budget,
                                           formula_count, split_formula)

N = 5
Nsym, r, D, L, K, L_in, H = SYMBOLS

#: N, rank, hidden size, layers, predictors, input steps, horizon, core, fusion
TABLE = [
    (5, 4, 32, 2, 2, 12, 12, "full", "gate"),
    (5, 4, 32, 2, 2, 12, 12, "diagonal", "gate"),
    (5, 4, 32, 2, 2, 12, 12, "shared", "gate"),
    (5, 4, 32, 2, 2, 12, 12, "full", "mean"),
    (5, 4, 32, 2, 2, 12, 12, "shared", "mean"),
    (307, 1, 4, 1, 1, 12, 12, "diagonal", "gate"),
    (307, 1, 4, 1, 1, 12, 12, "full", "mean"),
    (12, 3, 7, 3, 3, 24, 6, "full", "gate"),
    (12, 3, 7, 3, 3, 24, 6, "diagonal", "mean"),
    (12, 3, 7, 3, 3, 24, 6, "shared", "gate"),
    (1, 8, 8, 1, 4, 6, 18, "full", "gate"),
    (2, 2, 16, 4, 1, 12, 3, "shared", "mean"),
    (9, 5, 5, 2, 2, 1, 1, "diagonal", "gate"),
]


def _values(n, rank, hidden, layers, k, input_len, horizon):
    return dict(num_nodes=n, rank=rank, hidden_size=hidden, num_layers=layers, num_predictors=k,
                input_len=input_len, output_len=horizon)


@pytest.mark.parametrize("n, rank, hidden, layers, k, input_len, horizon, core, fusion", TABLE)
def test_formula_equals_the_modules_numel(n, rank, hidden, layers, k, input_len, horizon, core, fusion):
    module = STLoRAFusion(n, input_len, horizon, num_predictors=k, num_layers=layers, hidden_size=hidden, rank=rank,
                          core=core, fusion=fusion)
    counted = sum(p.numel() for p in module.parameters())
    per_node = sum(p.numel() for p in module.node_specific_parameters())
    assert formula_count(core, fusion, **_values(n, rank, hidden, layers, k, input_len, horizon)) == counted
    shared, node = split_formula(core, fusion)
    point = dict(zip(SYMBOLS, (n, rank, hidden, layers, k, input_len, horizon)))
    assert (int(shared.subs(point)), int(node.subs(point))) == (counted - per_node, per_node)


@pytest.mark.parametrize("core, node_part", [("full", K * L * Nsym * r ** 2), ("diagonal", K * L * Nsym * r),
                                             ("shared", 0)])
@pytest.mark.parametrize("fusion", ["gate", "mean"])
def test_split_is_shared_part_plus_per_node_part(core, node_part, fusion):
    shared, node = split_formula(core, fusion)
    assert sympy.simplify(node - node_part) == 0
    assert Nsym not in shared.free_symbols
    assert sympy.expand(shared + node - adapter_formula(core, fusion)) == 0
    gate = sympy.expand(adapter_formula(core, "gate") - adapter_formula(core, "mean"))
    assert gate == sympy.expand((L_in + H) * H + H)  # the gate F is the only difference between fusions


def test_formula_has_the_papers_form_per_nall():
    """The rank-dependent part of one NALL is r (d_in + d_out) + N r^2 (d_in = d_out = D)."""
    expr = adapter_formula("full", "mean")
    per_nall = sympy.expand(expr.subs({K: 1, L: 1}) - expr.subs({K: 1, L: 1, r: 0}))
    assert sympy.expand(per_nall - (r * (D + D) + Nsym * r ** 2)) == 0


def _choose(limit, n=307, core="full", fusion="gate", k=2):
    return choose_by_budget(limit, backbone_parameters=10 ** 6, num_nodes=n, input_len=12, output_len=12,
                            num_predictors=k, core=core, fusion=fusion)


@pytest.mark.parametrize("core, fusion, k", [("full", "gate", 2), ("diagonal", "mean", 1), ("shared", "gate", 2)])
def test_a_larger_budget_never_chooses_a_smaller_adapter(core, fusion, k):
    previous = None
    for limit in np.unique(np.geomspace(1_000, 3_000_000, 80).astype(int)):
        try:
            choice = _choose(int(limit), core=core, fusion=fusion, k=k)
        except ValueError:
            assert previous is None  # infeasible only below the smallest adapter
            continue
        assert choice.parameters <= limit
        if previous is not None:
            assert choice.parameters >= previous.parameters
            assert choice.node_parameters >= previous.node_parameters
        previous = choice
    assert previous is not None


@pytest.mark.parametrize("limit", [2_000, 25_000, 400_000])
def test_the_choice_has_the_most_per_node_parameters_that_fit(limit):
    choice = _choose(limit)
    best = 0
    for rank in RANKS:
        for hidden in (d for d in HIDDEN_SIZES if d >= rank):
            for layers in LAYERS:
                values = _values(307, rank, hidden, layers, 2, 12, 12)
                if formula_count("full", "gate", **values) <= limit:
                    best = max(best, 2 * layers * 307 * rank ** 2)
    assert choice.node_parameters == best > 0


@pytest.mark.parametrize("limit", [1_500, 6_000, 30_000])
@pytest.mark.parametrize("core, fusion", [("full", "gate"), ("diagonal", "mean"), ("shared", "mean")])
def test_the_chosen_adapter_really_fits(limit, core, fusion):
    choice = _choose(limit, n=N, core=core, fusion=fusion)
    module = STLoRAFusion(N, 12, 12, num_predictors=2, num_layers=choice.num_layers, hidden_size=choice.hidden_size,
                          rank=choice.rank, core=core, fusion=fusion)
    assert sum(p.numel() for p in module.parameters()) == choice.parameters <= limit


def test_an_impossible_budget_names_it_and_the_smallest_overhead():
    smallest = formula_count("full", "gate", **_values(307, 1, HIDDEN_SIZES[0], 1, 2, 12, 12))
    with pytest.raises(ValueError, match=rf"param_budget=0\.001 \(1,000 parameters = 0\.001 x the backbone's "
                                         rf"1,000,000\) is below the smallest ST-LoRA adapter at N=307 nodes: "
                                         rf"{smallest:,} parameters"):
        _choose(0.001)
    with pytest.raises(ValueError, match=f"param_budget={smallest - 1} .* {smallest:,} parameters"):
        _choose(smallest - 1)
    assert _choose(smallest).parameters == smallest


@pytest.mark.parametrize("budget", [0.0, 1.0, 1e5, -3, 0, True, "1%"])
def test_a_budget_that_is_neither_share_nor_count_is_refused(budget):
    with pytest.raises(ValueError, match=f"param_budget={budget!r} is not allowed"):
        _choose(budget)


def test_an_int_budget_sizes_the_built_model(caplog):
    wrapped = st_lora(TinyModel, param_budget=20_000)
    with caplog.at_level(logging.INFO, logger="stlora_plugin.adapters.budget"):
        model = wrapped(wrapped.Config(num_nodes=N))
    report = parameter_report(model)
    assert report.adapter == sum(p.numel() for p in model.st_lora.parameters()) <= 20_000
    choice = model.stlora_budget
    assert choice.limit == 20_000 and report.budget == choice.as_dict()
    assert {k: report.settings[k] for k in choice.settings()} == choice.settings()
    assert all(model.stlora_hparams[k] == v for k, v in choice.settings().items())
    nall = model.st_lora.predictors[0].blocks[0].nall
    assert (nall.rank, nall.in_features, len(model.st_lora.predictors[0].blocks)) == (
        choice.rank, choice.hidden_size, choice.num_layers)
    assert "param_budget=20000" in caplog.text and f"rank {choice.rank}" in caplog.text
    assert "param_budget=20000" in str(report)


def test_a_share_budget_uses_the_backbones_count_at_build_time():
    wrapped = st_lora(STID, param_budget=0.3)
    config = wrapped.Config(input_len=12, output_len=12, num_features=N)
    model = wrapped(config)
    backbone = sum(p.numel() for p in STID(config).parameters())
    report = parameter_report(model)
    assert report.backbone == backbone and model.stlora_budget.limit == int(0.3 * backbone)
    assert report.adapter <= 0.3 * backbone
    assert config.stlora_param_budget == 0.3 and config.stlora_rank == 4  # the config itself is not rewritten
    bigger = st_lora(STID, param_budget=0.6)
    assert parameter_report(bigger(bigger.Config(input_len=12, output_len=12, num_features=N))).adapter >= \
        report.adapter


def test_the_budget_survives_basicts_serialisation():
    wrapped = st_lora(TinyModel, core="shared")
    config = wrapped.Config(num_nodes=N, stlora_param_budget=9000)
    rebuilt = wrapped(EasyDict(json.loads(json.dumps(dict(config)))))  # what BasicTS does with cfg.json
    assert rebuilt.stlora_budget == wrapped(config).stlora_budget
    assert rebuilt.stlora_budget.node_parameters == 0 and rebuilt.stlora_budget.core == "shared"


def test_a_budget_too_small_for_the_model_fails_at_build_time():
    wrapped = st_lora(TinyModel, param_budget=0.5)  # half of a 156-parameter backbone
    with pytest.raises(ValueError, match=r"TinyModelSTLoRA: param_budget=0\.5 \(78 parameters .* smallest"):
        wrapped(wrapped.Config(num_nodes=N))


def test_without_a_budget_the_config_decides():
    wrapped = st_lora(TinyModel, rank=3, hidden_size=6)
    model = wrapped(wrapped.Config(num_nodes=N))
    assert model.stlora_budget is None and parameter_report(model).budget is None
    assert (model.stlora_hparams["rank"], model.stlora_hparams["hidden_size"]) == (3, 6)
