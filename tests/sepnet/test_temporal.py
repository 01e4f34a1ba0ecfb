"""TemporalBranch: both input modes, node independence, scale equivariance, frozen LM, LoRA learning."""
from __future__ import annotations

import pytest
import torch

from stlora_plugin.sepnet import FrozenLanguageModel, TemporalBranch

B, L, H, N = 2, 12, 12, 5


def build(path: str, **kwargs) -> TemporalBranch:
    torch.manual_seed(0)
    lm = FrozenLanguageModel(path, lora_rank=2)
    kwargs.setdefault("dropout", 0.0)
    return TemporalBranch(lm, num_nodes=N, input_len=L, output_len=H, num_prototypes=10, **kwargs)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(B, L, N, generator=gen), torch.rand(B, L, 2, generator=gen)


@pytest.mark.parametrize("arch", ["gpt2", "bert", "llama", "qwen2"])
@pytest.mark.parametrize("mode", ["per_node", "pooled", "mean"])
def test_shape_and_adapter_gradients(tiny_lms, arch, mode):
    branch = build(tiny_lms[arch], input_mode=mode, num_channels=3)
    x, ts = batch()
    out = branch(x, ts)
    assert out.shape == (B, H, N)
    out.pow(2).mean().backward()
    lora = list(branch.lm.lora_modules())
    assert lora and all(m.lora_B.grad.abs().sum() > 0 for m in lora)
    assert all(p.grad is None for p in branch.lm.parameters() if not p.requires_grad)


def test_per_node_keeps_nodes_apart_pooled_mixes_them(tiny_lms):
    x, ts = batch()
    moved = x.clone()
    moved[:, :, 0] += torch.linspace(0, 1, L)[None]
    per_node = build(tiny_lms["gpt2"]).eval()
    diff = (per_node(moved, ts) - per_node(x, ts)).abs().sum(dim=(0, 1))
    assert diff[0] > 0 and torch.all(diff[1:] < 1e-5)
    pooled = build(tiny_lms["gpt2"], input_mode="pooled", num_channels=2).eval()
    assert torch.all((pooled(moved, ts) - pooled(x, ts)).abs().sum(dim=(0, 1)) > 0)


@pytest.mark.parametrize("mode", ["per_node", "pooled", "mean"])
def test_instance_norm_makes_it_scale_equivariant(tiny_lms, mode):
    branch = build(tiny_lms["llama"], input_mode=mode, num_channels=2).eval()
    x, ts = batch()
    with torch.no_grad():
        torch.testing.assert_close(branch(3.0 * x + 5.0, ts), 3.0 * branch(x, ts) + 5.0, rtol=1e-3, atol=1e-3)


def test_mean_mode_forecasts_the_node_mean_for_every_node(tiny_lms):
    """The published temporal input: one sequence per sample (the mean over nodes), the same forecast everywhere;
    it equals the per-node branch run on a one-node network holding that mean series."""
    x, ts = batch()
    mean_mode = build(tiny_lms["gpt2"], input_mode="mean").eval()
    out = mean_mode(x, ts)
    assert torch.equal(out, out[..., :1].expand_as(out))  # every node gets the same forecast
    shuffled = x[..., torch.randperm(N)]
    torch.testing.assert_close(mean_mode(shuffled, ts), out)  # only the mean over nodes matters
    torch.manual_seed(0)
    single = TemporalBranch(FrozenLanguageModel(tiny_lms["gpt2"], lora_rank=2), num_nodes=1, input_len=L,
                            output_len=H, num_prototypes=10, dropout=0.0).eval()
    single.load_state_dict(mean_mode.state_dict())
    torch.testing.assert_close(single(x.mean(dim=2, keepdim=True), ts), out[..., :1])
    calls = []
    mean_mode.lm.register_forward_hook(lambda m, args, o: calls.append(args[0].shape[0]))
    mean_mode(x, ts)
    assert calls == [B]  # B sequences, not B * N


def test_prompt_adds_tokens_and_changes_output(tiny_lms):
    x, ts = batch()
    plain = build(tiny_lms["bert"]).eval()
    prompted = build(tiny_lms["bert"], prompt="traffic flow every five minutes").eval()
    assert prompted.prefix.num_tokens == plain.prefix.num_tokens + 5
    with torch.no_grad():
        assert not torch.allclose(prompted(x, ts), plain(x, ts))


def test_one_step_trains_adapters_not_lm(tiny_lms):
    branch = build(tiny_lms["qwen2"])
    x, ts = batch()
    frozen = {n: p.detach().clone() for n, p in branch.lm.named_parameters() if not p.requires_grad}
    lora_b = [m.lora_B.detach().clone() for m in branch.lm.lora_modules()]
    optim = torch.optim.Adam([p for p in branch.parameters() if p.requires_grad], lr=1e-2)
    (branch(x, ts) - x.flip(1)).abs().mean().backward()
    optim.step()
    assert all(not torch.equal(m.lora_B, b) for m, b in zip(branch.lm.lora_modules(), lora_b))
    assert all(torch.equal(p, frozen[n]) for n, p in branch.lm.named_parameters() if not p.requires_grad)


def test_errors(tiny_lms):
    lm = FrozenLanguageModel(tiny_lms["gpt2"])
    with pytest.raises(ValueError, match="input_mode"):
        TemporalBranch(lm, num_nodes=N, input_len=L, output_len=H, input_mode="mixed")
    branch = build(tiny_lms["gpt2"])
    with pytest.raises(ValueError, match="num_nodes=5"):
        branch(torch.randn(B, L, N + 1), torch.rand(B, L, 2))
