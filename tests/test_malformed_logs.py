"""Every log reader on damaged input: lines cut short, stray bytes and quotes, a line of 300,000 characters,
blank lines, a file cut mid-line, digits changed. Whatever a reader makes of such a line, the command ends
with its result (exit 0) or one line on stderr (exit 2), never an internal error, a traceback or a stall."""

from __future__ import annotations

import random

import pytest

from .conftest import invoke
from .logdata import (access_log_text, conn_rows, dns_log, dns_query_log_text, eve_dns_text, eve_text, filterlog_log,
                      fortigate_log, gcp_flow_log, http_log, mikrotik_log, netfilter_log, nfdump_csv, panos_log, vpc_flow_log,
                      windows_firewall_log, zeek_json_text, zeek_text)

pytestmark = pytest.mark.slow

LOGS = {
    "zeek": lambda: zeek_text(conn_rows(300)),
    "zeek-json": lambda: zeek_json_text(conn_rows(300)),
    "eve": lambda: eve_text(conn_rows(300)),
    "eve-dns-v3": lambda: eve_dns_text(dns_log(300)[0], version=3),
    "nfdump": lambda: nfdump_csv(300),
    "vpc": lambda: vpc_flow_log(300, "123456789012", ["eni-1", "eni-2"], 1_600_000_000),
    "gcp": lambda: gcp_flow_log(300, "project", 1),
    "windows-firewall": lambda: windows_firewall_log("2024-01-01", [4, 100], 300),
    "fortigate": lambda: fortigate_log(300, 1, "FGT1", "root"),
    "panos": lambda: panos_log(300, 1, "PA1"),
    "access": lambda: access_log_text(http_log(300)[0]),
    "squid": lambda: access_log_text(http_log(300)[0], squid=True),
    "bind": lambda: dns_query_log_text(dns_log(300)[0], "bind"),
    "dnsmasq": lambda: dns_query_log_text(dns_log(300)[0], "dnsmasq"),
    "unbound": lambda: dns_query_log_text(dns_log(300)[0], "unbound"),
    "netfilter": lambda: netfilter_log(300)[0],
    "filterlog": lambda: filterlog_log(300)[0],
    "mikrotik": lambda: mikrotik_log(300)[0],
}
STRAY = ["\x00", "\ufffd", '"', "'", "\\", "{", "}", "[", "]", ",", "\t", "=", "|", ";", "\r", "é", "nan", "-1", "9" * 30]


def damaged(text: str, how: str, rng: random.Random) -> bytes:
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    for _ in range(10 if how in ("cut", "stray", "digits") else 1):
        i = rng.choice(body)
        if how == "cut":
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif how == "stray":
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(STRAY) + lines[i][at:]
        elif how == "digits":
            lines[i] = "".join(rng.choice("0123456789") if c.isdigit() and rng.random() < 0.5 else c for c in lines[i])
        elif how == "long":
            lines[i] += "QUJD" * 75_000
        elif how == "blank":
            for _ in range(10):
                lines.insert(rng.randrange(len(lines)), rng.choice(["", " ", "\t"]))
    out = "\n".join(lines)
    return (out[: int(len(out) * 0.97)] if how == "end" else out).encode()


@pytest.mark.parametrize("log", sorted(LOGS))
def test_a_damaged_log_is_scored_or_refused_in_one_line(runner, tmp_path, log):
    text = LOGS[log]()
    clean = tmp_path / f"{log}.log"
    clean.write_text(text)
    model = tmp_path / "m"
    res = invoke(runner, "fit", clean, "--model", model, "--epochs", "1", "-q")
    assert res.exit_code == 0, res.output
    rng = random.Random(log)
    for how in ("cut", "stray", "digits", "long", "blank", "end"):
        path, out = tmp_path / f"{how}.log", tmp_path / f"{how}-scored.csv"
        path.write_bytes(damaged(text, how, rng))
        for args in (["score", path, "--model", model, "--out", out, "-q"], ["fit", path, "--model", tmp_path / how, "--epochs", "1", "-q"]):
            res = invoke(runner, *args)
            assert res.exit_code in (0, 2) and "Traceback" not in res.output, (log, how, args[0], res.output[-2000:])
            if res.exit_code == 2:
                assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, (log, how, args[0], res.stderr)
                assert not out.exists() and not (tmp_path / how / "manifest.json").exists()
            out.unlink(missing_ok=True)
