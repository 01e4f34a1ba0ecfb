"""GraphLearner (MTGNN): dense formula, top-k sparsity, gradients, determinism, errors."""
import pytest
import torch

from hypergraph import GraphLearner


def test_dense_formula():
    torch.manual_seed(0)
    learner = GraphLearner(6, embed_dim=4, alpha=2.0).double()
    m1 = torch.tanh(2.0 * (learner.source @ learner.source_transform.weight.t() + learner.source_transform.bias))
    m2 = torch.tanh(2.0 * (learner.target @ learner.target_transform.weight.t() + learner.target_transform.bias))
    expected = torch.relu(torch.tanh(2.0 * (m1 @ m2.t() - m2 @ m1.t())))
    torch.testing.assert_close(learner.dense(), expected)
    assert torch.all(learner.dense().diagonal() == 0)                  # antisymmetric inside: no self-links


@pytest.mark.parametrize("num_nodes, top_k", [(6, 2), (6, 20), (9, 1)])
def test_keeps_the_top_k_of_each_row(num_nodes, top_k):
    torch.manual_seed(1)
    learner = GraphLearner(num_nodes, top_k=top_k).double()
    dense, sparse = learner.dense(), learner()
    kept = min(top_k, num_nodes)
    assert torch.all((sparse != 0).sum(1) <= kept) and torch.all(sparse >= 0)
    for v in range(num_nodes):
        threshold = dense[v].sort(descending=True).values[kept - 1]
        torch.testing.assert_close(sparse[v], torch.where(dense[v] > threshold, dense[v], sparse[v]))
        assert torch.all(sparse[v][dense[v] < threshold] == 0)


def test_gradients_reach_every_parameter_and_output_is_deterministic():
    torch.manual_seed(2)
    learner = GraphLearner(8, embed_dim=4, top_k=3)
    assert torch.equal(learner(), learner())
    (learner() * torch.randn(8, 8)).sum().backward()
    for name, param in learner.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_nodes=0), "num_nodes"), (dict(num_nodes=3, embed_dim=0), "embed_dim"),
    (dict(num_nodes=3, top_k=0), "top_k"), (dict(num_nodes=3, alpha=0.0), "alpha"),
])
def test_invalid_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GraphLearner(**kwargs)


def test_reset_and_repr():
    learner = GraphLearner(4, top_k=9)
    before = learner.source.detach().clone()
    learner.reset_parameters()
    assert not torch.equal(before, learner.source)
    assert "top_k=4" in repr(learner)
