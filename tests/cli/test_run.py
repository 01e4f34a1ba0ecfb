"""`stlora train / eval / predict`: a config file or a zoo model by name, trained and evaluated through BasicTS's
launcher, and forecasts written to a file."""
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch

from stlora_plugin.cli import main
from stlora_plugin.runtime import load_config_file

CONFIG = '''
from basicts.models.STID import STID, STIDConfig
from stlora_plugin.runtime import benchmark_config

CFG = benchmark_config(STID, STIDConfig(num_layers=1), {dataset!r}, num_epochs=1, ckpt_save_dir={ckpt!r})
'''


@pytest.mark.slow
def test_train_then_eval_a_config_file(tmp_path, synthetic_dataset, refused):
    config = tmp_path / "my_cfg.py"
    config.write_text(CONFIG.format(dataset=synthetic_dataset, ckpt=str(tmp_path / "ckpt")))
    assert main(["train", str(config)]) == 0
    checkpoint = next((tmp_path / "ckpt").glob("*/STID_best_val_MAE.pt"))
    config.write_text(CONFIG.format(dataset=synthetic_dataset, ckpt=str(tmp_path / "ckpt_eval")))
    assert main(["eval", str(config), str(checkpoint)]) == 0
    other = tmp_path / "other_cfg.py"  # another model's config: the checkpoint does not fit it
    other.write_text(CONFIG.replace("num_layers=1", "num_layers=2").format(dataset=synthetic_dataset,
                                                                          ckpt=str(tmp_path / "ckpt_other")))
    assert "does not fit STID" in refused(["eval", str(other), str(checkpoint)])


def test_eval_of_a_missing_checkpoint_and_gpus_without_cuda(tmp_path, refused):
    config = tmp_path / "cfg.py"
    config.write_text("CFG = None\n")
    assert "checkpoint not found" in refused(["eval", str(config), str(tmp_path / "none.pt")])
    if not torch.cuda.is_available():
        assert "sees no CUDA device" in refused(["train", str(config), "--gpus", "0"])


@pytest.mark.slow
def test_predict_writes_forecasts_whose_mae_is_the_runs_test_mae(tmp_path, synthetic_dataset, capsys):
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


def _class_in_a_spawned_process(model_cls) -> str:
    return model_cls.__qualname__


def test_a_class_defined_in_a_config_file_anywhere_is_found_by_spawned_workers(tmp_path, synthetic_dataset,
                                                                               monkeypatch):
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
