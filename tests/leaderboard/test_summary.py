"""The summary over comparison folders: each pair's row matches its own folder's tables."""
import json

import pytest
from scipy import stats

from stlora_plugin.cli import main
from stlora_plugin.leaderboard.summary import read_folder, render_summary, summary_rows


def _record(model, variant, seed, mae, *, epochs=10, patience=5, adapter=0, val=None):
    metrics = {s: {"MAE": mae, "RMSE": 2 * mae, "MAPE": mae / 100} for s in
               ("overall", "horizon_3", "horizon_6", "horizon_12")}
    return {"dataset": "D", "model": model, "variant": variant, "seed": seed, "metrics": metrics,
            "budget": {"num_epochs": 100, "patience": patience, "batch_size": None},
            "params": {"total": 1000 + adapter, "trainable": 1000 + adapter, "adapter": adapter},
            "sec_per_epoch": 2.0 if variant == "plain" else 3.0, "epochs_trained": epochs,
            "val_mae": val or [mae + 1, mae]}


def _write(path, records):
    path.mkdir(parents=True)
    (path / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def folders(tmp_path):
    board = tmp_path / "board"
    _write(board, [_record("LSTM", "plain", s, m, epochs=20) for s, m in enumerate([10.0, 11.0, 12.0])]
           + [_record("LSTM", "stlora", s, m, epochs=30, adapter=100) for s, m in enumerate([9.0, 10.5, 11.0])])
    ablation = tmp_path / "ablation"  # an ablation keeps its records one folder down
    _write(ablation / "runs", [_record("STID", v, s, 5.0 + s + (0.5 if v == "shared_core" else 0))
                               for v in ("plain", "shared_core") for s in (0, 1)])
    return board, ablation


def test_one_row_per_pair_with_paired_statistics(folders):
    board, ablation = folders
    (lstm,) = summary_rows([board])
    assert lstm["diff_mean"] == pytest.approx(-2.5 / 3) and lstm["seeds"] == 3
    assert lstm["seed_diffs"] == pytest.approx([-1.0, -0.5, -1.0])  # what the plot draws, seed by seed
    assert lstm["p_value"] == pytest.approx(stats.ttest_rel([9.0, 10.5, 11.0], [10.0, 11.0, 12.0]).pvalue)
    assert (lstm["base_epochs"], lstm["epochs"]) == (20, 30) and lstm["adapter_percent"] == pytest.approx(10.0)
    assert lstm["time_overhead_percent"] == pytest.approx(50.0) and lstm["budget"] == "≤ 100 ep., patience 5, recipe batch"
    assert summary_rows([ablation]) == []  # no stlora arm there: nothing to pair
    (shared,) = summary_rows([ablation], variants=["shared_core"])
    assert shared["diff_mean"] == pytest.approx(0.5) and shared["diff_std"] == 0 and shared["model"] == "STID"
    table = render_summary(summary_rows([board, ablation], variants=["stlora", "shared_core"]))
    assert "| LSTM | D | stlora | 3 |" in table and "| STID | D | shared_core | 2 |" in table
    assert "-0.833 ± 0.289" in table and f"`{board}`" in table


def test_the_budget_says_where_the_runs_trained(tmp_path):
    gpu = [_record("GWNet", v, 0, 4.0) for v in ("plain", "stlora")]
    for record in gpu:
        record["budget"]["gpus"] = "0"
    _write(tmp_path / "gpu", gpu)
    assert summary_rows([tmp_path / "gpu"])[0]["budget"] == "≤ 100 ep., patience 5, recipe batch, GPU"
    _write(tmp_path / "mixed", gpu[:1] + [_record("GWNet", "stlora", 0, 4.0)])  # seconds per epoch not comparable
    assert summary_rows([tmp_path / "mixed"])[0]["budget"] == "mixed"


def test_a_folder_without_runs_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no runs.jsonl"):
        read_folder(tmp_path)


def test_summarize_command_writes_the_table_and_its_plot(folders, tmp_path, capsys):
    board, _ = folders
    main(["summarize", str(board), "--out", str(tmp_path / "sum.md")])
    text = (tmp_path / "sum.md").read_text()
    assert text.startswith("Command: `") and "| LSTM | D | stlora |" in text
    assert "written:" in capsys.readouterr().out
    assert text.rstrip().endswith("![Δ per seed](sum.png)") and (tmp_path / "sum.png").stat().st_size > 0


def test_one_seed_is_drawn_without_a_spread(tmp_path):
    _write(tmp_path / "one", [_record("GWNet", "plain", 0, 4.0), _record("GWNet", "stlora", 0, 3.5)])
    (row,) = summary_rows([tmp_path / "one"])
    assert row["seed_diffs"] == [-0.5] and row["diff_std"] != row["diff_std"]  # NaN: one seed has no spread
    main(["summarize", str(tmp_path / "one"), "--out", str(tmp_path / "one.md")])
    assert (tmp_path / "one.png").is_file() and "| -0.500 ± – | – |" in (tmp_path / "one.md").read_text()


def test_no_pair_no_plot(folders, tmp_path):
    board, ablation = folders  # the ablation has no stlora arm to pair with plain
    main(["summarize", str(board), "--out", str(tmp_path / "sum.md")])
    assert (tmp_path / "sum.png").exists()  # rewritten without a pair, the summary drops the plot it drew before
    main(["summarize", str(ablation), "--out", str(tmp_path / "sum.md")])
    assert "![" not in (tmp_path / "sum.md").read_text() and not (tmp_path / "sum.png").exists()
