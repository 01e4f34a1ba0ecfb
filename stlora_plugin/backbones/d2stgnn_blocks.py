"""The decoupled layer of D2STGNN: an estimation gate, a diffusion block and an inherent block.

Shao, Zhang, Wang, Wei and Xu, "Decoupled Dynamic Spatial-Temporal Graph Neural Network for Traffic
Forecasting", VLDB 2022 (https://arxiv.org/abs/2206.09112). One layer splits its hidden signal X into a
diffusion part (what neighbours send) and an inherent part (what the node does by itself):

    X_dif = Gate(E_u, E_d, T_tod, T_dow) * X                       estimation gate, sigmoid(FC(ReLU(FC(.))))
    H_dif = LocalizedConv(X_dif; dynamic and static graphs)        diffusion model
    X_inh = LN(X - ReLU(FC(H_dif)))                                residual decomposition (backcast)
    H_inh = MHA(PE(GRU(X_inh)))                                    inherent model
    X_out = LN(X_inh - ReLU(FC(H_inh)))                            input of the next layer

Each block also forecasts ``H / gap`` hidden steps auto-regressively (its own model applied to its latest
outputs); the model sums these forecasts over blocks and layers. The localized convolution mixes a window
of ``k_t`` steps with one linear map and convolves it with each graph order; the authors tile each
``[N, N]`` graph into ``[N, k_t N]`` over the window, which equals convolving the window's sum, as done here.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EstimationGate", "LocalizedSTConv", "DiffusionBlock", "InherentBlock", "DecoupleLayer"]


class EstimationGate(nn.Module):
    """The share of each node's signal that diffuses, from node and time embeddings.

    Shapes: context [B, T, N, C] -> gate [B, T, N, 1] in (0, 1).
    """

    def __init__(self, context_dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(context_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, 1)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc2(F.relu(self.fc1(context))))


class LocalizedSTConv(nn.Module):
    """Spatio-temporal localized convolution over windows of ``k_t`` steps.

    Shapes: x [B, T, N, D], dynamic [B, S_d, N, N], static [S_s, N, N] -> [B, T - k_t + 1, N, D].
    """

    def __init__(self, hidden_dim: int, *, k_t: int, num_supports: int, dropout: float):
        super().__init__()
        self.k_t = k_t
        self.window_fc = nn.Linear(k_t * hidden_dim, k_t * hidden_dim, bias=False)
        self.out_fc = nn.Linear((num_supports + 1) * hidden_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, dynamic: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        batch, _, nodes, dim = x.shape
        windows = x.unfold(1, self.k_t, 1).transpose(-1, -2)                 # [B, T', N, k_t, D]
        steps = windows.shape[1]
        h = F.relu(self.window_fc(windows.reshape(batch, steps, nodes, self.k_t * dim)))
        h = h.view(batch, steps, nodes, self.k_t, dim)                        # [B, T', N, k_t, D]
        summed = h.sum(dim=3)                                                 # [B, T', N, D]
        diffused = torch.cat([torch.einsum("bsnm,btmd->btsnd", dynamic, summed),
                              torch.einsum("snm,btmd->btsnd", static, summed)], dim=2)  # [B, T', S, N, D]
        diffused = diffused.permute(0, 1, 3, 2, 4).reshape(batch, steps, nodes, -1)    # [B, T', N, S D]
        return self.dropout(self.out_fc(torch.cat([h.mean(dim=3), diffused], dim=-1)))


class DiffusionBlock(nn.Module):
    """Diffusion model with its backcast (residual decomposition) and auto-regressive forecast branches.

    Shapes: x, gated [B, T, N, D], graphs as :class:`LocalizedSTConv`
    -> residual [B, T - k_t + 1, N, D], forecast [B, H / gap, N, F].
    """

    def __init__(self, hidden_dim: int, *, k_t: int, num_supports: int, forecast_dim: int, forecast_steps: int,
                 dropout: float):
        super().__init__()
        self.k_t = k_t
        self.forecast_steps = forecast_steps
        self.conv = LocalizedSTConv(hidden_dim, k_t=k_t, num_supports=num_supports, dropout=dropout)
        self.forecast_fc = nn.Linear(hidden_dim, forecast_dim)
        self.backcast_fc = nn.Linear(hidden_dim, hidden_dim)
        self.norm = nn.LayerNorm(hidden_dim)

    def forward(self, x: torch.Tensor, gated: torch.Tensor, dynamic: torch.Tensor,
                static: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.conv(gated, dynamic, static)                            # [B, T', N, D]
        predictions = [hidden[:, -1:]]
        for _ in range(self.forecast_steps - 1):
            window = predictions[-self.k_t:]
            missing = self.k_t - len(window)
            if missing:  # the first steps still see the tail of the (gated) history
                window = [gated[:, -missing:]] + window
            predictions.append(self.conv(torch.cat(window, dim=1), dynamic, static))
        forecast = self.forecast_fc(torch.cat(predictions, dim=1))           # [B, H/gap, N, F]
        residual = self.norm(x[:, -hidden.shape[1]:] - F.relu(self.backcast_fc(hidden)))
        return residual, forecast


def sinusoidal_encoding(length: int, dim: int) -> torch.Tensor:
    """Transformer positional encoding ``[length, 1, dim]`` (sin on even, cos on odd channels)."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    enc = torch.zeros(length, dim)
    enc[:, 0::2] = torch.sin(position * freq)
    enc[:, 1::2] = torch.cos(position * freq[:dim // 2])
    return enc.unsqueeze(1)


class InherentBlock(nn.Module):
    """Inherent model (GRU, positional encoding, multi-head self-attention) with backcast and forecast.

    The forecast feeds the latest attention output back into the GRU and attends from the new state over all
    states so far. The authors' code re-adds the positional encoding to the whole state sequence at every
    forecast step and continues the GRU from an encoded state; here every state is encoded once at its own
    position and the GRU continues from its raw state.

    With ``backcast=False`` (the last layer, whose residual nothing reads) the backcast branch is left out and
    the residual is None.

    Shapes: x [B, T, N, D] -> residual [B, T, N, D], forecast [B, H / gap, N, F].
    """

    def __init__(self, hidden_dim: int, *, num_heads: int, forecast_dim: int, forecast_steps: int,
                 max_len: int, dropout: float, backcast: bool = True):
        super().__init__()
        self.forecast_steps = forecast_steps
        self.gru = nn.GRU(hidden_dim, hidden_dim)  # the authors' GRU cell, run by the fused sequence kernel
        self.register_buffer("position", sinusoidal_encoding(max_len, hidden_dim), persistent=False)
        self.attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=dropout)
        self.rnn_dropout = nn.Dropout(dropout)
        self.pos_dropout = nn.Dropout(dropout)
        self.attn_dropout = nn.Dropout(dropout)
        self.forecast_fc = nn.Linear(hidden_dim, forecast_dim)
        self.backcast_fc = nn.Linear(hidden_dim, hidden_dim) if backcast else None
        self.norm = nn.LayerNorm(hidden_dim) if backcast else None

    def encode(self, states: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Keys and values: states ``[T, B N, D]`` at positions ``start..start+T-1``, with dropout."""
        return self.pos_dropout(self.rnn_dropout(states) + self.position[start:start + states.shape[0]])

    def attend(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return self.attn_dropout(self.attention(query, keys, keys, need_weights=False)[0])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, nodes, dim = x.shape
        states, state = self.gru(x.permute(1, 0, 2, 3).reshape(steps, batch * nodes, dim))  # [T, B N, D]
        keys = self.encode(states)                                           # [T, B N, D]
        hidden = self.attend(keys, keys)                                     # [T, B N, D]

        predictions = [hidden[-1:]]
        for _ in range(self.forecast_steps - 1):
            new, state = self.gru(predictions[-1], state)                    # [1, B N, D]
            keys = torch.cat([keys, self.encode(new, start=keys.shape[0])])  # [T + k, B N, D]
            predictions.append(self.attend(new, keys))
        forecast = torch.cat(predictions).view(-1, batch, nodes, dim).transpose(0, 1)   # [B, H/gap, N, D]
        if self.backcast_fc is None:
            return None, self.forecast_fc(forecast)
        hidden = hidden.view(steps, batch, nodes, dim).transpose(0, 1)       # [B, T, N, D]
        residual = self.norm(x - F.relu(self.backcast_fc(hidden)))
        return residual, self.forecast_fc(forecast)


class DecoupleLayer(nn.Module):
    """Estimation gate, then the diffusion block, then the inherent block on the diffusion residual.

    Shapes: x [B, T, N, D], context [B, L, N, C], dynamic [B, S_d, N, N], static [S_s, N, N]
    -> x' [B, T - k_t + 1, N, D] (None for the ``last`` layer), diffusion and inherent forecasts
    [B, H / gap, N, F].
    """

    def __init__(self, hidden_dim: int, *, context_dim: int, gate_dim: int, k_t: int, num_supports: int,
                 num_heads: int, forecast_dim: int, forecast_steps: int, max_len: int, dropout: float,
                 last: bool = False):
        super().__init__()
        self.gate = EstimationGate(context_dim, gate_dim)
        self.diffusion = DiffusionBlock(hidden_dim, k_t=k_t, num_supports=num_supports, forecast_dim=forecast_dim,
                                        forecast_steps=forecast_steps, dropout=dropout)
        self.inherent = InherentBlock(hidden_dim, num_heads=num_heads, forecast_dim=forecast_dim,
                                      forecast_steps=forecast_steps, max_len=max_len, dropout=dropout,
                                      backcast=not last)

    def forward(self, x: torch.Tensor, context: torch.Tensor, dynamic: torch.Tensor,
                static: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gated = x * self.gate(context[:, -x.shape[1]:])
        residual, dif_forecast = self.diffusion(x, gated, dynamic, static)
        out, inh_forecast = self.inherent(residual)
        return out, dif_forecast, inh_forecast
