"""ST-SepNet's cost against the number of nodes and the language model's size: seconds per training step and
peak memory, side by side in one run.

The full model in its published settings (``sepnet.PUBLISHED``: the mean series as temporal input, patches 16/8,
1000 prototypes, adaptive hypergraph mixed with the graph, 48 -> 48, batch 16) with the language model cut to its
first 6 blocks (the published ``llm_layers``). Language models: the real all-MiniLM-L6-v2, and BERT-base,
GPT-2 small, LLaMA-7B and the 1.5B Qwen2 (DeepSeek-R1-Distill-Qwen-1.5B, the published default) built from their
configurations at the published hidden sizes (768, 768, 4096, 1536) with random weights: time and memory only,
their forecasts mean nothing. Nodes: 69 (NYC-Bike) and 883 (PEMS07's size), on random inputs.

Each row is a fresh process state: the model is built, one warm-up step runs, then ``--steps`` timed steps of
forward + backward + Adam; peak memory is the process's peak resident set during the row (``runtime.memory``),
which includes the frozen language model and Adam's state (memory an earlier row freed may still be
resident, so a row never reads below what the process kept).

    python benchmarks/bench_sepnet_scale.py [--steps 2] [--threads 2] [--models minilm,bert,gpt2,qwen2,llama]
"""
from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

import torch
import transformers

from stlora_plugin.runtime.memory import PeakMemory
from stlora_plugin.sepnet import PUBLISHED, STSepNet, STSepNetConfig

BATCH, HORIZON, LLM_LAYERS = 16, 48, 6
#: name -> the configuration at its published hidden size (None: the real MiniLM the package ships)
LANGUAGE_MODELS = {
    "minilm": None,
    "bert": lambda: transformers.BertConfig(),  # BERT-base: 768 wide, 12 heads
    "gpt2": lambda: transformers.GPT2Config(),  # GPT-2 small: 768 wide, 12 heads
    "qwen2": lambda: transformers.Qwen2Config(hidden_size=1536, intermediate_size=8960, num_attention_heads=12,
                                              num_key_value_heads=2, vocab_size=151936),  # the 1.5B Qwen2
    "llama": lambda: transformers.LlamaConfig(hidden_size=4096, intermediate_size=11008, num_attention_heads=32,
                                              num_key_value_heads=32, vocab_size=32000),  # LLaMA-7B
}


def save_random(name: str, folder: Path) -> str:
    """A random-weight model of ``name``'s configuration with its first LLM_LAYERS blocks, saved to ``folder``."""
    config = LANGUAGE_MODELS[name]()
    config.num_hidden_layers = LLM_LAYERS
    torch.manual_seed(0)
    transformers.AutoModel.from_config(config).save_pretrained(folder)
    return str(folder)


def measure(llm_path: str | None, num_nodes: int, steps: int) -> dict:
    config = STSepNetConfig(num_nodes=num_nodes, input_len=HORIZON, output_len=HORIZON, llm_path=llm_path,
                            llm_layers=LLM_LAYERS, variant="hypergraph", **PUBLISHED)
    with PeakMemory() as peak:
        torch.manual_seed(0)
        model = STSepNet(config).train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=1e-4)
        x = torch.randn(BATCH, HORIZON, num_nodes)
        stamps = torch.stack([torch.rand(BATCH, HORIZON), torch.randint(0, 7, (BATCH, HORIZON)) / 7], dim=-1)
        times = []
        for step in range(steps + 1):
            start = time.perf_counter()
            optimizer.zero_grad()
            model(x, stamps).abs().mean().backward()
            optimizer.step()
            if step:  # the first is a warm-up
                times.append(time.perf_counter() - start)
    row = {"step_s": sum(times) / len(times), "peak_mb": peak.mb, "lm_width": model.lm.hidden_size,
           "params": sum(p.numel() for p in model.parameters()), "trainable": sum(p.numel() for p in trainable)}
    del model, optimizer
    gc.collect()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default=",".join(LANGUAGE_MODELS))
    parser.add_argument("--nodes", default="69,883")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nodes = [int(n) for n in args.nodes.split(",")]
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(f"ST-SepNet, published settings (mean input, patches 16/8, 1000 prototypes, gamma 0.5), {HORIZON} -> "
          f"{HORIZON}, batch {BATCH}, first {LLM_LAYERS} LM blocks, CPU, {args.threads} threads; mean of "
          f"{args.steps} steps after 1 warm-up; peak = the row's peak resident memory")
    print(f"{'language model':<17}{'width':>6}{'nodes':>7}{'step s':>9}{'peak MiB':>10}{'params':>15}"
          f"{'trainable':>13}   time / memory against the first model at these nodes; time against {nodes[0]} nodes")
    first_model: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            path = None if LANGUAGE_MODELS[name] is None else save_random(name, Path(tmp) / name)
            rows = {}
            for n in nodes:
                rows[n] = row = measure(path, n, args.steps)
                ref = first_model.setdefault(n, row)
                print(f"{name + ('' if path is None else ' (random)'):<17}{row['lm_width']:>6}{n:>7}"
                      f"{row['step_s']:>9.2f}{row['peak_mb']:>10.0f}{row['params']:>15,}{row['trainable']:>13,}"
                      f"   x{row['step_s'] / ref['step_s']:.2f} / x{row['peak_mb'] / ref['peak_mb']:.2f}"
                      f"; x{row['step_s'] / rows[nodes[0]]['step_s']:.2f}", flush=True)
            if path is not None:
                for file in Path(path).iterdir():
                    file.unlink()
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
