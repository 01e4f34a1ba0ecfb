from basicts import BasicTSLauncher
from basicts.models.STID import STID, STIDConfig
import pytest

from stlora_plugin.runtime import GlobalZScoreScaler, benchmark_config, read_meta


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
