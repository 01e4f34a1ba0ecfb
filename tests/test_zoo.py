import pytest
from basicts.runners.callback import CurriculumLearning, GradientClipping
from torch.optim.lr_scheduler import MultiStepLR

from stlora_plugin import zoo


@pytest.mark.parametrize("name", sorted(zoo.RECIPES))
def test_every_backbone_has_a_findable_wrapped_twin(name, synthetic_dataset, tmp_path):
    wrapped = zoo.model_class(name, stlora=True)
    assert issubclass(wrapped, zoo.model_class(name)) and zoo.backbone_of(wrapped) == name
    assert getattr(zoo, wrapped.__name__) is wrapped and wrapped.__module__ == "stlora_plugin.zoo"
    cfg = zoo.experiment(wrapped, synthetic_dataset, num_epochs=3, ckpt_save_dir=str(tmp_path))
    assert cfg.model is wrapped and cfg.num_epochs == 3
    assert max((cfg.lr_scheduler_params or {}).get("milestones", [0])) < 3
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


#: The published recipes at 100 epochs: (lr, weight decay, train batch, milestones or None, gamma, grad clip).
#: STID, STGCN, GWNet, AGCRN, D2STGNN, STAEformer: BasicTS v0.4 ``baselines/<Model>/PEMS04.py``;
#: LSTM: LargeST ``experiments/lstm/main.py`` (Adam 1e-3, weight decay 1e-4, no scheduler, clip 5; batch 64).
PUBLISHED = {
    "STID": (2e-3, 1e-4, 32, [1, 50, 80], 0.5, None),
    "LSTM": (1e-3, 1e-4, 64, None, None, 5.0),
    "STGCN": (4e-4, 3e-4, 16, [1, 50], 0.5, None),
    "GWNet": (2e-3, 1e-4, 16, [1, 50], 0.5, 5.0),
    "AGCRN": (3e-3, 0.0, 64, None, None, None),
    "D2STGNN": (2e-3, 1e-5, 16, [1, 30, 38, 46, 54, 62, 70, 80], 0.5, 5.0),
    "STAEformer": (1e-3, 3e-4, 16, [20, 25], 0.1, None),
}


def _recipe_of(cfg):
    clips = [cb.max_norm for cb in cfg.callbacks if isinstance(cb, GradientClipping)]
    schedule = cfg.lr_scheduler_params or {}
    return (cfg.optimizer_params["lr"], cfg.optimizer_params["weight_decay"], cfg.batch_size,
            schedule.get("milestones"), schedule.get("gamma"), clips[0] if clips else None)


@pytest.mark.parametrize("name", sorted(zoo.RECIPES))
def test_every_recipe_is_the_published_one_at_100_epochs(name, synthetic_dataset, tmp_path):
    assert set(PUBLISHED) == set(zoo.RECIPES)
    cfg = zoo.experiment(zoo.RECIPES[name].model, synthetic_dataset, ckpt_save_dir=str(tmp_path))
    assert cfg.num_epochs == zoo.RECIPE_EPOCHS == 100
    assert _recipe_of(cfg) == PUBLISHED[name]
    assert (cfg.lr_scheduler is MultiStepLR) == (PUBLISHED[name][3] is not None)


def test_lstm_keeps_largest_dropout():
    assert zoo.RECIPES["LSTM"].model.Config().dropout == 0.1


@pytest.mark.parametrize("epochs, expected", [(100, [1, 50]), (200, [1, 50]), (50, [1, 25]), (10, [1, 5]),
                                              (2, [1]), (1, None)])
def test_shorter_runs_place_milestones_at_the_same_fraction(epochs, expected):
    assert zoo.RECIPES["STGCN"].scaled(epochs) == expected
    assert zoo.RECIPES["AGCRN"].scaled(epochs) is None  # constant learning rate at any length


def test_shorter_runs_merge_coinciding_milestones():
    assert zoo.RECIPES["D2STGNN"].scaled(10) == [1, 3, 4, 5, 6, 7, 8]
    assert zoo.RECIPES["STAEformer"].scaled(40) == [8, 10]


def _lengths(epochs):
    curriculum = [cb for cb in zoo.RECIPES["D2STGNN"].train_overrides({"num_epochs": epochs})["callbacks"]
                  if isinstance(cb, CurriculumLearning)][0]
    return [curriculum.curriculum_learning(epoch) for epoch in range(1, epochs + 1)]


def test_d2stgnn_curriculum_is_the_published_one_at_100_epochs():
    lengths = _lengths(100)
    assert lengths[:30] == [12] * 30  # 30 warm-up epochs on the whole horizon
    assert lengths[30:36] == [1, 1, 1, 2, 2, 2]  # then from 1 step, one more every 3 epochs
    assert lengths.index(12, 30) == 63 and lengths[63:] == [12] * 37


@pytest.mark.parametrize("epochs", [1, 2, 5, 10, 30, 50])
def test_d2stgnn_curriculum_scales_with_the_run(epochs):
    lengths = _lengths(epochs)
    assert all(1 <= n <= 12 for n in lengths)
    full_from = next(i for i in range(epochs) if lengths[i:] == [12] * (epochs - i))
    assert full_from <= round(0.63 * epochs) + 1  # complete by the published fraction of the run (63%), +-1 epoch


def test_sepnet_published_mode_is_the_published_setting(synthetic_dataset, tmp_path):
    cfg = zoo.sepnet_experiment(synthetic_dataset, published=True, train_overrides={"ckpt_save_dir": str(tmp_path)})
    model_config = cfg.model_config
    assert (cfg.input_len, cfg.output_len, cfg.eval_horizons) == (48, 48, [12, 24, 48])
    assert (model_config.input_mode, model_config.patch_len, model_config.stride) == ("mean", 16, 8)
    assert (model_config.num_prototypes, model_config.num_heads, model_config.head_dim, model_config.d_ff) == \
        (1000, 8, 32, 32)
    assert (model_config.gamma, model_config.hyperedge_order, model_config.d_model) == (0.5, 3, 768)
    assert (cfg.batch_size, cfg.num_epochs, cfg.optimizer_params["lr"]) == (16, 50, 1e-4)
    assert cfg.lr_scheduler_params == {"milestones": [5, 20, 40, 70], "gamma": 0.3}
    ours = zoo.sepnet_experiment(synthetic_dataset, train_overrides={"ckpt_save_dir": str(tmp_path / "ours")})
    assert (ours.input_len, ours.model_config.input_mode, ours.model_config.patch_len) == (12, "per_node", 4)
    named = zoo.named_experiment("STSepNet-published", synthetic_dataset, ckpt_save_dir=str(tmp_path / "named"))
    assert named.model_config.input_mode == "mean" and named.input_len == 12  # the benchmark's protocol
    assert zoo.SEPNET["STSepNet-hyper"] == {"variant": "hypergraph", "gamma": 0.0, "gamma_learnable": False}
