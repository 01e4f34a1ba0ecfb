"""SpatialNetwork: shapes for each variant, gradients to every parameter, determinism, training, errors."""
import pytest
import torch

from hypergraph import VARIANTS, SpatialNetwork

B, L, N = 2, 12, 5


def ring(num_nodes=N):
    adjacency = torch.zeros(num_nodes, num_nodes)
    idx = torch.arange(num_nodes)
    adjacency[idx, (idx + 1) % num_nodes] = 1.0
    return adjacency


def build(variant, **kwargs):
    kwargs.setdefault("adjacency", ring() if variant == "static" else None)
    return SpatialNetwork(N, kwargs.pop("input_len", L), kwargs.pop("output_len", 12), variant=variant,
                          hidden_dim=8, embed_dim=4, **kwargs)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("input_len, output_len, num_layers", [(12, 12, 2), (24, 3, 2), (6, 12, 1), (12, 12, 3)])
def test_shapes(variant, input_len, output_len, num_layers):
    torch.manual_seed(0)
    net = build(variant, input_len=input_len, output_len=output_len, num_layers=num_layers)
    out = net(torch.randn(B, input_len, N))
    assert out.shape == (B, output_len, N) and torch.isfinite(out).all()
    assert net.padded_len == max(input_len, 1 + 6 * num_layers)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_gradients_reach_every_parameter(variant):
    torch.manual_seed(1)
    net = build(variant)
    net(torch.randn(B, L, N)).pow(2).mean().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_variants_build_what_they_need():
    assert build("static").graph_learner is None and build("static").hypergraph_learner is None
    assert build("gnn").graph_learner is not None and build("gnn").hypergraph_learner is None
    hyper = build("hypergraph")
    assert hyper.hypergraph_learner.k == 3 and all(layer.hyperconv is not None for layer in hyper.layers)
    assert all(torch.sigmoid(layer.mix_logit) == 0.5 for layer in hyper.layers)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_eval_is_deterministic_and_train_uses_dropout(variant):
    torch.manual_seed(2)
    net = build(variant, dropout=0.3)
    x = torch.randn(B, L, N)
    assert not torch.allclose(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_few_steps_reduce_the_loss(variant):
    torch.manual_seed(3)
    net = build(variant, dropout=0.0)
    x, y = torch.randn(B, L, N), torch.randn(B, 12, N)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = (net(x) - y).abs().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_static_graph_is_the_only_path_between_nodes():
    """With no edges, perturbing node 0 changes node 0's forecast only; on a ring it reaches its neighbour."""
    torch.manual_seed(4)
    x = torch.randn(B, L, N)
    y = x.clone()
    y[:, :, 0] += 1.0
    for adjacency, reached in ((torch.zeros(N, N), {0}), (ring(), {0, 1, N - 1})):
        net = build("static", adjacency=adjacency).eval()
        changed = (net(x) - net(y)).abs().sum((0, 1)) > 1e-6
        assert {int(i) for i in changed.nonzero()} >= reached
        if adjacency.sum() == 0:
            assert {int(i) for i in changed.nonzero()} == reached


def test_graphs_are_not_saved_in_the_state_dict():
    net = build("static")
    assert "static_transitions" not in net.state_dict()
    torch.testing.assert_close(net.static_transitions.sum(-1), torch.ones(2, N))


def test_reset_parameters_restores_the_gate():
    net = build("hypergraph")
    with torch.no_grad():
        net.layers[0].mix_logit.fill_(3.0)
    net.reset_parameters()
    assert net.layers[0].mix_logit.item() == 0.0
    assert "variant='hypergraph'" in repr(net)


@pytest.mark.parametrize("kwargs, match", [
    (dict(variant="hyper"), r"variant must be one of \['gnn', 'hypergraph', 'static'\], got 'hyper'"),
    (dict(variant="static", adjacency=None), "variant 'static' needs adjacency"),
    (dict(variant="static", adjacency=torch.ones(4, 4)), r"expected \[N, N\] with N = num_nodes = 5"),
    (dict(variant="static", adjacency=-ring()), "non-negative"),
    (dict(variant="gnn", hidden_dim=6), "hidden_dim must be divisible by 4"),
    (dict(variant="hypergraph", k=6), "k"),
    (dict(variant="gnn", num_layers=0), "num_layers"),
    (dict(variant="gnn", dropout=1.0), "dropout"),
])
def test_invalid_settings(kwargs, match):
    kwargs.setdefault("hidden_dim", 8)
    with pytest.raises(ValueError, match=match):
        SpatialNetwork(N, L, 12, **kwargs)


def test_adjacency_with_a_learned_variant_warns():
    with pytest.warns(UserWarning, match="only used by variant 'static'"):
        build("gnn", adjacency=ring())


@pytest.mark.parametrize("shape", [(B, L + 1, N), (B, L, N + 1), (L, N)])
def test_wrong_input_shape(shape):
    with pytest.raises(ValueError, match=r"expected \[B, L=12, N=5\]"):
        build("gnn")(torch.randn(*shape))


SETTINGS = [dict(gamma=0.5), dict(gamma=0.2), dict(gamma=0.0, gamma_learnable=False),
            dict(gamma=1.0, gamma_learnable=False), dict(gamma=0.5, gamma_learnable=False),
            dict(hypergraph_conv="attention"), dict(hypergraph_conv="sage")]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_every_mixing_and_convolution_trains_every_parameter(settings):
    torch.manual_seed(3)
    net = build("hypergraph", **settings)
    out = net(torch.randn(B, L, N))
    assert out.shape == (B, 12, N)
    out.pow(2).mean().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_gamma_sets_the_graph_share_and_what_is_built():
    learnable = build("hypergraph", gamma=0.2)
    assert all(abs(float(layer.graph_share().detach()) - 0.2) < 1e-6 for layer in learnable.layers)
    hyper_only = build("hypergraph", gamma=0.0, gamma_learnable=False)
    assert hyper_only.graph_learner is None and hyper_only.hypergraph_learner is not None
    assert all(layer.forward_prop is None and layer.graph_share() == 0.0 for layer in hyper_only.layers)
    graph_only = build("hypergraph", gamma=1.0, gamma_learnable=False)
    assert graph_only.hypergraph_learner is None and all(layer.hyperconv is None for layer in graph_only.layers)
    fixed = build("hypergraph", gamma=0.5, gamma_learnable=False)
    assert all(layer.mix_logit is None and layer.graph_share() == 0.5 for layer in fixed.layers)


def test_graph_only_mixing_equals_the_gnn_variant():
    """gamma fixed at 1 keeps nothing of the hypergraph: the same weights give the gnn variant's forecast."""
    torch.manual_seed(4)
    gnn = build("gnn").eval()
    graph_only = build("hypergraph", gamma=1.0, gamma_learnable=False).eval()
    graph_only.load_state_dict(gnn.state_dict())
    x = torch.randn(B, L, N)
    torch.testing.assert_close(graph_only(x), gnn(x))
    mixed = build("hypergraph", gamma=0.5, gamma_learnable=False).eval()
    mixed.load_state_dict(gnn.state_dict(), strict=False)  # the control: a hypergraph share changes it
    assert not torch.allclose(mixed(x), gnn(x))


def test_hypergraph_convolutions_are_selectable():
    from hypergraph import HypergraphAttention, HypergraphConv, HypergraphSAGE

    for name, kind in (("conv", HypergraphConv), ("attention", HypergraphAttention), ("sage", HypergraphSAGE)):
        assert all(isinstance(layer.hyperconv, kind) for layer in build("hypergraph", hypergraph_conv=name).layers)


@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=1.5), r"gamma must be in \[0, 1\]"),
    (dict(gamma=0.0), r"\(0, 1\) when learnable"),
    (dict(gamma=1.0), "fix gamma_learnable=False for 0 or 1"),
    (dict(hypergraph_conv="gat"), r"hypergraph_conv must be one of \['attention', 'conv', 'sage'\]"),
])
def test_bad_mixing_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build("hypergraph", **kwargs)
