"""A small comparison end to end through BasicTSLauncher: resumable runs, tables, plots, sensitivity."""
import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from stlora_plugin.leaderboard.compare import run_leaderboard, run_sensitivity
from stlora_plugin.leaderboard.sweep import (Budget, RunKey, Sweep, checkpoint_root, finished_seeds, plan,
                                             recorded_settings, run_settings, settings_changes)


@pytest.fixture
def datasets_env(synthetic_dataset, monkeypatch, tmp_path):
    root = tmp_path / "datasets"
    shutil.copytree(synthetic_dataset, root / "TINY")
    monkeypatch.setenv("STLORA_DATASETS", str(root))
    monkeypatch.chdir(tmp_path)
    return root


def test_plan_goes_seed_by_seed_with_plain_first():
    keys = plan(["D"], ["STID"], [0, 1], ["freeze", "stlora", "plain"])
    assert [(k.variant, k.seed) for k in keys] == [("plain", 0), ("freeze", 0), ("stlora", 0),
                                                   ("plain", 1), ("freeze", 1), ("stlora", 1)]
    with pytest.raises(ValueError, match="this sweep has plain, stlora, freeze"):
        Sweep("x", Budget()).config(RunKey("D", "STID", 0, "lora"))
    with pytest.raises(ValueError, match="unknown kinds"):
        Sweep("x", Budget(), arms={"a": ("ensemble", {})})


def test_each_output_folder_has_its_own_checkpoints(datasets_env, tmp_path):
    a, b = Sweep(tmp_path / "a" / "results", Budget()), Sweep(tmp_path / "b" / "results", Budget())
    assert a.ckpt_root != b.ckpt_root and a.ckpt_root.parts[0] == "checkpoints"
    assert a.ckpt_root == checkpoint_root(tmp_path / "a" / "results")  # the same folder finds its runs again
    key = RunKey("TINY", "STID", 0, "plain")
    assert str(a.config(key).ckpt_save_dir).startswith(str(a.ckpt_root))
    (b.ckpt_root / key.slug).mkdir(parents=True)  # b's finished run, on disk
    with pytest.raises(FileNotFoundError, match="TINY/STID/plain/seed0: the run is not trained yet"):
        a.config(RunKey("TINY", "STID", 0, "freeze"))  # freeze never takes b's backbone


def test_a_recorded_run_whose_checkpoints_are_gone_says_so(tmp_path):
    sweep = Sweep(tmp_path / "results", Budget())
    sweep._append(_record(0))  # a fresh clone: the record came with git, the checkpoints did not
    with pytest.raises(FileNotFoundError, match=r"D/STID/plain/seed0: its record is in .*runs.jsonl, but its "
                                                r"checkpoints under .* are gone .*remove that record"):
        sweep.best_checkpoint(RunKey("D", "STID", 0, "plain"))


def _record(seed: int) -> dict:
    return {"dataset": "D", "model": "STID", "seed": seed, "variant": "plain", "metrics": {}, "val_mae": []}


def test_a_torn_last_record_is_skipped_with_file_and_line(tmp_path, caplog):
    lines = [json.dumps(_record(0)), json.dumps(_record(1))[:25]]  # a write cut short by a crash
    (tmp_path / "runs.jsonl").write_text("\n".join(lines) + "\n")
    assert [r["seed"] for r in Sweep(tmp_path, Budget()).records()] == [0]
    assert f"{tmp_path / 'runs.jsonl'}:2: skipped a torn last record" in caplog.text


@pytest.mark.parametrize("bad, match", [("{not json", r":1: not a run record"),
                                        ('{"sec_per_epoch": null}', r":1: not a run record of this package")])
def test_a_broken_or_foreign_record_names_the_file_and_line(tmp_path, bad, match):
    (tmp_path / "runs.jsonl").write_text(bad + "\n" + json.dumps(_record(0)) + "\n")
    with pytest.raises(ValueError, match=match):
        Sweep(tmp_path, Budget()).records()


def _fake_training(sweep, monkeypatch, trained, when=None):
    """run_one replaced by a record of what was trained, and when (the claims are what is tested, not BasicTS)."""
    import time

    def run_one(key):
        trained.append(key)
        if when is not None:
            when.append(time.monotonic())
        sweep._append({**dataclasses.asdict(key), "metrics": {}, "val_mae": []})
    monkeypatch.setattr(sweep, "run_one", run_one)


