"""STAEformer backbone: shapes, gradients, size, attention, time embeddings, errors, one BasicTS run."""
from __future__ import annotations

import inspect

import pytest
import torch

from stlora_plugin.backbones.staeformer import SelfAttentionLayer, STAEformer, STAEformerConfig
from stlora_plugin.data import make_timestamps

B, L, H, STEPS_PER_DAY = 2, 12, 12, 288
SMALL = dict(input_embedding_dim=8, tod_embedding_dim=8, dow_embedding_dim=8, adaptive_embedding_dim=8,
             feed_forward_dim=16, num_layers=1)


def batch(num_nodes: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs [B, L, N] and their real timestamps [B, L, 2] (windows of a 5-minute calendar)."""
    gen = torch.Generator().manual_seed(seed)
    calendar = torch.from_numpy(make_timestamps(14 * STEPS_PER_DAY, step_minutes=5))      # [T, 2]
    starts = torch.randint(0, len(calendar) - L, (B,), generator=gen)
    return torch.randn(B, L, num_nodes, generator=gen), torch.stack([calendar[s:s + L] for s in starts])


def config(num_nodes: int, **kwargs) -> STAEformerConfig:
    return STAEformerConfig(num_nodes=num_nodes, steps_per_day=STEPS_PER_DAY, **kwargs)


@pytest.mark.parametrize("num_nodes", [5, 9])
def test_forward_shape(num_nodes):
    out = STAEformer(config(num_nodes))(*batch(num_nodes))
    assert out.shape == (B, H, num_nodes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("kwargs", [
    {"use_mixed_proj": False},
    {"input_dim": 1},
    {"spatial_embedding_dim": 8},
    {"tod_embedding_dim": 0, "dow_embedding_dim": 0},
    {"adaptive_embedding_dim": 0, "output_len": 6},
])
def test_forward_shape_variants(kwargs):
    kwargs = {**SMALL, **kwargs}
    out = STAEformer(config(5, **kwargs))(*batch(5))
    assert out.shape == (B, kwargs.get("output_len", H), 5)


def test_forward_takes_timestamps():
    assert list(inspect.signature(STAEformer.forward).parameters) == ["self", "inputs", "inputs_timestamps"]


def test_parameter_count_at_pems04():
    count = sum(p.numel() for p in STAEformer(config(307)).parameters())
    assert count == 1_354_980                         # the docstring's number
    assert abs(count - 1_350_000) / 1_350_000 < 0.15  # the paper reports about 1.35M


def test_attention_matches_explicit_softmax():
    torch.manual_seed(0)
    layer = SelfAttentionLayer(12, feed_forward_dim=8, num_heads=3, dropout=0.0)
    x = torch.randn(4, 7, 12)                                                          # [S, T, D]

    def heads(t):
        return t.view(4, 7, 3, 4).transpose(1, 2)                                      # [S, h, T, D/h]

    q, k, v = heads(layer.query(x)), heads(layer.key(x)), heads(layer.value(x))
    weights = torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1)                     # sqrt(D/h) = 2
    expected = layer.out_proj((weights @ v).transpose(1, 2).reshape(4, 7, 12))
    assert torch.allclose(layer.attention(x), expected, atol=1e-5)


@pytest.mark.parametrize("column, shift", [(0, 37 / STEPS_PER_DAY), (1, 2 / 7)])
def test_time_of_day_and_day_of_week_change_the_forecast(column, shift):
    torch.manual_seed(0)
    model = STAEformer(config(5, **{**SMALL, "input_dim": 1})).eval()   # time acts only through the embeddings
    inputs, stamps = batch(5)
    moved = stamps.clone()
    moved[..., column] = (moved[..., column] + shift) % 1.0
    assert not torch.allclose(model(inputs, stamps), model(inputs, moved))


def test_embedding_indices_follow_the_calendar():
    model = STAEformer(config(3, input_dim=1, adaptive_embedding_dim=0, input_embedding_dim=4,
                              tod_embedding_dim=4, dow_embedding_dim=4))
    stamps = torch.tensor([[[100 / STEPS_PER_DAY, 3 / 7]] * L])                         # slot 100, Thursday
    z = model.embed(torch.zeros(1, L, 3), stamps)                                      # [1, L, N, 12]
    assert torch.equal(z[0, 0, 0, 4:8], model.tod_embedding.weight[100])
    assert torch.equal(z[0, 0, 0, 8:12], model.dow_embedding.weight[3])


def test_wrong_node_count_is_rejected():
    with pytest.raises(ValueError, match=r"inputs has 9 nodes but STAEformer was built for 5 \(num_nodes\)"):
        STAEformer(config(5, **SMALL))(*batch(9))


def test_wrong_input_length_is_rejected():
    inputs, stamps = batch(5)
    with pytest.raises(ValueError, match=r"inputs has 6 steps but STAEformer was built for 12 \(input_len"):
        STAEformer(config(5, **SMALL))(inputs[:, :6], stamps[:, :6])


@pytest.mark.parametrize("kwargs, message", [
    ({"num_nodes": 5}, "STAEformer needs steps_per_day.*benchmark_config"),
    ({"steps_per_day": 288}, "STAEformer needs num_nodes.*benchmark_config"),
])
def test_unset_dataset_fields_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        STAEformer(STAEformerConfig(**kwargs))


def test_no_time_of_day_needs_no_steps_per_day():
    model = STAEformer(STAEformerConfig(num_nodes=5, tod_embedding_dim=0, input_dim=1))
    assert model.tod_embedding is None


@pytest.mark.parametrize("kwargs, message", [
    ({"input_dim": 2}, r"STAEformerConfig.input_dim=2 is not allowed; expected 1 \(value only\) or 3"),
    ({"num_heads": 5}, r"STAEformerConfig.num_heads=5 does not divide the model dim 152"),
    ({"dropout": 1.0}, r"STAEformerConfig.dropout=1.0 is not allowed; expected a float in \[0, 1\)"),
    ({"tod_embedding_dim": -1}, r"STAEformerConfig.tod_embedding_dim=-1 is not allowed; expected an int >= 0"),
    ({"steps_per_day": 0}, r"STAEformerConfig.steps_per_day=0 is not allowed; expected an int >= 1"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        STAEformerConfig(**kwargs)


def test_trains_through_basicts(synthetic_dataset, train_basicts):
    torch.manual_seed(0)
    cfg, metrics, log = train_basicts(STAEformer, STAEformerConfig(**SMALL), synthetic_dataset, num_epochs=2)
    assert (cfg.model_config.num_nodes, cfg.model_config.steps_per_day) == (12, 288)
    assert log["train/loss"][1] < log["train/loss"][0]
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics["overall"].values())
