import json

import pytest

from stlora_plugin.runtime import (find_run_dir, format_metrics, last_checkpoint_epoch, read_test_metrics,
                                   read_training_log)


def _fake_run(folder):
    run = folder / "0123abcd"
    run.mkdir(parents=True)
    (run / "cfg.json").write_text("{}")
    metrics = {"overall": {"MAE": 2.0, "RMSE": 3.0, "MAPE": 0.1}}
    metrics.update({f"horizon_{h}": {"MAE": h / 3, "RMSE": h / 2, "MAPE": 0.01 * h} for h in (3, 6, 12)})
    (run / "test_metrics.json").write_text(json.dumps(metrics))
    (run / "training_log_1.log").write_text(
        "x - INFO - Epoch 1 / 2\n"
        "x - INFO - Result <train>: [train/time: 0.50 (s), train/loss: 0.9000, train/MAE: 3.0]\n"
        "x - INFO - Result <val>: [val/time: 0.10 (s), val/loss: 0.8, val/MAE: 2.5]\n"
        "x - INFO - Epoch 2 / 2\n"
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


def test_a_resumed_run_reads_as_one_run(tmp_path):
    """One log per launch: epochs in order, and an epoch cut short by the interruption counts once, as retrained."""
    run = _fake_run(tmp_path)  # epoch 2 of the first launch: trained, interrupted before its validation
    (run / "training_log_2.log").write_text(
        "x - INFO - Resume training\n"
        "x - INFO - Epoch 2 / 3\n"
        "x - INFO - Result <train>: [train/time: 0.45 (s), train/loss: 0.6000, train/MAE: 1.9]\n"
        "x - INFO - Result <val>: [val/time: 0.10 (s), val/loss: 0.5, val/MAE: 1.5]\n"
        "x - INFO - Epoch 3 / 3\n"
        "x - INFO - Result <train>: [train/time: 0.30 (s), train/loss: 0.5000, train/MAE: 1.8]\n"
        "x - INFO - Result <val>: [val/time: 0.10 (s), val/loss: 0.4, val/MAE: 1.4]\n")
    log = read_training_log(run)
    assert log["train/loss"] == [0.9, 0.6, 0.5] and log["val/MAE"] == [2.5, 1.5, 1.4]
    assert log["train/time"] == [0.5, 0.45, 0.3]


def test_last_checkpoint_epoch_finds_where_an_unfinished_run_stopped(tmp_path):
    run = _fake_run(tmp_path)
    for name in ("STID_001.pt.bak", "STID_002.pt", "STID_best_val_MAE.pt"):
        (run / name).write_bytes(b"")
    assert last_checkpoint_epoch(run) == 0  # tested: finished, nothing to continue
    (run / "test_metrics.json").unlink()
    assert last_checkpoint_epoch(run) == 2
    (run / "STID_002.pt").unlink()
    assert last_checkpoint_epoch(run) == 0  # only the best checkpoint: no epoch to continue from
    assert last_checkpoint_epoch(tmp_path / "absent") == 0
