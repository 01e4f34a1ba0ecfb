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


@pytest.mark.parametrize("name", sorted(zoo.SEPNET))
def test_sepnet_variants_are_zoo_names(name, synthetic_dataset, tmp_path):
    cfg = zoo.named_experiment(name, synthetic_dataset, num_epochs=2, batch_size=8, seed=3,
                               ckpt_save_dir=str(tmp_path))
    assert cfg.model is zoo.model_class(name) and (cfg.num_epochs, cfg.batch_size, cfg.seed) == (2, 8, 3)
    assert {k: getattr(cfg.model_config, k) for k in zoo.SEPNET[name]} == zoo.SEPNET[name]
    with pytest.raises(ValueError, match="no ST-LoRA twin"):
        zoo.model_class(name, stlora=True)


def test_named_experiment_of_a_backbone_equals_experiment(synthetic_dataset, tmp_path):
    named = zoo.named_experiment("STGCN", synthetic_dataset, stlora=True, model_overrides={"stlora_rank": 2},
                                 num_epochs=1, ckpt_save_dir=str(tmp_path))
    assert named.model is zoo.STGCNSTLoRA and named.model_config.stlora_rank == 2


@pytest.mark.parametrize("epochs", [1, 2, 5, 10, 30, 100])
def test_d2stgnn_curriculum_trains_the_whole_horizon_within_the_run(epochs):
    curriculum = zoo.RECIPES["D2STGNN"].callbacks({"num_epochs": epochs})[1]
    lengths = [curriculum.curriculum_learning(epoch) for epoch in range(1, epochs + 1)]
    assert all(1 <= n <= 12 for n in lengths)
    assert lengths[epochs // 2:] == [12] * (epochs - epochs // 2)  # the second half trains all 12 steps
    if epochs == 100:  # BasicTS's schedule: one more step every 3 epochs after 10 warm-up epochs
        assert lengths[10:16] == [1, 1, 1, 2, 2, 2]
