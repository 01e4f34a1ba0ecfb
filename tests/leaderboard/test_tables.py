import json

import numpy as np
import pytest
from scipy import stats

from stlora_plugin.leaderboard.sweep import Budget
from stlora_plugin.leaderboard.tables import comparisons, efficiency, render_markdown, report_header, write_tables


def _record(model, variant, seed, mae, params=1000, adapter=0, sec=2.0):
    metrics = {s: {"MAE": mae, "RMSE": 2 * mae, "MAPE": mae / 100} for s in
               ("overall", "horizon_3", "horizon_6", "horizon_12")}
    return {"dataset": "D", "model": model, "variant": variant, "seed": seed, "metrics": metrics,
            "params": {"total": params + adapter, "trainable": params + adapter, "adapter": adapter},
            "sec_per_epoch": sec, "per_node_mae": [mae, mae]}


RECORDS = [_record("M", "plain", s, m) for s, m in enumerate([10.0, 11.0, 12.0])] + \
          [_record("M", "stlora", s, m, adapter=50, sec=2.5) for s, m in enumerate([9.0, 10.5, 11.0])]


def test_paired_differences_and_t_test():
    (row,) = [r for r in comparisons(RECORDS) if r["metric"] == "MAE" and r["horizon"] == "avg"]
    diffs = np.array([-1.0, -0.5, -1.0])
    assert row["diff_mean"] == pytest.approx(diffs.mean()) and row["diff_std"] == pytest.approx(diffs.std(ddof=1))
    assert row["base_mean"] == pytest.approx(11.0) and row["seeds"] == 3
    assert row["p_value"] == pytest.approx(stats.ttest_rel([9.0, 10.5, 11.0], [10.0, 11.0, 12.0]).pvalue)
    mape = [r for r in comparisons(RECORDS) if r["metric"] == "MAPE" and r["horizon"] == "avg"][0]
    assert mape["base_mean"] == pytest.approx(11.0)  # MAPE is shown in percent


def test_efficiency_overheads():
    (row,) = efficiency(RECORDS)
    assert row["adapter_percent"] == pytest.approx(5.0) and row["time_overhead_percent"] == pytest.approx(25.0)


def test_markdown_and_files(tmp_path):
    text = render_markdown(RECORDS, title="T", context="ctx")
    assert "| M | plain | 10.00 ± 0.00" not in text  # stds over seeds are shown, not zero
    assert "11.00 ± 1.00" in text and "✓" in text and "+ST-LoRA" in text
    files = write_tables(RECORDS, tmp_path, title="T", context="ctx")
    assert [f.name for f in files] == ["leaderboard.md", "leaderboard.csv", "leaderboard.json"]
    assert json.loads(files[2].read_text())["efficiency"][0]["adapter_params"] == 50


def test_one_seed_has_no_spread_and_no_p_value():
    one = [r for r in RECORDS if r["seed"] == 0]
    (row,) = [r for r in comparisons(one) if r["metric"] == "MAE" and r["horizon"] == "avg"]
    assert np.isnan(row["diff_std"]) and np.isnan(row["base_std"]) and np.isnan(row["p_value"])
    text = render_markdown(one, title="T", context="ctx")
    assert "| M | plain | 10.00 ± – |" in text and "-1.00 ± – (–)" in text  # unknown, not "± 0.00"
    assert "± 0.00" not in text and "nan" not in text and "(-1.000, 1 seed)" in text


def test_report_header_states_command_data_budget_and_seeds(monkeypatch):
    monkeypatch.setattr("sys.argv", ["/venv/bin/stlora", "leaderboard", "--models", "STID", "--report-only"])
    text = report_header(["D1", "D2"], ["STID"], [0, 1], Budget(3, 64, {"stlora_rank": 2}))
    assert "Command: `stlora leaderboard --models STID`" in text  # --report-only rebuilds, it is not the command
    assert "Data: D1, D2" in text and "3 epochs per run, batch 64" in text and "Seeds: 0, 1" in text
    assert "ST-LoRA settings: {'stlora_rank': 2}" in text
    assert "recipe batch size" in report_header(["D"], ["STID"], [0], Budget(1, None, {}))
    assert "Seeds: 0, 1, 2 (finished so far: 0)" in report_header(["D"], ["STID"], [0, 1, 2], Budget(), finished={0})
    assert "Seeds: 0, 1  \n" in report_header(["D"], ["STID"], [0, 1], Budget(), finished=[1, 0])


