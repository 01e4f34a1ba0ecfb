"""STLoRAFusion: the integration equations, the identity start, node isolation, the penalty, train/eval."""
from __future__ import annotations

import math

import pytest
import torch

from stlora_plugin.adapters import STLoRAFusion
from stlora_plugin.adapters.fusion import FUSIONS, GATE_BIAS_INIT
from stlora_plugin.runtime import is_node_specific

B, L, H, N = 2, 12, 12, 5


def _fusion(**kw) -> STLoRAFusion:
    """A fusion with non-zero cores and heads, as after training (at initialisation both are zero)."""
    torch.manual_seed(0)
    options = dict(num_predictors=2, num_layers=1, hidden_size=8, rank=2, dropout=0.2, lambda_=0.5)
    fusion = STLoRAFusion(N, L, H, **{**options, **kw})
    with torch.no_grad():
        for core in fusion.core_parameters():
            core.normal_()
        for predictor in fusion.predictors:
            predictor.head.weight.normal_(std=0.3)
            predictor.head.bias.normal_(std=0.3)
    return fusion


def test_matches_the_equations():
    fusion = _fusion(num_predictors=3).eval()
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    act = torch.tanh
    xt, bt = x.transpose(1, 2), base.transpose(1, 2)
    z = [bt + fusion.predictors[0](act(bt))]  # Z_k = Y_base + D_k
    for k in (1, 2):
        z.append(bt + fusion.predictors[k](act(torch.cat([xt, z[-1]], -1))))
    z_mean = torch.stack(z).mean(0)
    r = torch.sigmoid(fusion.gate(torch.cat([xt, z_mean], -1)))
    expected = (r * bt + (1 - r) * z_mean).transpose(1, 2)  # the paper's Y = R Y_base + (1 - R) mean Z
    torch.testing.assert_close(fusion(x, base), expected)


@pytest.mark.parametrize("fusion_kind", sorted(FUSIONS))
@pytest.mark.parametrize("core", ["full", "diagonal", "shared"])
def test_a_fresh_fusion_returns_the_backbone_forecast_exactly(core, fusion_kind):
    torch.manual_seed(0)
    fusion = STLoRAFusion(N, L, H, num_predictors=3, core=core, fusion=fusion_kind, dropout=0.5)
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    for mode in (True, False):  # dropout cannot change a zero correction
        assert torch.equal(fusion.train(mode)(x, base), base)


def test_the_identity_start_is_the_zero_head_a_control():
    fusion = STLoRAFusion(N, L, H)
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    with torch.no_grad():
        fusion.predictors[0].head.bias.fill_(0.1)  # a non-zero correction: the output must move
    assert not torch.allclose(fusion.eval()(x, base), base)


@pytest.mark.parametrize("num_predictors", [1, 3])
def test_shape_and_predictor_input_lengths(num_predictors):
    fusion = _fusion(num_predictors=num_predictors)
    assert fusion(torch.randn(B, L, N), torch.randn(B, H, N)).shape == (B, H, N)
    assert [p.in_len for p in fusion.predictors] == [H] + [L + H] * (num_predictors - 1)


@pytest.mark.parametrize("node", [0, 2])
@pytest.mark.parametrize("which", ["inputs", "base"])
def test_perturbing_one_node_changes_only_that_node(node, which):
    fusion = _fusion().eval()
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    x2, base2 = x.clone(), base.clone()
    (x2 if which == "inputs" else base2)[:, 3, node] += 1.0
    changed = (fusion(x2, base2) - fusion(x, base)).abs().sum(dim=(0, 1)) > 0
    assert changed.tolist() == [v == node for v in range(N)]


def test_mean_fusion_is_the_average_and_has_no_gate():
    fusion = _fusion(fusion="mean").eval()
    assert fusion.gate is None
    assert not any("gate" in name for name, _ in fusion.named_parameters())
    gated = _fusion(fusion="gate")
    assert (sum(p.numel() for p in gated.parameters()) - sum(p.numel() for p in fusion.parameters())
            == (L + H) * H + H)  # exactly the gate F
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    xt = x.transpose(1, 2)
    bt = base.transpose(1, 2)
    z = [bt + fusion.predictors[0](torch.tanh(bt))]
    z.append(bt + fusion.predictors[1](torch.tanh(torch.cat([xt, z[0]], -1))))
    expected = (base + torch.stack(z).mean(0).transpose(1, 2)) / 2
    torch.testing.assert_close(fusion(x, base), expected)


@pytest.mark.parametrize("fusion_kind", sorted(FUSIONS))
@pytest.mark.parametrize("core", ["full", "diagonal", "shared"])
def test_every_option_trains_every_parameter(core, fusion_kind):
    fusion = _fusion(core=core, fusion=fusion_kind).train()
    out = fusion(torch.randn(B, L, N), torch.randn(B, H, N))
    assert out.shape == (B, H, N)
    (out.square().mean() + fusion.penalty()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in fusion.parameters())


def _brute_force_update_norms(nall) -> torch.Tensor:
    """``||(alpha / r) B C_v A||_F`` per node from the materialized ``[N, d_out, d_in]`` updates."""
    core = nall.core
    if nall.core_type == "diagonal":
        core = torch.diag_embed(core)
    core = core.expand(nall.num_nodes, nall.rank, nall.rank)
    updates = nall.scaling * nall.lora_B @ core @ nall.lora_A  # [N, d_out, d_in]
    return torch.linalg.matrix_norm(updates)  # Frobenius