def test_sweeps_sharing_a_folder_split_its_runs(tmp_path, monkeypatch, caplog):
    import fcntl

    sweep, trained = Sweep(tmp_path / "out", Budget(), ckpt_root=tmp_path / "ckpt"), []
    _fake_training(sweep, monkeypatch, trained)
    first, second = RunKey("D", "STID", 0, "plain"), RunKey("D", "STID", 1, "plain")
    with sweep.claim(first) as mine:
        assert mine
        lock = tmp_path / "ckpt" / ".claims" / "D__STID__plain__seed0.lock"
        with open(lock) as other:  # the claim is an exclusive lock another process cannot take
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        sweep.run([first, second])  # another sweep holds the first run: this one trains the second only
    assert trained == [second]
    assert "1 runs are being trained by another sweep" in caplog.text and first.slug in caplog.text
    sweep.run([first, second])  # released (or its process ended): the first run is free to train
    assert trained == [second, first] and sweep.done() == {first, second}
    sweep.run([first, second])  # nothing trained twice
    assert len(trained) == 2 and len(sweep.records()) == 2


def test_a_freeze_run_waits_for_its_plain_run_in_another_sweep(tmp_path, monkeypatch):
    import threading
    import time

    sweep, trained, when = Sweep(tmp_path / "out", Budget(), ckpt_root=tmp_path / "ckpt"), [], []
    _fake_training(sweep, monkeypatch, trained, when)
    plain, freeze = RunKey("D", "STID", 0, "plain"), RunKey("D", "STID", 0, "freeze")
    claimed, finished = threading.Event(), []

    def other_sweep():  # trains the plain run, then records it
        with sweep.claim(plain):
            claimed.set()
            time.sleep(0.3)
            finished.append(time.monotonic())
            sweep._append({**dataclasses.asdict(plain), "metrics": {}, "val_mae": []})

    thread = threading.Thread(target=other_sweep)
    thread.start()
    claimed.wait()
    sweep.run([plain, freeze])
    thread.join()
    assert trained == [freeze]  # the plain run was left to the other sweep
    assert when[0] >= finished[0]  # and the freeze run started once it had finished


@pytest.mark.slow
def test_leaderboard_end_to_end_and_resume(datasets_env, tmp_path):
    out = tmp_path / "results"
    budget = Budget(num_epochs=1, batch_size=64)
    files = run_leaderboard(["TINY"], ["STID"], [0, 1], budget, out, ("plain", "stlora", "freeze"),
                            ckpt_root=tmp_path / "ckpt")
    names = {f.name for f in files}
    assert {"leaderboard.md", "leaderboard_freeze.md", "mae_by_horizon_TINY.png", "params_vs_mae.png",
            "node_change_TINY_STID.png"} <= names
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(records) == 6
    freeze = [r for r in records if r["variant"] == "freeze"][0]
    assert freeze["params"]["trainable"] == freeze["params"]["adapter"] > 0
    assert len(records[0]["per_node_mae"]) == 12 and records[0]["sec_per_epoch"] > 0
    table = (out / "leaderboard.md").read_text()
    assert "Budget: 1 epochs" in table and "Seeds: 0, 1  \n" in table
    run_leaderboard(["TINY"], ["STID"], [0, 1, 2], budget, out, ("plain", "stlora", "freeze"),
                    ckpt_root=tmp_path / "ckpt", train=False)  # the tables of a comparison still training
    assert "Seeds: 0, 1, 2 (finished so far: 0, 1)" in (out / "leaderboard.md").read_text()

    # a second sweep finds every run on disk; a leftover folder without a checkpoint to continue is cleared
    sweep = Sweep(out, budget, ckpt_root=tmp_path / "ckpt")
    keys = plan(["TINY"], ["STID"], [0, 1], ["plain", "stlora", "freeze"])
    assert sweep.done() == set(keys)
    lines = (out / "runs.jsonl").read_text().splitlines()
    (out / "runs.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    partial = tmp_path / "ckpt" / keys[-1].slug / "stale"
    partial.mkdir(parents=True)
    sweep.run(keys)
    assert len(sweep.records()) == 6 and not partial.exists()

    # runs are reused only under the settings they were trained with
    stlora = next(r for r in sweep.records() if r["variant"] == "stlora")
    assert stlora["settings"]["stlora_rank"] == 4
    changed = Sweep(out, Budget(num_epochs=1, batch_size=64, stlora={"stlora_rank": 2}), ckpt_root=tmp_path / "ckpt")
    with pytest.raises(ValueError, match=r"(?s)4 runs recorded.*seed0: stlora_rank 4 -> 2.*--stlora KEY=VALUE"):
        changed.run(keys)
    legacy = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    for r in legacy:
        r.pop("settings")
    (out / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in legacy))
    assert len(changed.run(keys)) == 6  # records older than settings: reused, with a warning


