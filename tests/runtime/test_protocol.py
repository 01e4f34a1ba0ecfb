import shutil

import numpy as np
import pytest
import torch
from basicts import BasicTSLauncher
from basicts.models.STID import STID, STIDConfig

from stlora_plugin import zoo
from stlora_plugin.data import make_timestamps, write_dataset
from stlora_plugin.runtime import GlobalZScoreScaler, benchmark_config, read_meta
from stlora_plugin.runtime.protocol import (DAY_NAMES, day_index, day_value, days_unseen_in_training, split_lengths,
                                            unseen_days)


def test_protocol_fields(synthetic_dataset, tmp_path):
    config = STIDConfig()
    cfg = benchmark_config(STID, config, synthetic_dataset, ckpt_save_dir=str(tmp_path))
    assert (cfg.input_len, cfg.output_len) == (12, 12)
    assert cfg.dataset_params["input_len"] == 12 and cfg.dataset_params["use_timestamps"] is True
    assert cfg.null_val == 0.0 and cfg.norm_each_channel is False and cfg.rescale is True
    assert cfg.scaler is GlobalZScoreScaler
    assert cfg.metrics == ["MAE", "RMSE", "MAPE"] and cfg.eval_horizons == [3, 6, 12]
    assert config.num_features == read_meta(synthetic_dataset)["num_vars"] == 12
    assert cfg.dataset_params["data_file_path"] == synthetic_dataset


def test_overrides_win(synthetic_dataset, tmp_path):
    cfg = benchmark_config(STID, STIDConfig(), synthetic_dataset, ckpt_save_dir=str(tmp_path), num_epochs=3,
                           batch_size=8, seed=7)
    assert (cfg.num_epochs, cfg.train_batch_size, cfg.seed) == (3, 8, 7)


def test_each_experiment_gets_its_own_folder(synthetic_dataset):
    a = benchmark_config(STID, STIDConfig(), synthetic_dataset)
    b = benchmark_config(STID, STIDConfig(), synthetic_dataset)
    assert a.ckpt_save_dir != b.ckpt_save_dir


@pytest.mark.slow
def test_rerun_refuses_to_resume_unless_asked(synthetic_dataset, tmp_path):
    kwargs = dict(ckpt_save_dir=str(tmp_path / "exp"), num_epochs=1)
    BasicTSLauncher.launch_training(benchmark_config(STID, STIDConfig(), synthetic_dataset, **kwargs))
    with pytest.raises(FileExistsError, match="resume=True"):
        benchmark_config(STID, STIDConfig(), synthetic_dataset, **kwargs)
    assert benchmark_config(STID, STIDConfig(), synthetic_dataset, resume=True, **kwargs).num_epochs == 1


def test_day_index_decodes_the_written_day_of_week():
    stamps = make_timestamps(24 * 14, 60, "2018-01-01")  # two weeks from a Monday
    expected = np.repeat(np.arange(14) % 7, 24)
    assert np.array_equal(day_index(stamps[:, 1]).astype(int), expected)
    assert torch.equal(day_index(torch.from_numpy(stamps[:, 1])).long(), torch.from_numpy(expected))
    assert DAY_NAMES[int(day_index(np.float32(3 / 7)))] == "Thursday"
    days = np.arange(7)
    assert np.array_equal(day_index(day_value(days).astype(np.float32)), days)  # the writer's value, read back


def test_days_unseen_in_training():
    # LOS-LOOP: one week of 5-minute steps from Thursday 2012-03-01; training (60%) ends early on Monday
    week = make_timestamps(2016, 5, "2012-03-01")
    train = split_lengths(len(week))[0]
    assert days_unseen_in_training(week[:train], week[train:]) == ["Tuesday", "Wednesday"]
    assert days_unseen_in_training(week[:288 * 2], week[288 * 2:288 * 3]) == ["Saturday"]  # Thu, Fri / Sat
    assert days_unseen_in_training(week, week[:10]) == []


def test_recipes_read_no_day_of_week_where_training_never_holds_the_days_scored(synthetic_dataset, tmp_path, caplog):
    # the synthetic dataset: 4 days from a Monday, so its test days hold a Thursday that training never does
    assert unseen_days(synthetic_dataset) == ["Thursday"]
    weeks = write_dataset(np.random.default_rng(0).random((24 * 21, 3)) + 1, None, tmp_path, "WEEKS",
                          step_minutes=60, start="2018-01-01").path
    assert unseen_days(weeks) == []
    period = tmp_path / "PERIOD"  # split files of other lengths than 60/20/20 (a dataset cut by dates)
    shutil.copytree(weeks, period)
    np.save(period / "train_timestamps.npy", np.load(weeks / "train_timestamps.npy")[:24])  # Monday only
    assert unseen_days(period) == list(DAY_NAMES[1:])
    for name, switch in (("STID", "if_day_in_week"), ("LSTM", "day_of_week"), ("STAEformer", "day_of_week")):
        for stlora in (False, True):
            model = zoo.model_class(name, stlora)
            assert getattr(zoo.experiment(model, synthetic_dataset).model_config, switch) is False
            assert getattr(zoo.experiment(model, weeks).model_config, switch) is True
    assert zoo.dataset_settings(zoo.RECIPES["GWNet"].model.Config, synthetic_dataset) == {}  # no day of week
    assert zoo.sepnet_experiment(synthetic_dataset, variant="hypergraph").model_config.day_of_week is False
    # a user's explicit choice wins over the recipe's, with a warning naming the unseen day
    caplog.clear()
    cfg = zoo.experiment(zoo.RECIPES["LSTM"].model, synthetic_dataset, model_overrides={"day_of_week": True})
    assert cfg.model_config.day_of_week is True
    assert "validation or test of TINY hold Thursday" in caplog.text and "day_of_week=False" in caplog.text
