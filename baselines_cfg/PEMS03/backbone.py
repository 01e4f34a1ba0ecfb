"""A zoo backbone on PEMS03, benchmark protocol (12 -> 12), published recipe.

MODEL names the backbone: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN or STAEformer (``stlora_plugin.zoo.RECIPES``);
backbone_stlora.py (the same with ST-LoRA).
Another backbone without editing a file: stlora train --model GWNet --dataset PEMS03

Prepare the data: stlora data prepare pems path/to/PEMS03
Train:            stlora train baselines_cfg/PEMS03/backbone.py
                  or python -m baselines_cfg.PEMS03.backbone
"""
from stlora_plugin.zoo import named_experiment

MODEL = "STID"

CFG = named_experiment(MODEL, "PEMS03")

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
