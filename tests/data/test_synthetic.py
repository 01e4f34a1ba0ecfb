import numpy as np

from stlora_plugin.data import generate_synthetic


def test_deterministic_under_seed_and_shaped():
    a, adj = generate_synthetic(num_nodes=16, num_days=2, seed=3)
    b, _ = generate_synthetic(num_nodes=16, num_days=2, seed=3)
    c, _ = generate_synthetic(num_nodes=16, num_days=2, seed=4)
    assert a.shape == (576, 16) and adj.shape == (16, 16)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(adj, adj.T)
    assert (adj > 0).sum(1).min() >= 1


def test_daily_cycle_heterogeneity_and_missing_zeros():
    data, _ = generate_synthetic(num_nodes=30, num_days=14, seed=0)
    assert (data >= 0).all() and 0 < (data == 0).mean() < 0.05
    days = data[: 288 * 5].reshape(5, 288, 30)  # the first five days are weekdays
    profile = days.mean(0)
    assert (profile.max(0) / profile.min(0)).min() > 1.5  # every node has a daily cycle
    peak_hour = profile.argmax(0)
    assert len(np.unique(peak_hour)) > 5  # nodes peak at different times
    scale = data.mean(0)
    assert scale.max() / scale.min() > 2  # and at different levels
