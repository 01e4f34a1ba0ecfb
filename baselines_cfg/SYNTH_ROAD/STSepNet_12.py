"""ST-SepNet (MiniLM temporal branch + adaptive hypergraph) on SYNTH-ROAD, 12 -> 12 steps.

Prepare the data: stlora data prepare synthetic
Train:            stlora train baselines_cfg/SYNTH_ROAD/STSepNet_12.py
Another language model: set llm_path to a local Hugging Face folder (BERT, GPT-2, LLaMA or Qwen2).
"""
from stlora_plugin.zoo import sepnet_experiment

CFG = sepnet_experiment("SYNTH-ROAD", horizon=12, llm_path=None)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
