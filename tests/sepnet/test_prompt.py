"""PromptPrefix and series_statistics: token counts, statistics in torch, cached description, time token."""
from __future__ import annotations

import pytest
import torch

from stlora_plugin.sepnet import PromptPrefix, series_statistics

D = 16


def test_statistics_of_known_series():
    steps = torch.arange(12.0)
    series = torch.stack([2.0 * steps + 1.0, -0.5 * steps, torch.tensor([3.0, 1, 2, 9, 0, 5, 4, 8, 7, 6, 11, 10])])
    stats = series_statistics(series)
    torch.testing.assert_close(stats[0], torch.tensor([1.0, 23.0, 11.0, 22.0]))  # slope 2 * 11 steps
    torch.testing.assert_close(stats[1], torch.tensor([-5.5, 0.0, -3.0, -5.5]))
    assert stats[2, 0] == 0 and stats[2, 1] == 11 and stats[2, 2] == 5 and stats[2, 3] > 0


@pytest.mark.parametrize("text,stats,time,tokens", [
    (None, False, False, 0), (None, True, False, 4), (None, False, True, 1), (3, True, True, 8), (3, False, False, 3),
])
def test_token_count(text, stats, time, tokens):
    prefix = PromptPrefix(D, text_embeds=None if text is None else torch.randn(text, D), stats=stats, time=time)
    out = prefix(torch.randn(6, 12), torch.rand(2, 12, 2))
    assert prefix.num_tokens == tokens and out.shape == (6, tokens, D)


def test_description_is_cached_not_saved():
    text = torch.randn(3, D)
    prefix = PromptPrefix(D, text_embeds=text, stats=False, time=False)
    assert "text_embeds" not in prefix.state_dict()
    torch.testing.assert_close(prefix(torch.randn(4, 12))[2], text)


def test_time_token_follows_each_sample():
    prefix = PromptPrefix(D, stats=False, time=True)
    timestamps = torch.rand(2, 12, 2)
    out = prefix(torch.randn(2 * 3, 12), timestamps)[:, 0]  # 3 series per sample, batch-major
    torch.testing.assert_close(out[0], out[2])
    assert not torch.allclose(out[0], out[3])
    with pytest.raises(ValueError, match="time_token=False"):
        prefix(torch.randn(6, 12))


def test_time_token_reads_the_day_of_week_only_when_asked():
    timestamps = torch.rand(2, 12, 2)
    next_day = timestamps.clone()
    next_day[..., 1] = (next_day[..., 1] + 1 / 7) % 1
    series = torch.randn(2, 12)
    for day_of_week in (True, False):
        prefix = PromptPrefix(D, stats=False, time=True, day_of_week=day_of_week)
        same = torch.equal(prefix(series, timestamps), prefix(series, next_day))
        assert same is not day_of_week  # on: another day, another token (the control); off: the day is not read
    time_only = PromptPrefix(D, stats=False, time=True, day_of_week=False)
    time_only(series, timestamps[..., :1])  # the time of day is all it needs
    with pytest.raises(ValueError, match=r"\[B, L, >=1\] \(time of day\)"):
        time_only(series, timestamps[..., 0])
    with pytest.raises(ValueError, match=r"\[B, L, >=2\] \(time of day, day of week\)"):
        PromptPrefix(D, stats=False, time=True)(series, timestamps[..., :1])


def test_statistics_tokens_get_gradients():
    prefix = PromptPrefix(D, stats=True, time=False)
    series = torch.randn(5, 12, requires_grad=True)
    prefix(series).pow(2).sum().backward()
    assert prefix.stat_weight.grad.abs().sum() > 0 and series.grad.abs().sum() > 0
