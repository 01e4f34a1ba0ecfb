"""Graph WaveNet backbone: shapes, gradients, size, diffusion conv, graph locality, errors, one BasicTS run."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from stlora_plugin.backbones.gwnet import DiffusionGraphConv, GWNet, GWNetConfig
from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.runtime import load_supports

B, L, H = 2, 12, 12


def two_chains() -> np.ndarray:
    """A 9-node graph of two components: the chains 0-1-2-3-4 and 5-6-7-8."""
    adj = np.zeros((9, 9), dtype=np.float32)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8)]:
        adj[a, b] = adj[b, a] = 1.0
    return adj


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Prepared datasets by name: graphs of 5, 9 and 307 nodes, a two-component graph, and no graph."""
    out = tmp_path_factory.mktemp("gwnet_data")
    made = {}
    for name, nodes, graph in [("N5", 5, None), ("N9", 9, None), ("N307", 307, None), ("CHAINS", 9, two_chains()),
                               ("NOGRAPH", 5, False)]:
        data, adj = generate_synthetic(num_nodes=nodes, num_days=1, seed=0)
        adj = adj if graph is None else (None if graph is False else graph)
        made[name] = str(write_dataset(data, adj, out, name, step_minutes=5).path)
    return made


def batch(num_nodes: int, length: int = L, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(B, length, num_nodes, generator=gen), torch.rand(B, length, 2, generator=gen)


@pytest.mark.parametrize("name, num_nodes", [("N5", 5), ("N9", 9)])
def test_forward_shape(datasets, name, num_nodes):
    model = GWNet(GWNetConfig(num_nodes=num_nodes, dataset=datasets[name]))
    out = model(*batch(num_nodes))
    assert out.shape == (B, H, num_nodes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("kwargs", [
    {"use_fixed_graph": False, "dataset": None},          # adaptive graph only: no dataset needed
    {"adaptive_graph": False},
    {"use_time_of_day": False},
    {"input_len": 6},                                     # shorter than the receptive field (13): padded
    {"input_len": 20},                                    # longer: the last step's skips are read out
    {"blocks": 2, "layers": 3, "diffusion_order": 1},
])
def test_variants_forward_shape(datasets, kwargs):
    config = GWNetConfig(**{"num_nodes": 5, "dataset": datasets["N5"], **kwargs})
    out = GWNet(config)(*batch(5, length=config.input_len))
    assert out.shape == (B, H, 5)


def test_parameter_count_at_pems04(datasets):
    model = GWNet(GWNetConfig(num_nodes=307, dataset=datasets["N307"]))
    count = sum(p.numel() for p in model.parameters())
    assert count == 295_688                      # the docstring's number
    assert abs(count - 310_000) / 310_000 < 0.15  # BasicTS reports 0.31M
    assert model.receptive_field == 13


def test_diffusion_conv_matches_powers_of_each_support():
    torch.manual_seed(0)
    supports = torch.rand(2, 6, 6)                                                   # [S, N, N]
    layer = DiffusionGraphConv(3, 4, num_supports=2, order=2, dropout=0.0)
    x = torch.randn(2, 3, 6, 5)                                                      # [B, C, N, T]
    terms = [x]
    for s in range(2):
        hop = x
        for _ in range(2):
            hop = torch.einsum("nm,bcmt->bcnt", supports[s], hop)
            terms.append(hop)
    assert torch.allclose(layer(x, supports), layer.mlp(torch.cat(terms, dim=1)), atol=1e-5)


def test_fixed_graph_only_keeps_components_apart(datasets):
    """With the fixed graph alone, a change at node 0 reaches its own chain (0-4) and never the other (5-8)."""
    model = GWNet(GWNetConfig(num_nodes=9, dataset=datasets["CHAINS"], adaptive_graph=False)).eval()
    inputs, stamps = batch(9)
    moved = inputs.clone()
    moved[:, :, 0] += 1.0
    delta = (model(moved, stamps) - model(inputs, stamps)).abs().amax(dim=(0, 1))   # [N]
    assert torch.all(delta[:5] > 1e-6)
    assert torch.all(delta[5:] == 0)


def test_graph_is_a_nonpersistent_double_transition_buffer(datasets):
    model = GWNet(GWNetConfig(num_nodes=5, dataset=datasets["N5"]))
    assert "supports" not in model.state_dict()
    assert "node_source" in model.state_dict()
    assert torch.equal(model.supports, load_supports(datasets["N5"], "doubletransition"))
    adaptive = model.adaptive_adjacency()
    assert torch.allclose(adaptive.sum(dim=1), torch.ones(5))


def test_time_of_day_is_used(datasets):
    model = GWNet(GWNetConfig(num_nodes=5, dataset=datasets["N5"])).eval()
    inputs, stamps = batch(5)
    assert not torch.allclose(model(inputs, stamps), model(inputs, (stamps + 0.3) % 1.0))


def test_wrong_node_count_is_rejected(datasets):
    model = GWNet(GWNetConfig(num_nodes=5, dataset=datasets["N5"]))
    with pytest.raises(ValueError, match=r"inputs has 9 nodes but GWNet was built for 5 \(num_nodes\)"):
        model(*batch(9))


@pytest.mark.parametrize("dataset, error, message", [
    (None, ValueError, "GWNet needs a graph but its config has dataset=None"),
    ("NOGRAPH", FileNotFoundError, "GWNet needs a graph: dataset .* has no graph"),
    ("N9", ValueError, "graph of dataset .* has 9 nodes but GWNet was built for 5"),
])
def test_missing_or_wrong_graph_is_rejected(datasets, dataset, error, message):
    with pytest.raises(error, match=message):
        GWNet(GWNetConfig(num_nodes=5, dataset=datasets.get(dataset)))


def test_unset_node_count_is_rejected(datasets):
    with pytest.raises(ValueError, match="GWNet needs num_nodes.*benchmark_config"):
        GWNet(GWNetConfig(dataset=datasets["N5"]))


@pytest.mark.parametrize("kwargs, message", [
    ({"node_dim": 0}, r"GWNetConfig.node_dim=0"),
    ({"skip_channels": -8}, r"GWNetConfig.skip_channels=-8"),
    ({"diffusion_order": 0}, r"GWNetConfig.diffusion_order=0"),
    ({"dropout": 1.5}, r"GWNetConfig.dropout=1.5"),
    ({"use_fixed_graph": False, "adaptive_graph": False}, r"at least one of them True"),
])
def test_bad_config_values_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GWNetConfig(**kwargs)


def test_trains_through_basicts(synthetic_dataset, train_basicts):
    config = GWNetConfig(residual_channels=8, dilation_channels=8, skip_channels=16, end_channels=32, blocks=2,
                         dropout=0.0)
    cfg, metrics, log = train_basicts(GWNet, config, synthetic_dataset, num_epochs=2)
    assert cfg.model_config.num_nodes == 12 and cfg.model_config.dataset == synthetic_dataset
    assert log["train/loss"][1] < log["train/loss"][0]
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())


def test_adaptive_adjacency_sends_information_from_row_to_column():
    """Directed toy graph A_adp[i, i+1] ~ 1 (the last node a self-loop): as in the reference (``A_adp^T x``)
    a change at node 2 reaches the nodes after it and never those before it; the untransposed ``A_adp x`` would
    send it backwards, to nodes 0 and 1."""
    n = 5
    model = GWNet(GWNetConfig(num_nodes=n, use_fixed_graph=False, node_dim=n, dropout=0.0)).eval()
    target = torch.diag(torch.ones(n - 1), diagonal=1)
    target[-1, -1] = 1.0
    with torch.no_grad():
        model.node_source.copy_(50 * torch.eye(n))
        model.node_target.copy_(target)
    assert torch.allclose(model.adaptive_adjacency(), target, atol=1e-12)
    inputs, stamps = batch(n)
    moved = inputs.clone()
    moved[:, :, 2] += 1.0
    delta = (model(moved, stamps) - model(inputs, stamps)).abs().amax(dim=(0, 1))   # [N]
    assert torch.all(delta[2:] > 1e-4)
    assert torch.all(delta[:2] < 1e-12)
