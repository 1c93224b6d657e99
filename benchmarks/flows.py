"""Flow logs as sensors write them: vaeguard with no options against IsolationForest and PyOD's VAE and
AutoEncoder, in one run.

    python benchmarks/flows.py            # -> benchmarks/results/flows.md
    python benchmarks/flows.py --seeds 10 # and each Zeek TSV pair fitted with seeds 0-9 (about 10 minutes more)

Data: ../shared/data/iot23 (Zeek TSV conn logs, the same connections as Zeek JSON and as Suricata
eve.json among stats and dns events; labels beside them) and ../shared/data/unsw. Capture 34's conn log is
also written as eve.json here, as the shared eve files were, so Suricata's format has a same-network pair.
Protocol: fit on the benign rows of one capture, written back in the capture's own format (header lines
kept), score another capture as it is. "zeek as csv": both conn logs exported to CSV as a user might
(names from #fields, Zeek's '-' for unset fields kept). Captures 34 and 44 come from one network (192.168.1.0/24),
capture 8 from another (192.168.100.0/24). For each pair: ROC-AUC, PR-AUC, the share of benign and of
malicious rows flagged at the default --fpr 0.01, and whether score warned of drift. The labels never go
into a fit. The peers (IsolationForest; PyOD's VAE and AutoEncoder with their defaults, which standardise
the columns) get the same hand-built features: counts, durations and bytes (unset as 0), one-hot
protocol, service, connection state and history, and the responder port as a service (below 1024) or
"ephemeral".
UNSW-NB15 sample: fit on half its benign rows (2,500, drawn with seed 0), and fit unlabelled on those
plus 75 attacks (2.9% of the training rows, as real captures hold some); score the other 2,500 benign
rows and the 4,925 other attacks, so no scored row was a training row.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IOT = ROOT.parent / "shared" / "data" / "iot23"
UNSW = ROOT.parent / "shared" / "data" / "unsw" / "unsw_training_10K.csv"
RESULTS = ROOT / "benchmarks" / "results"
NETWORK = {"34": "A", "44": "A", "8": "B"}


# ---- data ------------------------------------------------------------------------------------------
def labels(capture: str) -> np.ndarray:
    return pd.read_csv(IOT / f"labels{capture}.csv")["malicious"].to_numpy()


def benign_lines(capture: str) -> tuple[list[str], list[str], list[str]]:
    """The capture's conn log as lines: its header (less #close), its benign rows, and its #close trailer."""
    lines = (IOT / f"conn{capture}.log").read_text().splitlines(True)
    body = [ln for ln in lines if not ln.startswith("#")]
    return ([ln for ln in lines if ln.startswith("#") and not ln.startswith("#close")], [ln for ln, m in zip(body, labels(capture)) if m == 0],
            [ln for ln in lines if ln.startswith("#close")])


def zeek_benign(capture: str, folder: Path) -> Path:
    """The capture's conn log with only its benign rows, header and #close trailer kept."""
    head, benign, close = benign_lines(capture)
    out = folder / f"benign{capture}.log"
    out.write_text("".join(head + benign + close))
    return out


def zeek_csv(capture: str, folder: Path, benign_only: bool = False) -> Path:
    """The capture's conn log exported to CSV as a user might (names from #fields, Zeek's '-' kept)."""
    import csv

    lines = (IOT / f"conn{capture}.log").read_text().splitlines()
    fields = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    body = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    if benign_only:
        body = [r for r, m in zip(body, labels(capture)) if m == 0]
    out = folder / f"{'benign' if benign_only else 'conn'}{capture}.csv"
    with out.open("w", newline="") as f:
        csv.writer(f).writerows([fields, *body])
    return out


# Zeek's connection states as Suricata's flow states. SF, S0, S1 and OTH are as in the shared eve files
# (whose flow events eve_from_conn reproduces byte for byte from conn44.log and conn8.log); capture 34
# also holds S3 (established, the close seen one way only) and RSTR (closed by a reset).
SURICATA_STATE = {"S0": "new", "S1": "established", "S2": "established", "S3": "established", "OTH": "established"}


