import json

import numpy as np
import pytest

from stlora_plugin.data import derive_dataset


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
