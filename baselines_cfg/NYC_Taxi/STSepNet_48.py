"""ST-SepNet (MiniLM temporal branch + adaptive hypergraph) on NYC-Taxi-inflow, 48 -> 48 steps.

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Taxi/201901-202012-NYCtaxi-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/NYC_Taxi/STSepNet_48.py
Another language model: set llm_path to a local Hugging Face folder (BERT, GPT-2, LLaMA or Qwen2).
"""
from stlora_plugin.zoo import sepnet_experiment

CFG = sepnet_experiment("NYC-Taxi-inflow", horizon=48, llm_path=None)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
