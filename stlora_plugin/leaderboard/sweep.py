"""Resumable comparison runs: every (dataset, model, seed, variant) trained through BasicTSLauncher.

Variants (arms) are of three kinds: ``plain`` (the backbone), ``stlora`` (backbone + ST-LoRA trained together
from scratch) and ``freeze`` (ST-LoRA adapters trained on top of the frozen, trained ``plain`` backbone of the same
seed); an arm may add model-config overrides (ablations: ``{"no_gate": ("stlora", {"stlora_fusion": "mean"})}``),
under the key ``optimizer_params`` optimizer options merged into the recipe's (``{"node_lr_scale": 10.0}``), and
under the key ``train`` training-config fields (``{"finetune_from": path}``: the adaptation study).
All arms of one (dataset, model, seed) share data, protocol, seed and budget.

Each finished run appends one JSON record to ``runs.jsonl`` in the output folder, with the settings it was trained
with (every field of its resolved model config, and its optimizer options); a rerun skips what is there, and a run
that was interrupted continues from its last finished epoch (:meth:`Sweep.run_one`). A recorded run is
reused only if the command still resolves to the same settings: after a default changed, or with other
``--stlora`` values, the rerun stops with the differences instead of mixing runs of two configurations in one
table. Several sweeps may train into one output folder at once (the same command started once per core or GPU):
each run is claimed by the sweep that trains it (a lock file per run, released when its process ends, however it
ends), the others go on to the next unclaimed run, and a freeze-mode run waits for its plain run to finish.

Checkpoints go to a folder derived from the output folder (:func:`checkpoint_root`: ``checkpoints/<parent>_<name>-<hash
of its absolute path>``), so comparisons into different output folders never share, delete or fine-tune each
other's runs, and can train at the same time. A torn last line of ``runs.jsonl`` (a write interrupted by a crash)
is skipped with a warning naming the file and line; any other line that is not a run record stops with that
file and line.
"""
from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from .. import zoo
from ..adapters.checkpoint import ADAPTER_ATTR
from ..adapters.report import count_parameters
from ..runtime import EarlyStopping, last_checkpoint_epoch, launch_training, read_test_metrics, read_training_log
from ..runtime.launch import EpochProgress
from ..runtime.memory import PeakMemory
from .pernode import adapter_diagnostics, per_node_mae

__all__ = ["ARMS", "SETTINGS_ADDED", "Budget", "RunKey", "Sweep", "checkpoint_root", "finished_seeds", "plan",
           "records_folder", "recorded_settings", "run_settings", "settings_changes"]

logger = logging.getLogger(__name__)

KINDS = ("plain", "stlora", "freeze")
#: arm name -> (kind, model-config overrides); the arms of a plain comparison
ARMS = {kind: (kind, {}) for kind in KINDS}


@dataclass(frozen=True)
class RunKey:
    dataset: str
    model: str
    seed: int
    variant: str

    @property
    def slug(self) -> str:
        return f"{self.dataset}/{self.model}/{self.variant}/seed{self.seed}"

    @classmethod
    def of(cls, record: dict) -> RunKey:
        """The key of a run record (a line of ``runs.jsonl``)."""
        return cls(record["dataset"], record["model"], record["seed"], record["variant"])


@dataclass
class Budget:
    """The training budget every run gets: epochs (the most it trains), early stopping (``patience``: stop after
    that many epochs without a better validation MAE; None: train every epoch), batch size (None: the recipe's;
    per process under DDP), model settings, the GPUs it trains on (BasicTS's ``gpus``, e.g. "0" or "0,1";
    None: the CPU) and the forecast length (``horizon`` steps from as many; None: the protocol's 12 -> 12).
    Either way the best-validation checkpoint is the one tested."""

    num_epochs: int = 10
    batch_size: int | None = None
    stlora: dict = field(default_factory=dict)  # stlora_* model-config overrides, e.g. {"stlora_rank": 8}
    backbone: dict = field(default_factory=dict)  # backbone model-config overrides for every variant
    gpus: str | None = None
    patience: int | None = None
    horizon: int | None = None


#: The fields every run record has (records written by this module).
RECORD_FIELDS = ("dataset", "model", "seed", "variant", "metrics", "val_mae")


def checkpoint_root(out_dir: str | os.PathLike) -> Path:
    """The checkpoint folder of the comparison writing into ``out_dir``: its own, whatever else runs."""
    absolute = Path(out_dir).resolve()
    digest = hashlib.sha1(str(absolute).encode()).hexdigest()[:8]
    return Path("checkpoints") / f"{absolute.parent.name}_{absolute.name}-{digest}"


#: Model settings added after runs were first recorded, with the value that every run recorded before trained with
#: (a record without the key is read as having it).
SETTINGS_ADDED = {"day_of_week": True}


