"""AGCRN + ST-LoRA on METR-LA under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare metr path/to/metr-la.h5
Train:            stlora train baselines_cfg/METR_LA/AGCRN_STLoRA.py   (or python -m baselines_cfg.METR_LA.AGCRN_STLoRA)
"""
from stlora_plugin.zoo import AGCRNSTLoRA, experiment

CFG = experiment(AGCRNSTLoRA, "METR-LA", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
