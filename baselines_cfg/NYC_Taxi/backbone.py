"""A zoo backbone on NYC-Taxi-inflow, benchmark protocol (12 -> 12), published recipe.

MODEL names the backbone: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN or STAEformer (``stlora_plugin.zoo.RECIPES``);
backbone_stlora.py (the same with ST-LoRA).
Another backbone without editing a file: stlora train --model GWNet --dataset NYC-Taxi-inflow

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Taxi/201901-202012-NYCtaxi-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/NYC_Taxi/backbone.py
                  or python -m baselines_cfg.NYC_Taxi.backbone
"""
from stlora_plugin.zoo import named_experiment

MODEL = "STID"

CFG = named_experiment(MODEL, "NYC-Taxi-inflow")

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
