"""Every (dataset, model) has a plain config and an ST-LoRA config that differs only by the decorator line."""
import importlib
import sys
from pathlib import Path

import pytest
import torch

from stlora_plugin.data import generate_synthetic, write_dataset
from stlora_plugin import zoo
from stlora_plugin.zoo import RECIPES

ROOT = Path(__file__).resolve().parents[1] / "baselines_cfg"
DATASETS = ["PEMS03", "PEMS04", "PEMS07", "PEMS08", "METR_LA", "PEMS_BAY", "NYC_Bike", "NYC_Taxi", "LOS_LOOP",
            "SYNTH_ROAD"]


def _code(path: Path) -> list[str]:
    """The non-empty lines after the module docstring."""
    return [line for line in path.read_text().split('"""', 2)[2].splitlines() if line.strip()]


@pytest.mark.parametrize("dataset", DATASETS)
def test_each_dataset_has_one_plain_and_one_stlora_config_that_differ_only_by_the_flag(dataset):
    plain, lora = _code(ROOT / dataset / "backbone.py"), _code(ROOT / dataset / "backbone_stlora.py")
    (cfg_line,) = [line for line in plain if line.startswith("CFG = ")]
    assert [line for line in plain if line not in lora] == [cfg_line]
    assert [line for line in lora if line not in plain] == [cfg_line.replace(")", ", stlora=True)")]
    assert 'MODEL = "STID"' in plain
    others = {p.name for p in (ROOT / dataset).glob("*.py")} - {"__init__.py", "backbone.py", "backbone_stlora.py"}
    assert all(name.startswith("STSepNet_") for name in others)  # the other model family has its own files
    assert not any("st_lora(" in line or line.startswith("class ") for line in plain + lora)


def _synthetic(tmp_path, monkeypatch, num_nodes=8):
    data, adj = generate_synthetic(num_nodes=num_nodes, num_days=2, seed=0)
    write_dataset(data, adj, tmp_path, "SYNTH-ROAD", step_minutes=5)
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))


@pytest.mark.parametrize("model", sorted(RECIPES))
def test_every_backbone_builds_from_the_configs_by_setting_model(model, tmp_path, monkeypatch):
    """MODEL is the one thing to edit: each zoo backbone, plain and with ST-LoRA, builds through the CLI loader,
    and BasicTS finds the recorded class again (the zoo's) from cfg.json."""
    _synthetic(tmp_path, monkeypatch)
    from stlora_plugin.runtime import load_config_file

    for stem, wrapped in (("backbone", False), ("backbone_stlora", True)):
        edited = tmp_path / f"{stem}_{model}.py"
        edited.write_text((ROOT / "SYNTH_ROAD" / f"{stem}.py").read_text().replace('MODEL = "STID"', f'MODEL = "{model}"'))
        cfg = load_config_file(edited)
        assert cfg.model is zoo.model_class(model, wrapped)
        assert getattr(importlib.import_module(cfg.model.__module__), cfg.model.__name__) is cfg.model
        cfg.model(cfg.model_config)


def test_the_decorator_example_makes_its_class_with_the_decorator_line(tmp_path, monkeypatch):
    code = _code(ROOT / "decorator_example.py")
    assert "STIDSTLoRA = st_lora(STID)" in code
    assert [path for path in ROOT.rglob("*.py") if "st_lora(" in path.read_text()] == [ROOT / "decorator_example.py"]
    data, adj = generate_synthetic(num_nodes=8, num_days=2, seed=0)  # a stand-in under the example's dataset name
    write_dataset(data, adj, tmp_path, "NYC-Bike-inflow", step_minutes=60)
    monkeypatch.setenv("STLORA_DATASETS", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # not the project root: the class is found again all the same
    from stlora_plugin.adapters.registration import check_findable
    from stlora_plugin.runtime import load_config_file

    cfg = load_config_file(ROOT / "decorator_example.py")
    assert cfg.model.__name__ == "STIDSTLoRA" and cfg.model.__module__ == "decorator_example"
    check_findable(cfg.model)
    assert cfg.model(cfg.model_config)(torch.zeros(1, 12, 8), torch.zeros(1, 12, 2))["prediction"].shape == (1, 12, 8)


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

    cfg = load_config_file(str(ROOT / "SYNTH_ROAD" / "backbone_stlora.py"))
    assert cfg.model.__module__ == "stlora_plugin.zoo"
    assert getattr(importlib.import_module(cfg.model.__module__), cfg.model.__name__) is cfg.model
