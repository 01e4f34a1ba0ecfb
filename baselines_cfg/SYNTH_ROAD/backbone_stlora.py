"""A zoo backbone + ST-LoRA on SYNTH-ROAD, benchmark protocol (12 -> 12), published recipe.

MODEL names the backbone: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN or STAEformer (``stlora_plugin.zoo.RECIPES``);
backbone.py (the same without ST-LoRA).
Another backbone without editing a file: stlora train --model GWNet --dataset SYNTH-ROAD --stlora

Prepare the data: stlora data prepare synthetic
Train:            stlora train baselines_cfg/SYNTH_ROAD/backbone_stlora.py
                  or python -m baselines_cfg.SYNTH_ROAD.backbone_stlora
"""
from stlora_plugin.zoo import named_experiment

MODEL = "STID"

CFG = named_experiment(MODEL, "SYNTH-ROAD", stlora=True)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
