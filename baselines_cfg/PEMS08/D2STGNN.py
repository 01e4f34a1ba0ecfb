"""D2STGNN on PEMS08 under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare pems path/to/PEMS08
Train:            stlora train baselines_cfg/PEMS08/D2STGNN.py   (or python -m baselines_cfg.PEMS08.D2STGNN)
"""
from stlora_plugin.backbones import D2STGNN
from stlora_plugin.zoo import experiment

CFG = experiment(D2STGNN, "PEMS08", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
