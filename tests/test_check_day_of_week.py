"""``scripts/check_day_of_week.py``: a trained run scored with the real day of week and with one fixed day."""
from __future__ import annotations

import runpy
import shutil
import sys
from pathlib import Path

import pytest

from stlora_plugin.leaderboard.sweep import Budget, RunKey, Sweep

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_day_of_week.py"
LSTM = {"embed_dim": 4, "hidden_size": 8, "num_layers": 1, "end_dim": 16}


def check(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
    runpy.run_path(str(SCRIPT), run_name="__main__")


@pytest.mark.slow
def test_the_day_of_week_check(synthetic_dataset, monkeypatch, tmp_path, capsys):
    shutil.copytree(synthetic_dataset, tmp_path / "datasets" / "TINY")
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path / "datasets"))
    monkeypatch.chdir(tmp_path)
    reading, blind = RunKey("TINY", "LSTM", 0, "plain"), RunKey("TINY", "LSTM", 1, "plain")
    Sweep("reads", Budget(num_epochs=1, backbone={**LSTM, "day_of_week": True})).run([reading])
    Sweep("blind", Budget(num_epochs=1, backbone=LSTM)).run([blind])  # TINY: the recipe reads no day of week
    capsys.readouterr()

    check(monkeypatch, "reads", "TINY", "LSTM", "plain", "0", "--day", "Monday")
    real, fixed = capsys.readouterr().out.splitlines()[-2:]
    assert real.startswith("TINY/LSTM/plain/seed0, real day of week: val MAE ")
    assert fixed.startswith("TINY/LSTM/plain/seed0, every day read as Monday: val MAE ")
    assert real.split(": ", 1)[1] != fixed.split(": ", 1)[1]  # the run reads the day: the scores move
    with pytest.raises(SystemExit, match=r"trained without the day of week \(day_of_week=False\)"):
        check(monkeypatch, "blind", "TINY", "LSTM", "plain", "1")
    with pytest.raises(SystemExit, match="GWNet does not read the day of week"):
        check(monkeypatch, "reads", "TINY", "GWNet", "plain", "0")
    with pytest.raises(SystemExit, match="the run is not trained yet"):
        check(monkeypatch, "reads", "TINY", "LSTM", "plain", "2")
