"""D2STGNN on METR-LA under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare metr path/to/metr-la.h5
Train:            stlora train baselines_cfg/METR_LA/D2STGNN.py   (or python -m baselines_cfg.METR_LA.D2STGNN)
"""
from stlora_plugin.backbones import D2STGNN
from stlora_plugin.zoo import experiment

CFG = experiment(D2STGNN, "METR-LA", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