def run_settings(cfg) -> dict:
    """Every field of a run's resolved model config and its optimizer options, as JSON values; file locations
    (absolute paths) are left out: they differ between machines, and the dataset is part of the run's key."""
    values = {**dataclasses.asdict(cfg.model_config), "optimizer_params": cfg.optimizer_params}
    values = json.loads(json.dumps(values, default=repr))
    return {k: v for k, v in values.items() if not (isinstance(v, str) and os.path.isabs(v))}


def recorded_settings(recorded: dict, now: dict) -> dict:
    """The settings a run's record trained with, read against those a command resolves to now (``run_settings``):
    a setting of :data:`SETTINGS_ADDED` that the record lacks and the model has now is read at its value there."""
    return {**{k: v for k, v in SETTINGS_ADDED.items() if k in now}, **recorded}


def settings_changes(recorded: dict, now: dict) -> dict:
    """``{setting: (recorded value, value now)}`` of the settings that differ between a run's record and what a
    command resolves to now (:func:`recorded_settings`)."""
    recorded = recorded_settings(recorded, now)
    return {k: (recorded.get(k), now.get(k)) for k in {*now, *recorded} if recorded.get(k) != now.get(k)}


class Sweep:
    """Train the runs of a comparison, skipping those already recorded in ``out_dir/runs.jsonl``.

    The console shows one bar over the runs and one over the current run's epochs; BasicTS's own console output
    goes to each run's ``console.log`` (beside its training log), unless ``verbose`` (``--verbose``) is set.
    """

    #: show BasicTS's console output of every run (the process-wide console preference; ``--verbose``)
    verbose = False

    def __init__(self, out_dir: str | os.PathLike, budget: Budget, *,
                 ckpt_root: str | os.PathLike | None = None, arms: dict | None = None,
                 reuse: Sequence[str | os.PathLike] = ()):
        self.out_dir = Path(out_dir)
        self.reuse = [Path(folder) for folder in reuse]
        self.budget = budget
        self.arms = {**ARMS, **(arms or {})}
        unknown = {name: kind for name, (kind, _) in self.arms.items() if kind not in KINDS}
        if unknown:
            raise ValueError(f"arms {unknown} have unknown kinds; choose from {KINDS}")
        self.ckpt_root = Path(ckpt_root) if ckpt_root is not None else checkpoint_root(out_dir)
        self.records_path = self.out_dir / "runs.jsonl"

    def records(self) -> list[dict]:
        """The run records of ``runs.jsonl`` (a torn last line is skipped with a warning)."""
        if not self.records_path.is_file():
            return []
        lines = self.records_path.read_text(encoding="utf-8").splitlines()
        records = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                if number == len(lines):  # an interrupted write: that run is trained again
                    logger.warning("%s:%d: skipped a torn last record (%s); its run will be trained again",
                                   self.records_path, number, err.msg)
                    continue
                raise ValueError(f"{self.records_path}:{number}: not a run record ({err.msg}); remove or repair "
                                 "that line") from None
            missing = [k for k in RECORD_FIELDS if not isinstance(record, dict) or k not in record]
            if missing:
                raise ValueError(f"{self.records_path}:{number}: not a run record of this package (missing "
                                 f"{', '.join(missing)}); remove that line or choose another --out")
            records.append(record)
        return records

    def done(self) -> set[RunKey]:
        return {RunKey.of(r) for r in self.records()}

    def config(self, key: RunKey, *, resume: bool = False):
        """The BasicTS config of one run (``resume=True``: of a run already on disk, e.g. to evaluate it)."""
        overrides = {"num_epochs": self.budget.num_epochs, "seed": key.seed, "test_interval": 10 ** 6,
                     "ckpt_save_dir": str(self.ckpt_root / key.slug), "resume": resume}
        if self.budget.batch_size:
            overrides["batch_size"] = self.budget.batch_size
        if self.budget.gpus:
            overrides["gpus"] = self.budget.gpus
        if self.budget.patience:
            overrides["callbacks"] = [EarlyStopping(self.budget.patience)]
        if key.variant not in self.arms:
            raise ValueError(f"unknown variant '{key.variant}'; this sweep has {', '.join(self.arms)}")
        kind, arm_overrides = self.arms[key.variant]
        arm_overrides = dict(arm_overrides)
        optimizer_params = arm_overrides.pop("optimizer_params", {})
        overrides.update(arm_overrides.pop("train", {}))  # training-config fields, e.g. finetune_from
        model_overrides = dict(self.budget.backbone)
        if kind != "plain":
            model_overrides.update(self.budget.stlora)
        model_overrides.update(arm_overrides)
        if kind == "freeze":  # start from the trained plain backbone (only a run on disk may lack it)
            model_overrides["stlora_freeze_backbone"] = True
            try:
                overrides["finetune_from"] = str(self.best_checkpoint(RunKey(key.dataset, key.model, key.seed,
                                                                             "plain")))
                overrides["strict_load"] = False  # the plain checkpoint has no adapter keys
            except FileNotFoundError:
                if not resume:
                    raise
        cfg = zoo.named_experiment(key.model, key.dataset, stlora=kind != "plain", horizon=self.budget.horizon,
                                   model_overrides=model_overrides, **overrides)
        cfg.optimizer_params = {**cfg.optimizer_params, **optimizer_params}
        return cfg

    def best_checkpoint(self, key: RunKey) -> Path:
        """The best-validation checkpoint of a finished run of this sweep (a frozen backbone or an adaptation
        starts from it)."""
        found = sorted((self.ckpt_root / key.slug).glob("*/*_best_val_*.pt"))
        if not found:
            why = (f"its record is in {self.records_path}, but its checkpoints under {self.ckpt_root} are gone "
                   "(git keeps records, not checkpoints); remove that record to train the run again"
                   if key in self.done() else "the run is not trained yet")
            raise FileNotFoundError(f"no best-validation checkpoint of {key.slug}: {why}")
        return found[0]

    def run_one(self, key: RunKey) -> dict:
        """Train one run and append its record. A run interrupted after some epochs continues from its last
        epoch checkpoint: BasicTS restores the model, optimizer, learning-rate schedule and best validation,
        :class:`EarlyStopping` its count; only the data order after the resume differs from an uninterrupted
        run. ``resumed_from_epoch`` in the record says where (0: trained in one go)."""
        folder = self.ckpt_root / key.slug
        md5 = self.config(key, resume=True).md5
        resumed_from = last_checkpoint_epoch(folder / md5)
        for stale in sorted(folder.iterdir()) if folder.is_dir() else ():  # other settings, or nothing to continue
            if stale.is_dir() and (stale.name != md5 or not resumed_from):
                shutil.rmtree(stale)
        if resumed_from:
            logger.info("%s: continuing the interrupted run after epoch %d", key.slug, resumed_from)
        cfg = self.config(key, resume=bool(resumed_from))
        model = cfg.model(cfg.model_config)
        if not self.verbose:
            cfg.callbacks.append(EpochProgress(key.slug))
        start = time.time()
        with PeakMemory() as peak:
            run_dir = launch_training(cfg, quiet=not self.verbose)
        log = read_training_log(run_dir)
        epoch_times = log.get("train/time", [])
        record = {
            **asdict(key),
            "budget": asdict(self.budget),
            "settings": run_settings(cfg),
            "metrics": read_test_metrics(run_dir),
            "params": count_parameters(model),
            "sec_per_epoch": sum(epoch_times) / len(epoch_times) if epoch_times else None,
            "wall_seconds": time.time() - start,  # of this launch (a resumed run: since the resume)
            "resumed_from_epoch": resumed_from,
            "peak_memory_mb": peak.mb,
            "peak_memory_kind": peak.kind,
            "train_loss": log.get("train/loss", []),
            "val_mae": log.get("val/MAE", []),
            "epochs_trained": len(log.get("train/loss", [])),
            "per_node_mae": per_node_mae(cfg, run_dir).round(5).tolist(),
            # kept in the record, so that reports need no checkpoint (git keeps records, not checkpoints)
            "adapter_diagnostics": adapter_diagnostics(cfg, run_dir) if hasattr(model, ADAPTER_ATTR) else None,
            "run_dir": str(run_dir),
        }
        self._append(record)
        return record

    def _append(self, record: dict) -> None:
        with self._locked(self.out_dir / "runs.lock"):  # one writer at a time, whatever else trains here
            with open(self.records_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())

    @staticmethod
    @contextmanager
    def _locked(path: Path, wait: bool = True):
        """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block; yields False, holding
        nothing, when ``wait`` is off and another process holds it. The system releases it if the process dies."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def claim(self, key: RunKey, wait: bool = False):
        """The lock that one sweep holds while it trains (or copies) ``key``: ``with sweep.claim(key) as mine``,
        where ``mine`` is False if another sweep is training that run now (``wait=True``: until it has finished)."""
        return self._locked(self.ckpt_root / ".claims" / (key.slug.replace("/", "__") + ".lock"), wait)

    def run(self, keys: list[RunKey]) -> list[dict]:
        """Train every key not yet recorded, with a progress bar and an estimate of the time left; runs another
        sweep is training into the same folder are left to it."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._check_settings(keys)
        for folder in self.reuse:
            self.copy_runs(folder, keys)
        todo = [k for k in keys if k not in self.done()]
        logger.info("%d of %d runs to train (%d found on disk)", len(todo), len(keys), len(keys) - len(todo))
        elsewhere = []
        with tqdm(todo, desc="runs", unit="run", dynamic_ncols=True) as bar:
            for key in bar:
                if self.arms[key.variant][0] == "freeze":  # its plain run may be training in another sweep
                    with self.claim(dataclasses.replace(key, variant="plain"), wait=True):
                        pass
                with self.claim(key) as mine:
                    if not mine:
                        elsewhere.append(key.slug)
                    elif key not in self.done():  # else finished by another sweep since the list was made
                        bar.set_postfix_str(key.slug)
                        self.run_one(key)
        if elsewhere:
            logger.warning("%d runs are being trained by another sweep into %s (%s); its tables will have them",
                           len(elsewhere), self.out_dir, ", ".join(elsewhere))
        return self.records()

    def copy_runs(self, folder: str | os.PathLike, keys: list[RunKey]) -> list[RunKey]:
        """Copy, from another comparison folder, the finished runs among ``keys`` not recorded here that were
        trained with this sweep's budget and the settings this sweep resolves to (record and checkpoints), instead
        of training them again; each copied record says ``reused_from``. Under one seed BasicTS trains the same
        run again bit for bit on the CPU, so a copy is the run this sweep would train (an ablation's plain and
        ST-LoRA arms are a leaderboard's). Runs with other settings or budget are left to train here."""
        source = Sweep(records_folder(folder), self.budget)
        wanted, done, copied = set(keys), self.done(), []
        for r in source.records():
            key = RunKey.of(r)
            if key not in wanted or key in done or r["budget"] != asdict(self.budget) or "settings" not in r \
                    or settings_changes(r["settings"], run_settings(self.config(key, resume=True))):
                continue
            origin, target = source.ckpt_root / key.slug, self.ckpt_root / key.slug
            if not (origin / Path(r["run_dir"]).name).is_dir():
                logger.warning("%s: not copied from %s, its checkpoints are gone", key.slug, folder)
                continue
            with self.claim(key) as mine:
                if not mine or key in self.done():  # another sweep is training it here, or has just copied it
                    continue
                if target.exists():  # an unfinished run of this sweep
                    shutil.rmtree(target)
                shutil.copytree(origin, target)
                self._append({**r, "run_dir": str(target / Path(r["run_dir"]).name), "reused_from": str(folder)})
            copied.append(key)
            done.add(key)
        logger.info("%d runs copied from %s", len(copied), folder)
        return copied

    def _check_settings(self, keys: list[RunKey]) -> None:
        """Refuse to reuse recorded runs whose settings differ from what ``keys`` resolve to now."""
        wanted, stale, unknown = set(keys), [], 0
        for r in self.records():
            key = RunKey.of(r)
            if key not in wanted:
                continue
            if "settings" not in r:  # written before settings were recorded
                unknown += 1
                continue
            changed = settings_changes(r["settings"], run_settings(self.config(key, resume=True)))
            if changed:
                stale.append(f"  {key.slug}: " + ", ".join(f"{k} {old!r} -> {new!r}"
                                                          for k, (old, new) in sorted(changed.items())))
        if unknown:
            logger.warning("%d recorded runs in %s predate recorded settings; reused as they are", unknown,
                           self.records_path)
        if stale:
            raise ValueError(f"{len(stale)} runs recorded in {self.records_path} were trained with other "
                             f"settings than this command resolves to now (recorded -> now):\n" + "\n".join(stale)
                             + "\nChoose another --out for the new settings, or pass the recorded ST-LoRA values "
                             "(--stlora KEY=VALUE).")


