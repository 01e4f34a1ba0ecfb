import json

import numpy as np
import pytest

from stlora_plugin.data import derive_dataset, write_dataset
from stlora_plugin.runtime.protocol import unseen_days


def test_train_share_and_missing_share(synthetic_dataset):
    src = np.load(f"{synthetic_dataset}/train_data.npy")
    half = derive_dataset(synthetic_dataset, train_share=0.5)
    assert half.name == "TINY-train50"
    np.testing.assert_array_equal(np.load(half / "train_data.npy"), src[-(len(src) // 2):])
    np.testing.assert_array_equal(np.load(half / "test_data.npy"), np.load(f"{synthetic_dataset}/test_data.npy"))
    assert json.loads((half / "meta.json").read_text())["name"] == "TINY-train50"
    missing = derive_dataset(synthetic_dataset, missing_share=0.3, seed=1)
    zeros = (np.load(missing / "test_data.npy") == 0).mean()
    assert 0.25 < zeros < 0.35
    assert derive_dataset(synthetic_dataset) == derive_dataset(synthetic_dataset, train_share=1.0)


@pytest.mark.parametrize("kwargs", [{"train_share": 0}, {"train_share": 1.5}, {"missing_share": 1.0}])
def test_bad_shares(synthetic_dataset, kwargs):
    with pytest.raises(ValueError, match="share"):
        derive_dataset(synthetic_dataset, **kwargs)


def test_a_derived_dataset_names_its_own_unseen_days(tmp_path):
    weeks = write_dataset(np.random.default_rng(0).random((24 * 21, 3)) + 1, None, tmp_path, "WEEKS",
                          step_minutes=60, start="2018-01-01").path  # three weeks from a Monday
    assert json.loads((weeks / "meta.json").read_text())["days of week unseen in training"] == []
    short = derive_dataset(weeks, train_share=0.1)  # training keeps its last 48 hours: Thursday to Saturday
    assert json.loads((short / "meta.json").read_text())["days of week unseen in training"] == \
        unseen_days(short) == ["Monday", "Tuesday", "Wednesday", "Sunday"]
