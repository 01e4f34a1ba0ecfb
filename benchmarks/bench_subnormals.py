"""What subnormal values cost a CPU training step, and what ``FlushSubnormals`` gives back.

STAEformer at NYC-Taxi scale (69 nodes, its recipe's batch 16, 12 -> 12), timed side by side in one process
(forward, masked MAE loss, backward; no optimizer step, so the weights stay as set), in these states:

- ``normal``: the weights as initialised;
- ``subnormal weights``: ``--fraction`` of the entries of every attention query and key weight set to +-1e-39,
  below float32's smallest normal value (about 1.2e-38): the state weight decay left STAEformer's attention in on
  NYC-Taxi (14,341 of 1.13 million entries after 9 epochs, up to 15% of one query weight);
- ``tiny weights``: every attention query and key weight scaled to 1e-20 of its value: normal numbers, but queries
  times keys (the attention scores) fall in the subnormal range, as activations;
- each of those two under ``FlushSubnormals`` as BasicTS runs it (``on_train_start``, one ``on_step_end``, the
  timed steps, ``on_train_end``): subnormal weights set to zero, and the main thread flushing subnormal results.

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
    print(f"{'threads':>7}{'normal':>9}{'subnormal w':>13}{'+ flush':>9}{'tiny w':>9}{'+ flush':>9}   ratios to normal")
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        times = {}
        for state in ("normal", "subnormal", "tiny"):
            torch.manual_seed(0)
            model = build(args.nodes).train()
            attention = [p for name, p in model.named_parameters() if name.endswith(("query.weight", "key.weight"))]
            generator = torch.Generator().manual_seed(0)
            with torch.no_grad():
                for p in attention:
                    if state == "subnormal":
                        chosen = torch.rand(p.shape, generator=generator) < args.fraction
                        signs = (torch.randint(0, 2, p.shape, generator=generator) * 2 - 1).to(p.dtype)
                        p[chosen] = (signs * 1e-39)[chosen]
                    elif state == "tiny":
                        p.mul_(1e-20)
            times[state] = seconds_per_step(model, args.batch, args.nodes, args.steps)
            if state == "normal":
                continue
            flush, runner = FlushSubnormals(), SimpleNamespace(model=model)
            flush.on_train_start(runner)
            flush.on_step_end(runner)
            times[state + " flushed"] = seconds_per_step(model, args.batch, args.nodes, args.steps)
            flush.on_train_end(runner)
        order = ("normal", "subnormal", "subnormal flushed", "tiny", "tiny flushed")
        ratios = " ".join(f"{times[k] / times['normal']:.2f}" for k in order[1:])
        print(f"{threads:>7}{times['normal']:>9.3f}{times['subnormal']:>13.3f}{times['subnormal flushed']:>9.3f}"
              f"{times['tiny']:>9.3f}{times['tiny flushed']:>9.3f}   {ratios}", flush=True)


if __name__ == "__main__":
    main()
