"""ST-SepNet (MiniLM temporal branch + adaptive hypergraph) on NYC-Bike-inflow, 12 -> 12 steps.

Prepare the data: stlora data prepare nyc ../shared/datasets/NYC-Bike/201901-202012-NYCbike-inoutflow-60min.npz --channel 0
Train:            stlora train baselines_cfg/NYC_Bike/STSepNet_inflow_12.py
Another language model: set llm_path to a local Hugging Face folder (BERT, GPT-2, LLaMA or Qwen2).
"""
from stlora_plugin.runtime import benchmark_config
from stlora_plugin.sepnet import STSepNet, STSepNetConfig

CFG = benchmark_config(
    STSepNet,
    STSepNetConfig(variant="hypergraph", gate="sigmoid", hyperedge_order=3, llm_path=None),
    "NYC-Bike-inflow",
    input_len=12,
    output_len=12,
    batch_size=16,
    optimizer_params={"lr": 1e-3, "weight_decay": 1e-4},
    num_epochs=50,
)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
