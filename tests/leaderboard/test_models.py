"""`stlora compare`: models against a reference model, paired by seed (leaderboard/models.py)."""
import json
import shutil

import numpy as np
import pytest
from scipy import stats

from stlora_plugin import zoo
from stlora_plugin.cli import main
from stlora_plugin.leaderboard.models import model_rows, run_model_comparison
from stlora_plugin.leaderboard.sweep import Budget
from stlora_plugin.runtime.memory import PeakMemory
from stlora_plugin.runtime.protocol import reported_horizons


def _record(model, seed, mae, sec=1.0):
    sections = {k: {"MAE": mae, "RMSE": 2 * mae, "MAPE": 0.1} for k in ("horizon_3", "horizon_6", "horizon_12", "overall")}
    return {"dataset": "D", "model": model, "seed": seed, "variant": "plain", "metrics": sections, "val_mae": [mae],
            "params": {"total": 10, "trainable": 7, "adapter": 0}, "sec_per_epoch": sec, "epochs_trained": 3,
            "peak_memory_mb": 100.0, "peak_memory_kind": "rss"}


def test_rows_pair_each_model_with_the_reference_by_seed():
    ref = {0: 5.0, 1: 6.0, 2: 7.0}
    other = {0: 4.0, 1: 5.5, 2: 6.0}  # seeds 0..2; differences -1, -0.5, -1
    records = [_record("R", s, v) for s, v in ref.items()] + [_record("A", s, v) for s, v in other.items()] \
        + [_record("B", 0, 9.0)]  # one seed only
    rows = {r["model"]: r for r in model_rows(records, "D", ["R", "A", "B", "missing"], "R")}
    assert list(rows) == ["R", "A", "B"]  # the order given; a model without runs is left out
    diffs = np.array([-1.0, -0.5, -1.0])
    assert rows["A"]["diff MAE"] == pytest.approx((diffs.mean(), diffs.std(ddof=1)))
    assert rows["A"]["p MAE"] == pytest.approx(stats.ttest_rel(list(other.values()), list(ref.values())).pvalue)
    assert rows["A"]["MAE avg"] == pytest.approx((np.mean(list(other.values())), np.std(list(other.values()), ddof=1)))
    assert rows["B"]["paired_seeds"] == 1 and rows["B"]["diff MAE"][0] == pytest.approx(4.0)
    assert np.isnan(rows["B"]["p MAE"])  # no test from one pair
    assert rows["R"]["diff MAE"] == (0.0, 0.0) and rows["A"]["MAPE avg"][0] == pytest.approx(10.0)  # MAPE in %
    assert rows["A"]["trainable"] == 7 and rows["A"]["peak_memory_mb"] == 100.0


def test_model_specs_carry_settings_checked_against_the_config():
    assert zoo.parse_model("STID") == ("STID", {})
    assert zoo.parse_model("STSepNet-noLLM[gamma=0,gamma_learnable=False]") == \
        ("STSepNet-noLLM", {"gamma": 0, "gamma_learnable": False})
    assert zoo.split_models("STID, STSepNet-noLLM[gamma=1,hyperedge_order=5],GWNet") == \
        ["STID", "STSepNet-noLLM[gamma=1,hyperedge_order=5]", "GWNet"]
    with pytest.raises(ValueError, match="nonsense not a setting of STID"):
        zoo.parse_model("STID[nonsense=1]")
    with pytest.raises(ValueError, match="expected key=value"):
        zoo.parse_model("STID[input_hidden_size]")
    with pytest.raises(ValueError, match="unknown model 'NoSuch'"):
        zoo.parse_model("NoSuch[x=1]")


def test_settings_and_horizon_reach_the_config(synthetic_dataset):
    cfg = zoo.named_experiment("STID[input_hidden_size=8]", synthetic_dataset, horizon=24)
    assert cfg.model_config.input_hidden_size == 8
    assert (cfg.input_len, cfg.output_len, cfg.model_config.output_len) == (24, 24, 24)
    assert list(cfg.eval_horizons) == [6, 12, 24]
    sep = zoo.named_experiment("STSepNet-noLLM[gamma=1,gamma_learnable=False]", synthetic_dataset, horizon=24)
    assert (sep.model_config.gamma, sep.model_config.gamma_learnable, sep.output_len) == (1, False, 24)
    assert list(zoo.named_experiment("STID", synthetic_dataset).eval_horizons) == [3, 6, 12]  # the protocol


def test_reported_horizons():
    assert reported_horizons(12) == (3, 6, 12)
    assert reported_horizons(48) == (12, 24, 48)
    assert reported_horizons(2) == (1, 2)


def test_peak_memory_is_each_runs_own():
    with PeakMemory() as big:
        block = np.ones(64 * 2 ** 20 // 8)  # 64 MiB, touched
        block += 1
    del block
    with PeakMemory() as small:
        np.ones(8).sum()
    if big.kind != "rss":
        pytest.skip("no resettable peak RSS on this system (/proc/self/clear_refs)")
    assert big.mb - small.mb > 50  # reset between runs: the second does not inherit the first's peak


@pytest.mark.slow
def test_comparison_end_to_end_through_the_launcher(synthetic_dataset, tmp_path, monkeypatch):
    root = tmp_path / "datasets"
    shutil.copytree(synthetic_dataset, root / "TINY")
    monkeypatch.setenv("STLORA_DATASETS", str(root))
    monkeypatch.chdir(tmp_path)
    models = ["STID", "STID[input_hidden_size=8]"]
    files = run_model_comparison("TINY", models, "STID", [0, 1], Budget(num_epochs=1, batch_size=32),
                                 tmp_path / "out", ckpt_root=tmp_path / "ckpt")
    assert [f.name for f in files] == ["comparison.md", "comparison.csv", "comparison.json", "comparison.png",
                                      "val_mae.png"]
    result = json.loads(files[2].read_text())
    rows = {r["model"]: r for r in result["models"]}
    assert rows["STID[input_hidden_size=8]"]["params"] < rows["STID"]["params"]  # the setting took effect
    assert rows["STID[input_hidden_size=8]"]["paired_seeds"] == 2
    runs = [json.loads(line) for line in (tmp_path / "out" / "runs.jsonl").read_text().splitlines()]
    assert [(r["seed"], r["model"]) for r in runs] == [(0, "STID"), (0, models[1]), (1, "STID"), (1, models[1])]
    assert "| STID[input_hidden_size=8] | 2 |" in files[0].read_text() and "no seed of both" not in files[0].read_text()
    again = run_model_comparison("TINY", models, "STID", [0, 1], Budget(num_epochs=1, batch_size=32),
                                 tmp_path / "out", ckpt_root=tmp_path / "ckpt")  # resumes: nothing retrained
    assert again[0].read_text() == files[0].read_text()
    assert len((tmp_path / "out" / "runs.jsonl").read_text().splitlines()) == 4


def test_bad_comparisons_stop_before_training(tmp_path, capsys):
    for argv, message in ((["--models", "STID,GWNet", "--reference", "LSTM"], "reference model 'LSTM'"),
                          (["--models", "STID,STID"], "names a model twice"),
                          (["--models", "STID,STID[bogus=1]"], "bogus not a setting")):
        code = main(["compare", "--dataset", "ANY", *argv, "--out", str(tmp_path / "o")])
        assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_reference_without_runs_yet_is_said_not_computed():
    from stlora_plugin.leaderboard.models import _markdown

    rows = model_rows([_record("A", 0, 4.0)], "D", ["R", "A"], "R")
    text = _markdown(rows, "D", "R", "context")
    assert "| A | 0 | – (no seed of both yet)" in text and "nan" not in text
