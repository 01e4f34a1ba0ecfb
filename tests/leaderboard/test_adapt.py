"""Splits by date and the adaptation study (none / adapters / fine-tuning / scratch) through BasicTSLauncher."""
import json

import numpy as np
import pytest

from stlora_plugin.data import generate_synthetic, period_dataset, step_times, write_dataset
from stlora_plugin.leaderboard.adapt import ARMS, adaptation_periods, run_adaptation
from stlora_plugin.leaderboard.sweep import Budget


@pytest.fixture
def dated(tmp_path, monkeypatch):
    """A 4-week, 12-node, 5-minute dataset that starts on Monday 2024-01-01, under $STLORA_DATASETS."""
    data, adj = generate_synthetic(num_nodes=12, num_days=28, seed=0)
    write_dataset(data, adj, tmp_path, "DATED", step_minutes=5, start="2024-01-01")
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))
    return tmp_path / "DATED"


def test_period_dataset_cuts_splits_by_date(dated):
    folder = period_dataset(dated, train=("2024-01-08", "2024-01-15"), val=("2024-01-15", "2024-01-17"),
                            test=("2024-01-22", "2024-01-29"))
    whole = np.concatenate([np.load(dated / f"{s}_data.npy") for s in ("train", "val", "test")])
    times = step_times(dated)
    for split, (a, b) in {"train": ("2024-01-08", "2024-01-15"), "val": ("2024-01-15", "2024-01-17"),
                          "test": ("2024-01-22", "2024-01-29")}.items():
        keep = (times >= np.datetime64(a)) & (times < np.datetime64(b))
        np.testing.assert_array_equal(np.load(folder / f"{split}_data.npy"), whole[keep])
    assert len(np.load(folder / "train_data.npy")) == 7 * 288
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["derived_from"] == "DATED" and meta["start"] is None and meta["periods"]["test"][0] == "2024-01-22"
    assert period_dataset(dated, train=("2024-01-08", "2024-01-15"), val=("2024-01-15", "2024-01-17"),
                          test=("2024-01-22", "2024-01-29")) == folder  # reused


@pytest.mark.parametrize("periods, match", [
    (dict(train=("2024-01-08", "2024-01-15"), val=("2024-01-14", "2024-01-16"), test=("2024-01-22", "2024-01-29")),
     "in order"),
    (dict(train=("2023-12-01", "2024-01-15"), val=("2024-01-15", "2024-01-16"), test=("2024-01-22", "2024-01-29")),
     "outside DATED"),
    (dict(train=("2024-01-08", "2024-01-08"), val=("2024-01-15", "2024-01-16"), test=("2024-01-22", "2024-01-29")),
     "is empty"),
])
def test_bad_periods_are_named(dated, periods, match):
    with pytest.raises(ValueError, match=match):
        period_dataset(dated, **periods)


def test_every_k_is_tested_on_the_same_later_weeks(dated):
    periods = adaptation_periods(str(dated), "2024-01-01", [1, 2], val_weeks=1, test_weeks=1)
    assert periods[1]["train"] == ("2024-01-01T00:00", "2024-01-08T00:00")
    assert periods[1]["val"] == ("2024-01-08T00:00", "2024-01-15T00:00")
    assert periods[2]["val"] == ("2024-01-15T00:00", "2024-01-22T00:00")
    assert periods[1]["test"] == periods[2]["test"] == ("2024-01-22T00:00", "2024-01-29T00:00")
    with pytest.raises(ValueError, match="end after .*DATED's last step"):
        adaptation_periods(str(dated), "2024-01-01", [1, 2], val_weeks=1, test_weeks=2)
    for weeks in ([0, 1], [1, 1], []):
        with pytest.raises(ValueError, match="distinct positive numbers of weeks"):
            adaptation_periods(str(dated), "2024-01-01", weeks)
    with pytest.raises(ValueError, match="expected a date or time"):
        adaptation_periods(str(dated), "March 2024", [1])


@pytest.mark.slow
def test_adaptation_study_end_to_end(dated, tmp_path):
    files = run_adaptation("STID", "DATED", "DATED", "2024-01-01", [1, 2], [0],
                           Budget(num_epochs=2, batch_size=64, patience=1), tmp_path / "out", test_weeks=1)
    report = json.loads(files[1].read_text())
    by_arm = {(s["weeks"], s["arm"]): s for s in report["summary"]}
    assert set(by_arm) == {(k, arm) for k in (1, 2) for arm in ARMS}
    full = by_arm[(1, "finetune")]["trainable"]
    assert by_arm[(1, "none")]["trainable"] == 0 < by_arm[(1, "adapters")]["trainable"] < full
    assert full == by_arm[(1, "scratch")]["trainable"]
    assert all(np.isfinite(s["mae_mean"]) and s["mae_mean"] > 0 for s in report["summary"])
    assert by_arm[(1, "none")]["mae_mean"] == pytest.approx(by_arm[(2, "none")]["mae_mean"])  # same test weeks
    assert files[0].read_text().startswith("# Adaptation to a changed regime") and files[2].stat().st_size > 0
    assert [f.name for f in files[3:]] == ["val_mae_weeks1.png", "val_mae_weeks2.png"]
    assert "| 1 | scratch |" in files[0].read_text() and "– (the reference)" in files[0].read_text()

    # --report-only: the same report from the stored records, nothing trained; without the stored `none` arm it
    # says what is missing
    again = run_adaptation("STID", "DATED", "DATED", "2024-01-01", [1, 2], [0],
                           Budget(num_epochs=2, batch_size=64, patience=1), tmp_path / "out", test_weeks=1,
                           train=False)
    assert json.loads(again[1].read_text())["summary"] == report["summary"]
    files[1].unlink()
    with pytest.raises(ValueError, match=r"K=1, seed 0: no finished none run"):
        run_adaptation("STID", "DATED", "DATED", "2024-01-01", [1, 2], [0],
                       Budget(num_epochs=2, batch_size=64, patience=1), tmp_path / "out", test_weeks=1, train=False)
