import json
import subprocess
import sys
from pathlib import Path

import pytest

from stlora_plugin.cli import main


def test_data_prepare_and_list(tmp_path, capsys):
    assert main(["data", "prepare", "generic", "--help"][:3] + ["--out", str(tmp_path)]) == 2  # no raw path
    assert "stlora: error:" in capsys.readouterr().err
    assert main(["data", "prepare", "synthetic", "--out", str(tmp_path)]) == 0
    assert "SYNTH-ROAD" in capsys.readouterr().out
    assert main(["data", "list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTH-ROAD" in out and "8064" in out and "5min" in out


def test_user_errors_are_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stlora_plugin.cli", "data", "prepare", "pems", str(tmp_path / "x"),
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "raw path not found" in proc.stderr
    assert "Traceback" not in proc.stderr


CONFIG = '''
from basicts.models.STID import STID, STIDConfig
from stlora_plugin.runtime import benchmark_config

CFG = benchmark_config(STID, STIDConfig(num_layers=1), {dataset!r}, num_epochs=1, ckpt_save_dir={ckpt!r})
'''


@pytest.mark.slow
def test_train_then_eval_a_config_file(tmp_path, synthetic_dataset, capsys):
    config = tmp_path / "my_cfg.py"
    config.write_text(CONFIG.format(dataset=synthetic_dataset, ckpt=str(tmp_path / "ckpt")))
    assert main(["train", str(config)]) == 0
    checkpoint = next((tmp_path / "ckpt").glob("*/STID_best_val_MAE.pt"))
    config.write_text(CONFIG.format(dataset=synthetic_dataset, ckpt=str(tmp_path / "ckpt_eval")))
    assert main(["eval", str(config), str(checkpoint)]) == 0
    other = tmp_path / "other_cfg.py"  # another model's config: the checkpoint does not fit it
    other.write_text(CONFIG.replace("num_layers=1", "num_layers=2").format(dataset=synthetic_dataset,
                                                                          ckpt=str(tmp_path / "ckpt_other")))
    assert "does not fit STID" in _error(capsys, ["eval", str(other), str(checkpoint)])


def test_config_without_cfg_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    assert main(["train", str(bad)]) == 2
    assert "defines no CFG" in capsys.readouterr().err


def _error(capsys, argv) -> str:
    """Run ``stlora argv``: it must fail with exit 2 and one line on stderr; return that line."""
    with pytest.raises(SystemExit) as exit_info:  # argparse's own errors exit
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err.splitlines()[-1]


@pytest.mark.parametrize("argv, expected", [
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--seeds", "abc"],
     "expected comma-separated whole numbers"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--seeds", "0,0"], "repeated: [0]"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--epochs", "0"],
     "expected a positive whole number, got 0"),
    (["ablate", "--datasets", "D", "--models", "STID", "--out", "o", "--epochs", "-1"],
     "expected a positive whole number, got -1"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--batch-size", "0"],
     "expected a positive whole number, got 0"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--stlora", "bogus=3"],
     "--stlora bogus: unknown setting"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--stlora", "rank=0"],
     "--stlora: stlora_rank=0 is not allowed"),
    (["train"], "give either a config file or --model NAME --dataset NAME"),
    (["train", "cfg.py", "--model", "STID"], "give either a config file or --model NAME --dataset NAME"),
    (["train", "--model", "STID"], "--model needs --dataset NAME"),
    (["train", "cfg.py", "--epochs", "3"], "--epochs only go with --model"),
    (["train", "--model", "STID", "--dataset", "D", "--stlora", "rank=0"], "--stlora: stlora_rank=0 is not allowed"),
    (["train", "--model", "STID", "--dataset", "D", "--patience", "0"], "expected a positive whole number, got 0"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--patience", "0"],
     "expected a positive whole number, got 0"),
    (["data", "prepare", "generic", "x.npy", "--step-minutes", "0"], "expected a positive whole number, got 0"),
    (["data", "prepare", "generic", "x.npy", "--step-minutes", "-15"], "expected a positive whole number, got -15"),
])
def test_bad_options_are_refused_before_anything_runs(capsys, tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)  # nothing may be written here
    assert expected in _error(capsys, argv)
    assert list(tmp_path.iterdir()) == []


def test_a_config_with_a_syntax_error_is_one_line_naming_the_place(tmp_path, capsys):
    config = tmp_path / "broken.py"
    config.write_text("CFG = (\n")
    assert f"{config}:1: syntax error" in _error(capsys, ["train", str(config)])


