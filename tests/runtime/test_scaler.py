import inspect

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


def test_a_fine_tuned_run_keeps_the_statistics_of_the_checkpoint_it_starts_from(tmp_path):
    import torch

    source = {"mean": torch.tensor(100.0), "std": torch.tensor(20.0)}
    torch.save({"model_state_dict": {}, "scaler_stats": source}, tmp_path / "source.pt")
    data = np.random.default_rng(0).normal(5.0, 2.0, size=(500, 4)).astype(np.float32)
    kept = GlobalZScoreScaler(norm_each_channel=False, rescale=True, finetune_from=str(tmp_path / "source.pt"))
    kept.fit(data)
    assert float(kept.stats["mean"]) == 100.0 and float(kept.stats["std"]) == 20.0
    own = GlobalZScoreScaler(norm_each_channel=False, rescale=True)  # the control: fitted on its own data
    own.fit(data)
    assert abs(float(own.stats["mean"]) - 5.0) < 0.3
    from stlora_plugin.runtime import OwnStatisticsScaler

    rescaled = OwnStatisticsScaler(norm_each_channel=False, rescale=True)  # what the builder gives it: no source
    rescaled.fit(data)
    assert float(rescaled.stats["mean"]) == float(own.stats["mean"])
    assert "finetune_from" not in inspect.signature(OwnStatisticsScaler.__init__).parameters
