"""ST-LoRA's integration of node-specific predictors with a backbone's forecast.

Ruan et al., "ST-LoRA: Low-rank Adaptation for Spatio-Temporal Forecasting" (ECML-PKDD 2024). With the
backbone forecast ``Y_base = f(X)``, ``K`` node-specific predictors ``P_k`` and a gate ``F``, the paper writes

    Z_1 = P_1(act(Y_base))
    Z_k = P_k(act([X, Z_{k-1}]))                 k = 2..K, concatenated along time (L + H steps)
    R   = sigmoid(F([X, mean_k Z_k]))
    Y   = R * Y_base + (1 - R) * mean_k Z_k

where each ``Z_k`` is a forecast of its own. Here each predictor forecasts a *correction* ``D_k`` of the
backbone, ``Z_k = Y_base + D_k``, and its output layer starts at zero (``NodeSpecificPredictor.head``):

    D_1 = P_1(act(Y_base))                       Z_1 = Y_base + D_1
    D_k = P_k(act([X, Z_{k-1}]))                 Z_k = Y_base + D_k
    R   = sigmoid(F([X, mean_k Z_k]))            fusion="gate" (the paper's gate, same inputs, same meaning)
    Y   = R * Y_base + (1 - R) * mean_k Z_k  =  Y_base + (1 - R) * mean_k D_k
    Y   = (Y_base + mean_k Z_k) / 2          =  Y_base + mean_k D_k / 2          fusion="mean" (ablation: no F)

The function class is the paper's (a predictor that can output ``Z`` can output ``Z - Y_base``, and ``Y_base``
reaches every predictor through ``act(Y_base)`` or ``Z_{k-1}``); only the starting point differs: with every
``D_k = 0`` at step 0, a freshly wrapped model forecasts exactly what its backbone forecasts, in train and in
eval mode, whatever the gate's random weights (dropout inside the predictors cannot change a zero output).
Fine-tuning adapters on a trained, frozen backbone therefore starts from the backbone's own forecast.
``R`` keeps its meaning, the share of the forecast taken from the backbone alone.

The penalty is on the node-specific *update* itself, ``lambda * sum_NALL mean_v ||Delta W_v||_F`` with
``Delta W_v = (alpha / r) B C_v A`` (``NodeAdaptiveLowRankLinear.update_norms``, through ``r x r`` Gram
products). A penalty on the cores alone would constrain nothing: ``B C_v A`` is unchanged under
``(s B, C_v / s, A)``, so the optimizer could shrink the cores at no cost to the function. It averages over
nodes (the sum over nodes divided by ``N``): each node's share of the forecasting gradient is ``1/N`` of the
loss's, while a norm pulls every node's update toward zero with a fixed force, so a sum over nodes would
strengthen lambda with ``N`` (measured: with the sum, lambda = 1e-4 held every update at about 1e-4 of ``W``'s
norm on LOS-LOOP, N = 207; ``docs/stlora.md``). With ``core="shared"`` (the ablation control) the one update is
every node's update, so it is penalized as much as ``N`` equal per-node updates.

``act`` on the predictor inputs defaults to ``tanh``: ``Y_base`` and ``X`` are z-scored by the runner, so about
half their values are negative and ReLU (or GELU, nearly) would zero that half; tanh keeps sign and order and
only compresses the rare ``|z| > 2`` outliers. ``docs/stlora.md`` has the measured reasons for both choices.
"""
from __future__ import annotations

import torch
from torch import nn

from .nall import NodeAdaptiveLowRankLinear
from .predictor import NodeSpecificPredictor, make_activation

__all__ = ["FUSIONS", "GATE_BIAS_INIT", "STLoRAFusion"]

#: Initial bias of the gate ``F``: ``sigmoid(0) = 0.5``, so ``(1 - R)`` does not damp the corrections' first steps.
#: The start is the backbone's forecast whatever the bias (the corrections start at zero).
GATE_BIAS_INIT = 0.0


def _gated(fusion, x, y_base, d_mean):
    gate = torch.sigmoid(fusion.gate(torch.cat([x, y_base + d_mean], dim=-1)))  # [B, N, L + H] -> [B, N, H]
    return y_base + (1.0 - gate) * d_mean  # = R * Y_base + (1 - R) * mean_k Z_k, [B, N, H]


