"""Overhead of ST-LoRA over its backbone at PEMS04 scale (N = 307, batch 64, 12 -> 12), on CPU.

For STID (the leaderboard setting: 3 layers, time-of-day and day-of-week embeddings) and STGCN (the paper's
channels), each with the ``default`` and ``lite`` presets, it measures side by side in one run:

- parameters: adapter / backbone (the targets: default <= 10% on STGCN, lite <= 1%);
- training-step time (forward, loss, backward, optimizer step), backbone and wrapped models interleaved
  step by step so that load from other processes hits all of them alike; the ratio of medians. The time is
  the process's CPU time (with one torch thread, the compute the step needed, whatever else runs on the
  machine); wall-clock medians are printed too, but on a shared machine they mostly measure the others' load;
- peak memory of training steps: each model runs in its own subprocess; the peak resident set size during
  three steps minus the resident size just before them (CPU PyTorch has no allocator statistics), with the
  ratio to the backbone's. It covers activations, gradients, optimizer state and workspace.

    python benchmarks/bench_stlora.py [--steps 15] [--threads 1]

The graph for STGCN comes from a synthetic 307-node dataset written to a temporary folder; the data are
random tensors of the right shapes (speed does not depend on their values).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from basicts.models.STID import STID, STIDConfig
from stlora_plugin import parameter_report, st_lora
from stlora_plugin.backbones.stgcn import STGCN, STGCNConfig
from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.runtime import NodeGroupAdam

NODES, BATCH, LEN = 307, 64, 12
PRESETS = ("default", "lite")
BACKBONES = {
    "STID": (STID, STIDConfig, dict(input_len=LEN, output_len=LEN, num_features=NODES, input_hidden_size=32,
                                    num_layers=3, if_time_in_day=True, if_day_in_week=True, num_time_in_day=288)),
    "STGCN": (STGCN, STGCNConfig, dict(input_len=LEN, output_len=LEN, num_nodes=NODES)),
}
# module-level wrapped classes, so they have stable names
WRAPPED = {(name, preset): st_lora(spec[0], name=f"{name}STLoRA_{preset}", preset=preset)
           for name, spec in BACKBONES.items() for preset in PRESETS}
globals().update({cls.__name__: cls for cls in WRAPPED.values()})


def build(backbone: str, preset: str | None, dataset: str):
    """The plain backbone (``preset`` None) or its ST-LoRA twin, with an optimizer."""
    model_cls, config_cls, kwargs = BACKBONES[backbone]
    if backbone == "STGCN":
        kwargs = {**kwargs, "dataset": dataset}
    torch.manual_seed(0)
    if preset is None:
        model = model_cls(config_cls(**kwargs))
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    else:
        wrapped = WRAPPED[(backbone, preset)]
        model = wrapped(wrapped.Config(**kwargs))
        optimizer = NodeGroupAdam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    return model.train(), optimizer


def batch():
    g = torch.Generator().manual_seed(1)
    stamps = torch.stack([torch.rand(BATCH, LEN, generator=g), torch.randint(0, 7, (BATCH, LEN), generator=g) / 7], -1)
    return torch.randn(BATCH, LEN, NODES, generator=g), stamps, torch.randn(BATCH, LEN, NODES, generator=g)


def train_step(model, optimizer, inputs, stamps, targets) -> None:
    kwargs = {"inputs_timestamps": stamps} if isinstance(model, STID) else {}
    out = model(inputs, **kwargs)
    prediction = out["prediction"] if isinstance(out, dict) else out
    loss = (prediction - targets).abs().mean()
    if isinstance(out, dict) and "aux_loss" in out:
        loss = loss + out["aux_loss"]
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _status_kib(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def memory_child(backbone: str, preset: str, dataset: str, steps: int) -> None:
    """Subprocess entry: print the peak resident-size growth (bytes) over ``steps`` training steps as JSON.

    The high-water mark is reset just before the steps (``/proc/self/clear_refs``), so import-time peaks do not
    count; the parent fixes glibc's mmap threshold so that freed tensors go back to the system.
    """
    model, optimizer = build(backbone, None if preset == "none" else preset, dataset)
    data = batch()
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")  # reset VmHWM to the current resident size
    before = _status_kib("VmRSS")
    for _ in range(steps):
        train_step(model, optimizer, *data)
    print(json.dumps({"peak_growth": (_status_kib("VmHWM") - before) * 1024}))


def measure_memory(backbone: str, preset: str, dataset: str, steps: int, threads: int) -> float:
    cmd = [sys.executable, __file__, "--memory-child", backbone, preset, dataset, "--threads", str(threads)]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_growth"] / 2 ** 20


def measure_times(backbone: str, dataset: str, steps: int) -> tuple[dict, dict, dict]:
    """Median CPU and wall time (s) per step of the backbone and each preset, interleaved; parameter reports."""
    runs = {"none": build(backbone, None, dataset), **{p: build(backbone, p, dataset) for p in PRESETS}}
    data = batch()
    cpu, wall = {name: [] for name in runs}, {name: [] for name in runs}
    for rep in range(steps + 2):
        for name, (model, optimizer) in runs.items():
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            train_step(model, optimizer, *data)
            if rep >= 2:  # two warm-up steps
                cpu[name].append(time.process_time() - start_cpu)
                wall[name].append(time.perf_counter() - start_wall)
    cpu, wall = ({name: statistics.median(t) for name, t in series.items()} for series in (cpu, wall))
    return cpu, wall, {p: parameter_report(runs[p][0]) for p in PRESETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=15, help="timed steps per model")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: CPU time = compute)")
    parser.add_argument("--memory-child", nargs=3, metavar=("BACKBONE", "PRESET", "DATASET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(*args.memory_child, steps=3)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data, adj = generate_synthetic(num_nodes=NODES, num_days=2, seed=0)
        dataset = str(write_dataset(data, adj, tmp, "PEMS04_SCALE", step_minutes=5).path)
        print(f"ST-LoRA overhead at PEMS04 scale: N={NODES}, batch {BATCH}, {LEN} -> {LEN}, CPU, "
              f"{args.threads} threads, median of {args.steps} interleaved training steps (torch {torch.__version__})")
        print(f"{'backbone':9s} {'preset':8s} {'backbone':>9s} {'adapter':>8s} {'params':>7s} {'cpu s':>7s} "
              f"{'wrapped':>8s} {'cpu x':>6s} {'wall s':>7s} {'wrapped':>8s} {'wall x':>6s} {'peak MB':>8s} "
              f"{'wrapped':>8s} {'mem x':>6s}")
        for backbone in BACKBONES:
            cpu, wall, reports = measure_times(backbone, dataset, args.steps)
            base_mem = measure_memory(backbone, "none", dataset, 3, args.threads)
            for preset in PRESETS:
                report = reports[preset]
                mem = measure_memory(backbone, preset, dataset, 3, args.threads)
                print(f"{backbone:9s} {preset:8s} {report.backbone:9,d} {report.adapter:8,d} "
                      f"{report.overhead_percent:6.2f}% {cpu['none']:7.3f} {cpu[preset]:8.3f} "
                      f"{cpu[preset] / cpu['none']:5.2f}x {wall['none']:7.3f} {wall[preset]:8.3f} "
                      f"{wall[preset] / wall['none']:5.2f}x {base_mem:8.1f} {mem:8.1f} {mem / base_mem:5.2f}x")


if __name__ == "__main__":
    main()
