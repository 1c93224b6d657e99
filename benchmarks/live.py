"""How soon `vaeguard score -` writes the rows of a pipe written live (`tail -n +1 -F conn.log | ...`).

    python benchmarks/live.py        # -> benchmarks/results/live.md (about a minute)

For each input, a model is fitted on normal rows; then `vaeguard score - --out -` runs as its own process
with stdin a pipe that this script writes as a sensor would: a first burst of rows, then bursts of 1,000
rows (fewer for a small file) a second apart, one of them cut inside a line (as a writer's buffer flushed mid-line leaves it), and
the pipe held open until the last rows are out. Each burst's latency is the time from its last byte
written to its last row read back. At the end the pipe is closed, and the output is compared with the
same rows scored from a file: it must be the same bytes.

Inputs: the sample flows (CSV, always there) and, where ../shared holds them, IoT-23 capture 34's Zeek
conn log scored by a model of capture 44's benign rows, and capture 44's Zeek JSON by its own model.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
SAMPLE = ROOT / "sample_data"
IOT = ROOT.parent / "shared" / "data" / "iot23"
VAEGUARD = [sys.executable, "-m", "vaeguard"]
BURST = 1_000
BURSTS = 5
GAP_SECONDS = 1.0


def fit(train: Path, model: Path) -> None:
    subprocess.run([*VAEGUARD, "fit", str(train), "--model", str(model), "--quiet", "--seed", "0"], check=True)


def live_run(data: Path, model: Path, first: int) -> dict:
    """Write `data` into a live `vaeguard score -` as described above; the latencies and the output."""
    raw = data.read_bytes()
    lines = raw.splitlines(keepends=True)
    ends = [0]
    for line in lines:
        ends.append(ends[-1] + len(line))  # ends[k]: the byte where line k starts
    header = sum(1 for line in lines[:50] if line.startswith(b"#")) if data.suffix == ".log" else (0 if data.suffix == ".json" else 1)
    p = subprocess.Popen([*VAEGUARD, "score", "-", "--model", str(model), "--out", "-", "--quiet"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out: list[bytes] = []
    arrived: list[float] = []

    def read() -> None:
        for line in p.stdout:
            out.append(line)
            arrived.append(time.perf_counter())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(3.0)  # the command started and waiting on its first bytes
    pos = 0

    def write_up_to(byte: int) -> float:
        nonlocal pos
        p.stdin.write(raw[pos:byte])
        p.stdin.flush()
        pos = byte
        return time.perf_counter()

    def latency(rows: int, since: float, timeout: float = 30.0) -> float | None:
        """Seconds from `since` until `rows` scored rows (and the CSV header) have come out; None if they do not."""
        while time.perf_counter() - since < timeout:
            if len(out) >= rows + 1:
                return arrived[rows] - since
            time.sleep(0.005)
        return None

    first_latency = latency(first, write_up_to(ends[header + first]))
    latencies, rows = [], first
    burst = max(1, min(BURST, (len(lines) - header - first - 1) // BURSTS))  # a small file's rest in BURSTS bursts
    for k in range(BURSTS):
        time.sleep(GAP_SECONDS)
        upto = min(header + rows + burst, len(lines))
        if upto <= header + rows:
            break
        cut = ends[upto]
        if k == BURSTS - 1 and upto < len(lines):  # the last burst ends inside a line, which waits for its end
            cut += len(lines[upto]) // 2
        latencies.append(latency(upto - header, write_up_to(cut)))
        rows = upto - header
    still_open = p.poll() is None
    write_up_to(len(raw))
    p.stdin.close()
    p.wait(120)
    reader.join(30)
    whole = subprocess.run([*VAEGUARD, "score", str(data), "--model", str(model), "--out", "-", "--quiet"], check=True,
                           capture_output=True).stdout
    return {"first": first, "first_latency": first_latency, "latencies": latencies, "open": still_open,
            "rows": len(out) - 1, "same": b"".join(out) == whole}


def seconds(x: float | None) -> str:
    return "not out in 30 s" if x is None else f"{x:.2f}"


def main() -> None:
    from quality import machine

    t_all = time.perf_counter()
    runs = []
    with tempfile.TemporaryDirectory(prefix="vaeguard-live-") as tmp:
        folder = Path(tmp)
        model = folder / "flows"
        fit(SAMPLE / "flows_train.csv", model)
        runs.append(("sample flows, CSV", live_run(SAMPLE / "flows_new.csv", model, 300)))
        if IOT.exists():
            import flows

            zeek = folder / "zeek"
            fit(flows.zeek_benign("44", folder), zeek)
            runs.append(("IoT-23 capture 34, Zeek TSV", live_run(IOT / "conn34.log", zeek, 15_000)))
            zeek_json = folder / "zeek-json"
            fit(IOT / "conn44.json", zeek_json)
            runs.append(("IoT-23 capture 44, Zeek JSON", live_run(IOT / "conn44.json", zeek_json, 100)))
    lines = ["# Live pipes: how soon score writes the rows written into it", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} on {machine()}; {time.perf_counter() - t_all:.0f} s in all (`python benchmarks/live.py`).", "",
             f"`vaeguard score - --out -` with stdin a pipe held open: a first burst of rows, then {BURSTS} bursts of {BURST:,} rows "
             f"(a fifth of the rest for a smaller file) {GAP_SECONDS:g} s apart, the last cut inside a line. Latency: from a burst's "
             "last byte written to its last whole row read back (seconds); the first burst's includes the wait for a second's "
             "pause that ends the bytes read to tell the format, unless 64 KiB came first. \"same bytes\": the output once the "
             "pipe closed, against the same rows scored from the file.", "",
             "| input | first burst (rows) | its latency | later bursts: median | max | still reading when the last burst was out | rows out | same bytes |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in runs:
        known = [x for x in r["latencies"] if x is not None]
        med = statistics.median(known) if known else None
        worst = None if None in r["latencies"] or not known else max(known)
        lines.append(f"| {name} | {r['first']:,} | {seconds(r['first_latency'])} | {seconds(med)} | {seconds(worst)} | "
                     f"{'yes' if r['open'] else 'no'} | {r['rows']:,} | {'yes' if r['same'] else 'no'} |")
    report = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "results" / "live.md"
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
