import json

import pytest

from stlora_plugin.runtime import find_run_dir, format_metrics, read_test_metrics, read_training_log


def _fake_run(folder):
    run = folder / "0123abcd"
    run.mkdir(parents=True)
    (run / "cfg.json").write_text("{}")
    metrics = {"overall": {"MAE": 2.0, "RMSE": 3.0, "MAPE": 0.1}}
    metrics.update({f"horizon_{h}": {"MAE": h / 3, "RMSE": h / 2, "MAPE": 0.01 * h} for h in (3, 6, 12)})
    (run / "test_metrics.json").write_text(json.dumps(metrics))
    (run / "training_log_1.log").write_text(
        "x - INFO - Result <train>: [train/time: 0.50 (s), train/loss: 0.9000, train/MAE: 3.0]\n"
        "x - INFO - Result <val>: [val/time: 0.10 (s), val/loss: 0.8, val/MAE: 2.5]\n"
        "x - INFO - Result <train>: [train/time: 0.40 (s), train/loss: 0.7000, train/MAE: 2.0]\n")
    return run


def test_read_from_experiment_or_run_folder(tmp_path):
    run = _fake_run(tmp_path)
    assert find_run_dir(tmp_path) == run
    record = read_test_metrics(tmp_path)
    assert record == read_test_metrics(run)
    assert set(record) == {"overall", "horizon_3", "horizon_6", "horizon_12"} and record["overall"]["MAE"] == 2.0
    log = read_training_log(run)
    assert log["train/loss"] == [0.9, 0.7] and log["train/time"] == [0.5, 0.4] and log["val/MAE"] == [2.5]
    table = format_metrics(record)
    assert "horizon 12" in table and "10.00%" in table


def test_unfinished_run_is_reported(tmp_path):
    run = _fake_run(tmp_path)
    (run / "test_metrics.json").unlink()
    with pytest.raises(FileNotFoundError, match="did not finish"):
        read_test_metrics(run)
    with pytest.raises(FileNotFoundError, match="no BasicTS run"):
        find_run_dir(tmp_path / "empty")
