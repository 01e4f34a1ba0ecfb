"""GWNet + ST-LoRA on PEMS07 under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare pems path/to/PEMS07
Train:            stlora train baselines_cfg/PEMS07/GWNet_STLoRA.py   (or python -m baselines_cfg.PEMS07.GWNet_STLoRA)
"""
from stlora_plugin.zoo import GWNetSTLoRA, experiment

CFG = experiment(GWNetSTLoRA, "PEMS07", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