def eve_from_conn(capture: str, folder: Path) -> Path:
    """A capture that has no eve.json written as one, from its conn log: one flow event per connection
    (stamped at its end, as Suricata does), a stats event each minute and dns events among them."""
    from datetime import datetime, timezone

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")

    lines = (IOT / f"conn{capture}.log").read_text().splitlines()
    fields = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    out, last_stats = [], None
    for i, values in enumerate(ln.split("\t") for ln in lines if not ln.startswith("#")):
        r = dict(zip(fields, values))
        ts = float(r["ts"])
        dur = 0.0 if r["duration"] == "-" else float(r["duration"])
        if last_stats is None or ts - last_stats > 60:
            out.append({"timestamp": iso(ts), "event_type": "stats", "stats": {"uptime": 60}})
            last_stats = ts
        event = {"timestamp": iso(ts + dur), "flow_id": 1_000_000_000_000 + i, "event_type": "flow", "src_ip": r["id.orig_h"],
                 "src_port": int(r["id.orig_p"]), "dest_ip": r["id.resp_h"], "dest_port": int(r["id.resp_p"]),
                 "proto": r["proto"].upper(),
                 "flow": {"pkts_toserver": int(r["orig_pkts"]), "pkts_toclient": int(r["resp_pkts"]),
                          "bytes_toserver": int(r["orig_ip_bytes"]), "bytes_toclient": int(r["resp_ip_bytes"]),
                          "start": iso(ts), "end": iso(ts + dur), "age": int(dur),
                          "state": SURICATA_STATE.get(r["conn_state"], "closed"), "reason": "timeout"}}
        if r["service"] != "-":
            event["app_proto"] = r["service"]
        out.append(event)
        if r["service"] == "dns":
            out.append({"timestamp": iso(ts), "event_type": "dns", "src_ip": r["id.orig_h"], "dns": {"type": "query"}})
    path = folder / f"eve{capture}.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in out))
    return path


def eve_path(capture: str, folder: Path) -> Path:
    for name in (f"eve{capture}.json", f"eve{capture}.json.gz"):
        if (IOT / name).exists():
            return IOT / name
    return folder / f"eve{capture}.json" if (folder / f"eve{capture}.json").exists() else eve_from_conn(capture, folder)


def eve_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return f.readlines()


def eve_benign(capture: str, folder: Path) -> Path:
    """The capture's eve.json with only its benign flow events (other events kept, as a sensor writes them)."""
    y = iter(labels(capture))
    keep = [ln for ln in eve_lines(eve_path(capture, folder)) if json.loads(ln).get("event_type") != "flow" or next(y) == 0]
    out = folder / f"benign-eve{capture}.json"
    out.write_text("".join(keep))
    return out


def zeek_frame(path: Path) -> pd.DataFrame:
    from vaeguard.sources import open_source, read_table

    return read_table(open_source(str(path)))[0]


# ---- methods ---------------------------------------------------------------------------------------
def vaeguard_run(train_file: Path, test_file: Path, folder: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray, bool]:
    from vaeguard.detector import Detector
    from vaeguard.pipeline import fit_file, score_table

    model = folder / f"model-{train_file.stem}-{seed}"
    fit_file(str(train_file), model, Detector(seed=seed, device="cpu"))
    scored, run = score_table(str(test_file), model)
    return scored["anomaly_score"].to_numpy(), scored["is_anomaly"].to_numpy(), run.drift.drift


