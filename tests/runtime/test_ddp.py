"""Multi-GPU training that finishes: BasicTS's runner under DDP on the CPU (gloo, 2 processes), for every zoo model
(plain and with ST-LoRA) and ST-SepNet with a language model; both ranks must finish and hold identical
parameters, and rank 0 must have tested the best checkpoint. Slow: every case trains through BasicTS twice over."""
from __future__ import annotations

import pytest
import torch

from adapters.adapters_helpers import BACKBONES
from ddp_cpu import train_ddp_on_cpu
from sepnet.sepnet_helpers import save_tiny_model
from stlora_plugin import zoo
from stlora_plugin.runtime import RankZeroEvaluation, find_run_dir

pytestmark = pytest.mark.slow

#: small versions of the zoo's models (the adapters' test table, module -> config)
SMALL = {"STID": dict(input_hidden_size=8, num_layers=1),
         **{name: extra for name, (_, _, extra) in BACKBONES.items()}}


def _config(name: str, stlora: bool, dataset: str, tmp_path, callbacks=None):
    cfg = zoo.named_experiment(name, dataset, stlora=stlora, model_overrides=SMALL[name], num_epochs=1,
                               batch_size=32, ckpt_save_dir=str(tmp_path / "ckpt"), test_interval=10 ** 6)
    if callbacks is not None:
        cfg.callbacks = callbacks
    return cfg


def _finishes_with_identical_parameters(cfg, tmp_path) -> None:
    assert any(isinstance(cb, RankZeroEvaluation) for cb in cfg.callbacks)
    ranks = train_ddp_on_cpu(cfg, tmp_path)
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:
        torch.testing.assert_close(ranks[0][key], ranks[1][key], rtol=0, atol=0, msg=key)
    run_dir = find_run_dir(cfg.ckpt_save_dir)
    assert (run_dir / "test_metrics.json").is_file() and list(run_dir.glob("*_best_val_MAE.pt"))


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("stlora", [False, True])
def test_every_zoo_model_trains_validates_and_tests_under_ddp(name, stlora, synthetic_dataset, tmp_path):
    _finishes_with_identical_parameters(_config(name, stlora, synthetic_dataset, tmp_path), tmp_path)


def test_st_sepnet_with_a_language_model_under_ddp(synthetic_dataset, tmp_path):
    llm = save_tiny_model("bert", tmp_path / "bert")
    cfg = zoo.sepnet_experiment(synthetic_dataset, llm_path=str(llm), input_mode="pooled",
                                train_overrides={"num_epochs": 1, "batch_size": 32, "test_interval": 10 ** 6,
                                                 "ckpt_save_dir": str(tmp_path / "ckpt")})
    _finishes_with_identical_parameters(cfg, tmp_path)


def test_without_rank_zero_evaluation_validation_fails(synthetic_dataset, tmp_path):
    """The control: BasicTS's validation through the DDP wrapper does not finish for a model with buffers."""
    cfg = _config("STGCN", False, synthetic_dataset, tmp_path,
                  callbacks=[cb for cb in _config("STGCN", False, synthetic_dataset, tmp_path / "x").callbacks
                             if not isinstance(cb, RankZeroEvaluation)])
    with pytest.raises(Exception, match=r"(?i)connection closed|gloo|process \d+ terminated"):
        train_ddp_on_cpu(cfg, tmp_path)


def test_early_stopping_stops_every_rank(synthetic_dataset, tmp_path):
    """Rank 0 alone validates; its decision to stop reaches rank 1, so both leave the loop (BasicTS's own
    EarlyStopping would leave rank 1 waiting in its next all-reduce)."""
    from stlora_plugin.runtime import EarlyStopping

    cfg = zoo.named_experiment("STID", synthetic_dataset, model_overrides=SMALL["STID"], num_epochs=6,
                               batch_size=32, ckpt_save_dir=str(tmp_path / "ckpt"), test_interval=10 ** 6,
                               callbacks=[EarlyStopping(1)])
    cfg.optimizer_params = {**cfg.optimizer_params, "lr": 0.0}  # nothing learns: validation never improves
    _finishes_with_identical_parameters(cfg, tmp_path)
    run_dir = find_run_dir(cfg.ckpt_save_dir)
    epochs = sorted(int(p.stem.rsplit("_", 1)[1]) for p in run_dir.glob("STID_[0-9]*.pt"))
    assert epochs and max(epochs) <= 3 < 6  # stopped after epoch 2 on rank 0, epoch 3 on every rank
    (log,) = run_dir.glob("training_log_rank0*")
    assert "Early stopping at epoch 2." in log.read_text()
