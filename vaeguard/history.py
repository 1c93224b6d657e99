"""What a fit records, epoch by epoch: kept in the manifest, and read back without the training code."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    beta: float
    seconds: float = 0.0  # wall time of the training pass (not validation), for throughput figures


@dataclass
class TrainResult:
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    saved_epoch: int = 0  # the epoch whose weights the last checkpoint holds (resume starts after it)
    graphed_steps: int = 0  # steps replayed as a CUDA graph in this process (train.GraphedStep); not saved
    # The CPU training had, as a share of what its threads could use: wall and CPU seconds, threads. Not saved.
    threads: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