def flow_features(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Hand-built features for the peers: numbers as they are, categories one-hot."""
    out = {}
    for name, kind in columns.items():
        if name not in df:
            continue
        s = df[name]
        if kind == "num":
            out[name] = pd.to_numeric(s, errors="coerce").fillna(0.0)
        elif kind == "port":
            p = pd.to_numeric(s, errors="coerce")
            out[name] = np.where(p < 1024, p.astype("Int64").astype(str), "ephemeral")
        else:
            out[name] = s.astype(str)
    return pd.DataFrame(out)


ZEEK_FEATURES = {"duration": "num", "orig_bytes": "num", "resp_bytes": "num", "missed_bytes": "num", "orig_pkts": "num",
                 "orig_ip_bytes": "num", "resp_pkts": "num", "resp_ip_bytes": "num", "proto": "cat", "service": "cat",
                 "conn_state": "cat", "history": "cat", "id.resp_p": "port"}
EVE_FEATURES = {"flow.pkts_toserver": "num", "flow.pkts_toclient": "num", "flow.bytes_toserver": "num",
                "flow.bytes_toclient": "num", "flow.age": "num", "proto": "cat", "app_proto": "cat", "flow.state": "cat",
                "flow.reason": "cat", "dest_port": "port"}


# A connection's kind, as an analyst would sort traffic: protocol, service, the responder's port (as a
# service, or ephemeral) and how the connection went. A benign row whose kind the training capture's
# benign rows never held is new traffic to any detector fitted there; flagging it is no calibration error.
ZEEK_KIND = {"proto": "cat", "service": "cat", "id.resp_p": "port", "conn_state": "cat"}
EVE_KIND = {"proto": "cat", "app_proto": "cat", "dest_port": "port", "flow.state": "cat"}


def new_kinds(train: pd.DataFrame, test: pd.DataFrame, kind: dict[str, str]) -> np.ndarray:
    def keys(df: pd.DataFrame) -> pd.Series:
        return flow_features(df.reindex(columns=list(kind)), kind).agg(lambda r: "|".join(map(str, r)), axis=1)

    return ~keys(test).isin(set(keys(train))).to_numpy()


PEERS = ("IsolationForest", "PyOD VAE", "PyOD AutoEncoder")
_peer_cache: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}


def peer_matrices(train: pd.DataFrame, test: pd.DataFrame, features: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    a, b = flow_features(train, features), flow_features(test, features)
    both = pd.get_dummies(pd.concat([a, b]), dtype=float)
    return both.iloc[: len(a)].to_numpy(), both.iloc[len(a):].to_numpy()


def peers_run(train: pd.DataFrame, test: pd.DataFrame, features: dict[str, str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each peer's scores and flags on the hand-built features, with PyOD's defaults (random_state 0). A
    threshold flags 1% of the peer's own training rows, as --fpr 0.01 would. Formats that hold the same
    connections give the same matrices, and their peers' results are computed once."""
    import hashlib

    from sklearn.ensemble import IsolationForest

    Xa, Xb = peer_matrices(train, test, features)
    key = hashlib.sha256(Xa.tobytes() + b"|" + Xb.tobytes() + repr(Xa.shape).encode()).hexdigest()
    if key in _peer_cache:
        return _peer_cache[key]
    out = {}
    for method in PEERS:
        if method == "IsolationForest":
            forest = IsolationForest(random_state=0).fit(Xa)
            fit_scores, scores = -forest.score_samples(Xa), -forest.score_samples(Xb)
        else:
            from quality import pyod_detector

            path = "pyod.models.vae.VAE" if method == "PyOD VAE" else "pyod.models.auto_encoder.AutoEncoder"
            det = pyod_detector(path, seed=0).fit(Xa)
            fit_scores, scores = det.decision_function(Xa), det.decision_function(Xb)
        out[method] = (scores, (scores > np.quantile(fit_scores, 0.99)).astype(int))
    _peer_cache[key] = out
    return out


def add_peers(rows: list[dict], kind: str, name: str, y, train, test, features, new=None) -> None:
    for method, (scores, flags) in peers_run(train, test, features).items():
        rows.append(row(kind, name, method, y, scores, flags, new=new))


def progress(rows: list[dict], label: str) -> None:
    last = rows[-1 - len(PEERS):]
    print(f"  {label}: " + " ".join(f"{r['method']} {r['roc_auc']:.3f}" for r in last), file=sys.stderr, flush=True)


def row(kind: str, name: str, method: str, y, scores, flags, drift=None, seconds=0.0, new=None) -> dict:
    out = {"data": kind, "pair": name, "method": method, "roc_auc": roc_auc_score(y, scores), "pr_auc": average_precision_score(y, scores),
           "benign_flagged": float(np.mean(flags[y == 0])), "malicious_flagged": float(np.mean(flags[y == 1])),
           "drift": drift, "rows": int(len(y)), "seconds": seconds}
    if new is not None:
        known = (y == 0) & ~new
        out["benign_new_kind"] = float(np.mean(new[y == 0]))
        out["benign_known_kind_flagged"] = float(np.mean(flags[known])) if known.any() else float("nan")
    return out


# ---- runs --------------------------------------------------------------------------------------------
def pair_name(a: str, b: str) -> str:
    return f"{a} -> {b} ({'same network' if NETWORK[a] == NETWORK[b] else 'other network'})"


def zeek_pairs(folder: Path, fmt: str) -> list[dict]:
    rows = []
    for a in ("34", "8", "44"):
        train_file = zeek_csv(a, folder, benign_only=True) if fmt == "zeek as csv" else zeek_benign(a, folder)
        train = zeek_frame(train_file)
        for b in ("34", "8", "44"):
            if a == b:
                continue
            test_file = zeek_csv(b, folder) if fmt == "zeek as csv" else IOT / (f"conn{b}.json" if fmt == "zeek-json" else f"conn{b}.log")
            if not test_file.exists():
                continue
            y = labels(b)
            t0 = time.perf_counter()
            s, f, drift = vaeguard_run(train_file, test_file, folder)
            test = zeek_frame(test_file)
            new = new_kinds(train, test, ZEEK_KIND)
            name = pair_name(a, b)
            rows.append(row(fmt, name, "vaeguard", y, s, f, drift, time.perf_counter() - t0, new))
            add_peers(rows, fmt, name, y, train, test, ZEEK_FEATURES, new)
            progress(rows, f"{fmt} {name}")
    return rows


def zeek_pairs_by_seed(folder: Path, seeds: int) -> list[dict]:
    """vaeguard's ROC-AUC on each Zeek TSV pair for seeds 0 .. seeds-1: how much one fit's figure is the seed's."""
    rows = []
    for a in ("34", "8", "44"):
        train_file = zeek_benign(a, folder)
        for b in ("34", "8", "44"):
            if a == b:
                continue
            y = labels(b)
            name = pair_name(a, b)
            runs = [vaeguard_run(train_file, IOT / f"conn{b}.log", folder, seed) for seed in range(seeds)]
            aucs = [float(roc_auc_score(y, scores)) for scores, _, _ in runs]
            # The flagged shares move with the seed too, where the ranking barely does (34 -> 44's attacks).
            rows.append({"pair": name, "roc_auc": aucs, "benign_flagged": [float(flags[y == 0].mean()) for _, flags, _ in runs],
                         "malicious_flagged": [float(flags[y == 1].mean()) for _, flags, _ in runs]})
            print(f"  by seed {name}: {' '.join(f'{v:.3f}' for v in aucs)}", file=sys.stderr, flush=True)
    return rows


def eve_pairs(folder: Path) -> list[dict]:
    rows = []
    captures = ("34", "44", "8")
    for a in captures:
        train_file = eve_benign(a, folder)
        train = zeek_frame(train_file)
        for b in captures:
            if a == b:
                continue
            y = labels(b)
            t0 = time.perf_counter()
            s, f, drift = vaeguard_run(train_file, eve_path(b, folder), folder)
            assert len(s) == len(y), "one output row per flow event"
            test = zeek_frame(eve_path(b, folder))
            new = new_kinds(train, test, EVE_KIND)
            name = pair_name(a, b)
            rows.append(row("suricata eve", name, "vaeguard", y, s, f, drift, time.perf_counter() - t0, new))
            add_peers(rows, "suricata eve", name, y, train, test, EVE_FEATURES, new)
            progress(rows, f"eve {name}")
    return rows


def every_host_named(run) -> list[dict]:
    """drift.drifting_hosts as score judges them, every one (score's summary and --json list ten)."""
    from vaeguard.drift import drifting_hosts, expected_rate

    p0, p_high = expected_rate(run.detector.calibration_)
    return drifting_hosts(run.report.hosts, p_high, shown=1 << 30, baselines=run.detector.host_baselines_, p0=p0)


def host_runs(folder: Path) -> list[dict]:
    """The hosts score names as drifting on their own rows (drift.drifting_hosts, every one, not only the ten
    --json lists), for each Zeek TSV pair: how many, how many of them are malicious (most of their rows
    labelled so), and how many malicious hosts the scored capture holds."""
    from vaeguard.detector import Detector
    from vaeguard.pipeline import fit_file, score_table

    out = []
    for a in ("34", "8", "44"):
        train_file = zeek_benign(a, folder)
        model = folder / f"hosts-model-{a}"
        fit_file(str(train_file), model, Detector(seed=0, device="cpu"))
        for b in ("34", "8", "44"):
            if a == b:
                continue
            scored, run = score_table(str(IOT / f"conn{b}.log"), model)
            y = labels(b)
            named = every_host_named(run)
            malicious = {(c, h) for c in ("id.orig_h", "id.resp_h")
                         for h, share in pd.Series(y).groupby(scored[c].astype(str).to_numpy()).mean().items() if share > 0.5}
            hit = [h for h in named if (h["column"], h["host"]) in malicious]
            out.append({"pair": pair_name(a, b), "named": len(named), "named_malicious": len(hit), "malicious_hosts": len(malicious),
                        "rows_flagged": run.drift.flag_rate, "drift": run.drift.drift,
                        "first": [f"{h['host']}{'*' if (h['column'], h['host']) in malicious else ''}" for h in named[:5]]})
            print(f"  hosts {out[-1]['pair']}: {len(named)} named, {len(hit)} malicious", file=sys.stderr, flush=True)
    # Normal traffic alone, where every host named is a false alarm: a capture's benign rows, the first half
    # (by time) fitted, the second half scored.
    for a in ("34", "8", "44"):
        head, benign, _ = benign_lines(a)
        benign.sort(key=lambda ln: float(ln.split("\t", 1)[0]))
        half = len(benign) // 2
        first, second = folder / f"first{a}.log", folder / f"second{a}.log"
        first.write_text("".join(head + benign[:half]))
        second.write_text("".join(head + benign[half:]))
        model = folder / f"hosts-half-{a}"
        fit_file(str(first), model, Detector(seed=0, device="cpu"))
        scored, run = score_table(str(second), model)
        named = every_host_named(run)
        out.append({"pair": f"{a}, benign rows: first half -> second half", "named": len(named), "named_malicious": 0, "malicious_hosts": 0,
                    "rows_flagged": run.drift.flag_rate, "drift": run.drift.drift, "first": [h["host"] for h in named[:5]]})
        print(f"  hosts {out[-1]['pair']}: {len(named)} named", file=sys.stderr, flush=True)
    return out


def unsw_runs(folder: Path) -> list[dict]:
    df = pd.read_csv(UNSW)
    y = (df["label"].astype(str).str.lower() != "benign").astype(int).to_numpy()
    features = df.drop(columns=["label"])
    # Scored rows are never training rows: a detector that remembers what it saw (exact byte counts)
    # would otherwise score the benign rows it was fitted on as normal by memory.
    benign = np.random.default_rng(0).permutation(np.flatnonzero(y == 0))
    fit_benign, held_out = np.sort(benign[: len(benign) // 2]), np.sort(benign[len(benign) // 2:])
    attacks = np.flatnonzero(y == 1)
    n_mixed = int(round(0.03 * len(fit_benign)))
    test_rows = np.concatenate([held_out, attacks[n_mixed:]])
    test, y_test = features.iloc[test_rows], y[test_rows]
    test_path = folder / "unsw-test.csv"
    test.to_csv(test_path, index=False)
    rows = []
    for name, train_rows in ((f"fit on {len(fit_benign):,} benign rows", fit_benign),
                             (f"fit unlabelled ({n_mixed} of {len(fit_benign) + n_mixed:,} rows attacks)", np.concatenate([fit_benign, attacks[:n_mixed]]))):
        train = features.iloc[train_rows]
        path = folder / "unsw-train.csv"
        train.to_csv(path, index=False)
        t0 = time.perf_counter()
        s, f, drift = vaeguard_run(path, test_path, folder)
        rows.append(row("UNSW-NB15 sample", name, "vaeguard", y_test, s, f, drift, time.perf_counter() - t0))
        add_peers(rows, "UNSW-NB15 sample", name, y_test, train, test, {c: "num" for c in features.columns})
        progress(rows, f"unsw {name}")
    return rows


def report(rows: list[dict], elapsed: float, by_seed: list[dict] | None = None, hosts: list[dict] | None = None) -> str:
    from quality import machine

    seeds_option = f" --seeds {len(by_seed[0]['roc_auc'])}" if by_seed else ""
    lines = ["# Flow logs: vaeguard with no options against IsolationForest and PyOD", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} on {machine()}; {elapsed:.0f} s in all (`python benchmarks/flows.py{seeds_option}`).", "",
             "Fit on the benign rows of one capture (kept in its own format), score another capture as it is. Flagged shares at "
             "the default `--fpr 0.01`; a peer's threshold flags 1% of its own training rows. The peers (IsolationForest, "
             "PyOD's VAE and AutoEncoder with their defaults and random_state 0) get hand-built features: counts and bytes "
             "as they are, one-hot protocol, service, state and history, the responder port as a service or ephemeral. "
             "Captures 34 and 44: one "
             "network; capture 8: another. Capture 34 has no eve.json of its own: its conn log is written as one, the way "
             "the shared eve files were (`eve_from_conn`).", "",
             "A benign row's *kind* is its protocol, service, responder port (a service, or ephemeral) and connection state. "
             "\"new kinds\" is the share of the scored capture's benign rows whose kind the training capture's benign rows "
             "never held (traffic that is new to any detector fitted there); \"known kinds flagged\" is the flagged share of "
             "the other benign rows, the part a false-positive rate speaks for.", "",
             "| data | fit -> score | method | ROC-AUC | PR-AUC | benign flagged | malicious flagged | drift warning "
             "| benign rows of new kinds | benign rows of known kinds flagged |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        drift = "" if r["drift"] is None else ("yes" if r["drift"] else "no")
        new = f"{r['benign_new_kind']:.1%}" if "benign_new_kind" in r else ""
        known = f"{r['benign_known_kind_flagged']:.1%}" if "benign_known_kind_flagged" in r else ""
        lines.append(f"| {r['data']} | {r['pair']} | {r['method']} | {r['roc_auc']:.3f} | {r['pr_auc']:.3f} | "
                     f"{r['benign_flagged']:.1%} | {r['malicious_flagged']:.1%} | {drift} | {new} | {known} |")
    if hosts:
        lines += ["", "## Hosts named (Zeek TSV)", "",
                  "The hosts `score` names as drifting on their own rows (`drifting_hosts`: the drift test on each address's "
                  "rows, its level shared among the hosts with flagged rows), every one of them, ordered by p-value. A host "
                  "is malicious when most of its rows are labelled so (*). Hosts of both ends, `id.orig_h` and `id.resp_h`. "
                  "The last three rows score normal traffic alone (a capture's benign rows, the first half by time fitted, "
                  "the second half scored): every host named there is a false alarm.", "",
                  "| fit -> score | rows flagged | hosts named | of them malicious | malicious hosts in the capture | first named, by p-value |",
                  "|---|---|---|---|---|---|"]
        for r in hosts:
            lines.append(f"| {r['pair']} | {r['rows_flagged']:.1%} | {r['named']} | {r['named_malicious']} | {r['malicious_hosts']} | "
                         f"{', '.join(r['first'])} |")
    if by_seed:
        lines += ["", "## vaeguard by seed (Zeek TSV)", "",
                  f"The same fits with `--seed` 0 to {len(by_seed[0]['roc_auc']) - 1} (`--seeds`): the figures above are seed 0's.", "",
                  "| fit -> score | ROC-AUC, seed by seed | mean | median | min | max | benign flagged, min-max | malicious flagged, seed by seed |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in by_seed:
            v, benign, bad = r["roc_auc"], r["benign_flagged"], r["malicious_flagged"]
            lines.append(f"| {r['pair']} | {', '.join(f'{x:.3f}' for x in v)} | {np.mean(v):.3f} | {np.median(v):.3f} | {min(v):.3f} | {max(v):.3f} "
                         f"| {min(benign):.1%}-{max(benign):.1%} | {', '.join(f'{x:.0%}' for x in bad)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=RESULTS / "flows.md")
    ap.add_argument("--seeds", type=int, default=0, help="also fit each Zeek TSV pair with seeds 0 .. N-1 and report the spread")
    args = ap.parse_args()
    if not IOT.exists():
        sys.exit(f"flow data not found at {IOT}")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = zeek_pairs(folder, "zeek tsv") + zeek_pairs(folder, "zeek-json") + zeek_pairs(folder, "zeek as csv") + eve_pairs(folder)
        if UNSW.exists():
            rows += unsw_runs(folder)
        hosts = host_runs(folder)
        by_seed = zeek_pairs_by_seed(folder, args.seeds) if args.seeds > 0 else []
    text = report(rows, time.perf_counter() - t0, by_seed, hosts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(rows + [{"data": "zeek tsv", "pair": r["pair"], "method": "vaeguard",
                                                                 "roc_auc_by_seed": r["roc_auc"], "benign_flagged_by_seed": r["benign_flagged"],
                                                                 "malicious_flagged_by_seed": r["malicious_flagged"]} for r in by_seed]
                                                    + [{"data": "zeek tsv hosts", **r} for r in hosts],
                                                    indent=1, default=float))
    print(text)


if __name__ == "__main__":
    main()
