"""Low-rank adapters for the frozen language model of the ST-SepNet temporal branch.

LoRA (Hu et al., ICLR'22, "LoRA: Low-Rank Adaptation of Large Language Models") leaves a pretrained
projection ``W`` frozen and learns a rank-``r`` update::

    y = W x + b + (alpha / r) * B A dropout(x),      A: [r, d_in],  B: [d_out, r],  B = 0 at init

so the adapted layer starts exactly as the pretrained one. :class:`LoRALinear` wraps ``torch.nn.Linear``
(BERT, LLaMA, Qwen2) and Hugging Face's ``Conv1D`` (GPT-2, which stores its weight transposed as
``[d_in, d_out]``). ``merge()`` folds the update into ``W`` for inference; a merged flag makes merge and
unmerge idempotent, so switching between them never counts the update twice.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

__all__ = ["LoRALinear", "ADAPTABLE_TYPES"]

#: Module types :class:`LoRALinear` can wrap.
ADAPTABLE_TYPES = (nn.Linear, Conv1D)


class LoRALinear(nn.Module):
    """A frozen linear projection plus a trainable low-rank update ``(alpha / r) * B A``.

    Args:
        base: the pretrained layer, ``nn.Linear`` (weight ``[d_out, d_in]``) or ``Conv1D`` (weight
            ``[d_in, d_out]``). Its parameters are frozen here; the adapter's are the only trainable ones.
        rank: ``r``, the rank of the update (>= 1).
        alpha: scale numerator; the update is multiplied by ``alpha / rank``.
        dropout: dropout on the adapter's input only (the frozen path sees ``x`` unchanged).

    Shapes:
        x: ``[..., d_in]`` -> ``[..., d_out]``.
    """

    def __init__(self, base: nn.Module, *, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, ADAPTABLE_TYPES):
            raise TypeError(f"LoRALinear wraps nn.Linear or transformers Conv1D, got {type(base).__name__}")
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.transposed = isinstance(base, Conv1D)  # Conv1D computes x @ W with W: [d_in, d_out]
        d_in, d_out = base.weight.shape if self.transposed else base.weight.shape[::-1]
        self.in_features, self.out_features = int(d_in), int(d_out)
        self.base = base.requires_grad_(False)
        self.rank, self.alpha = rank, float(alpha)
        self.scaling = self.alpha / rank
        self.lora_A = nn.Parameter(torch.empty(rank, self.in_features, dtype=base.weight.dtype))
        self.lora_B = nn.Parameter(torch.empty(self.out_features, rank, dtype=base.weight.dtype))
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``A`` as nn.Linear initializes its weight, ``B = 0``: the update starts at exactly zero."""
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}, "
                f"alpha={self.alpha}, merged={self.merged}")

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) * B A`` in the base layer's weight layout."""
        delta = (self.lora_B @ self.lora_A) * self.scaling  # [d_out, d_in]
        return delta.T if self.transposed else delta  # Conv1D layout: [d_in, d_out]

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into the base weight (no-op when already merged)."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of the base weight (no-op when not merged)."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.merged:
            if self.training and torch.is_grad_enabled():
                # the merged weight is frozen, so training now would silently leave A and B untouched
                raise RuntimeError("LoRALinear is merged; call unmerge() before training the adapter")
            return out
        update = self.lora_dropout(x) @ self.lora_A.T @ self.lora_B.T  # [..., d_out]
        return out + update * self.scaling
