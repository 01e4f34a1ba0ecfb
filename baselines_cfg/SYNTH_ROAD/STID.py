"""STID on SYNTH-ROAD under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare synthetic
Train:            stlora train baselines_cfg/SYNTH_ROAD/STID.py   (or python -m baselines_cfg.SYNTH_ROAD.STID)
"""
from basicts.models.STID import STID
from stlora_plugin.zoo import experiment

CFG = experiment(STID, "SYNTH-ROAD", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
