"""Every default in one place: the CLI's options, the Detector's parameters and the benchmarks read them here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defaults:
    model: str = "vae"
    latent_dim: int = 8
    hidden: tuple[int, ...] = (64, 32)
    # benchmarks/tune.py: lower rates (1e-4 to 5e-4) raised the ADBench mean ROC-AUC by up to 0.005 but
    # lowered NSL-KDD, the closest stand-in for flow tables, by 0.006; 3e-3 lost 0.007 on ADBench.
    lr: float = 1e-3
    beta: float = 1.0
    # Importance samples K for the scoring bound; 16 scored no better and was 1.4x slower.
    samples: int = 4
    # Share of each batch's worst-fitting rows left out of the gradient after warm-up: training tables hold
    # some anomalies, and fitting them teaches the model they are normal. With a Student-t likelihood (3 dof)
    # trim 0 lost 0.008 mean ROC-AUC and 0.067 PR-AUC on ADBench half A (contaminated training data) and
    # gained 0.0005 on the clean NSL-KDD normal rows (benchmarks/tune.py).
    trim: float = 0.05
    fpr: float = 0.01
    val_fraction: float = 0.1
    max_categories: int = 200
    max_rows: int = 1_000_000
    # A multiple of the scoring batch (forward.NetworkShape.score_batch_rows), so no rows are padded.
    chunk_size: int = 32_768
    seed: int = 0


DEFAULTS = Defaults()
