"""Firewalls' logs: Juniper SRX, FortiGate, Palo Alto, Cisco ASA and Firepower, SonicWall, CEF, LEEF, Check Point, Linux netfilter, pf (pfSense, OPNsense) and MikroTik."""

from __future__ import annotations

import gzip
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from vaeguard.sources import open_source, read_table

from .conftest import invoke
from .logdata import assert_lines_told, assert_scored_as_home, filterlog_log, fit_log, fortigate_log, mikrotik_log, netfilter_log, panos_log


def srx_log(n: int, host: str, iface: str, nat: str, seed: int) -> str:
    """Juniper SRX's structured syslog: each session's open (CREATE) and close (CLOSE, with its counts), and
    a denial and an IDP event among them."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        dns = rng.random() < 0.3
        dp = 53 if dns else int(rng.choice([80, 443]))
        ends = (f'source-address="10.0.0.{rng.integers(2, 60)}" source-port="{rng.integers(1024, 65535)}" '
                f'destination-address="93.184.{rng.integers(256)}.{rng.integers(256)}" destination-port="{dp}" '
                f'service-name="{ {53: "junos-dns-udp", 80: "junos-http", 443: "junos-https"}[dp] }" nat-source-address="{nat}" '
                f'nat-source-port="{rng.integers(1024, 65535)}" protocol-id="{17 if dns else 6}" policy-name="allow-out" '
                f'source-zone-name="trust" destination-zone-name="untrust" session-id-32="{seed * 100_000 + i}"')
        head = f"<14>1 2026-12-0{1 + seed}T10:{i // 60 % 60:02d}:{i % 60:02d}.123Z {host} RT_FLOW - "
        lines.append(head + f'RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.26 {ends} packet-incoming-interface="{iface}"]')
        pkts = int(rng.integers(1, 40))
        lines.append(head + f'RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.26 reason="{"TCP FIN" if not dns else "response received"}" {ends} '
                            f'packets-from-client="{pkts}" bytes-from-client="{pkts * int(rng.integers(40, 1500))}" packets-from-server="{pkts}" '
                            f'bytes-from-server="{pkts * int(rng.integers(40, 1500))}" elapsed-time="{rng.integers(0, 60)}" '
                            f'packet-incoming-interface="{iface}"]')
    lines.append(lines[0].replace("RT_FLOW_SESSION_CREATE", "RT_FLOW_SESSION_DENY"))
    lines.append(lines[0].replace("RT_FLOW_SESSION_CREATE", "RT_IDP_ATTACK_LOG_EVENT"))
    return "\n".join(lines) + "\n"


def fit_srx_and_score_another(runner, train, other, tmp_path, also_ignored: str) -> None:
    """Fit on one SRX's 1,000 sessions and score another SRX's 300: the opens, denials and IDP events are left
    out, the device's addresses, ids and `also_ignored` are ignored, and the other device is not news."""
    model = tmp_path / "m"
    res = invoke(runner, "fit", train, "--model", model)
    assert res.exit_code == 0 and "1,002 non-flow events left out" in res.stderr and "Juniper SRX session log" in res.stderr, res.output
    roles = {c["name"]: c["role"] for c in json.loads((model / "manifest.json").read_text())["schema"]}
    assert roles["source-address"] == roles["nat-source-address"] == roles["session-id-32"] == roles[also_ignored] == "ignored"
    assert roles["destination-port"] == "port" and roles["bytes-from-client"] == roles["elapsed-time"] == "numeric", roles
    res = invoke(runner, "score", other, "--model", model, "--out", tmp_path / "o.csv", "--json")
    summary = json.loads(res.stdout)
    assert res.exit_code == 0 and summary["rows"] == 300 and summary["flag_rate"] < 0.05, summary


def test_juniper_srx_sessions_are_one_row_each_and_another_srx_is_not_news(tmp_path, runner):
    # An SRX logs a session when it opens and when it closes: read as key=value lines, each session was two
    # rows, one without counts. Only the close is a flow; the opens, denials and IDP events are counted.
    train, other = tmp_path / "srx1.log", tmp_path / "srx2.log"
    train.write_text(srx_log(1000, "srx1", "ge-0/0/1.0", "198.51.100.7", seed=0))
    other.write_text(srx_log(300, "srx2", "reth0.100", "203.0.113.9", seed=1))
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 1000 and src.other_events == 1002 and df["bytes-from-client"].notna().all()
    fit_srx_and_score_another(runner, train, other, tmp_path, also_ignored="packet-incoming-interface")


def srx_plain_log(n: int, host: str, iface: str, nat: str, seed: int, old: bool = False) -> str:
    """The sessions of `srx_log` in the SRX's default syslog format (fields by place): as Junos 12.1X47 and
    later write them (connection tags, four NAT rule fields, the application and interface after the elapsed
    time), or, old=True, as Junos 10 did (neither tags, two NAT rule fields, nothing after the time)."""
    out = []
    for line in srx_log(n, host, iface, nat, seed).splitlines():
        f = dict(re.findall(r'([a-z0-9-]+)="([^"]*)"', line))
        tag = re.search(r"(RT_[A-Z_]+) \[", line).group(1)
        head = f"<14>Dec  {1 + seed} 10:00:00 {host} RT_FLOW: {tag}: "
        sep, rules = (" ", "N/A N/A") if old else (" 0x0 ", "N/A N/A N/A N/A")
        ends = (f"{f['source-address']}/{f['source-port']}->{f['destination-address']}/{f['destination-port']}{sep}{f['service-name']} "
                f"{f['nat-source-address']}/{f['nat-source-port']}->{f['destination-address']}/{f['destination-port']}{sep}{rules} "
                f"{f['protocol-id']} {f['policy-name']} {f['source-zone-name']} {f['destination-zone-name']} {f['session-id-32']}")
        if tag == "RT_FLOW_SESSION_CLOSE":
            tail = "" if old else f" UNKNOWN UNKNOWN N/A(N/A) {iface} UNKNOWN"
            out.append(f"{head}session closed {f['reason']}: {ends} {f['packets-from-client']}({f['bytes-from-client']}) "
                       f"{f['packets-from-server']}({f['bytes-from-server']}) {f['elapsed-time']}{tail}")
        elif tag == "RT_FLOW_SESSION_CREATE":
            out.append(f"{head}session created {ends} N/A(N/A) {iface}")
        else:
            out.append(f"{head}{tag.lower()} 10.0.0.1/1->10.0.0.2/2")
    return "\n".join(out) + "\n"


