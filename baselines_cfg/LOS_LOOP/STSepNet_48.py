"""ST-SepNet (MiniLM temporal branch + adaptive hypergraph) on LOS-LOOP, 48 -> 48 steps.

Prepare the data: stlora data prepare los-loop ../shared/datasets/LOS-LOOP
Train:            stlora train baselines_cfg/LOS_LOOP/STSepNet_48.py
Another language model: set llm_path to a local Hugging Face folder (BERT, GPT-2, LLaMA or Qwen2).
"""
from stlora_plugin.runtime import benchmark_config
from stlora_plugin.sepnet import STSepNet, STSepNetConfig

CFG = benchmark_config(
    STSepNet,
    STSepNetConfig(variant="hypergraph", gate="sigmoid", hyperedge_order=3, llm_path=None),
    "LOS-LOOP",
    input_len=48,
    output_len=48,
    eval_horizons=[12, 24, 48],
    batch_size=16,
    optimizer_params={"lr": 1e-3, "weight_decay": 1e-4},
    num_epochs=50,
)

if __name__ == "__main__":
    from basicts import BasicTSLauncher

    BasicTSLauncher.launch_training(CFG)
