"""Every (dataset, model) has a plain config and an ST-LoRA config that differs only by the decorator line."""
import importlib
import sys
from pathlib import Path

import pytest
import torch

from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin.zoo import RECIPES

ROOT = Path(__file__).resolve().parents[1] / "baselines_cfg"
DATASETS = ["PEMS03", "PEMS04", "PEMS07", "PEMS08", "METR_LA", "PEMS_BAY", "NYC_Bike", "NYC_Taxi", "LOS_LOOP",
            "SYNTH_ROAD"]


def _code(path: Path) -> list[str]:
    """The non-empty lines after the module docstring."""
    return [line for line in path.read_text().split('"""', 2)[2].splitlines() if line.strip()]


#: the one ST-LoRA config that makes its class with the decorator line (the others import the zoo's classes)
DECORATOR_EXAMPLE = ("NYC_Bike", "STID")


@pytest.mark.parametrize("dataset", DATASETS)
def test_plain_and_stlora_configs_exist_and_differ_only_by_the_model_class(dataset):
    """An ST-LoRA config is its plain twin with the zoo's ST-LoRA class instead of the backbone; the one
    decorator example differs by the decorator line instead. No other config defines a class."""
    for model in RECIPES:
        plain, lora = _code(ROOT / dataset / f"{model}.py"), _code(ROOT / dataset / f"{model}_STLoRA.py")
        (cfg_line,) = [line for line in plain if line.startswith("CFG = ")]
        lora_cfg = cfg_line.replace(f"experiment({model},", f"experiment({model}STLoRA,")
        if (dataset, model) == DECORATOR_EXAMPLE:
            assert [line for line in plain if line not in lora] == [cfg_line]
            assert [line for line in lora if line not in plain] == [
                "from stlora_plugin import st_lora", f"{model}STLoRA = st_lora({model})", lora_cfg]
            continue
        (backbone_import,) = [line for line in plain if line.endswith(f"import {model}")]
        assert [line for line in plain if line not in lora] == [
            backbone_import, "from stlora_plugin.zoo import experiment", cfg_line]
        assert [line for line in lora if line not in plain] == [
            f"from stlora_plugin.zoo import {model}STLoRA, experiment", lora_cfg]
        assert not any("st_lora(" in line for line in lora)


@pytest.mark.parametrize("model", sorted(RECIPES))
def test_synthetic_configs_build_through_the_cli_loader(model, tmp_path, monkeypatch):
    data, adj = generate_synthetic(num_nodes=8, num_days=2, seed=0)
    write_dataset(data, adj, tmp_path, "SYNTH-ROAD", step_minutes=5)
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))
    monkeypatch.chdir(ROOT.parent)
    from stlora_plugin.runtime import load_config_file

    for suffix in ("", "_STLoRA"):
        cfg = load_config_file(f"baselines_cfg/SYNTH_ROAD/{model}{suffix}.py")
        module = importlib.import_module(cfg.model.__module__)  # BasicTS finds the class again from cfg.json
        assert getattr(module, cfg.model.__name__) is cfg.model
        cfg.model(cfg.model_config)
    for name in [m for m in sys.modules if m.startswith("baselines_cfg.SYNTH_ROAD")]:
        del sys.modules[name]


@pytest.mark.parametrize("horizon", [12, 48])
def test_stsepnet_configs_build_with_the_default_language_model(horizon, tmp_path, monkeypatch):
    data, adj = generate_synthetic(num_nodes=6, num_days=2, seed=0)
    write_dataset(data, adj, tmp_path, "SYNTH-ROAD", step_minutes=5)
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))
    monkeypatch.chdir(ROOT.parent)
    from stlora_plugin.runtime import load_config_file

    cfg = load_config_file(f"baselines_cfg/SYNTH_ROAD/STSepNet_{horizon}.py")
    assert (cfg.input_len, cfg.output_len) == (horizon, horizon)
    assert cfg.model(cfg.model_config)(torch.zeros(1, horizon, 6), torch.zeros(1, horizon, 2)).shape == (1, horizon, 6)


def test_published_stsepnet_configs_exist_and_build(tmp_path, monkeypatch):
    expected = {"PEMS03": ["STSepNet_published_48.py"], "METR_LA": ["STSepNet_published_48.py"],
                "NYC_Bike": ["STSepNet_published_inflow_48.py", "STSepNet_published_outflow_48.py"]}
    for folder, names in expected.items():
        assert sorted(p.name for p in (ROOT / folder).glob("STSepNet_published*.py")) == names
    data, adj = generate_synthetic(num_nodes=6, num_days=3, seed=0)
    write_dataset(data, adj, tmp_path, "SYNTH-ROAD", step_minutes=5)
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))
    monkeypatch.chdir(ROOT.parent)
    from stlora_plugin.runtime import load_config_file

    cfg = load_config_file("baselines_cfg/SYNTH_ROAD/STSepNet_published_48.py")
    assert (cfg.input_len, cfg.output_len, cfg.model_config.input_mode) == (48, 48, "mean")
    assert cfg.model(cfg.model_config)(torch.zeros(1, 48, 6), torch.zeros(1, 48, 2)).shape == (1, 48, 6)


def test_stlora_configs_work_from_any_working_directory(tmp_path, monkeypatch):
    """The class a run records in cfg.json is the zoo's, importable wherever BasicTS looks it up again."""
    data, adj = generate_synthetic(num_nodes=8, num_days=2, seed=0)
    write_dataset(data, adj, tmp_path, "SYNTH-ROAD", step_minutes=5)
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # not the project root
    from stlora_plugin.runtime import load_config_file

    cfg = load_config_file(str(ROOT / "SYNTH_ROAD" / "STGCN_STLoRA.py"))
    assert cfg.model.__module__ == "stlora_plugin.zoo"
    assert getattr(importlib.import_module(cfg.model.__module__), cfg.model.__name__) is cfg.model
