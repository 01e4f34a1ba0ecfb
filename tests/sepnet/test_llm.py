"""FrozenLanguageModel: loading four architectures from disk, freezing, LoRA placement, clear errors."""
from __future__ import annotations

import json

import pytest
import torch
import transformers

from stlora_plugin.sepnet import LM_ARCHITECTURES, FrozenLanguageModel
from stlora_plugin.sepnet.lora import ADAPTABLE_TYPES

from sepnet_helpers import HIDDEN, LAYERS, TINY_CONFIGS, VOCAB, save_tiny_model

ARCHS = sorted(TINY_CONFIGS)


@pytest.mark.parametrize("arch", ARCHS)
def test_only_adapters_train(tiny_lms, arch):
    lm = FrozenLanguageModel(tiny_lms[arch], lora_rank=4)
    adapters = list(lm.lora_modules())
    assert lm.model_type == arch and lm.hidden_size == HIDDEN and lm.num_layers == LAYERS
    assert len(adapters) == LAYERS * len(LM_ARCHITECTURES[arch].lora_targets)
    adapter_params = {id(p) for m in adapters for p in (m.lora_A, m.lora_B)}
    trainable = [p for p in lm.parameters() if p.requires_grad]
    assert {id(p) for p in trainable} == adapter_params
    expected = sum(4 * (m.in_features + m.out_features) for m in adapters)
    assert sum(p.numel() for p in trainable) == expected
    # every pretrained weight is frozen, including the wrapped projections
    assert all(not p.requires_grad for m in lm.modules() if isinstance(m, ADAPTABLE_TYPES) for p in m.parameters())


@pytest.mark.parametrize("arch", ARCHS)
def test_loads_the_saved_weights(tiny_lms, arch):
    reference = transformers.AutoModel.from_pretrained(tiny_lms[arch], local_files_only=True).eval()
    lm = FrozenLanguageModel(tiny_lms[arch]).eval()
    embeds = torch.randn(2, 7, HIDDEN)
    with torch.no_grad():
        expected = reference(inputs_embeds=embeds).last_hidden_state
        torch.testing.assert_close(lm(embeds), expected)  # B = 0: adapters start as the identity update
    torch.testing.assert_close(lm.word_embeddings, reference.get_input_embeddings().weight)


@pytest.mark.parametrize("arch", ARCHS)
def test_gradients_reach_adapters_only(tiny_lms, arch):
    lm = FrozenLanguageModel(tiny_lms[arch], lora_rank=2)
    optim = torch.optim.Adam([p for p in lm.parameters() if p.requires_grad], lr=1e-2)
    embeds = torch.randn(2, 5, HIDDEN)
    frozen = {n: p.detach().clone() for n, p in lm.named_parameters() if not p.requires_grad}
    before = lm(embeds).detach()
    lm(embeds).pow(2).mean().backward()
    assert all(m.lora_B.grad is not None and m.lora_B.grad.abs().sum() > 0 for m in lm.lora_modules())
    assert all(p.grad is None for p in lm.parameters() if not p.requires_grad)
    optim.step()
    assert not torch.allclose(lm(embeds), before)
    assert all(torch.equal(p, frozen[n]) for n, p in lm.named_parameters() if not p.requires_grad)


def test_merge_keeps_outputs(tiny_lms):
    lm = FrozenLanguageModel(tiny_lms["gpt2"], lora_rank=2).eval()
    for module in lm.lora_modules():
        torch.nn.init.normal_(module.lora_B)
    embeds = torch.randn(2, 5, HIDDEN)
    with torch.no_grad():
        before = lm(embeds)
        lm.merge_adapters()
        lm.merge_adapters()
        torch.testing.assert_close(lm(embeds), before)
        lm.unmerge_adapters()
        torch.testing.assert_close(lm(embeds), before)


@pytest.mark.parametrize("arch", ["bert", "llama"])
def test_llm_layers_keeps_leading_blocks(tiny_lms, arch):
    lm = FrozenLanguageModel(tiny_lms[arch], llm_layers=1)
    assert lm.num_layers == 1 and len(list(lm.lora_modules())) == len(LM_ARCHITECTURES[arch].lora_targets)
    with pytest.raises(ValueError, match="llm_layers"):
        FrozenLanguageModel(tiny_lms[arch], llm_layers=LAYERS + 1)


def test_custom_lora_targets(tiny_lms):
    lm = FrozenLanguageModel(tiny_lms["llama"], lora_targets=["self_attn.o_proj", "mlp.down_proj"])
    assert len(list(lm.lora_modules())) == 2 * LAYERS
    with pytest.raises(ValueError, match="lora_targets"):
        FrozenLanguageModel(tiny_lms["llama"], lora_targets=["self_attn.nope"])
    with pytest.raises(ValueError, match="lora_targets"):
        FrozenLanguageModel(tiny_lms["llama"], lora_targets=["input_layernorm"])


def test_embed_text_uses_tokenizer(tiny_lms):
    lm = FrozenLanguageModel(tiny_lms["bert"])
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_lms["bert"])
    ids = tokenizer("traffic flow every five minutes", add_special_tokens=False)["input_ids"]
    embeds = lm.embed_text("traffic flow every five minutes")
    assert embeds.shape == (5, HIDDEN) and not embeds.requires_grad
    torch.testing.assert_close(embeds, lm.word_embeddings[ids])


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="llm_path"):
        FrozenLanguageModel(tmp_path / "absent")


def test_folder_without_weights(tmp_path):
    transformers.GPT2Config(n_embd=HIDDEN, n_layer=1, n_head=2, vocab_size=VOCAB).save_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="no weights"):
        FrozenLanguageModel(tmp_path)


def test_folder_without_config(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="config.json"):
        FrozenLanguageModel(tmp_path)


def test_unknown_architecture(tmp_path):
    config = transformers.GPTNeoConfig(hidden_size=HIDDEN, num_layers=1, num_heads=2, vocab_size=VOCAB,
                                       attention_types=[[["global"], 1]])
    transformers.AutoModel.from_config(config).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="gpt_neo.*supported architectures"):
        FrozenLanguageModel(tmp_path)


def test_weights_that_do_not_match_config(tmp_path):
    folder = save_tiny_model("bert", tmp_path, tokenizer=False)
    config = json.loads((folder / "config.json").read_text())
    config["hidden_size"], config["intermediate_size"] = HIDDEN, 64
    config["num_hidden_layers"] = LAYERS + 1  # the weights hold only LAYERS blocks
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="missing"):
        FrozenLanguageModel(folder)


def test_prompt_without_tokenizer(tmp_path):
    lm = FrozenLanguageModel(save_tiny_model("gpt2", tmp_path, tokenizer=False))
    with pytest.raises(ValueError, match="tokenizer"):
        lm.embed_text("traffic")
