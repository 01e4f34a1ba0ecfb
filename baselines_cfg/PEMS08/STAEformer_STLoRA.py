"""STAEformer + ST-LoRA on PEMS08 under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare pems path/to/PEMS08
Train:            stlora train baselines_cfg/PEMS08/STAEformer_STLoRA.py   (or python -m baselines_cfg.PEMS08.STAEformer_STLoRA)
"""
from stlora_plugin.zoo import STAEformerSTLoRA, experiment

CFG = experiment(STAEformerSTLoRA, "PEMS08", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
