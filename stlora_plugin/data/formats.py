"""Raw dataset formats -> arrays ready for :func:`write_dataset`.

=========  ======================================================================================  ===========
format     RAW_PATH                                                                                 default name
=========  ======================================================================================  ===========
pems       folder with ``PEMS0X.npz`` (key ``data``, [T, N, C], channel 0 = flow) and ``PEMS0X.csv``   folder name
           (``from,to,cost``), plus ``PEMS03.txt`` (station ids) for PEMS03
metr       ``metr-la.h5`` / ``pems-bay.h5`` (DataFrame [T, N]); the DCRNN ``adj_mx*.pkl`` beside it   METR-LA / PEMS-BAY
nyc        ``*.npz`` (``arr_0``, [T, N, 2] in/out flow or [T, N]) and ``W_adj_matrix.csv``           NYC-Bike-inflow ...
los-loop   folder with ``los_speed.csv`` (header of sensor ids) and ``los_adj.csv``                  LOS-LOOP
generic    any ``.npz``/``.npy``/``.csv`` array with ``--adj FILE --step-minutes M``                 file stem
synthetic  none (generated; see :mod:`.synthetic`)                                                 SYNTH-ROAD
=========  ======================================================================================  ===========
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .readers import RawDataError, read_array, read_dcrnn_pickle, read_edge_list, read_graph, read_hdf_frame, \
    read_matrix_csv
from ..runtime.paths import datasets_root
from .synthetic import SYNTHETIC_NAME, generate_synthetic
from .writer import PreparedDataset, write_dataset

__all__ = ["FORMATS", "RawDataset", "prepare"]

#: First time step of the PEMS datasets as published (ASTGCN / STSGCN packaging).
PEMS_START = {"PEMS03": "2018-09-01", "PEMS04": "2018-01-01", "PEMS07": "2017-05-01", "PEMS08": "2016-07-01"}
#: The NYC Citi Bike / TLC files cover 2019-01-01 .. 2020-12-31.
NYC_START = "2019-01-01"
LOS_LOOP_START = "2012-03-01"


@dataclass
class RawDataset:
    """A raw dataset read into memory: ``data [T, N]``, ``adj [N, N]`` and its calendar."""

    data: np.ndarray
    adj: np.ndarray | None
    name: str
    step_minutes: int
    start: str | None
    description: str
    locations: np.ndarray | None = None  # [N, 2] latitude, longitude, in node order


def _one(folder: Path, pattern: str, what: str) -> Path:
    matches = sorted(folder.glob(pattern))
    if len(matches) != 1:
        raise RawDataError(f"expected exactly one {what} ({pattern}) in {folder}, found "
                           f"{[m.name for m in matches] or 'none'}")
    return matches[0]


def _pems(raw: Path, channel: int | None = None, **_) -> RawDataset:
    if not raw.is_dir():
        raise RawDataError(f"pems: RAW_PATH must be the dataset folder (PEMS0X.npz + PEMS0X.csv), got {raw}")
    name = raw.name.upper()
    data = read_array(_one(raw, "*.npz", "data archive"), key="data", channel=0 if channel is None else channel)
    ids_file = sorted(raw.glob("*.txt"))
    ids = ids_file[0].read_text().split() if ids_file else None
    adj = read_edge_list(_one(raw, "*.csv", "edge list"), data.shape[1], ids)
    return RawDataset(data, adj, name, 5, PEMS_START.get(name), f"{name} freeway flow (Caltrans PeMS), 5-minute steps")


def _sensor_locations(files: list[Path], ids: list[str]) -> np.ndarray | None:
    """``[N, 2]`` latitude/longitude in the order of ``ids`` from a DCRNN sensor-location CSV, if one is given."""
    for path in files:
        if path.is_file():
            table = pd.read_csv(path, header=None, dtype=str)
            table = table[table.iloc[:, -3] != "sensor_id"]  # METR-LA's file has a header, PEMS-BAY's has none
            coords = {row.iloc[-3]: (float(row.iloc[-2]), float(row.iloc[-1])) for _, row in table.iterrows()}
            if all(i in coords for i in ids):
                return np.array([coords[i] for i in ids])
    return None


def _metr(raw: Path, **_) -> RawDataset:
    frame = read_hdf_frame(raw)
    pickles = sorted(raw.parent.glob("adj_mx*.pkl"))
    if not pickles:
        raise RawDataError(f"metr: no DCRNN adjacency pickle (adj_mx*.pkl) beside {raw}")
    ids, adj = read_dcrnn_pickle(pickles[0])
    columns = [str(c) for c in frame.columns]
    if sorted(columns) != sorted(ids):
        raise RawDataError(f"{raw} has {len(columns)} sensors but {pickles[0]} has {len(ids)}, or their ids differ")
    data = frame[[frame.columns[columns.index(i)] for i in ids]].to_numpy(dtype=np.float64)  # graph's order
    step = int(round((frame.index[1] - frame.index[0]).total_seconds() / 60)) if len(frame) > 1 else 5
    name = "PEMS-BAY" if "bay" in raw.name.lower() else "METR-LA"
    return RawDataset(data, adj, name, step, str(frame.index[0]), f"{name} loop-detector speed, {step}-minute steps",
                      _sensor_locations(sorted(raw.parent.glob("graph_sensor_locations*.csv")), ids))


def _nyc(raw: Path, channel: int | None = None, adj: str | None = None, step_minutes: int | None = None,
         **_) -> RawDataset:
    stem = raw.stem.lower()
    mode = "bike" if "bike" in stem else "taxi" if "taxi" in stem else "flow"
    data = read_array(raw, channel=0 if channel is None else channel)  # [T, N, 2]: 0 inflow (default), 1 outflow
    flow = "outflow" if channel == 1 or ("outflow" in stem and "inoutflow" not in stem) else "inflow"
    if step_minutes is None:
        found = re.search(r"(\d+)min", stem)
        step_minutes = int(found.group(1)) if found else 60
    adj_path = Path(adj) if adj else next((p for p in (raw.parent / "W_adj_matrix.csv",
                                                        raw.parent.parent / "NYC-Bike" / "W_adj_matrix.csv")
                                           if p.is_file()), raw.parent / "W_adj_matrix.csv")
    name = f"NYC-{mode.capitalize()}-{flow}" + ("" if step_minutes == 60 else f"-{step_minutes}min")
    return RawDataset(data, read_matrix_csv(adj_path), name, step_minutes, NYC_START,
                      f"New York City {mode} {flow} per Manhattan zone, {step_minutes}-minute steps")


def _los_loop(raw: Path, **_) -> RawDataset:
    folder = raw if raw.is_dir() else raw.parent
    data = read_array(folder / "los_speed.csv")
    ids = list(pd.read_csv(folder / "los_speed.csv", nrows=0).columns)  # the METR-LA sensors, in order
    locations = _sensor_locations([folder / "graph_sensor_locations.csv",
                                   folder.parent / "METR-LA" / "graph_sensor_locations.csv"], ids)
    return RawDataset(data, read_matrix_csv(folder / "los_adj.csv"), "LOS-LOOP", 5, LOS_LOOP_START,
                      "Los Angeles highway speed (METR-LA sensors), one week, 5-minute steps", locations)


def _generic(raw: Path, adj: str | None = None, step_minutes: int | None = None, start: str | None = None,
             key: str | None = None, channel: int | None = None, **_) -> RawDataset:
    if step_minutes is None:
        raise RawDataError("generic: pass --step-minutes (the sampling interval of the data)")
    data = read_array(raw, key=key, channel=channel)
    graph = read_graph(adj, data.shape[1]) if adj else None
    return RawDataset(data, graph, raw.stem, step_minutes, start, f"{raw.name}, {step_minutes}-minute steps")


def _synthetic(raw: Path | None = None, num_nodes: int = 64, num_days: int = 28, seed: int = 0,
               **_) -> RawDataset:
    data, adj = generate_synthetic(num_nodes=num_nodes, num_days=num_days, seed=seed)
    return RawDataset(data, adj, SYNTHETIC_NAME, 5, None,
                      "synthetic traffic flow on a road graph with daily/weekly cycles and node heterogeneity")


FORMATS: dict[str, Callable[..., RawDataset]] = {
    "pems": _pems, "metr": _metr, "nyc": _nyc, "los-loop": _los_loop, "generic": _generic, "synthetic": _synthetic,
}


def _until(raw: RawDataset, until: str) -> RawDataset:
    """The steps of ``raw`` before time ``until`` (e.g. NYC-Taxi's 2019, before the COVID-19 demand collapse)."""
    if raw.start is None:
        raise RawDataError("--until needs the time of the first step; pass --start")
    try:
        end = pd.Timestamp(until)
    except ValueError:
        raise RawDataError(f"--until {until!r} is not a date or time (e.g. 2020-01-01)") from None
    start, step = pd.Timestamp(raw.start), pd.Timedelta(minutes=raw.step_minutes)
    steps = (end - start) // step
    if not 0 < steps <= len(raw.data):
        raise RawDataError(f"--until {until} is outside the data ({raw.start} to {start + len(raw.data) * step})")
    return dataclasses.replace(raw, data=raw.data[:steps], name=f"{raw.name}-until{end.date()}",
                               description=f"{raw.description}, before {end}")


def prepare(fmt: str, raw_path: str | os.PathLike | None, out: str | os.PathLike | None = None, *,
            name: str | None = None,
            force: bool = False, until: str | None = None, **options) -> PreparedDataset:
    """Read a raw dataset in format ``fmt`` and write it as a BasicTS dataset folder ``out/<name>`` (``out`` None:
    ``$STLORA_DATASETS`` or ``./datasets``); with ``until`` (a date or time) only the steps before it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if fmt != "synthetic":
        if raw_path is None or not Path(raw_path).exists():
            raise RawDataError(f"{fmt}: raw path not found: {raw_path}")
        raw_path = Path(raw_path)
    raw = FORMATS[fmt](raw_path, **options)
    if until is not None:
        raw = _until(raw, until)
    out = datasets_root() if out is None else out
    return write_dataset(raw.data, raw.adj, out, name or raw.name, step_minutes=raw.step_minutes, start=raw.start,
                         force=force, description=raw.description, locations=raw.locations)
