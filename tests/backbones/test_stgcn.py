"""STGCN backbone: shapes, gradients, size, the Chebyshev graph conv, the graph, errors, one BasicTS run."""
from __future__ import annotations


import pytest
import torch

from stlora_plugin.backbones.stgcn import STGCN, ChebGraphConv, STGCNConfig, TemporalGLU
from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.runtime import chebyshev_basis, load_supports

B, L, H = 2, 12, 12


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Prepared datasets by name: graphs of 5, 9 and 307 nodes, another 5-node graph, and no graph."""
    out = tmp_path_factory.mktemp("stgcn_data")
    made = {}
    for name, nodes, days, seed, graph in [("N5", 5, 1, 0, True), ("N9", 9, 1, 0, True), ("N307", 307, 1, 0, True),
                                           ("N5b", 5, 1, 1, True), ("NOGRAPH", 5, 1, 0, False)]:
        data, adj = generate_synthetic(num_nodes=nodes, num_days=days, seed=seed)
        made[name] = str(write_dataset(data, adj if graph else None, out, name, step_minutes=5).path)
    return made


def batch(num_nodes: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(B, L, num_nodes, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name, num_nodes", [("N5", 5), ("N9", 9)])
def test_forward_shape(datasets, name, num_nodes):
    model = STGCN(STGCNConfig(num_nodes=num_nodes, dataset=datasets[name]))
    out = model(batch(num_nodes))
    assert out.shape == (B, H, num_nodes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("num_blocks, kt, input_len", [(1, 3, 12), (2, 2, 12), (2, 3, 9)])
def test_forward_shape_other_depths(datasets, num_blocks, kt, input_len):
    config = STGCNConfig(num_nodes=5, dataset=datasets["N5"], num_blocks=num_blocks, kt=kt, input_len=input_len)
    out = STGCN(config)(torch.randn(B, input_len, 5))
    assert out.shape == (B, H, 5)


def test_parameter_count_at_pems04(datasets):
    model = STGCN(STGCNConfig(num_nodes=307, dataset=datasets["N307"]))
    count = sum(p.numel() for p in model.parameters())
    assert count == 287_052                      # the docstring's number
    assert abs(count - 300_000) / 300_000 < 0.15  # BasicTS reports 0.30M


def test_cheb_graph_conv_matches_the_sum_of_polynomials():
    torch.manual_seed(0)
    lap = torch.randn(6, 6)
    basis = chebyshev_basis((lap + lap.T) / 10, 3)                                  # [3, N, N]
    layer = ChebGraphConv(8, 4, 3)
    x = torch.randn(2, 8, 5, 6)                                                      # [B, C_in, T, N]
    expected = sum(torch.einsum("nm,btmc->btnc", basis[k], x.permute(0, 2, 3, 1)) @ layer.weight[k]
                   for k in range(3))                                                # [B, T, N, C_out]
    expected = expected.permute(0, 3, 1, 2) + layer.bias[:, None, None] + layer.proj(x)
    assert torch.allclose(layer(x, basis), torch.relu(expected), atol=1e-5)


@pytest.mark.parametrize("c_in, c_out", [(1, 4), (4, 4), (8, 4)])
def test_temporal_glu_shortens_by_kernel(c_in, c_out):
    layer = TemporalGLU(c_in, c_out, kernel=3)
    assert layer(torch.randn(2, c_in, 10, 6)).shape == (2, c_out, 8, 6)


def test_graph_is_a_nonpersistent_scaled_laplacian_buffer(datasets):
    model = STGCN(STGCNConfig(num_nodes=5, dataset=datasets["N5"]))
    assert "basis" not in model.state_dict()
    assert torch.allclose(model.basis[1], load_supports(datasets["N5"], "scalap")[0])
    assert torch.equal(model.basis[0], torch.eye(5))


def test_graph_changes_the_forecast(datasets):
    torch.manual_seed(0)
    model = STGCN(STGCNConfig(num_nodes=5, dataset=datasets["N5"])).eval()
    other = STGCN(STGCNConfig(num_nodes=5, dataset=datasets["N5b"])).eval()
    other.load_state_dict(model.state_dict())
    assert not torch.allclose(model(batch(5)), other(batch(5)))


def test_wrong_node_count_is_rejected(datasets):
    model = STGCN(STGCNConfig(num_nodes=5, dataset=datasets["N5"]))
    with pytest.raises(ValueError, match=r"inputs has 9 nodes but STGCN was built for 5 \(num_nodes\)"):
        model(batch(9))


@pytest.mark.parametrize("dataset, error, message", [
    (None, ValueError, "STGCN needs a graph but its config has dataset=None"),
    ("NOGRAPH", FileNotFoundError, "STGCN needs a graph: dataset .* has no graph"),
    ("N9", ValueError, "graph of dataset .* has 9 nodes but STGCN was built for 5"),
])
def test_missing_or_wrong_graph_is_rejected(datasets, dataset, error, message):
    with pytest.raises(error, match=message):
        STGCN(STGCNConfig(num_nodes=5, dataset=datasets.get(dataset)))


def test_unset_node_count_is_rejected(datasets):
    with pytest.raises(ValueError, match="STGCN needs num_nodes.*benchmark_config"):
        STGCN(STGCNConfig(dataset=datasets["N5"]))


@pytest.mark.parametrize("kwargs, message", [
    ({"ks": 0}, r"STGCNConfig.ks=0"),
    ({"temporal_channels": -4}, r"STGCNConfig.temporal_channels=-4"),
    ({"dropout": -0.1}, r"STGCNConfig.dropout=-0.1"),
    ({"input_len": 8}, r"input_len=8 is too short for num_blocks=2 with kt=3"),
    ({"num_blocks": 3}, r"input_len=12 is too short for num_blocks=3"),
])
def test_bad_config_values_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        STGCNConfig(**kwargs)


def test_trains_through_basicts(synthetic_dataset, train_basicts):
    config = STGCNConfig(temporal_channels=16, spatial_channels=8, end_channels=16, dropout=0.0)
    cfg, metrics, log = train_basicts(STGCN, config, synthetic_dataset, num_epochs=2)
    assert cfg.model_config.num_nodes == 12 and cfg.model_config.dataset == synthetic_dataset
    assert log["train/loss"][1] < log["train/loss"][0]
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())
