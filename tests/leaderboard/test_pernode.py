"""node_distinctness: how unlike the network mean each node's training series is."""
import numpy as np
import pytest
from easydict import EasyDict

from stlora_plugin.leaderboard.pernode import node_distinctness


def _cfg(tmp_path, data, null_val=0.0):
    np.save(tmp_path / "train_data.npy", data.astype(np.float32))
    return EasyDict(dataset_params={"dataset_name": "X", "data_file_path": str(tmp_path)}, null_val=null_val)


def test_followers_score_near_zero_and_an_opposite_node_near_two(tmp_path):
    t = np.arange(400)
    wave = 10 + np.sin(2 * np.pi * t / 24)
    data = np.stack([wave, wave * 1.5, wave + 3, 22 - wave, np.full_like(wave, 7.0)], axis=1)  # [T, N=5]
    score = node_distinctness(_cfg(tmp_path, data))
    assert score.shape == (5,)
    # the network mean is itself a sine in phase with the first three nodes
    np.testing.assert_allclose(score[:3], 0.0, atol=1e-6)
    assert score[3] == pytest.approx(2.0, abs=1e-6)
    assert score[4] == 1.0  # a flat node correlates with nothing


def test_missing_readings_are_left_out(tmp_path):
    rng = np.random.default_rng(0)
    wave = 10 + np.sin(2 * np.pi * np.arange(500) / 24)
    data = np.stack([wave, wave * 2, wave + 1], axis=1)
    holes = data.copy()
    holes[rng.random(500) < 0.2, 1] = 0.0  # null_val readings on node 1
    np.testing.assert_allclose(node_distinctness(_cfg(tmp_path, holes)), 0.0, atol=1e-4)


def test_the_target_channel_of_multichannel_data_is_used(tmp_path):
    wave = 10 + np.sin(2 * np.pi * np.arange(300) / 24)
    data = np.stack([np.stack([wave, 20 - wave], 1), np.random.default_rng(1).random((300, 2))], axis=-1)
    assert node_distinctness(_cfg(tmp_path, data)).shape == (2,)
