"""The comparison commands (leaderboard, ablate, ...): what reaches every run they train."""
import torch

from stlora_plugin.leaderboard.sweep import Budget, RunKey, Sweep


def test_comparison_commands_take_gpus_into_every_run(tmp_path, monkeypatch, refused):
    if not torch.cuda.is_available():  # refused before anything runs
        argv = ["leaderboard", "--datasets", "D", "--models", "STID", "--out", str(tmp_path / "o"), "--gpus", "0"]
        assert "sees no CUDA device" in refused(argv)
        # the tables of runs a GPU machine trained: nothing trains, so no GPU is asked for (here: there are no runs)
        assert "no finished runs" in refused(argv + ["--report-only"])
    monkeypatch.setattr("stlora_plugin.zoo.named_experiment", lambda *a, **kw: type("C", (), {**kw, "optimizer_params": {}}))
    cfg = Sweep(tmp_path, Budget(gpus="0,1")).config(RunKey("D", "STID", 0, "plain"))
    assert cfg.gpus == "0,1"
