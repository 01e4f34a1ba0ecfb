"""The decorator line on a model of your own: BasicTS's STID + ST-LoRA on NYC-Bike inflow (12 -> 12).

``st_lora(Model)`` returns a subclass of ``Model`` whose forecast gains the node-specific low-rank corrections;
its ``Config`` adds the ``stlora_*`` fields with their defaults. Bind it at module level under its own name
(as below): BasicTS records the class in ``cfg.json`` by module and name and finds it there again, and so do
DDP workers. This is the one config here that defines a class; backbone_stlora.py in each dataset folder
imports the same classes ready-made from ``stlora_plugin.zoo``.

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/decorator_example.py
                  or python -m baselines_cfg.decorator_example
"""
from basicts.models.STID import STID

from stlora_plugin import st_lora
from stlora_plugin.zoo import experiment

STIDSTLoRA = st_lora(STID)

CFG = experiment(STIDSTLoRA, "NYC-Bike-inflow")

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
