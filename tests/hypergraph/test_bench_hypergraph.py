"""The benchmark script runs, and its naive reference picks the same hyperedges as the package."""
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_hypergraph.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_hypergraph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_and_hyperedges_agree(bench, capsys):
    bench.main(["--nodes", "12", "30", "--batch", "2", "--hidden", "8", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("# command")
    rows = [line.split() for line in lines if line and not line.startswith("#") and not line.lstrip().startswith("N")]
    assert [row[0] for row in rows] == ["12", "30"]
    assert [row[-1] for row in rows] == ["12/12", "30/30"]


def test_naive_conv_matches_the_package_on_binary_hyperedges(bench):
    import torch

    from hypergraph import AdaptiveHypergraph, Hypergraph, HypergraphConv

    torch.manual_seed(0)
    hg = AdaptiveHypergraph(9, k=3)()
    binary = Hypergraph(hg.members, torch.ones_like(hg.membership), torch.ones(9), 9)
    ours, naive = HypergraphConv(4, 4, bias=False), bench.NaiveHypergraphConv(4, 4)
    naive.theta.weight.data.copy_(ours.theta.weight.data)
    x = torch.randn(2, 9, 4)
    torch.testing.assert_close(naive(x, binary.incidence()), ours(x, binary), rtol=1e-5, atol=1e-5)
