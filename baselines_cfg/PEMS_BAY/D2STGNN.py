"""D2STGNN on PEMS-BAY under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare metr path/to/pems-bay.h5
Train:            stlora train baselines_cfg/PEMS_BAY/D2STGNN.py   (or python -m baselines_cfg.PEMS_BAY.D2STGNN)
"""
from stlora_plugin.backbones import D2STGNN
from stlora_plugin.zoo import experiment

CFG = experiment(D2STGNN, "PEMS-BAY", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
