import pickle
import warnings

import numpy as np
import pytest
import torch

from stlora_plugin.runtime import ADJ_KINDS, chebyshev_basis, load_adjacency, load_supports, normalize_adjacency

# node 3 is isolated
ADJ = np.array([[0, 1, 0, 0], [1, 0, 2, 0], [0, 2, 0, 0], [0, 0, 0, 0]], dtype=np.float32)


@pytest.mark.parametrize("kind", sorted(ADJ_KINDS))
def test_every_kind_is_finite_without_warnings_on_isolated_nodes(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mats = normalize_adjacency(ADJ, kind)
    assert all(m.shape == (4, 4) and m.dtype == np.float32 and np.isfinite(m).all() for m in mats)


def test_formulas():
    (trans,) = normalize_adjacency(ADJ, "transition")
    np.testing.assert_allclose(trans[:3].sum(1), 1.0, rtol=1e-6)
    assert trans[3].sum() == 0
    fwd, bwd = normalize_adjacency(ADJ.T.copy() + np.triu(ADJ), "doubletransition")
    assert fwd.shape == bwd.shape == (4, 4)
    (sym,) = normalize_adjacency(ADJ, "symnadj")
    a = ADJ + np.eye(4)
    d = a.sum(1) ** -0.5
    np.testing.assert_allclose(sym, d[:, None] * a * d[None], rtol=1e-6)
    (scalap,) = normalize_adjacency(ADJ, "scalap")
    eig = np.linalg.eigvalsh(scalap)
    assert eig.max() == pytest.approx(1.0, abs=1e-5) and eig.min() >= -1 - 1e-5
    np.testing.assert_array_equal(normalize_adjacency(ADJ, "identity")[0], np.eye(4))


def test_unknown_kind_names_the_choices():
    with pytest.raises(ValueError, match="doubletransition"):
        normalize_adjacency(ADJ, "laplace")


def test_load_from_dataset_folder_and_dcrnn_pickle(tmp_path, synthetic_dataset):
    supports = load_supports(synthetic_dataset, "doubletransition")
    assert supports.shape == (2, 12, 12) and supports.dtype == torch.float32
    with open(tmp_path / "adj_mx.pkl", "wb") as f:
        pickle.dump((["a", "b", "c", "d"], {"a": 0}, ADJ), f, protocol=2)
    np.testing.assert_array_equal(load_adjacency(tmp_path / "adj_mx.pkl"), ADJ)


def test_missing_dataset_says_how_to_prepare(tmp_path, monkeypatch):
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="stlora data prepare"):
        load_supports("NOPE", "transition")


def test_chebyshev_recurrence():
    lap = torch.from_numpy(normalize_adjacency(ADJ, "scalap")[0])
    basis = chebyshev_basis(lap, 3)
    torch.testing.assert_close(basis[0], torch.eye(4))
    torch.testing.assert_close(basis[2], 2 * lap @ lap - torch.eye(4))
