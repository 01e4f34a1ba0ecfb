"""Peak memory of one training run inside a process that trains many.

On a GPU the peak is CUDA's allocated-memory high-water mark, reset before the run. On the CPU it is the
process's peak resident set size (``VmHWM``), which Linux lets a process reset (writing ``5`` to
``/proc/self/clear_refs``): so each run of a sweep reports its own peak, not the largest of the process so far.
The CPU figure is the whole process (interpreter, libraries, the dataset in memory), comparable between the runs
of one comparison; where neither measurement is possible (another OS, training in spawned DDP workers) it is None.
"""
from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["PeakMemory"]

_STATUS, _CLEAR = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _peak_rss_mb() -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class PeakMemory:
    """``with PeakMemory() as peak: train()``; then ``peak.mb`` (MiB) and ``peak.kind`` ("cuda", "rss" or None)."""

    def __init__(self):
        self.mb: float | None = None
        self.kind: str | None = None

    def __enter__(self) -> "PeakMemory":
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        try:
            _CLEAR.write_text("5")
            self._rss = True
        except OSError:
            self._rss = False
        return self

    def __exit__(self, *exc) -> None:
        cuda = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
        if cuda:  # the run trained on a GPU of this process
            self.mb, self.kind = cuda / 2 ** 20, "cuda"
        elif self._rss:
            self.mb, self.kind = _peak_rss_mb(), "rss"