def test_efficiency_counts_the_seeds_both_arms_have_as_the_differences_do():
    unpaired_plain = _record("M", "plain", 3, 10.0, sec=20.0)  # a slow plain run whose ST-LoRA run is not done
    (row,) = efficiency(RECORDS + [unpaired_plain])
    assert row["base_sec_per_epoch"] == pytest.approx(2.0) and row["time_overhead_percent"] == pytest.approx(25.0)
    (alone,) = efficiency([unpaired_plain, _record("M", "stlora", 4, 9.0, sec=25.0)])  # no shared seed: every run
    assert alone["time_overhead_percent"] == pytest.approx(25.0)


def test_efficiency_survives_records_without_an_epoch_time():
    from stlora_plugin.leaderboard.tables import efficiency

    def record(variant, seed, sec):
        return {"dataset": "D", "model": "M", "variant": variant, "seed": seed, "sec_per_epoch": sec,
                "params": {"total": 10, "trainable": 10, "adapter": 2 if variant == "stlora" else 0}}

    rows = efficiency([record("plain", 0, 1.0), record("plain", 1, None), record("stlora", 0, None),
                       record("stlora", 1, 1.5)])
    assert rows[0]["base_sec_per_epoch"] == 1.0 and rows[0]["time_overhead_percent"] == 50.0


def test_horizon_plot_shows_the_horizons_the_runs_report(tmp_path):
    """A 48 -> 48 leaderboard reports @12 @24 @48: its plot has those bars, not the 12-step protocol's."""
    from stlora_plugin.leaderboard.plots import plot_mae_by_horizon

    def long(record):
        overall = record["metrics"]["overall"]
        return {**record, "metrics": {s: overall for s in ("overall", "horizon_12", "horizon_24", "horizon_48")}}

    path = plot_mae_by_horizon([long(r) for r in RECORDS], "D", tmp_path / "h.png")
    assert path.stat().st_size > 0  # with the protocol's fixed @3 @6 @12 it raised KeyError '@3'


def test_plots_of_a_comparison_with_only_plain_runs_finished(tmp_path):
    """A comparison part way (its plain runs first) gets its tables and the plots it can draw, not an error."""
    from stlora_plugin.leaderboard.plots import plot_all

    plain = [r for r in RECORDS if r["variant"] == "plain"]
    assert [f.name for f in plot_all(plain, tmp_path)] == ["params_vs_mae.png"]
    assert {f.name for f in plot_all(RECORDS, tmp_path)} >= {"params_vs_mae.png", "mae_by_horizon_D.png"}


def test_validation_curves_are_drawn_from_the_records_that_have_them(tmp_path):
    from stlora_plugin.leaderboard.plots import plot_all, plot_validation_curves

    assert plot_validation_curves(RECORDS, "D", tmp_path / "v.png") is None  # records without curves: no plot
    curves = [{**r, "val_mae": [12.0, 11.0 - r["seed"], 11.5]} for r in RECORDS]
    assert "val_mae_D.png" in {f.name for f in plot_all(curves, tmp_path)}
    assert "val_mae_D.png" in {f.name for f in plot_all([r for r in curves if r["variant"] == "plain"], tmp_path)}


def test_validation_curves_of_many_models_wrap_four_panels_to_a_row(tmp_path):
    from PIL import Image

    from stlora_plugin.leaderboard.plots import plot_validation_curves

    records = [{"dataset": "D", "model": f"M{i}", "seed": 0, "variant": "plain", "val_mae": [3.0, 2.0, 2.5]}
               for i in range(5)]
    one_row = plot_validation_curves(records[:4], "D", tmp_path / "four.png", ("plain",))
    two_rows = plot_validation_curves(records, "D", tmp_path / "five.png", ("plain",))
    (w4, h4), (w5, h5) = Image.open(one_row).size, Image.open(two_rows).size
    assert w5 == w4 and h5 > 1.5 * h4


@pytest.mark.parametrize("program", ["/venv/bin/stlora", "/src/stlora_plugin/cli/__main__.py"])
def test_reports_name_the_command_that_makes_their_runs(monkeypatch, program):
    from stlora_plugin.leaderboard.tables import command_line

    monkeypatch.setattr("sys.argv", [program, "leaderboard", "--report-only", "--out", "my results"])
    assert command_line() == "stlora leaderboard --out 'my results'"  # --report-only only rewrites the tables
