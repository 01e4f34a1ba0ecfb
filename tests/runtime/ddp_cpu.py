"""BasicTS's own training loop under DDP on the CPU: gloo, N processes on 127.0.0.1 (a test helper).

easy-torch assumes CUDA for DDP; only that is patched here, in each spawned process: the device type is the CPU,
and the DDP wrapper that ``basicts.runners.builder`` builds gets no ``device_ids`` (a CPU module takes none).
Everything else is BasicTS's runner as it is: ``BasicTSRunner(cfg).train()``, its data samplers, validation,
checkpoints and final evaluation. Each rank writes its final parameters to ``out/rank<r>.pt`` (not its buffers:
DDP copies rank 0's buffers at the start of each forward, so BatchNorm statistics differ by the last step).
"""
from __future__ import annotations

import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, cfg, out: str) -> None:
    import basicts.runners.builder as builder
    from basicts.runners import BasicTSRunner
    from easytorch.device import set_device_type
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    set_device_type("cpu")
    builder.DDP = lambda model, device_ids=None, **kw: DistributedDataParallel(model, **kw)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        runner = BasicTSRunner(cfg)
        runner.init_logger(logger_name="BasicTS-training", log_file_name=f"training_log_rank{rank}")
        runner.train()
        model = getattr(runner.model, "module", runner.model)
        torch.save({k: v.detach().clone() for k, v in model.named_parameters()}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def train_ddp_on_cpu(cfg, out: str, world_size: int = 2) -> list[dict]:
    """Train ``cfg`` with ``world_size`` gloo processes; every rank's final parameters."""
    cfg.save()  # as BasicTSLauncher does before it spawns
    mp.spawn(_worker, args=(world_size, _free_port(), cfg, str(out)), nprocs=world_size, join=True)
    return [torch.load(f"{out}/rank{r}.pt", weights_only=True) for r in range(world_size)]
