import numpy as np
import pytest
import torch
from basicts.scaler import ZScoreScaler

from stlora_plugin.runtime import GlobalZScoreScaler

DATA = np.random.default_rng(0).normal(50, 10, size=(200, 7)).astype(np.float32)


def test_basicts_scaler_crashes_where_ours_works():
    with pytest.raises(TypeError):
        ZScoreScaler(norm_each_channel=False, rescale=True).fit(DATA)
    scaler = GlobalZScoreScaler(norm_each_channel=False, rescale=True)
    scaler.fit(DATA)
    assert scaler.stats["mean"].item() == pytest.approx(DATA.mean(), rel=1e-5)
    assert scaler.stats["std"].item() == pytest.approx(DATA.std(), rel=1e-4)
    x = torch.from_numpy(DATA[:12])[None]
    torch.testing.assert_close(scaler.inverse_transform(scaler.transform(x)), x)


def test_per_channel_and_constant_series():
    data = DATA.copy()
    data[:, 0] = 3.0
    scaler = GlobalZScoreScaler(norm_each_channel=True, rescale=True)
    scaler.fit(data)
    assert scaler.stats["std"].shape == (1, 7) and scaler.stats["std"][0, 0] == 1.0


def test_stats_restored_from_checkpoint_are_kept():
    scaler = GlobalZScoreScaler(norm_each_channel=False, rescale=True,
                                stats={"mean": torch.tensor(1.0), "std": torch.tensor(2.0)})
    scaler.fit(DATA)
    assert scaler.stats["mean"].item() == 1.0
