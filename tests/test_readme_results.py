"""The README's tables of results at convergence are the committed results, number for number.

The README copies ``results/convergence_summary.md`` (written by ``stlora summarize``) into a shorter table for
readers; this test keeps the copy true: every summary row stands in the README with the same plain and ST-LoRA
MAE, difference, p-value (to the README's decimals), epochs, adapter share and time overhead, and no README row
lacks its summary row. After a new comparison: rerun the summary's command (its first line), then copy its row.
The controls table is checked against the records of its folders (``results/convergence_controls_<data>_<model>``),
each arm against plain and against ST-LoRA.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from stlora_plugin.leaderboard.summary import summary_rows
from stlora_plugin.leaderboard.tables import p_text, pm

ROOT = Path(__file__).resolve().parents[1]
README_HEADER = "| model | data | plain MAE | + ST-LoRA MAE |"
SUMMARY_HEADER = "| model | data | variant |"
README_DATA = {"LOS-LOOP": "LOS-LOOP", "NYC-Taxi 2019 inflow": "NYC-Taxi-inflow-until2020-01-01",
               "NYC-Bike inflow": "NYC-Bike-inflow"}
CONTROLS_HEADER = "| model, data | ST-LoRA − plain |"
CONTROLS_FOLDER = {"LOS-LOOP": "los", "NYC-Taxi 2019": "nyc_taxi_2019", "NYC-Bike": "nyc_bike"}
# the controls table's columns after the first: (baseline, variant) of each difference
CONTROLS_COLUMNS = [("plain", "stlora"), ("plain", "shared_core"), ("plain", "wide_backbone"),
                    ("stlora", "shared_core"), ("stlora", "wide_backbone")]


def readme_text() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def table(text: str, header: str) -> list[list[str]]:
    """The cells of the markdown table that starts with ``header`` (its header and rule lines left out)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert len(starts) == 1, f"expected one table headed {header!r}, found {len(starts)}"
    start = starts[0]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def plain_text(cell: str) -> str:
    return cell.replace("−", "-")  # the README writes a minus sign, the summary a hyphen


def same_p(readme: str, summary: str) -> bool:
    """The README's p is the one the tables print (3 decimals), rounded to the README's decimals; a pair with one
    seed has none (``–`` in both)."""
    no_p = p_text(float("nan"))  # the mark the tables print for no p
    if no_p in (readme, summary):
        return readme == summary
    decimals = len(readme.split(".")[1])
    return abs(float(readme) - float(summary)) <= 0.5 * 10 ** -decimals + 1e-12


def test_the_readme_table_is_the_committed_summary():
    readme = table(readme_text(), README_HEADER)
    summary = {(row[0], row[1]): row for row in
               table((ROOT / "results" / "convergence_summary.md").read_text(encoding="utf-8"), SUMMARY_HEADER)
               if row[2] == "stlora"}
    seen = set()
    for model, data, plain, stlora, diff, p, epochs, adapter, time in readme:
        on_gpu = model.endswith(" (GPU)")
        key = (model.removesuffix(" (GPU)"), README_DATA[data])
        assert key in summary, f"README row {key} has no row in results/convergence_summary.md"
        (_, _, _, _, budget, s_plain, s_stlora, s_diff, s_p, s_epochs, s_adapter, s_time, _) = summary[key]
        assert (plain, stlora, plain_text(diff), epochs, adapter, plain_text(time)) == \
               (s_plain, s_stlora, s_diff, s_epochs, s_adapter, s_time), key
        assert same_p(p, s_p), (key, p, s_p)
        assert on_gpu == budget.endswith("GPU"), f"{key}: the README marks GPU runs, as the summary's budget does"
        seen.add(key)
    assert seen == set(summary), f"summary rows missing from the README: {sorted(set(summary) - seen)}"


def test_the_readme_controls_are_their_folders_records():
    rows = table(readme_text(), CONTROLS_HEADER)
    assert rows, "the README has no controls table"
    for name, *cells in rows:
        model, data = name.split(", ")
        folder = ROOT / "results" / f"convergence_controls_{CONTROLS_FOLDER[data]}_{model.lower()}"
        assert len(cells) == len(CONTROLS_COLUMNS), name
        for cell, (baseline, variant) in zip(cells, CONTROLS_COLUMNS):
            (row,) = summary_rows([folder], variants=(variant,), baseline=baseline)
            diff, p = plain_text(cell).removesuffix(")").split(" (")
            assert diff == pm(row["diff_mean"], row["diff_std"], signed=True), (name, baseline, variant)
            assert same_p(p, p_text(row["p_value"])), (name, baseline, variant, p, row["p_value"])


@pytest.mark.parametrize("readme, summary, same", [("0.05", "0.048", True), ("0.002", "0.002", True),
                                                   ("0.06", "0.057", True), ("0.05", "0.056", False),
                                                   ("0.90", "0.902", True), ("0.9", "0.96", False),
                                                   ("–", "–", True), ("–", "0.050", False), ("0.05", "–", False)])
def test_p_values_compare_at_the_readme_decimals(readme, summary, same):
    assert same_p(readme, summary) is same
