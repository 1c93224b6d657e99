"""The GPU path (`--device cuda`) against the CPU on the same machine, in one run; needs a CUDA GPU.

    python benchmarks/gpu.py                   # 1M-row table -> results/gpu.md
    python benchmarks/gpu.py --rows 200000     # a quick look

The table is speed.py's (../shared/tools/make_flows.py, `is_attack` dropped; `--make-flows` names the
generator where ../shared is elsewhere). Measured on one machine in one run: the whole `fit` command with
--epochs 2 on the CPU (every core) and on the GPU, the training alone (the median epoch), a fit with the
default epochs on the GPU, `score` CSV -> CSV on each, how far the GPU's scores are from the CPU's for
the same model and rows, and PyOD's VAE with its defaults (it trains on the GPU when torch sees one).
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402  (the same table, timing and memory helpers as the CPU benchmark)

RESULTS = speed.RESULTS


def fit(table: Path, model: Path, device: str, repeat: int, epochs: int | None) -> tuple[float, float, dict]:
    cmd = [*speed.VAEGUARD, "fit", str(table), "--model", str(model), "--device", device, "--quiet"]
    wall, rss = speed.best_of(repeat, cmd + (["--epochs", str(epochs)] if epochs else []))
    return wall, rss, json.loads((model / "manifest.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--fit-epochs", type=int, default=2)
    ap.add_argument("--pyod-rows", type=int, default=100_000, help="rows for PyOD's throughput (0: leave PyOD out)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per timing; the fastest counts (peak memory: the largest)")
    ap.add_argument("--device", default="cuda", help="the device measured against the CPU (cpu: try the script without a GPU)")
    ap.add_argument("--make-flows", type=Path, default=speed.MAKE_FLOWS)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--out", type=Path, default=RESULTS / "gpu.md")
    args = ap.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA GPU is visible: this benchmark measures the GPU path")
    if not args.make_flows.exists():
        sys.exit(f"{args.make_flows} not found (pass --make-flows)")
    speed.MAKE_FLOWS = args.make_flows
    big = speed.make_table(args.rows, args.data_dir / f"flows_{args.rows}.csv")
    work = Path(tempfile.mkdtemp(prefix="vaeguard-gpu-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    rows: list[tuple[str, str, str]] = []
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else args.device

    fits = {}
    for device in ("cpu", args.device):
        wall, rss, manifest = fit(big, work / f"model-{device}", device, args.repeat, args.fit_epochs)
        fits[device] = (wall, speed.training_rate(manifest))
        epochs = len(manifest["training"]["history"])
        rows.append((f"fit --epochs {args.fit_epochs}, whole command, {device}", f"{args.rows * epochs / wall:,.0f} rows x epochs / s",
                     f"{wall:.1f} s, peak {rss:,.0f} MiB of host memory"))
        rows.append((f"fit, training alone, {device}", f"{fits[device][1]:,.0f} rows x epochs / s",
                     f"median epoch, batch {manifest['training']['batch_size']}"))
    rows.append(("GPU / CPU: whole fit, training alone", f"{fits['cpu'][0] / fits[args.device][0]:.2f}x, "
                 f"{fits[args.device][1] / fits['cpu'][1]:.2f}x", "the same table and epochs"))
    if args.device == "cuda":  # the same fit with every step launched op by op, as before CUDA graphs
        os.environ["VAEGUARD_CUDA_GRAPHS"] = "0"
        wall, rss, manifest = fit(big, work / "model-eager", args.device, 1, args.fit_epochs)
        del os.environ["VAEGUARD_CUDA_GRAPHS"]
        rows.append(("fit, training alone, cuda, steps launched eagerly (VAEGUARD_CUDA_GRAPHS=0)",
                     f"{speed.training_rate(manifest):,.0f} rows x epochs / s",
                     f"one run; the whole command {wall:.1f} s; CUDA graphs train {fits['cuda'][1] / speed.training_rate(manifest):.1f}x as fast"))

    wall, rss, manifest = fit(big, work / "model-default", args.device, 1, None)
    hist = manifest["training"]["history"]
    rows.append((f"fit with the default epochs, {args.device}", f"{wall:.1f} s",
                 f"{len(hist)} epochs (early stopping: {'yes' if manifest['training']['stopped_early'] else 'no'}), peak {rss:,.0f} MiB of host memory, one run; "
                 f"training alone {speed.training_rate(manifest):,.0f} rows x epochs / s (median epoch)"))

    model = work / f"model-{args.device}"
    outs = {}
    for device in ("cpu", args.device):
        out = work / f"scored-{device}.csv"
        wall, rss = speed.best_of(args.repeat, [*speed.VAEGUARD, "score", str(big), "--model", str(model), "--out", str(out),
                                                "--device", device, "--quiet"])
        outs[device] = out
        rows.append((f"score CSV -> CSV, {device}", f"{args.rows / wall:,.0f} rows / s", f"{wall:.1f} s, peak {rss:,.0f} MiB"))
    import pandas as pd

    a, b = (pd.read_csv(outs[d], usecols=["anomaly_score", "is_anomaly"], engine="pyarrow") for d in ("cpu", args.device))
    rel = np.abs(a["anomaly_score"] - b["anomaly_score"]) / np.maximum(1.0, np.abs(a["anomaly_score"]))
    rows.append(("scores, GPU against CPU (the same model)", f"{rel.max():.1e} largest relative difference",
                 f"{int((a['is_anomaly'] != b['is_anomaly']).sum()):,} of {len(a):,} flags differ; the CPU scores with numpy, the GPU with torch"))

    if args.pyod_rows:
        pyod_default, pyod_score = speed.pyod_throughput(big, args.pyod_rows, None, 1)
        rows.append(("PyOD VAE fit, defaults (batch 32), training alone", f"{pyod_default:,.0f} rows x epochs / s",
                     f"{args.pyod_rows:,} rows; on the GPU where torch sees one (PyOD's default device)"))
        rows.append(("whole vaeguard fit on the GPU vs PyOD VAE's default training", f"{args.rows * args.fit_epochs / fits[args.device][0] / pyod_default:.1f}x",
                     "issue 12's measure (target 15x on the CPU)"))

    lines = ["# The GPU path", "", f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {speed.machine()}, {gpu}; "
             f"torch {torch.__version__}.", f"Table: `make_flows.py {args.rows}` (36 numeric + 3 categorical columns). "
             f"Timings: the fastest of {args.repeat} runs (the default-epochs fit and PyOD: one run).", ""]
    speed.write_results(args.out, lines, rows)


if __name__ == "__main__":
    main()
