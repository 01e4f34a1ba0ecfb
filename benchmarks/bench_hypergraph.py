"""Adaptive hypergraph construction + one HypergraphConv forward: this package against the published way.

The published ST-SepNet code rebuilds its hypergraph in every forward by copying the node embeddings to
the CPU, running sklearn ``NearestNeighbors`` on them, filling a dense incidence matrix in a Python loop,
and creating a fresh hypergraph-convolution layer that it then applies with dense products; its incidence and
its layers are bfloat16. The reference below reproduces that pattern (with the same HGNN normalization as
``HypergraphConv``, so both compute the same kind of layer), once in float32 and once in bfloat16 as
published; this package does ``cdist`` + ``topk`` on the embeddings' device and a sparse
node -> edge -> node aggregation with a layer built once, in float32.

Both sides start from the same learned embeddings (one ``AdaptiveHypergraph``); the script checks that
they choose identical hyperedges, then reports the median wall-clock and CPU time of each (autograd on,
as in training) and their ratios.

Usage:
    python benchmarks/bench_hypergraph.py [--nodes 307 883] [--batch 8] [--steps 12] [--hidden 32] [--k 3]
                                          [--repeats 30] [--device cpu|cuda] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time

import torch
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits
from torch import nn

from hypergraph import AdaptiveHypergraph, HypergraphConv


class NaiveHypergraphConv(nn.Module):
    """Dense ``D_v^-1/2 H D_e^-1 H^T D_v^-1/2 X Theta`` on an incidence ``H [N, M]`` (the reference)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.theta = nn.Linear(in_channels, out_channels, bias=False)

    def forward(self, x: torch.Tensor, incidence: torch.Tensor) -> torch.Tensor:
        dv = incidence.sum(1).clamp_min(1e-12).pow(-0.5)                      # [N]
        de = incidence.sum(0).clamp_min(1e-12).reciprocal()                  # [M]
        h = self.theta(x) * dv[:, None]                                      # [B, L, N, C]
        edges = torch.einsum("nm,...nc->...mc", incidence, h) * de[:, None]  # [B, L, M, C]
        return torch.einsum("nm,...mc->...nc", incidence, edges) * dv[:, None]  # [B, L, N, C]


def naive_forward(builder: AdaptiveHypergraph, x: torch.Tensor, k: int, parts: dict,
                  dtype: torch.dtype = torch.float32) -> tuple:
    """The published pattern: host kNN with sklearn, a Python loop filling H, a conv layer made per call."""
    t0 = time.perf_counter()
    points = builder.node_features().detach().cpu().numpy()
    _, indices = NearestNeighbors(n_neighbors=k, metric="euclidean").fit(points).kneighbors(points)
    t1 = time.perf_counter()
    num_nodes = points.shape[0]
    incidence = torch.zeros(num_nodes, num_nodes, device=x.device, dtype=dtype)
    for edge, members in enumerate(indices):
        for node in members:
            incidence[node, edge] = 1.0
    t2 = time.perf_counter()
    conv = NaiveHypergraphConv(x.shape[-1], x.shape[-1]).to(x.device, dtype)
    out = conv(x.to(dtype), incidence)
    if x.is_cuda:
        torch.cuda.synchronize()
    t3 = time.perf_counter()
    for key, value in (("knn", t1 - t0), ("fill", t2 - t1), ("conv", t3 - t2)):
        parts.setdefault(key, []).append(value)
    return out, indices


def package_forward(builder: AdaptiveHypergraph, conv: HypergraphConv, x: torch.Tensor):
    hypergraph = builder()
    out = conv(x, hypergraph)
    if x.is_cuda:
        torch.cuda.synchronize()
    return out, hypergraph


def interleaved_ms(fns, repeats: int, warmup: int = 2) -> list[tuple[float, float]]:
    """Median wall-clock and process CPU ms of each function, run in turn so all see the same machine load.

    CPU time leaves out the time the process spends descheduled on a busy shared machine.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    wall = [[] for _ in fns]
    cpu = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[i].append(time.perf_counter() - start)
            cpu[i].append(time.process_time() - start_cpu)
    return [(1e3 * statistics.median(w), 1e3 * statistics.median(c)) for w, c in zip(wall, cpu)]


def run(num_nodes: int, args) -> str:
    torch.manual_seed(0)
    device = torch.device(args.device)
    builder = AdaptiveHypergraph(num_nodes, embed_dim=16, k=args.k).to(device)
    conv = HypergraphConv(args.hidden, args.hidden).to(device)
    x = torch.randn(args.batch, args.steps, num_nodes, args.hidden, device=device)  # [B, L, N, C], as in the model

    _, hypergraph = package_forward(builder, conv, x)
    _, indices = naive_forward(builder, x, args.k, {})
    ours = [frozenset(row) for row in hypergraph.members.tolist()]
    theirs = [frozenset(row.tolist()) for row in indices]
    same = sum(a == b for a, b in zip(ours, theirs))

    parts: dict = {}
    (ours_wall, ours_cpu), (naive_wall, naive_cpu), (bf16_wall, bf16_cpu) = interleaved_ms(
        [lambda: package_forward(builder, conv, x), lambda: naive_forward(builder, x, args.k, parts),
         lambda: naive_forward(builder, x, args.k, {}, torch.bfloat16)], args.repeats)
    knn, fill, conv_ms = (1e3 * statistics.median(parts[key]) for key in ("knn", "fill", "conv"))
    return (f"{num_nodes:>5} {ours_wall:>9.2f} {naive_wall:>10.2f} {naive_wall / ours_wall:>8.1f}x "
            f"{ours_cpu:>8.2f} {naive_cpu:>9.2f} {naive_cpu / ours_cpu:>8.1f}x "
            f"{knn:>7.2f} {fill:>7.2f} {conv_ms:>7.2f} {bf16_wall:>9.2f} {bf16_wall / ours_wall:>8.1f}x "
            f"{bf16_cpu / ours_cpu:>8.1f}x   {same}/{num_nodes}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[307, 883])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=12, help="time steps L of the features [B, L, N, C]")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)  # a shared 2-core machine: 2 threads oversubscribe
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    print(f"# command (from {os.path.basename(os.getcwd())}/): "
          + " ".join(shlex.quote(a) for a in [python, *sys.argv]))
    print(f"# device {args.device}, torch {torch.__version__}, threads {args.threads}, features [B={args.batch}, "
          f"L={args.steps}, N, C={args.hidden}], k {args.k}, median of {args.repeats} runs, autograd on, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    print("# ours = AdaptiveHypergraph() + HypergraphConv (cdist + topk, sparse aggregation, layer built once)")
    print("# naive = sklearn NearestNeighbors on CPU copies + Python loop filling H + fresh dense conv layer,")
    print("#   in float32; bf16 = the same in bfloat16, the published code's dtype for H and its layers")
    print("#   wall = median wall-clock ms, cpu = median process CPU ms (robust to a busy shared machine);")
    print("#   naive wall split into its knn / fill / conv parts; same = hyperedges identical in both")
    print(f"{'N':>5} {'ours_wall':>9} {'naive_wall':>10} {'speedup':>9} {'ours_cpu':>8} {'naive_cpu':>9} "
          f"{'speedup':>9} {'knn':>7} {'fill':>7} {'conv':>7} {'bf16_wall':>9} {'speedup':>9} {'cpu_spd':>9}   same")
    with threadpool_limits(args.threads):                                   # sklearn / numpy BLAS threads too
        for num_nodes in args.nodes:
            print(run(num_nodes, args), flush=True)


if __name__ == "__main__":
    main()
