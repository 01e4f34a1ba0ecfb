import json
import pickle

import numpy as np
import pytest

from stlora_plugin.data import make_timestamps, split_lengths, write_dataset


def test_timestamps_index_based_and_calendar():
    ts = make_timestamps(288 * 8, 5)
    assert ts.shape == (2304, 2) and ts.dtype == np.float32
    assert ts[1, 0] == pytest.approx(1 / 288) and ts[288, 1] == pytest.approx(1 / 7)
    assert (ts >= 0).all() and (ts < 1).all()
    # 2018-01-01 was a Monday (0); 2019-01-01 a Tuesday (1)
    assert make_timestamps(24, 60, "2018-01-01")[0, 1] == 0
    tue = make_timestamps(48, 60, "2019-01-01 06:00")
    assert tue[0, 1] == pytest.approx(1 / 7) and tue[0, 0] == pytest.approx(0.25)
    assert tue[18, 1] == pytest.approx(2 / 7)  # midnight rolls to Wednesday
    with pytest.raises(ValueError, match="divide a day"):
        make_timestamps(10, 7)


def test_days_of_week_the_training_split_never_sees_are_named(tmp_path, caplog):
    # LOS-LOOP: one week of 5-minute steps from Thursday 2012-03-01; training ends early on Monday
    week = np.random.default_rng(0).random((2016, 3)) + 1
    write_dataset(week, None, tmp_path, "WEEK", step_minutes=5, start="2012-03-01")
    assert json.loads((tmp_path / "WEEK" / "meta.json").read_text())["days of week unseen in training"] == \
        ["Tuesday", "Wednesday"]
    assert "WEEK: validation or test hold Tuesday, Wednesday" in caplog.text
    caplog.clear()
    write_dataset(np.ones((24 * 21, 3)), None, tmp_path, "WEEKS", step_minutes=60, start="2012-03-01")
    assert json.loads((tmp_path / "WEEKS" / "meta.json").read_text())["days of week unseen in training"] == []
    assert "day-of-week" not in caplog.text


def test_layout_read_by_basicts(tmp_path):
    data = np.random.default_rng(0).random((500, 4))
    adj = np.eye(4)
    result = write_dataset(data, adj, tmp_path, "X", step_minutes=5)
    folder = tmp_path / "X"
    assert sum(np.load(folder / f"{s}_data.npy").shape[0] for s in ("train", "val", "test")) == 500
    assert np.load(folder / "train_data.npy").shape == (300, 4) == (split_lengths(500)[0], 4)
    assert np.load(folder / "val_timestamps.npy").dtype == np.float32
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["regular_settings"]["null_val"] == 0.0 and meta["num_vars"] == 4 and meta["has_graph"]
    with open(folder / "adj_mx.pkl", "rb") as f:
        assert pickle.load(f).shape == (4, 4)
    assert result.path == folder


def test_no_overwrite_without_force_and_no_half_written_folder(tmp_path):
    data = np.ones((200, 3))
    write_dataset(data, None, tmp_path, "X", step_minutes=5)
    with pytest.raises(FileExistsError, match="--force"):
        write_dataset(data, None, tmp_path, "X", step_minutes=5)
    write_dataset(2 * data, None, tmp_path, "X", step_minutes=5, force=True)
    assert np.load(tmp_path / "X" / "train_data.npy")[0, 0] == 2
    with pytest.raises(ValueError, match="same node count"):
        write_dataset(data, np.eye(5), tmp_path, "Y", step_minutes=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]
