"""Readers for the raw array and graph files of the usual traffic benchmarks.

Every reader names the file and what it expected when a file is missing or malformed.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["RawDataError", "read_array", "read_matrix_csv", "read_edge_list", "read_graph", "read_dcrnn_pickle",
           "read_hdf_frame"]


class RawDataError(ValueError):
    """A raw file is missing, has the wrong keys, or the wrong shape."""


def _existing(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise RawDataError(f"{what} not found: {path}")
    return path


def read_array(path: str | os.PathLike, *, key: str | None = None, channel: int | None = None) -> np.ndarray:
    """A ``[T, N]`` float array from ``.npz`` (``key``; default the only array or ``data``), ``.npy`` or ``.csv``.

    A ``[T, N, C]`` array is reduced to ``channel`` (required when C > 1; the PEMS and NYC formats pass their
    standard channel). A truncated or corrupt file is a ``RawDataError`` naming it.
    A CSV holds one row per time step; a header row of node ids and an index column are detected and dropped.
    """
    path = _existing(path, "data file")
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".npy", ".csv"):
        raise RawDataError(f"{path}: unsupported data file type '{suffix}'; use .npz, .npy or .csv")
    try:
        array = _load(path, suffix, key)
    except RawDataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pd.errors.ParserError) as err:
        raise RawDataError(f"{path}: cannot read it as a {suffix} array ({type(err).__name__}: {err}); is the file "
                           "complete and not corrupt?") from None
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 3:
        if channel is None and array.shape[2] > 1:
            raise RawDataError(f"{path} holds {array.shape[2]} channels per node (shape {array.shape}); pass "
                               f"--channel 0..{array.shape[2] - 1} to choose one")
        channel = 0 if channel is None else channel
        if not 0 <= channel < array.shape[2]:
            raise RawDataError(f"{path} has {array.shape[2]} channels; --channel {channel} is out of range")
        array = array[:, :, channel]
    elif array.ndim != 2:
        raise RawDataError(f"{path} holds an array of shape {array.shape}; expected [time, nodes] "
                           "or [time, nodes, channels]")
    return array


def _load(path: Path, suffix: str, key: str | None) -> np.ndarray:
    if suffix == ".npz" and not zipfile.is_zipfile(path):
        raise RawDataError(f"{path}: not an .npz archive (no zip structure); is the file complete and not corrupt?")
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if key is None:
                key = "data" if "data" in keys else keys[0] if len(keys) == 1 else None
            if key is None or key not in keys:
                raise RawDataError(f"{path} holds arrays {keys}; pass --key to choose one"
                                   + (f" ('{key}' is not among them)" if key else ""))
            return archive[key]
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    frame = pd.read_csv(path)
    if not pd.api.types.is_numeric_dtype(frame.iloc[:, 0]) or frame.columns[0] in ("", "Unnamed: 0"):
        frame = frame.iloc[:, 1:]  # a timestamp or index column
    return frame.to_numpy(dtype=np.float64)


def read_matrix_csv(path: str | os.PathLike) -> np.ndarray:
    """A square ``[N, N]`` matrix from a CSV, with or without a header row."""
    path = _existing(path, "adjacency file")
    values = pd.read_csv(path, header=None).to_numpy()
    try:
        values = values.astype(np.float64)
    except ValueError:
        values = values[1:].astype(np.float64)  # a header row of ids
    if values.shape[0] == values.shape[1] + 1:  # a numeric header row (0..N-1)
        values = values[1:]
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise RawDataError(f"{path} holds a {values.shape[0]} x {values.shape[1]} table; expected a square matrix")
    return values


def read_edge_list(path: str | os.PathLike, num_nodes: int, ids: list[str] | None = None) -> np.ndarray:
    """A binary symmetric ``[N, N]`` adjacency from a ``from,to,cost`` CSV (ASTGCN/PEMS style).

    Node columns are row indices, or station ids mapped through ``ids`` (PEMS03's id list).
    """
    path = _existing(path, "edge list")
    edges = pd.read_csv(path)
    if edges.shape[1] < 2:
        raise RawDataError(f"{path} has columns {list(edges.columns)}; expected from,to[,cost]")
    src, dst = edges.iloc[:, 0].astype(str).to_numpy(), edges.iloc[:, 1].astype(str).to_numpy()
    if ids is not None:
        index = {str(i): k for k, i in enumerate(ids)}
        unknown = sorted(set(src) - index.keys() | set(dst) - index.keys())
        if unknown:
            raise RawDataError(f"{path} names {len(unknown)} ids missing from the id list (e.g. {unknown[:3]})")
        rows, cols = np.array([index[s] for s in src]), np.array([index[d] for d in dst])
    else:
        rows, cols = src.astype(float).astype(int), dst.astype(float).astype(int)
    if len(rows) and max(rows.max(), cols.max()) >= num_nodes:
        raise RawDataError(f"{path} refers to node {max(rows.max(), cols.max())} but the data has {num_nodes} nodes")
    adj = np.zeros((num_nodes, num_nodes))
    adj[rows, cols] = 1.0
    adj[cols, rows] = 1.0
    np.fill_diagonal(adj, 0.0)
    return adj


def read_dcrnn_pickle(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """``(sensor_ids, adj [N, N])`` from DCRNN's ``adj_mx.pkl`` (a Python-2 pickle)."""
    path = _existing(path, "DCRNN adjacency pickle")
    with open(path, "rb") as f:
        obj = pickle.load(f, encoding="latin1")
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3):
        raise RawDataError(f"{path} is not a DCRNN adjacency pickle (sensor_ids, id_to_index, adj_mx)")
    ids, _, adj = obj
    return [str(i) for i in ids], np.asarray(adj, dtype=np.float64)


def read_graph(path: str | os.PathLike, num_nodes: int) -> np.ndarray:
    """An ``[N, N]`` adjacency from a matrix CSV, an edge-list CSV, a ``.npy`` matrix or a pickle."""
    path = _existing(path, "adjacency file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False).astype(np.float64)
    if suffix == ".pkl":
        try:
            return read_dcrnn_pickle(path)[1]
        except RawDataError:
            with open(path, "rb") as f:
                return np.asarray(pickle.load(f, encoding="latin1"), dtype=np.float64)
    if suffix != ".csv":
        raise RawDataError(f"{path}: unsupported adjacency file type '{suffix}'; use .csv, .npy or .pkl")
    head = pd.read_csv(path, nrows=1)
    if list(head.columns[:2]) == ["from", "to"]:
        return read_edge_list(path, num_nodes)
    return read_matrix_csv(path)


def read_hdf_frame(path: str | os.PathLike) -> pd.DataFrame:
    """The ``[T, N]`` DataFrame (DatetimeIndex, sensor-id columns) of METR-LA / PEMS-BAY ``.h5`` files."""
    path = _existing(path, "HDF5 data file")
    with pd.HDFStore(path, mode="r") as store:
        keys = store.keys()
        if not keys:
            raise RawDataError(f"{path} holds no table; expected key 'df' [time, sensors]")
        frame = store["/df"] if "/df" in keys else store[keys[0]]
    if not isinstance(frame, pd.DataFrame):
        raise RawDataError(f"{path} holds a {type(frame).__name__}; expected a DataFrame [time, sensors]")
    return frame
