"""STSepNet and its config: variants, gates, trainable parameters, determinism, errors, BasicTS training."""
from __future__ import annotations

import json
import math
from dataclasses import fields

import pytest
import torch

from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.sepnet import GATES, PUBLISHED, VARIANTS, LoRALinear, STSepNet, STSepNetConfig

B, L, H, N = 2, 12, 12, 5


def tiny_config(tiny_lms, **overrides) -> STSepNetConfig:
    params = dict(num_nodes=N, input_len=L, output_len=H, llm_path=tiny_lms["gpt2"], lora_rank=2,
                  num_prototypes=10, d_model=8, d_ff=8, spatial_hidden=8, spatial_embed=4, spatial_layers=1,
                  hyperedge_order=2, gate_hidden=8, dropout=0.0)
    params.update(overrides)
    return STSepNetConfig(**params)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(B, L, N, generator=gen), torch.rand(B, L, 2, generator=gen)


@pytest.fixture(scope="module")
def tiny_graph_dataset(tmp_path_factory) -> str:
    data, adj = generate_synthetic(num_nodes=N, num_days=1, seed=1)
    return str(write_dataset(data, adj, tmp_path_factory.mktemp("graph"), "TINY5", step_minutes=5).path)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_forward_backward(tiny_lms, tiny_graph_dataset, variant):
    torch.manual_seed(0)
    model = STSepNet(tiny_config(tiny_lms, variant=variant, dataset=tiny_graph_dataset))
    assert (model.temporal is not None) == VARIANTS[variant].temporal
    assert (model.spatial is not None) == (VARIANTS[variant].spatial is not None)
    x, ts = batch()
    out = model(x, ts)
    assert out.shape == (B, H, N) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(p.grad is not None for _, p in trainable), \
        [n for n, p in trainable if p.grad is None]


@pytest.mark.parametrize("gate", sorted(GATES))
def test_gate_forward_backward(tiny_lms, gate):
    model = STSepNet(tiny_config(tiny_lms, gate=gate))
    x, ts = batch()
    model(x, ts).abs().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.gate.parameters())
    assert all(m.lora_B.grad.abs().sum() > 0 for m in model.lm.lora_modules())


def test_trainable_parameters_are_lora_plus_non_lm_parts(tiny_lms):
    model = STSepNet(tiny_config(tiny_lms))
    lm_params = {id(p) for p in model.lm.parameters()}
    lora_params = {id(p) for m in model.modules() if isinstance(m, LoRALinear) for p in (m.lora_A, m.lora_B)}
    expected = {id(p) for p in model.parameters() if id(p) not in lm_params} | lora_params
    assert {id(p) for p in model.parameters() if p.requires_grad} == expected
    assert lora_params and lora_params < lm_params


def test_one_step_changes_adapters_and_output(tiny_lms):
    torch.manual_seed(0)
    model = STSepNet(tiny_config(tiny_lms))
    x, ts = batch()
    model.eval()
    with torch.no_grad():
        before, again = model(x, ts), model(x, ts)
    torch.testing.assert_close(before, again, rtol=0, atol=0)  # no randomness in eval forward
    lora_b = [m.lora_B.detach().clone() for m in model.lm.lora_modules()]
    optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    model(x, ts).sub(x.flip(1)).abs().mean().backward()
    optim.step()
    model.eval()
    with torch.no_grad():
        assert not torch.allclose(model(x, ts), before)
    assert all(not torch.equal(m.lora_B, b) for m, b in zip(model.lm.lora_modules(), lora_b))


def test_config_is_json_serializable_with_help():
    config = STSepNetConfig()
    json.dumps(dict(config))
    assert all(f.metadata.get("help") for f in fields(STSepNetConfig) if not f.name.startswith("_"))


@pytest.mark.parametrize("field,value", [
    ("variant", "full"), ("gate", "max"), ("input_mode", "mixed"), ("lora_rank", 0), ("patch_len", 40),
    ("dropout", 1.0), ("lora_alpha", 0.0), ("spatial_hidden", 6), ("num_nodes", 0), ("llm_layers", 0),
])
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        STSepNetConfig(**{field: value})


