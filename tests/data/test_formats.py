"""Each raw format on the real files in ../shared/datasets, plus generated arrays where the large ones are missing."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from stlora_plugin.data import RawDataError, prepare
from stlora_plugin.runtime import load_adjacency


def _meta(folder):
    return json.loads((folder / "meta.json").read_text())


@pytest.mark.parametrize("city, file, channel, name, nodes", [
    ("NYC-Bike", "201901-202012-NYCbike-inoutflow-60min.npz", 0, "NYC-Bike-inflow", 69),
    ("NYC-Bike", "201901-202012-NYCbike-inoutflow-60min.npz", 1, "NYC-Bike-outflow", 69),
    ("NYC-Taxi", "201901-202012-NYCtaxi-inoutflow-60min.npz", 0, "NYC-Taxi-inflow", 69),
])
def test_nyc_real(shared_datasets, tmp_path, city, file, channel, name, nodes):
    result = prepare("nyc", shared_datasets / city / file, tmp_path, channel=channel)
    meta = _meta(result.path)
    assert result.path.name == name and meta["shape"] == [17544, nodes] and meta["frequency (minutes)"] == 60
    raw = np.load(shared_datasets / city / file)["arr_0"][:, :, channel]
    np.testing.assert_array_equal(np.load(result.path / "train_data.npy"), raw[:10526].astype(np.float32))
    assert load_adjacency(result.path).shape == (69, 69)
    ts = np.load(result.path / "train_timestamps.npy")
    assert ts[0, 1] == pytest.approx(1 / 7)  # 2019-01-01 was a Tuesday


def test_until_keeps_the_steps_before_a_date(shared_datasets, tmp_path):
    raw = shared_datasets / "NYC-Taxi" / "201901-202012-NYCtaxi-inoutflow-60min.npz"
    result = prepare("nyc", raw, tmp_path, until="2020-01-01")
    assert result.path.name == "NYC-Taxi-inflow-until2020-01-01" and result.num_steps == 365 * 24
    np.testing.assert_array_equal(np.load(result.path / "test_data.npy"),
                                  np.load(raw)["arr_0"][7008:8760, :, 0].astype(np.float32))
    for until, match in [("2018-06-01", "outside the data"), ("2021-01-02", "outside the data"),
                         ("soon", "not a date")]:
        with pytest.raises(RawDataError, match=match):
            prepare("nyc", raw, tmp_path / "bad", until=until)
    np.save(tmp_path / "x.npy", np.ones((100, 3)))
    with pytest.raises(RawDataError, match="pass --start"):
        prepare("generic", tmp_path / "x.npy", tmp_path / "bad", step_minutes=5, until="2020-01-01")


def test_nyc_30min_single_channel(shared_datasets, tmp_path):
    result = prepare("nyc", shared_datasets / "NYC-Bike" / "201901-202012-NYCbike-outflow-30min.npz", tmp_path)
    assert result.path.name == "NYC-Bike-outflow-30min" and result.step_minutes == 30 and result.num_steps == 35088


def test_los_loop_real(shared_datasets, tmp_path):
    result = prepare("los-loop", shared_datasets / "LOS-LOOP", tmp_path)
    assert (result.num_steps, result.num_nodes, result.step_minutes) == (2016, 207, 5)
    assert load_adjacency(result.path).shape == (207, 207)
    locations = pd.read_csv(result.path / "locations.csv")  # from ../METR-LA, the same sensors in the same order
    assert locations.shape == (207, 2) and locations.iloc[0].tolist() == [34.15497, -118.31829]


@pytest.mark.parametrize("name, nodes, steps", [("PEMS04", 307, 400), ("PEMS08", 170, 300), ("PEMS03", 358, 300)])
def test_pems_graph_real_with_generated_array(shared_datasets, tmp_path, name, nodes, steps):
    raw = tmp_path / "raw" / name
    raw.mkdir(parents=True)
    for f in (shared_datasets / name).iterdir():
        shutil.copy(f, raw / f.name)
    flow = np.random.default_rng(0).random((steps, nodes, 3 if name != "PEMS03" else 1))
    np.savez(raw / f"{name}.npz", data=flow)
    result = prepare("pems", raw, tmp_path / "out")
    adj = load_adjacency(result.path)
    edges = pd.read_csv(raw / f"{name}.csv")
    pairs = {frozenset((a, b)) for a, b in zip(edges.iloc[:, 0].astype(str), edges.iloc[:, 1].astype(str)) if a != b}
    assert adj.shape == (nodes, nodes) and (adj > 0).sum() == 2 * len(pairs)
    np.testing.assert_allclose(np.load(result.path / "train_data.npy")[:, 0], flow[: int(steps * 0.6), 0, 0],
                               rtol=1e-6)
    assert _meta(result.path)["start"] is not None


@pytest.mark.parametrize("folder, pickle_name, h5_name, name", [
    ("METR-LA", "adj_mx.pkl", "metr-la.h5", "METR-LA"),
    ("PEMS-BAY", "adj_mx_bay.pkl", "pems-bay.h5", "PEMS-BAY"),
])
def test_metr_and_bay_graph_real_with_generated_h5(shared_datasets, tmp_path, folder, pickle_name, h5_name, name):
    shutil.copy(shared_datasets / folder / pickle_name, tmp_path / pickle_name)
    for locations in (shared_datasets / folder).glob("graph_sensor_locations*.csv"):
        shutil.copy(locations, tmp_path / locations.name)
    import pickle
    with open(tmp_path / pickle_name, "rb") as f:
        ids = [str(i) for i in pickle.load(f, encoding="latin1")[0]]
    index = pd.date_range("2012-03-01", periods=300, freq="5min")
    shuffled = list(reversed(ids))  # the loader must restore the graph's sensor order
    frame = pd.DataFrame(np.arange(300)[:, None] + np.arange(len(ids))[None, ::-1] * 1000.0, index=index,
                         columns=shuffled)
    frame.to_hdf(tmp_path / h5_name, key="df")
    result = prepare("metr", tmp_path / h5_name, tmp_path / "out")
    data = np.load(result.path / "train_data.npy")
    assert result.path.name == name and data.shape == (180, len(ids))
    np.testing.assert_array_equal(data[0, :3], [0.0, 1000.0, 2000.0])  # column k is sensor ids[k]
    assert _meta(result.path)["start"].startswith("2012-03-01")
    assert pd.read_csv(result.path / "locations.csv").shape == (len(ids), 2)


def test_generic_npy_with_edge_list_and_calendar(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((200, 4, 2)))
    pd.DataFrame({"from": [0, 1], "to": [1, 3], "cost": [1.0, 2.0]}).to_csv(tmp_path / "g.csv", index=False)
    result = prepare("generic", tmp_path / "x.npy", tmp_path / "out", adj=str(tmp_path / "g.csv"), step_minutes=15,
                     start="2024-01-06 12:00", channel=1, name="MINE")
    ts = np.load(result.path / "train_timestamps.npy")
    assert result.path.name == "MINE" and ts[0, 0] == pytest.approx(0.5) and ts[0, 1] == pytest.approx(5 / 7)
    assert load_adjacency(result.path)[1, 3] == 1.0


@pytest.mark.parametrize("setup, match", [
    (lambda d: np.savez(d / "a.npz", values=np.ones((200, 3))) or dict(key="data"), "pass --key"),
    (lambda d: np.save(d / "a.npy", np.ones((200, 3))) or dict(adj=str(d / "missing.csv")), "adjacency file not found"),
    (lambda d: (np.save(d / "a.npy", np.ones((200, 3))), np.save(d / "g.npy", np.eye(4)))[0] or
     dict(adj=str(d / "g.npy")), "same node count"),
    (lambda d: np.save(d / "a.npy", np.ones((200,))) or {}, "expected \\[time, nodes\\]"),
])
def test_generic_errors_are_clear_and_leave_nothing(tmp_path, setup, match):
    options = setup(tmp_path)
    raw = next(tmp_path.glob("a.*"))
    with pytest.raises((RawDataError, ValueError, FileNotFoundError), match=match):
        prepare("generic", raw, tmp_path / "out", step_minutes=5, **options)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_raw_path_and_unknown_format(tmp_path):
    with pytest.raises(RawDataError, match="raw path not found"):
        prepare("pems", tmp_path / "nope", tmp_path)
    with pytest.raises(ValueError, match="unknown format"):
        prepare("csv", tmp_path, tmp_path)
    with pytest.raises(RawDataError, match="step-minutes"):
        prepare("generic", tmp_path, tmp_path)


def test_a_multichannel_generic_array_needs_a_channel(tmp_path):
    np.save(tmp_path / "two.npy", np.random.rand(200, 4, 2))
    with pytest.raises(RawDataError, match=r"2 channels per node .*pass --channel 0\.\.1"):
        prepare("generic", tmp_path / "two.npy", tmp_path / "out", step_minutes=5)
    assert prepare("generic", tmp_path / "two.npy", tmp_path / "out", step_minutes=5, channel=1).num_nodes == 4


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_a_truncated_file_is_one_error_naming_it(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    (np.savez if suffix == ".npz" else np.save)(path, np.random.rand(200, 4))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(RawDataError, match=rf"{path.name}: (cannot read it as a \{suffix} array|not an \.npz archive)"):
        prepare("generic", path, tmp_path / "out", step_minutes=5)


def test_a_garbage_npz_is_one_error_naming_it(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not an archive at all" * 10)
    with pytest.raises(RawDataError, match="garbage.npz: not an .npz archive"):
        prepare("generic", path, tmp_path / "out", step_minutes=5)


@pytest.mark.parametrize("fill", [np.nan, 0.0])
def test_data_without_a_valid_reading_is_refused(tmp_path, fill):
    np.save(tmp_path / "empty.npy", np.full((200, 4), fill))
    with pytest.raises(ValueError, match="has no valid reading"):
        prepare("generic", tmp_path / "empty.npy", tmp_path / "out", step_minutes=5)
    assert not (tmp_path / "out" / "empty").exists()


def test_mostly_missing_data_warns(tmp_path, caplog):
    data = np.random.rand(200, 4) + 1
    data[:150] = np.nan
    np.save(tmp_path / "sparse.npy", data)
    prepare("generic", tmp_path / "sparse.npy", tmp_path / "out", step_minutes=5)
    assert "75.0% of the readings are missing" in caplog.text
