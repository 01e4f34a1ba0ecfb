import json
import shutil

import pytest

from stlora_plugin.leaderboard.sanity import run_sanity
from stlora_plugin.leaderboard.sweep import Budget


@pytest.mark.slow
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
    row = result["models"][0]
    assert row["trainable"] == row["params"] > 0  # a plain model trains all its parameters
    assert f"| {row['params']:,} | {row['trainable']:,} |" in md.read_text()


def test_historical_inertia_matches_a_direct_computation(synthetic_dataset):
    import numpy as np

    from stlora_plugin.leaderboard.sanity import historical_inertia

    test = np.load(f"{synthetic_dataset}/test_data.npy")
    windows = len(test) - 24 + 1
    last = np.stack([test[i + 11] for i in range(windows)])                # [W, N]
    future = np.stack([test[i + 12:i + 24] for i in range(windows)])       # [W, 12, N]
    mask = future != 0
    expected = np.abs(future - last[:, None])[mask].mean()
    metrics = historical_inertia(synthetic_dataset)
    assert metrics["overall"]["MAE"] == pytest.approx(expected, rel=1e-4)
    h3 = np.abs(future[:, 2] - last)[mask[:, 2]].mean()
    assert metrics["horizon_3"]["MAE"] == pytest.approx(h3, rel=1e-4)
