"""STLoRAFusion: the integration equations, node isolation, the penalty and train/eval behaviour."""
from __future__ import annotations

import math

import pytest
import torch

from stlora_plugin.adapters import STLoRAFusion
from stlora_plugin.adapters.fusion import FUSIONS, GATE_BIAS_INIT
from stlora_plugin.runtime import is_node_specific

B, L, H, N = 2, 12, 12, 5


def _fusion(**kw) -> STLoRAFusion:
    torch.manual_seed(0)
    options = dict(num_predictors=2, num_layers=1, hidden_size=8, rank=2, dropout=0.2, penalty=0.5)
    fusion = STLoRAFusion(N, L, H, **{**options, **kw})
    with torch.no_grad():
        for core in fusion.core_parameters():
            core.normal_()
    return fusion


def test_matches_the_equations():
    fusion = _fusion(num_predictors=3).eval()
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    act = torch.tanh
    xt, bt = x.transpose(1, 2), base.transpose(1, 2)
    z = [fusion.predictors[0](act(bt))]
    for k in (1, 2):
        z.append(fusion.predictors[k](act(torch.cat([xt, z[-1]], -1))))
    z_mean = torch.stack(z).mean(0)
    r = torch.sigmoid(fusion.gate(torch.cat([xt, z_mean], -1)))
    expected = (r * bt + (1 - r) * z_mean).transpose(1, 2)
    torch.testing.assert_close(fusion(x, base), expected)


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
    z = [fusion.predictors[0](torch.tanh(base.transpose(1, 2)))]
    z.append(fusion.predictors[1](torch.tanh(torch.cat([xt, z[0]], -1))))
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


def test_shared_core_has_no_node_specific_parameters_but_is_penalized():
    fusion = _fusion(core="shared")
    assert fusion.node_specific_parameters() == []
    assert not any(is_node_specific(p) for p in fusion.parameters())
    cores = fusion.core_parameters()
    assert [tuple(c.shape) for c in cores] == [(2, 2), (2, 2)]
    torch.testing.assert_close(fusion.penalty(), 0.5 * torch.sqrt(sum(c.square().sum() for c in cores)))


def test_the_gate_starts_close_to_the_backbone():
    fusion = STLoRAFusion(N, L, H)
    assert torch.all(fusion.gate.bias == GATE_BIAS_INIT)
    assert 1 / (1 + math.exp(-GATE_BIAS_INIT)) > 0.85


def test_gate_bias_sets_the_backbone_share_at_step_zero():
    fusion = _fusion(num_predictors=1, gate_bias=0.0).eval()
    assert torch.all(fusion.gate.bias == 0.0) and "gate_bias=0.0" in repr(fusion)
    torch.nn.init.zeros_(fusion.gate.weight)  # R = sigmoid(0) = 0.5 whatever the input
    x, base = torch.randn(B, L, N), torch.randn(B, H, N)
    z = fusion.predictors[0](torch.tanh(base.transpose(1, 2)))
    torch.testing.assert_close(fusion(x, base), (0.5 * base.transpose(1, 2) + 0.5 * z).transpose(1, 2))


def test_penalty_is_lambda_times_the_norm_of_all_cores():
    fusion = _fusion(num_predictors=2)
    cores = fusion.node_specific_parameters()
    assert len(cores) == 2  # one NALL per predictor here
    expected = 0.5 * torch.sqrt(sum(c.square().sum() for c in cores))
    torch.testing.assert_close(fusion.penalty(), expected)
    fusion.penalty().backward()
    assert all(c.grad.abs().sum() > 0 for c in cores)


def test_penalty_gradient_is_finite_at_zero():
    fusion = STLoRAFusion(N, L, H, penalty=1.0)  # cores start at zero
    fusion.penalty().backward()
    assert all(torch.isfinite(c.grad).all() for c in fusion.node_specific_parameters())


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
    ({"penalty": -1.0}, "penalty=-1.0"),
    ({"fusion": "sum"}, "fusion='sum'"),
    ({"core": "block"}, "core='block'"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        STLoRAFusion(N, L, H, **kwargs)