def test_juniper_srx_default_syslog_reads_as_its_structured_syslog(tmp_path, runner):
    """An SRX's default syslog writes a session's fields by place (`RT_FLOW_SESSION_CLOSE: session closed TCP
    FIN: 10.0.0.5/51234->93.184.7.9/443 0x0 junos-https ... 6 allow-out trust untrust 40012 12(1520) 10(9876)
    5 ...`); before, it was read as a CSV whose every line was one text field. Each close is a row, named as
    the structured syslog names the same fields (so the roles are the same), in the field layouts of old and
    new Junos releases alike; opens, denials and IDP events are counted and left out."""
    from vaeguard.logs.keyvalue import junos_record

    train, other, old = tmp_path / "srx1.log", tmp_path / "srx2.log", tmp_path / "srx-old.log"
    train.write_text(srx_plain_log(1000, "srx1", "ge-0/0/1.0", "198.51.100.7", seed=0))
    other.write_text(srx_plain_log(300, "srx2", "reth0.100", "203.0.113.9", seed=1))
    old.write_text(srx_plain_log(300, "srx2", "reth0.100", "203.0.113.9", seed=1, old=True))
    structured = tmp_path / "srx1-structured.log"
    structured.write_text(srx_log(1000, "srx1", "ge-0/0/1.0", "198.51.100.7", seed=0))
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 1000 and src.other_events == 1002 and src.describe(df.columns) == "Juniper SRX session log (Juniper SRX syslog: session closes)"
    same, _ = read_table(open_source(str(structured)))
    for name in ("source-port", "destination-port", "protocol-id", "session-id-32", "packets-from-client", "bytes-from-client",
                 "packets-from-server", "bytes-from-server", "elapsed-time", "reason", "service-name", "nat-source-address"):
        assert df[name].astype(str).tolist() == same[name].astype(str).tolist(), name  # the structured log quotes its numbers
    assert junos_record("Dec  1 10:00:00 srx1 RT_FLOW: RT_FLOW_SESSION_DENY: session denied 10.0.0.1/1->10.0.0.2/2 None 6") == ""
    assert junos_record("Dec  1 10:00:00 host sshd[1]: Accepted password") is None
    fit_srx_and_score_another(runner, train, other, tmp_path, also_ignored="syslog_header")
    res = invoke(runner, "fit", old, "--model", tmp_path / "m-old", "--epochs", "5", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["rows_used"] == 300, res.output


def test_a_model_of_one_sensors_log_names_the_other_sensor():
    from vaeguard.errors import SchemaError
    from vaeguard.schema import ColumnSpec, check_columns

    zeek = [ColumnSpec(n, "numeric", "") for n in ("id.resp_p", "conn_state", "orig_ip_bytes", "duration")]
    eve = pd.DataFrame(columns=["src_ip", "dest_port", "flow.bytes_toserver", "flow.pkts_toserver"])
    with pytest.raises(SchemaError, match="^the model was fitted on a Zeek conn log, and this is Suricata eve.json: score it with a model fitted on that kind of log; columns "):
        check_columns(eve, zeek)
    # Zeek's logs share their id.* fields: a dns log is known by its own
    dns = pd.DataFrame(columns=["ts", "uid", "id.orig_h", "id.resp_h", "id.resp_p", "query", "qtype_name", "rcode_name"])
    with pytest.raises(SchemaError, match="^the model was fitted on a Zeek conn log, and this is a Zeek dns log"):
        check_columns(dns, zeek)
    with pytest.raises(SchemaError) as e:  # an ordinary table: no word about sensors
        check_columns(pd.DataFrame(columns=["bytes"]), [ColumnSpec("packets", "numeric", "")])
    assert "fitted on" not in str(e.value)


def test_a_fortigate_traffic_log_of_key_value_lines_from_another_device_is_not_flagged_for_it(tmp_path, runner):
    """key=value lines (FortiGate, a firewall's syslog) are records: before, the first line was taken for a
    CSV header and fit stopped with "no usable columns". The device, its virtual domain, interfaces, time
    zone and object UUIDs, the times and the addresses' countries are where and when: another device's
    log, on another day, with the syslog header a collector adds, scores as the training device's."""
    train, home, other = tmp_path / "fgt.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(fortigate_log(2000, 1, "FGT-A", "root"))
    home.write_text(fortigate_log(400, 1, "FGT-A", "root", seed=5))
    other.write_text(fortigate_log(400, 9, "FGT-B", "branch", seed=5, syslog=True) + "a line that is not a record\n")
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 2000 and src.describe(df.columns) == "FortiGate traffic log (key=value lines)"
    assert df["policyname"].iloc[0] == "LAN to WAN" and df["logid"].iloc[0] == "0000000013"  # quoted: text, spaces and zeros kept
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    kept = {name for name, role in roles.items() if role not in ("ignored", "constant")}
    assert kept == {"srcport", "dstport", "transport", "proto", "action", "service", "duration", "sentbyte", "rcvdbyte", "sentpkt", "rcvdpkt"}, roles
    assert all(roles[k] == "ignored" for k in ("date", "time", "eventtime", "tz", "vd", "srcintf", "devname", "devid", "poluuid", "sessionid",
                                               "srcip", "dstip", "transip", "dstcountry")), roles
    # The address after NAT is the firewall's own: the flags are counted by the hosts at each end, not by it.
    res = invoke(runner, "score", other, "--model", model, "--out", tmp_path / "h.csv", "--json")
    assert set(json.loads(res.stdout)["flagged_hosts"]) <= {"srcip", "dstip"}, res.stdout
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert "1 malformed line skipped (e.g. 'a line that is not a record')" in " ".join(scored["other-stderr"].replace("│", " ").split())
    res = invoke(runner, "score", other, "--model", model, "--out", tmp_path / "s.csv", "--strict")
    assert res.exit_code == 2 and "a line that is not a row" in res.stderr


def test_a_fortigate_stream_keeps_its_traffic_logs_and_counts_its_event_and_utm_logs(tmp_path, runner):
    """FortiGate sends its event logs (an admin login, an SSL alert: both ends named) and UTM logs (IPS) in
    the same stream as its traffic logs: only the traffic logs are rows; the others are left out and
    counted, as Check Point's and the ASA's other messages are. A stream of events alone says so."""
    events = ['date=2026-12-01 time=10:20:54 logid="0100032001" type="event" subtype="system" level="information" vd="root" '
              'logdesc="Admin login successful" user="admin" ui="ssh(10.0.1.9)" method="ssh" srcip=10.0.1.9 dstip=10.0.1.1 action="login" '
              'status="success" msg="Administrator admin logged in successfully from ssh(10.0.1.9)"',
              'date=2026-12-01 time=10:37:46 logid="0105048039" type="event" subtype="wad" level="error" vd="root" logdesc="SSL fatal alert sent" '
              'session_id=0 policyid=0 srcip=0.0.0.0 srcport=0 dstip=192.0.2.56 dstport=636 action="send" alert="2" desc="certificate unknown"',
              'date=2026-12-01 time=10:41:02 logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" vd="root" '
              'severity="high" srcip=198.51.100.7 srcport=40112 dstip=10.0.1.20 dstport=80 sessionid=123 proto=6 action="dropped" attack="SQL.Injection"']
    lines = fortigate_log(300, 1, "FGT-A", "root").splitlines()
    for i, event in enumerate(events * 10):
        lines.insert(7 + 9 * i, event)
    path = tmp_path / "fgt.log"
    path.write_text("\n".join(lines) + "\n")
    src = open_source(str(path))
    df, _ = read_table(src)
    assert len(df) == 300 and set(df["type"]) == {"traffic"} and src.skipped_summary() == "30 non-flow events left out"
    assert "user" not in df.columns and "attack" not in df.columns
    only = tmp_path / "events.log"
    only.write_text("\n".join(events * 5) + "\n")
    res = invoke(runner, "fit", only, "--model", tmp_path / "m")
    assert res.exit_code == 2 and 'only 15 events of other kinds: FortiGate\'s event and UTM logs' in res.stderr, res.output


def test_a_palo_alto_traffic_log_from_another_firewall_is_not_flagged_for_it(tmp_path, runner):
    """A PAN-OS firewall's syslog (CSV lines without a header, a syslog header before each or not) is read
    as its traffic logs, named in PAN-OS's field order; its SYSTEM logs are not flows and are left out. The
    firewall's serial, names, interfaces, log profile, rule ids and reserved fields are where the log was
    written, and the times, addresses and sessions are ignored: another firewall's log, on another day,
    without the syslog header, scores as the training firewall's."""
    train, home, other = tmp_path / "pan.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(panos_log(2000, 1, "PA-A"))
    home.write_text(panos_log(400, 1, "PA-A", seed=5))
    other.write_text(panos_log(400, 9, "PA-B", seed=5, syslog=False) + "a line that is not a log\n")
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 2000 and src.describe(df.columns).startswith("Palo Alto Networks traffic log (PAN-OS syslog lines")
    assert src.skipped_summary() == "40 non-flow events left out"
    assert df["category"].iloc[0] == "computer-and-internet-info,low-risk" and df["bytes_sent"].dtype.kind == "i"  # quoted comma kept
    assert list(df.columns[:8]) == ["future_use_1", "receive_time", "serial", "type", "subtype", "future_use_2", "time_generated", "src"]
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    kept = {name for name, role in roles.items() if role not in ("ignored", "constant")}
    assert kept == {"app", "sport", "dport", "natsport", "natdport", "proto", "bytes", "bytes_sent", "bytes_received", "packets", "elapsed",
                    "pkts_sent", "pkts_received", "repeatcnt"}, roles
    assert all(roles[k] == "ignored" for k in ("receive_time", "serial", "future_use_2", "src", "dst", "natsrc", "inbound_if", "logset",
                                               "sessionid", "seqno", "dstloc", "dg_hier_level_1", "device_name", "rule_uuid",
                                               "link_change_count")), roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert_lines_told(runner, model, scored, other, tmp_path, "1 malformed line skipped (e.g. 'a line that is not a log'); 8 non-flow events left out")
    assert (scored["other"]["serial"] == "013201009B").all()  # the other firewall's fields pass through as written
    packed = tmp_path / "home.log.gz"
    packed.write_bytes(gzip.compress(home.read_bytes()))
    res = invoke(runner, "score", packed, "--model", model, "--out", tmp_path / "gz.csv")
    assert res.exit_code == 0 and pd.read_csv(tmp_path / "gz.csv")["anomaly_score"].tolist() == scored["home"]["anomaly_score"].tolist()
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n")
    res = invoke(runner, "fit", tmp_path / "plain.csv", "--format", "panos", "--model", tmp_path / "m3")
    assert res.exit_code == 2 and "no PAN-OS traffic log (type TRAFFIC)" in res.stderr, res.output


def panos_export(n: int, day: int, device: str, seed: int = 0) -> str:
    """The same traffic logs as the firewall's web interface exports them: a CSV with a header row of the
    fields' display names, every value quoted."""
    import csv

    from vaeguard.logs.firewalls import PANOS_EXPORT_NAMES

    header = list(PANOS_EXPORT_NAMES)
    rows = csv.reader(io.StringIO(panos_log(n, day, device, seed=seed, syslog=False, others=False)))
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(header)
    w.writerows(row[: len(header)] for row in rows)
    return out.getvalue()


def test_a_palo_alto_web_export_is_typed_as_its_syslog_is(tmp_path, runner):
    """The web interface's CSV export names PAN-OS's traffic log fields in words ("Serial #", "Session ID",
    "Elapsed Time (sec)"). Its columns take the syslog fields' types: the serial number, log profile and
    interfaces are the firewall's, the times, addresses and session ids are ignored, counts are numbers. Before,
    it was read as any CSV, and another firewall's export was flagged whole for its serial number."""
    from vaeguard.logs.firewalls import PANOS_EXPORT_NAMES, PANOS_TRAFFIC_FIELDS, pan_os_export_fields

    assert list(PANOS_EXPORT_NAMES.values()) == list(PANOS_TRAFFIC_FIELDS[: len(PANOS_EXPORT_NAMES)])  # the syslog's order
    train, home, other = tmp_path / "pan.csv", tmp_path / "home.csv", tmp_path / "other.csv"
    train.write_text(panos_export(2000, 1, "PA-A"))
    home.write_text(panos_export(400, 1, "PA-A", seed=5))
    other.write_text(panos_export(400, 9, "PA-B", seed=5))
    model = tmp_path / "m"
    res = invoke(runner, "fit", train, "--model", model, "--epochs", "20", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["read_as"].startswith("Palo Alto Networks traffic log export"), out["read_as"]
    roles = {c["name"]: c["role"] for c in out["columns"]}
    assert all(roles[k] == "ignored" for k in ("Domain", "Receive Time", "Serial #", "Config Version", "Source address", "NAT Source IP",
                                               "Virtual System", "Inbound Interface", "Log Action", "Time Logged", "Session ID", "Start Time",
                                               "seqno", "actionflags", "Source Country")), roles
    assert all(roles[k] == "numeric" for k in ("Bytes", "Bytes Sent", "Packets", "Elapsed Time (sec)", "pkts_sent", "Repeat Count")), roles
    assert roles["Destination Port"] == roles["Source Port"] == "port"
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert (scored["other"]["Serial #"] == "013201009B").all()  # written as it came
    # Only a table holding PAN-OS's own fields is typed as one: a CSV of ports and bytes is not.
    assert pan_os_export_fields(["Source Port", "Destination Port", "Bytes Sent", "Bytes Received", "Session ID"]) == {}
    assert pan_os_export_fields(["Serial Number", "Source IP", "NAT Source IP", "NAT Destination IP", "Session ID", "Bytes Sent",
                                 "Bytes Received"])["Source IP"] == "src"
    assert pan_os_export_fields(["serial", "natsrc", "natdst", "sessionid", "bytes_sent", "bytes_received"]) == {}  # the syslog's names


def test_pan_os_lines_are_told_from_csv_and_named_as_far_as_they_go():
    from vaeguard.logs.firewalls import PANOS_TRAFFIC_FIELDS, looks_pan_os, pan_os_names

    text = panos_log(20, 1, "PA-A")
    assert looks_pan_os(text) and looks_pan_os(panos_log(20, 1, "PA-A", syslog=False))
    assert not looks_pan_os("a,b,c\n1,2026/12/01 10:00:00,x,y\n")  # a CSV whose rows hold such a time, but no log type
    assert not looks_pan_os("name,when\nx,2026/12/01 10:00:00\n")
    line = text.splitlines()[0]
    n = line.count(",")  # fields: one more than the commas, less the one inside the quoted category
    assert pan_os_names(text) == list(PANOS_TRAFFIC_FIELDS[:n])
    assert pan_os_names(line[: line.index(",tcp-fin,")] + "\n") == list(PANOS_TRAFFIC_FIELDS[:46])  # an older release's shorter lines
    longer = line + ",x" * (len(PANOS_TRAFFIC_FIELDS) - n + 2) + "\n"  # a later release's extra fields
    assert pan_os_names(longer)[-3:] == [PANOS_TRAFFIC_FIELDS[-1], f"field_{len(PANOS_TRAFFIC_FIELDS) + 1}", f"field_{len(PANOS_TRAFFIC_FIELDS) + 2}"]
    assert pan_os_names("<14>Dec  1 10:00:00 PA-A 1,2026/12/01 10:00:00,0132,SYSTEM,general,0\n") == []


def device_logs(tmp_path, train: str, home: str, other: str):
    """A device's training log, the same flows' log again at that device (`home`) and at another (`other`,
    a malformed line after them) as files; and the training log read as fit reads it."""
    paths = []
    for name, text in (("train.log", train), ("home.log", home), ("other.log", other + "a line that is not a message\n")):
        paths.append(tmp_path / name)
        paths[-1].write_text(text)
    src = open_source(str(paths[0]))
    return (*paths, read_table(src)[0], src)


def asa_log(n: int, day: int, host: str, seed: int = 0, hosted: bool = False, denials: int = 0, acl: str = "outside_access_in",
            strays: int = 0, hits: bool = False) -> str:
    """A Cisco ASA's connection teardowns as its syslog sends them (302014 for TCP, 302016 for UDP), a
    connection built (302013, not a flow) now and then among them; hosted=True: a syslog header that
    names the device, as a relay writes it; denials=k: after every k-th teardown the internet's knocking
    on the outside interface, denied by access list `acl` (106023: TCP to remote-access ports, pings);
    strays=k: after every k-th TCP teardown a late packet of that connection, denied for having none
    (106015: an inside host's FIN or RST, or the web server's, after the connection timed out); hits=True:
    the knocking denied by an access-list entry that logs its hits (106100, a flow's first hit or its hits
    over an interval) in place of 106023, and now and then a permitted entry's hit (a connection's start)."""
    rng = np.random.default_rng(seed)
    knocks = np.random.default_rng(seed + 1000)  # the teardowns are the same with denials and without
    late = np.random.default_rng(seed + 2000)
    out = []
    for i in range(n):
        port = int(rng.choice([443, 443, 80, 53, 123]))
        proto = "UDP" if port in (53, 123) else "TCP"
        size, d, cid = int(rng.integers(40, 1500)) * int(rng.integers(1, 40)), int(rng.integers(0, 120)), int(rng.integers(1, 2**31))
        t = f"{10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        head = f"Dec {day:2d} {t} {host} : " if hosted else f"<166>Dec {day:02d} 2026 {t}: "
        end = f" {rng.choice(['TCP FINs', 'TCP Reset-I', 'SYN Timeout'])} from {rng.choice(['inside', 'outside'])}" if proto == "TCP" else ""
        user = " (LOCAL\\alice)" if i % 7 == 0 else ""
        server, client = f"93.184.{rng.integers(1, 250)}.7/{port}", f"10.0.{day}.{rng.integers(2, 60)}/{rng.integers(1024, 65535)}"
        out.append(f"{head}%ASA-6-{302014 if proto == 'TCP' else 302016}: Teardown {proto} connection {cid} for "
                   f"outside:{server} to inside:{client}{user} duration {d // 3600}:{d // 60 % 60:02d}:{d % 60:02d} bytes {size}{end}")
        if strays and proto == "TCP" and i % strays == 0:
            ends = (f"from {client} to {server}", "inside") if late.random() < 0.5 else (f"from {server} to {client}", "outside")
            out.append(f"{head}%ASA-6-106015: Deny TCP (no connection) {ends[0]} flags {late.choice(['FIN ACK', 'RST ACK', 'RST', 'FIN PSH ACK'])}  "
                       f"on interface {ends[1]}")
        if i % 10 == 3:
            out.append(f"{head}%ASA-6-302013: Built outbound TCP connection {cid + 1} for outside:93.184.1.7/443 (93.184.1.7/443) "
                       f"to inside:10.0.{day}.5/50000 (203.0.113.{day}/50000)")
        if denials and i % denials == 0:
            src, dst = f"outside:198.51.{knocks.integers(256)}.{knocks.integers(1, 255)}", f"inside:10.0.{day}.{knocks.integers(2, 60)}"
            port = int(knocks.choice([22, 23, 445, 3389, 0]))
            what = f"tcp src {src}/{knocks.integers(1024, 65535)} dst {dst}/{port}" if port else f"icmp src {src} dst {dst} (type 8, code 0)"
            if hits:
                count = 1 if knocks.random() < 0.5 else int(knocks.integers(2, 30))
                when = "first hit" if count == 1 else "300-second interval"
                what = f"tcp {src.replace(':', '/')}({knocks.integers(1024, 65535)}) -> {dst.replace(':', '/')}({port})" if port else \
                    f"icmp {src.replace(':', '/')}(0) -> {dst.replace(':', '/')}(8)"
                out.append(f"{head}%ASA-4-106100: access-list {acl} denied {what} hit-cnt {count} {when} [0x{knocks.integers(2**32):x}, 0x0]")
                if i % (4 * denials) == 0:
                    out.append(f"{head}%ASA-6-106100: access-list {acl} permitted tcp {dst.replace(':', '/')}(51000) -> outside/93.184.1.7(443) "
                               "hit-cnt 1 first hit [0x0, 0x0]")
            else:
                out.append(f'{head}%ASA-4-106023: Deny {what} by access-group "{acl}" [0x{knocks.integers(2**32):x}, 0x0]')
    return "\n".join(out) + "\n"


def assert_all_flagged(runner, model, tmp_path, name: str, text: str) -> None:
    """The log `text` scores with every row flagged."""
    (tmp_path / f"{name}.log").write_text(text)
    res = invoke(runner, "score", tmp_path / f"{name}.log", "--model", model, "--out", tmp_path / f"{name}.csv")
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / f"{name}.csv")["is_anomaly"].mean() == 1.0


def test_a_cisco_asa_connection_log_from_another_device_is_not_flagged_for_it(tmp_path, runner):
    """A Cisco ASA logs each connection's end as a syslog message (%ASA-6-302014 Teardown TCP connection ...
    duration 0:01:05 bytes 5120 TCP FINs from inside): each is a row, its ends, duration, bytes and reason
    read from the message; the ASA's other messages are not flows and are left out. The syslog header, the
    connection id, the addresses and the interface names are ignored: another ASA's log, on another day,
    with another syslog header, scores as the training device's."""
    from vaeguard.logs.firewalls import asa_record

    train, home, other, df, src = device_logs(tmp_path, asa_log(2000, 1, "asa-a"), asa_log(400, 1, "asa-a", seed=5),
                                              asa_log(400, 9, "asa-b", seed=5, hosted=True))
    assert len(df) == 2000 and src.describe(df.columns) == "Cisco ASA connection log (Cisco ASA syslog: connection teardowns and denials)"
    assert src.skipped_summary() == "200 non-flow events left out"
    assert json.loads(asa_record("<166>Dec 01 2026 10:00:01: %ASA-6-302014: Teardown TCP connection 2084 for outside:2001:db8::7/443 "
                                 "to inside:10.0.1.38/36093 (LOCAL\\bob) duration 1:01:49 bytes 31902 TCP Reset-I from outside (bob)")) == {
        "syslog_header": "<166>Dec 01 2026 10:00:01", "protocol": "TCP", "connection_id": 2084, "for_interface": "outside",
        "for_ip": "2001:db8::7", "for_port": 443, "to_interface": "inside", "to_ip": "10.0.1.38", "to_port": 36093, "duration": 3709,
        "bytes": 31902, "reason": "TCP Reset-I", "teardown_interface": "outside"}
    # The ASA's own interface for traffic to the box has spaces in its name; `names` writes a host's name for its address.
    box = json.loads(asa_record("%ASA-6-302014: Teardown TCP connection 7177 for management:192.0.2.9/42257 to NP Identity Ifc:192.0.2.6/443 "
                                "duration 0:00:00 bytes 2698 TCP FINs"))
    assert (box["to_interface"], box["to_ip"], box["to_port"], box["bytes"]) == ("NP Identity Ifc", "192.0.2.6", 443, 2698)
    named = json.loads(asa_record("%FTD-6-302016: Teardown UDP connection 9 for outside:ntp-server/123 to inside:10.0.1.4/123 duration 0:02:04 bytes 96"))
    assert (named["for_ip"], named["for_port"], named["duration"]) == ("ntp-server", 123, 124)
    assert asa_record("%ASA-6-110002: Failed to locate egress interface for TCP from inside:10.0.0.5/5000 to 1.2.3.4/443") == ""
    assert asa_record("Dec 1 10:00:00 host sshd[1]: Accepted password") is None
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    assert {name for name, role in roles.items() if role not in ("ignored", "constant")} == {
        "protocol", "for_port", "to_port", "duration", "bytes", "reason"}, roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert_lines_told(runner, model, scored, other, tmp_path, "1 malformed line skipped (e.g. 'a line that is not a message'); 40 non-flow events left out")
    (tmp_path / "built.log").write_text("".join(line + "\n" for line in asa_log(100, 1, "asa-a").splitlines() if "302013" in line))
    res = invoke(runner, "fit", tmp_path / "built.log", "--model", tmp_path / "m2")  # an ASA logging at level 5: no teardowns
    assert res.exit_code == 2 and "only 10 events of other kinds: no connection teardown" in res.stderr, res.output


def test_an_asa_teardown_reason_loses_its_user_name_in_linear_time():
    """The user name in brackets after a teardown's reason is left out as the pattern that did it left it out;
    found from the end, a reason of many "(" and no ")" is read at once (the pattern took the square of its
    length: 0.07 s at 8,000 characters, 3.3 s at syslog's 64 KiB, a line)."""
    import random
    import re

    from vaeguard.logs.firewalls import without_user

    pattern = re.compile(r"\s*\([^)]*\)$")
    rng = random.Random(0)
    cases = ["TCP FINs (alice)", "TCP FINs", "Conn-timeout  (a (b)", "x (a) (b)", "(only)", "a)b (c)", "no user)"]
    cases += ["".join(rng.choice("ab ()") for _ in range(rng.randint(0, 12))).rstrip() for _ in range(20_000)]
    assert all(without_user(c) == pattern.sub("", c) for c in cases)
    assert without_user("(" * 100_000 + ")") == ""


def test_a_netfilter_line_loses_its_bracketed_parts_in_linear_time():
    """The packet an ICMP error quotes ("[...]") and TCP's options ("(...)") are left out as the pattern that
    did it left them out; found with str.find, a line of many "[" and no "]" is read at once (the pattern
    took the square of its length: 2.4 s at 64 KiB)."""
    import random
    import re

    from vaeguard.logs.keyvalue import key_values, without_quoted

    pattern = re.compile(r"\[[^\]]*\]|\([^)]*\)")
    rng = random.Random(0)
    cases = ["a [b] c (d) e", "[(])", "([)]", "[[x]", "((x)", "[ (", "] ) [ (", "x [a] (b] c) [d"]
    cases += ["".join(rng.choice("ab [()]") for _ in range(rng.randint(0, 14))) for _ in range(20_000)]
    assert all(without_quoted(c) == pattern.sub(" ", c) for c in cases)
    for junk in ("[" * 65_536, "(" * 65_536, "[a (" * 16_384):  # 7 s in all with the pattern
        line = "Jan  1 00:00:00 fw kernel: IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=22 " + junk
        assert '"DPT":22' in key_values(line)


def test_a_cisco_asa_denial_is_a_row_and_an_inside_host_knocking_on_blocked_ports_is_flagged(tmp_path, runner):
    """A connection an ASA's access list denies (106023) never becomes one, so it has no teardown: read as
    TCP and UDP teardowns alone, an ASA's log hid every denial (and every ICMP connection, whose teardown
    has no bytes), and with them an inside host knocking on blocked ports (malware reaching for its
    controller through a firewall that stops it). Each denial is now a row: its ends
    as the message names them (source and destination: a teardown names its ends by the interfaces' trust,
    so they get columns of their own), the ports, an ICMP packet's type and code; the access list's name, the
    addresses and the syslog header are ignored, so another ASA's routine denials are not news."""
    from vaeguard.logs.firewalls import asa_record

    assert json.loads(asa_record('<164>Dec 01 2026 10:00:02: %ASA-4-106023: Deny tcp src outside:198.51.100.7/4444 dst '
                                 'inside:10.0.1.20/22 by access-group "outside_access_in" [0x8ed66b60, 0xf8852875]')) == {
        "syslog_header": "<164>Dec 01 2026 10:00:02", "protocol": "TCP", "src_interface": "outside", "src_ip": "198.51.100.7",
        "src_port": 4444, "dst_interface": "inside", "dst_ip": "10.0.1.20", "dst_port": 22, "icmp_type": None, "icmp_code": None,
        "access_group": "outside_access_in"}
    ping = json.loads(asa_record('%FTD-4-106023: Deny icmp src outside:2001:db8::9 dst inside:10.0.1.20(LOCAL\\bob) (type 8, code 0) '
                                 'by access-group "OUTSIDE-IN" [0x0, 0x0]'))
    assert (ping["protocol"], ping["src_ip"], ping["dst_ip"], ping["dst_port"], ping["icmp_type"], ping["icmp_code"]) == (
        "ICMP", "2001:db8::9", "10.0.1.20", None, 8, 0)
    unreachable = json.loads(asa_record('%ASA-4-106023: Deny icmp src dmz:10.9.0.4 dst outside:192.0.2.1 (type 3, code 13) '
                                        'by access-group "dmz_in" [0x0, 0x0]'))
    assert (unreachable["src_interface"], unreachable["icmp_type"], unreachable["icmp_code"]) == ("dmz", 3, 13)
    # Denials without an access list (the interface named at the end) and an ICMP connection's end (its
    # foreign and local addresses; the ICMP id after each is no port; no bytes or duration) are rows too.
    assert json.loads(asa_record("%ASA-2-106001: Inbound TCP connection denied from 203.0.113.9/4444 to 10.0.1.20/22 flags SYN "
                                 "on interface outside")) == {"syslog_header": None, "protocol": "TCP", "src_interface": "outside",
                                                              "src_ip": "203.0.113.9", "src_port": 4444, "dst_ip": "10.0.1.20", "dst_port": 22,
                                                              "tcp_flags": "SYN"}
    udp = json.loads(asa_record("%ASA-2-106006: Deny inbound UDP from 203.0.113.9/53 to 10.0.1.20/5353 on interface outside"))
    assert (udp["protocol"], udp["src_interface"], udp["dst_port"]) == ("UDP", "outside", 5353)
    assert json.loads(asa_record("<166>Dec 01 2026 10:00:03: %ASA-6-302021: Teardown ICMP connection for faddr 8.8.8.8/0 gaddr "
                                 "203.0.113.10/4 laddr 10.0.1.20/4(LOCAL\\bob) type 8 code 0")) == {
        "syslog_header": "<166>Dec 01 2026 10:00:03", "protocol": "ICMP", "for_ip": "8.8.8.8", "to_ip": "10.0.1.20", "icmp_type": 8, "icmp_code": 0}
    old = json.loads(asa_record("%ASA-6-302021: Teardown ICMP connection for faddr 10.1.1.1/0 gaddr 10.2.2.2/0 laddr 10.2.2.2/0"))
    assert (old["to_ip"], old["icmp_type"]) == ("10.2.2.2", None)
    assert asa_record("%ASA-6-302020: Built inbound ICMP connection for faddr 8.8.8.8/0 gaddr 203.0.113.10/4 laddr 10.0.1.20/4") == ""
    train, home, other, df, src = device_logs(tmp_path, asa_log(2000, 1, "asa-a", denials=4), asa_log(400, 1, "asa-a", seed=5, denials=4),
                                              asa_log(400, 9, "asa-b", seed=5, hosted=True, denials=4, acl="OUTSIDE-IN"))
    assert len(df) == 2500 and df["src_ip"].notna().sum() == 500 and df["for_ip"].notna().sum() == 2000
    assert src.skipped_summary() == "200 non-flow events left out"
    model, roles = fit_log(runner, train, tmp_path, epochs=30)
    assert roles["src_ip"] == roles["dst_ip"] == roles["access_group"] == roles["syslog_header"] == "ignored", roles
    assert roles["src_port"] == roles["dst_port"] == "port" and roles["icmp_type"] not in ("ignored", "constant"), roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert len(scored["other"]) == 500
    knocking = "".join(f'<166>Dec 09 2026 11:00:{i % 60:02d}: %ASA-4-106023: Deny tcp src inside:10.0.9.66/{50000 + i} dst '
                       f'outside:203.0.113.{i % 200 + 1}/6667 by access-group "inside_access_in" [0x0, 0x0]\n' for i in range(50))
    assert_all_flagged(runner, model, tmp_path, "knocking", knocking)


def test_an_asa_packet_without_a_connection_is_a_row_and_an_ack_scan_is_flagged(tmp_path, runner):
    """A TCP packet that belongs to no connection (106015: `Deny TCP (no connection) from 10.0.1.20/51234 to
    93.184.1.7/443 flags FIN ACK  on interface inside`) was left out as no flow, and with it every ACK or FIN
    scan through an ASA, which shows nowhere else: the firewall builds no connection for such packets. Each
    is now a row (its ends by direction, as a denial's, and its TCP flags); a device's routine late FINs and
    resets after a timeout, on another ASA, score as the training device's, and an ACK scan of an inside
    host is flagged row by row."""
    from vaeguard.logs.firewalls import asa_record

    assert json.loads(asa_record("<166>Dec 01 2026 10:00:04: %ASA-6-106015: Deny TCP (no connection) from 10.0.1.20/51234 to "
                                 "93.184.1.7/443 flags FIN ACK  on interface inside")) == {
        "syslog_header": "<166>Dec 01 2026 10:00:04", "protocol": "TCP", "src_interface": "inside", "src_ip": "10.0.1.20",
        "src_port": 51234, "dst_ip": "93.184.1.7", "dst_port": 443, "tcp_flags": "FIN ACK"}
    v6 = json.loads(asa_record("%FTD-6-106015: Deny TCP (no connection) from 2001:db8::5/443 to 10.0.0.1/51000 flags RST on interface outside"))
    assert (v6["src_ip"], v6["src_port"], v6["tcp_flags"], v6["src_interface"]) == ("2001:db8::5", 443, "RST", "outside")
    train, home, other, df, src = device_logs(tmp_path, asa_log(2000, 1, "asa-a", strays=3), asa_log(400, 1, "asa-a", seed=5, strays=3),
                                              asa_log(400, 9, "asa-b", seed=5, hosted=True, strays=3))
    assert df["tcp_flags"].notna().sum() == len(df) - 2000 > 300
    model, roles = fit_log(runner, train, tmp_path, epochs=30)
    assert roles["tcp_flags"] == "categorical" and roles["src_ip"] == roles["src_interface"] == "ignored", roles
    assert_scored_as_home(runner, model, home, other, tmp_path)
    scan = "".join(f"<166>Dec 09 2026 11:00:{i % 60:02d}: %ASA-6-106015: Deny TCP (no connection) from 198.51.100.66/{40000 + i} to "
                   f"10.0.1.20/{[21, 22, 23, 25, 110, 135, 139, 445][i % 8]} flags ACK  on interface outside\n" for i in range(40))
    assert_all_flagged(runner, model, tmp_path, "scan", scan)


def test_an_asa_access_list_entry_that_logs_its_hits_gives_its_denials_as_rows(tmp_path, runner):
    """An access-list entry with the `log` keyword reports its hits as 106100 in place of 106023 (`access-list
    outside_in denied tcp outside/198.51.100.7(4444) -> inside/10.0.1.20(22) hit-cnt 1 first hit`), so an
    ASA whose deny entries log showed no denial at all. Each denied hit is now a row as a 106023 is, with its
    hit count; a permitted entry's hit (a connection's start, whose teardown is its row) is left out and
    counted. Another ASA's routine denials score as the training device's; an inside host's denied
    reaching for port 6667 is flagged row by row."""
    from vaeguard.logs.firewalls import asa_record

    assert json.loads(asa_record("<164>Dec 01 2026 10:00:02: %ASA-4-106100: access-list outside_in denied tcp outside/198.51.100.7(4444) "
                                 "-> inside/10.0.1.20(22) hit-cnt 21 300-second interval [0x6b4a1c3, 0x0]")) == {
        "syslog_header": "<164>Dec 01 2026 10:00:02", "protocol": "TCP", "src_interface": "outside", "src_ip": "198.51.100.7",
        "src_port": 4444, "dst_interface": "inside", "dst_ip": "10.0.1.20", "dst_port": 22, "icmp_type": None,
        "access_group": "outside_in", "hit_count": 21}
    # ICMP's "ports" are 0 and the type; the PIX-era form brackets the hit and writes no space before the arrow.
    ping = json.loads(asa_record("%ASA-2-106100: access-list OUT denied icmp outside/2001:db8::9(0)-> inside/10.0.1.20(8) hit-cnt 1 (first hit)"))
    assert (ping["protocol"], ping["src_ip"], ping["dst_port"], ping["icmp_type"], ping["hit_count"]) == ("ICMP", "2001:db8::9", None, 8, 1)
    assert asa_record("%ASA-6-106100: access-list inside_in permitted tcp inside/10.0.1.20(51000) -> outside/93.184.1.7(443) "
                      "hit-cnt 1 first hit [0x0, 0x0]") == ""
    train, home, other, df, src = device_logs(tmp_path, asa_log(2000, 1, "asa-a", denials=4, hits=True),
                                              asa_log(400, 1, "asa-a", seed=5, denials=4, hits=True),
                                              asa_log(400, 9, "asa-b", seed=5, hosted=True, denials=4, hits=True, acl="OUTSIDE-IN"))
    assert len(df) == 2500 and df["hit_count"].notna().sum() == 500 and df["hit_count"].max() > 1
    assert src.skipped_summary() == "325 non-flow events left out"
    model, roles = fit_log(runner, train, tmp_path, epochs=30)
    assert roles["hit_count"] == "numeric" and roles["access_group"] == roles["src_ip"] == "ignored", roles
    assert_scored_as_home(runner, model, home, other, tmp_path)
    reaching = "".join(f"<164>Dec 09 2026 11:00:{i % 60:02d}: %ASA-4-106100: access-list inside_in denied tcp inside/10.0.9.66({50000 + i}) "
                       f"-> outside/203.0.113.{i % 200 + 1}(6667) hit-cnt 1 first hit [0x0, 0x0]\n" for i in range(40))
    assert_all_flagged(runner, model, tmp_path, "reaching", reaching)


def sonicwall_log(n: int, day: int, serial: str, seed: int = 0, syslog_id: str = "firewall", lan: str = "X0") -> str:
    """A SonicWall's syslog in SonicOS's default format: per connection its open (m=98) and close (m=537, with
    bytes, packets and duration both ways), each end written address:port:interface, a web site hit (m=97)
    now and then; the device's serial, address, Syslog ID, LAN interface and event counter its own."""
    rng = np.random.default_rng(seed)
    fw = {"C0EAE48F5084": "203.0.113.1"}.get(serial, "198.51.100.9")
    out = []
    for i in range(n):
        dp = int(rng.choice([443, 443, 80, 53, 123]))
        proto, svc = ("udp", {53: "dns", 123: "ntp"}[dp]) if dp in (53, 123) else ("tcp", {443: "https", 80: "http"}[dp])
        size = int(rng.integers(40, 1500)) * int(rng.integers(1, 30))
        src, dst = f"10.0.{day}.{rng.integers(2, 60)}:{rng.integers(1024, 65535)}:{lan}", f"93.184.{rng.integers(256)}.7:{dp}:X1"
        head = (f'<134>id={syslog_id} sn={serial} time="2026-12-{day:02d} 10:{i // 60 % 60:02d}:{i % 60:02d} UTC" fw={fw} pri=6 c=262144 '
                f'm=98 msg="Connection Opened" app=49169 appName="General {svc.upper()}" n={1000 * day + 3 * i}')
        out.append(f'{head} src={src} dst={dst} proto={proto}/{svc} sent=60 rule="22 (LAN->WAN)" fw_action="NA"')
        out.append(head.replace("m=98", "m=537").replace("Connection Opened", "Connection Closed").replace(f"n={1000 * day + 3 * i}", f"n={1000 * day + 3 * i + 1}")
                   + f' src={src} dst={dst} srcMac=00:11:22:33:44:{i % 50:02x} proto={proto}/{svc} sent={size} rcvd={size * 3} '
                   f'spkt={size // 500 + 1} rpkt={size // 400 + 1} cdur={rng.integers(0, 60000)} rule="22 (LAN->WAN)" fw_action="NA"')
        if i % 10 == 3:
            out.append(f'<134>id={syslog_id} sn={serial} fw={fw} pri=6 c=1024 m=97 n={1000 * day + 3 * i + 2} src={src} dst={dst} '
                       "proto=tcp/https op=1 sent=798 rcvd=12352 result=403 arg=/favicon.ico")
    return "\n".join(out) + "\n"


def test_a_sonicwall_connection_log_is_one_row_per_connection_and_another_device_is_not_news(tmp_path, runner):
    """SonicWall logs a connection when it opens (m=98) and when it closes (m=537, with its counts), among web
    site hits (m=97): read as plain key=value lines, each connection was two rows and every end a category of
    text (`10.0.1.7:51234:X0`: each new host and client port unseen), and the serial a constant (another device
    flagged whole). Now the close is the row, each end is split into address (ignored), port and interface
    (ignored), and the serial, Syslog ID and event counter are ignored: another SonicWall's log scores as
    the training device's."""
    train, home, other, df, src = device_logs(tmp_path, sonicwall_log(2000, 1, "C0EAE48F5084"), sonicwall_log(400, 1, "C0EAE48F5084", seed=5),
                                              sonicwall_log(400, 9, "0017C5178994", seed=5, syslog_id="branch-7", lan="X2-V20"))
    assert len(df) == 2000 and src.describe(df.columns) == "SonicWall connection log (key=value lines)"
    assert src.skipped_summary() == "2,200 non-flow events left out"
    first = df.iloc[0]
    assert first["src"].startswith("10.0.1.") and first["dst_port"] in (443, 80, 53, 123) and first["src_interface"] == "X0"
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    assert roles["src"] == roles["dst"] == roles["sn"] == roles["id"] == roles["n"] == roles["src_interface"] == roles["time"] == "ignored"
    assert roles["dst_port"] == roles["src_port"] == "port" and roles["sent"] == roles["rpkt"] == roles["cdur"] == "numeric", roles
    assert roles["app"] == "ignored" and roles["appName"] != "ignored"  # the same label as appName, counted once
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert len(scored["other"]) == 400
    assert_lines_told(runner, model, scored, other, tmp_path, "1 malformed line skipped (e.g. 'a line that is not a message'); 440 non-flow events left out")


def ftd_log(n: int, day: int, device: str, seed: int = 0, teardowns: bool = False) -> str:
    """A Firepower Threat Defense device's connection events as its syslog sends them: a connection's start
    (430002, no counts yet) and end (430003), "Key: value" pairs with a user agent that holds ", " and an empty
    value among them, an intrusion event (430001) now and then; teardowns=True: the ASA-style teardown of the
    same connection too (302014, 302016), as a device that also logs at level 6 sends it. One device (its UUID,
    policy names and zones) per `device`."""
    rng = np.random.default_rng(seed)
    uuid = {"ftd-a": "0c1b3a8a-6f1e-11ea-9f3c-d1a2b3c4d5e6"}.get(device, "7d2e4b9c-1a2b-11e9-8c7d-a9b8c7d6e5f4")
    out = []
    for i in range(n):
        port = int(rng.choice([443, 443, 80, 53, 123]))
        proto = "udp" if port in (53, 123) else "tcp"
        pkts, d, cid = int(rng.integers(1, 40)), int(rng.integers(0, 120)), int(rng.integers(1, 2**31))
        size = pkts * int(rng.integers(40, 1500))
        src, dst, sport = f"10.0.{day}.{rng.integers(2, 60)}", f"93.184.{rng.integers(1, 250)}.7", int(rng.integers(1024, 65535))
        head = f"<113>Dec {day:02d} 2026 10:{i // 60 % 60:02d}:{i % 60:02d} {device} : "
        agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0" if port in (80, 443) else ""
        common = (f"DeviceUUID: {uuid}, InstanceID: {1 + i % 3}, FirstPacketSecond: 2026-12-{day:02d}T10:{i // 60 % 60:02d}:{i % 60:02d}Z, "
                  f"ConnectionID: {cid}, AccessControlRuleAction: Allow, SrcIP: {src}, DstIP: {dst}, SrcPort: {sport}, DstPort: {port}, "
                  f"Protocol: {proto}, IngressInterface: inside, EgressInterface: outside, IngressZone: {device}-in, EgressZone: {device}-out, "
                  f"ACPolicy: {device} policy, AccessControlRuleName: Allow-Out, Prefilter Policy: Default Prefilter Policy, "
                  f"User: No Authentication Required, UserAgent: {agent}, ClientVersion: , ApplicationProtocol: "
                  f"{ {443: 'HTTPS', 80: 'HTTP', 53: 'DNS', 123: 'NTP'}[port]}")
        out.append(f"{head}%FTD-6-430002: {common}, InitiatorPackets: 1, ResponderPackets: 0, InitiatorBytes: 0, ResponderBytes: 0")
        out.append(f"{head}%FTD-6-430003: {common}, ConnectionDuration: {d}, InitiatorPackets: {pkts}, ResponderPackets: {pkts // 2}, "
                   f"InitiatorBytes: {size}, ResponderBytes: {size * 3}, NAPPolicy: Balanced Security and Connectivity")
        if teardowns:
            out.append(f"{head}%FTD-6-{302014 if proto == 'tcp' else 302016}: Teardown {proto.upper()} connection {cid} for "
                       f"outside:{dst}/{port} to inside:{src}/{sport} duration 0:00:{d % 60:02d} bytes {size * 4}")
        if i % 10 == 3:
            out.append(f"{head}%FTD-1-430001: DeviceUUID: {uuid}, SrcIP: {src}, DstIP: {dst}, Message: PROTOCOL-DNS excessive queries")
    return "\n".join(out) + "\n"


def test_firepower_connection_events_are_one_row_per_connection(tmp_path, runner):
    """A Firepower Threat Defense device logs a connection to syslog as events of its own: its start
    (%FTD-6-430002, no counts yet) and its end (430003: "Key: value" pairs, packets and bytes both ways, the
    duration, the application). Each end event is a row; starts, intrusion events and the ASA-style teardowns
    of the same connections (a device that also logs at level 6) are left out, so a connection is one row
    either way. Before, such a log was read as an ASA's: its teardowns alone (one byte total, no packets), or,
    without them, "holds no flow records". The device's UUID, policies and zones are ignored: another device's
    log, another day, scores as the training device's."""
    from vaeguard.logs.firewalls import ftd_record

    train, home, other, df, src = device_logs(tmp_path, ftd_log(2000, 1, "ftd-a"), ftd_log(400, 1, "ftd-a", seed=5),
                                              ftd_log(400, 9, "ftd-b", seed=5, teardowns=True))
    assert len(df) == 2000 and src.describe(df.columns) == "Cisco Firepower connection events (Cisco Firepower syslog: connection end events)"
    assert src.skipped_summary() == "2,200 non-flow events left out"
    ended = next(line for line in ftd_log(20, 3, "ftd-a").splitlines() if "430003" in line and "KHTML" in line)
    record = json.loads(ftd_record(ended))
    assert record["syslog_header"].startswith("<113>Dec 03 2026 10:") and record["Prefilter Policy"] == "Default Prefilter Policy"
    assert record["UserAgent"].endswith("(KHTML, like Gecko) Chrome/120.0") and record["ApplicationProtocol"] in ("HTTP", "HTTPS")
    assert record["ClientVersion"] is None and isinstance(record["InitiatorBytes"], int) and record["ResponderBytes"] == 3 * record["InitiatorBytes"]
    assert ftd_record("%FTD-6-302014: Teardown TCP connection 1 for outside:1.2.3.4/443 to inside:10.0.0.2/5000 duration 0:00:01 bytes 9") == ""
    assert ftd_record("Dec 1 10:00:00 host sshd[1]: Accepted password") is None
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    assert {name for name, role in roles.items() if role not in ("ignored", "constant")} >= {
        "Protocol", "DstPort", "ConnectionDuration", "InitiatorPackets", "ResponderPackets", "InitiatorBytes", "ResponderBytes"}, roles
    assert all(roles[name] == "ignored" for name in ("DeviceUUID", "ACPolicy", "IngressZone", "SrcIP", "ConnectionID", "FirstPacketSecond"))
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert len(scored["other"]) == 400
    assert_lines_told(runner, model, scored, other, tmp_path, "1 malformed line skipped (e.g. 'a line that is not a message'); 840 non-flow events left out")
    (tmp_path / "starts.log").write_text("".join(line + "\n" for line in ftd_log(100, 1, "ftd-a").splitlines() if "430003" not in line))
    res = invoke(runner, "fit", tmp_path / "starts.log", "--model", tmp_path / "m2")  # rules set to log at the start only
    assert res.exit_code == 2 and "no connection end event (%FTD-1-430003)" in res.stderr, res.output


def cef_log(n: int, day: int, gateway: str, seed: int = 0) -> str:
    """A firewall's connection logs as CEF events after a syslog header (Check Point's Log Exporter writes
    these), values with spaces and an escaped `=` among them, a policy install (no connection) now and then."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        port = int(rng.choice([443, 443, 80, 53, 123]))
        size = int(rng.integers(40, 1500)) * int(rng.integers(1, 40))
        t = 1764547200000 + day * 86_400_000 + i * 1000
        head = f"<134>Dec {day:2d} 10:{i // 60 % 60:02d}:{i % 60:02d} {gateway} "
        out.append(f"{head}CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|Accept|Unknown|act=Accept rt={t} "
                   f"spt={rng.integers(1024, 65535)} dpt={port} cs2Label=Rule Name cs2=Allow outbound web src=10.0.{day}.{rng.integers(2, 60)} "
                   f"dst=93.184.{rng.integers(1, 250)}.7 proto={17 if port in (53, 123) else 6} in={size} out={size * 3} "
                   f"deviceInboundInterface=eth{day} dvchost={gateway} loguid={{0x{rng.integers(1, 2**31):x},0x0,0x{day:x},0x0}} "
                   f"msg=Connection accepted\\=ok")
        if i % 40 == 9:
            out.append(f"{head}CEF:0|Check Point|SmartDefense|Check Point|Log|System Monitor|Low|msg=Policy installed on {gateway} rt={t}")
    return "\n".join(out) + "\n"


def test_cef_events_from_another_gateway_are_not_flagged_for_it(tmp_path, runner):
    """CEF (ArcSight's Common Event Format), as firewalls and their log exporters send events to a SIEM: the
    header's seven fields and the extension's pairs are the row, a value running up to the next key, spaces
    and escapes included. Events that name no connection's two ends are left out and counted. The device's
    names, interfaces and software, the times, addresses and log ids are ignored, the ports are ports and
    the byte counts numbers: another gateway's events, on another day, score as the training gateway's
    (before, they were read as key=value lines, the header lost, the ports taken for counts, and every row
    flagged for the gateway's name)."""
    from vaeguard.logs.events import cef_record

    train, home, other = tmp_path / "cef.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(cef_log(2000, 1, "gw-a"))
    home.write_text(cef_log(400, 1, "gw-a", seed=5))
    other.write_text(cef_log(400, 9, "gw-b", seed=5) + "a line that is not an event\n")
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 2000 and src.describe(df.columns) == "CEF events (syslog lines in ArcSight's Common Event Format)"
    assert src.skipped_summary() == "50 non-flow events left out"
    assert df["cs2Label"].iloc[0] == "Rule Name" and df["msg"].iloc[0] == "Connection accepted=ok"
    assert json.loads(cef_record(r"CEF:0|Acme|FW\|NG|1.0|100|Conn closed|3|src=10.0.0.1 dst=2001:db8::7 spt=5000 dpt=443 "
                                 r"msg=a \\ b\=c d in= out=12")) == {
        "syslog_header": None, "cef_version": "0", "device_vendor": "Acme", "device_product": "FW|NG", "device_version": "1.0",
        "signature_id": "100", "name": "Conn closed", "severity": "3", "src": "10.0.0.1", "dst": "2001:db8::7", "spt": 5000, "dpt": 443,
        "msg": "a \\ b=c d", "in": None, "out": 12}
    assert cef_record("CEF:0|Acme|FW|1.0|7|Admin login|5|suser=bob src=10.0.0.9") == ""  # one end: not a flow
    assert cef_record("CEF:0|Acme|FW|1.0") is None  # a header cut short
    # FortiGate writes `CEF: 0|`; its UTM, event and anomaly logs name both ends too, but only its traffic logs are flows.
    fgt = "<189>Dec  1 10:00:00 FGT-A CEF: 0|Fortinet|Fortigate|v7.4.3|{id}|{name}|3|FTNTFGTlogid={id} cat={cat} src=10.0.1.5 spt=51544 dst=192.0.2.25 dpt=443"
    flow = json.loads(cef_record(fgt.format(id="0000000013", name="traffic:forward close", cat="traffic:forward")))
    assert (flow["cef_version"], flow["device_vendor"], flow["syslog_header"], flow["dpt"]) == ("0", "Fortinet", "<189>Dec  1 10:00:00 FGT-A", 443)
    assert cef_record(fgt.format(id="0316013056", name="utm:webfilter ftgd_blk blocked", cat="utm:webfilter")) == ""
    assert cef_record(fgt.format(id="0720018433", name="anomaly:anomaly clear_session", cat="anomaly:anomaly")) == ""
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    assert roles["spt"] == roles["dpt"] == "port" and roles["in"] == roles["out"] == "numeric", roles
    assert all(roles[k] == "ignored" for k in ("syslog_header", "device_vendor", "device_version", "rt", "src", "dst", "dvchost",
                                               "deviceInboundInterface", "loguid")), roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert_lines_told(runner, model, scored, other, tmp_path, "1 malformed line skipped (e.g. 'a line that is not an event'); 10 non-flow events left out")
    (tmp_path / "installs.log").write_text("".join(line + "\n" for line in cef_log(200, 1, "gw-a").splitlines() if "SmartDefense" in line))
    res = invoke(runner, "fit", tmp_path / "installs.log", "--model", tmp_path / "m2")
    assert res.exit_code == 2 and "holds no flow records, only 5 events of other kinds: none names a connection's two ends" in res.stderr
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n")
    res = invoke(runner, "fit", tmp_path / "plain.csv", "--format", "cef", "--model", tmp_path / "m3")
    assert res.exit_code == 2 and "none of the 2 lines of" in res.stderr and "check --format" in res.stderr, res.output


def leef_log(n: int, day: int, device: str, seed: int = 0, version: str = "1.0") -> str:
    """A firewall's connections as LEEF events after a syslog header (QRadar's standard keys, attributes
    separated by tabs; LEEF 2.0 with `^` named as the separator), an admin's login now and then."""
    rng = np.random.default_rng(seed)
    sep, named = ("\t", "") if version == "1.0" else ("^", "^|")
    out = []
    for i in range(n):
        port = int(rng.choice([443, 443, 80, 53, 123]))
        size = int(rng.integers(40, 1500)) * int(rng.integers(1, 40))
        head = f"<134>Dec {day:2d} 10:{i // 60 % 60:02d}:{i % 60:02d} {device} LEEF:{version}|Acme|NGFW|7.2|traffic|{named}"
        attrs = {"devTime": f"Dec {day:02d} 2026 10:{i // 60 % 60:02d}:{i % 60:02d}", "devTimeFormat": "MMM dd yyyy HH:mm:ss",
                 "src": f"10.0.{day}.{rng.integers(2, 60)}", "dst": f"93.184.{rng.integers(1, 250)}.7", "srcPort": int(rng.integers(1024, 65535)),
                 "dstPort": port, "proto": "UDP" if port in (53, 123) else "TCP", "srcBytes": size, "dstBytes": size * 3,
                 "srcPackets": int(rng.integers(1, 40)), "policy": "Allow outbound web", "dvchost": device, "sev": 1}
        out.append(head + sep.join(f"{k}={v}" for k, v in attrs.items()))
        if i % 40 == 9:
            out.append(f"<134>Dec {day:2d} 10:00:00 {device} LEEF:{version}|Acme|NGFW|7.2|login|{named}usrName=admin{sep}msg=Admin login")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_leef_events_from_another_device_are_not_flagged_for_it(tmp_path, runner, version):
    """LEEF (QRadar's Log Event Extended Format): the header's five fields and the attributes are the row,
    split at tabs (1.0) or at the separator LEEF 2.0 names, `|` or spaces where a device uses those; events
    without a connection's two ends are left out and counted. The device's fields, times and addresses are
    ignored, srcPort/dstPort are ports and the byte and packet counts numbers: another device's events,
    on another day, score as the training device's."""
    from vaeguard.logs.events import leef_record

    train, home, other = tmp_path / "leef.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(leef_log(2000, 1, "fw-a", version=version))
    home.write_text(leef_log(400, 1, "fw-a", seed=5, version=version))
    other.write_text(leef_log(400, 9, "fw-b", seed=5, version=version))
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 2000 and src.describe(df.columns) == "LEEF events (syslog lines in QRadar's Log Event Extended Format)"
    assert src.skipped_summary() == "50 non-flow events left out"
    assert df["policy"].iloc[0] == "Allow outbound web" and df["devTime"].iloc[0] == "Dec 01 2026 10:00:00"
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    assert roles["srcPort"] == roles["dstPort"] == "port" and roles["srcBytes"] == roles["srcPackets"] == "numeric", roles
    assert all(roles[k] == "ignored" for k in ("syslog_header", "device_vendor", "device_version", "devTime", "devTimeFormat", "src",
                                               "dst", "dvchost")), roles
    assert_scored_as_home(runner, model, home, other, tmp_path)
    # Other devices' ways: spaces between the attributes, `|` between them, a separator by its hex code.
    assert json.loads(leef_record("LEEF:1.0|Microsoft|MSExchange|2016|15345|src=10.50.1.1 dst=2.10.20.20 spt=1200 msg=a b")) == {
        "syslog_header": None, "leef_version": "1.0", "device_vendor": "Microsoft", "device_product": "MSExchange", "device_version": "2016",
        "event_id": "15345", "src": "10.50.1.1", "dst": "2.10.20.20", "spt": 1200, "msg": "a b"}
    assert json.loads(leef_record("LEEF:1.0|PAN|PAN-OS|11.0|allow|cat=TRAFFIC|src=10.0.0.1|dst=10.0.0.2|usrName="))["usrName"] is None
    assert json.loads(leef_record("LEEF:2.0|A|B|1.0|c|0x5E|src=10.0.0.1^dst=10.0.0.2^msg=x y"))["msg"] == "x y"
    assert json.loads(leef_record("LEEF:1.0|A|B|1.0|c|src=10.0.0.1 dst=10.0.0.2 msg=a|b c"))["msg"] == "a|b c"  # a | in a value
    assert leef_record("LEEF:1.0|A|B|1.0|login|usrName=bob\tsrc=10.0.0.9") == ""
    assert leef_record("LEEF:1.0|A|B") is None


def checkpoint_log(n: int, day: int, gateway: str, seed: int = 0, splunk: bool = False) -> str:
    """A Check Point gateway's connection logs as its Log Exporter sends them in the default syslog format
    (`[key:"value"; ...]` after an RFC 5424 header), a policy install (no connection) now and then; or in
    its Splunk format (`key=value|...`, `=` escaped in a value, the time written twice), connections alone."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        port = int(rng.choice([443, 443, 80, 53, 123]))
        size = int(rng.integers(40, 1500)) * int(rng.integers(1, 40))
        head = f"<134>1 2026-12-{day:02d}T10:{i // 60 % 60:02d}:{i % 60:02d}Z {gateway} CheckPoint {2000 + day} - "
        fields = {"action": "Accept", "flags": "411908", "ifdir": "outbound", "ifname": f"eth{day}", "logid": "0",
                  "loguid": f"{{0x{rng.integers(1, 2**31):x},0x0,0x{day:x},0x0}}", "origin": f"10.0.{day}.1",
                  "originsicname": f"CN={gateway},O=mgmt.example", "sequencenum": str(i + 1), "time": str(1764547200 + day * 86400 + i),
                  "version": "5", "dst": f"93.184.{rng.integers(1, 250)}.7", "inzone": "Internal", "outzone": "External",
                  "product": "VPN-1 & FireWall-1", "proto": "17" if port in (53, 123) else "6", "s_port": str(rng.integers(1024, 65535)),
                  "service": str(port), "service_id": {443: "https", 80: "http", 53: "domain-udp", 123: "ntp-udp"}[port],
                  "src": f"10.0.{day}.{rng.integers(2, 60)}", "client_outbound_bytes": str(size), "server_outbound_bytes": str(size * 3),
                  "rule_name": "Allow \"web\" out"}
        if splunk:
            out.append(head + "|".join(f"{k}={v}".replace("=mgmt", "\\=mgmt").replace("N=", "N\\=") for k, v in fields.items())
                       + f"|time={fields['time']}|")
            continue
        out.append(head + "[" + "; ".join(f'{k}:"{v}"'.replace('"web"', '\\"web\\"') for k, v in fields.items()) + "]")
        if i % 40 == 9:
            out.append(f'{head}[action:"Install"; origin:"10.0.{day}.1"; product:"SmartConsole"; version:"5"; loguid:"{{0x1,0x0,0x0,0x0}}"]')
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("splunk", [False, True], ids=["syslog", "splunk"])
def test_check_point_logs_from_another_gateway_are_not_flagged_for_it(tmp_path, runner, splunk):
    """A Check Point Log Exporter's default syslog format (`[key:"value"; ...]`): each connection log is a
    row, with its escaped quotes; logs without a connection's two ends are left out and counted. The
    gateway's address, SIC name, interface, log ids and times are ignored, `service` (the responder's
    port) and `s_port` are ports, the byte counts numbers: another gateway's logs score as the training
    gateway's (before, it was taken for a semicolon-separated CSV whose header was the first log). Its
    Splunk format, `key=value|key=value|`, is read as key=value lines and typed the same (before, not read)."""
    train, home, other = tmp_path / "cp.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(checkpoint_log(2000, 1, "gw-a", splunk=splunk))
    home.write_text(checkpoint_log(400, 1, "gw-a", seed=5, splunk=splunk))
    other.write_text(checkpoint_log(400, 9, "gw-b", seed=5, splunk=splunk))
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 2000 and src.describe(df.columns) == f"Check Point logs ({'key=value lines' if splunk else 'Check Point Log Exporter syslog'})"
    assert src.skipped_summary() == ("" if splunk else "50 non-flow events left out")
    assert df["rule_name"].iloc[0] == 'Allow "web" out'
    assert df["client_outbound_bytes"].dtype.kind == "i" and df["originsicname"].iloc[0] == "CN=gw-a,O=mgmt.example"
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    assert roles["service"] == roles["s_port"] == "port" and roles["server_outbound_bytes"] == "numeric", roles
    assert all(roles[k] == "ignored" for k in ("origin", "originsicname", "ifname", "loguid", "sequencenum", "time", "src", "dst")), roles
    assert_scored_as_home(runner, model, home, other, tmp_path)


def test_key_value_lines_are_told_from_csv():
    from vaeguard.logs.keyvalue import key_values, looks_key_value

    assert looks_key_value('a=1 b="x y" c=2 d=3\na=2 b="z" c=3 d=4\n')
    assert not looks_key_value("name,query\nx,a=1 b=2 c=3 d=4\n")  # a CSV whose cells hold pairs
    assert not looks_key_value("a=1 b=2\nc=3 d=4\n")  # too few pairs for a record
    assert looks_key_value("a=1 b=x c=2 d=y\n" + "a line that is not a record\n" + "a=2 b=x c=3 d=y\n" * 8)  # counted as it is read
    assert json.loads(key_values('<13>Dec  1 host a=1 b="say \\"hi\\"" c=-2 d=0.5 e= f=N/A g=1765361703000000000 h=0007 i="" '
                                 'j="tab\there" k=x\\y l=1.')) == {
        "a": 1, "b": 'say "hi"', "c": -2, "d": 0.5, "e": None, "f": None, "g": "1765361703000000000", "h": 7, "i": None,
        "j": "tab\there", "k": "x\\y", "l": "1."}
    assert key_values("a=1 b=2 c=3") is None
    # Where a key may begin: digits, dots or dashes before a run's first letter are not the key's.
    assert json.loads(key_values("x 9ab=1 .c-d=2 -e.f_g=3 é=4 x1=5")) == {"ab": 1, "c-d": 2, "e.f_g": 3, "x1": 5}


def test_long_lines_read_in_linear_time():
    """Patterns that tried a match from every character of a long word, each try running to the word's end,
    took time in the square of its length: a key=value line whose quoted value runs on into a 100,000-character
    token (a payload, a syslog line cut and joined) about a minute, and the format guess on a wide CSV's header
    (the MikroTik log's pattern, tried on the first line of every text file: 16 s for 10,000 column names, 0.3 s
    for ADBench InternetAds' 1,555). Each now takes milliseconds; the limit below (in a process of its own: a
    regular expression holds the interpreter's lock) is a thousand times that."""
    import subprocess
    import sys

    line = 'date=2026-12-01 srcip=10.0.0.5 msg="cut short"' + "QUJD" * 25000 + " action=deny"
    header = ",".join(f"gene_{i}" for i in range(20000))
    code = ("import json, sys; from vaeguard.logs.keyvalue import key_values; from vaeguard.sources import _guess_text_format\n"
            "line, header = sys.stdin.read().split('\\n'); print(json.dumps([key_values(line), _guess_text_format(header + '\\n' + header.replace('gene_', '') + '\\n')]))")
    done = subprocess.run([sys.executable, "-c", code], input=line + "\n" + header, capture_output=True, text=True, timeout=30)
    record, kind = json.loads(done.stdout)
    assert json.loads(record) == {"date": "2026-12-01", "srcip": "10.0.0.5", "msg": "cut short", "action": "deny"}, done.stderr
    assert kind == "csv"


def test_a_linux_netfilter_log_reads_its_flags_prefix_and_direction(tmp_path, runner):
    """netfilter's packet log (iptables' LOG target, nftables, UFW, firewalld in kern.log): before, its ports
    were counts (SPT, DPT), its TCP and IP flags (bare words: SYN, DF) and the rule's prefix ([UFW BLOCK]) were
    lost, and the interfaces and MAC addresses one machine's. Now the flags are columns, the prefix is one,
    which of IN and OUT is set is the packet's direction, and another server's log scores as this one's; a
    repeated field takes its protocol's name (UDP's own LEN), an ICMP error's quoted packet is left out, and
    the kernel's other messages in kern.log are left out and counted."""
    from sklearn.metrics import roc_auc_score

    from vaeguard.logs.keyvalue import key_values

    record = json.loads(key_values("Dec  5 10:00:00 fw kernel: [ 12.5] DROP: IN=eth1 OUT=eth0 SRC=10.0.0.9 DST=192.0.2.8 LEN=76 "
                                   "TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=UDP SPT=5000 DPT=53 LEN=56"))
    assert record["PREFIX"] == "DROP:" and record["DIRECTION"] == "forward" and record["syslog_header"].startswith("Dec  5 10:00:00 fw")
    assert record["LEN"] == 76 and record["UDPLEN"] == 56 and record["IPFLAGS"] == "DF" and "TCPFLAGS" not in record
    record = json.loads(key_values("IN= OUT=eth0 SRC=10.0.0.9 DST=192.0.2.8 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=7 PROTO=ICMP TYPE=3 "
                                   "CODE=3 [SRC=192.0.2.8 DST=10.0.0.9 LEN=40 PROTO=UDP SPT=53 DPT=5000 LEN=20 ] MTU=1500"))
    assert record["DIRECTION"] == "out" and record["SRC"] == "10.0.0.9" and record["MTU"] == 1500 and "SPT" not in record
    assert record["PREFIX"] is None and record["IPFLAGS"] == "none"

    train, home, other = tmp_path / "kern.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(netfilter_log(4000, seed=0, others=True)[0])
    day, attack = netfilter_log(4000, seed=1, attacks=0.03)
    home.write_text(day)
    other.write_text(netfilter_log(4000, seed=1, attacks=0.03, host="web02", iface="ens3", mac="0a:1b:2c:3d:4e:5f:0a:1b:2c:3d:4e:60:08:00",
                                   others=True)[0])
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 4000 and src.describe(df.columns) == "Linux netfilter packet log (iptables, nftables, UFW) (key=value lines)"
    assert src.skipped_summary() == "40 non-flow events left out"
    model, roles = fit_log(runner, train, tmp_path, epochs=40)
    assert roles["SPT"] == roles["DPT"] == "port" and roles["TCPFLAGS"] == roles["IPFLAGS"] == "categorical", roles
    assert all(roles[c] == "ignored" for c in ("syslog_header", "IN", "OUT", "MAC", "SRC", "DST", "ID", "ICMPID")), roles
    assert roles["DIRECTION"] == roles["PREFIX"] == "constant" and roles["UDPLEN"] == roles["TTL"] == "numeric", roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path, flagged=0.1)["home"]
    assert roc_auc_score(attack, scored["anomaly_score"]) > 0.99 and scored["is_anomaly"][attack].mean() > 0.9
    top = scored["top_features"][attack].str.split(";").str[0]
    assert set(top) == {"TCPFLAGS", "DIRECTION"}, top.value_counts()


def test_a_pfsense_filter_log_is_read_by_its_fields_places(tmp_path, runner):
    """pf's filter log (pfSense, OPNsense: `filterlog: 5,,,1000000103,igb0,match,block,in,4,...`) is CSV whose
    fields depend on the IP version and protocol: before, its first line was taken for a header. Each line is
    named by pf's field list for its protocol (TCP's flags and options, ICMP's type and its own fields, CARP);
    the rule's tracker, the action, direction and flags are modelled, the interfaces, addresses, IP ids and
    sequence numbers left out, so another firewall's log of the same packets scores as this one's; the DHCP
    server's messages in the same stream are left out and counted."""
    from sklearn.metrics import roc_auc_score

    train, home, other = tmp_path / "filter.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(filterlog_log(4000, seed=0)[0])
    day, attack = filterlog_log(4000, seed=1, attacks=0.03)
    home.write_text(day)
    other.write_text(filterlog_log(4000, seed=1, attacks=0.03, host="fw2", wan="em0", lan="em1")[0] + "<134>Dec  6 fw2 filterlog[1]: 5,,\n")
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 4000 and src.describe(df.columns) == "pf filter log (pfSense, OPNsense) (pf's filter log (pfSense, OPNsense): a logged packet a line)"
    assert src.skipped_summary() == "40 non-flow events left out"
    assert {"tcp_flags", "options", "icmp_type", "carp_type", "flow_label", "hop_limit"} <= set(df.columns)
    assert (df["tcp_flags"].dropna() == "S").all() and set(df["icmp_type"].dropna()) == {"request", "neighbor solicitation"}
    model, roles = fit_log(runner, train, tmp_path, epochs=40)
    assert roles["src_port"] == roles["dst_port"] == "port" and roles["tracker"] == roles["action"] == "categorical", roles
    # The CARP advertisements, 2% of the lines and all alike, are left out of training by the trim and stand at
    # the threshold: fit names them.
    res = invoke(runner, "fit", train, "--model", tmp_path / "m2", "--epochs", "40", "--json")
    assert {"protocol", "carp"} <= {v for k in json.loads(res.stdout)["left_out_kinds"] for v in k.values()}, res.stdout
    assert all(roles[c] == "ignored" for c in ("syslog_header", "interface", "rule_number", "protocol_id", "src_ip", "dst_ip", "id", "seq")), roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path, flagged=0.1)
    assert_lines_told(runner, model, scored, other, tmp_path, "1 malformed line skipped")
    home_scores = scored["home"]
    assert roc_auc_score(attack, home_scores["anomaly_score"]) > 0.99 and home_scores["is_anomaly"][attack].mean() > 0.9
    assert set(home_scores["top_features"][attack].str.split(";").str[0]) <= {"tcp_flags", "dst_port"}


def test_a_meraki_flow_log_is_read_as_key_value_pairs_with_its_rule(tmp_path):
    """Cisco Meraki's flows syslog: a header of a third of the line (priority, epoch with nanoseconds, device,
    log type) before the pairs, then the rule that matched after `pattern:`. The pairs covered less than 60% of
    the whole line, and the log was read as a space-separated table with its first line for a header; the
    share is now taken from the first pair on, and the rule is kept."""
    from vaeguard.schema import infer_schema

    rng = np.random.default_rng(0)
    lines = [f"<134>1 {1700000000 + i}.{rng.integers(10**9):09d} MX84 flows src=10.0.0.{rng.integers(2, 200)} dst=93.184.{rng.integers(255)}.7 "
             f"mac=58:1F:AA:CE:{rng.integers(10, 99)}:F2 protocol=tcp sport={rng.integers(1024, 65535)} dport={rng.choice([80, 443])} "
             f"pattern: {rng.choice(['allow all', '1 (dst 93.184.0.0/16)'])}" for i in range(300)]
    (tmp_path / "meraki.log").write_text("\n".join(lines) + "\n")
    src = open_source(str(tmp_path / "meraki.log"))
    df, _ = read_table(src)
    assert len(df) == 300 and src.log_lines == "kv" and set(df["pattern"]) == {"allow all", "1 (dst 93.184.0.0/16)"}
    roles = {s.name: s.role for s in infer_schema(df, hints=src.hints)}
    assert roles["sport"] == roles["dport"] == "port" and roles["pattern"] == "categorical" and roles["src"] == roles["mac"] == "ignored", roles


def test_a_mikrotik_firewall_log_reads_each_packet_by_its_fields(tmp_path, runner):
    """RouterOS's firewall log (`DROP-IN input: in:ether1 out:(unknown 0), connection-state:new src-mac ..., proto
    TCP (SYN), 198.51.100.7:51234->203.0.113.5:22, len 60`) was one column of text. The rule's prefix, chain,
    connection state, protocol, TCP flags ('none' where there are none) and which end NAT translated are
    categories, ports ports; the router's interfaces, MAC addresses and the ends' addresses are left out, so
    another router's log of the same packets scores as this one's; its other messages are left out."""
    from sklearn.metrics import roc_auc_score

    train, home, other = tmp_path / "fw.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(mikrotik_log(4000, seed=0)[0])
    day, attack = mikrotik_log(4000, seed=1, attacks=0.03)
    home.write_text(day)
    other.write_text(mikrotik_log(4000, seed=1, attacks=0.03, router="10.9.9.1", wan="sfp-sfpplus1")[0])
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 4000 and src.log_lines == "mikrotik" and src.skipped_summary() == "20 non-flow events left out"
    assert set(df["nat"].dropna()) == {"source"} and set(df["icmp"].dropna()) == {"type 8, code 0"} and set(df["prefix"].dropna()) == {"DROP-IN"}
    model, roles = fit_log(runner, train, tmp_path, epochs=40)
    assert roles["src_port"] == roles["dst_port"] == "port" and roles["chain"] == roles["tcp_flags"] == "categorical", roles
    assert all(roles[c] == "ignored" for c in ("syslog_header", "in_interface", "out_interface", "src_mac", "src_ip", "dst_ip")), roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path, flagged=0.1)["home"]
    assert roc_auc_score(attack, scored["anomaly_score"]) > 0.99 and scored["is_anomaly"][attack].mean() > 0.9
    assert set(scored["top_features"][attack].str.split(";").str[0]) <= {"tcp_flags", "dst_port"}
