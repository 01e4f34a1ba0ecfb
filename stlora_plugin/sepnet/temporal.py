"""The temporal branch of ST-SepNet: a frozen language model with LoRA reads reprogrammed patches.

ST-SepNet (Chen et al., KDD'25) models time with a lightweight language model in the style of Time-LLM
(Jin et al., ICLR'24). For each series ``x [L]`` (instance-normalized: ``x~ = (x - mu) / sigma``):

    X = PatchEmbed(x~)                          [P, d_model]
    Z = Reprogram(X, W_E E)                     [P, d_llm]
    H = LM_LoRA([prefix; Z])[-P:]               [P, d_llm]  (frozen blocks, trainable adapters)
    y = W_head flatten(H W_ff) * sigma + mu     [H]

Three input modes decide what a "series" is:

* ``per_node`` (channel independence, as Time-LLM): every node's series goes through the model on its own,
  with shared weights: ``B * N`` sequences per batch.
* ``pooled``: the normalized node series are first projected to ``C`` channels (``[B, L, N] -> [B, L, C]``
  with a learned ``N x C`` map), the ``B * C`` channel series go through the model, and a learned ``C x N``
  map brings the forecasts back to the nodes: about ``N / C`` times less language-model work.
* ``mean`` (the published code): one series per sample, the mean over nodes, whose forecast is given to every
  node: ``B`` sequences per batch, about ``N`` times less work than ``per_node``. Node differences then come
  from the spatial branch alone.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .llm import FrozenLanguageModel
from .patching import PatchEmbedding
from .prompt import PromptPrefix
from .reprogramming import Reprogramming, TextPrototypes

__all__ = ["TemporalBranch", "INPUT_MODES"]

INPUT_MODES = ("per_node", "pooled", "mean")


class TemporalBranch(nn.Module):
    """Patch embedding, reprogramming, prompt prefix, frozen LM with LoRA, flatten head.

    Args:
        lm: the frozen language model with adapters.
        num_nodes, input_len, output_len: N, L, H.
        input_mode: ``"per_node"``, ``"pooled"`` or ``"mean"`` (module docstring); ``num_channels``: C of pooled.
        patch_len, stride: patching of the input window.
        d_model: patch embedding size; ``num_heads`` x ``head_dim``: reprogramming attention.
        num_prototypes: S, text prototypes; d_ff: per-patch size fed to the flatten head.
        prompt: description text prepended as tokens (None: none); prompt_stats / time_token / day_of_week: see
            PromptPrefix.

    Shapes:
        inputs ``[B, L, N]``, timestamps ``[B, L, 2]`` (or None without a time token) -> ``[B, H, N]``.
    """

    def __init__(self, lm: FrozenLanguageModel, *, num_nodes: int, input_len: int, output_len: int,
                 input_mode: str = "per_node", num_channels: int = 8, patch_len: int = 4, stride: int = 2,
                 d_model: int = 32, num_heads: int = 4, head_dim: int = 16, num_prototypes: int = 100,
                 d_ff: int = 32, prompt: Optional[str] = None, prompt_stats: bool = True,
                 time_token: bool = True, day_of_week: bool = True, dropout: float = 0.1):
        super().__init__()
        if input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {input_mode!r}")
        self.num_nodes, self.input_len, self.output_len = num_nodes, input_len, output_len
        self.input_mode = input_mode
        self.lm = lm
        d_llm = lm.hidden_size
        pooled = input_mode == "pooled"
        self.pool = nn.Linear(num_nodes, num_channels) if pooled else None
        self.unpool = nn.Linear(num_channels, num_nodes) if pooled else None
        self.patch_embed = PatchEmbedding(input_len, d_model, patch_len=patch_len, stride=stride, dropout=dropout)
        self.prototypes = TextPrototypes(lm.word_embeddings.shape[0], num_prototypes)
        self.reprogram = Reprogramming(d_model, d_llm, num_heads=num_heads, head_dim=head_dim, dropout=dropout)
        text = lm.embed_text(prompt) if prompt else None
        self.prefix = PromptPrefix(d_llm, text_embeds=text, stats=prompt_stats, time=time_token,
                                   day_of_week=day_of_week)
        self.to_ff = nn.Linear(d_llm, d_ff)
        self.head = nn.Sequential(nn.Flatten(start_dim=1), nn.Dropout(dropout),
                                  nn.Linear(self.patch_embed.num_patches * d_ff, output_len))

    def extra_repr(self) -> str:
        return f"num_nodes={self.num_nodes}, input_mode={self.input_mode!r}, prefix_tokens={self.prefix.num_tokens}"

    def forward(self, inputs: torch.Tensor, timestamps: Optional[torch.Tensor] = None) -> torch.Tensor:
        batch, length, nodes = inputs.shape
        if nodes != self.num_nodes or length != self.input_len:
            raise ValueError(f"inputs is [B, {length}, {nodes}] but the temporal branch was built for "
                             f"input_len={self.input_len} and num_nodes={self.num_nodes}")
        if self.input_mode == "mean":
            inputs = inputs.mean(dim=2, keepdim=True)  # [B, L, 1]: the network's mean series
        mean = inputs.mean(dim=1, keepdim=True)  # [B, 1, N']
        std = inputs.std(dim=1, keepdim=True, unbiased=False) + 1e-5  # [B, 1, N']
        x = (inputs - mean) / std  # [B, L, N']
        if self.pool is not None:
            x = self.pool(x)  # [B, L, C]
        channels = x.shape[-1]
        series = x.transpose(1, 2).reshape(batch * channels, length)  # [B*C, L]

        patches = self.patch_embed(series)  # [B*C, P, d_model]
        tokens = self.reprogram(patches, self.prototypes(self.lm.word_embeddings))  # [B*C, P, d_llm]
        prefix = self.prefix(series, timestamps)  # [B*C, T0, d_llm]
        hidden = self.lm(torch.cat([prefix, tokens], dim=1))[:, prefix.shape[1]:]  # [B*C, P, d_llm]
        out = self.head(self.to_ff(hidden))  # [B*C, H]

        out = out.reshape(batch, channels, self.output_len).transpose(1, 2)  # [B, H, C]
        if self.unpool is not None:
            out = self.unpool(out)  # [B, H, N]
        return (out * std + mean).expand(-1, -1, nodes)  # [B, H, N] (mean mode: one forecast for every node)
