"""STID + ST-LoRA on PEMS07 under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare pems path/to/PEMS07
Train:            stlora train baselines_cfg/PEMS07/STID_STLoRA.py   (or python -m baselines_cfg.PEMS07.STID_STLoRA)
"""
from stlora_plugin import st_lora
from basicts.models.STID import STID
from stlora_plugin.zoo import experiment

STIDSTLoRA = st_lora(STID)

CFG = experiment(STIDSTLoRA, "PEMS07", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