def _mean(fusion, x, y_base, d_mean):
    return y_base + 0.5 * d_mean  # = (Y_base + mean_k Z_k) / 2, [B, N, H]


#: fusion name -> (has a gate module F, how Y is formed from x [B, N, L], Y_base and mean_k D_k [B, N, H]).
FUSIONS = {"gate": (True, _gated), "mean": (False, _mean)}


class STLoRAFusion(nn.Module):
    """``K`` chained node-specific predictors, gated against (or averaged with) the backbone's forecast.

    Shapes:
        inputs: ``[B, L, N]`` (the backbone's input), base: ``[B, H, N]`` (its forecast) -> ``[B, H, N]``.
    """

    #: hyperparameters (``adapters.config.HYPERPARAMETERS``) that are about the model around the adapter
    NOT_MODULE_ARGUMENTS = ("freeze_backbone", "param_budget")

    @classmethod
    def from_hyperparameters(cls, num_nodes: int, input_len: int, output_len: int, hp: dict) -> "STLoRAFusion":
        """The adapter of resolved hyperparameters (``adapters.config.resolve_hyperparameters``): the one mapping
        from the ``stlora_*`` settings to this module's arguments (``lambda`` is ``lambda_``)."""
        kwargs = {("lambda_" if k == "lambda" else k): v for k, v in hp.items() if k not in cls.NOT_MODULE_ARGUMENTS}
        return cls(num_nodes, input_len, output_len, **kwargs)

    def __init__(self, num_nodes: int, input_len: int, output_len: int, *, num_predictors: int = 2,
                 num_layers: int = 2, hidden_size: int = 32, rank: int = 4, alpha: float = 4.0, core: str = "full",
                 dropout: float = 0.0, activation: str = "gelu", input_activation: str = "tanh",
                 lambda_: float = 0.0, fusion: str = "gate", gate_bias: float = GATE_BIAS_INIT):
        super().__init__()
        if isinstance(num_predictors, bool) or not isinstance(num_predictors, int) or num_predictors < 1:
            raise ValueError(f"STLoRAFusion: num_predictors={num_predictors!r} is not allowed; expected an int >= 1")
        if not lambda_ >= 0:
            raise ValueError(f"STLoRAFusion: lambda_={lambda_!r} is not allowed; expected a float >= 0")
        if fusion not in FUSIONS:
            raise ValueError(f"STLoRAFusion: fusion={fusion!r} is not allowed; choose one of {tuple(FUSIONS)}")
        self.fusion, self.gate_bias = fusion, float(gate_bias)
        self.num_nodes, self.input_len, self.output_len = num_nodes, input_len, output_len
        self.lambda_ = float(lambda_)  # the penalty's weight (lambda)
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
                f"lambda_={self.lambda_}, fusion={self.fusion}, gate_bias={self.gate_bias}")

    def nalls(self) -> list[NodeAdaptiveLowRankLinear]:
        """Every NALL layer, found by module type."""
        return [m for m in self.modules() if isinstance(m, NodeAdaptiveLowRankLinear)]

    def core_parameters(self) -> list[nn.Parameter]:
        """The core of every NALL, per-node or shared."""
        return [m.core for m in self.nalls()]

    def node_specific_parameters(self) -> list[nn.Parameter]:
        """Every per-node parameter (the per-node NALL cores; empty for core="shared")."""
        return [m.core for m in self.nalls() if m.node_specific]

    def penalty(self) -> torch.Tensor:
        """``lambda * sum_NALL mean_v ||Delta W_v||_F`` (a scalar; see the module docstring)."""
        return self.lambda_ * sum(m.update_norms().mean() for m in self.nalls())

    def forward(self, inputs: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        x = inputs.transpose(1, 2)  # [B, N, L]
        y_base = base.transpose(1, 2)  # [B, N, H]
        d = self.predictors[0](self.input_act(y_base))  # [B, N, H], the correction D_1
        d_sum = d
        for predictor in self.predictors[1:]:
            d = predictor(self.input_act(torch.cat([x, y_base + d], dim=-1)))  # [B, N, L + H] -> [B, N, H]
            d_sum = d_sum + d
        d_mean = d_sum / len(self.predictors)  # [B, N, H]
        fused = FUSIONS[self.fusion][1](self, x, y_base, d_mean)  # [B, N, H]
        return fused.transpose(1, 2)  # [B, H, N]
