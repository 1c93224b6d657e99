"""The IoT-23 captures as other flow exporters write them: does a log from another sensor, router, account
or day get flagged for where it came from rather than for what its traffic did?

    python benchmarks/exporters.py        # -> benchmarks/results/exporters.md (a few minutes)

Each capture's connections (../shared/data/iot23, Zeek TSV) are rewritten as another exporter writes
the same flows, with what that exporter adds about where it saw them. Captures 34 and 44 come from one
network, 8 from another, so 34 and 44 share their capture point's values and 8 has its own:
- Zeek TSV with Zeek's policy fields: ip_proto, MAC addresses, Community ID, and the VLAN tag (10 on
  network A, 20 on B).
- nfdump's CSV (`nfdump -o csv`): the exporting router's address, interfaces, engine and exporter ids,
  AS numbers and prefix lengths (one router per network), and nfdump's closing summary.
- An Elasticsearch export of Filebeat's Zeek module (JSON lines, and the same as a Kibana CSV): ECS
  names, the index named by day, the shipper's host and tags, the responder's AS and country.
- AWS VPC Flow Logs (version 2, space-separated): the account and network interface (one account per
  network), protocol numbers, packets and bytes of both directions summed, as VPC logs count them.
- Google Cloud VPC Flow Logs (Cloud Logging's JSON): one project per network, each end's VM, VPC and
  subnet, the outside end's AS and country, the entry's name, id and times.
- Argus as CTU-13's binetflow files hold it: Argus' names, an ICMP flow's type and code in hex where the
  ports go, and SrcId, the probe (one per network).
- Windows Firewall's pfirewall.log (the W3C extended log format): the first packet of each connection,
  its date and time of day, and the id of the process that sent it (other processes on network B).
- Azure NSG flow logs (version 2, PT1H.json): one NSG per network, a MAC per device, each connection's
  closing tuple nested by hour, rule and NIC.
- FortiGate's traffic log as its syslog carries it (key=value lines): one device, virtual domain and
  NAT address per network, the responder's country, a session id per connection.
- A SonicWall's syslog (SonicOS's default key=value format): each connection's open and close, its ends
  written address:port:interface; one device per network (serial, address, LAN interface).
- A Palo Alto firewall's traffic log as its syslog carries it (PAN-OS CSV lines without a header): one
  firewall per network (serial, name, device group, NAT address), the application as PAN-OS names it,
  each session's end reason, the responder's country, a session id and sequence number per connection.
- A Cisco ASA's syslog: a connection built and a teardown message per connection (its ends, duration,
  bytes and reason; ICMP has only the built message, which is not a flow), one device per network.
- A Cisco Firepower (FTD) device's syslog: a connection's start and end events (430002, 430003: ends,
  packets and bytes both ways, duration, application), one device per network (UUID, host, policy and
  zones); and the same with each connection's ASA-style teardown (302014, 302016) too.
- A Check Point gateway's logs as its Log Exporter sends them in CEF: one gateway per network (its name,
  address and SIC name), a log id and sequence number per connection, policy installs among them.
- The same gateway's logs in its Log Exporter's default syslog format (`[key:"value"; ...]`).
- goflow2's JSON lines (a NetFlow v9 collector): times in epoch nanoseconds, the exporter's address, its
  packet sequence number and interface indexes (one router per network), protocol names, TCP flags as a number.
- nProbe's JSON lines without --json-labels: keyed by IPFIX element numbers ("8", "7", "1", ...), epoch
  seconds, the router's interfaces and address (one router per network).
- pmacct's JSON lines (nfacctd's print or Kafka plugin): flows as "purge" events between purge_init and
  purge_close markers every 1,000 records, the plugin's process id in writer_id (one per network), the
  exporter's address, interfaces and AS numbers, times as text.
- Juniper SRX's structured syslog: each connection's session open (RT_FLOW_SESSION_CREATE) and close
  (RT_FLOW_SESSION_CLOSE, with its counts), one device per network (host, ingress interface, NAT address),
  a session id per connection.
- The same sessions in the SRX's default syslog format (fields by place: `RT_FLOW_SESSION_CLOSE: session
  closed TCP FIN: 10.0.0.5/51234->... 12(1520) 10(9876) 5 ...`).
- SiLK's `rwcut` default output: every field padded to line up its columns, each line closed by a `|`,
  times as `2019/01/10T12:00:00.000`, the sensor's name (one per network).
- A firewall's connections as LEEF 1.0 events with QRadar's standard keys: one device per network (its
  name and address), the time as text, admin logins among them.
Fit with no options on capture 44's benign rows; score 34 (same network) and 8 (other network). The
Zeek TSV rows are the reference: an exporter that adds nothing but where it saw a flow should score as
they do. For each: ROC-AUC, the shares of benign and malicious rows flagged, the drift warning, and
the columns named most often in the benign rows' top features.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flows  # noqa: E402

# Where each network's flows were seen: (VLAN, router, interfaces, engine, exporter id, AS, index day,
# sensor, AWS account, network interface).
POINTS = {
    "A": (10, "10.0.0.1", (2, 3), "0/0", 1, 14061, "2019.01.10", "sensor-a", "123456789010", "eni-1235b8ca123456789"),
    "B": (20, "172.16.0.1", (7, 9), "1/3", 4, 16509, "2018.07.31", "sensor-b", "999988887777", "eni-aaaabbbbccccdddd0"),
}
PROTO = {"tcp": 6, "udp": 17, "icmp": 1}


def connections(capture: str, benign_only: bool) -> list[dict]:
    lines = (flows.IOT / f"conn{capture}.log").read_text().splitlines()
    names = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    y = flows.labels(capture)
    out = []
    for ln, label in zip((ln for ln in lines if not ln.startswith("#")), y):
        if benign_only and label:
            continue
        out.append({k: (None if v == "-" else v) for k, v in zip(names, ln.split("\t"))})
    return out


def _n(v) -> int:
    return int(v) if v not in (None, "") else 0


def _hash(text: str, n: int) -> int:
    return int(hashlib.md5(text.encode()).hexdigest(), 16) % n


def zeek_policy(rows: list[dict], point: tuple, path: Path) -> Path:
    vlan = point[0]
    text = (flows.IOT / "conn44.log").read_text().splitlines()
    fields = next(ln for ln in text if ln.startswith("#fields")).split("\t")[1:]
    types = next(ln for ln in text if ln.startswith("#types")).split("\t")[1:]
    extra = {"ip_proto": "count", "orig_l2_addr": "string", "resp_l2_addr": "string", "vlan": "int", "community_id": "string"}
    head = [ln for ln in text if ln.startswith("#") and not ln.startswith(("#fields", "#types", "#close"))]
    out = head + ["#fields\t" + "\t".join(fields + list(extra)), "#types\t" + "\t".join(types + list(extra.values()))]
    for r in rows:
        mac = lambda ip: ":".join(hashlib.md5(ip.encode()).hexdigest()[i:i + 2] for i in range(0, 12, 2))  # noqa: E731
        cid = "1:" + hashlib.sha1("|".join(str(r[k]) for k in ("id.orig_h", "id.resp_h", "id.orig_p", "id.resp_p")).encode()).hexdigest()[:27] + "="
        values = [r[k] for k in fields] + [PROTO.get(r["proto"], 0), mac(r["id.orig_h"]), mac(r["id.resp_h"]), vlan, cid]
        out.append("\t".join("-" if v is None else str(v) for v in values))
    path.write_text("\n".join(out + ["#close\t2019-01-10-13-00-00"]) + "\n")
    return path


NFDUMP_HEADER = ("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,"
                 "ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr").split(",")


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _tcp_flags(history: str | None) -> str:
    h = (history or "").upper()
    return "".join(c if c in h else "." for c in "UAPRSF").replace("P", "P" if "D" in h else ".")


def nfdump(rows: list[dict], point: tuple, path: Path) -> Path:
    _, router, (i_in, i_out), engine, exporter, asn = point[:6]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(NFDUMP_HEADER)
        for r in rows:
            ts = float(r["ts"])
            d = float(r["duration"] or 0.0)
            w.writerow([_time(ts), _time(ts + d), f"{d:.3f}", r["id.orig_h"], r["id.resp_h"], r["id.orig_p"], r["id.resp_p"], r["proto"].upper(),
                        _tcp_flags(r["history"]), 0, 0, _n(r["orig_pkts"]), _n(r["orig_ip_bytes"]), _n(r["resp_pkts"]), _n(r["resp_ip_bytes"]),
                        i_in, i_out, asn, asn + 1 + _hash(r["id.resp_h"], 3), 24, 0, 0, 0, "0.0.0.0", router, 0, 0, *["00:00:00:00:00:00"] * 4,
                        *["0-0-0"] * 10, "0.000", "0.000", "0.000", router, engine, exporter, _time(ts + d + 1) + ".123"])
        f.write(f"Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n{len(rows)},0,0,0,0,0\n")
    return path


def elastic(rows: list[dict], point: tuple, path: Path) -> Path:
    asn, day, sensor = point[5], point[6], point[7]
    records = []
    for i, r in enumerate(rows):
        ts = float(r["ts"])
        iso = datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")
        k = _hash(r["id.resp_h"], 3)
        rec = {
            "_index": f"filebeat-7.17.0-{day}", "_id": hashlib.sha1(f"{sensor}{i}".encode()).hexdigest()[:20], "_score": 1,
            "@timestamp": iso, "event.ingested": iso, "event.kind": "event", "event.dataset": "zeek.connection", "event.id": r["uid"],
            "event.duration": int(float(r["duration"]) * 1e9) if r["duration"] else None,
            "source.ip": r["id.orig_h"], "source.port": int(r["id.orig_p"]), "destination.ip": r["id.resp_h"], "destination.port": int(r["id.resp_p"]),
            "network.transport": r["proto"], "network.protocol": r["service"],
            "source.bytes": _n(r["orig_ip_bytes"]), "source.packets": _n(r["orig_pkts"]),
            "destination.bytes": _n(r["resp_ip_bytes"]), "destination.packets": _n(r["resp_pkts"]),
            "zeek.connection.state": r["conn_state"], "zeek.connection.history": r["history"], "zeek.connection.missed_bytes": _n(r["missed_bytes"]),
            "destination.as.number": asn + k, "destination.as.organization.name": f"AS{asn + k}",
            "destination.geo.country_iso_code": ("US", "DE", "NL")[k] if asn == POINTS["A"][5] else ("IE", "SG", "BR")[k],
            "related.ip": [r["id.orig_h"], r["id.resp_h"]], "agent.hostname": sensor, "observer.name": sensor,
            "ecs.version": "1.12.0", "log.file.path": f"/nsm/zeek/logs/{day}/conn.log", "tags": ["zeek.connection", f"beats_{sensor}"],
        }
        records.append({k2: v for k2, v in rec.items() if v is not None})
    if path.suffix == ".json":
        path.write_text("".join(json.dumps(rec) + "\n" for rec in records))
    else:  # Kibana's CSV export: every field a column, a list joined with ', '
        pd.DataFrame([{k2: ", ".join(v) if isinstance(v, list) else v for k2, v in rec.items()} for rec in records]).to_csv(path, index=False)
    return path


def vpc(rows: list[dict], point: tuple, path: Path) -> Path:
    account, eni = point[8], point[9]
    out = ["version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"]
    for r in rows:
        ts = float(r["ts"])
        d = float(r["duration"] or 0.0)
        packets, size = _n(r["orig_pkts"]) + _n(r["resp_pkts"]), _n(r["orig_ip_bytes"]) + _n(r["resp_ip_bytes"])
        out.append(f"2 {account} {eni} {r['id.orig_h']} {r['id.resp_h']} {r['id.orig_p']} {r['id.resp_p']} {PROTO.get(r['proto'], 0)} "
                   f"{packets} {size} {int(ts)} {int(ts + d) + 1} ACCEPT OK")
    path.write_text("\n".join(out) + "\n")
    return path


def argus(rows: list[dict], point: tuple, path: Path) -> Path:
    """CTU-13's binetflow (ra -c ,): Argus' names, an ICMP flow's type and code in hex where the ports go,
    and SrcId, the probe (one per network)."""
    probe = point[7].replace("sensor", "argus")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["StartTime", "Dur", "Proto", "SrcAddr", "Sport", "Dir", "DstAddr", "Dport", "State", "sTos", "dTos", "TotPkts",
                    "TotBytes", "SrcBytes", "SrcId"])
        for r in rows:
            icmp = r["proto"] == "icmp"
            sport, dport = (f"0x{int(r['id.orig_p']):04x}", f"0x{int(r['id.resp_p']):04x}") if icmp else (r["id.orig_p"], r["id.resp_p"])
            w.writerow([datetime.fromtimestamp(float(r["ts"]), timezone.utc).strftime("%Y/%m/%d %H:%M:%S.%f"), r["duration"] or "0.000000",
                        r["proto"], r["id.orig_h"], sport, "  <->" if r["proto"] == "udp" else "   ->", r["id.resp_h"], dport, r["conn_state"],
                        0, 0, _n(r["orig_pkts"]) + _n(r["resp_pkts"]), _n(r["orig_ip_bytes"]) + _n(r["resp_ip_bytes"]), _n(r["orig_ip_bytes"]), probe])
    return path


def windows_firewall(rows: list[dict], point: tuple, path: Path) -> Path:
    """pfirewall.log (the W3C extended log format): the first packet of each connection as the host's firewall
    logs it, with the process that sent it (other process ids on the other network's host)."""
    pids = (1234, 5678, 904) if point is POINTS["A"] else (7712, 10432, 1188)
    out = ["#Version: 1.5", "#Software: Microsoft Windows Firewall", "#Time Format: Local",
           "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path pid", ""]
    for r in rows:
        t = datetime.fromtimestamp(float(r["ts"]), timezone.utc)
        tcp = r["proto"] == "tcp"
        out.append(f"{t:%Y-%m-%d} {t:%H:%M:%S} ALLOW {r['proto'].upper()} {r['id.orig_h']} {r['id.resp_h']} {r['id.orig_p']} {r['id.resp_p']} "
                   f"{_n(r['orig_ip_bytes'])} {'S' if tcp else '-'} {_hash(r['uid'], 1 << 32) if tcp else '-'} {0 if tcp else '-'} "
                   f"{64240 if tcp else '-'} - - - SEND {pids[_hash(r['id.resp_h'], 3)]}")
    path.write_text("\r\n".join(out) + "\r\n")
    return path


def gcp(rows: list[dict], point: tuple, path: Path) -> Path:
    """Google Cloud VPC Flow Logs from Cloud Logging (JSON lines): one project per network, the outside end's
    location, the entry's own name, id and times."""
    project = "iot-lab" if point is POINTS["A"] else "iot-plant"
    out = []
    for r in rows:
        iso = datetime.fromtimestamp(float(r["ts"]), timezone.utc).isoformat().replace("+00:00", "Z")
        k = _hash(r["id.resp_h"], 3)
        entry = {
            "insertId": hashlib.sha1(r["uid"].encode()).hexdigest()[:12], "logName": f"projects/{project}/logs/compute.googleapis.com%2Fvpc_flows",
            "resource": {"type": "gce_subnetwork", "labels": {"project_id": project, "location": "us-central1-a", "subnetwork_name": f"{project}-subnet"}},
            "timestamp": iso, "receiveTimestamp": iso,
            "jsonPayload": {
                "connection": {"src_ip": r["id.orig_h"], "dest_ip": r["id.resp_h"], "src_port": int(r["id.orig_p"]), "dest_port": int(r["id.resp_p"]),
                               "protocol": PROTO.get(r["proto"], 0)},
                "bytes_sent": str(_n(r["orig_ip_bytes"])), "packets_sent": str(_n(r["orig_pkts"])), "reporter": "SRC",
                "start_time": iso, "end_time": iso,
                "src_instance": {"project_id": project, "region": "us-central1", "vm_name": f"{project}-{r['id.orig_h']}", "zone": "us-central1-a"},
                "src_vpc": {"project_id": project, "vpc_name": f"{project}-vpc", "subnetwork_name": f"{project}-subnet"},
                "dest_location": {"asn": point[5] + k, "country": ("usa", "deu", "nld")[k] if point is POINTS["A"] else ("irl", "sgp", "bra")[k]},
            },
        }
        out.append(json.dumps(entry))
    path.write_text("\n".join(out) + "\n")
    return path


def azure(rows: list[dict], point: tuple, path: Path) -> Path:
    """Azure NSG flow logs, version 2 (PT1H.json): one NSG per network, a MAC per device, records by hour,
    each connection its closing tuple (state E, with the counts each way). Connections follow one another in
    the file as in the capture: a record, rule or NIC group ends where the next connection has another."""
    nsg = f"/SUBSCRIPTIONS/{point[8]}/RESOURCEGROUPS/IOT/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-{point[7].upper()}"
    records: list[dict] = []
    last = None
    for r in rows:
        ts = float(r["ts"])
        hour = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:00:00.0000000Z")
        inside = r["id.resp_h"].startswith(("10.", "192.168.", "172.16."))
        rule = "DefaultRule_AllowVnetOutBound" if inside else "DefaultRule_AllowInternetOutBound"
        mac = f"000D3A{point[0]:02X}{_hash(r['id.orig_h'], 1 << 16):04X}"
        flow = (f"{int(ts)},{r['id.orig_h']},{r['id.resp_h']},{r['id.orig_p']},{r['id.resp_p']},{(r['proto'] or 'u')[0].upper()},O,A,E,"
                f"{_n(r['orig_pkts'])},{_n(r['orig_ip_bytes'])},{_n(r['resp_pkts'])},{_n(r['resp_ip_bytes'])}")
        if last is None or last[0] != hour:
            records.append({"time": hour, "systemId": point[9], "macAddress": mac, "category": "NetworkSecurityGroupFlowEvent",
                            "resourceId": nsg, "operationName": "NetworkSecurityGroupFlowEvents", "properties": {"Version": 2, "flows": []}})
            last = (hour, None, None)
        groups = records[-1]["properties"]["flows"]
        if last[1] != rule:
            groups.append({"rule": rule, "flows": []})
            last = (hour, rule, None)
        if last[2] != mac:
            groups[-1]["flows"].append({"mac": mac, "flowTuples": []})
            last = (hour, rule, mac)
        groups[-1]["flows"][-1]["flowTuples"].append(flow)
    path.write_text(json.dumps({"records": records}))
    return path


def fortigate(rows: list[dict], point: tuple, path: Path) -> Path:
    """FortiGate's traffic log as its syslog carries it (key=value lines after the syslog header): one
    device, virtual domain and public address per network, its interfaces and policy UUID, each
    responder's country."""
    device, vdom = ("FGT-LAB", "root") if point is POINTS["A"] else ("FGT-PLANT", "plant")
    services = {"dns": "DNS", "http": "HTTP", "ssl": "HTTPS", "dhcp": "DHCP", "irc": "IRC"}
    out = []
    for r in rows:
        t = datetime.fromtimestamp(float(r["ts"]), timezone.utc)
        k = _hash(r["id.resp_h"], 3)
        proto = PROTO.get(r["proto"], 0)
        service = services.get(r["service"] or "", f"{r['proto']}/{r['id.resp_p']}")
        out.append(f"<189>{t:%b %d %H:%M:%S} {device.lower()} date={t:%Y-%m-%d} time={t:%H:%M:%S} eventtime={int(float(r['ts']) * 1e9)} "
                   f'tz="+0100" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="{vdom}" srcip={r["id.orig_h"]} '
                   f'srcport={r["id.orig_p"]} srcintf="{device}-lan" srcintfrole="lan" dstip={r["id.resp_h"]} dstport={r["id.resp_p"]} '
                   f'dstintf="{device}-wan1" dstintfrole="wan" srccountry="Reserved" '
                   f'dstcountry="{("United States", "Germany", "Netherlands")[k] if point is POINTS["A"] else ("Ireland", "Singapore", "Brazil")[k]}" '
                   f'sessionid={_hash(r["uid"], 1 << 31)} proto={proto} action="{"close" if r["conn_state"] == "SF" else "timeout"}" '
                   f'policyid=1 poluuid="{hashlib.md5(device.encode()).hexdigest()}" policyname="IoT out" service="{service}" '
                   f'trandisp="snat" transip={point[1]} transport={r["id.orig_p"]} duration={int(float(r["duration"] or 0))} '
                   f'sentbyte={_n(r["orig_ip_bytes"])} rcvdbyte={_n(r["resp_ip_bytes"])} sentpkt={_n(r["orig_pkts"])} rcvdpkt={_n(r["resp_pkts"])} '
                   f'devname="{device}" devid="FG100F{_hash(device, 10**6):06d}"')
    path.write_text("\n".join(out) + "\n")
    return path


def sonicwall(rows: list[dict], point: tuple, path: Path) -> Path:
    """A SonicWall's syslog (SonicOS's default format): per connection its open (m=98) and close (m=537,
    bytes and packets both ways, duration in ms), each end written address:port:interface; one device per
    network (serial, address, LAN interface), an event counter."""
    a = point is POINTS["A"]
    serial, fw, lan = ("C0EAE48F5084", "203.0.113.1", "X0") if a else ("0017C5178994", "198.51.100.9", "X2-V20")
    names = {"dns": "DNS", "http": "HTTP", "ssl": "HTTPS", "dhcp": "DHCP", "irc": "IRC"}
    out = []
    for i, r in enumerate(rows):
        when = datetime.fromtimestamp(float(r["ts"]), timezone.utc)
        svc = r["service"] or ""
        head = (f'<134>id=firewall sn={serial} time="{when:%Y-%m-%d %H:%M:%S} UTC" fw={fw} pri=6 c=262144 m=98 msg="Connection Opened" '
                f'app={49000 + _hash(svc, 200)} appName="General {names.get(svc, r["proto"].upper())}" n={2 * i}')
        ends = (f"src={r['id.orig_h']}:{r['id.orig_p']}:{lan} dst={r['id.resp_h']}:{r['id.resp_p']}:X1 "
                f"proto={r['proto']}/{svc or r['id.resp_p']}")
        out.append(f'{head} {ends} sent=60 rule="22 (LAN->WAN)" fw_action="NA"')
        out.append(head.replace("m=98", "m=537").replace("Opened", "Closed").replace(f"n={2 * i}", f"n={2 * i + 1}")
                   + f" {ends} sent={_n(r['orig_ip_bytes'])} rcvd={_n(r['resp_ip_bytes'])} spkt={_n(r['orig_pkts'])} rpkt={_n(r['resp_pkts'])} "
                   f'cdur={int(float(r["duration"] or 0) * 1000)} rule="22 (LAN->WAN)" fw_action="NA"')
    path.write_text("\n".join(out) + "\n")
    return path


def panos(rows: list[dict], point: tuple, path: Path) -> Path:
    """A Palo Alto firewall's syslog (PAN-OS 10 traffic logs: CSV lines after the syslog header, no header
    line): one firewall per network (serial, name, device group, NAT address, sequence numbers), the
    application as PAN-OS names it, each session's end reason, the responder's country."""
    device, serial, dg = ("PA-LAB", "013201001234", 11) if point is POINTS["A"] else ("PA-PLANT", "013201005678", 12)
    apps = {"dns": "dns", "http": "web-browsing", "ssl": "ssl", "dhcp": "dhcp", "irc": "irc"}
    ends = {"SF": "tcp-fin", "REJ": "tcp-rst-from-server", "RSTO": "tcp-rst-from-client", "RSTR": "tcp-rst-from-server",
            "RSTOS0": "tcp-rst-from-client", "RSTRH": "tcp-rst-from-server"}
    out = []
    for i, r in enumerate(rows):
        t = datetime.fromtimestamp(float(r["ts"]), timezone.utc)
        when = f"{t:%Y/%m/%d %H:%M:%S}"
        sent, received = _n(r["orig_ip_bytes"]), _n(r["resp_ip_bytes"])
        app = apps.get(r["service"] or "", "ntp" if r["id.resp_p"] == "123" and r["proto"] == "udp"  # App-ID knows NTP; this Zeek did not
                       else "incomplete" if not received else f"unknown-{r['proto']}")
        country = ("United States", "Germany", "Netherlands")[_hash(r["id.resp_h"], 3)] if point is POINTS["A"] else \
            ("Ireland", "Singapore", "Brazil")[_hash(r["id.resp_h"], 3)]
        fields = ["1", when, serial, "TRAFFIC", "end", "2561", when, r["id.orig_h"], r["id.resp_h"], point[1], "0.0.0.0", "IoT out", "", "",
                  app, "vsys1", "trust", "untrust", "ethernet1/2", "ethernet1/1", f"fwd-{device}", when, str(_hash(r["uid"], 1 << 31)), "1",
                  r["id.orig_p"], r["id.resp_p"], str(1024 + _hash(r["uid"] + "nat", 64512)), "0", "0x400000", r["proto"], "allow",
                  str(sent + received), str(sent), str(received), str(_n(r["orig_pkts"]) + _n(r["resp_pkts"])), when,
                  str(int(float(r["duration"] or 0))), "any", "0", str(dg * 10**9 + i), "0x8000000000000000",
                  "192.168.0.0-192.168.255.255", country, "0", str(_n(r["orig_pkts"])), str(_n(r["resp_pkts"])),
                  ends.get(r["conn_state"] or "", "aged-out"), str(dg), "0", "0", "0", "", device, "from-policy", "", "", "0", "", "0",
                  "1970/01/01 00:00:00", "0", "0", "0", "0", "0", hashlib.md5(device.encode()).hexdigest(), "0", "0", "0", "", "", "", "", ""]
        out.append(f"<14>{t:%b %d %H:%M:%S} {device} " + ",".join(fields))
    path.write_text("\n".join(out) + "\n")
    return path


def panos_export(rows: list[dict], point: tuple, path: Path) -> Path:
    """The same traffic logs as the firewall's web interface exports them to CSV: a header row of the
    fields' display names (PAN-OS 10's), every value quoted, no syslog header."""
    import csv
    import io

    from vaeguard.logs.firewalls import PANOS_EXPORT_NAMES

    header = list(PANOS_EXPORT_NAMES)
    lines = panos(rows, point, path).read_text().splitlines()
    with open(path, "w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows(row[: len(header)] for row in csv.reader(io.StringIO("\n".join(ln.split(" ", 4)[4] for ln in lines))))
    return path


def cisco_asa(rows: list[dict], point: tuple, path: Path) -> Path:
    """A Cisco ASA's syslog: a connection built (302013, not a flow) and its teardown (302014 TCP, 302016
    UDP) per connection, the responder on `outside`, the IoT device on `inside`; one device per network
    (its syslog host and connection ids). An ICMP connection's teardown (302021) has no bytes or duration:
    its foreign and local addresses, each with the ICMP id, and the type and code (Zeek's ports for ICMP).
    TCP teardowns name the reason the way the ASA does."""
    host = "asa-lab" if point is POINTS["A"] else "asa-plant"
    reasons = {"SF": "TCP FINs", "REJ": "TCP Reset-O", "RSTO": "TCP Reset-I", "RSTR": "TCP Reset-O", "S0": "SYN Timeout",
               "S1": "FIN Timeout", "OTH": "Conn-timeout"}
    out = []
    for i, r in enumerate(rows):
        t = datetime.fromtimestamp(float(r["ts"]), timezone.utc)
        head = f"{t:%b %d %H:%M:%S} {host} : "
        cid = (1 if point is POINTS["A"] else 7) * 10**8 + i
        ends = f"for outside:{r['id.resp_h']}/{r['id.resp_p']} to inside:{r['id.orig_h']}/{r['id.orig_p']}"
        out.append(f"{head}%ASA-6-302013: Built outbound {r['proto'].upper()} connection {cid} {ends}")
        if r["proto"] == "icmp":
            out.append(f"{head}%ASA-6-302021: Teardown ICMP connection for faddr {r['id.resp_h']}/0 gaddr {r['id.orig_h']}/{i % 65536} "
                       f"laddr {r['id.orig_h']}/{i % 65536} type {r['id.orig_p']} code {r['id.resp_p']}")
        if r["proto"] not in ("tcp", "udp"):
            continue
        d = int(float(r["duration"] or 0))
        size = _n(r["orig_bytes"]) + _n(r["resp_bytes"])
        end = f" {reasons.get(r['conn_state'] or '', 'Conn-timeout')} from inside" if r["proto"] == "tcp" else ""
        out.append(f"{head}%ASA-6-{302014 if r['proto'] == 'tcp' else 302016}: Teardown {r['proto'].upper()} connection {cid} {ends} "
                   f"duration {d // 3600}:{d // 60 % 60:02d}:{d % 60:02d} bytes {size}{end}")
    path.write_text("\n".join(out) + "\n")
    return path


# What a Firepower device's connection events name the application protocol, by Zeek's service.
FTD_APPS = {"dns": "DNS", "http": "HTTP", "ssl": "HTTPS", "dhcp": "DHCP", "irc": "IRC", "ssh": "SSH", "ntp": "NTP"}


def cisco_ftd(rows: list[dict], point: tuple, path: Path, teardowns: bool = False) -> Path:
    """A Firepower Threat Defense device's syslog with connection logging at both ends to syslog: per
    connection its start event (430002, no counts) and its end event (430003: packets and bytes both ways,
    duration, application); with `teardowns`, as a device that also sends ASA-style messages at level 6,
    the teardown (302014 TCP, 302016 UDP) of the same connection. One device per network (its UUID, syslog
    host, policies and zones), a connection id per connection."""
    a = point is POINTS["A"]
    host, uuid = ("ftd-lab", "0c1b3a8a-6f1e-11ea-9f3c-d1a2b3c4d5e6") if a else ("ftd-plant", "7d2e4b9c-1a2b-11e9-8c7d-a9b8c7d6e5f4")
    policy, zone = ("Lab Access Policy", "lab") if a else ("Plant Access Policy", "plant")
    out = []
    for i, r in enumerate(rows):
        ts = float(r["ts"])
        d = float(r["duration"] or 0.0)
        cid = (1 if a else 7) * 10**6 + i
        when = datetime.fromtimestamp(ts, timezone.utc)
        head = f"<113>{when:%b %d %Y %H:%M:%S} {host} : "
        common = (f"DeviceUUID: {uuid}, InstanceID: {1 + _hash(r['uid'], 4)}, FirstPacketSecond: {when:%Y-%m-%dT%H:%M:%SZ}, "
                  f"ConnectionID: {cid}, AccessControlRuleAction: Allow, SrcIP: {r['id.orig_h']}, DstIP: {r['id.resp_h']}, "
                  f"SrcPort: {r['id.orig_p']}, DstPort: {r['id.resp_p']}, Protocol: {r['proto']}, IngressInterface: inside, "
                  f"EgressInterface: outside, IngressZone: {zone}-inside, EgressZone: {zone}-outside, ACPolicy: {policy}, "
                  "AccessControlRuleName: Allow-Outbound, Prefilter Policy: Default Prefilter Policy, User: No Authentication Required, "
                  f"ApplicationProtocol: {FTD_APPS.get(r['service'] or '', '')}")
        out.append(f"{head}%FTD-6-430002: {common}, InitiatorPackets: 1, ResponderPackets: 0, InitiatorBytes: 0, ResponderBytes: 0, "
                   "NAPPolicy: Balanced Security and Connectivity")
        out.append(f"{head}%FTD-6-430003: {common}, ConnectionDuration: {int(d)}, InitiatorPackets: {_n(r['orig_pkts'])}, "
                   f"ResponderPackets: {_n(r['resp_pkts'])}, InitiatorBytes: {_n(r['orig_ip_bytes'])}, "
                   f"ResponderBytes: {_n(r['resp_ip_bytes'])}, NAPPolicy: Balanced Security and Connectivity")
        if teardowns and r["proto"] in ("tcp", "udp"):
            out.append(f"{head}%FTD-6-{302014 if r['proto'] == 'tcp' else 302016}: Teardown {r['proto'].upper()} connection {cid} "
                       f"for outside:{r['id.resp_h']}/{r['id.resp_p']} to inside:{r['id.orig_h']}/{r['id.orig_p']} "
                       f"duration {int(d) // 3600}:{int(d) // 60 % 60:02d}:{int(d) % 60:02d} bytes {_n(r['orig_bytes']) + _n(r['resp_bytes'])}")
    path.write_text("\n".join(out) + "\n")
    return path


# A Check Point gateway per network, and the names its logs give the services.
CHECKPOINT_GATEWAYS = {"A": ("gw-lab", "10.0.0.1"), "B": ("gw-plant", "172.16.0.1")}
CHECKPOINT_SERVICES = {"dns": "domain-udp", "http": "http", "ssl": "https", "dhcp": "bootp", "irc": "irc"}


def _checkpoint_service(r: dict) -> str:
    return CHECKPOINT_SERVICES.get(r["service"] or "", f"{r['proto']}-{r['id.resp_p']}" if r["proto"] != "icmp" else "icmp")


def cef(rows: list[dict], point: tuple, path: Path) -> Path:
    """A Check Point gateway's connection logs as its Log Exporter sends them in CEF (after a syslog header):
    one gateway per network (name, address, SIC name), the service in the header's Name, the bytes each
    way, a log id and sequence number per connection, and now and then a policy install, which is no flow."""
    gateway, address = CHECKPOINT_GATEWAYS["A" if point is POINTS["A"] else "B"]
    out = []
    for i, r in enumerate(rows):
        head = f"<134>{datetime.fromtimestamp(float(r['ts']), timezone.utc):%b %d %H:%M:%S} {gateway} "
        ports = f"spt={r['id.orig_p']} dpt={r['id.resp_p']} " if r["proto"] != "icmp" else ""
        out.append(f"{head}CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|{_checkpoint_service(r)}|Unknown|act=Accept deviceDirection=1 "
                   f"rt={int(float(r['ts']) * 1000)} {ports}src={r['id.orig_h']} dst={r['id.resp_h']} proto={PROTO.get(r['proto'], 0)} "
                   f"in={_n(r['resp_bytes'])} out={_n(r['orig_bytes'])} cs2Label=Rule Name cs2=IoT out ifname=eth1 "
                   f"loguid={{0x{_hash(r['uid'], 1 << 31):x},0x0,0x{_hash(gateway, 1 << 16):x},0x0}} origin={address} "
                   f"originsicname=CN\\=gw,O\\={gateway}.example sequencenum={i + 1} version=5")
        if i % 500 == 17:
            out.append(f"{head}CEF:0|Check Point|SmartConsole|Check Point|Log|Install policy|Low|msg=Policy installed on {gateway} rt={int(float(r['ts']) * 1000)}")
    path.write_text("\n".join(out) + "\n")
    return path


def checkpoint(rows: list[dict], point: tuple, path: Path) -> Path:
    """The same Check Point gateway's logs in its Log Exporter's default syslog format (`[key:"value"; ...]`
    after an RFC 5424 header): the gateway's name, address, SIC name and interface, a log id and sequence
    number per connection, the responder's port as `service` and its name as `service_id`."""
    gateway, address = CHECKPOINT_GATEWAYS["A" if point is POINTS["A"] else "B"]
    out = []
    for i, r in enumerate(rows):
        head = f"<134>1 {datetime.fromtimestamp(float(r['ts']), timezone.utc):%Y-%m-%dT%H:%M:%SZ} {gateway} CheckPoint {_hash(gateway, 9000) + 1000} - "
        fields = {"action": "Accept", "flags": "411908", "ifdir": "outbound", "ifname": "eth1", "logid": "0",
                  "loguid": f"{{0x{_hash(r['uid'], 1 << 31):x},0x0,0x{_hash(gateway, 1 << 16):x},0x0}}", "origin": address,
                  "originsicname": f"CN={gateway},O=mgmt.example", "sequencenum": str(i + 1), "time": str(int(float(r["ts"]))), "version": "5",
                  "dst": r["id.resp_h"], "inzone": "Internal", "outzone": "External", "product": "VPN-1 & FireWall-1",
                  "proto": str(PROTO.get(r["proto"], 0)), "src": r["id.orig_h"]}
        if r["proto"] != "icmp":
            fields.update(s_port=r["id.orig_p"], service=r["id.resp_p"])
        fields.update(service_id=_checkpoint_service(r), client_outbound_bytes=str(_n(r["orig_bytes"])),
                      server_outbound_bytes=str(_n(r["resp_bytes"])), rule_name="IoT out")
        out.append(head + "[" + "; ".join(f'{k}:"{v}"' for k, v in fields.items()) + "]")
        if i % 500 == 17:
            out.append(f'{head}[action:"Install"; origin:"{address}"; product:"SmartConsole"; version:"5"]')
    path.write_text("\n".join(out) + "\n")
    return path


def leef(rows: list[dict], point: tuple, path: Path) -> Path:
    """A firewall's connections as LEEF 1.0 events after a syslog header, with QRadar's standard keys and
    tabs between the attributes: one device per network (its name and address), the time as text with
    its format, now and then an admin's login, which is no flow."""
    device, address = ("ngfw-lab", "10.0.0.1") if point is POINTS["A"] else ("ngfw-plant", "172.16.0.1")
    out = []
    for i, r in enumerate(rows):
        t = datetime.fromtimestamp(float(r["ts"]), timezone.utc)
        head = f"<134>{t:%b %d %H:%M:%S} {device} LEEF:1.0|Acme|NGFW|7.2|{'traffic-end' if r['conn_state'] == 'SF' else 'traffic-timeout'}|"
        attrs = {"devTime": f"{t:%b %d %Y %H:%M:%S}", "devTimeFormat": "MMM dd yyyy HH:mm:ss", "src": r["id.orig_h"], "dst": r["id.resp_h"]}
        if r["proto"] != "icmp":
            attrs.update(srcPort=r["id.orig_p"], dstPort=r["id.resp_p"])
        attrs.update(proto=r["proto"].upper(), srcBytes=_n(r["orig_bytes"]), dstBytes=_n(r["resp_bytes"]), srcPackets=_n(r["orig_pkts"]),
                     dstPackets=_n(r["resp_pkts"]), policy="IoT out", dvc=address, dvchost=device, sev=1)
        out.append(head + "\t".join(f"{k}={v}" for k, v in attrs.items()))
        if i % 500 == 17:
            out.append(f"{head[: head.rindex('|', 0, -1)]}|login|usrName=admin\tsrc=10.9.9.9\tmsg=Admin login")
    path.write_text("\n".join(out) + "\n")
    return path


def _tcp_flag_bits(history: str | None) -> int:
    return sum(bit for letter, bit in zip("FSRPAU", (1, 2, 4, 8, 16, 32)) if letter in _tcp_flags(history))


def goflow2(rows: list[dict], point: tuple, path: Path) -> Path:
    router, (i_in, i_out), asn = point[1], point[2], point[5]
    with open(path, "w") as f:
        for i, r in enumerate(rows):
            ts = float(r["ts"])
            d = float(r["duration"] or 0.0)
            received = int((ts + d + 1.5) * 1e9)
            f.write(json.dumps({
                "type": "NETFLOW_V9", "time_received_ns": received, "sequence_num": 7000 + i // 20, "sampling_rate": 0,
                "sampler_address": router, "time_flow_start_ns": int(ts * 1e9), "time_flow_end_ns": int((ts + d) * 1e9),
                "bytes": _n(r["orig_ip_bytes"]) + _n(r["resp_ip_bytes"]), "packets": _n(r["orig_pkts"]) + _n(r["resp_pkts"]),
                "src_addr": r["id.orig_h"], "dst_addr": r["id.resp_h"], "etype": "IPv4", "proto": r["proto"].upper(),
                "src_port": int(r["id.orig_p"]), "dst_port": int(r["id.resp_p"]), "in_if": i_in, "out_if": i_out,
                "tcp_flags": _tcp_flag_bits(r["history"]) if r["proto"] == "tcp" else 0, "src_as": asn, "dst_as": asn + 1 + _hash(r["id.resp_h"], 3),
            }) + "\n")
    return path


def nprobe(rows: list[dict], point: tuple, path: Path) -> Path:
    """nProbe's JSON lines as it writes them without --json-labels: keyed by IPFIX element numbers, one
    direction's counts each way (1, 2 in; 23, 24 out), epoch seconds (22, 21), the router's interfaces (10,
    14) and address (130)."""
    router, (i_in, i_out) = point[1], point[2]
    with open(path, "w") as f:
        for r in rows:
            ts = float(r["ts"])
            d = float(r["duration"] or 0.0)
            f.write(json.dumps({
                "8": r["id.orig_h"], "12": r["id.resp_h"], "7": int(r["id.orig_p"]), "11": int(r["id.resp_p"]), "4": PROTO.get(r["proto"], 0),
                "1": _n(r["orig_ip_bytes"]), "2": _n(r["orig_pkts"]), "23": _n(r["resp_ip_bytes"]), "24": _n(r["resp_pkts"]),
                "6": _tcp_flag_bits(r["history"]) if r["proto"] == "tcp" else 0, "22": int(ts), "21": int(ts + d),
                "10": i_in, "14": i_out, "130": router,
            }) + "\n")
    return path


def pmacct(rows: list[dict], point: tuple, path: Path) -> Path:
    router, (i_in, i_out), asn = point[1], point[2], point[5]
    writer = f"default_kafka/{31000 + _hash(point[7], 9000)}"

    def when(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    out = []
    for i, r in enumerate(rows):
        ts = float(r["ts"])
        d = float(r["duration"] or 0.0)
        if i % 1000 == 0:
            out.append(json.dumps({"event_type": "purge_init", "writer_id": writer, "seq": i // 1000, "timestamp": when(ts)}))
        out.append(json.dumps({
            "event_type": "purge", "writer_id": writer, "peer_ip_src": router, "iface_in": i_in, "iface_out": i_out, "as_src": asn,
            "as_dst": asn + 1 + _hash(r["id.resp_h"], 3), "ip_src": r["id.orig_h"], "ip_dst": r["id.resp_h"], "port_src": int(r["id.orig_p"]),
            "port_dst": int(r["id.resp_p"]), "tcp_flags": str(_tcp_flag_bits(r["history"])) if r["proto"] == "tcp" else "0", "ip_proto": r["proto"],
            "tos": 0, "timestamp_start": when(ts), "timestamp_end": when(ts + d), "stamp_inserted": when(ts - ts % 300)[:19],
            "packets": _n(r["orig_pkts"]) + _n(r["resp_pkts"]), "bytes": _n(r["orig_ip_bytes"]) + _n(r["resp_ip_bytes"])}))
        if i % 1000 == 999 or i == len(rows) - 1:
            out.append(json.dumps({"event_type": "purge_close", "writer_id": writer, "seq": i // 1000, "purged_entries": i % 1000 + 1}))
    path.write_text("\n".join(out) + "\n")
    return path


JUNOS_SERVICE = {53: "junos-dns-udp", 80: "junos-http", 443: "junos-https", 123: "junos-ntp", 22: "junos-ssh"}


def srx(rows: list[dict], point: tuple, path: Path, plain: bool = False) -> Path:
    """A Juniper SRX's session log: each connection's open (RT_FLOW_SESSION_CREATE) and close
    (RT_FLOW_SESSION_CLOSE, with its counts), in its structured syslog (key=value pairs) or, with `plain`,
    in its default syslog format (fields by place, as Junos 12.1X47 and later write them)."""
    def when(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    host, iface = point[7].replace("sensor", "srx"), f"ge-0/0/{point[2][0]}.0"
    nat = "198.51.100.7" if point is POINTS["A"] else "203.0.113.9"
    out = []
    for i, r in enumerate(rows):
        ts = float(r["ts"])
        d = float(r["duration"] or 0.0)
        port = int(r["id.resp_p"])
        reason = {"SF": "TCP FIN", "S0": "idle Timeout", "REJ": "TCP RST", "RSTO": "TCP RST", "RSTR": "TCP RST"}.get(r["conn_state"], "unset")
        service, nat_port, proto, sid = JUNOS_SERVICE.get(port, "None"), 1024 + _hash(r["uid"], 60000), PROTO.get(r["proto"], 0), 40000 + i
        if plain:
            head = f"<14>{datetime.fromtimestamp(ts, timezone.utc):%b %d %H:%M:%S} {host} RT_FLOW: "
            ends = f"{r['id.orig_h']}/{r['id.orig_p']}->{r['id.resp_h']}/{port} 0x0 {service} {nat}/{nat_port}->{r['id.resp_h']}/{port} 0x0"
            rules = f"source rule-out N/A N/A {proto} allow-out trust untrust {sid}"
            out.append(f"{head}RT_FLOW_SESSION_CREATE: session created {ends} {rules} N/A(N/A) {iface} UNKNOWN")
            out.append(f"{head}RT_FLOW_SESSION_CLOSE: session closed {reason}: {ends} {rules} {_n(r['orig_pkts'])}({_n(r['orig_ip_bytes'])}) "
                       f"{_n(r['resp_pkts'])}({_n(r['resp_ip_bytes'])}) {int(d)} UNKNOWN UNKNOWN N/A(N/A) {iface} UNKNOWN")
            continue
        ends = (f'source-address="{r["id.orig_h"]}" source-port="{r["id.orig_p"]}" destination-address="{r["id.resp_h"]}" '
                f'destination-port="{port}" service-name="{service}" nat-source-address="{nat}" '
                f'nat-source-port="{nat_port}" protocol-id="{proto}" policy-name="allow-out" '
                f'source-zone-name="trust" destination-zone-name="untrust" session-id-32="{sid}"')
        out.append(f"<14>1 {when(ts)} {host} RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.26 {ends} "
                   f'packet-incoming-interface="{iface}"]')
        out.append(f'<14>1 {when(ts + d)} {host} RT_FLOW - RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.26 reason="{reason}" {ends} '
                   f'packets-from-client="{_n(r["orig_pkts"])}" bytes-from-client="{_n(r["orig_ip_bytes"])}" '
                   f'packets-from-server="{_n(r["resp_pkts"])}" bytes-from-server="{_n(r["resp_ip_bytes"])}" elapsed-time="{int(d)}" '
                   f'packet-incoming-interface="{iface}"]')
    path.write_text("\n".join(out) + "\n")
    return path


RWCUT_WIDTHS = {"sIP": 39, "dIP": 39, "sPort": 5, "dPort": 5, "pro": 3, "packets": 10, "bytes": 10, "flags": 8, "sTime": 23,
                "duration": 9, "eTime": 23, "sensor": 9}


def rwcut(rows: list[dict], point: tuple, path: Path) -> Path:
    sensor = point[7].replace("-", "")[:9]

    def when(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y/%m/%dT%H:%M:%S.%f")[:-3]

    def line(values: list) -> str:
        return "|".join(str(v).rjust(w) for v, w in zip(values, RWCUT_WIDTHS.values())) + "|"

    out = [line(list(RWCUT_WIDTHS))]
    for r in rows:
        ts = float(r["ts"])
        d = float(r["duration"] or 0.0)
        flags = _tcp_flags(r["history"]).replace(".", "") if r["proto"] == "tcp" else ""
        out.append(line([r["id.orig_h"], r["id.resp_h"], r["id.orig_p"], r["id.resp_p"], PROTO.get(r["proto"], 0),
                         _n(r["orig_pkts"]) + _n(r["resp_pkts"]), _n(r["orig_ip_bytes"]) + _n(r["resp_ip_bytes"]), flags, when(ts),
                         f"{d:.3f}", when(ts + d), sensor]))
    path.write_text("\n".join(out) + "\n")
    return path


FORMATS = {"zeek tsv": (zeek_policy, ".log"), "zeek tsv, policy fields and VLAN tags": (zeek_policy, ".log"),
           "nfdump csv": (nfdump, ".csv"), "elasticsearch export, JSON lines": (elastic, ".json"),
           "elasticsearch export, Kibana CSV": (elastic, ".csv"), "aws vpc flow logs": (vpc, ".log"),
           "google cloud vpc flow logs": (gcp, ".json"), "argus (CTU-13 binetflow)": (argus, ".binetflow"),
           "windows firewall log": (windows_firewall, ".log"), "azure nsg flow logs": (azure, ".json"),
           "fortigate traffic log, syslog key=value lines": (fortigate, ".log"),
           "sonicwall syslog, key=value lines": (sonicwall, ".log"),
           "palo alto traffic log, PAN-OS syslog": (panos, ".log"),
           "palo alto traffic log, web interface CSV export": (panos_export, ".csv"), "cisco asa syslog, connection teardowns": (cisco_asa, ".log"),
           "cisco firepower syslog, connection events": (cisco_ftd, ".log"),
           "cisco firepower syslog, connection events and asa teardowns": (partial(cisco_ftd, teardowns=True), ".log"),
           "check point logs in CEF": (cef, ".log"),
           "check point logs, log exporter syslog": (checkpoint, ".log"), "firewall logs in LEEF": (leef, ".log"),
           "goflow2 json lines (netflow v9)": (goflow2, ".json"), "pmacct json lines": (pmacct, ".json"), "nprobe json lines, element numbers": (nprobe, ".json"),
           "juniper srx structured syslog": (srx, ".log"), "juniper srx syslog, default format": (partial(srx, plain=True), ".log"), "silk rwcut, padded columns": (rwcut, ".txt")}


def run(folder: Path) -> list[dict]:
    from vaeguard.detector import Detector
    from vaeguard.pipeline import fit_file, score_table

    results = []
    for fmt, (write, suffix) in FORMATS.items():
        def written(capture: str, benign_only: bool) -> Path:
            name = f"{fmt.split(',')[0].replace(' ', '-')}-{capture}{'-benign' if benign_only else ''}{suffix}"
            path = folder / name
            if fmt == "zeek tsv":  # the reference: the capture's own log, and its benign rows
                return flows.zeek_benign(capture, folder) if benign_only else flows.IOT / f"conn{capture}.log"
            return write(connections(capture, benign_only), POINTS[flows.NETWORK[capture]], path)

        model = folder / f"model-{len(results)}"
        t0 = time.perf_counter()
        fit_file(str(written("44", True)), model, Detector(seed=0, device="cpu"))
        for b in ("34", "8"):
            scored, run_ = score_table(str(written(b, False)), model)
            y = flows.labels(b)
            flags = scored["is_anomaly"].to_numpy()
            top = Counter(name for feats in scored["top_features"][(y == 0) & (flags == 1)] for name in str(feats).split(";"))
            results.append({"format": fmt, "pair": flows.pair_name("44", b), "roc_auc": roc_auc_score(y, scored["anomaly_score"]),
                            "benign_flagged": float(flags[y == 0].mean()), "malicious_flagged": float(flags[y == 1].mean()),
                            "drift": bool(run_.drift.drift), "top": ", ".join(n for n, _ in top.most_common(3)), "seconds": time.perf_counter() - t0})
            print(f"  {fmt} {results[-1]['pair']}: ROC {results[-1]['roc_auc']:.3f} benign flagged {results[-1]['benign_flagged']:.1%}",
                  file=sys.stderr, flush=True)
    return results


def report(results: list[dict], elapsed: float) -> str:
    from quality import machine

    out = ["# Flow logs from other exporters: flagged for the traffic, not for where it was seen", "",
           f"Run {time.strftime('%Y-%m-%d %H:%M')} on {machine()}; {elapsed:.0f} s in all (`python benchmarks/exporters.py`).", "",
           "IoT-23 captures rewritten as each exporter writes the same flows (see the module's docstring), fitted on capture 44's "
           "benign rows with no options, scoring capture 34 (same network: same VLAN, router, index day, sensor and account) and "
           "capture 8 (another network: its own). \"top features\": the columns most often named in the flagged benign rows.", "",
           "| exporter | fit -> score | ROC-AUC | benign flagged | malicious flagged | drift warning | top features of flagged benign rows |",
           "|---|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r['format']} | {r['pair']} | {r['roc_auc']:.3f} | {r['benign_flagged']:.1%} | {r['malicious_flagged']:.1%} | "
                   f"{'yes' if r['drift'] else 'no'} | {r['top']} |")
    return "\n".join(out) + "\n"


def main() -> None:
    if not flows.IOT.exists():
        sys.exit(f"needs {flows.IOT} (the shared IoT-23 captures)")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = run(Path(tmp))
    text = report(results, time.perf_counter() - t0)
    (flows.RESULTS / "exporters.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
