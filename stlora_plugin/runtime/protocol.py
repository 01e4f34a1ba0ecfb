"""The spatio-temporal benchmark protocol as a BasicTS config.

BasicTS 1.x defaults to long-term forecasting (336 -> 336, NaN nulls, per-channel norm, no rescale); results
are comparable to the STGNN leaderboards only under the protocol below, which :func:`benchmark_config`
applies: 12 -> 12 steps, the dataset's ``regular_settings`` (null value, global z-score, rescaled metrics),
MAE/RMSE/MAPE at horizons 3, 6 and 12, timestamps as inputs. Every experiment gets its own checkpoint
folder, so a rerun never silently resumes an old run (BasicTS resumes when the config hash matches).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from basicts.configs import BasicTSForecastingConfig, BasicTSModelConfig

from .callbacks import AuxiliaryLoss, FlushSubnormals, RankZeroEvaluation
from .paths import dataset_dir, read_meta
from .scaler import GlobalZScoreScaler

__all__ = ["DAY_NAMES", "DAY_OF_WEEK_FIELDS", "HORIZONS", "INPUT_LEN", "METRICS", "OPTIMIZER_PARAMS", "OUTPUT_LEN",
           "SPLIT", "SPLITS", "benchmark_config", "day_index", "day_value", "days_unseen_in_training",
           "fill_dataset_fields", "model_callbacks", "reading_finished_runs", "reported_horizons", "split_lengths",
           "unseen_days"]

logger = logging.getLogger(__name__)

#: The benchmark protocol: input and output steps, the horizons reported, the metrics, the split (train, val,
#: test shares, set when a dataset is written; the split names) and the optimizer settings a recipe starts from.
INPUT_LEN = 12
OUTPUT_LEN = 12
HORIZONS = (3, 6, 12)
METRICS = ("MAE", "RMSE", "MAPE")
SPLIT = (0.6, 0.2, 0.2)
SPLITS = ("train", "val", "test")
OPTIMIZER_PARAMS = {"lr": 2e-3, "weight_decay": 1e-4}


def split_lengths(num_steps: int) -> tuple[int, int, int]:
    """Contiguous train, validation and test lengths of a series of ``num_steps`` (:data:`SPLIT`), as BasicTS
    computes them."""
    train, val = int(num_steps * SPLIT[0]), int(num_steps * SPLIT[1])
    return train, val, num_steps - train - val


#: The timestamps every model receives (``inputs_timestamps [B, L, 2]``, float32): time of day in [0, 1), and day
#: of week written as ``day / 7`` with Monday = 0 (:func:`day_value` writes it, :func:`day_index` reads it).
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: Model-config fields that switch a model's day-of-week input (ours; BasicTS STID's). The zoo's recipes turn them
#: off on data whose validation or test hold days of week that training never does (:func:`unseen_days`).
DAY_OF_WEEK_FIELDS = ("day_of_week", "if_day_in_week")


def day_value(day):
    """The timestamp value of day of week ``day`` (0 = Monday to 6; an int or an array): ``day / 7``."""
    return day / len(DAY_NAMES)


def day_index(day_of_week):
    """The day of week, 0 (Monday) to 6, of timestamp values ``day / 7`` (a NumPy array or a torch tensor; the
    same kind comes back, as floats): the floor of ``7 x``, with a margin for float32 rounding."""
    return (day_of_week * len(DAY_NAMES) + 1e-4) // 1


def days_unseen_in_training(train_timestamps: np.ndarray, scored_timestamps: np.ndarray) -> list[str]:
    """The days of week that the scored steps (validation and test) hold and the training steps do not
    (timestamps ``[T, 2]``): a model's day-of-week embedding of such a day gets no training signal and stays at its
    initial value (a one-week series such as LOS-LOOP)."""
    train, scored = (set(day_index(np.asarray(stamps)[:, 1]).astype(int).tolist())
                     for stamps in (train_timestamps, scored_timestamps))
    return [DAY_NAMES[day] for day in sorted(scored - train)]


def unseen_days(dataset: str | os.PathLike) -> list[str]:
    """:func:`days_unseen_in_training` of a prepared dataset, read from its split files."""
    folder = dataset_dir(dataset)
    train, val, test = (np.load(folder / f"{split}_timestamps.npy") for split in SPLITS)
    return days_unseen_in_training(train, np.concatenate([val, test]))


def reported_horizons(output_len: int = OUTPUT_LEN) -> tuple[int, ...]:
    """The horizons a run of ``output_len`` steps reports: the protocol's 3, 6, 12 for 12 steps, otherwise a
    quarter, half and all of the horizon (48 steps: 12, 24, 48, the long-horizon papers' choice)."""
    if output_len == OUTPUT_LEN:
        return HORIZONS
    return tuple(sorted({max(1, output_len // 4), max(1, output_len // 2), output_len}))


#: Model-config fields that receive the node count of the dataset when left as None.
NODE_FIELDS = ("num_nodes", "num_features")
#: Model-config fields that receive the number of steps per day (time-of-day embeddings) when None.
STEPS_PER_DAY_FIELDS = ("steps_per_day", "num_time_in_day")
#: Model-config field that receives the dataset folder (models load their graph from it).
GRAPH_FIELD = "dataset"


def fill_dataset_fields(model_config: BasicTSModelConfig, dataset: str | os.PathLike) -> BasicTSModelConfig:
    """Set node count, steps per day and graph source of ``model_config`` from the dataset where None; warn when
    it reads the day of week on data whose validation or test hold days that training never does."""
    meta = read_meta(dataset)
    names = {f.name for f in dataclasses.fields(model_config)} if dataclasses.is_dataclass(model_config) \
        else set(model_config)
    for name in NODE_FIELDS:
        if name in names and getattr(model_config, name, None) is None:
            setattr(model_config, name, int(meta["num_vars"]))
    for name in STEPS_PER_DAY_FIELDS:
        if name in names and getattr(model_config, name, None) is None:
            setattr(model_config, name, 1440 // int(meta["frequency (minutes)"]))
    if GRAPH_FIELD in names and getattr(model_config, GRAPH_FIELD, None) is None and meta.get("has_graph"):
        setattr(model_config, GRAPH_FIELD, str(dataset_dir(dataset)))
    reading = [name for name in DAY_OF_WEEK_FIELDS if name in names and getattr(model_config, name, False)]
    unseen = unseen_days(dataset) if reading else []
    if unseen:
        logger.warning("%s reads the day of week (%s=True), but validation or test of %s hold %s, which training "
                       "never does: their day-of-week inputs stay untrained; set %s=False (the zoo's recipes do)",
                       type(model_config).__qualname__, reading[0], meta["name"], ", ".join(unseen), reading[0])
    return model_config


_READING_RUNS = False


@contextmanager
def reading_finished_runs():
    """Within it, ``benchmark_config`` builds configs of runs that already exist without refusing them: for
    evaluating or predicting from a finished run's own config file (``stlora eval``, ``stlora predict``)."""
    global _READING_RUNS
    before, _READING_RUNS = _READING_RUNS, True
    try:
        yield
    finally:
        _READING_RUNS = before


def model_callbacks(model: type, callbacks=()) -> list:
    """``callbacks`` plus those ``model`` needs: a working :class:`AuxiliaryLoss` for its ``aux_loss_keys``, each
    class of its ``_required_callbacks`` not yet present (BasicTS's broken ``AddAuxiliaryLoss`` is met by ours,
    a subclass), its ``default_callbacks`` (e.g. the ST-LoRA parameter report), :class:`RankZeroEvaluation`
    (validation under DDP that finishes) and :class:`FlushSubnormals` (CPU epochs that do not slow down as weights
    decay)."""
    callbacks = list(callbacks)
    aux_keys = getattr(model, "aux_loss_keys", ())
    needed = ([AuxiliaryLoss] if aux_keys else []) + list(getattr(model, "_required_callbacks", ())) \
        + list(getattr(model, "default_callbacks", ())) + [RankZeroEvaluation, FlushSubnormals]
    for kind in needed:
        if any(isinstance(cb, kind) for cb in callbacks):
            continue
        if issubclass(AuxiliaryLoss, kind):  # ours, or BasicTS's AddAuxiliaryLoss that it replaces
            callbacks.append(AuxiliaryLoss(aux_keys or ("aux_loss",)))
        else:
            callbacks.append(kind())
    return callbacks


def _experiment_dir(model: type, dataset_name: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return os.path.join("checkpoints", model.__name__, f"{dataset_name}_{stamp}_{uuid.uuid4().hex[:6]}")


def benchmark_config(model: type, model_config: BasicTSModelConfig, dataset: str | os.PathLike, *,
                     resume: bool = False, **overrides) -> BasicTSForecastingConfig:
    """A ``BasicTSForecastingConfig`` for ``model`` on a prepared ``dataset`` under the benchmark protocol.

    Args:
        model: the model class (a BasicTS 1.x model, possibly wrapped by ``st_lora``).
        model_config: its config; node count and graph source are filled from the dataset when None.
        dataset: a prepared dataset name (under ``$STLORA_DATASETS`` or ``./datasets``) or folder.
        resume: continue the run found in ``ckpt_save_dir`` instead of refusing to reuse it.
        **overrides: any ``BasicTSForecastingConfig`` field (``num_epochs``, ``batch_size``, ``lr``, ``seed``,
            ``ckpt_save_dir``, ``callbacks``, ...), applied after the protocol.
    """
    folder = dataset_dir(dataset)
    meta = read_meta(folder)
    settings = meta.get("regular_settings", {})
    fill_dataset_fields(model_config, folder)

    callbacks = model_callbacks(model, overrides.pop("callbacks", []))

    explicit_dir = "ckpt_save_dir" in overrides
    params = dict(
        model=model,
        model_config=model_config,
        dataset_name=meta["name"],
        dataset_params={"dataset_name": meta["name"], "data_file_path": str(folder), "memmap": False},
        input_len=INPUT_LEN,
        output_len=OUTPUT_LEN,
        use_timestamps=True,
        null_val=settings.get("null_val", 0.0),
        scaler=GlobalZScoreScaler,
        norm_each_channel=settings.get("norm_each_channel", False),
        rescale=settings.get("rescale", True),
        metrics=list(METRICS),
        eval_horizons=list(reported_horizons(overrides.get("output_len", OUTPUT_LEN))),
        batch_size=64,
        optimizer_params=dict(OPTIMIZER_PARAMS),
        num_epochs=100,
        callbacks=callbacks,
        ckpt_save_dir=_experiment_dir(model, meta["name"]),
    )
    if getattr(model, "default_optimizer", None) is not None:  # e.g. node-specific parameter groups
        params["optimizer"] = model.default_optimizer
    params.update(overrides)
    cfg = BasicTSForecastingConfig(**params)

    run_dir = Path(cfg.ckpt_save_dir) / cfg.md5
    previous = sorted(run_dir.glob("*.pt")) if run_dir.is_dir() else []
    if previous and not resume and not _READING_RUNS:
        raise FileExistsError(
            f"{run_dir} already holds a run of this exact config ({len(previous)} checkpoint files); BasicTS would "
            f"resume it{' and may skip training' if explicit_dir else ''}. Pass resume=True to continue it, or "
            "choose another ckpt_save_dir.")
    return cfg
