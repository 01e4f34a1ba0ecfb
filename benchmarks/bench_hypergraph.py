"""The hypergraph part of one ST-SepNet training step, this package against the published way, forward + backward.

The published ST-SepNet spatial branch runs three hypergraph layers per forward on features ``[16 to 32, 32,
N, ~40]``. Every forward it copies the node embeddings to the host, runs sklearn ``NearestNeighbors`` on them,
fills a dense incidence matrix in a Python loop, and for each layer creates a fresh hypergraph-convolution
layer that it applies with dense products, in bfloat16 and on the host (features copied there and back every
layer), so its backward runs there too. The reference below reproduces that pattern (with the same HGNN
normalization as ``HypergraphConv``, so both compute the same kind of layer), once in bfloat16 on the host as
published and once in float32 on the device (the honest dense column); this package does ``cdist`` + ``topk``
on the embeddings' device, and its three registered layers aggregate sparsely (node -> edge -> node), float32.

Both sides start from the same learned embeddings (one ``AdaptiveHypergraph``); the script checks that they
choose identical hyperedges, then reports the median wall-clock and CPU time of forward + backward of each,
interleaved so all see the same machine load, and their ratios.

Usage:
    python benchmarks/bench_hypergraph.py [--nodes 307 883] [--batch 16] [--steps 40] [--hidden 32] [--k 3]
                                          [--layers 3] [--repeats 10] [--device cpu|cuda] [--threads 1]
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

from hypergraph import AdaptiveHypergraph, HypergraphConv, safe_inverse_power


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


def published_incidence(builder: AdaptiveHypergraph, k: int, device, dtype) -> tuple[torch.Tensor, object]:
    """The published construction: host kNN with sklearn, then a Python loop filling a dense ``H [N, M]``."""
    points = builder.node_features().detach().cpu().numpy()
    _, indices = NearestNeighbors(n_neighbors=k, metric="euclidean").fit(points).kneighbors(points)
    incidence = torch.zeros(points.shape[0], points.shape[0], device=device, dtype=dtype)
    for edge, members in enumerate(indices):
        for node in members:
            incidence[node, edge] = 1.0
    return incidence, indices


def naive_step(builder: AdaptiveHypergraph, x: torch.Tensor, args, *, published: bool) -> tuple:
    """Forward + backward of ``args.layers`` fresh dense layers; ``published``: bfloat16 on the host, features
    copied there and back around every layer, as the published code; else float32 on ``x``'s device."""
    host, dtype = (torch.device("cpu"), torch.bfloat16) if published else (x.device, torch.float32)
    incidence, indices = published_incidence(builder, args.k, host, dtype)
    h = x
    for _ in range(args.layers):
        conv = NaiveHypergraphConv(x.shape[-1], x.shape[-1]).to(host, dtype)  # built in every forward
        h = conv(h.to(host, dtype), incidence).to(x.device, x.dtype) + h    # and back to the device
    h.square().mean().backward()
    _sync(x)
    return indices


def package_step(builder: AdaptiveHypergraph, convs: nn.ModuleList, x: torch.Tensor):
    """Forward + backward of this package's layers on one hypergraph built per forward (as the model does)."""
    hypergraph = builder()
    h = x
    for conv in convs:
        h = conv(h, hypergraph) + h
    h.square().mean().backward()
    _sync(x)
    return hypergraph


def two_aggregations(conv: HypergraphConv, x: torch.Tensor, hypergraph) -> torch.Tensor:
    """``HypergraphConv`` as computed before ``Hypergraph.propagate``: a gather to the edges, a scatter back."""
    to_nodes = hypergraph.membership * safe_inverse_power(hypergraph.node_degree(), 0.5)[hypergraph.members]
    edge_scale = hypergraph.edge_weight * safe_inverse_power(hypergraph.edge_degree(), 1.0)
    edges = hypergraph.node_to_edge(conv.theta(x), to_nodes * edge_scale.unsqueeze(-1))
    return hypergraph.edge_to_node(edges, to_nodes) + conv.bias


