"""STID + ST-LoRA on NYC-Bike-inflow under the spatio-temporal benchmark protocol (12 -> 12).

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/NYC_Bike/STID_STLoRA.py   (or python -m baselines_cfg.NYC_Bike.STID_STLoRA)

This is the one config here that makes its ST-LoRA class with the decorator line, as you would for a model of your
own; the others import the same classes from the zoo (``stlora_plugin.zoo``), where BasicTS finds them again from
any working directory.
"""
from stlora_plugin import st_lora
from basicts.models.STID import STID
from stlora_plugin.zoo import experiment

STIDSTLoRA = st_lora(STID)

CFG = experiment(STIDSTLoRA, "NYC-Bike-inflow", num_epochs=100)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