def test_shared_core_has_no_node_specific_parameters_but_is_penalized_per_node():
    fusion = _fusion(core="shared")
    assert fusion.node_specific_parameters() == []
    assert not any(is_node_specific(p) for p in fusion.parameters())
    cores = fusion.core_parameters()
    assert [tuple(c.shape) for c in cores] == [(2, 2), (2, 2)]
    expected = 0.5 * sum(_brute_force_update_norms(m)[0] for m in fusion.nalls())  # every node's update
    torch.testing.assert_close(fusion.penalty(), expected)


def test_the_gate_starts_at_an_even_share():
    fusion = STLoRAFusion(N, L, H)
    assert GATE_BIAS_INIT == 0.0 and torch.all(fusion.gate.bias == GATE_BIAS_INIT)


def test_gate_bias_sets_the_backbone_share_r():
    fusion = _fusion(num_predictors=1, gate_bias=1.5).eval()
    assert torch.all(fusion.gate.bias == 1.5) and "gate_bias=1.5" in repr(fusion)
    torch.nn.init.zeros_(fusion.gate.weight)  # R = sigmoid(1.5) whatever the input
    r = 1 / (1 + math.exp(-1.5))
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    z = base.transpose(1, 2) + fusion.predictors[0](torch.tanh(base.transpose(1, 2)))
    torch.testing.assert_close(fusion(x, base), (r * base.transpose(1, 2) + (1 - r) * z).transpose(1, 2))


@pytest.mark.parametrize("core", ["full", "diagonal", "shared"])
def test_update_norms_match_the_materialized_updates(core):
    fusion = _fusion(core=core, rank=3)
    for nall in fusion.nalls():
        torch.testing.assert_close(nall.update_norms(), _brute_force_update_norms(nall))


def test_penalty_is_lambda_times_the_node_mean_of_the_update_norms():
    fusion = _fusion(num_predictors=2)
    assert len(fusion.nalls()) == 2  # one NALL per predictor here
    expected = 0.5 * sum(_brute_force_update_norms(m).mean() for m in fusion.nalls())
    torch.testing.assert_close(fusion.penalty(), expected)
    fusion.penalty().backward()
    for nall in fusion.nalls():  # the penalty reaches the cores and both factors
        assert all(p.grad.abs().sum() > 0 for p in (nall.core, nall.lora_A, nall.lora_B))


@pytest.mark.parametrize("core", ["full", "diagonal"])
def test_penalty_is_invariant_to_rescaling_the_factors(core):
    """``B C_v A`` and so the penalty are unchanged under ``(s B, C / s, A)``; a core-only norm is not."""
    fusion = _fusion(core=core)
    before = fusion.penalty()
    core_norm = torch.linalg.vector_norm(torch.cat([c.reshape(-1) for c in fusion.core_parameters()]))
    with torch.no_grad():
        for nall in fusion.nalls():
            nall.lora_B.mul_(10.0)
            nall.core.div_(10.0)
    torch.testing.assert_close(fusion.penalty(), before)
    rescaled = torch.linalg.vector_norm(torch.cat([c.reshape(-1) for c in fusion.core_parameters()]))
    assert rescaled < core_norm / 5  # the control: what a core-only penalty measures moved tenfold


def test_penalty_gradient_is_finite_at_zero():
    fusion = STLoRAFusion(N, L, H, lambda_=1.0)  # cores start at zero
    assert fusion.penalty() == 0
    fusion.penalty().backward()
    assert all(torch.isfinite(c.grad).all() for c in fusion.core_parameters())


def test_eval_is_deterministic_and_unchanged_by_train_mode():
    fusion = _fusion(dropout=0.5)
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    fusion.eval()
    first = fusion(x, base)
    torch.testing.assert_close(fusion(x, base), first, rtol=0, atol=0)
    fusion.train()
    assert not torch.allclose(fusion(x, base), first)  # dropout acts in training
    fusion.eval()
    torch.testing.assert_close(fusion(x, base), first, rtol=0, atol=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_predictors": 0}, "num_predictors=0"),
    ({"lambda_": -1.0}, "lambda_=-1.0"),
    ({"fusion": "sum"}, "fusion='sum'"),
    ({"core": "block"}, "core='block'"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        STLoRAFusion(N, L, H, **kwargs)


def test_every_hyperparameter_maps_to_one_module_argument():
    import inspect

    from stlora_plugin.adapters.config import HYPERPARAMETERS, resolve_hyperparameters

    arguments = set(inspect.signature(STLoRAFusion.__init__).parameters) - {"self", "num_nodes", "input_len",
                                                                            "output_len"}
    mapped = {("lambda_" if k == "lambda" else k) for k in HYPERPARAMETERS
              if k not in STLoRAFusion.NOT_MODULE_ARGUMENTS}
    assert mapped == arguments
    hp = resolve_hyperparameters("default", {"rank": 3, "lambda_": 0.25, "core": "diagonal"})
    fusion = STLoRAFusion.from_hyperparameters(N, L, H, hp)
    assert fusion.lambda_ == 0.25
    assert {(m.rank, m.core_type) for m in fusion.nalls()} == {(3, "diagonal")}
