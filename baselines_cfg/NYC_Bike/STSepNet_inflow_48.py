"""ST-SepNet (MiniLM temporal branch + adaptive hypergraph) on NYC-Bike-inflow, 48 -> 48 steps.

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/NYC_Bike/STSepNet_inflow_48.py
Another language model: set llm_path to a local Hugging Face folder (BERT, GPT-2, LLaMA or Qwen2).
"""
from stlora_plugin.zoo import sepnet_experiment

CFG = sepnet_experiment("NYC-Bike-inflow", horizon=48, llm_path=None)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
