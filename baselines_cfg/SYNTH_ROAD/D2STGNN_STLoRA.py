"""D2STGNN + ST-LoRA on SYNTH-ROAD under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare synthetic
Train:            stlora train baselines_cfg/SYNTH_ROAD/D2STGNN_STLoRA.py   (or python -m baselines_cfg.SYNTH_ROAD.D2STGNN_STLoRA)
"""
from stlora_plugin.zoo import D2STGNNSTLoRA, experiment

CFG = experiment(D2STGNNSTLoRA, "SYNTH-ROAD", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
