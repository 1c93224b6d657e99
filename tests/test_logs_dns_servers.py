"""DNS servers' query logs: BIND's, dnsmasq's (Pi-hole's) and Unbound's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from vaeguard.logs.dnsquery import dns_query_record
from vaeguard.sources import open_source, read_table

from .conftest import invoke
from .logdata import dns_log, dns_query_log_text, fit_log


def test_a_query_line_of_each_server_is_a_record():
    bind = json.loads(dns_query_record("05-Dec-2026 10:00:00.123 queries: info: client @0x7f8a1c0b4d40 10.0.0.5#53211 (www.example.com): "
                                       "view internal: query: www.example.com IN A +E(0)K (10.0.0.1)"))
    assert bind == {"syslog_header": "05-Dec-2026 10:00:00.123 queries: info", "client": "10.0.0.5", "client_port": 53211,
                    "query": "www.example.com", "qclass": "IN", "qtype": "A", "flags": "+E(0)K", "server": "10.0.0.1"}
    dnsmasq = json.loads(dns_query_record("Dec  5 10:00:00 dnsmasq[812]: query[AAAA] api.example.org from 10.0.0.9"))
    assert (dnsmasq["query"], dnsmasq["qtype"], dnsmasq["client"], dnsmasq["syslog_header"]) == ("api.example.org", "AAAA", "10.0.0.9", "Dec  5 10:00:00")
    unbound = json.loads(dns_query_record("[1764928800] unbound[1234:0] info: 10.0.0.5 www.example.com. TXT IN"))
    assert (unbound["query"], unbound["qtype"], unbound["qclass"]) == ("www.example.com", "TXT", "IN")
    # The server's other lines for a query are no rows; another program's line is no such log's.
    assert dns_query_record("Dec  5 10:00:00 dnsmasq[812]: reply www.example.com is 93.184.216.34") == ""
    assert dns_query_record("Dec  5 10:00:00 sshd[99]: Accepted publickey for root") is None


@pytest.mark.parametrize("server", ["bind", "dnsmasq", "unbound"])
def test_a_dns_servers_query_log_measures_each_name_by_its_shape(tmp_path, runner, server):
    """A resolver's own query log (BIND's querylog, dnsmasq's or Pi-hole's log-queries, Unbound's log-queries)
    was no table (a CSV of one column, or for Unbound's bracketed times a JSON array): each query is now a row,
    its name measured by its shape, so a tunnel's queries stand out as in a Zeek dns log."""
    train, _ = dns_log(3000, seed=0)
    day, tunnel = dns_log(3000, seed=1, tunnel=0.03)
    (tmp_path / "a.log").write_text(dns_query_log_text(train, server))
    (tmp_path / "b.log").write_text(dns_query_log_text(day, server))
    src = open_source(str(tmp_path / "a.log"))
    df, _ = read_table(src)
    assert len(df) == 3000 and src.log_lines == "dnsquery"
    assert src.skipped_summary() == ("6,000 lines other than queries left out" if server == "dnsmasq" else "")
    model, roles = fit_log(runner, tmp_path / "a.log", tmp_path, epochs=60)
    assert roles["query"] == "domain" and roles["client"] == roles["syslog_header"] == "ignored" and roles["qtype"] == "categorical", roles
    assert invoke(runner, "score", tmp_path / "b.log", "--model", model, "--out", tmp_path / "out.csv", "-q").exit_code == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 3000 and roc_auc_score(tunnel, out["anomaly_score"]) > 0.95
    assert out["top_features"][tunnel].str.startswith("query:").mean() > 0.8 and out["is_anomaly"][~tunnel].mean() < 0.05
    assert np.isfinite(out["anomaly_score"]).all()
