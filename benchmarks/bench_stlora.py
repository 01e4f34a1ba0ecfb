"""What ST-LoRA costs over each of the zoo's seven backbones at PEMS04 scale, per preset, on CPU.

Every backbone at the zoo's benchmark settings (the published sizes: STID hidden 32 with 3 layers, ...),
N = 307 nodes, batch 64, 12 -> 12. Side by side in one run, for each backbone:

- parameters: adapter / backbone for every preset (targets of the ``paper`` preset: <= 1% on every backbone
  of >= 250k parameters, <= 2% on STID and LSTM);
- training-step time (forward, masked MAE + the adapter's penalty, backward, optimizer step) of the plain
  backbone and of each preset, interleaved step by step so that load from other processes hits all alike; the
  ratio of medians (target of the ``paper`` preset: <= 1.05x). The time is the process's CPU time with one
  torch thread (the compute the step needed, whatever else runs on the machine).

Then the adapter alone (``STLoRAFusion``, ``paper`` preset, on a given backbone forecast) up to LargeST scale
(N = 8,600): CPU time per training step and the peak resident memory of its steps, each in its own subprocess,
to show that both grow linearly in N.

    python benchmarks/bench_stlora.py [--steps 5] [--seconds 20] [--models STID,LSTM,...] [--nodes 307,...,8600]
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from basicts.metrics import masked_mae

from stlora_plugin import parameter_report, zoo
from stlora_plugin.adapters import PRESETS, STLoRAFusion
from stlora_plugin.adapters.config import PREFIX, resolve_hyperparameters
from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.runtime.optim import NodeGroupAdam

NODES, BATCH, LEN = 307, 64, 12
MODELS = ("STID", "LSTM", "STGCN", "GWNet", "AGCRN", "D2STGNN", "STAEformer")
ADAPTER_PRESET = "paper"  # the adapter-alone rows: the preset at the paper's cost


def build(name: str, preset: str | None, dataset: str):
    """The zoo's plain backbone (``preset`` None) or its ST-LoRA twin with ``preset``, and the zoo's optimizer."""
    overrides = None if preset is None else {PREFIX + k: v for k, v in PRESETS[preset].items()}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = zoo.experiment(zoo.model_class(name, stlora=preset is not None), dataset, num_epochs=1,
                             model_overrides=overrides, ckpt_save_dir=tmp)
    torch.manual_seed(0)
    model = cfg.model(cfg.model_config).train()
    return model, cfg.optimizer(model.parameters(), **cfg.optimizer_params)


def batch(nodes: int = NODES):
    g = torch.Generator().manual_seed(1)
    stamps = torch.stack([torch.rand(BATCH, LEN, generator=g), torch.randint(0, 7, (BATCH, LEN), generator=g) / 7], -1)
    return torch.randn(BATCH, LEN, nodes, generator=g), stamps, torch.randn(BATCH, LEN, nodes, generator=g)


def train_step(model, optimizer, inputs, stamps, targets) -> None:
    takes_stamps = "inputs_timestamps" in inspect.signature(type(model).forward).parameters
    out = model(inputs, inputs_timestamps=stamps) if takes_stamps else model(inputs)
    prediction = out["prediction"] if isinstance(out, dict) else out
    loss = masked_mae(prediction, targets)
    if isinstance(out, dict) and "aux_loss" in out:
        loss = loss + out["aux_loss"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def backbone_rows(name: str, dataset: str, steps: int, seconds: float) -> list[str]:
    """Parameters and interleaved CPU step times of the plain backbone and every preset: ``steps`` timed steps each,
    more for a fast backbone (as many as fit in ``seconds`` of its plain steps), after one warm-up step each."""
    runs = {"plain": build(name, None, dataset), **{p: build(name, p, dataset) for p in PRESETS}}
    data = batch()
    start = time.process_time()
    train_step(*runs["plain"], *data)
    steps = max(steps, int(seconds / max(time.process_time() - start, 1e-3)))
    cpu = {key: [] for key in runs}
    for rep in range(steps + 1):  # one warm-up step each (the plain one's again: it is cheap)
        for key, (model, optimizer) in runs.items():
            start = time.process_time()
            train_step(model, optimizer, *data)
            if rep:
                cpu[key].append(time.process_time() - start)
    base = statistics.median(cpu["plain"])
    rows = []
    for preset in PRESETS:
        report = parameter_report(runs[preset][0])
        median = statistics.median(cpu[preset])
        rows.append(f"{name:11s} {preset:8s} {report.backbone:10,d} {report.adapter:8,d} "
                    f"{report.overhead_percent:7.2f}% {base:8.3f} {median:8.3f} {median / base:6.3f}x {steps:6d}")
    return rows


def _status_kib(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def adapter_child(nodes: int, steps: int) -> dict:
    """Subprocess entry: the adapter alone at ``nodes``: median CPU s/step and peak resident growth (MB)."""
    hp = resolve_hyperparameters(ADAPTER_PRESET, {})
    torch.manual_seed(0)
    fusion = STLoRAFusion.from_hyperparameters(nodes, LEN, LEN, hp).train()
    optimizer = NodeGroupAdam(fusion.parameters(), lr=2e-3, weight_decay=1e-4)
    inputs, _, targets = batch(nodes)
    base = torch.randn(BATCH, LEN, nodes)

    def step():
        loss = masked_mae(fusion(inputs, base), targets) + fusion.penalty()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")  # reset the high-water mark to the current resident size
    before = _status_kib("VmRSS")
    times = []
    for _ in range(steps):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return {"sec": statistics.median(times), "peak_mb": (_status_kib("VmHWM") - before) / 1024,
            "params": sum(p.numel() for p in fusion.parameters())}


def adapter_rows(node_counts: list[int], steps: int) -> list[str]:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    rows = []
    for nodes in node_counts:
        out = subprocess.run([sys.executable, __file__, "--adapter-child", str(nodes), "--steps", str(steps)],
                             check=True, capture_output=True, text=True, env=env).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rows.append(f"{nodes:7,d} {r['params']:9,d} {1000 * r['sec']:9.2f} {1e6 * r['sec'] / nodes:10.2f} "
                    f"{r['peak_mb']:9.1f} {1024 * r['peak_mb'] / nodes:10.2f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model at least (after a warm-up step)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="a fast backbone gets as many timed steps as fit in this many seconds of its plain steps")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo backbones")
    parser.add_argument("--nodes", default="307,883,2150,4300,8600", help="node counts of the adapter-alone rows")
    parser.add_argument("--adapter-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.adapter_child:
        print(json.dumps(adapter_child(args.adapter_child, max(args.steps, 10))))
        return
    print(f"ST-LoRA overhead at PEMS04 scale: N={NODES}, batch {BATCH}, {LEN} -> {LEN}, CPU time with 1 torch thread, "
          f"median of interleaved training steps (at least {args.steps}; torch {torch.__version__})")
    print(f"{'backbone':11s} {'preset':8s} {'backbone':>10s} {'adapter':>8s} {'params':>8s} {'plain s':>8s} "
          f"{'wrapped':>8s} {'time':>7s} {'steps':>6s}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data, adj = generate_synthetic(num_nodes=NODES, num_days=1, seed=0)
        dataset = str(write_dataset(data, adj, tmp, "PEMS04_SCALE", step_minutes=5).path)
        for name in args.models.split(","):
            print("\n".join(backbone_rows(name, dataset, args.steps, args.seconds)), flush=True)
    print(f"\nThe adapter alone ({ADAPTER_PRESET} preset) on a given forecast, batch {BATCH}: CPU time per training step and "
          "peak resident memory of its steps, in total and per node")
    print(f"{'nodes':>7s} {'params':>9s} {'ms/step':>9s} {'us/node':>10s} {'peak MB':>9s} {'KB/node':>10s}")
    print("\n".join(adapter_rows([int(n) for n in args.nodes.split(",")], args.steps)))


if __name__ == "__main__":
    main()