def test_model_errors(tiny_lms):
    with pytest.raises(ValueError, match="num_nodes is None"):
        STSepNet(tiny_config(tiny_lms, num_nodes=None))
    with pytest.raises(ValueError, match="dataset"):
        STSepNet(tiny_config(tiny_lms, variant="static"))
    config = tiny_config(tiny_lms, variant="llm_only")
    config.input_len = 1  # as BasicTS overwrites it after construction
    with pytest.raises(ValueError, match="patch_len"):
        STSepNet(config)
    model = STSepNet(tiny_config(tiny_lms, variant="no_llm"))
    with pytest.raises(ValueError, match="num_nodes"):
        model(torch.randn(B, L, N + 1))


@pytest.mark.parametrize("variant,arch,gate,mode", [
    pytest.param("hypergraph", "qwen2", "sigmoid", "pooled"),
    pytest.param("llm_only", "bert", "sigmoid", "per_node", marks=pytest.mark.slow),
    pytest.param("static", "gpt2", "attention", "pooled", marks=pytest.mark.slow),
    pytest.param("gnn", "llama", "lstm", "pooled", marks=pytest.mark.slow),
    pytest.param("no_llm", "gpt2", "sigmoid", "pooled", marks=pytest.mark.slow),
])
def test_trains_through_basicts(tiny_lms, synthetic_dataset, train_basicts, variant, arch, gate, mode):
    config = STSepNetConfig(variant=variant, gate=gate, llm_path=tiny_lms[arch], llm_layers=1, lora_rank=2,
                            input_mode=mode, pooled_channels=2, num_prototypes=10, d_model=8, d_ff=8,
                            spatial_hidden=8, spatial_embed=4, spatial_layers=1)
    cfg, metrics, log = train_basicts(STSepNet, config, synthetic_dataset, num_epochs=1, batch_size=128)
    assert cfg.model_config.num_nodes == 12 and cfg.model_config.dataset == synthetic_dataset
    assert all(math.isfinite(v) for v in metrics["overall"].values())
    assert len(log["train/loss"]) == 1


@pytest.mark.slow
def test_real_minilm_forward_backward():
    import transformers
    from stlora_plugin.sepnet import default_llm_path
    model = STSepNet(STSepNetConfig(num_nodes=N, variant="hypergraph", spatial_hidden=8, spatial_layers=1,
                                    hyperedge_order=2, prompt="traffic flow of road sensors every five minutes"))
    lm = model.lm
    assert lm.model_type == "bert" and lm.hidden_size == 384 and lm.num_layers == 6
    reference = transformers.AutoModel.from_pretrained(default_llm_path(), local_files_only=True)
    torch.testing.assert_close(lm.word_embeddings, reference.get_input_embeddings().weight)
    assert model.temporal.prefix.text_embeds.shape[0] >= 8
    x, ts = batch()
    out = model(x, ts)
    assert out.shape == (B, H, N) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    assert all(m.lora_B.grad.abs().sum() > 0 for m in lm.lora_modules())
    assert all(p.grad is None for p in lm.parameters() if not p.requires_grad)


@pytest.mark.parametrize("settings", [dict(PUBLISHED), dict(PUBLISHED, hypergraph_conv="attention"),
                                      dict(PUBLISHED, gamma=0.0, gamma_learnable=False)],
                         ids=["published", "published+attention", "published+hypergraph-only"])
def test_published_settings_train_every_parameter_at_48_steps(tiny_lms, settings):
    torch.manual_seed(0)
    config = STSepNetConfig(num_nodes=N, input_len=48, output_len=48, llm_path=tiny_lms["bert"], lora_rank=2,
                            spatial_hidden=8, spatial_embed=4, spatial_layers=1, **settings)
    model = STSepNet(config)
    assert model.temporal.patch_embed.num_patches == 6 and model.temporal.prototypes.num_prototypes == 1000
    gen = torch.Generator().manual_seed(0)
    out = model(torch.randn(B, 48, N, generator=gen), torch.rand(B, 48, 2, generator=gen))
    assert out.shape == (B, 48, N)
    out.pow(2).mean().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert [n for n, p in trainable if p.grad is None] == []
    # LoRA's B starts at 0, so A's first gradient is 0 by design; everything else gets a signal at once
    assert [n for n, p in trainable if p.grad.abs().sum() == 0 and not n.endswith("lora_A")] == []