def before_step(builder: AdaptiveHypergraph, convs: nn.ModuleList, x: torch.Tensor) -> None:
    """:func:`package_step` with the former two-aggregation convolution."""
    hypergraph = builder()
    h = x
    for conv in convs:
        h = two_aggregations(conv, h, hypergraph) + h
    h.square().mean().backward()
    _sync(x)


def _sync(x: torch.Tensor) -> None:
    if x.is_cuda:
        torch.cuda.synchronize()


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
    convs = nn.ModuleList(HypergraphConv(args.hidden, args.hidden) for _ in range(args.layers)).to(device)
    x = torch.randn(args.batch, args.steps, num_nodes, args.hidden, device=device, requires_grad=True)

    hypergraph = package_step(builder, convs, x)
    indices = naive_step(builder, x, args, published=False)
    ours = [frozenset(row) for row in hypergraph.members.tolist()]
    theirs = [frozenset(row.tolist()) for row in indices]
    same = sum(a == b for a, b in zip(ours, theirs))

    (ours_wall, ours_cpu), (before_wall, before_cpu), (dense_wall, dense_cpu), (pub_wall, pub_cpu) = interleaved_ms(
        [lambda: package_step(builder, convs, x), lambda: before_step(builder, convs, x),
         lambda: naive_step(builder, x, args, published=False),
         lambda: naive_step(builder, x, args, published=True)], args.repeats)
    return (f"{num_nodes:>5} {ours_wall:>9.1f} {before_wall:>11.1f} {before_wall / ours_wall:>8.1f}x "
            f"{before_cpu / ours_cpu:>9.1f}x {pub_wall:>9.1f} {pub_wall / ours_wall:>7.1f}x "
            f"{pub_cpu / ours_cpu:>7.1f}x {dense_wall:>10.1f} {dense_wall / ours_wall:>7.1f}x "
            f"{dense_cpu / ours_cpu:>7.1f}x   {same}/{num_nodes}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[307, 883])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=40, help="time steps T of the features [B, T, N, C]")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--layers", type=int, default=3, help="hypergraph layers per forward")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1)  # a shared 2-core machine: 2 threads oversubscribe
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    print(f"# command (from {os.path.basename(os.getcwd())}/): "
          + " ".join(shlex.quote(a) for a in [python, *sys.argv]))
    print(f"# device {args.device}, torch {torch.__version__}, threads {args.threads}, features [B={args.batch}, "
          f"T={args.steps}, N, C={args.hidden}], k {args.k}, {args.layers} layers, forward + backward, median of "
          f"{args.repeats} runs, load average at start {os.getloadavg()[0]:.1f}")
    print("# ours = AdaptiveHypergraph() once + registered HypergraphConv layers (cdist + topk, sparse aggregation)")
    print("# published = sklearn kNN on host copies + Python loop filling H + a fresh dense layer per layer, bfloat16")
    print("#   on the host with copies there and back every layer (its backward too), as the published code")
    print("# before = ours with the former convolution (a gather to the hyperedges and a scatter back per layer)")
    print("# dense = the same dense pattern in float32 on the device (no dtype or host copies)")
    print("#   wall = median wall-clock ms; x = ratio to ours (wall, then process CPU time); "
          "same = hyperedges identical")
    print(f"{'N':>5} {'ours_wall':>9} {'before_wall':>11} {'before_x':>9} {'before_cpu_x':>10} {'pub_wall':>9} "
          f"{'pub_x':>8} {'pub_cpu_x':>8} {'dense_wall':>10} {'dense_x':>8} {'dense_cpu_x':>8}   same")
    with threadpool_limits(args.threads):                                   # sklearn / numpy BLAS threads too
        for num_nodes in args.nodes:
            print(run(num_nodes, args), flush=True)


if __name__ == "__main__":
    main()
