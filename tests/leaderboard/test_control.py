"""The positive control: ST-LoRA's per-node cores learn per-node gains a node-blind backbone cannot express;
the same adapter with one shared core cannot (leaderboard/control.py)."""
from __future__ import annotations

import pytest
import torch

from stlora_plugin.adapters import PRESETS
from stlora_plugin.leaderboard.control import _report, gap_closed, node_gain_task, plain_mae


@pytest.fixture(scope="module")
def task():
    return node_gain_task(seed=0)


@pytest.fixture(scope="module")
def plain(task):
    torch.set_num_threads(1)
    return plain_mae(task)


def test_the_task_is_beyond_a_node_blind_model(task, plain):
    assert plain > 3 * task.oracle_mae  # a large gap to close


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_closes_most_of_the_gap_and_a_shared_core_almost_none(preset, task, plain):
    torch.set_num_threads(1)
    per_node = gap_closed(preset, task=task, plain=plain)
    shared = gap_closed(preset, "shared", task=task, plain=plain)
    assert per_node["closed"] >= 0.9, per_node
    assert shared["closed"] <= 0.2, shared


def test_report_gives_the_spread_over_seeds_and_none_for_one_seed():
    row = {"preset": "default", "core": "full", "steps": 400, "plain_mae": 0.2, "adapted_mae": 0.05,
           "oracle_mae": 0.04}
    rows = [{**row, "seed": s, "closed": c} for s, c in enumerate((0.96, 0.97, 0.98))]
    assert "| 97.0 ± 1.0 | 96.0 |" in _report(rows, "cmd")
    assert "| 96.0 ± – | 96.0 |" in _report(rows[:1], "cmd")
