"""Speed and memory: vaeguard against PyOD and the raw I/O floor, all in one run.

    python benchmarks/speed.py                 # 1M-row table (+ 5M for score memory) -> results/speed.md
    python benchmarks/speed.py --rows 200000 --no-5m   # a quick look

Tables come from ../shared/tools/make_flows.py (36 numeric + 3 categorical columns; `is_attack` is
dropped). Every figure is measured in the same run, so the ratios hold on a noisy machine; the 1M-row
fit and score, the pyarrow floor and PyOD each take the fastest of --repeat runs (timings here move 10-20%
from run to run), the long runs (pandas floor, 5M rows, Dask) one. Peak memory is the child process's
maximum resident set size (the largest of the repeats). Needs the bench extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE_FLOWS = ROOT.parent / "shared" / "tools" / "make_flows.py"
CONN34 = ROOT.parent / "shared" / "data" / "iot23" / "conn34.log"
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable
VAEGUARD = [PY, "-m", "vaeguard"]


def run_measured(cmd: list[str], **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (MiB) of one command, run in a fresh wrapper so the RSS is its own."""
    wrapper = (
        "import resource, subprocess, sys, time, json;"
        "t = time.perf_counter(); p = subprocess.run(sys.argv[1:]);"
        "print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, p.returncode]))"
    )
    proc = subprocess.run([PY, "-c", wrapper, *cmd], capture_output=True, text=True, **kw)
    try:
        wall, rss, rc = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"benchmark command failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}") from None
    if rc != 0:
        raise RuntimeError(f"benchmark command exited {rc}: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall, rss, proc


def make_table(rows: int, path: Path) -> Path:
    if not path.exists():
        print(f"generating {rows:,} rows -> {path}", file=sys.stderr, flush=True)
        subprocess.run([PY, str(MAKE_FLOWS), str(rows), str(path)], check=True)
        import pyarrow.csv as pacsv

        # Drop the label once, so every method reads the same columns.
        tmp = path.with_suffix(".tmp.csv")
        table = pacsv.read_csv(path)
        pacsv.write_csv(table.drop_columns(["is_attack"]), tmp)
        del table
        tmp.replace(path)
    return path


def make_zeek_log(rows: int, path: Path) -> Path | None:
    """A Zeek conn log of `rows` rows as a sensor writes one: IoT-23 capture 34's rows over and over, each
    copy a day later with uids of its own (a uid names one connection), header and #close included."""
    if path.exists():
        return path
    if not CONN34.exists():
        return None
    print(f"writing a {rows:,}-row Zeek conn log -> {path}", file=sys.stderr, flush=True)
    lines = CONN34.read_text().splitlines()
    header = [line for line in lines if line.startswith("#") and not line.startswith("#close")]
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(header) + "\n")
        written, copy = 0, 0
        while written < rows:
            for fields in body[: rows - written]:
                f.write("\t".join([f"{float(fields[0]) + copy * 86400:.6f}", f"{fields[1]}{copy}", *fields[2:]]) + "\n")
            written += min(len(body), rows - written)
            copy += 1
        f.write("#close\t2020-01-01-00-00-00\n")
    tmp.replace(path)
    return path


def zeek_floor(path: Path, repeat: int = 1) -> float:
    """Bare read of a Zeek log with pyarrow (tab-separated, '-' as no value, names from #fields) plus a CSV
    write: the floor for scoring it."""
    import pyarrow.csv as pacsv

    with open(path) as f:
        head = [next(f) for _ in range(8)]
    names = next(line for line in head if line.startswith("#fields")).rstrip("\n").split("\t")[1:]
    skip = sum(line.startswith("#") for line in head)
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            t = time.perf_counter()
            table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip),
                                   parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False, invalid_row_handler=lambda row: "skip"),
                                   convert_options=pacsv.ConvertOptions(null_values=["-"], strings_can_be_null=True))
            pacsv.write_csv(table, Path(tmp) / "o.csv")
            best = min(best, time.perf_counter() - t)
            del table
    return best


