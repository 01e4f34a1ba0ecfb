"""D2STGNN backbone: shapes, gradients, size, localized conv, graphs, time embeddings, errors, one BasicTS run."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from stlora_plugin.backbones.d2stgnn import D2STGNN, D2STGNNConfig, DynamicGraphLearner, graph_orders
from stlora_plugin.backbones.d2stgnn_blocks import LocalizedSTConv
from stlora_plugin.data import generate_synthetic, make_timestamps, write_dataset
from stlora_plugin.runtime import load_supports

B, L, H, STEPS_PER_DAY = 2, 12, 12, 288
SMALL = dict(hidden_dim=8, node_dim=4, time_emb_dim=4, num_layers=2, gate_dim=8, forecast_dim=16, output_hidden=16)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Prepared datasets by name: graphs of 5, 9 and 307 nodes, another 5-node graph, and no graph."""
    out = tmp_path_factory.mktemp("d2stgnn_data")
    made = {}
    for name, nodes, seed, graph in [("N5", 5, 0, True), ("N9", 9, 0, True), ("N307", 307, 0, True),
                                     ("N5b", 5, 1, True), ("NOGRAPH", 5, 0, False)]:
        data, adj = generate_synthetic(num_nodes=nodes, num_days=1, seed=seed)
        made[name] = str(write_dataset(data, adj if graph else None, out, name, step_minutes=5).path)
    return made


