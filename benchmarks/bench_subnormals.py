"""What subnormal weights cost a CPU training step, and what ``FlushSubnormals`` gives back.

STAEformer at NYC-Taxi scale (69 nodes, its recipe's batch 16, 12 -> 12). Three states of the same model, timed
side by side in one process (forward, masked MAE loss, backward; no optimizer step, so the weights stay as set):

- ``normal``: the weights as initialised;
- ``subnormal``: ``--fraction`` of the entries of every attention query and key weight set to +-1e-39, below
  float32's smallest normal value (about 1.2e-38): the state weight decay left STAEformer's attention in on
  NYC-Taxi (14,341 of 1.13 million entries after 9 epochs, up to 15% of one query weight);
- ``flushed``: that model after one ``FlushSubnormals.on_step_end``, which sets those entries to zero.

    python benchmarks/bench_subnormals.py [--threads 1,2] [--steps 5] [--fraction 0.15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from types import SimpleNamespace

import torch


def build(nodes: int):
    from stlora_plugin import zoo
    from stlora_plugin.data import generate_synthetic, write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data, adj = generate_synthetic(num_nodes=nodes, num_days=2, seed=0)
        folder = write_dataset(data, adj, tmp, "BENCH", step_minutes=60).path
        cfg = zoo.experiment(zoo.model_class("STAEformer", False), str(folder), num_epochs=1,
                             ckpt_save_dir=os.path.join(tmp, "ckpt"))
        return cfg.model(cfg.model_config)


def seconds_per_step(model, batch: int, nodes: int, steps: int) -> float:
    from basicts.metrics import masked_mae

    torch.manual_seed(0)
    x = torch.randn(batch, 12, nodes)
    ts = torch.stack([torch.rand(batch, 12), torch.randint(0, 7, (batch, 12)) / 7], dim=-1)
    y = torch.randn(batch, 12, nodes)

    def step():
        model.zero_grad()
        out = model(x, inputs_timestamps=ts)
        masked_mae(out["prediction"] if isinstance(out, dict) else out, y).backward()

    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from stlora_plugin.runtime import FlushSubnormals

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=69)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--fraction", type=float, default=0.15)
    args = parser.parse_args()
    print(f"# python benchmarks/bench_subnormals.py --threads {args.threads} --steps {args.steps} --nodes {args.nodes}"
          f" --batch {args.batch} --fraction {args.fraction}")
    print(f"# STAEformer, CPU, N={args.nodes}, batch {args.batch}; median s per forward+backward of {args.steps}")
    print(f"{'threads':>7}{'normal':>9}{'subnormal':>11}{'flushed':>9}{'subnormal/normal':>18}{'flushed/normal':>16}")
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        model = build(args.nodes).train()
        normal = seconds_per_step(model, args.batch, args.nodes, args.steps)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith(("query.weight", "key.weight")):
                    chosen = torch.rand(p.shape, generator=generator) < args.fraction
                    signs = torch.randint(0, 2, p.shape, generator=generator) * 2 - 1
                    p[chosen] = (signs * 1e-39).to(p.dtype)[chosen]
        subnormal = seconds_per_step(model, args.batch, args.nodes, args.steps)
        flush = FlushSubnormals()
        runner = SimpleNamespace(model=model)
        flush.on_train_start(runner)
        flush.on_step_end(runner)
        flushed = seconds_per_step(model, args.batch, args.nodes, args.steps)
        print(f"{threads:>7}{normal:>9.3f}{subnormal:>11.3f}{flushed:>9.3f}{subnormal / normal:>18.2f}"
              f"{flushed / normal:>16.2f}", flush=True)


if __name__ == "__main__":
    main()
