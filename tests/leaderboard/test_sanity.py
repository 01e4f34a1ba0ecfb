import json
import shutil

from stlora_plugin.leaderboard.sanity import run_sanity
from stlora_plugin.leaderboard.sweep import Budget


def test_sanity_against_historical_inertia(synthetic_dataset, tmp_path, monkeypatch):
    root = tmp_path / "datasets"
    shutil.copytree(synthetic_dataset, root / "TINY")
    monkeypatch.setenv("STLORA_DATASETS", str(root))
    monkeypatch.chdir(tmp_path)
    md = run_sanity("TINY", ["STID"], 0, Budget(num_epochs=2, batch_size=32), tmp_path / "out",
                    ckpt_root=tmp_path / "ckpt")
    result = json.loads((tmp_path / "out" / "sanity.json").read_text())
    assert result["HI"]["overall"]["MAE"] > 0 and [r["model"] for r in result["models"]] == ["STID"]
    assert "HI (last value)" in md.read_text()
