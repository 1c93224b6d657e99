"""Web access logs: a web server's (Common and Combined Log Format) and Squid's native access log."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from vaeguard.logs.web import access_record, squid_record
from vaeguard.sources import open_source, read_table

from .conftest import invoke
from .logdata import access_log_text, fit_log, http_log


def test_an_access_log_line_is_split_into_its_request_and_fields():
    combined = json.loads(access_record('203.0.113.9 - frank [10/Oct/2026:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 '
                                        '"http://example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'))
    assert combined == {"client": "203.0.113.9", "ident": None, "user": "frank", "time": "2026-10-10T13:55:36-07:00", "request": None,
                        "method": "GET", "uri": "/a.gif?x=1", "protocol": "HTTP/1.0", "status": "200", "bytes": 2326,
                        "referrer": "http://example.com/start.html", "user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)"}
    common = json.loads(access_record('10.0.0.5 - - [10/Oct/2026:13:55:37 +0000] "POST /login HTTP/1.1" 302 -'))
    assert common["bytes"] == 0 and "user_agent" not in common and common["user"] is None
    # Apache's vhost_combined puts the site first; a request line that is no request (TLS sent to port 80) is kept whole.
    vhost = json.loads(access_record('shop.example.com:443 10.0.0.5 - - [10/Oct/2026:13:55:38 +0000] "\\x16\\x03\\x01\\x00" 400 157 "-" "-"'))
    assert vhost["vhost"] == "shop.example.com" and vhost["method"] is None and vhost["request"] == "\\x16\\x03\\x01\\x00"
    assert access_record("not an access log line") is None


def test_a_squid_line_splits_its_url_into_host_port_and_target():
    get = json.loads(squid_record("1700000000.123    110 10.0.0.51 TCP_MISS/200 5127 GET http://example.com/a?b=1 - "
                                  "HIER_DIRECT/93.184.216.34 text/html"))
    assert (get["host"], get["port"], get["uri"], get["status"], get["elapsed"]) == ("example.com", 80, "/a?b=1", "200", 110)
    connect = json.loads(squid_record("1700000001.000   1211 10.0.0.55 TCP_TUNNEL/200 1170 CONNECT login.example.org:8443 alice "
                                      "HIER_DIRECT/198.51.100.7 -"))
    assert (connect["host"], connect["port"], connect["uri"], connect["user"], connect["content_type"]) == ("login.example.org", 8443, None, "alice", None)
    assert squid_record("1700000001.000 1 10.0.0.55 NONE/400 0 NONE error:invalid-request - HIER_NONE/- -")  # read, the URL unsplit


def test_a_web_servers_access_log_measures_each_request_by_its_shape(tmp_path, runner):
    """nginx's and Apache's access log (Combined Log Format) was no table: its first line was taken for a CSV
    header and fit stopped. Each line's request is now split, its target measured by its shape, so an injection
    or a traversal among a shop's requests stands out; the client and time are ignored, the user agent is a
    category."""
    train, _ = http_log(3000, seed=0)
    day, attack = http_log(3000, seed=1, attacks=0.03)
    (tmp_path / "access.log").write_text(access_log_text(train))
    (tmp_path / "day.log").write_text(access_log_text(day) + "a line that is not a request\n")
    src = open_source(str(tmp_path / "access.log"))
    df, _ = read_table(src)
    assert len(df) == 3000 and src.describe(df.columns) == "web server access log (a web server's access log (Common or Combined Log Format))"
    model, roles = fit_log(runner, tmp_path / "access.log", tmp_path, epochs=60)
    assert roles["uri"] == "url" and roles["client"] == roles["time"] == "ignored" and roles["user_agent"] == "categorical", roles
    assert roles["status"] == "constant" and roles["bytes"] == "numeric", roles  # the shop answered 200 to every request
    res = invoke(runner, "score", tmp_path / "day.log", "--model", model, "--out", tmp_path / "out.csv")
    assert res.exit_code == 0 and "1 malformed line skipped" in " ".join(res.stderr.replace("│", " ").split()), res.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert roc_auc_score(attack, out["anomaly_score"]) > 0.95 and out["is_anomaly"][~attack].mean() < 0.05
    assert out["top_features"][attack].str.startswith("uri:").mean() > 0.8


def test_squids_access_log_measures_the_site_and_the_target(tmp_path, runner):
    """Squid's native access log was one column of id-like text ("no usable columns"). Its URL is now split:
    the host a DNS name asked for, the port a port, the target measured by its shape; the URL itself, their
    sum, and the server's address are left out."""
    train, _ = http_log(3000, seed=0)
    day, attack = http_log(3000, seed=1, attacks=0.03)
    (tmp_path / "access.log").write_text(access_log_text(train, squid=True))
    (tmp_path / "day.log").write_text(access_log_text(day, squid=True))
    model, roles = fit_log(runner, tmp_path / "access.log", tmp_path, epochs=60)
    assert roles["uri"] == "url" and roles["url"] == roles["peer"] == roles["client"] == "ignored" and roles["port"] == "port", roles
    assert roles["result"] == "constant" and roles["elapsed"] == roles["bytes"] == "numeric", roles
    assert invoke(runner, "score", tmp_path / "day.log", "--model", model, "--out", tmp_path / "out.csv", "-q").exit_code == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert roc_auc_score(attack, out["anomaly_score"]) > 0.95
    # A proxy's log names many sites: the host is then measured by its shape too.
    sites = "\n".join(f"{1.7e9 + i:.3f} 5 10.0.0.{i % 50} TCP_MISS/200 900 GET http://{w}{i % 7}.example.{t}/p - HIER_DIRECT/192.0.2.1 text/html"
                      for i, (w, t) in enumerate(zip(np.random.default_rng(0).choice(["www", "cdn", "api"], 300), ["com", "net"] * 150)))
    (tmp_path / "sites.log").write_text(sites + "\n")
    (tmp_path / "s").mkdir()
    assert fit_log(runner, tmp_path / "sites.log", tmp_path / "s", epochs=2)[1]["host"] == "domain"
