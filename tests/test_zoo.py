import pytest

from stlora_plugin import zoo


@pytest.mark.parametrize("name", sorted(zoo.RECIPES))
def test_every_backbone_has_a_findable_wrapped_twin(name, synthetic_dataset, tmp_path):
    wrapped = zoo.model_class(name, stlora=True)
    assert issubclass(wrapped, zoo.model_class(name)) and zoo.backbone_of(wrapped) == name
    assert getattr(zoo, wrapped.__name__) is wrapped and wrapped.__module__ == "stlora_plugin.zoo"
    cfg = zoo.experiment(wrapped, synthetic_dataset, num_epochs=3, ckpt_save_dir=str(tmp_path))
    assert cfg.model is wrapped and cfg.num_epochs == 3
    assert max(cfg.lr_scheduler_params["milestones"]) <= 3
    model = cfg.model(cfg.model_config)  # builds on the 12-node dataset
    assert sum(p.numel() for p in model.st_lora.parameters()) > 0


def test_unknown_models_are_named():
    with pytest.raises(ValueError, match="choose one of"):
        zoo.model_class("Transformer")
    with pytest.raises(ValueError, match="not in the zoo"):
        zoo.backbone_of(int)