def batch(num_nodes: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs [B, L, N] and their real timestamps [B, L, 2] (windows of a 5-minute calendar)."""
    gen = torch.Generator().manual_seed(seed)
    calendar = torch.from_numpy(make_timestamps(14 * STEPS_PER_DAY, step_minutes=5))      # [T, 2]
    starts = torch.randint(0, len(calendar) - L, (B,), generator=gen)
    return torch.randn(B, L, num_nodes, generator=gen), torch.stack([calendar[s:s + L] for s in starts])


def config(datasets, name: str, num_nodes: int, **kwargs) -> D2STGNNConfig:
    return D2STGNNConfig(num_nodes=num_nodes, dataset=datasets[name], steps_per_day=STEPS_PER_DAY, **kwargs)


@pytest.mark.parametrize("name, num_nodes, kwargs", [("N5", 5, {}), ("N9", 9, SMALL)])
def test_forward_shape(datasets, name, num_nodes, kwargs):
    out = D2STGNN(config(datasets, name, num_nodes, **kwargs))(*batch(num_nodes))
    assert out.shape == (B, H, num_nodes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("kwargs", [{"num_layers": 1, "k_s": 3}, {"k_t": 2, "num_layers": 3, "gap": 2},
                                    {"gap": 1, "output_len": 6}])
def test_forward_shape_variants(datasets, kwargs):
    kwargs = {**SMALL, **kwargs}
    out = D2STGNN(config(datasets, "N5", 5, **kwargs))(*batch(5))
    assert out.shape == (B, kwargs.get("output_len", H), 5)


def test_forward_takes_timestamps():
    assert list(inspect.signature(D2STGNN.forward).parameters) == ["self", "inputs", "inputs_timestamps"]


def test_parameter_count_at_pems04(datasets):
    count = sum(p.numel() for p in D2STGNN(config(datasets, "N307", 307)).parameters())
    assert count == 396_932                       # the docstring's number
    assert abs(count - 400_000) / 400_000 < 0.15  # BasicTS reports 0.40M


def test_localized_conv_matches_the_tiled_graph_of_the_authors():
    """The authors tile each [N, N] graph to [N, k_t N] over the window; here the window is summed first."""
    torch.manual_seed(0)
    k_t, nodes, dim = 3, 4, 6
    conv = LocalizedSTConv(dim, k_t=k_t, num_supports=3, dropout=0.0)
    x = torch.randn(B, 7, nodes, dim)
    dynamic, static = torch.rand(B, 2, nodes, nodes), torch.rand(1, nodes, nodes)
    windows = x.unfold(1, k_t, 1).permute(0, 1, 2, 4, 3)                               # [B, T', N, k_t, D]
    steps = windows.shape[1]
    h = torch.relu(conv.window_fc(windows.reshape(B, steps, nodes, k_t * dim))).view(B, steps, nodes, k_t, dim)
    x_k = h.transpose(-3, -2).reshape(B, steps, k_t * nodes, dim)                      # [B, T', k_t N, D]
    tiled_dyn = dynamic.unsqueeze(-2).expand(-1, -1, -1, k_t, -1).reshape(B, 2, nodes, k_t * nodes)
    tiled_sta = static.unsqueeze(-2).expand(-1, -1, k_t, -1).reshape(1, nodes, k_t * nodes)
    parts = [h.mean(dim=3)] + [tiled_dyn[:, s].unsqueeze(1) @ x_k for s in range(2)] + [tiled_sta[0] @ x_k]
    expected = conv.out_fc(torch.cat(parts, dim=-1))
    assert torch.allclose(conv(x, dynamic, static), expected, atol=1e-5)


def test_graph_orders_are_powers_without_self_loops():
    graph = torch.rand(2, 5, 5)
    first, second = graph_orders(graph, 2)
    off = 1 - torch.eye(5)
    assert torch.allclose(first, graph * off)
    assert torch.allclose(second, (graph @ graph) * off)


def test_dynamic_graphs_follow_the_road_graph(datasets):
    torch.manual_seed(0)
    prior = load_supports(datasets["N9"], "doubletransition")                          # [2, N, N]
    learner = DynamicGraphLearner(input_len=L, hidden_dim=8, node_dim=4, time_dim=6, k_s=2, dropout=0.0).eval()
    graphs = learner(torch.randn(B, L, 9), torch.randn(B, 6), torch.randn(2, 9, 4), prior)
    assert graphs.shape == (B, 4, 9, 9)
    for direction in range(2):
        first = graphs[:, 2 * direction]
        no_edge = (prior[direction] == 0) & ~torch.eye(9, dtype=torch.bool)
        assert first[:, no_edge].max() < 1e-5                                          # only road-graph edges
        assert first[:, ~no_edge].sum() > 0
        assert (first.sum(-1) <= 1 + 1e-6).all()                                       # row-normalized before order


def test_road_graph_is_a_nonpersistent_double_transition_buffer(datasets):
    model = D2STGNN(config(datasets, "N5", 5, **SMALL))
    assert "road_graph" not in model.state_dict()
    assert torch.equal(model.road_graph, load_supports(datasets["N5"], "doubletransition"))


def test_graph_changes_the_forecast(datasets):
    torch.manual_seed(0)
    model = D2STGNN(config(datasets, "N5", 5, **SMALL)).eval()
    other = D2STGNN(config(datasets, "N5b", 5, **SMALL)).eval()
    other.load_state_dict(model.state_dict())
    assert not torch.allclose(model(*batch(5)), other(*batch(5)))


@pytest.mark.parametrize("column, shift", [(0, 37 / STEPS_PER_DAY), (1, 2 / 7)])
def test_time_of_day_and_day_of_week_change_the_forecast(datasets, column, shift):
    torch.manual_seed(0)
    model = D2STGNN(config(datasets, "N5", 5, **SMALL)).eval()
    inputs, stamps = batch(5)
    moved = stamps.clone()
    moved[..., column] = (moved[..., column] + shift) % 1.0
    assert not torch.allclose(model(inputs, stamps), model(inputs, moved))


def test_wrong_node_count_is_rejected(datasets):
    with pytest.raises(ValueError, match=r"inputs has 9 nodes but D2STGNN was built for 5 \(num_nodes\)"):
        D2STGNN(config(datasets, "N5", 5, **SMALL))(*batch(9))


def test_wrong_input_length_is_rejected(datasets):
    inputs, stamps = batch(5)
    with pytest.raises(ValueError, match=r"inputs has 11 steps but D2STGNN was built for 12 \(input_len\)"):
        D2STGNN(config(datasets, "N5", 5, **SMALL))(inputs[:, 1:], stamps[:, 1:])


@pytest.mark.parametrize("dataset, error, message", [
    (None, ValueError, "D2STGNN needs a graph but its config has dataset=None"),
    ("NOGRAPH", FileNotFoundError, "D2STGNN needs a graph: dataset .* has no graph"),
    ("N9", ValueError, "graph of dataset .* has 9 nodes but D2STGNN was built for 5"),
])
def test_missing_or_wrong_graph_is_rejected(datasets, dataset, error, message):
    with pytest.raises(error, match=message):
        D2STGNN(D2STGNNConfig(num_nodes=5, steps_per_day=STEPS_PER_DAY, dataset=datasets.get(dataset), **SMALL))


@pytest.mark.parametrize("unset, message", [
    ("num_nodes", "D2STGNN needs num_nodes.*benchmark_config"),
    ("steps_per_day", "D2STGNN needs steps_per_day.*benchmark_config"),
])
def test_unset_dataset_fields_are_rejected(datasets, unset, message):
    cfg = config(datasets, "N5", 5, **SMALL)
    setattr(cfg, unset, None)
    with pytest.raises(ValueError, match=message):
        D2STGNN(cfg)


@pytest.mark.parametrize("kwargs, message", [
    ({"gap": 5}, r"D2STGNNConfig.output_len=12 is not a multiple of gap=5"),
    ({"num_layers": 6}, r"D2STGNNConfig.input_len=12 is too short for num_layers=6 with k_t=3.*input_len >= 13"),
    ({"num_heads": 5}, r"D2STGNNConfig.num_heads=5 does not divide hidden_dim=32"),
    ({"dropout": -0.1}, r"D2STGNNConfig.dropout=-0.1 is not allowed; expected a float in \[0, 1\)"),
    ({"k_s": 0}, r"D2STGNNConfig.k_s=0 is not allowed; expected an int >= 1"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        D2STGNNConfig(**kwargs)


def test_trains_through_basicts(synthetic_dataset, train_basicts):
    torch.manual_seed(0)
    config = D2STGNNConfig(**{**SMALL, "num_layers": 1})
    cfg, metrics, log = train_basicts(D2STGNN, config, synthetic_dataset, num_epochs=2)
    assert cfg.model_config.dataset is not None and cfg.model_config.steps_per_day == 288
    assert log["train/loss"][1] < log["train/loss"][0]
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())


def test_dynamic_graphs_send_information_along_the_road(tmp_path):
    """A one-way chain road 0 -> 1 -> ... -> 4: the forward-direction dynamic graph is masked by ``P^T`` as in the
    reference, so node i+1 gathers from node i and never i from i+1 (the mask ``P`` would reverse the road)."""
    n = 5
    road = np.diag(np.ones(n - 1, dtype=np.float32), k=1)                             # A[i, i+1] = 1
    data, _ = generate_synthetic(num_nodes=n, num_days=1, seed=0)
    folder = str(write_dataset(data, road, tmp_path, "ONEWAY", step_minutes=5).path)
    model = D2STGNN(D2STGNNConfig(num_nodes=n, dataset=folder, steps_per_day=STEPS_PER_DAY, **SMALL)).eval()
    captured = {}
    model.graph_learner.register_forward_hook(lambda m, args, out: captured.update(graphs=out))
    model(*batch(n))
    forward = captured["graphs"][:, 0]                                                 # [B, N, N], order 1
    downstream = [(i + 1, i) for i in range(n - 1)]                                   # (gathering node, source)
    assert all(forward[:, a, b].min() > 1e-3 for a, b in downstream)
    # node 0 has no road into it: its row is all mask floor (1e-7), which the row normalization spreads evenly
    assert all(forward[:, b, a].max() < 1e-5 for a, b in downstream if b > 0)
