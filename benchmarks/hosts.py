"""Hosts named on a network of many hosts: `score`'s drift test on each host's own rows, on generated Zeek
conn logs, with and without each host's own rate from the model's calibration rows.

    python benchmarks/hosts.py   # -> benchmarks/results/hosts.md (about a minute)

A network of 300 hosts, each with its own mix of DNS, NTP, web, TLS, SSH and SMB connections (drawn from a
Dirichlet with concentration 0.5, so most hosts favour one or two kinds) and a Pareto share of the rows.
Day 1 (30,000 rows) is fitted; three other normal days of the same hosts are scored, where every host named
is a false alarm; then one of them with a host's C&C connections added (TCP to ports 23 and 6667 that get
no answer), 5 to 40 of them: the hosts named there are the infected host, its C&C server, or other. "Own rate" is what score does: a host with calibration rows is tested against
the top of its own rate's interval, its rows pooled with one flag's worth of rows at the calibrated rate;
"own rate unpooled" takes its calibration rows alone; "calibrated rate" tests every host against the
calibrated rate alone. Generated data: it shows the test's behaviour, not a network's.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes",
          "resp_bytes", "conn_state", "missed_bytes", "history", "orig_pkts", "resp_pkts"]
TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string", "count",
         "string", "count", "count"]
# proto, service, responder port, orig_bytes and resp_bytes (log-normal mu), duration (exponential scale), history
KINDS = [("udp", "dns", 53, 3.8, 4.8, 0.02, "Dd"), ("udp", None, 123, 3.87, 3.87, 0.05, "Dd"),
         ("tcp", "http", 80, 6.0, 9.0, 1.0, "ShADadFf"), ("tcp", "ssl", 443, 6.5, 9.5, 5.0, "ShADadFf"),
         ("tcp", "ssh", 22, 7.0, 7.5, 60.0, "ShADadFf"), ("tcp", "smb", 445, 8.0, 8.0, 2.0, "ShADadFf")]
HOSTS, ROWS = 300, 30_000
SERVER = "185.244.25.235"  # the C&C server the infected host reaches


def zeek_text(rows: list[list]) -> str:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn",
            "#fields\t" + "\t".join(FIELDS), "#types\t" + "\t".join(TYPES)]
    return "\n".join(head + ["\t".join("-" if v is None else str(v) for v in r) for r in rows]) + "\n"


def day(seed: int, hosts: list[str], mixes: dict, volume: np.ndarray, start: float) -> list[list]:
    rng = np.random.default_rng(seed)
    rows = []
    for i, host in enumerate(rng.choice(hosts, ROWS, p=volume)):
        proto, service, port, orig, resp, duration, history = KINDS[rng.choice(len(KINDS), p=mixes[host])]
        packets = int(rng.integers(1, 12)) if proto == "tcp" else int(rng.integers(1, 3))
        rows.append([f"{start + 3.0 * i:.6f}", f"C{rng.integers(1 << 40):x}", host, int(rng.integers(32768, 61000)),
                     ".".join(str(int(v)) for v in rng.integers(1, 224, 4)), port, proto, service,
                     round(float(rng.exponential(duration)), 6), int(rng.lognormal(orig, 0.5)), int(rng.lognormal(resp, 0.7)),
                     "SF", 0, history, packets, packets])
    return rows


def command_and_control(n: int, host: str, seed: int = 9) -> list[list]:
    rng = np.random.default_rng(seed)
    return [[f"{1.7e9 + 7.0 * i:.6f}", f"C{rng.integers(1 << 40):x}", host, int(rng.integers(32768, 61000)), SERVER,
             6667 if i % 2 else 23, "tcp", None, None, None, None, "S0", 0, "S", 3, 0] for i in range(n)]


def named(run, how: str) -> list[dict]:
    from vaeguard import drift

    p0, p_high = drift.expected_rate(run.detector.calibration_)
    if how == "calibrated rate":
        return drift.drifting_hosts(run.report.hosts, p_high, shown=1 << 30)
    if how == "own rate unpooled":
        # The top of each host's own rate's interval from its calibration rows alone.
        def alone(baselines, column, host, p_high, p0):
            own = (baselines or {}).get(column, {}).get(host)
            if not own or not own[0]:
                return p_high
            n, k = own
            rate = (k + 1.0) / (n + 1.0)
            return max(p_high, min(1.0, rate + 3.0 * math.sqrt(rate * (1.0 - rate) / n)))

        pooled, drift.host_rate = drift.host_rate, alone
        try:
            return drift.drifting_hosts(run.report.hosts, p_high, shown=1 << 30, baselines=run.detector.host_baselines_, p0=p0)
        finally:
            drift.host_rate = pooled
    return drift.drifting_hosts(run.report.hosts, p_high, shown=1 << 30, baselines=run.detector.host_baselines_, p0=p0)


def main() -> None:
    from quality import machine

    from vaeguard.detector import Detector
    from vaeguard.pipeline import fit_file, score_table

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    hosts = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(HOSTS)]
    mixes = {h: rng.dirichlet(np.full(len(KINDS), 0.5)) for h in hosts}
    volume = rng.pareto(1.2, HOSTS) + 1
    volume /= volume.sum()
    infected = hosts[7]
    hows = ("own rate", "own rate unpooled", "calibrated rate")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "day1.log").write_text(zeek_text(day(10, hosts, mixes, volume, 1.6e9)))
        fit_file(str(folder / "day1.log"), folder / "model", Detector(seed=0, device="cpu"))
        cases = [(f"normal day (seed {s})", day(s, hosts, mixes, volume, 1.7e9), None) for s in (11, 12, 13)]
        cases += [(f"day seed 11 + {k} C&C connections of {infected}", day(11, hosts, mixes, volume, 1.7e9) + command_and_control(k, infected), k)
                  for k in (5, 10, 20, 40)]
        for name, rows, attacks in cases:
            (folder / "day.log").write_text(zeek_text(rows))
            scored, run = score_table(str(folder / "day.log"), folder / "model")
            own = int((scored["id.orig_h"].astype(str) == infected).sum())
            found = {how: named(run, how) for how in hows}
            cells = []
            for how in hows:
                hit = [h["host"] for h in found[how] if h["host"] in (infected, SERVER)]
                wrong = len(found[how]) - len(hit)
                cells.append(f"{len(found[how])}" + ("" if attacks is None else f": {', '.join(hit) or 'neither attacking host'}")
                             + (f"; {wrong} other" if wrong else ""))
            host_rows = "" if attacks is None else f"{own:,}"
            lines.append(f"| {name} | {run.drift.flag_rate:.2%} | {'yes' if run.drift.drift else 'no'} | {host_rows} | " + " | ".join(cells) + " |")
            print(lines[-1], file=sys.stderr, flush=True)
    text = "\n".join([
        "# Hosts named on a network of many hosts", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {machine()}; {time.perf_counter() - t0:.0f} s in all (`python benchmarks/hosts.py`).", "",
        __doc__.split("\n\n", 2)[2].strip().replace("\n", " "), "",
        "| scored day | rows flagged | drift over all rows | the infected host's rows | hosts named: own rate (score) | own rate unpooled | calibrated rate |",
        "|---|---|---|---|---|---|---|", *lines]) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hosts.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
