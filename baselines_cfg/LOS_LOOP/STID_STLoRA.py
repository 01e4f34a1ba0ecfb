"""STID + ST-LoRA on LOS-LOOP under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare los-loop ../shared/datasets/LOS-LOOP
Train:            stlora train baselines_cfg/LOS_LOOP/STID_STLoRA.py   (or python -m baselines_cfg.LOS_LOOP.STID_STLoRA)
"""
from stlora_plugin.zoo import STIDSTLoRA, experiment

CFG = experiment(STIDSTLoRA, "LOS-LOOP", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
