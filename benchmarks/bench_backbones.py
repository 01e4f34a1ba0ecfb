"""Training cost of the zoo's backbones, plain and with ST-LoRA (default preset), on CPU.

At PEMS04 scale by default (N = 307 nodes, batch 64, 12 -> 12; PEMS04's training split has 10,195 windows, i.e.
160 steps per epoch at batch 64), each model at the zoo's benchmark settings. For each model, in its own
subprocess (clean peak memory), it measures:

- parameters (plain and + ST-LoRA);
- seconds per training step (forward, masked MAE loss, backward, optimizer step; median of ``--steps`` steps
  after one warm-up step) and the implied seconds per epoch (steps per epoch x median step time);
- peak resident memory of the training steps (peak RSS minus RSS before them);
- the ratios ST-LoRA / plain, measured side by side in one run.

    python benchmarks/bench_backbones.py [--nodes 307] [--batch 64] [--steps 3] [--epoch-steps 160]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch

MODELS = ("STID", "LSTM", "STGCN", "GWNet", "AGCRN", "D2STGNN", "STAEformer")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def measure(model_name: str, stlora: bool, nodes: int, batch: int, steps: int, threads: int) -> dict:
    """One model's parameters, step times and peak memory (run inside a subprocess)."""
    from basicts.metrics import masked_mae

    from stlora_plugin import zoo
    from stlora_plugin.data import generate_synthetic, write_dataset

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data, adj = generate_synthetic(num_nodes=nodes, num_days=1, seed=0)
        folder = write_dataset(data, adj, tmp, "BENCH", step_minutes=5).path
        cfg = zoo.experiment(zoo.model_class(model_name, stlora), str(folder), num_epochs=1,
                             ckpt_save_dir=os.path.join(tmp, "ckpt"))
        model = cfg.model(cfg.model_config)
    optimizer = cfg.optimizer(model.parameters(), **cfg.optimizer_params)
    x = torch.randn(batch, 12, nodes)
    ts = torch.stack([torch.rand(batch, 12), torch.randint(0, 7, (batch, 12)) / 7], dim=-1)
    y = torch.randn(batch, 12, nodes)

    def step():
        out = model(x, inputs_timestamps=ts) if _takes_timestamps(model) else model(x)
        pred = out["prediction"] if isinstance(out, dict) else out
        loss = masked_mae(pred, y)
        if isinstance(out, dict) and "aux_loss" in out:
            loss = loss + out["aux_loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    step()  # warm-up
    before = _rss_mb()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"params": sum(p.numel() for p in model.parameters()), "sec_per_step": statistics.median(times),
            "peak_mb": max(peak - before, 0.0)}


def _takes_timestamps(model) -> bool:
    import inspect

    return "inputs_timestamps" in inspect.signature(type(model).forward).parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=307)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--epoch-steps", type=int, default=160, help="training steps per epoch to extrapolate to")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "STLORA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.child[0], args.child[1] == "1", args.nodes, args.batch, args.steps, args.threads)
        print(json.dumps(result))
        return
    print(f"# python benchmarks/bench_backbones.py --nodes {args.nodes} --batch {args.batch} --steps {args.steps} "
          f"--epoch-steps {args.epoch_steps} --threads {args.threads}")
    print(f"# CPU, {args.threads} threads, N={args.nodes}, batch {args.batch}, 12 -> 12; s/epoch = "
          f"{args.epoch_steps} steps x median s/step")
    header = (f"{'model':<11}{'params':>11}{'+ST-LoRA':>11}{'adapter %':>10}{'s/step':>9}{'+ST-LoRA':>9}"
              f"{'ratio':>7}{'s/epoch':>9}{'+ST-LoRA':>9}{'peak MB':>9}{'+ST-LoRA':>9}{'ratio':>7}")
    print(header)
    for name in args.models.split(","):
        runs = []
        for flag in ("0", "1"):
            out = subprocess.run([sys.executable, __file__, "--child", name, flag, "--nodes", str(args.nodes),
                                  "--batch", str(args.batch), "--steps", str(args.steps), "--threads",
                                  str(args.threads)], capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        plain, lora = runs
        print(f"{name:<11}{plain['params']:>11,}{lora['params']:>11,}"
              f"{100 * (lora['params'] / plain['params'] - 1):>10.2f}{plain['sec_per_step']:>9.3f}"
              f"{lora['sec_per_step']:>9.3f}{lora['sec_per_step'] / plain['sec_per_step']:>7.2f}"
              f"{plain['sec_per_step'] * args.epoch_steps:>9.1f}{lora['sec_per_step'] * args.epoch_steps:>9.1f}"
              f"{plain['peak_mb']:>9.0f}{lora['peak_mb']:>9.0f}"
              f"{lora['peak_mb'] / max(plain['peak_mb'], 1):>7.2f}", flush=True)


if __name__ == "__main__":
    main()
