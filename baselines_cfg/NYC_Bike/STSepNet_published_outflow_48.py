"""ST-SepNet in the published settings on NYC-Bike-outflow, 48 -> 48 steps (the paper's setting).

The published model and training settings (zoo.sepnet_experiment(published=True); README "ST-SepNet: published
settings and ours"): the node mean as temporal input, patches 16 / stride 8, 1000 text prototypes, 8 heads,
graph and hypergraph mixed half and half, Adam 1e-4, batch 16, 50 epochs. MiniLM stands in for the published
language models (no model hub here): set llm_path to a local Hugging Face folder for BERT, GPT-2, LLaMA or Qwen2.

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 1
Train:            stlora train baselines_cfg/NYC_Bike/STSepNet_published_outflow_48.py
"""
from stlora_plugin.zoo import sepnet_experiment

CFG = sepnet_experiment("NYC-Bike-outflow", published=True, llm_path=None)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
