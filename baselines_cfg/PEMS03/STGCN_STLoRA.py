"""STGCN + ST-LoRA on PEMS03 under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare pems path/to/PEMS03
Train:            stlora train baselines_cfg/PEMS03/STGCN_STLoRA.py   (or python -m baselines_cfg.PEMS03.STGCN_STLoRA)
"""
from stlora_plugin.zoo import STGCNSTLoRA, experiment

CFG = experiment(STGCNSTLoRA, "PEMS03", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