def to_parquet(csv: Path, folder: Path, rows_per_file: int = 500_000) -> tuple[Path, Path]:
    """The CSV as a folder of Parquet files (for Dask) and as one Parquet file (for the streaming score)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    parts, single = folder / "parts", folder / "all.parquet"
    if single.exists() and parts.exists():
        return parts, single
    parts.mkdir(parents=True, exist_ok=True)
    reader = pacsv.open_csv(csv, read_options=pacsv.ReadOptions(block_size=16 << 20))
    whole = pq.ParquetWriter(single, reader.schema)
    pending, held, k = [], 0, 0

    def flush(batches):
        nonlocal k
        table = pa.Table.from_batches(batches, schema=reader.schema)
        pq.write_table(table, parts / f"part-{k:03d}.parquet")
        k += 1

    for batch in reader:
        whole.write_batch(batch)
        pending.append(batch)
        held += batch.num_rows
        if held >= rows_per_file:
            flush(pending)
            pending, held = [], 0
    if pending:
        flush(pending)
    whole.close()
    return parts, single


def io_floor(path: Path, repeat: int = 1) -> dict[str, float]:
    """Bare read + write of the same CSV: pandas, and pyarrow's multi-threaded reader and writer (the
    faster one, so best of `repeat`; pandas once)."""
    import pandas as pd
    import pyarrow.csv as pacsv

    out = {"pyarrow": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            t = time.perf_counter()
            table = pacsv.read_csv(path)
            pacsv.write_csv(table, Path(tmp) / "o.csv")
            out["pyarrow"] = min(out["pyarrow"], time.perf_counter() - t)
            del table
        t = time.perf_counter()
        first = True
        for chunk in pd.read_csv(path, chunksize=100_000):
            chunk.to_csv(Path(tmp) / "p.csv", index=False, header=first, mode="w" if first else "a")
            first = False
        out["pandas"] = time.perf_counter() - t
    return out


def pyod_throughput(path: Path, rows: int, batch_size: int | None, repeat: int = 1) -> tuple[float, float]:
    """PyOD VAE: seconds per epoch (best fit with 2 epochs minus best fit with 1), and decision_function rows/s."""
    import numpy as np
    import pandas as pd
    from pyod.models.vae import VAE

    df = pd.read_csv(path, nrows=rows)
    X = pd.get_dummies(df, columns=["proto", "service", "flag"], dtype=float).to_numpy(np.float32)
    times = {1: float("inf"), 2: float("inf")}
    det = None
    for _ in range(repeat):
        for epochs in (1, 2):
            kw = {"epoch_num": epochs, "verbose": 0, "random_state": 0}
            if batch_size:
                kw["batch_size"] = batch_size
            t = time.perf_counter()
            det = VAE(**kw).fit(X)
            times[epochs] = min(times[epochs], time.perf_counter() - t)
    per_epoch = max(1e-9, times[2] - times[1])
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        det.decision_function(X)
        best = min(best, time.perf_counter() - t)
    return rows / per_epoch, rows / best


def training_rate(manifest: dict) -> float:
    """Training alone, from a fit's manifest: training rows x epochs / s over the median epoch."""
    hist = manifest["training"]["history"]
    return manifest["training"]["train_rows"] / sorted(h["seconds"] for h in hist)[len(hist) // 2]


def best_of(repeat: int, cmd: list[str]) -> tuple[float, float]:
    """Fastest wall time of `repeat` runs of a command, and the largest peak RSS among them."""
    walls, rsss = [], []
    for _ in range(repeat):
        wall, rss, _ = run_measured(cmd)
        walls.append(wall)
        rsss.append(rss)
    return min(walls), max(rsss)


def side_by_side(cmds: list[list[str]]) -> list[float]:
    """Wall seconds of commands started together, each in its own process: fits that share the cores."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(cmds)) as pool:
        return [wall for wall, _, _ in pool.map(run_measured, cmds)]


def quota_cgroup(cpus: int) -> Path | None:
    """A cgroup of its own with a CPU quota of `cpus` CPUs, as `docker run --cpus` or systemd's CPUQuota= give one
    (cgroup v1's cpu controller, or v2 where the cpu controller can be handed down); None where this process may
    not make one (not root, a read-only /sys). Its processes join it through `in_cgroup`."""
    name = f"vaeguard-speed-{os.getpid()}"
    v1 = Path("/sys/fs/cgroup/cpu")
    try:
        if (v1 / "cpu.cfs_quota_us").exists():
            folder = v1 / name
            folder.mkdir()
            period = int((folder / "cpu.cfs_period_us").read_text())
            (folder / "cpu.cfs_quota_us").write_text(str(cpus * period))
        else:
            own = Path("/proc/self/cgroup").read_text().splitlines()[0].split(":", 2)[2].strip("/")
            parent = Path("/sys/fs/cgroup", own)
            (parent / "cgroup.subtree_control").write_text("+cpu")
            folder = parent / name
            folder.mkdir()
            (folder / "cpu.max").write_text(f"{cpus * 100000} 100000")
    except (OSError, IndexError, ValueError):
        return None
    atexit.register(lambda: folder.rmdir() if folder.exists() else None)
    return folder


def in_cgroup(folder: Path, cmd: list[str]) -> list[str]:
    return ["sh", "-c", f'echo $$ > "{folder}/cgroup.procs" && exec "$@"', "sh", *cmd]


def help_time(args: list[str], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([*VAEGUARD, *args], capture_output=True, check=True)
        best = min(best, time.perf_counter() - t)
    return best


def machine() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from quality import machine as m

    return m()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--fit-epochs", type=int, default=2)
    ap.add_argument("--pyod-rows", type=int, default=100_000, help="rows for the PyOD throughput figures")
    ap.add_argument("--no-5m", action="store_true", help="skip the 5M-row memory check")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing; the fastest counts (peak memory: the largest)")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--out", type=Path, default=RESULTS / "speed.md")
    args = ap.parse_args()
    if not MAKE_FLOWS.exists():
        sys.exit(f"{MAKE_FLOWS} not found (the benchmark needs ../shared)")

    big = make_table(args.rows, args.data_dir / f"flows_{args.rows}.csv")
    rows: list[tuple[str, str, str]] = []  # (measure, value, note)
    work = Path(tempfile.mkdtemp(prefix="vaeguard-speed-"))
    # Removed however the run ends: each run leaves 3 GB there (the models, the scored 5M rows, Dask's
    # output), and seventeen runs had filled the disk, which the next one's Dask score then hit.
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    model = work / "model"

    # fit: the whole command on the whole table, as a user runs it (the default --max-rows keeps every row)
    wall, rss = best_of(args.repeat, [*VAEGUARD, "fit", str(big), "--model", str(model), "--epochs", str(args.fit_epochs),
                                      "--device", args.device, "--quiet"])
    manifest = json.loads((model / "manifest.json").read_text())
    hist = manifest["training"]["history"]
    train_rows = manifest["training"]["train_rows"]
    fit_tput = training_rate(manifest)
    whole_tput = args.rows * len(hist) / wall
    rows.append(("vaeguard fit: whole command", f"{whole_tput:,.0f} rows x epochs / s",
                 f"{args.rows:,} rows x {len(hist)} epochs in {wall:.1f} s: reading, roles, encoding, training, calibration, saving"))
    rows.append(("vaeguard fit: training alone", f"{fit_tput:,.0f} rows x epochs / s",
                 f"{train_rows:,} training rows, median of {len(hist)} epochs, batch {manifest['training']['batch_size']}, {args.device}"))
    rows.append((f"vaeguard fit: peak memory, {args.rows:,} rows", f"{rss:,.0f} MiB", "target: under 1 GiB (1,024 MiB)"))
    # The same table as one Parquet file (pyarrow's default: a single row group up to 1M rows).
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    big_pq = args.data_dir / f"flows_{args.rows}.parquet"
    if not big_pq.exists():
        pq.write_table(pacsv.read_csv(big), big_pq)
    wall_pq, rss_pq, _ = run_measured([*VAEGUARD, "fit", str(big_pq), "--model", str(work / "model-pq"), "--epochs",
                                       str(args.fit_epochs), "--device", args.device, "--quiet"])
    rows.append((f"vaeguard fit from Parquet: peak memory, {args.rows:,} rows", f"{rss_pq:,.0f} MiB",
                 f"{wall_pq:.1f} s, one run; {pq.ParquetFile(big_pq).metadata.num_row_groups} row group(s); target: under 1 GiB"))
    # As on a 16-core machine: a thread's working copies must not make the peak grow with the cores.
    peaks = [run_measured([*VAEGUARD, "fit", str(path), "--model", str(work / "model-16"), "--epochs", str(args.fit_epochs),
                           "--device", args.device, "--threads", "16", "--quiet"])[1] for path in (big, big_pq)]
    rows.append((f"vaeguard fit --threads 16: peak memory, {args.rows:,} rows, CSV / Parquet", f"{peaks[0]:,.0f} / {peaks[1]:,.0f} MiB",
                 "one run each; as many threads as a 16-core machine gives; target: under 1 GiB"))

    pyod_default, pyod_score = pyod_throughput(big, args.pyod_rows, None, args.repeat)
    pyod_1024, _ = pyod_throughput(big, args.pyod_rows, 1024, args.repeat)
    rows.append(("PyOD VAE fit, defaults (batch 32), training alone", f"{pyod_default:,.0f} rows x epochs / s", f"{args.pyod_rows:,} rows"))
    rows.append(("PyOD VAE fit, batch_size=1024, training alone", f"{pyod_1024:,.0f} rows x epochs / s", f"{args.pyod_rows:,} rows"))
    rows.append(("whole vaeguard fit vs PyOD VAE's default training", f"{whole_tput / pyod_default:.1f}x", "target: at least 15x (goal 30x)"))
    rows.append(("vaeguard training vs PyOD VAE's default training", f"{fit_tput / pyod_default:.1f}x", "both without I/O"))

    # score
    out = work / "scored.csv"
    wall, rss = best_of(args.repeat, [*VAEGUARD, "score", str(big), "--model", str(model), "--out", str(out), "--quiet"])
    score_tput = args.rows / wall
    floor = io_floor(big, args.repeat)
    rows.append(("vaeguard score CSV -> CSV, end to end", f"{score_tput:,.0f} rows / s", f"{args.rows:,} rows, {wall:.1f} s"))
    for name, secs in floor.items():
        rows.append((f"I/O floor: read + write with {name}", f"{args.rows / secs:,.0f} rows / s", f"{secs:.1f} s"))
    best_floor = args.rows / min(floor.values())
    rows.append(("vaeguard score vs the faster I/O floor", f"{score_tput / best_floor:.0%}", "target: at least 80%"))
    ratio = out.stat().st_size / big.stat().st_size
    rows.append(("scored CSV size / input size", f"{ratio:.2f}x", "four score columns added; target: at most 1.35x"))
    rows.append(("PyOD VAE decision_function (no I/O)", f"{pyod_score:,.0f} rows / s", f"{args.pyod_rows:,} rows in memory"))
    rows.append((f"vaeguard score peak memory, {args.rows:,} rows", f"{rss:,.0f} MiB", "default --chunk-size"))
    out.unlink(missing_ok=True)
    if not args.no_5m:
        big5 = make_table(5_000_000, args.data_dir / "flows_5000000.csv")
        wall5, rss5, _ = run_measured([*VAEGUARD, "score", str(big5), "--model", str(model), "--out", str(out), "--quiet"])
        rows.append(("vaeguard score peak memory, 5,000,000 rows", f"{rss5:,.0f} MiB",
                     f"{big5.stat().st_size / 1e9:.2f} GB of CSV, {5_000_000 / wall5:,.0f} rows / s; target under 1 GiB"))
        out.unlink(missing_ok=True)
        # Fit memory flat as the file grows: the default --max-rows draws its 1M-row sample while reading.
        wall5f, rss5f, _ = run_measured([*VAEGUARD, "fit", str(big5), "--model", str(work / "model-5m"), "--epochs",
                                         str(args.fit_epochs), "--device", args.device, "--quiet"])
        rows.append(("vaeguard fit peak memory, 5,000,000 rows", f"{rss5f:,.0f} MiB",
                     f"{wall5f:.1f} s, one run; the default --max-rows 1,000,000 sample drawn while reading; target under 1 GiB"))

        # Scale out: the same 5M rows as Parquet, scored by Dask workers next to the streaming score.
        parts, single = to_parquet(big5, args.data_dir / "flows_5000000_parquet")
        wall_local, rss_local, _ = run_measured([*VAEGUARD, "score", str(single), "--model", str(model), "--out", str(work / "s.parquet"), "--quiet"])
        rows.append(("streaming score, 5,000,000 rows Parquet -> Parquet", f"{5_000_000 / wall_local:,.0f} rows / s",
                     f"one process, {wall_local:.1f} s, peak {rss_local:,.0f} MiB"))
        for n in (1, 2):
            wall_d, _, _ = run_measured([*VAEGUARD, "score", str(parts), "--model", str(model), "--engine", "dask",
                                         "--workers", str(n), "--out", str(work / f"dask{n}"), "--quiet"])
            rows.append((f"Dask score, {n} worker{'s' if n > 1 else ''}, 5,000,000 rows", f"{5_000_000 / wall_d:,.0f} rows / s",
                         f"{len(list(parts.iterdir()))} Parquet files in, a folder of Parquet out; {wall_d:.1f} s incl. cluster start; "
                         f"{wall_local / wall_d:.0%} of the streaming rate" + (" (target: at least 80%)" if n == 1 else "")))

    # A Zeek conn log as sensors write it: text fields, a uid per row, ports, addresses, history strings.
    zeek = make_zeek_log(args.rows, args.data_dir / f"conn_{args.rows}.log")
    if zeek is not None:
        wall_z, rss_z = best_of(args.repeat, [*VAEGUARD, "fit", str(zeek), "--model", str(work / "model-zeek"), "--epochs",
                                              str(args.fit_epochs), "--device", args.device, "--quiet"])
        rows.append((f"Zeek conn log, {args.rows:,} rows: fit, whole command", f"{args.rows * args.fit_epochs / wall_z:,.0f} rows x epochs / s",
                     f"{wall_z:.1f} s, peak {rss_z:,.0f} MiB (target: under 1 GiB); "
                     f"{args.rows * args.fit_epochs / wall_z / pyod_default:.1f}x PyOD VAE's default training"))
        wall_zs, rss_zs = best_of(args.repeat, [*VAEGUARD, "score", str(zeek), "--model", str(work / "model-zeek"), "--out", str(out), "--quiet"])
        floor_z = zeek_floor(zeek, args.repeat)
        rows.append((f"Zeek conn log, {args.rows:,} rows: score to CSV", f"{args.rows / wall_zs:,.0f} rows / s",
                     f"{wall_zs:.1f} s, peak {rss_zs:,.0f} MiB; {floor_z / wall_zs:.0%} of pyarrow's read + write of the same log "
                     f"({floor_z:.1f} s, every field as text)"))
        out.unlink(missing_ok=True)

    # Two fits at once on as many cores as the machine has, as cron or two containers start them.
    small = make_zeek_log(400, args.data_dir / "conn_400.log")  # its first 400 rows: a quiet sensor's day
    side = [("a 400-row Zeek log", small, [], "one torch thread: a step of its size gains nothing from more"),
            (f"{args.rows:,} rows", big, ["--epochs", str(args.fit_epochs)], "torch's threads kept: give such fits `--threads 1`")]
    for label, table, extra, note in side:
        if table is None:
            continue
        fit = lambda name, *more: [*VAEGUARD, "fit", str(table), "--model", str(work / name), *extra, "--device", args.device, "--quiet", *more]  # noqa: E731
        alone = run_measured(fit("alone"))[0]
        pair = side_by_side([fit("first"), fit("second")])
        pair_one = side_by_side([fit("first", "--threads", "1"), fit("second", "--threads", "1")])
        rows.append((f"two fits at once, {label}", f"{max(pair):.1f} s each",
                     f"alone {alone:.1f} s; both with `--threads 1` {max(pair_one):.1f} s each; {note}"))

    # A container or service held to fewer CPUs than the machine has: torch and pyarrow start a thread per core of
    # the machine whatever the quota, so fit now takes the quota's CPUs as its thread count (parallel.allowed_cpus).
    cores = os.cpu_count() or 1
    cgroup = quota_cgroup(max(1, cores // 2)) if cores > 1 else None
    if cgroup is None:
        rows.append(("fit under a CPU quota of half the cores", "not measured", "no cgroup could be made here (needs root and a writable cgroup file system)"))
    else:
        fit_q = [*VAEGUARD, "fit", str(big), "--model", str(work / "model-quota"), "--epochs", str(args.fit_epochs), "--device", args.device, "--quiet"]
        wall_q = run_measured(in_cgroup(cgroup, fit_q))[0]
        wall_all = run_measured(in_cgroup(cgroup, [*fit_q, "--threads", str(cores)]))[0]
        rows.append((f"fit under a CPU quota of {max(1, cores // 2)} of {cores} cores, {args.rows:,} rows", f"{wall_q:.1f} s",
                     f"one run; as `docker run --cpus {max(1, cores // 2)}` holds it; with a thread per core (`--threads {cores}`, "
                     f"as every release before this one did) {wall_all:.1f} s"))

    rows.append(("`vaeguard --help`", f"{help_time(['--help']):.2f} s", "best of 5; target under 0.3 s"))
    rows.append(("`vaeguard score --help`", f"{help_time(['score', '--help']):.2f} s", "best of 5"))

    lines = ["# Speed and memory", "", f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {machine()}.",
             f"Table: `make_flows.py {args.rows}` (36 numeric + 3 categorical columns, `is_attack` dropped); the Zeek rows: "
             f"IoT-23 capture 34's conn log repeated to {args.rows:,} rows, a uid of its own per row.",
             f"Timings: the fastest of {args.repeat} runs for the {args.rows:,}-row fit and score, the pyarrow floor and PyOD; "
             "one run for the pandas floor, the 5M-row score and Dask. Peak memory: the largest of the runs.", ""]
    write_results(args.out, lines, rows)


def write_results(out: Path, header: list[str], rows: list[tuple[str, str, str]]) -> None:
    """The header lines, then the (measure, value, notes) rows as a table; printed and written to `out`."""
    lines = [*header, "| measure | value | notes |", "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
