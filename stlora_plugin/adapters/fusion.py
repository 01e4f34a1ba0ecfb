"""ST-LoRA's integration of node-specific predictors with a backbone's forecast.

Ruan et al., "ST-LoRA: Low-rank Adaptation for Spatio-Temporal Forecasting" (ECML-PKDD 2024). With the
backbone forecast ``Y_base = f(X)``, ``K`` node-specific predictors ``P_k`` and a gate ``F``:

    Z_1 = P_1(act(Y_base))
    Z_k = P_k(act([X, Z_{k-1}]))                 k = 2..K, concatenated along time (L + H steps)
    R   = sigmoid(F([X, mean_k Z_k]))            fusion="gate" (the paper)
    Y   = R * Y_base + (1 - R) * mean_k Z_k
    Y   = (Y_base + mean_k Z_k) / 2               fusion="mean" (ablation: no gate F at all)

and the penalty ``lambda * ||theta_node||_2`` on all node-specific parameters (every NALL core). With
``core="shared"`` (the ablation control, one core for all nodes) the penalty applies to the same tensors, the
NALL cores, although they are shared: the arm then differs from the per-node one in node-specificity only,
not in what lambda regularizes. :meth:`STLoRAFusion.core_parameters` are the penalized tensors,
:meth:`STLoRAFusion.node_specific_parameters` the per-node ones (none for "shared").

Two choices the equations leave open, made here on purpose:

- ``act`` on the predictor inputs defaults to ``tanh``. ``Y_base`` and ``X`` are z-scored by the runner, so
  about half their values are negative; ReLU (or GELU, nearly) would zero that half and the predictors
  would never see a falling forecast (DESIGN.md, "Measured pitfall"). tanh keeps sign and order (it is
  invertible) and only compresses the rare |z| > 2 outliers; "identity" is the other lossless option.
- The gate bias starts at ``gate_bias = GATE_BIAS_INIT = 2`` (``R ~ 0.88``), so a wrapped model starts close
  to its backbone's forecast. That matters when fine-tuning on a trained, frozen backbone: with ``R = 0.5`` the
  first steps would halve a good forecast. The predictors still learn at full speed under Adam, whose
  update size does not depend on the ``(1 - R)`` factor of their gradient. ``fusion="mean"`` has no such
  start: at step 0 it returns half the backbone's forecast, which only suits training from scratch.
"""
from __future__ import annotations

import torch
from torch import nn

from .nall import NodeAdaptiveLowRankLinear
from .predictor import NodeSpecificPredictor, make_activation

__all__ = ["FUSIONS", "GATE_BIAS_INIT", "STLoRAFusion"]

#: Initial bias of the gate ``F``: ``sigmoid(2) ~ 0.88`` of the forecast comes from the backbone at step 0.
GATE_BIAS_INIT = 2.0


def _gated(fusion, x, y_base, z_mean):
    gate = torch.sigmoid(fusion.gate(torch.cat([x, z_mean], dim=-1)))  # [B, N, L + H] -> [B, N, H]
    return gate * y_base + (1.0 - gate) * z_mean  # [B, N, H]


def _mean(fusion, x, y_base, z_mean):
    return 0.5 * (y_base + z_mean)  # [B, N, H]


#: fusion name -> (has a gate module F, how Y is formed from x [B, N, L], Y_base and mean_k Z_k [B, N, H]).
FUSIONS = {"gate": (True, _gated), "mean": (False, _mean)}


class STLoRAFusion(nn.Module):
    """``K`` chained node-specific predictors, gated against (or averaged with) the backbone's forecast.

    Shapes:
        inputs: ``[B, L, N]`` (the backbone's input), base: ``[B, H, N]`` (its forecast) -> ``[B, H, N]``.
    """

    def __init__(self, num_nodes: int, input_len: int, output_len: int, *, num_predictors: int = 2,
                 num_layers: int = 2, hidden_size: int = 32, rank: int = 4, alpha: float = 4.0, core: str = "full",
                 dropout: float = 0.0, activation: str = "gelu", input_activation: str = "tanh",
                 penalty: float = 0.0, fusion: str = "gate", gate_bias: float = GATE_BIAS_INIT):
        super().__init__()
        if isinstance(num_predictors, bool) or not isinstance(num_predictors, int) or num_predictors < 1:
            raise ValueError(f"STLoRAFusion: num_predictors={num_predictors!r} is not allowed; expected an int >= 1")
        if not penalty >= 0:
            raise ValueError(f"STLoRAFusion: penalty={penalty!r} is not allowed; expected a float >= 0")
        if fusion not in FUSIONS:
            raise ValueError(f"STLoRAFusion: fusion={fusion!r} is not allowed; choose one of {tuple(FUSIONS)}")
        self.fusion, self.gate_bias = fusion, float(gate_bias)
        self.num_nodes, self.input_len, self.output_len = num_nodes, input_len, output_len
        self.penalty_weight = float(penalty)
        options = dict(hidden_size=hidden_size, num_layers=num_layers, rank=rank, alpha=alpha, core=core,
                       dropout=dropout, activation=activation)
        self.input_act = make_activation(input_activation)
        self.predictors = nn.ModuleList(
            NodeSpecificPredictor(output_len if k == 0 else input_len + output_len, output_len, num_nodes, **options)
            for k in range(num_predictors))
        has_gate = FUSIONS[fusion][0]
        self.gate = nn.Linear(input_len + output_len, output_len) if has_gate else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.gate is not None:
            nn.init.constant_(self.gate.bias, self.gate_bias)

    def extra_repr(self) -> str:
        return (f"num_nodes={self.num_nodes}, input_len={self.input_len}, output_len={self.output_len}, "
                f"penalty={self.penalty_weight}, fusion={self.fusion}, gate_bias={self.gate_bias}")

    def nalls(self) -> list[NodeAdaptiveLowRankLinear]:
        """Every NALL layer, found by module type."""
        return [m for m in self.modules() if isinstance(m, NodeAdaptiveLowRankLinear)]

    def core_parameters(self) -> list[nn.Parameter]:
        """The core of every NALL, per-node or shared: the tensors lambda penalizes."""
        return [m.core for m in self.nalls()]

    def node_specific_parameters(self) -> list[nn.Parameter]:
        """Every per-node parameter (the per-node NALL cores; empty for core="shared")."""
        return [m.core for m in self.nalls() if m.node_specific]

    def penalty(self) -> torch.Tensor:
        """``lambda * ||theta_core||_2``, the L2 norm of all NALL cores together (a scalar; see the docstring)."""
        flat = torch.cat([p.reshape(-1) for p in self.core_parameters()])
        return self.penalty_weight * torch.linalg.vector_norm(flat)

    def forward(self, inputs: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        x = inputs.transpose(1, 2)  # [B, N, L]
        y_base = base.transpose(1, 2)  # [B, N, H]
        z = self.predictors[0](self.input_act(y_base))  # [B, N, H]
        z_sum = z
        for predictor in self.predictors[1:]:
            z = predictor(self.input_act(torch.cat([x, z], dim=-1)))  # [B, N, L + H] -> [B, N, H]
            z_sum = z_sum + z
        z_mean = z_sum / len(self.predictors)  # [B, N, H]
        fused = FUSIONS[self.fusion][1](self, x, y_base, z_mean)  # [B, N, H]
        return fused.transpose(1, 2)  # [B, H, N]
