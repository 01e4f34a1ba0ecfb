"""A zoo backbone + ST-LoRA on LOS-LOOP, benchmark protocol (12 -> 12), published recipe.

MODEL names the backbone: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN or STAEformer (``stlora_plugin.zoo.RECIPES``);
backbone.py (the same without ST-LoRA).
Another backbone without editing a file: stlora train --model GWNet --dataset LOS-LOOP --stlora

Prepare the data: stlora data prepare los-loop ../shared/datasets/LOS-LOOP
Train:            stlora train baselines_cfg/LOS_LOOP/backbone_stlora.py
                  or python -m baselines_cfg.LOS_LOOP.backbone_stlora
"""
from stlora_plugin.zoo import named_experiment

MODEL = "STID"

CFG = named_experiment(MODEL, "LOS-LOOP", stlora=True)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
