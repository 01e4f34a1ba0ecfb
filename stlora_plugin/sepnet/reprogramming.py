"""Reprogramming time-series patches into a language model's embedding space.

Time-LLM (Jin et al., ICLR'24), used as the temporal branch of ST-SepNet (Chen et al., KDD'25): a frozen
language model reads text, so each patch embedding is re-expressed as a mixture of *text prototypes*,

    E' = W_E E                                  E: [vocab, d_llm] frozen word embeddings, W_E: [S, vocab]
    Z_h = softmax(Q_h K_h^T / sqrt(d_k)) V_h     Q_h = X W_h^Q,  K_h = E' W_h^K,  V_h = E' W_h^V
    Z = [Z_1, ..., Z_heads] W^O                 -> [P, d_llm]

with ``X [P, d_model]`` the patch embeddings; the softmax runs over the S prototypes of each head.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["TextPrototypes", "Reprogramming"]


class TextPrototypes(nn.Module):
    """``S`` prototypes as a learned linear map of the frozen word-embedding matrix: ``E' = W_E E``.

    Shapes:
        word_embeddings ``[vocab, d_llm]`` -> prototypes ``[S, d_llm]``.
    """

    def __init__(self, vocab_size: int, num_prototypes: int = 100):
        super().__init__()
        if num_prototypes < 1:
            raise ValueError(f"num_prototypes must be >= 1, got {num_prototypes}")
        self.vocab_size, self.num_prototypes = vocab_size, num_prototypes
        self.mapping = nn.Linear(vocab_size, num_prototypes)

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, num_prototypes={self.num_prototypes}"

    def forward(self, word_embeddings: torch.Tensor) -> torch.Tensor:
        if word_embeddings.shape[0] != self.vocab_size:
            raise ValueError(f"word_embeddings has {word_embeddings.shape[0]} rows, expected the vocabulary "
                             f"size {self.vocab_size}")
        return self.mapping(word_embeddings.T).T  # [S, d_llm]


class Reprogramming(nn.Module):
    """Multi-head cross-attention from patch embeddings (queries) onto text prototypes (keys and values).

    Shapes:
        patches ``[S_series, P, d_model]``, prototypes ``[S, d_llm]`` -> ``[S_series, P, d_llm]``.
    """

    def __init__(self, d_model: int, d_llm: int, *, num_heads: int = 4, head_dim: int = 16, dropout: float = 0.1):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, head_dim
        inner = num_heads * head_dim
        self.query = nn.Linear(d_model, inner)
        self.key = nn.Linear(d_llm, inner)
        self.value = nn.Linear(d_llm, inner)
        self.out = nn.Linear(inner, d_llm)
        self.dropout = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, head_dim={self.head_dim}"

    def forward(self, patches: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        num_series, num_patches, _ = patches.shape
        q = self.query(patches).view(num_series, num_patches, self.num_heads, self.head_dim)  # [B*, P, h, e]
        k = self.key(prototypes).view(-1, self.num_heads, self.head_dim)  # [S, h, e]
        v = self.value(prototypes).view(-1, self.num_heads, self.head_dim)  # [S, h, e]
        scores = torch.einsum("bphe,she->bhps", q, k) / math.sqrt(self.head_dim)  # [B*, h, P, S]
        weights = self.dropout(scores.softmax(dim=-1))  # over the S prototypes
        mixed = torch.einsum("bhps,she->bphe", weights, v)  # [B*, P, h, e]
        return self.out(mixed.reshape(num_series, num_patches, -1))  # [B*, P, d_llm]
