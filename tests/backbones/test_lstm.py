"""LSTM backbone: shapes, gradients, size, node isolation, errors, and one BasicTS run."""
from __future__ import annotations


import pytest
import torch

from stlora_plugin.backbones.lstm import LSTM, LSTMConfig

B, L, H = 2, 12, 12


def batch(num_nodes: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(B, L, num_nodes, generator=gen), torch.rand(B, L, 2, generator=gen)


@pytest.mark.parametrize("num_nodes", [5, 9])
@pytest.mark.parametrize("time_features", [True, False])
def test_forward_shape(num_nodes, time_features):
    model = LSTM(LSTMConfig(num_nodes=num_nodes, use_time_features=time_features))
    out = model(*batch(num_nodes))
    assert out.shape == (B, H, num_nodes)
    assert torch.isfinite(out).all()


def test_parameter_count_at_pems04():
    model = LSTM(LSTMConfig(num_nodes=307))
    count = sum(p.numel() for p in model.parameters())
    assert count == 97_932                      # the docstring's number
    assert abs(count - 98_000) / 98_000 < 0.15  # LargeST reports 98K


def test_nodes_do_not_mix():
    """Perturbing node 0's history changes node 0's forecast only (no reshape mixes node and time axes)."""
    model = LSTM(LSTMConfig(num_nodes=5)).eval()
    inputs, stamps = batch(5)
    moved = inputs.clone()
    moved[:, :, 0] += 1.0
    delta = (model(moved, stamps) - model(inputs, stamps)).abs().amax(dim=(0, 1))  # [N]
    assert delta[0] > 1e-4
    assert torch.all(delta[1:] == 0)


def test_time_features_are_used():
    model = LSTM(LSTMConfig(num_nodes=5)).eval()
    inputs, stamps = batch(5)
    assert not torch.allclose(model(inputs, stamps), model(inputs, (stamps + 0.3) % 1.0))


def test_wrong_node_count_is_rejected():
    model = LSTM(LSTMConfig(num_nodes=5))
    with pytest.raises(ValueError, match=r"inputs has 9 nodes but LSTM was built for 5 \(num_nodes\)"):
        model(*batch(9))


def test_missing_time_features_are_rejected():
    model = LSTM(LSTMConfig(num_nodes=5))
    inputs, stamps = batch(5)
    with pytest.raises(ValueError, match="use_time_features=False"):
        model(inputs, stamps[..., :1])


@pytest.mark.parametrize("field, value", [
    ("num_nodes", 0), ("hidden_size", -1), ("num_layers", 0), ("output_len", 1.5), ("dropout", 1.0),
    ("embed_dim", True),
])
def test_bad_config_values_are_rejected(field, value):
    with pytest.raises(ValueError, match=f"LSTMConfig.{field}={value!r}"):
        LSTMConfig(**{field: value})


def test_trains_through_basicts(synthetic_dataset, train_basicts):
    config = LSTMConfig(embed_dim=8, hidden_size=16, end_dim=32, dropout=0.0)
    cfg, metrics, log = train_basicts(LSTM, config, synthetic_dataset, num_epochs=2)
    assert cfg.model_config.num_nodes == 12
    assert log["train/loss"][1] < log["train/loss"][0]
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())
