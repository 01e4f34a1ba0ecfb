"""STID trains through BasicTSLauncher on real data prepared from ../shared/datasets (skips when absent)."""
import pytest
from basicts.models.STID import STID, STIDConfig

from stlora_plugin.data import prepare


@pytest.mark.parametrize("fmt, raw, options, steps_per_day", [
    ("nyc", "NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz", {"channel": 0}, 24),
    ("los-loop", "LOS-LOOP", {}, 288),
])
def test_stid_trains_on_real_data(shared_datasets, tmp_path, train_basicts, fmt, raw, options, steps_per_day):
    dataset = prepare(fmt, shared_datasets / raw, tmp_path / "datasets", **options).path
    config = STIDConfig(if_time_in_day=True, if_day_in_week=True, num_time_in_day=steps_per_day)
    _, metrics, log = train_basicts(STID, config, str(dataset), num_epochs=2)
    assert log["train/loss"][-1] < log["train/loss"][0]
    assert 0 < metrics["overall"]["MAE"] < 1e3 and set(metrics) == {"overall", "horizon_3", "horizon_6", "horizon_12"}
