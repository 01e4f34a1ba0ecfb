"""NodeAdaptiveLowRankLinear: the equation, node isolation, gradients, marks and errors."""
from __future__ import annotations

import copy
import pickle

import pytest
import torch

from stlora_plugin.adapters import NodeAdaptiveLowRankLinear
from stlora_plugin.runtime import in_node_group, is_node_specific

B, N, D_IN, D_OUT, R = 2, 5, 6, 7, 3


def _layer(core="full", **kw) -> NodeAdaptiveLowRankLinear:
    torch.manual_seed(0)
    layer = NodeAdaptiveLowRankLinear(D_IN, D_OUT, N, rank=R, alpha=2.0, core=core, **kw)
    with torch.no_grad():
        layer.core.normal_()  # non-zero cores so the update is visible
    return layer


def _core_of(layer, core, v):
    """C_v as an r x r matrix."""
    return {"full": lambda: layer.core[v], "diagonal": lambda: torch.diag(layer.core[v]),
            "shared": lambda: layer.core}[core]()


@pytest.mark.parametrize("core", ["full", "diagonal", "shared"])
def test_matches_the_equation_node_by_node(core):
    layer = _layer(core)
    x = torch.randn(B, N, D_IN)
    y = layer(x)
    assert y.shape == (B, N, D_OUT)
    for v in range(N):  # reference: y_v = W x_v + b + (alpha / r) B C_v A x_v, one node at a time
        c_v = _core_of(layer, core, v)
        ref = x[:, v] @ layer.weight.T + layer.bias + (2.0 / R) * x[:, v] @ (layer.lora_B @ c_v @ layer.lora_A).T
        torch.testing.assert_close(y[:, v], ref)


@pytest.mark.parametrize("core, shape", [("full", (N, R, R)), ("diagonal", (N, R)), ("shared", (R, R))])
def test_core_shape_and_zero_update_at_init(core, shape):
    layer = NodeAdaptiveLowRankLinear(D_IN, D_OUT, N, rank=R, core=core)
    assert layer.core.shape == shape
    x = torch.randn(B, N, D_IN)
    torch.testing.assert_close(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))
    assert torch.count_nonzero(layer.delta(x)) == 0


@pytest.mark.parametrize("core", ["full", "shared"])
@pytest.mark.parametrize("node", [0, 3])
def test_perturbing_one_node_changes_only_that_node(node, core):
    layer = _layer(core)
    x = torch.randn(B, N, D_IN)
    x2 = x.clone()
    x2[:, node] += 1.0
    changed = (layer(x2) - layer(x)).abs().sum(dim=(0, 2)) > 0
    assert changed.tolist() == [v == node for v in range(N)]


@pytest.mark.parametrize("core", ["full", "diagonal"])
def test_every_core_gets_a_gradient_at_the_first_step(core):
    layer = NodeAdaptiveLowRankLinear(D_IN, D_OUT, N, rank=R, core=core)  # cores start at zero
    layer(torch.randn(B, N, D_IN)).square().sum().backward()
    per_node = layer.core.grad.reshape(N, -1).abs().sum(dim=1)
    assert (per_node > 0).all()
    assert not torch.allclose(layer.core.grad[0], layer.core.grad[1])  # node-specific from the start


def test_a_shared_core_gets_one_gradient_and_stays_identical_across_nodes():
    layer = NodeAdaptiveLowRankLinear(D_IN, D_OUT, N, rank=R, core="shared")
    assert not layer.node_specific
    layer(torch.randn(B, N, D_IN)).square().sum().backward()
    assert layer.core.grad.shape == (R, R) and layer.core.grad.abs().sum() > 0
    torch.optim.Adam(layer.parameters(), lr=1e-2).step()
    rows = layer.node_cores()
    assert rows.shape == (N, R * R) and rows.abs().sum() > 0
    assert torch.equal(rows, rows[:1].expand_as(rows))  # the same core for every node


@pytest.mark.parametrize("core, per_node", [("full", N * R * R), ("diagonal", N * R), ("shared", 0)])
def test_parameter_shapes_are_the_modules_own(core, per_node):
    layer = NodeAdaptiveLowRankLinear(D_IN, D_OUT, N, rank=R, core=core)
    shapes = NodeAdaptiveLowRankLinear.parameter_shapes(D_IN, D_OUT, N, R, core)
    assert {name: tuple(p.shape) for name, p in layer.named_parameters()} == shapes
    assert sum(p.numel() for p in layer.parameters() if is_node_specific(p)) == per_node


def test_one_adam_step_makes_the_update_non_zero():
    layer = NodeAdaptiveLowRankLinear(D_IN, D_OUT, N, rank=R)
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-2)
    x = torch.randn(B, N, D_IN)
    layer(x).square().sum().backward()
    optimizer.step()
    assert layer.delta(x).abs().sum() > 0


def test_leading_axes_are_free():
    layer = _layer()
    x = torch.randn(3, B, N, D_IN)
    torch.testing.assert_close(layer(x)[1], layer(x[1]))


def test_the_low_rank_path_is_marked_and_keeps_the_marks():
    layer = _layer()
    assert is_node_specific(layer.core)
    assert not any(is_node_specific(p) for name, p in layer.named_parameters() if name != "core")
    assert {name for name, p in layer.named_parameters() if in_node_group(p)} == {"core", "lora_A", "lora_B"}
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer)), layer.to(torch.float64)):
        assert is_node_specific(clone.core) and in_node_group(clone.lora_A) and in_node_group(clone.lora_B)


def test_a_shared_core_is_in_the_no_decay_path_but_not_node_specific():
    layer = _layer("shared")
    assert not any(is_node_specific(p) for p in layer.parameters())
    assert {name for name, p in layer.named_parameters() if in_node_group(p)} == {"core", "lora_A", "lora_B"}
    clone = pickle.loads(pickle.dumps(layer))
    assert in_node_group(clone.core) and not is_node_specific(clone.core)


@pytest.mark.parametrize("core, match", [("full", "different for every node"), ("shared", "ablation control")])
def test_merge_is_refused_with_the_reason(core, match):
    with pytest.raises(NotImplementedError, match=match):
        _layer(core).merge()


def test_wrong_node_count_names_both_numbers():
    with pytest.raises(ValueError, match=r"input has 4 nodes .* built for 5"):
        _layer()(torch.randn(B, 4, D_IN))


@pytest.mark.parametrize("kwargs, match", [
    ({"rank": 0}, "rank=0"),
    ({"rank": 2.5}, "rank=2.5"),
    ({"core": "block"}, "core='block'"),
    ({"dropout": 1.0}, "dropout=1.0"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NodeAdaptiveLowRankLinear(D_IN, D_OUT, N, **kwargs)


def test_checkpoints_with_the_former_factor_names_load():
    import torch

    from stlora_plugin.adapters.nall import NodeAdaptiveLowRankLinear

    torch.manual_seed(0)
    layer = NodeAdaptiveLowRankLinear(3, 4, num_nodes=5, rank=2)
    with torch.no_grad():
        layer.core.normal_()
    former = {k.replace("lora_A", "lora_a").replace("lora_B", "lora_b"): v for k, v in layer.state_dict().items()}
    assert "lora_a" in former and "lora_A" not in former
    other = NodeAdaptiveLowRankLinear(3, 4, num_nodes=5, rank=2)
    assert other.load_state_dict(former) is not None  # strict: no missing or unexpected keys
    for key, value in layer.state_dict().items():
        torch.testing.assert_close(other.state_dict()[key], value)
