"""`stlora data`: prepare a dataset into the store and list what the store holds."""
from pathlib import Path

from stlora_plugin.cli import main


def test_data_prepare_and_list(tmp_path, capsys, refused):
    assert "stlora: error:" in refused(["data", "prepare", "generic", "--out", str(tmp_path)])  # no raw path
    assert main(["data", "prepare", "synthetic", "--out", str(tmp_path)]) == 0
    assert "SYNTH-ROAD" in capsys.readouterr().out
    assert main(["data", "list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTH-ROAD" in out and "8064" in out and "5min" in out
    assert out.splitlines()[1].endswith("yes    -")  # four weeks: every scored day of week is also trained


def test_data_list_names_the_days_of_week_training_never_holds(synthetic_dataset, capsys):
    assert main(["data", "list", "--root", str(Path(synthetic_dataset).parent)]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("yes    Thursday")  # 4 days from a Monday


def test_data_prepare_writes_under_stlora_datasets(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    assert main(["data", "prepare", "synthetic"]) == 0
    folder = tmp_path / "store" / "SYNTH-ROAD"
    assert (folder / "meta.json").is_file() and not (tmp_path / "datasets").exists()
    assert folder.stat().st_mode & 0o055 == 0o055  # readable by others, not mode 700
