"""DNS names and URLs measured by their shape, on generated logs: how the tunnels and injections among them rank.

    python benchmarks/names.py        # -> benchmarks/results/names.md (about eight minutes)

No real capture with labelled DNS tunnels or web attacks is at hand, so the logs are the tests' generated
ones (tests/logdata.py): an office's Zeek dns.log (popular sites, CDN names, reverse lookups, its own hosts,
rarer sites) and a web shop's Zeek http.log (pages, products, searches, hashed static files, an API). One
day fits, the next day is scored with 2% attacks among its rows: queries that carry base32 data in their
labels (a tunnel, sent as A and AAAA queries as the office's own are), and injections and traversals. The
dns log comes twice: as generated, and with 3% of the office's queries answered NXDOMAIN, a rarer event of
its own that sets the threshold. Suricata's eve.json of the same queries is read with `--events dns`.

Each is fitted with no options (the name or URL measured by its shape) and as before this release (the
query a category, `--role query=categorical`; the uri left out as an identifier where more than half its
values are distinct, else a category), with the same seed; and with `--trim 0` (no training rows left out as
worst-fitting, for training rows known to be normal). The figures say how the mechanism works on logs made for
it, not how well real tunnels or attacks are found.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.logdata import access_log_text, dns_log, dns_query_log_text, eve_dns_text, http_log  # noqa: E402

VAEGUARD = [sys.executable, "-m", "vaeguard"]
ROWS = 20_000
ATTACKS = 0.02


def logs(folder: Path) -> list[tuple[str, Path, Path, np.ndarray, list[str], list[str], str]]:
    """(name, training log, scored log, attack mask, extra fit options, options as before (None: not read
    before), what changed)."""
    out = []
    for name, nx in (("Zeek dns.log", 0.0), ("Zeek dns.log, 3% NXDOMAIN", 0.03)):
        train, _ = dns_log(ROWS, seed=0, nxdomain=nx)
        day, tunnel = dns_log(ROWS, seed=1, tunnel=ATTACKS, nxdomain=nx)
        a, b = folder / f"dns{nx}-a.log", folder / f"dns{nx}-b.log"
        a.write_text(train)
        b.write_text(day)
        out.append((name, a, b, tunnel, [], ["--role", "query=categorical"], "query: domain / categorical"))
        if nx == 0.0:
            # The same queries in a resolver's own query log: not read before (one column of text).
            for server, title in (("bind", "BIND's query log"), ("dnsmasq", "dnsmasq's (Pi-hole's) query log")):
                qa, qb = folder / f"{server}-a.log", folder / f"{server}-b.log"
                qa.write_text(dns_query_log_text(train, server))
                qb.write_text(dns_query_log_text(day, server))
                out.append((f"the same as {title}", qa, qb, tunnel, [], None, "query: domain / not read"))
            ea, eb = folder / "eve-a.json", folder / "eve-b.json"
            ea.write_text(eve_dns_text(train, flows=False))
            eb.write_text(eve_dns_text(day, flows=False))
            out.append(("Suricata eve.json, --events dns", ea, eb, np.repeat(tunnel, 2), ["--events", "dns"],
                        ["--role", "dns.rrname=categorical"], "dns.rrname: domain / categorical"))
            # Suricata 8's default: the question only in dns.queries, a list of records. Before, each list was
            # its JSON text, a category; the options give that back (the lists whole, their first records' fields left out).
            ea, eb = folder / "eve8-a.json", folder / "eve8-b.json"
            ea.write_text(eve_dns_text(train, flows=False, version=3))
            eb.write_text(eve_dns_text(day, flows=False, version=3))
            as_text = ["--role", "dns.queries=categorical", "--role", "dns.answers=categorical"] + [
                a for c in ("dns.queries.rrname", "dns.queries.rrtype", "dns.answers.rrname", "dns.answers.rrtype", "dns.answers.ttl")
                for a in ("--ignore", c)]
            out.append(("Suricata 8 eve.json (dns.queries), --events dns", ea, eb, np.repeat(tunnel, 2), ["--events", "dns"], as_text,
                        "dns.queries: first record's rrname a domain / the list as text"))
    train, _ = http_log(ROWS, seed=0)
    day, attack = http_log(ROWS, seed=1, attacks=ATTACKS)
    a, b = folder / "http-a.log", folder / "http-b.log"
    a.write_text(train)
    b.write_text(day)
    before = role_before(a, "uri")
    out.append(("Zeek http.log", a, b, attack, [], ["--role", f"uri={before}"], f"uri: url / {before}"))
    # The same requests as a web server and a proxy write them: neither log could be read before (the access
    # log's first line was taken for a CSV header; Squid's lines were one column of id-like text).
    for name, squid in (("the same as nginx's access log (Combined Log Format)", False), ("the same as Squid's access log", True)):
        a, b = folder / f"access{squid}-a.log", folder / f"access{squid}-b.log"
        a.write_text(access_log_text(train, squid=squid))
        b.write_text(access_log_text(day, squid=squid))
        out.append((name, a, b, attack, [], None, "uri: url / not read"))
    return out


def role_before(log: Path, column: str) -> str:
    """What the text rules made of `column` before this release: an identifier, left out, where more than half
    its values are distinct (schema.ID_UNIQUE_FRACTION), else a category."""
    from vaeguard.schema import ID_UNIQUE_FRACTION
    from vaeguard.sources import open_source, read_table

    values = read_table(open_source(str(log)))[0][column].dropna()
    return "ignore" if values.nunique() > ID_UNIQUE_FRACTION * len(values) else "categorical"


def run(folder: Path, train: Path, scored: Path, y: np.ndarray, options: list[str], tag: str) -> dict:
    model, out = folder / f"m-{tag}", folder / f"o-{tag}.csv"
    t0 = time.perf_counter()
    subprocess.run([*VAEGUARD, "fit", str(train), "--model", str(model), "-q", *options], check=True)
    subprocess.run([*VAEGUARD, "score", str(scored), "--model", str(model), "--out", str(out), "-q"], check=True)
    seconds = time.perf_counter() - t0
    s = pd.read_csv(out, low_memory=False)
    flagged = s["is_anomaly"].to_numpy() == 1
    top = s["top_features"][y].str.split(";").str[0].value_counts()
    return {"roc": roc_auc_score(y, s["anomaly_score"]), "pr": average_precision_score(y, s["anomaly_score"]),
            "attacks": flagged[y].mean(), "others": flagged[~y].mean(), "top": ", ".join(f"{k} {v}" for k, v in top.head(2).items()),
            "seconds": seconds}


def main() -> None:
    lines = ["# DNS names and URLs by their shape (generated logs)", "",
             f"`python benchmarks/names.py`: {ROWS:,} rows fitted, the next day's {ROWS:,} scored with {ATTACKS:.0%} attacks; "
             "no options but those named. Generated logs (tests/logdata.py): the mechanism on logs made for it, not "
             "a measure of real tunnels or attacks.", "",
             "| log | column: role now / before | how | ROC-AUC | PR-AUC | attacks flagged | other rows flagged | attacks' top feature | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="vaeguard-names-") as tmp:
        folder = Path(tmp)
        for i, (name, train, scored, y, extra, before, what) in enumerate(logs(folder)):
            for how, options in (("now (no options)", extra), ("now, `--trim 0`", [*extra, "--trim", "0"]), ("as before", [*extra, *(before or [])])):
                if before is None and how == "as before":
                    lines.append(f"| {name} | {what} | as before | not read | | | | | |")
                    continue
                r = run(folder, train, scored, y, options, f"{i}-{how[:3]}")
                lines.append(f"| {name} | {what} | {how}{' `' + ' '.join(before) + '`' if how == 'as before' else ''} | {r['roc']:.3f} | "
                             f"{r['pr']:.3f} | {r['attacks']:.1%} | {r['others']:.1%} | {r['top']} | {r['seconds']:.1f} |")
                print(lines[-1], flush=True)
    out = ROOT / "benchmarks" / "results" / "names.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