def test_a_programming_error_in_a_config_keeps_its_traceback(tmp_path):
    config = tmp_path / "keyerror.py"
    config.write_text("settings = {}\nCFG = settings['num_epochs']\n")
    proc = subprocess.run([sys.executable, "-m", "stlora_plugin.cli", "train", str(config)], capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "keyerror.py" in proc.stderr


def test_debug_shows_the_traceback_of_a_user_mistake(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stlora_plugin.cli", "--debug", "data", "prepare", "pems",
                           str(tmp_path / "x")], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "raw path not found" in proc.stderr


def test_eval_of_a_missing_checkpoint_and_gpus_without_cuda(tmp_path, capsys):
    config = tmp_path / "cfg.py"
    config.write_text("CFG = None\n")
    assert "checkpoint not found" in _error(capsys, ["eval", str(config), str(tmp_path / "none.pt")])
    import torch

    if not torch.cuda.is_available():
        assert "sees no CUDA device" in _error(capsys, ["train", str(config), "--gpus", "0"])


def test_data_prepare_writes_under_stlora_datasets(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    assert main(["data", "prepare", "synthetic"]) == 0
    folder = tmp_path / "store" / "SYNTH-ROAD"
    assert (folder / "meta.json").is_file() and not (tmp_path / "datasets").exists()
    assert folder.stat().st_mode & 0o055 == 0o055  # readable by others, not mode 700


@pytest.mark.slow
def test_predict_writes_forecasts_whose_mae_is_the_runs_test_mae(tmp_path, synthetic_dataset, capsys):
    import json

    import numpy as np

    config = tmp_path / "cfg.py"
    config.write_text(CONFIG.format(dataset=synthetic_dataset, ckpt=str(tmp_path / "ckpt")))
    assert main(["train", str(config)]) == 0
    run_dir = next((tmp_path / "ckpt").glob("*/STID_best_val_MAE.pt")).parent
    assert main(["predict", str(config), str(run_dir / "STID_best_val_MAE.pt"), "--out", str(tmp_path / "f.npz")]) == 0
    with np.load(tmp_path / "f.npz", allow_pickle=False) as f:
        prediction, target, steps = f["prediction"], f["target"], f["target_start_step"]
        assert prediction.shape == target.shape and prediction.shape[1:] == (12, int(f["num_nodes"]))
        assert np.all(np.diff(steps) == 1)
        start = json.loads((Path(synthetic_dataset) / "meta.json").read_text())["start"]
        assert ("target_start_time" in f.files) == bool(start)  # times where the data knows its start
    valid = target != 0.0
    metrics = json.loads(next(run_dir.glob("test_metrics.json")).read_text())
    np.testing.assert_allclose(np.abs(prediction - target)[valid].mean(), metrics["overall"]["MAE"], rtol=1e-4)
    assert "masked MAE" in capsys.readouterr().out


def test_comparison_commands_take_gpus_into_every_run(tmp_path, monkeypatch, capsys):
    import torch

    from stlora_plugin.leaderboard.sweep import Budget, RunKey, Sweep

    if not torch.cuda.is_available():  # refused before anything runs
        argv = ["leaderboard", "--datasets", "D", "--models", "STID", "--out", str(tmp_path / "o"), "--gpus", "0"]
        assert "sees no CUDA device" in _error(capsys, argv)
        # the tables of runs a GPU machine trained: nothing trains, so no GPU is asked for (here: there are no runs)
        assert "no finished runs" in _error(capsys, argv + ["--report-only"])
    monkeypatch.setattr("stlora_plugin.zoo.named_experiment", lambda *a, **kw: type("C", (), {**kw, "optimizer_params": {}}))
    cfg = Sweep(tmp_path, Budget(gpus="0,1")).config(RunKey("D", "STID", 0, "plain"))
    assert cfg.gpus == "0,1"


def _class_in_a_spawned_process(model_cls) -> str:
    return model_cls.__qualname__


def test_a_class_defined_in_a_config_file_anywhere_is_found_by_spawned_workers(tmp_path, synthetic_dataset,
                                                                               monkeypatch):
    import multiprocessing

    from stlora_plugin.runtime import load_config_file

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "my_lora_cfg.py").write_text(
        "from basicts.models.STID import STID\nfrom stlora_plugin import st_lora\n"
        "from stlora_plugin.runtime import benchmark_config\n\nMySTID = st_lora(STID, name='MySTID')\n"
        f"CFG = benchmark_config(MySTID, MySTID.Config(), {synthetic_dataset!r}, num_epochs=1,"
        f" ckpt_save_dir={str(tmp_path / 'ckpt')!r})\n")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")  # the file is not below the working directory
    cfg = load_config_file(outside / "my_lora_cfg.py")
    assert cfg.model.__module__ == "my_lora_cfg"
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # as DDP workers start: unpickle the class
        assert pool.apply(_class_in_a_spawned_process, (cfg.model,)) == "MySTID"


@pytest.mark.slow
def test_train_a_zoo_model_by_name(tmp_path, synthetic_dataset, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", "STID", "--dataset", synthetic_dataset, "--stlora", "rank=2", "--epochs", "1",
                 "--seed", "3"]) == 0
    where = capsys.readouterr().out.splitlines()[0]
    assert where.startswith("training STIDSTLoRA on ") and "checkpoints/STIDSTLoRA/" in where
    run_dir = Path(where.rsplit(" go to ", 1)[1])
    assert (tmp_path / run_dir / "test_metrics.json").is_file()
    cfg = json.loads((tmp_path / run_dir / "cfg.json").read_text())
    assert cfg["seed"] == 3 and cfg["num_epochs"] == 1