@pytest.mark.slow
def test_an_interrupted_run_continues_from_its_last_epoch(datasets_env, tmp_path, monkeypatch):
    import time

    from basicts.runners import BasicTSRunner

    save = BasicTSRunner._save_model

    def save_then_crash(runner, epoch):  # the machine goes away right after epoch 2 is saved
        save(runner, epoch)
        if epoch == 2:
            raise RuntimeError("interrupted")

    sweep = Sweep(tmp_path / "out", Budget(num_epochs=4, batch_size=64, patience=3), ckpt_root=tmp_path / "ckpt")
    key = RunKey("TINY", "STID", 0, "plain")
    monkeypatch.setattr(BasicTSRunner, "_save_model", save_then_crash)
    with pytest.raises(RuntimeError, match="interrupted"):
        sweep.run([key])
    monkeypatch.setattr(BasicTSRunner, "_save_model", save)
    time.sleep(1.1)  # BasicTS names each launch's log by the second
    record = sweep.run([key])[0]
    assert record["resumed_from_epoch"] == 2
    assert record["epochs_trained"] == len(record["train_loss"]) == len(record["val_mae"]) == 4
    run_dir = tmp_path / "ckpt" / key.slug
    logs = sorted(run_dir.glob("*/training_log_*.log"))
    assert len(logs) == 2 and "Resume training" in logs[1].read_text() and "Epoch 3 / 4" in logs[1].read_text()
    assert "Epoch 1 / 4" not in logs[1].read_text()  # epochs 1 and 2 were not trained again
    assert record["metrics"]["overall"]["MAE"] > 0


def _fake_finished_run(sweep: Sweep, key: RunKey, **changes) -> None:
    """A recorded run with its checkpoint folder, as ``Sweep.run_one`` leaves it (no training)."""
    run_dir = sweep.ckpt_root / key.slug / "0123abcd"
    run_dir.mkdir(parents=True)
    (run_dir / f"{key.model}_best_val_MAE.pt").write_bytes(b"weights")
    record = {**dataclasses.asdict(key), "budget": dataclasses.asdict(sweep.budget), "val_mae": [1.0],
              "metrics": {"overall": {"MAE": 1.0}}, "settings": run_settings(sweep.config(key, resume=True)),
              "run_dir": str(run_dir)}
    sweep.records_path.parent.mkdir(parents=True, exist_ok=True)
    with open(sweep.records_path, "a") as f:
        f.write(json.dumps({**record, **changes}) + "\n")


def test_identical_runs_of_another_folder_are_copied_instead_of_trained(datasets_env, tmp_path):
    board = Sweep(tmp_path / "board", Budget(num_epochs=3))
    same = plan(["TINY"], ["STID"], [0], ["plain", "stlora"])
    other_settings = RunKey("TINY", "STID", 1, "plain")
    for key in same:
        _fake_finished_run(board, key)
    _fake_finished_run(board, other_settings, settings={"stlora_rank": 99})
    ablation = Sweep(tmp_path / "ablation" / "runs", Budget(num_epochs=3))
    assert ablation.copy_runs(tmp_path / "board", [*same, other_settings]) == same
    for record in ablation.records():
        assert record["reused_from"] == str(tmp_path / "board")
        assert (Path(record["run_dir"]) / "STID_best_val_MAE.pt").read_bytes() == b"weights"
        assert Path(record["run_dir"]).is_relative_to(ablation.ckpt_root)
    assert ablation.copy_runs(tmp_path / "board", same) == []  # recorded here now
    longer = Sweep(tmp_path / "longer", Budget(num_epochs=4))
    assert longer.copy_runs(tmp_path / "board", same) == []  # another budget is another run
    with pytest.raises(FileNotFoundError, match="not a comparison folder"):
        longer.copy_runs(tmp_path / "nothing", same)


