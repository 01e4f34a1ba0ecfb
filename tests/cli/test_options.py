"""The shared option types: every bad value is refused, in one line, before anything runs or is written."""
import pytest


@pytest.mark.parametrize("argv, expected", [
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--seeds", "abc"],
     "expected comma-separated whole numbers"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--seeds", "0,0"], "repeated: [0]"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--epochs", "0"],
     "expected a positive whole number, got 0"),
    (["ablate", "--datasets", "D", "--models", "STID", "--out", "o", "--epochs", "-1"],
     "expected a positive whole number, got -1"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--batch-size", "0"],
     "expected a positive whole number, got 0"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--stlora", "bogus=3"],
     "--stlora bogus: unknown setting"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--stlora", "rank=0"],
     "--stlora: stlora_rank=0 is not allowed"),
    (["train"], "give either a config file or --model NAME --dataset NAME"),
    (["train", "cfg.py", "--model", "STID"], "give either a config file or --model NAME --dataset NAME"),
    (["train", "--model", "STID"], "--model needs --dataset NAME"),
    (["train", "cfg.py", "--epochs", "3"], "--epochs only go with --model"),
    (["train", "--model", "STID", "--dataset", "D", "--stlora", "rank=0"], "--stlora: stlora_rank=0 is not allowed"),
    (["train", "--model", "STID", "--dataset", "D", "--patience", "0"], "expected a positive whole number, got 0"),
    (["leaderboard", "--datasets", "D", "--models", "STID", "--out", "o", "--patience", "0"],
     "expected a positive whole number, got 0"),
    (["data", "prepare", "generic", "x.npy", "--step-minutes", "0"], "expected a positive whole number, got 0"),
    (["data", "prepare", "generic", "x.npy", "--step-minutes", "-15"], "expected a positive whole number, got -15"),
])
def test_bad_options_are_refused_before_anything_runs(tmp_path, monkeypatch, refused, argv, expected):
    monkeypatch.chdir(tmp_path)  # nothing may be written here
    assert expected in refused(argv)
    assert list(tmp_path.iterdir()) == []
