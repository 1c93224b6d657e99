"""A small table's fit, whole command: its calibration parts' models side by side (the default) against one
after another (`--threads 1`), alone and two fits at once.

    python benchmarks/small_fits.py   # -> benchmarks/results/small-fits.md (about five minutes on 2 cores)

Below 10,000 rows (at the default --fpr 0.01) a fit trains models of the table's parts to set its threshold
(README, "Calibrates"); they train in processes forked from the fit, one thread each, beside the model
itself, as many as the CPUs allow. `--threads 1` trains them in the fit's own process, one after another,
as every fit did before. The threshold must be the same either way: the table says so for each one.
Tables: generated flows (sample_data/make_sample.py's normal rows, the quick start's sample among them) and,
where ../shared is beside the checkout, the benign rows of IoT-23 captures 34 and 44 (flows.zeek_benign).
Timings: the median of --repeat runs, each a process of its own, nothing else running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sample_data"))
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results"
MODES = {"side by side": [], "one after another (--threads 1)": ["--threads", "1"]}


def generated(folder: Path, rows: int) -> Path:
    from make_sample import normal_flows

    path = folder / f"flows_{rows}.csv"
    normal_flows(np.random.default_rng(rows), rows).to_csv(path, index=False)
    return path


def fit(table: Path, model: Path, extra: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vaeguard", "fit", str(table), "--model", str(model), "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc: subprocess.Popen, start: float) -> tuple[float, dict]:
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"fit failed ({proc.returncode}): {err.strip()}")
    return seconds, json.loads(out)


def timed(table: Path, folder: Path, extra: list[str], together: int = 1) -> tuple[list[float], dict]:
    """Seconds each fit took, `together` of them started at once, and the first one's --json summary."""
    start = time.perf_counter()
    procs = [fit(table, folder / f"m{k}", extra) for k in range(together)]
    results = [finished(p, start) for p in procs]
    return [s for s, _ in results], results[0][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing; the median counts")
    ap.add_argument("--out", type=Path, default=RESULTS / "small-fits.md")
    args = ap.parse_args()
    t_all = time.perf_counter()
    rows_out, pairs_out = [], []
    with tempfile.TemporaryDirectory(prefix="vaeguard-small-") as tmp:
        folder = Path(tmp)
        tables = [("generated flows, 600 rows", generated(folder, 600)),
                  ("the quick start's sample, 2,000 rows", ROOT / "sample_data" / "flows_train.csv"),
                  ("generated flows, 5,000 rows", generated(folder, 5000)),
                  ("generated flows, 9,000 rows", generated(folder, 9000))]
        from flows import IOT, zeek_benign  # a capture's benign rows as flows.py fits them

        if IOT.is_dir():
            tables += [("IoT-23 capture 44, benign rows (211)", zeek_benign("44", folder)),
                       ("IoT-23 capture 34, benign rows (1,923)", zeek_benign("34", folder))]
        for name, table in tables:
            medians, thresholds, calibration = {}, {}, None
            for mode, extra in MODES.items():
                runs = []
                for _ in range(args.repeat):
                    seconds, summary = timed(table, folder, extra)
                    runs.append(seconds[0])
                medians[mode] = statistics.median(runs)
                thresholds[mode] = summary["threshold"]
                calibration = summary["calibration"]
                print(f"{name:42s} {mode:34s} {medians[mode]:6.1f} s", flush=True)
            same = len(set(thresholds.values())) == 1
            side, one = medians.values()
            rows_out.append(f"| {name} | {calibration['folds'] - 1} | {side:.1f} s | {one:.1f} s | {one / side:.2f}x | "
                            f"{'yes' if same else 'NO: ' + ', '.join(f'{v:.6g}' for v in thresholds.values())} |")
        sample = ROOT / "sample_data" / "flows_train.csv"
        for mode, extra in MODES.items():
            runs = []
            for _ in range(args.repeat):
                seconds, _ = timed(sample, folder, extra, together=2)
                runs.append(max(seconds))
            pairs_out.append(f"| {mode} | {statistics.median(runs):.1f} s |")
            print(f"two fits of the sample at once, {mode}: {statistics.median(runs):.1f} s", flush=True)

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch

    lines = [
        "# Small fits: the calibration parts side by side",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}; {time.perf_counter() - t_all:.0f} s in all (`python benchmarks/small_fits.py`).",
        "",
        "The whole `vaeguard fit` command with no options, the median of "
        f"{args.repeat} runs. *Parts*: the models of the table's parts that set its threshold (README, \"Calibrates\").",
        "",
        "| table | parts | side by side | one after another (`--threads 1`) | speed-up | same threshold |",
        "|---|---|---|---|---|---|",
        *rows_out,
        "",
        "Two fits of the quick start's sample started at once, sharing the cores (the slower one's time):",
        "",
        "| parts | each fit |",
        "|---|---|",
        *pairs_out,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
