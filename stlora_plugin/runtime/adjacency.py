"""Graphs for spatio-temporal models, loaded from a prepared dataset folder.

BasicTS 1.x models receive no adjacency: a model keeps a dataset name or folder path in its config
(JSON-serializable, never an array) and loads the graph itself with :func:`load_supports`, registering
the result as a non-persistent buffer so checkpoints stay graph-free and ``model.to()`` moves it.

Normalizations (``A`` the weighted adjacency, ``D`` its degree; zero degrees give zero rows, never inf/NaN):

==================  =======================================================  ===================
kind                matrix                                                    used by
==================  =======================================================  ===================
original            ``A``                                                     -
identity            ``I``                                                     -
symnadj             ``D~^-1/2 (A + I) D~^-1/2`` (GCN renormalization)          GCN-style layers
normlap             ``I - D^-1/2 A_s D^-1/2`` (``A_s = max(A, A^T)``)         -
scalap              ``2 L / lambda_max - I`` with ``L`` = normlap             STGCN (Chebyshev)
transition          ``D_out^-1 A`` (row-stochastic random walk)               DCRNN-style diffusion
doubletransition    ``[D_out^-1 A, D_in^-1 A^T]`` (forward and backward walk)  GWNet, D2STGNN
==================  =======================================================  ===================
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from .paths import dataset_dir

__all__ = ["ADJ_KINDS", "load_adjacency", "normalize_adjacency", "load_supports", "chebyshev_basis"]


def _inv(x: np.ndarray, power: float = 1.0) -> np.ndarray:
    """``x ** -power`` where ``x > 0``, else 0 (isolated nodes), without warnings."""
    out = np.zeros_like(x, dtype=np.float64)
    np.power(x, -power, out=out, where=x > 0)
    return out


def _symnadj(a):
    a = a + np.eye(len(a))
    d = _inv(a.sum(1), 0.5)
    return [d[:, None] * a * d[None, :]]


def _normlap(a):
    a = np.maximum(a, a.T)
    d = _inv(a.sum(1), 0.5)
    return [np.eye(len(a)) - d[:, None] * a * d[None, :]]


def _scalap(a):
    lap = _normlap(a)[0]
    lambda_max = float(np.linalg.eigvalsh(lap).max())
    if lambda_max <= 0:  # a graph without edges: L = I has lambda_max 1
        lambda_max = 1.0
    return [2.0 * lap / lambda_max - np.eye(len(a))]


def _transition(a):
    return [_inv(a.sum(1))[:, None] * a]


def _doubletransition(a):
    return [_inv(a.sum(1))[:, None] * a, _inv(a.T.sum(1))[:, None] * a.T]


ADJ_KINDS = {
    "original": lambda a: [a],
    "identity": lambda a: [np.eye(len(a))],
    "symnadj": _symnadj,
    "normlap": _normlap,
    "scalap": _scalap,
    "transition": _transition,
    "doubletransition": _doubletransition,
}


def load_adjacency(dataset: str | os.PathLike) -> np.ndarray:
    """The raw ``[N, N]`` float32 adjacency of a prepared dataset (name, folder, or ``adj_mx.pkl`` path).

    Reads both BasicTS's pickled array and DCRNN's ``(sensor_ids, id_to_index, adj)`` tuple.
    """
    path = Path(dataset)
    if not path.is_file():
        path = dataset_dir(dataset) / "adj_mx.pkl"
        if not path.is_file():
            raise FileNotFoundError(f"dataset '{dataset}' has no graph: {path} is missing")
    with open(path, "rb") as f:
        obj = pickle.load(f, encoding="latin1")
    adj = obj[2] if isinstance(obj, (tuple, list)) and len(obj) == 3 else obj
    adj = np.asarray(adj, dtype=np.float32)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError(f"{path} holds an array of shape {adj.shape}; expected a square [N, N] adjacency")
    if not np.isfinite(adj).all():
        raise ValueError(f"{path} holds NaN or inf entries; expected finite edge weights")
    return adj


def normalize_adjacency(adj: np.ndarray, kind: str) -> list[np.ndarray]:
    """The float32 matrices of one normalization of ``adj`` (a list: double transition gives two)."""
    if kind not in ADJ_KINDS:
        raise ValueError(f"adjacency kind '{kind}' is not known; choose one of {sorted(ADJ_KINDS)}")
    adj = np.asarray(adj, dtype=np.float64)
    return [m.astype(np.float32) for m in ADJ_KINDS[kind](adj)]


def load_supports(dataset: str | os.PathLike, kind: str) -> torch.Tensor:
    """The normalized graph of a prepared dataset as one tensor ``[S, N, N]`` (S matrices of ``kind``).

    Register it in a model with ``self.register_buffer("supports", load_supports(...), persistent=False)``.
    """
    return torch.from_numpy(np.stack(normalize_adjacency(load_adjacency(dataset), kind)))


def chebyshev_basis(scaled_laplacian: torch.Tensor, order: int) -> torch.Tensor:
    """Chebyshev polynomials ``T_0..T_{order-1}`` of a scaled Laplacian ``[N, N]`` -> ``[order, N, N]``."""
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    n = scaled_laplacian.shape[-1]
    basis = [torch.eye(n, dtype=scaled_laplacian.dtype), scaled_laplacian]
    while len(basis) < order:
        basis.append(2 * scaled_laplacian @ basis[-1] - basis[-2])
    return torch.stack(basis[:order])