def records_folder(folder: str | os.PathLike) -> Path:
    """Where a comparison folder keeps ``runs.jsonl``: the folder itself (leaderboard, compare) or its ``runs/``
    (ablation)."""
    folder = Path(folder)
    for candidate in (folder, folder / "runs"):
        if (candidate / "runs.jsonl").is_file():
            return candidate
    raise FileNotFoundError(f"{folder} holds no runs.jsonl (nor runs/runs.jsonl): not a comparison folder")


def plan(datasets: list[str], models: list[str], seeds: list[int], variants: list[str]) -> list[RunKey]:
    """All run keys, seed by seed, each seed's arms ``plain`` first: every finished seed is a complete pair (the
    statistics are paired by seed), so a long comparison stopped part way already compares, and a freeze-mode arm
    comes after the plain run it builds on."""
    for name in models:
        zoo.model_class(name)  # clear error for unknown names
    order = sorted(dict.fromkeys(variants), key=lambda v: v != "plain")
    return [RunKey(d, m, s, v) for d in datasets for m in models for s in seeds for v in order]


def finished_seeds(keys: Sequence[RunKey], records: list[dict]) -> list[int]:
    """The seeds of ``keys`` whose every run is among ``records``: what a report of a sweep still training covers
    in full (``report_header(..., finished=...)``)."""
    done = {RunKey.of(r) for r in records}
    return [seed for seed in dict.fromkeys(k.seed for k in keys) if all(k in done for k in keys if k.seed == seed)]
