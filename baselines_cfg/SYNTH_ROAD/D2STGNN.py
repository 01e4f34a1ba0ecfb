"""D2STGNN on SYNTH-ROAD under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare synthetic
Train:            stlora train baselines_cfg/SYNTH_ROAD/D2STGNN.py   (or python -m baselines_cfg.SYNTH_ROAD.D2STGNN)
"""
from stlora_plugin.backbones import D2STGNN
from stlora_plugin.zoo import experiment

CFG = experiment(D2STGNN, "SYNTH-ROAD", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
