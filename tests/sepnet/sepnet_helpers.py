"""Tiny random language models (GPT-2, BERT, LLaMA, Qwen2) for the sepnet tests, saved like real ones."""
from __future__ import annotations

from pathlib import Path

import torch
import transformers

HIDDEN, LAYERS, VOCAB = 32, 2, 100

WORDS = ("traffic flow speed road sensor city bike demand station hour day week morning evening peak "
         "every five minutes minute nodes graph series value high low the of in at is a and per").split()

TINY_CONFIGS = {
    "gpt2": lambda: transformers.GPT2Config(n_embd=HIDDEN, n_layer=LAYERS, n_head=2, vocab_size=VOCAB,
                                            n_positions=64),
    "bert": lambda: transformers.BertConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=2,
                                            intermediate_size=64, vocab_size=VOCAB, max_position_embeddings=64),
    "llama": lambda: transformers.LlamaConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=2,
                                              num_key_value_heads=2, intermediate_size=64, vocab_size=VOCAB,
                                              max_position_embeddings=64),
    "qwen2": lambda: transformers.Qwen2Config(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=2,
                                              num_key_value_heads=2, intermediate_size=64, vocab_size=VOCAB,
                                              max_position_embeddings=64),
}


def save_tiny_model(model_type: str, folder: Path, *, tokenizer: bool = True) -> Path:
    """Save a randomly initialised tiny ``model_type`` (and a small word-level tokenizer) to ``folder``."""
    torch.manual_seed(0)
    transformers.AutoModel.from_config(TINY_CONFIGS[model_type]()).save_pretrained(folder)
    if tokenizer:
        vocab = folder / "vocab.txt"
        vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
        transformers.BertTokenizer(str(vocab)).save_pretrained(folder)
    return folder
