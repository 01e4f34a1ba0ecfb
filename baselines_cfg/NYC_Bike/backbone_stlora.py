"""A zoo backbone + ST-LoRA on NYC-Bike-inflow, benchmark protocol (12 -> 12), published recipe.

MODEL names the backbone: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN or STAEformer (``stlora_plugin.zoo.RECIPES``);
backbone.py (the same without ST-LoRA).
Another backbone without editing a file: stlora train --model GWNet --dataset NYC-Bike-inflow --stlora

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/NYC_Bike/backbone_stlora.py
                  or python -m baselines_cfg.NYC_Bike.backbone_stlora
"""
from stlora_plugin.zoo import named_experiment

MODEL = "STID"

CFG = named_experiment(MODEL, "NYC-Bike-inflow", stlora=True)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
