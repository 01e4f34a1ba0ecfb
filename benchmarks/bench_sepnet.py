"""ST-SepNet on CPU with the real all-MiniLM-L6-v2: training-step time, per-node vs pooled input mode.

Part 1 (step time) builds the full model (variant "hypergraph", sigmoid gate) at NYC-Bike scale (N = 69
nodes, batch 16) for 12 -> 12 and 48 -> 48 and times ``forward + backward + Adam step`` on windows of the
built-in synthetic data, for both input modes of the temporal branch. Part 2 (accuracy) trains the
"llm_only" variant (the temporal branch alone, so the input mode is the only difference) through
BasicTSLauncher on a small synthetic dataset for a few epochs and reads the test MAE of each mode.

    python benchmarks/bench_sepnet.py [--steps 3] [--mae-epochs 2] [--threads 2]
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.runtime import benchmark_config, find_run_dir, read_test_metrics
from stlora_plugin.sepnet import STSepNet, STSepNetConfig

NYC_BIKE_NODES, BATCH = 69, 16
#: (input_len, output_len, patch_len, stride): 6 patches in both settings
HORIZONS = [(12, 12, 4, 2), (48, 48, 16, 8)]
MODES = ["per_node", "pooled"]


def windows(data: np.ndarray, length: int, horizon: int, batch: int, rng: np.random.Generator):
    """A random batch of z-scored windows and their timestamps from a [T, N] series."""
    data = (data - data.mean()) / data.std()
    starts = rng.integers(0, len(data) - length - horizon, size=batch)
    x = np.stack([data[s:s + length] for s in starts])  # [B, L, N]
    y = np.stack([data[s + length:s + length + horizon] for s in starts])  # [B, H, N]
    steps = starts[:, None] + np.arange(length)[None]  # [B, L]
    ts = np.stack([(steps % 288) / 288, ((steps // 288) % 7) / 7], axis=-1)  # [B, L, 2]
    return (torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32),
            torch.tensor(ts, dtype=torch.float32))


def step_time(mode: str, length: int, horizon: int, patch_len: int, stride: int, steps: int, warmup: int,
              variant: str = "hypergraph"):
    torch.manual_seed(0)
    config = STSepNetConfig(num_nodes=NYC_BIKE_NODES, input_len=length, output_len=horizon, patch_len=patch_len,
                            stride=stride, input_mode=mode, variant=variant)
    model = STSepNet(config).train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.Adam(trainable, lr=1e-3)
    data, _ = generate_synthetic(num_nodes=NYC_BIKE_NODES, num_days=7, seed=0)
    rng = np.random.default_rng(0)
    times = []
    for i in range(warmup + steps):
        x, y, ts = windows(data, length, horizon, BATCH, rng)
        start = time.perf_counter()
        optim.zero_grad()
        loss = (model(x, ts) - y).abs().mean()
        loss.backward()
        optim.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return {"step_s": float(np.mean(times)), "step_sd": float(np.std(times)),
            "params": sum(p.numel() for p in model.parameters()), "trainable": sum(p.numel() for p in trainable)}


def train_and_test(mode: str, epochs: int, root: Path, dataset: str) -> dict:
    from basicts import BasicTSLauncher
    config = STSepNetConfig(variant="llm_only", input_mode=mode, pooled_channels=4)
    cfg = benchmark_config(STSepNet, config, dataset, num_epochs=epochs, batch_size=32, seed=0,
                           ckpt_save_dir=str(root / f"ckpt_{mode}"))
    start = time.perf_counter()
    BasicTSLauncher.launch_training(cfg)
    wall = time.perf_counter() - start
    # (BasicTS keeps appending to the first run's log file within one process, so time the run here)
    return {"mae": read_test_metrics(find_run_dir(cfg.ckpt_save_dir))["overall"]["MAE"], "wall_s": wall}


def time_steps(args) -> None:
    print(f"ST-SepNet (variant hypergraph, all-MiniLM-L6-v2, 6 blocks, LoRA r=8 on query/value), CPU, "
          f"{args.threads} threads, N={NYC_BIKE_NODES}, batch {BATCH}; mean of {args.steps} steps after "
          f"{args.warmup} warm-up")
    print(f"{'setting':<10}{'mode':<10}{'LM sequences':>14}{'step s':>10}{'sd':>8}{'params':>12}{'trainable':>12}")
    results = {}
    for length, horizon, patch_len, stride in HORIZONS:
        for mode in MODES:
            r = step_time(mode, length, horizon, patch_len, stride, args.steps, args.warmup)
            results[(length, mode)] = r
            seqs = BATCH * (NYC_BIKE_NODES if mode == "per_node" else 8)
            print(f"{f'{length}->{horizon}':<10}{mode:<10}{seqs:>14}{r['step_s']:>10.2f}{r['step_sd']:>8.2f}"
                  f"{r['params']:>12,}{r['trainable']:>12,}", flush=True)
        r = step_time("per_node", length, horizon, patch_len, stride, args.steps, args.warmup, variant="no_llm")
        print(f"{f'{length}->{horizon}':<10}{'(no LLM)':<10}{0:>14}{r['step_s']:>10.2f}{r['step_sd']:>8.2f}"
              f"{r['params']:>12,}{r['trainable']:>12,}   spatial branch alone", flush=True)
        speedup = results[(length, 'per_node')]['step_s'] / results[(length, 'pooled')]['step_s']
        print(f"{'':<10}pooled is {speedup:.1f}x faster per step at {length}->{horizon}")


def compare_accuracy(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data, adj = generate_synthetic(num_nodes=12, num_days=4, seed=0)
        dataset = str(write_dataset(data, adj, root, "SYNTH12", step_minutes=5).path)
        print(f"\nAccuracy: variant llm_only, synthetic 12 nodes x 4 days, 12->12, batch 32, "
              f"{args.mae_epochs} epochs, test MAE (rescaled) over all horizons")
        print(f"{'mode':<10}{'test MAE':>10}{'run s':>10}   (run s: training + validation + test, wall clock)")
        for mode in MODES:
            r = train_and_test(mode, args.mae_epochs, root, dataset)
            print(f"{mode:<10}{r['mae']:>10.3f}{r['wall_s']:>10.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per setting (0: skip)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--mae-epochs", type=int, default=2, help="epochs of the accuracy comparison (0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)

    print(f"load average at start: {os.getloadavg()[0]:.1f} (other processes share these cores)")
    if args.steps > 0:
        time_steps(args)
    if args.mae_epochs > 0:
        compare_accuracy(args)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
