"""STGCN: spatio-temporal convolution blocks, gated temporal convolutions around a Chebyshev graph convolution.

Yu, Yin and Zhu, "Spatio-Temporal Graph Convolutional Networks: A Deep Learning Framework for Traffic
Forecasting", IJCAI 2018 (https://arxiv.org/abs/1709.04875). Per ST-Conv block ("sandwich"):

    Gamma *_T X = (P + X_res) * sigmoid(Q),    [P, Q] = Conv_{Kt x 1}(X)        (gated temporal conv, GLU)
    Theta *_G X = ReLU(sum_{k<Ks} T_k(L~) X Theta_k + b + X_res)               (Chebyshev graph conv)
    block(X)    = Dropout(LayerNorm_{[N, C]}(Gamma_2 *_T (Theta *_G (Gamma_1 *_T X))))

with ``L~ = 2 L / lambda_max - I`` the scaled normalized Laplacian and ``T_k`` its Chebyshev polynomials. Each
temporal conv is unpadded, so a block shortens the series by ``2 (Kt - 1)``. The output block maps the
remaining ``Ko`` steps with one gated conv of kernel ``Ko``, a layer norm and two fully connected layers to
all H horizon steps at once (the multi-step head of the BasicTS / PyTorch ports; the paper predicts one
step per model). Residuals ``X_res`` match channels by zero padding (more channels) or a 1x1 conv (fewer),
as in the authors' code.
"""
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from basicts.configs import BasicTSModelConfig

from stlora_plugin.runtime import chebyshev_basis

from .contract import check_num_nodes, check_positive, load_graph, require_set

__all__ = ["STGCNConfig", "STGCN"]


@dataclass
class STGCNConfig(BasicTSModelConfig):
    """Config of :class:`STGCN`; defaults are the paper's channels and BasicTS's PEMS04 setting."""

    num_nodes: Optional[int] = field(default=None, metadata={"help": "Node count N (filled from the dataset)."})
    input_len: int = field(default=12, metadata={"help": "Input steps L."})
    output_len: int = field(default=12, metadata={"help": "Forecast horizon H."})
    dataset: Optional[str] = field(default=None, metadata={
        "help": "Prepared dataset name or folder holding adj_mx.pkl (the graph; filled from the dataset)."})
    kt: int = field(default=3, metadata={"help": "Temporal kernel size Kt."})
    ks: int = field(default=3, metadata={"help": "Chebyshev order Ks (polynomials T_0..T_{Ks-1})."})
    num_blocks: int = field(default=2, metadata={"help": "ST-Conv blocks."})
    temporal_channels: int = field(default=64, metadata={"help": "Channels of the gated temporal convs."})
    spatial_channels: int = field(default=16, metadata={"help": "Channels of the graph conv (the bottleneck)."})
    end_channels: int = field(default=128, metadata={"help": "Channels of the output block."})
    dropout: float = field(default=0.5, metadata={"help": "Dropout after each block, in [0, 1)."})

    def __post_init__(self):
        check_positive(self, "num_nodes", "input_len", "output_len", "kt", "ks", "num_blocks", "temporal_channels",
                       "spatial_channels", "end_channels")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"STGCNConfig.dropout={self.dropout!r} is not allowed; expected a float in [0, 1)")
        remaining_len(self)


def remaining_len(config: STGCNConfig) -> int:
    """Steps left for the output block, ``Ko = L - 2 (Kt - 1) num_blocks``; a ``ValueError`` unless >= 1."""
    consumed = 2 * (config.kt - 1) * config.num_blocks
    if config.input_len - consumed < 1:
        raise ValueError(f"STGCNConfig: input_len={config.input_len} is too short for num_blocks={config.num_blocks} "
                         f"with kt={config.kt} (each block consumes 2 * (kt - 1) steps); allowed: input_len > "
                         f"{consumed}, or fewer blocks / a smaller kt")
    return config.input_len - consumed


def _match_channels(x: torch.Tensor, c_out: int, proj: Optional[nn.Module]) -> torch.Tensor:
    """Residual path: 1x1 conv when shrinking channels, zero padding when growing, identity otherwise."""
    if proj is not None:
        return proj(x)
    return F.pad(x, (0, 0, 0, 0, 0, c_out - x.shape[1])) if x.shape[1] < c_out else x


class TemporalGLU(nn.Module):
    """Gated temporal convolution ``(P + X_res) * sigmoid(Q)`` without padding.

    Shapes: x [B, C_in, T, N] -> [B, C_out, T - kernel + 1, N].
    """

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__()
        self.kernel, self.c_out = kernel, c_out
        self.conv = nn.Conv2d(c_in, 2 * c_out, kernel_size=(kernel, 1))
        self.proj = nn.Conv2d(c_in, c_out, kernel_size=1) if c_in > c_out else None

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, c_out={self.c_out}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = _match_channels(x[:, :, self.kernel - 1:], self.c_out, self.proj)   # [B, C_out, T', N]
        p, q = self.conv(x).chunk(2, dim=1)                                              # 2 x [B, C_out, T', N]
        return (p + residual) * torch.sigmoid(q)


