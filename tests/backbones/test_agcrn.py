"""AGCRN backbone: shapes, gradients, size, the NAPL graph conv and learned graph, errors, one BasicTS run."""
from __future__ import annotations

import inspect

import pytest
import torch

from stlora_plugin.backbones.agcrn import AGCRN, AGCRNCell, AGCRNConfig, NodeAdaptiveGraphConv

B, L, H = 2, 12, 12


def batch(num_nodes: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(B, L, num_nodes, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("num_nodes", [5, 9])
def test_forward_shape(num_nodes):
    out = AGCRN(AGCRNConfig(num_nodes=num_nodes))(batch(num_nodes))
    assert out.shape == (B, H, num_nodes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("num_layers, cheb_k, output_len", [(1, 2, 12), (2, 3, 12), (3, 2, 6)])
def test_forward_shape_other_settings(num_layers, cheb_k, output_len):
    config = AGCRNConfig(num_nodes=5, num_layers=num_layers, cheb_k=cheb_k, output_len=output_len, hidden_dim=8)
    assert AGCRN(config)(batch(5)).shape == (B, output_len, 5)


def test_forward_takes_inputs_only():
    assert list(inspect.signature(AGCRN.forward).parameters) == ["self", "inputs"]


def test_parameter_count_at_pems04():
    count = sum(p.numel() for p in AGCRN(AGCRNConfig(num_nodes=307)).parameters())
    assert count == 748_810                       # the docstring's number
    assert abs(count - 750_000) / 750_000 < 0.15  # BasicTS reports 0.75M


def test_learned_graph_is_row_stochastic_and_has_chebyshev_terms():
    model = AGCRN(AGCRNConfig(num_nodes=6, cheb_k=3))
    supports = model.adaptive_supports()                                             # [K-1, N, N]
    graph = torch.softmax(torch.relu(model.node_emb @ model.node_emb.T), dim=1)
    assert supports.shape == (2, 6, 6)
    assert torch.allclose(supports[0], graph)
    assert torch.allclose(supports[0].sum(1), torch.ones(6))
    assert torch.allclose(supports[1], 2 * graph @ graph - torch.eye(6), atol=1e-6)


def test_napl_conv_matches_per_node_weights():
    """Z_v = sum_k (T_k X)_v (E_v W_pool)_k + E_v b_pool, written out node by node."""
    torch.manual_seed(0)
    nodes, d, k, c_in, c_out = 4, 3, 3, 5, 2
    conv = NodeAdaptiveGraphConv(c_in, c_out, cheb_k=k, embed_dim=d)
    for p in conv.parameters():
        torch.nn.init.normal_(p)
    emb, x = torch.randn(nodes, d), torch.randn(nodes, B, c_in)                     # x node-major [N, B, C]
    graph = torch.softmax(torch.randn(nodes, nodes), dim=1)
    terms = torch.stack([torch.eye(nodes), graph, 2 * graph @ graph - torch.eye(nodes)])
    out = conv(x, terms[1:], conv.node_params(emb))
    for v in range(nodes):
        weight = torch.einsum("d,dkio->kio", emb[v], conv.weight_pool)
        expected = sum((terms[j, v] @ x.transpose(0, 1)) @ weight[j] for j in range(k))  # [B, C_out]
        assert torch.allclose(out[v], expected + emb[v] @ conv.bias_pool, atol=1e-5)


def test_cell_is_a_gru_update():
    torch.manual_seed(0)
    cell = AGCRNCell(1, 4, cheb_k=2, embed_dim=3)
    for p in cell.parameters():
        torch.nn.init.normal_(p, std=0.5)
    emb, x, state = torch.randn(5, 3), torch.randn(5, B, 1), torch.randn(5, B, 4)
    supports = torch.softmax(torch.randn(1, 5, 5), dim=-1)
    params = cell.node_params(emb)
    reset, update = torch.sigmoid(cell.gate(torch.cat([x, state], -1), supports, params[0])).split(4, dim=-1)
    cand = torch.tanh(cell.candidate(torch.cat([x, reset * state], -1), supports, params[1]))
    assert torch.allclose(cell(x, state, supports, params), update * state + (1 - update) * cand)


def test_nodes_interact_through_the_learned_graph():
    model = AGCRN(AGCRNConfig(num_nodes=5, hidden_dim=8)).eval()
    x = batch(5)
    moved = x.clone()
    moved[:, :, 0] += 1.0
    diff = (model(moved) - model(x)).abs().amax(dim=(0, 1))                          # [N]
    assert (diff[1:] > 0).all()


def test_wrong_node_count_is_rejected():
    with pytest.raises(ValueError, match=r"inputs has 9 nodes but AGCRN was built for 5 \(num_nodes\)"):
        AGCRN(AGCRNConfig(num_nodes=5, hidden_dim=8))(batch(9))


def test_unset_node_count_is_rejected():
    with pytest.raises(ValueError, match="AGCRN needs num_nodes.*benchmark_config"):
        AGCRN(AGCRNConfig())


@pytest.mark.parametrize("kwargs, message", [
    ({"cheb_k": 1}, r"AGCRNConfig.cheb_k=1 is not allowed; expected an int >= 2"),
    ({"embed_dim": 0}, r"AGCRNConfig.embed_dim=0 is not allowed; expected an int >= 1"),
    ({"hidden_dim": -4}, r"AGCRNConfig.hidden_dim=-4 is not allowed"),
    ({"num_layers": 1.5}, r"AGCRNConfig.num_layers=1.5 is not allowed"),
    ({"num_nodes": 0}, r"AGCRNConfig.num_nodes=0 is not allowed"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AGCRNConfig(**kwargs)


def test_trains_through_basicts(synthetic_dataset, train_basicts):
    torch.manual_seed(0)
    config = AGCRNConfig(embed_dim=4, hidden_dim=8, num_layers=1)
    cfg, metrics, log = train_basicts(AGCRN, config, synthetic_dataset, num_epochs=2)
    assert cfg.model_config.num_nodes == 12
    assert log["train/loss"][1] < log["train/loss"][0]
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())
