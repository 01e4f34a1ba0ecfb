import subprocess
import sys

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


def test_train_then_eval_a_config_file(tmp_path, synthetic_dataset, capsys):
    config = tmp_path / "my_cfg.py"
    config.write_text(CONFIG.format(dataset=synthetic_dataset, ckpt=str(tmp_path / "ckpt")))
    assert main(["train", str(config)]) == 0
    checkpoint = next((tmp_path / "ckpt").glob("*/STID_best_val_MAE.pt"))
    config.write_text(CONFIG.format(dataset=synthetic_dataset, ckpt=str(tmp_path / "ckpt_eval")))
    assert main(["eval", str(config), str(checkpoint)]) == 0


def test_config_without_cfg_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    assert main(["train", str(bad)]) == 2
    assert "defines no CFG" in capsys.readouterr().err