class ChebGraphConv(nn.Module):
    """Chebyshev graph convolution with residual and ReLU: ``ReLU(sum_k T_k X Theta_k + b + X_res)``.

    Shapes: x [B, C_in, T, N], basis [Ks, N, N] -> [B, C_out, T, N].
    """

    def __init__(self, c_in: int, c_out: int, order: int):
        super().__init__()
        self.c_out = c_out
        self.weight = nn.Parameter(torch.empty(order, c_in, c_out))
        self.bias = nn.Parameter(torch.empty(c_out))
        self.proj = nn.Conv2d(c_in, c_out, kernel_size=1) if c_in > c_out else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / (self.weight.shape[0] * self.weight.shape[1]) ** 0.5
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        order, c_in, c_out = self.weight.shape
        return f"c_in={c_in}, c_out={c_out}, order={order}"

    def forward(self, x: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
        # Theta_k first, then T_k: the same sum, cheaper because the graph product runs on C_out channels.
        mixed = torch.einsum("bctm,kcd->bkdtm", x, self.weight)                        # [B, Ks, C_out, T, N]
        out = torch.einsum("knm,bkdtm->bdtn", basis, mixed)                             # [B, C_out, T, N]
        out = out + self.bias[:, None, None]
        return torch.relu(out + _match_channels(x, self.c_out, self.proj))


class STConvBlock(nn.Module):
    """Gated temporal conv, Chebyshev graph conv, gated temporal conv, layer norm over [N, C], dropout.

    Shapes: x [B, C_in, T, N], basis [Ks, N, N] -> [B, C_t, T - 2 (Kt - 1), N].
    """

    def __init__(self, c_in: int, c_t: int, c_s: int, kt: int, ks: int, num_nodes: int, dropout: float):
        super().__init__()
        self.temporal1 = TemporalGLU(c_in, c_t, kt)
        self.spatial = ChebGraphConv(c_t, c_s, ks)
        self.temporal2 = TemporalGLU(c_s, c_t, kt)
        self.norm = nn.LayerNorm([num_nodes, c_t])
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
        x = self.temporal2(self.spatial(self.temporal1(x), basis))                      # [B, C_t, T', N]
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)                         # [B, C_t, T', N]
        return self.dropout(x)


class STGCN(nn.Module):
    """STGCN with Chebyshev graph convolutions (STGCN(Cheb)).

    Paper: Spatio-Temporal Graph Convolutional Networks: A Deep Learning Framework for Traffic Forecasting.
    Venue: IJCAI 2018. Link: https://arxiv.org/abs/1709.04875. Official code: https://github.com/VeritasYin/STGCN_IJCAI-18.
    Graph: the dataset's scaled Laplacian ("scalap"), expanded to Ks Chebyshev polynomials once at build time.
    Parameters: 287,052 with the default config at PEMS04 (N=307, 12 -> 12); BasicTS reports 0.30M (its port
    also creates residual convs that are never used).

    Shapes:
        inputs: [B, L, N]. output: [B, H, N].
    """

    Config = STGCNConfig

    def __init__(self, config: STGCNConfig):
        super().__init__()
        self.num_nodes = require_set(config, "num_nodes", "STGCN")
        self.output_len = config.output_len
        remaining = remaining_len(config)
        basis = chebyshev_basis(load_graph(config.dataset, "scalap", self.num_nodes, "STGCN")[0], config.ks)
        self.register_buffer("basis", basis, persistent=False)                           # [Ks, N, N]
        c_t = config.temporal_channels
        self.blocks = nn.ModuleList(
            STConvBlock(1 if i == 0 else c_t, c_t, config.spatial_channels, config.kt, config.ks, self.num_nodes,
                        config.dropout)
            for i in range(config.num_blocks))
        self.out_temporal = TemporalGLU(c_t, config.end_channels, remaining)
        self.out_norm = nn.LayerNorm([self.num_nodes, config.end_channels])
        self.out_fc = nn.Sequential(nn.Linear(config.end_channels, config.end_channels), nn.ReLU(),
                                    nn.Linear(config.end_channels, config.output_len))

    def extra_repr(self) -> str:
        return f"num_nodes={self.num_nodes}, output_len={self.output_len}, cheb_order={self.basis.shape[0]}"

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        check_num_nodes(inputs, self.num_nodes, "STGCN")
        x = inputs.unsqueeze(1)                                                          # [B, 1, L, N]
        for block in self.blocks:
            x = block(x, self.basis)                                                     # [B, C_t, T', N]
        x = self.out_temporal(x)                                                         # [B, C_end, 1, N]
        x = self.out_norm(x.permute(0, 2, 3, 1))                                         # [B, 1, N, C_end]
        return self.out_fc(x).squeeze(1).transpose(1, 2)                                 # [B, H, N]
