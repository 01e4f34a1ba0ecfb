import json
import shutil

import pytest

from stlora_plugin.leaderboard.ablation import run_ablation
from stlora_plugin.leaderboard.sweep import Budget


@pytest.mark.slow
def test_ablation_arms_against_plain_and_stlora(synthetic_dataset, tmp_path, monkeypatch):
    root = tmp_path / "datasets"
    shutil.copytree(synthetic_dataset, root / "TINY")
    monkeypatch.setenv("STLORA_DATASETS", str(root))
    monkeypatch.chdir(tmp_path)
    files = run_ablation(["TINY"], ["STID"], [0], Budget(num_epochs=1, batch_size=64), tmp_path / "abl",
                         arms=["stlora", "shared_core", "wide_backbone"], ckpt_root=tmp_path / "ckpt")
    assert [f.name for f in files] == ["ablation.md", "ablation.json", "ablation.png", "val_mae_TINY.png"]
    report = json.loads(files[1].read_text())
    rows = report["comparisons"]
    pairs = {(r["variant"], r["baseline"]) for r in rows}
    assert pairs == {("stlora", "plain"), ("shared_core", "plain"), ("shared_core", "stlora"),
                     ("wide_backbone", "plain"), ("wide_backbone", "stlora")}
    records = [json.loads(line) for line in (tmp_path / "abl" / "runs" / "runs.jsonl").read_text().splitlines()]
    by_arm = {r["variant"]: r["params"] for r in records}
    assert by_arm["wide_backbone"]["total"] >= by_arm["stlora"]["total"] > by_arm["plain"]["total"]
    assert by_arm["wide_backbone"]["adapter"] == 0
    diagnostics = {d["arm"]: d for d in report["diagnostics"]}
    assert set(diagnostics) == {"stlora", "shared_core"}  # the arms with an adapter
    assert diagnostics["shared_core"]["core_spread"] < 1e-6 < 1e-2 < diagnostics["stlora"]["core_spread"]
    assert all(0 < d["gate_R"] < 1 and d["adapter_change"] > 0 for d in diagnostics.values())
    assert "| TINY | STID | stlora |" in files[0].read_text().split("Where the forecast comes from")[1]
    by_node = {(d["arm"], d["baseline"]): d for d in report["distinct_nodes"]}
    assert set(by_node) == {("stlora", "plain"), ("stlora", "shared_core")}
    assert all(d["distinct_nodes"] == "3 of 12" for d in by_node.values())  # a quarter of the synthetic 12 nodes
    overall = {(r["variant"], r["baseline"]): r for r in rows if r["baseline"] == "plain"}
    assert abs(by_node[("stlora", "plain")]["distinct_mean"]) + abs(by_node[("stlora", "plain")]["other_mean"]) > 0
    assert overall[("stlora", "plain")]["seeds"] == by_node[("stlora", "plain")]["seeds"] == 1
    assert "| TINY | STID | stlora | shared_core | 3 of 12 |" in files[0].read_text()
    best_val = {r["variant"]: min(r["val_mae"]) for r in records}  # the validation side of each comparison
    assert overall[("stlora", "plain")]["val_diff_mean"] == pytest.approx(best_val["stlora"] - best_val["plain"])

    assert all(d["seeds"] == 1 for d in diagnostics.values())
    assert {r["variant"] for r in records if r["adapter_diagnostics"]} == {"stlora", "shared_core"}

    # committed records without their checkpoints (a fresh clone): the same tables, diagnostics from the records
    shutil.rmtree(tmp_path / "ckpt")
    again = run_ablation(["TINY"], ["STID"], [0], Budget(num_epochs=1, batch_size=64), tmp_path / "abl",
                         arms=["stlora", "shared_core", "wide_backbone"], ckpt_root=tmp_path / "ckpt")
    rebuilt = json.loads(again[1].read_text())
    assert rebuilt["comparisons"] == rows and rebuilt["diagnostics"] == report["diagnostics"]
    assert "Seeds: 0  \n" in again[0].read_text()  # every run of seed 0 recorded
    assert not (tmp_path / "ckpt").exists()

    # report only (--report-only): an arm not trained yet is left out of the tables, and nothing trains
    partial = run_ablation(["TINY"], ["STID"], [0], Budget(num_epochs=1, batch_size=64), tmp_path / "abl",
                           arms=["stlora", "shared_core", "wide_backbone", "no_gate"], ckpt_root=tmp_path / "ckpt",
                           train=False)
    assert json.loads(partial[1].read_text())["comparisons"] == rows
    assert "Seeds: 0 (finished so far: none)" in partial[0].read_text()  # seed 0 lacks its no_gate run
    assert len((tmp_path / "abl" / "runs" / "runs.jsonl").read_text().splitlines()) == 4
    assert not (tmp_path / "ckpt").exists()

    # records older than their diagnostics, checkpoints gone: the previous report's rows are kept, not dropped
    runs_file = tmp_path / "abl" / "runs" / "runs.jsonl"
    runs_file.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "adapter_diagnostics"}) + "\n"
                                 for r in records))
    kept = run_ablation(["TINY"], ["STID"], [0], Budget(num_epochs=1, batch_size=64), tmp_path / "abl",
                        arms=["stlora", "shared_core", "wide_backbone"], ckpt_root=tmp_path / "ckpt", train=False)
    assert json.loads(kept[1].read_text())["diagnostics"] == report["diagnostics"]
    (tmp_path / "abl" / "ablation.json").unlink()  # nothing to keep them from: the arms are left out, no error
    bare = run_ablation(["TINY"], ["STID"], [0], Budget(num_epochs=1, batch_size=64), tmp_path / "abl",
                        arms=["stlora", "shared_core", "wide_backbone"], ckpt_root=tmp_path / "ckpt", train=False)
    assert json.loads(bare[1].read_text())["diagnostics"] == []


def test_unknown_arm_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown ablation arms"):
        run_ablation(["TINY"], ["STID"], [0], Budget(), tmp_path, arms=["no_such_arm"])


def test_no_plot_while_no_arm_is_paired_with_its_baseline(tmp_path):
    """An ablation folder that another process is still training may have its plain runs alone: no plot yet."""
    from stlora_plugin.leaderboard.ablation import _plot

    assert _plot([], ["stlora", "shared_core"], tmp_path / "ablation.png") is None
    row = {"dataset": "D", "model": "M", "variant": "stlora", "baseline": "plain", "diff_mean": -0.5, "diff_std": 0.1}
    assert _plot([row], ["stlora"], tmp_path / "ablation.png").stat().st_size > 0