def test_run_settings_leave_out_machine_paths(datasets_env):
    cfg = Sweep("x", Budget()).config(RunKey("TINY", "STGCN", 0, "stlora"))
    assert os.path.isabs(cfg.model_config.dataset)  # STGCN reads its graph from the dataset folder
    settings = run_settings(cfg)
    assert "dataset" not in settings and settings["num_nodes"] == 12 and settings["stlora_core"] == "full"
    assert settings["optimizer_params"] == {"lr": 4e-4, "weight_decay": 3e-4}  # STGCN's published recipe
    json.dumps(settings)


def test_a_setting_added_later_reads_as_the_value_earlier_runs_trained_with(datasets_env):
    now = run_settings(Sweep("x", Budget()).config(RunKey("TINY", "LSTM", 0, "plain")))
    assert now["day_of_week"] is False  # TINY's test days include a day training never holds
    before = {k: v for k, v in now.items() if k != "day_of_week"}  # a record written before the setting existed
    assert settings_changes(before, now) == {"day_of_week": (True, False)}  # those runs read the day of week
    assert settings_changes(before, {**now, "day_of_week": True}) == {}
    assert settings_changes({**now, "hidden_size": 1}, now) == {"hidden_size": (1, now["hidden_size"])}
    assert recorded_settings(before, now)["day_of_week"] is True
    assert "day_of_week" not in recorded_settings(before, before)  # nor given to a model without the setting


def test_a_seed_is_finished_when_every_run_of_it_is_recorded():
    keys = plan(["TINY"], ["STID"], [0, 1, 2], ["plain", "stlora"])
    records = [dataclasses.asdict(k) for k in keys if k != RunKey("TINY", "STID", 1, "stlora")]
    assert finished_seeds(keys, records) == [0, 2]
    assert finished_seeds(keys, []) == [] and finished_seeds(keys[:2], records) == [0]


def test_an_arm_can_change_optimizer_options(datasets_env):
    sweep = Sweep("x", Budget(), arms={"fast_cores": ("stlora", {"optimizer_params": {"node_lr_scale": 10.0},
                                                                  "stlora_rank": 2})})
    cfg = sweep.config(RunKey("TINY", "STID", 0, "fast_cores"))
    assert cfg.optimizer_params["node_lr_scale"] == 10.0 and cfg.optimizer_params["lr"] > 0
    assert cfg.model_config.stlora_rank == 2
    assert "node_lr_scale" not in sweep.config(RunKey("TINY", "STID", 0, "stlora")).optimizer_params


@pytest.mark.slow
def test_sensitivity_trains_the_plain_backbone_once(datasets_env, tmp_path):
    files = run_sensitivity("TINY", "STID", "rank", [1, 2], [0], Budget(num_epochs=1, batch_size=64),
                            tmp_path / "sens", ckpt_root=tmp_path / "ckpt")
    assert [f.name for f in files] == ["sensitivity_rank.md", "sensitivity_rank.json", "sensitivity_rank.png"]
    rows = json.loads(files[1].read_text())
    assert [r["value"] for r in rows] == [1, 2] and rows[0]["adapter_params"] < rows[1]["adapter_params"]
    assert len((tmp_path / "sens" / "runs" / "plain" / "runs.jsonl").read_text().splitlines()) == 1


@pytest.mark.slow
def test_patience_stops_a_run_that_stopped_improving_and_tests_its_best_epoch(datasets_env, tmp_path):
    frozen = {"flat": ("plain", {"optimizer_params": {"lr": 0.0}})}  # nothing learns: validation never improves
    sweep = Sweep(tmp_path / "out", Budget(num_epochs=6, batch_size=64, patience=2), ckpt_root=tmp_path / "ckpt",
                  arms=frozen)
    flat, learning = sweep.run([RunKey("TINY", "STID", 0, "flat"), RunKey("TINY", "STID", 0, "plain")])
    assert flat["epochs_trained"] == len(flat["val_mae"]) == 3  # epoch 1, then two without a better MAE
    assert learning["epochs_trained"] == len(learning["val_mae"]) <= 6
    assert flat["budget"]["patience"] == 2
    best = min(range(len(flat["val_mae"])), key=flat["val_mae"].__getitem__)
    assert best == 0 and flat["metrics"]["overall"]["MAE"] > 0
