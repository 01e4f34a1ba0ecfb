"""A zoo backbone on METR-LA, benchmark protocol (12 -> 12), published recipe.

MODEL names the backbone: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN or STAEformer (``stlora_plugin.zoo.RECIPES``);
backbone_stlora.py (the same with ST-LoRA).
Another backbone without editing a file: stlora train --model GWNet --dataset METR-LA

Prepare the data: stlora data prepare metr path/to/metr-la.h5
Train:            stlora train baselines_cfg/METR_LA/backbone.py
                  or python -m baselines_cfg.METR_LA.backbone
"""
from stlora_plugin.zoo import named_experiment

MODEL = "STID"

CFG = named_experiment(MODEL, "METR-LA")

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
