"""Flow logs as sensors write them: Zeek's TSV logs and JSON lines (Zeek JSON, Suricata eve.json).

Zeek TSV is read by pyarrow's streaming CSV reader set up from the log's own header: its separator, `-`
(the unset field) as missing, names from `#fields`, types from `#types`. Lines that are not rows
(`#close`, the headers of further logs in a `zcat conn.*.log.gz` stream, a truncated last line, a field
count that does not match `#fields`) never reach the table: comment lines are passed over, the others
are counted and reported, or stop the run with --strict. Compared with the Zeek readers on PyPI this
streams in bounded memory at C speed (zat and zeeklog2pandas read whole files; parsezeeklogs is pure
Python, 25x slower) and needs no extra dependency. JSON lines go through pyarrow's JSON reader a chunk
at a time, with Python's json for the chunks Arrow would read differently (see `json_chunks`).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import pandas as pd

from .errors import InputError

if TYPE_CHECKING:
    from .sources import Source

# Zeek's conn.log fields and their Zeek types, for Zeek JSON (which carries no #types line).
ZEEK_CONN_TYPES = {
    "ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port", "id.resp_h": "addr", "id.resp_p": "port",
    "proto": "enum", "service": "string", "duration": "interval", "orig_bytes": "count", "resp_bytes": "count",
    "conn_state": "string", "local_orig": "bool", "local_resp": "bool", "missed_bytes": "count", "history": "string",
    "orig_pkts": "count", "orig_ip_bytes": "count", "resp_pkts": "count", "resp_ip_bytes": "count",
    "tunnel_parents": "set[string]", "ip_proto": "count", "community_id": "id", "orig_l2_addr": "id",
    "resp_l2_addr": "id", "vlan": "int", "inner_vlan": "int",
    # What log shippers add to Zeek JSON (Corelight, Security Onion): the log's name, the sensor's, when written.
    "_path": "sensor", "_system_name": "sensor", "_node": "sensor", "_write_ts": "time",
}
# Suricata eve.json flow events, flattened with '.'.
EVE_FLOW_TYPES = {
    "timestamp": "time", "flow_id": "id", "community_id": "id", "parent_id": "id", "pcap_cnt": "id",
    "src_ip": "addr", "dest_ip": "addr", "src_port": "port", "dest_port": "port",
    "proto": "enum", "app_proto": "string", "event_type": "string",
    "flow.pkts_toserver": "count", "flow.pkts_toclient": "count", "flow.bytes_toserver": "count",
    "flow.bytes_toclient": "count", "flow.start": "time", "flow.end": "time", "flow.age": "interval",
    "flow.state": "string", "flow.alerted": "bool",
    "netflow.pkts": "count", "netflow.bytes": "count", "netflow.start": "time", "netflow.end": "time", "netflow.age": "interval",
    "icmp_type": "enum", "icmp_code": "enum", "response_icmp_type": "enum", "response_icmp_code": "enum",
    # Which sensor, interface or capture file wrote the record, and why then (idle timeout, a forced flush,
    # the engine stopping): the same flow reads differently on another sensor or at shutdown.
    "host": "sensor", "in_iface": "sensor", "capture_file": "sensor", "pcap_filename": "sensor", "flow.reason": "sensor",
}
# nfdump's CSV output (`nfdump -o csv`: NetFlow and IPFIX records as a collector stores them), by its own
# short names. Besides the flow it names the exporter that saw it: the router (ra), its interfaces (in, out),
# engine and exporter ids, the addresses' routing (AS numbers, prefix lengths, next hops, MPLS labels). One
# router's constants, so every flow another router exported would hold values training never held.
NFDUMP_TYPES = {
    "ts": "time", "te": "time", "tr": "time", "td": "interval", "sa": "addr", "da": "addr", "sp": "port", "dp": "port",
    "ipkt": "count", "ibyt": "count", "opkt": "count", "obyt": "count", "cl": "interval", "sl": "interval", "al": "interval",
    "in": "sensor", "out": "sensor", "eng": "sensor", "exid": "sensor", "ra": "addr", "nh": "addr", "nhb": "addr",
    "sas": "route", "das": "route", "smk": "route", "dmk": "route", **{f"mpls{i}": "route" for i in range(1, 11)},
}
# The names that tell nfdump's CSV from any other table's (its other names are as short and as plain).
NFDUMP_CORE = {"ts", "te", "td", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt"}
# AWS VPC Flow Logs (space-separated text, or Parquet, or queried with '_' for '-'): besides the flow, where
# in the cloud it was captured, the account, network interface, VPC, subnet, instance, region and zone.
VPC_FLOW_TYPES = {
    "srcaddr": "addr", "dstaddr": "addr", "pkt-srcaddr": "addr", "pkt-dstaddr": "addr", "srcport": "port", "dstport": "port",
    "packets": "count", "bytes": "count", "start": "time", "end": "time",
    **dict.fromkeys(("account-id", "interface-id", "vpc-id", "subnet-id", "instance-id", "region", "az-id", "sublocation-type",
                     "sublocation-id", "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
                     "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn",
                     "ecs-task-id"), "cloud"),
}
VPC_FLOW_CORE = {"srcaddr", "dstaddr", "srcport", "dstport", "packets", "bytes"}
# Delivered to CloudWatch Logs (and exported from there), VPC Flow Logs have no header line: a record in the
# default format (version 2) is known by its place-named fields, and they are its names. A custom format
# without its header cannot be named: its first line is taken for the header, as in any CSV.
VPC_DEFAULT_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets",
                      "bytes", "start", "end", "action", "log-status")
_VPC_DEFAULT_RECORD = re.compile(r"2 (?:\d{12}|-|unknown) (?:eni-[0-9a-f]+|-)(?: \S+){7} \d+ \d+ (?:ACCEPT|REJECT|-) (?:OK|NODATA|SKIPDATA)")


def looks_vpc_default(text: str) -> bool:
    """Whether the peeked lines are AWS VPC Flow Log records in the default format, with no header line."""
    return _most_lines(text, lambda line: _VPC_DEFAULT_RECORD.fullmatch(line.strip()))


def vpc_default_line(line: str) -> str | None:
    """A headerless VPC Flow Log record as a CSV row of the default format's fields (None: not such a record)."""
    fields = line.split()
    return ",".join(fields) if len(fields) == len(VPC_DEFAULT_FIELDS) else None


# Google Cloud VPC Flow Logs, exported from Cloud Logging as JSON (nested keys flattened with '.'): where in
# the cloud each end sits (project, VPC, subnet, VM, region, zone) and, for an outside end, its country,
# city and AS; the log entry's own name, id, resource and receive time.
GCP_FLOW_CORE = "jsonPayload.connection.src_ip"
GCP_CLOUD_PARTS = ("jsonPayload.src_instance.", "jsonPayload.dest_instance.", "jsonPayload.src_vpc.", "jsonPayload.dest_vpc.",
                   "jsonPayload.src_gke_details.", "jsonPayload.dest_gke_details.", "jsonPayload.src_google_service.",
                   "jsonPayload.dest_google_service.", "resource.", "logName", "labels.")
GCP_ROUTE_PARTS = ("jsonPayload.src_location.", "jsonPayload.dest_location.")
GCP_TYPES = {"jsonPayload.connection.src_ip": "addr", "jsonPayload.connection.dest_ip": "addr", "jsonPayload.connection.src_port": "port",
             "jsonPayload.connection.dest_port": "port", "jsonPayload.bytes_sent": "count", "jsonPayload.packets_sent": "count",
             "jsonPayload.start_time": "time", "jsonPayload.end_time": "time", "timestamp": "time", "receiveTimestamp": "time",
             "insertId": "id"}

# Azure NSG flow logs (PT1H.json, version 1 or 2) and their successor, VNet flow logs: one JSON document
# per hour and NSG or NIC, {"records": [...]}, each record's flows nested by rule and NIC, each flow a
# comma-joined tuple. Read as one row per tuple (see azure_flow_rows): the tuple's fields by these names,
# beside the record's time, resource, rule and NIC. Version 1 tuples stop after the decision; a flow's
# first tuple (state B) leaves its counts empty.
AZURE_NSG_TUPLE = ("ts", "src_ip", "dest_ip", "src_port", "dest_port", "protocol", "direction", "decision", "state",
                   "packets_src_to_dest", "bytes_src_to_dest", "packets_dest_to_src", "bytes_dest_to_src")
AZURE_VNET_TUPLE = ("ts", "src_ip", "dest_ip", "src_port", "dest_port", "protocol", "direction", "state", "encryption",
                    "packets_src_to_dest", "bytes_src_to_dest", "packets_dest_to_src", "bytes_dest_to_src")
_AZURE_NUMBERS = {"ts", "src_port", "dest_port", "packets_src_to_dest", "bytes_src_to_dest", "packets_dest_to_src", "bytes_dest_to_src"}
AZURE_TYPES = {"time": "time", "ts": "time", "src_ip": "addr", "dest_ip": "addr", "src_port": "port", "dest_port": "port",
               "protocol": "enum", "direction": "enum", "decision": "enum", "state": "enum", "encryption": "enum",
               "packets_src_to_dest": "count", "bytes_src_to_dest": "count", "packets_dest_to_src": "count", "bytes_dest_to_src": "count",
               # Where the flow was seen: the NSG or NIC's resource, the NIC's MAC, the ACL's id.
               "resourceId": "cloud", "flowLogResourceID": "cloud", "targetResourceID": "cloud", "mac": "cloud", "macAddress": "cloud",
               "aclID": "cloud", "rule": "string"}

# Firewall logs written as key=value pairs (FortiGate, and the syslog of many others: `date=2026-12-01
# time=10:15:03 srcip=10.0.1.20 srcport=52344 ... sentbyte=2345`), a syslog header before the pairs or
# not. A value is quoted when it may hold spaces; unquoted digits are numbers, quoted ones stay text
# (logid="0000000013" keeps its zeros).
KV_PAIR = re.compile(r'([A-Za-z_][\w.-]*)=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)')
KV_MIN_PAIRS = 4
# Pairs separated by `|` instead (Check Point's Log Exporter in its Splunk format: `time=1557767758|hostname=r80|
# ...|src=10.0.0.5|`): a value runs up to the next `|` and may hold spaces; `\=` and `\|` escape.
KV_PIPED = re.compile(r"(?:^|[|\s])([A-Za-z_][\w.-]*)=((?:[^|\\]|\\.)*)")
_PIPE_KEY = re.compile(r"\|[A-Za-z_][\w.-]*=")
_PIPE_ESCAPES = re.compile(r"\\([\\=|])")


def _json_text(value: str) -> str:
    # A quote, an escape or a control character: json writes it; anything else goes in as it is.
    return json.dumps(value) if '"' in value or "\\" in value or not value.isprintable() else f'"{value}"'


def key_values(line: str) -> str | None:
    """A line's key=value pairs as a JSON record (None when it holds fewer than KV_MIN_PAIRS: not such a
    line). Whatever stands before the first pair (a syslog priority, time and host) is left out. Written
    as JSON text straight from the pairs: a dict and json.dumps per line took twice as long."""
    if _piped(line):
        pairs = {}
        for key, value in KV_PIPED.findall(line):
            pairs.setdefault(key, _PIPE_ESCAPES.sub(r"\1", value).strip())  # a key written twice (Check Point's time): the first
        return "{" + ",".join(f'"{key}":{_json_value(value)}' for key, value in pairs.items()) + "}"
    pairs = KV_PAIR.findall(line)
    if len(pairs) < KV_MIN_PAIRS:
        return None
    if "logid=" in line and not _fortigate_traffic(next((value for key, value in pairs if key == "type"), None)):
        return ""
    if "[junos@" in line and not _junos_flow(line):
        return ""
    if " m=" in line and "sn=" in line:
        pairs = _sonicwall(pairs)
        if not pairs:
            return ""
    out = []
    for key, value in pairs:
        if value[:1] == '"':
            value = value[1:-1].replace('\\"', '"')
            out.append(f'"{key}":{_json_text(value) if value else "null"}')
        else:
            out.append(f'"{key}":{_json_value(value)}')
    return "{" + ",".join(out) + "}"


# SonicWall's syslog (SonicOS's default format) logs a connection when it opens (m=98, nothing back yet) and
# when it closes (m=537 "Connection Closed": bytes, packets and duration both ways), among web site hits
# (m=97, the same connections again) and every other event: only the close is a flow. Its Syslog ID (`id=`)
# may be set to anything; the serial, firewall address, priority and message id are always there. Each end
# is written whole, address, port and interface (and the host's name where the firewall resolved it):
# `src=10.0.0.5:51234:X0 dst=93.184.216.34:443:X1-V20`, split here into src, src_port and src_interface (the
# name, like the address, only identifies); so are the ends after NAT (natSrc, natDst). `app` numbers an
# application: a label, read as text, and left out where appName names the same application (both in the
# model weighed one label twice: IoT-23 44 -> 34 as a SonicWall log, ROC-AUC 0.911 with both, 0.975 with one).
_SONICWALL_KEYS = {"sn", "fw", "pri", "m"}
_SONICWALL_ENDS = {"src", "dst", "natSrc", "natDst"}
_SONICWALL_END = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):(\d+)(?::([^:]*))?")
SONICWALL_TYPES = {
    "id": "sensor", "sn": "sensor", "fw": "addr", "n": "id", "time": "time", "sent": "count", "rcvd": "count", "spkt": "count",
    "rpkt": "count", "cdur": "interval",
    **{f"{end}{part}": kind for end in _SONICWALL_ENDS for part, kind in (("", "addr"), ("_port", "port"), ("_interface", "sensor"))},
}


def _sonicwall_hints(names: set[str]) -> dict[str, str]:
    hints = _picked(SONICWALL_TYPES)(names)
    if "appName" in names:  # app numbers what appName names: one label, counted once
        hints["app"] = "copy"
    return hints


def _sonicwall(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A SonicWall record's pairs with each end split into address, port and interface; [] for a message that
    is no connection's close. Another device's pairs are returned as they are."""
    values = dict(pairs)
    if not _SONICWALL_KEYS <= values.keys():
        return pairs
    if values["m"] != "537":
        return []
    out = []
    for key, value in pairs:
        end = _SONICWALL_END.match(value) if key in _SONICWALL_ENDS else None
        if end is not None:
            address, port, interface = end.groups()
            out += [(key, address), (f"{key}_port", port), (f"{key}_interface", interface or "")]
        else:
            out.append((key, f'"{value}"' if key == "app" and value.isdigit() else value))
    return out


def _fortigate_traffic(log_type: str | None) -> bool:
    """Whether a FortiGate record is a flow, by its log type: `type` in its key=value log ("traffic", "event",
    "utm"), `cat` in its CEF ("traffic:forward", "event:system", "utm:ips", "anomaly:anomaly"). FortiGate sends
    its traffic logs in one stream with its event logs (system, VPN, admin logins, SD-WAN health checks) and
    its UTM and anomaly logs (IPS, antivirus, web filter), some of which name both ends of a connection too;
    only a traffic log is a flow. A record with no type is left as it is (another device's line)."""
    return log_type is None or log_type.strip('" ').lower().split(":", 1)[0] == "traffic"


# Juniper SRX's structured syslog (`RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.26 source-address="10.0.0.5"
# ... bytes-from-client="1024" ...]`) logs a session when it opens (RT_FLOW_SESSION_CREATE: no counts yet) and
# when it closes (RT_FLOW_SESSION_CLOSE: its packets, bytes and elapsed time), and sends denials, AppTrack,
# IDP and screen events in the same stream. Only the close is a flow: one row per session.
_JUNOS_TAG = re.compile(r"\b([A-Z][A-Z0-9_]+) \[junos@")


def _junos_flow(line: str) -> bool:
    tag = _JUNOS_TAG.search(line)
    return tag is None or tag.group(1) == "RT_FLOW_SESSION_CLOSE"


# The same session close in the SRX's default syslog format (not structured): `RT_FLOW_SESSION_CLOSE: session
# closed TCP FIN: 10.0.0.5/51234->93.184.216.34/443 0x0 junos-https 198.51.100.7/40001->93.184.216.34/443 0x0
# N/A N/A N/A N/A 6 allow-out trust untrust 40012 12(1520) 10(9876) 5 HTTPS UNKNOWN N/A N/A ge-0/0/1.0 No ...`:
# fields by place, named as the structured format names them. Junos releases differ in what stands between
# the address pairs and the protocol (connection tags `0x0`, two or four NAT rule fields) and in what follows
# the elapsed time (application, nested application, user, roles, interface, ...): the fields are found from
# both ends of that run, "protocol policy zone zone session packets(bytes) packets(bytes) elapsed".
JUNOS_MESSAGE = re.compile(r"\bRT_[A-Z0-9_]+: ")
JUNOS_CLOSE = re.compile(
    r"\bRT_FLOW_SESSION_CLOSE(?:_LS)?: session closed (.*?): (\S+)/(\d+)->(\S+)/(\d+) (?:0x\w+ )?(\S+) (\S+)/(\d+)->(\S+)/(\d+) "
    r"(?:\S+ )*?(\d+) (\S+) (\S+) (\S+) (\d+) (\d+)\((\d+)\) (\d+)\((\d+)\) (\d+)(?: (\S+) (\S+))?")
JUNOS_CLOSE_FIELDS = ("reason", "source-address", "source-port", "destination-address", "destination-port", "service-name",
                      "nat-source-address", "nat-source-port", "nat-destination-address", "nat-destination-port", "protocol-id",
                      "policy-name", "source-zone-name", "destination-zone-name", "session-id-32", "packets-from-client",
                      "bytes-from-client", "packets-from-server", "bytes-from-server", "elapsed-time", "application",
                      "nested-application")

# Both formats' fields, typed (the structured syslog quotes every value, numbers too).
JUNOS_TYPES = {
    "syslog_header": "sensor", "packet-incoming-interface": "sensor", "session-id-32": "id", "session-id": "id",
    **dict.fromkeys(("source-address", "destination-address", "nat-source-address", "nat-destination-address"), "addr"),
    **dict.fromkeys(("source-port", "destination-port", "nat-source-port", "nat-destination-port"), "port"),
    **dict.fromkeys(("packets-from-client", "bytes-from-client", "packets-from-server", "bytes-from-server"), "count"),
    "elapsed-time": "interval",
}


def junos_record(line: str) -> str | None:
    """A Juniper SRX session close in its default syslog format as a JSON record, named as its structured
    syslog names the same fields; "" for its other messages (session opens and denials, IDP, screen and
    AppTrack events: not flows), None for a line that is no such message. What stands before the message
    tag (the syslog priority, time and host) is kept whole as `syslog_header`."""
    m = JUNOS_CLOSE.search(line)
    if m is None:
        return "" if JUNOS_MESSAGE.search(line) else None
    fields = [f'"{key}":{_json_value(value) if value is not None else "null"}' for key, value in zip(JUNOS_CLOSE_FIELDS, m.groups())]
    return "{" + ",".join([f'"syslog_header":{_syslog_header(line, m.start())}', *fields]) + "}"


def looks_junos(text: str) -> bool:
    """Whether the peeked lines are a Juniper SRX's syslog in its default format (RT_FLOW_SESSION_CLOSE: ...)."""
    return _most_lines(text, JUNOS_MESSAGE.search)


def _header_before(line: str, start: int) -> str:
    """What stands before a device's message (the syslog priority, time and host), without its closing colon."""
    return line[:start].strip().rstrip(":").strip()


def _syslog_header(line: str, start: int) -> str:
    """That header as JSON text: null where there is none."""
    header = _header_before(line, start)
    return _json_text(header) if header else "null"


def _piped(line: str) -> bool:
    return "|" in line and len(_PIPE_KEY.findall(line)) >= KV_MIN_PAIRS - 1


def _json_value(value: str) -> str:
    """An unquoted value as JSON: a number where it is one, null where it is empty or N/A, text otherwise."""
    if not value or value == "N/A":
        return "null"
    if (value.isdigit() or value[0] == "-" and value[1:].isdigit()) and len(value) < 19:
        return str(int(value))  # int64; a longer run of digits (nanoseconds) stays text
    if "." in value and value.replace(".", "", 1).lstrip("-").isdigit() and value[-1] != ".":
        return repr(float(value))
    return _json_text(value)


def _most_lines(text: str, test) -> bool:
    """Whether the first whole peeked line and four in five of the first twenty pass `test`: a log of such
    lines, whose others are malformed lines, counted as the file is read."""
    lines = [line for line in text.splitlines()[:21] if line.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last peeked line may be cut
    return bool(lines) and bool(test(lines[0])) and sum(bool(test(line)) for line in lines) >= 0.8 * len(lines)


def looks_key_value(text: str) -> bool:
    """Whether the peeked lines are key=value records: lines that hold enough pairs, which cover most of the
    line (a CSV row of 'a=b' cells does not)."""
    def record(line: str) -> bool:
        if _piped(line):
            return True
        pairs = KV_PAIR.findall(line)
        return len(pairs) >= KV_MIN_PAIRS and sum(len(k) + len(v) + 1 for k, v in pairs) >= 0.6 * len(line.strip())

    return _most_lines(text, record)


# ArcSight's Common Event Format, in which many firewalls and log exporters send their logs to a SIEM (Check
# Point's Log Exporter, FortiGate, Palo Alto's CEF profile, Cisco Firepower, Sophos): `CEF:0|Vendor|Product|
# Version|Signature ID|Name|Severity|` and then key=value pairs whose values run up to the next key, spaces
# and all (`msg=Connection accepted`); `\=` and `\\` escape in a value, `\|` in the header. FortiGate writes
# `CEF: 0|`, a space before the version.
CEF_START = re.compile(r"CEF: ?\d+\|")
CEF_HEADER = ("cef_version", "device_vendor", "device_product", "device_version", "signature_id", "name", "severity")
_CEF_PIPE = re.compile(r"(?<!\\)\|")
_CEF_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z_][\w.\[\]-]*)=")
_CEF_ESCAPES = re.compile(r"\\([\\=|nr])")
# A connection's two ends, by CEF's short key or its full name: an event without them (a policy install,
# an admin's login, a license notice) is not a flow.
CEF_ENDS = (("src", "sourceAddress", "c6a2"), ("dst", "destinationAddress", "c6a3"))
CEF_CORE = {"cef_version", "device_vendor", "device_product", "signature_id", "severity"}
CEF_TYPES = {
    # Which device wrote the event, its software, and where it saw the flow.
    **dict.fromkeys(("syslog_header", "cef_version", "device_vendor", "device_product", "device_version", "dvc", "deviceAddress",
                     "dvchost", "deviceHostName", "deviceExternalId", "dvcmac", "deviceMacAddress", "deviceInboundInterface",
                     "deviceOutboundInterface", "dvcpid", "deviceProcessId", "deviceProcessName", "deviceFacility", "dtz",
                     "deviceTimeZone", "origin", "originsicname"), "sensor"),
    **dict.fromkeys(("src", "dst", "sourceAddress", "destinationAddress", "sourceTranslatedAddress", "destinationTranslatedAddress",
                     "c6a1", "c6a2", "c6a3", "c6a4"), "addr"),
    **dict.fromkeys(("spt", "dpt", "sourcePort", "destinationPort", "sourceTranslatedPort", "destinationTranslatedPort"), "port"),
    **dict.fromkeys(("in", "out", "bytesIn", "bytesOut", "cnt", "baseEventCount"), "count"),
    **dict.fromkeys(("rt", "start", "end", "art", "receiptTime", "startTime", "endTime", "deviceReceiptTime", "agentReceiptTime"), "time"),
    **dict.fromkeys(("externalId", "eventId", "loguid", "sequencenum"), "id"),
}


def cef_record(line: str) -> str | None:
    """A CEF event as a JSON record: its header's seven fields by name, then its extension's pairs; "" for an
    event that names no connection's two ends (not a flow), None for a line that is no CEF event. What stands
    before `CEF:` (a syslog priority, time and host) is kept whole as `syslog_header`."""
    m = CEF_START.search(line)
    if m is None:
        return None
    parts = _CEF_PIPE.split(line[m.start() + 4 :].rstrip("\r\n"), maxsplit=7)
    if len(parts) < 8:
        return None
    pairs = _spaced_pairs(parts[7])
    if not _names_both_ends(pairs, CEF_ENDS) or ("FTNTFGTlogid" in pairs and not _fortigate_traffic(pairs.get("cat"))):
        return ""
    return _event_record({"syslog_header": line[: m.start()], **dict(zip(CEF_HEADER, parts[:7]))}, pairs, _cef_unescape)


def _event_record(header: dict[str, str], pairs: dict[str, str], unescape=lambda v: v) -> str:
    """A CEF or LEEF event's header fields and attributes as one JSON record. The header's fields are labels,
    text however they read (a version 1.0, a signature id 100); an attribute is a number where it reads as one."""
    fields = [f'"{key}":{_json_text(unescape(value).strip()) if value.strip() else "null"}' for key, value in header.items()]
    fields += [f'"{key}":{_json_value(unescape(value))}' for key, value in pairs.items()]  # a key is letters, digits and ._-[]
    return "{" + ",".join(fields) + "}"


def _names_both_ends(pairs: dict[str, str], ends) -> bool:
    """Whether an event's pairs set a value for each end of a connection (`ends`: the names each end goes by)."""
    return all(any(pairs.get(k) for k in names) for names in ends)


def _spaced_pairs(text: str) -> dict[str, str]:
    """key=value pairs separated by spaces, each value running up to the next key."""
    cut = _CEF_KEY.split(text)  # [text before the first key, key, value, key, value, ...]
    return dict(zip(cut[1::2], (v.strip() for v in cut[2::2])))


def _cef_unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _CEF_ESCAPES.sub(lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value)


def looks_cef(text: str) -> bool:
    """Whether the peeked lines are CEF events: lines that hold `CEF:<version>|`."""
    return _most_lines(text, CEF_START.search)


# IBM QRadar's Log Event Extended Format, the other format firewalls send to a SIEM: `LEEF:1.0|Vendor|
# Product|Version|EventID|` and attributes separated by tabs; LEEF 2.0 names its own separator in a sixth
# header field (`^`, or a hex code such as `0x5E`). Some devices separate them by `|` or spaces instead.
LEEF_START = re.compile(r"LEEF:(\d+)(?:\.\d+)?\|")
LEEF_HEADER = ("leef_version", "device_vendor", "device_product", "device_version", "event_id")
LEEF_ENDS = (("src", "srcPreNAT", "srcPostNAT"), ("dst", "dstPreNAT", "dstPostNAT"))
LEEF_CORE = {"leef_version", "device_vendor", "device_product", "event_id"}
LEEF_TYPES = {
    **dict.fromkeys(("syslog_header", "leef_version", "device_vendor", "device_product", "device_version", "devTimeFormat", "dvc",
                     "dvchost", "dvcmac", "deviceGUID", "identHostName"), "sensor"),
    **dict.fromkeys(("src", "dst", "srcPreNAT", "dstPreNAT", "srcPostNAT", "dstPostNAT", "identSrc", "srcMAC", "dstMAC"), "addr"),
    **dict.fromkeys(("srcPort", "dstPort", "srcPreNATPort", "dstPreNATPort", "srcPostNATPort", "dstPostNATPort"), "port"),
    **dict.fromkeys(("srcBytes", "dstBytes", "totalBytes", "srcPackets", "dstPackets", "totalPackets"), "count"),
    "devTime": "time",
    # Devices that write LEEF with CEF's keys (spt, dpt, in, out, rt, dvchost...).
    **{k: v for k, v in CEF_TYPES.items() if k not in CEF_HEADER},
}


def leef_record(line: str) -> str | None:
    """A LEEF event as a JSON record: its header's fields by name, then its attributes; "" for an event that
    names no connection's two ends (not a flow), None for a line that is no LEEF event. What stands before
    `LEEF:` is kept whole as `syslog_header`."""
    m = LEEF_START.search(line)
    if m is None:
        return None
    parts = line[m.start() + 5 :].rstrip("\r\n").split("|", 5)
    if len(parts) < 6:
        return None
    text, sep = parts[5], None
    if m.group(1) != "1":
        named, bar, after = text.partition("|")
        if bar and "=" not in named:  # LEEF 2.0's separator field (it may be left out: tab)
            text = after
            try:
                sep = chr(int(named.lstrip("0").lstrip("xX") or "9", 16)) if len(named) > 1 else named or "\t"
            except ValueError:
                return None
    if sep is None or sep not in text:
        # A tab as the standard says; else `|` or `^` where one stands before a key; else spaces.
        sep = "\t" if "\t" in text else next((c for c in "|^" if re.search(re.escape(c) + r"[A-Za-z_][\w.\[\]-]*=", text)), None)
    if sep is None:
        pairs = _spaced_pairs(text)
    else:
        pairs = {key.strip(): value.strip() for key, eq, value in (a.partition("=") for a in text.split(sep)) if eq and key.strip()}
    if not _names_both_ends(pairs, LEEF_ENDS):
        return ""
    return _event_record({"syslog_header": line[: m.start()], **dict(zip(LEEF_HEADER, parts[:5]))}, pairs)


def looks_leef(text: str) -> bool:
    """Whether the peeked lines are LEEF events: lines that hold `LEEF:<version>|`."""
    return _most_lines(text, LEEF_START.search)


# Check Point's Log Exporter in its default syslog format (its Splunk format, `key=value|...`, is read as
# key=value lines, and its names type the same): after the syslog header, the log's fields as
# `[key:"value"; key:"value"; ...]` (`<134>1 2026-12-01T10:15:03Z gw-lab CheckPoint 2222 - [action:"Accept";
# ... src:"10.0.1.20"; s_port:"51234"; dst:"93.184.216.34"; service:"443"; service_id:"https"; ...]`).
# `service` is the responder's port, `service_id` its name; the gateway's connection logs name both ends.
CHECKPOINT_PAIR = re.compile(r'(?:^|[\[;]\s*)([A-Za-z_][\w.-]*):"((?:[^"\\]|\\.)*)"')
CHECKPOINT_START = re.compile(r'\[[A-Za-z_][\w.-]*:"')
CHECKPOINT_CORE = {"loguid", "origin", "src", "dst", "service"}
CHECKPOINT_TYPES = {
    "time": "time", "start_time": "time", "last_update_time": "time", "src": "addr", "dst": "addr", "xlatesrc": "addr", "xlatedst": "addr",
    "s_port": "port", "service": "port", "xlatesport": "port", "xlatedport": "port",
    **dict.fromkeys(("client_inbound_bytes", "client_outbound_bytes", "server_inbound_bytes", "server_outbound_bytes", "bytes",
                     "sent_bytes", "received_bytes", "client_inbound_packets", "client_outbound_packets", "server_inbound_packets",
                     "server_outbound_packets", "packets"), "count"),
    **dict.fromkeys(("loguid", "sequencenum", "logid", "session_uid", "session_id", "id_generated_by_indexer"), "id"),
    # The gateway and its management: who logged, through which interface, under which policy install.
    **dict.fromkeys(("syslog_header", "hostname", "origin", "originsicname", "ifname", "version", "flags", "layer_uuid", "rule_uid",
                     "__policy_id_tag", "db_tag", "hll_key", "policy_mgmt", "product_family"), "sensor"),
}


def checkpoint_record(line: str) -> str | None:
    """A Check Point log (its Log Exporter's syslog format) as a JSON record; "" for a log that names no
    connection's two ends (a policy install, a log server's own notices: not flows), None for a line that
    is no such log. The syslog header before the fields is kept whole as `syslog_header`."""
    m = CHECKPOINT_START.search(line)
    if m is None:
        return None
    pairs = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in CHECKPOINT_PAIR.findall(line[m.start() :])}
    if not _names_both_ends(pairs, (("src",), ("dst",))):
        return ""
    return _event_record({"syslog_header": line[: m.start()]}, pairs)


def looks_checkpoint(text: str) -> bool:
    """Whether the peeked lines are Check Point logs in its syslog format: a `[key:"value"; ...` list."""
    return _most_lines(text, lambda line: CHECKPOINT_START.search(line) and len(CHECKPOINT_PAIR.findall(line)) >= KV_MIN_PAIRS)


# FortiGate's traffic log (FortiOS 6-7), by its field names: when and where (the device, its time zone,
# virtual domain and interfaces, its UUIDs of the policy and address objects, the addresses' countries)
# beside the flow itself.
FORTIGATE_CORE = {"srcip", "dstip", "srcport", "dstport", "sentbyte", "rcvdbyte"}
FORTIGATE_TYPES = {"date": "time", "time": "time", "eventtime": "time", "tz": "sensor", "srcip": "addr", "dstip": "addr",
                   "transip": "addr", "tranip": "addr", "srcport": "port", "dstport": "port", "transport": "port", "tranport": "port",
                   "sentbyte": "count", "rcvdbyte": "count", "sentpkt": "count", "rcvdpkt": "count", "duration": "interval",
                   "sessionid": "id", "poluuid": "sensor", "srcuuid": "sensor", "dstuuid": "sensor", "proto": "enum",
                   "devname": "sensor", "devid": "sensor", "vd": "sensor", "srcintf": "sensor", "dstintf": "sensor",
                   "srccountry": "route", "dstcountry": "route", "srcregion": "route", "dstregion": "route", "srccity": "route", "dstcity": "route"}


# Palo Alto Networks firewalls (PAN-OS 8-11) send their logs over syslog as CSV lines without a header, a
# collector's syslog header before them or not: `<14>Dec  1 10:15:03 PA-3220 1,2026/12/01 10:15:03,0132...,
# TRAFFIC,end,...`. A traffic log's fields in PAN-OS's order (its syslog field descriptions), by PAN-OS's own
# names for them; later releases append fields, named field_N past these. FUTURE_USE fields are reserved.
PANOS_TRAFFIC_FIELDS = (
    "future_use_1", "receive_time", "serial", "type", "subtype", "future_use_2", "time_generated", "src", "dst", "natsrc", "natdst",
    "rule", "srcuser", "dstuser", "app", "vsys", "from", "to", "inbound_if", "outbound_if", "logset", "future_use_3", "sessionid",
    "repeatcnt", "sport", "dport", "natsport", "natdport", "flags", "proto", "action", "bytes", "bytes_sent", "bytes_received",
    "packets", "start", "elapsed", "category", "future_use_4", "seqno", "actionflags", "srcloc", "dstloc", "future_use_5",
    "pkts_sent", "pkts_received", "session_end_reason", "dg_hier_level_1", "dg_hier_level_2", "dg_hier_level_3", "dg_hier_level_4",
    "vsys_name", "device_name", "action_source", "src_uuid", "dst_uuid", "tunnelid", "monitortag", "parent_session_id",
    "parent_start_time", "tunnel", "assoc_id", "chunks", "chunks_sent", "chunks_received", "rule_uuid", "http2_connection",
    "link_change_count", "policy_id", "link_switches", "sdwan_cluster", "sdwan_device_type", "sdwan_cluster_type", "sdwan_site",
    "dynusergroup_name",
)
# Besides the flow, a traffic log says which firewall wrote it and how it filed it (serial, device and
# virtual system names, device groups, log forwarding profile, interfaces, the sequence number), when, and
# where its addresses sit (country or private range). The zones, the rule, the application and the session's
# end stay: they describe the traffic, and are the same on another firewall of one policy.
PANOS_TYPES = {
    "receive_time": "time", "time_generated": "time", "future_use_3": "time", "start": "time", "parent_start_time": "time",
    **dict.fromkeys(("future_use_1", "future_use_2", "future_use_4", "future_use_5"), "sensor"),  # reserved: the firewall's, not the flow's
    "serial": "sensor", "vsys": "sensor", "vsys_name": "sensor", "device_name": "sensor", "logset": "sensor", "inbound_if": "sensor",
    "outbound_if": "sensor", "actionflags": "sensor", **{f"dg_hier_level_{i}": "sensor" for i in range(1, 5)},
    "src": "addr", "dst": "addr", "natsrc": "addr", "natdst": "addr", "sport": "port", "dport": "port", "natsport": "port",
    "natdport": "port", "repeatcnt": "count", "bytes": "count", "bytes_sent": "count", "bytes_received": "count", "packets": "count",
    "pkts_sent": "count", "pkts_received": "count", "elapsed": "interval", "srcloc": "route", "dstloc": "route",
    "sessionid": "id", "seqno": "id", "parent_session_id": "id", "src_uuid": "id", "dst_uuid": "id", "tunnelid": "id",
    "monitortag": "id", "assoc_id": "id",
    # The firewall's own ids for its rules, and its SD-WAN set-up: another firewall numbers them its own way.
    **dict.fromkeys(("rule_uuid", "policy_id", "link_change_count", "link_switches", "sdwan_cluster", "sdwan_device_type",
                     "sdwan_cluster_type", "sdwan_site"), "sensor"),
}
PANOS_CORE = {"serial", "natsrc", "natdst", "sessionid", "bytes_sent", "bytes_received"}
# The web interface's CSV export (Monitor > Logs > Traffic > Export to CSV) has a header row that names the
# same fields in words: PAN-OS 10's header, in its order, and the field each word names.
PANOS_EXPORT_NAMES = {
    "Domain": "future_use_1", "Receive Time": "receive_time", "Serial #": "serial", "Type": "type", "Threat/Content Type": "subtype",
    "Config Version": "future_use_2", "Generate Time": "time_generated", "Source address": "src", "Destination address": "dst",
    "NAT Source IP": "natsrc", "NAT Destination IP": "natdst", "Rule": "rule", "Source User": "srcuser", "Destination User": "dstuser",
    "Application": "app", "Virtual System": "vsys", "Source Zone": "from", "Destination Zone": "to", "Inbound Interface": "inbound_if",
    "Outbound Interface": "outbound_if", "Log Action": "logset", "Time Logged": "future_use_3", "Session ID": "sessionid",
    "Repeat Count": "repeatcnt", "Source Port": "sport", "Destination Port": "dport", "NAT Source Port": "natsport",
    "NAT Destination Port": "natdport", "Flags": "flags", "IP Protocol": "proto", "Action": "action", "Bytes": "bytes",
    "Bytes Sent": "bytes_sent", "Bytes Received": "bytes_received", "Packets": "packets", "Start Time": "start",
    "Elapsed Time (sec)": "elapsed", "Category": "category", "Padding": "future_use_4", "seqno": "seqno", "actionflags": "actionflags",
    "Source Country": "srcloc", "Destination Country": "dstloc", "cpadding": "future_use_5", "pkts_sent": "pkts_sent",
    "pkts_received": "pkts_received", "session_end_reason": "session_end_reason",
}
# Other releases, Panorama and the field reference spell some differently. Names are compared lower-cased,
# letters and digits only, so the syslog's own names ("bytes_sent", "device_name") match as well.
PANOS_EXPORT_ALIASES = {
    "serialnumber": "serial", "generatedtime": "time_generated", "sourceip": "src", "destinationip": "dst", "rulename": "rule",
    "protocol": "proto", "elapsedtime": "elapsed", "sequencenumber": "seqno", "sourcelocation": "srcloc", "destinationlocation": "dstloc",
    "packetssent": "pkts_sent", "packetsreceived": "pkts_received", "virtualsystemname": "vsys_name", "sourcevmuuid": "src_uuid",
    "destinationvmuuid": "dst_uuid", "tunnelidimsi": "tunnelid", "monitortagimei": "monitortag", "sctpassociationid": "assoc_id",
    **{f"devicegrouphierarchylevel{i}": f"dg_hier_level_{i}" for i in range(1, 5)},
}


def _word(name) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_PANOS_BY_WORD = {**{_word(f): f for f in PANOS_TRAFFIC_FIELDS}, **{_word(k): f for k, f in PANOS_EXPORT_NAMES.items()},
                  **PANOS_EXPORT_ALIASES}


def pan_os_export_fields(names) -> dict[str, str]:
    """The PAN-OS traffic log field each of a CSV export's column names stands for, when the names are a
    PAN-OS export's ({} for any other table, and for the syslog's own names, which need no translating)."""
    fields = {name: _PANOS_BY_WORD.get(_word(name)) for name in names}
    fields = {name: f for name, f in fields.items() if f}
    if not PANOS_CORE <= set(fields.values()) or all(name == f for name, f in fields.items()):
        return {}
    return fields


def _pan_os_export_hints(names: set[str]) -> dict[str, str]:
    return {name: PANOS_TYPES[f] for name, f in pan_os_export_fields(names).items() if f in PANOS_TYPES}


# Where a PAN-OS log line starts, after any syslog header: FUTURE_USE, the receive time, the serial number
# and the log's type (TRAFFIC, THREAT, SYSTEM, ...).
PANOS_START = re.compile(r"(?:^|(?<=[\s>]))[^,\s]*,\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2},[^,]*,([A-Z]+),")


def looks_pan_os(text: str) -> bool:
    """Whether the peeked lines are a PAN-OS firewall's syslog: lines that start as a PAN-OS log does."""
    return _most_lines(text, PANOS_START.search)


def pan_os_line(line: str) -> str | None:
    """A PAN-OS traffic log line from its first field on (the syslog header left out); "" for the firewall's
    other logs (THREAT, SYSTEM, ...: not flows), None for a line that is no PAN-OS log."""
    m = PANOS_START.search(line)
    if m is None:
        return None
    return line[m.start() :].rstrip("\r\n") if m.group(1) == "TRAFFIC" else ""


def pan_os_names(text: str) -> list[str]:
    """The column names of a PAN-OS syslog stream: as many of PAN-OS's traffic log fields as its first
    traffic line holds, field_N past them. [] when the peeked lines hold no traffic log."""
    import csv

    row = next((row for row in map(pan_os_line, text.splitlines()) if row), None)
    if row is None:
        return []
    n = len(next(csv.reader([row])))
    return [*PANOS_TRAFFIC_FIELDS[:n], *(f"field_{i + 1}" for i in range(len(PANOS_TRAFFIC_FIELDS), n))]


# Cisco ASA (and Firepower Threat Defense) log the end of each connection as a syslog message: `%ASA-6-302014:
# Teardown TCP connection 4711 for outside:203.0.113.9/443 to inside:10.0.1.20/51234 duration 0:01:05 bytes
# 5120 TCP FINs from inside` (302016 for UDP). Each is a flow: the two ends as the message names them (the
# ASA's interface names, addresses, ports), how long it lasted, the bytes both ways, why it ended and which
# side ended it. A connection the ASA denied by an access list (106023: `Deny tcp src outside:198.51.100.7/4444
# dst inside:10.0.1.20/22 by access-group "outside_access_in" [0x0, 0x0]`; 106001 and 106006 without an
# access list) never became one and never ends: it is a row of its own, its ends as the message names them
# (source, destination), with no bytes, duration or reason; a scan or an inside host knocking on blocked
# ports shows only there. The ASA's other messages (connections built, failover, ...) are not flows.
ASA_MESSAGE = re.compile(r"%(?:ASA|FTD)-\d-\d{6}:")
# An interface's name runs to the first colon: the ASA's own ones have spaces ("NP Identity Ifc", the end of
# traffic to the box itself). An address is as the ASA writes it: IPv4, IPv6, or a name set with `names`.
ASA_TEARDOWN = re.compile(
    r"%(?:ASA|FTD)-\d-30201[46]: Teardown (TCP|UDP) connection (\d+) for ([^:]+?):([^/\s]+)/(\d+)(?:\s*\([^)]*\))? "
    r"to ([^:]+?):([^/\s]+)/(\d+)(?:\s*\([^)]*\))? duration (\d+):(\d\d):(\d\d) bytes (\d+)\s*(.*?)\s*$")
ASA_USER = re.compile(r"\s*\([^)]*\)$")  # a user name in brackets after the reason
# The teardown's ends are named by the interfaces' security levels ("for" the less trusted side, whichever
# end opened the connection), a denial's by the packet's direction: their own columns each, not one pair
# whose meaning changes from row to row. An ICMP packet has a type and a code where others have ports.
ASA_DENY = re.compile(
    r"%(?:ASA|FTD)-\d-106023: Deny (\S+) src ([^:]+?):([^/\s()]+)(?:/(\d+))?(?:\s*\([^)]*\))? "
    r"dst ([^:]+?):([^/\s()]+)(?:/(\d+))?(?:\s*\((?!type )[^)]*\))?(?:\s*\(type (\d+), code (\d+)\))? by access-group \"([^\"]*)\"")
# A denial without an access list, the interface it came in on named at the end: a TCP connection (106001) or
# UDP packet (106006) from a less trusted interface, or a TCP packet that belongs to no connection (106015:
# an ACK, FIN or RST; a connection's stray packets after it timed out, or an ACK or FIN scan), with its flags.
ASA_DENY_INBOUND = re.compile(
    r"%(?:ASA|FTD)-\d-(?:106001: Inbound (TCP) connection denied|106006: Deny inbound (UDP)|106015: Deny (TCP) \(no connection\)) "
    r"from ([^/\s]+)/(\d+) to ([^/\s]+)/(\d+)(?: flags (.*?))? on interface (.+?)\s*$")
# An access-list entry with the `log` keyword reports its hits as 106100 in place of 106023: `access-list
# outside_in denied tcp outside/198.51.100.7(4444) -> inside/10.0.1.20(22) hit-cnt 1 first hit [0x0, 0x0]`, a
# flow's first hit and then its hits over each interval (`hit-cnt 21 300-second interval`). A denial is a row,
# as a 106023 is, with its hit count; for ICMP the source's "port" is 0 and the destination's is the type. A
# permitted entry's hit is the start of a connection whose teardown is its row, and an est-allowed one is
# traffic of a connection already built: neither is a flow of its own.
ASA_ACL_HIT = re.compile(
    r"%(?:ASA|FTD)-\d-106100: access-list (\S+) (denied|permitted|est-allowed) (\S+) ([^/]+?)/([^(\s]+)\((\d+)\)(?:\s*\([^)]*\))?"
    r"\s*->\s*([^/]+?)/([^(\s]+)\((\d+)\)(?:\s*\([^)]*\))? hit-cnt (\d+)")
# An ICMP connection's end (302021) names its foreign, mapped and local addresses (the ICMP id after each,
# not a port) and, from ASA 8.4 on, the type and code; no bytes or duration. "faddr" is the less trusted
# side, as a TCP teardown's "for" is.
ASA_ICMP_TEARDOWN = re.compile(
    r"%(?:ASA|FTD)-\d-302021: Teardown ICMP connection for faddr ([^/\s]+)/\d+(?:\s*\([^)]*\))? gaddr \S+ "
    r"laddr ([^/\s]+)/\d+(?:\s*\([^)]*\))?(?: type (\d+) code (\d+))?")
ASA_TYPES = {"syslog_header": "sensor", "connection_id": "id", "for_ip": "addr", "to_ip": "addr", "for_port": "port", "to_port": "port",
             "duration": "interval", "bytes": "count", "src_ip": "addr", "dst_ip": "addr", "src_port": "port", "dst_port": "port",
             # An access list's name is the device's configuration (another ASA's lists have their own names).
             "access_group": "sensor", "hit_count": "count"}
ASA_CORE = {"connection_id", "for_interface", "for_port", "to_interface", "to_port", "bytes"}
ASA_DENY_CORE = {"src_interface", "src_ip", "dst_interface", "dst_ip", "access_group"}


def asa_record(line: str) -> str | None:
    """A Cisco ASA connection teardown (302014, 302016, 302021) or denial (106023 by an access list; 106001,
    106006 inbound; 106015 a TCP packet without a connection; 106100 an access-list entry's denied hits) as a
    JSON record; "" for the ASA's other messages (not flows), None for a line that is no ASA message. What
    stands before the message (the syslog priority, time and host) is kept whole as `syslog_header`: when and
    which device, not the traffic."""
    if (m := ASA_TEARDOWN.search(line)) is not None:
        proto, conn, f_if, f_ip, f_port, t_if, t_ip, t_port, hours, minutes, seconds, size, rest = m.groups()
        reason, _, initiator = ASA_USER.sub("", rest).partition(" from ")
        record = {"protocol": proto, "connection_id": int(conn), "for_interface": f_if, "for_ip": f_ip, "for_port": int(f_port),
                  "to_interface": t_if, "to_ip": t_ip, "to_port": int(t_port), "duration": int(hours) * 3600 + int(minutes) * 60 + int(seconds),
                  "bytes": int(size), "reason": reason or None, "teardown_interface": initiator or None}
    elif (m := ASA_DENY.search(line)) is not None:
        proto, s_if, s_ip, s_port, d_if, d_ip, d_port, icmp_type, icmp_code, acl = m.groups()
        record = {"protocol": proto.upper(), "src_interface": s_if, "src_ip": s_ip, "src_port": _number(s_port), "dst_interface": d_if,
                  "dst_ip": d_ip, "dst_port": _number(d_port), "icmp_type": _number(icmp_type), "icmp_code": _number(icmp_code),
                  "access_group": acl}
    elif (m := ASA_DENY_INBOUND.search(line)) is not None:
        tcp, udp, stray, s_ip, s_port, d_ip, d_port, flags, s_if = m.groups()
        record = {"protocol": tcp or udp or stray, "src_interface": s_if, "src_ip": s_ip, "src_port": int(s_port), "dst_ip": d_ip,
                  "dst_port": int(d_port), "tcp_flags": " ".join(flags.split()) if flags else None}
    elif (m := ASA_ACL_HIT.search(line)) is not None:
        acl, action, proto, s_if, s_ip, s_port, d_if, d_ip, d_port, hits = m.groups()
        if action != "denied":
            return ""
        icmp = proto.lower() == "icmp"
        record = {"protocol": proto.upper(), "src_interface": s_if, "src_ip": s_ip, "src_port": None if icmp else int(s_port),
                  "dst_interface": d_if, "dst_ip": d_ip, "dst_port": None if icmp else int(d_port),
                  "icmp_type": int(d_port) if icmp else None, "access_group": acl, "hit_count": int(hits)}
    elif (m := ASA_ICMP_TEARDOWN.search(line)) is not None:
        f_ip, t_ip, icmp_type, icmp_code = m.groups()
        record = {"protocol": "ICMP", "for_ip": f_ip, "to_ip": t_ip, "icmp_type": _number(icmp_type), "icmp_code": _number(icmp_code)}
    else:
        return "" if ASA_MESSAGE.search(line) else None
    return json.dumps({"syslog_header": _header_before(line, m.start()) or None, **record}, separators=(",", ":"))


def _number(v: str | None) -> int | None:
    return None if v is None else int(v)


def looks_cisco_asa(text: str) -> bool:
    """Whether the peeked lines are a Cisco ASA's syslog: lines that carry an ASA (or FTD) message id."""
    return _most_lines(text, ASA_MESSAGE.search)


# Firepower Threat Defense also logs a connection as an event of its own where an access control rule says
# to log it to syslog: `%FTD-1-430003: DeviceUUID: ..., SrcIP: 10.0.1.20, DstIP: 192.0.2.7, SrcPort: 51234,
# DstPort: 443, Protocol: tcp, ..., ConnectionDuration: 19, InitiatorPackets: 15, ResponderPackets: 18,
# InitiatorBytes: 2104, ResponderBytes: 12456, ...`: "Key: value" pairs split at ", ", each key in capitals
# (a user agent's "(KHTML, like Gecko)" starts no key; "Tunnel or Prefilter Rule" is one). 430003 is the end
# of a connection, with its counts: the flow. 430002 is its start (no counts yet), 430001 an intrusion event,
# 430004 and 430005 file and malware events. A device that sends these events may send the ASA's teardowns
# of the same connections too: a log holding connection events is read from them alone, one row per
# connection, its teardowns counted as left out (see `looks_ftd_events`).
FTD_EVENT = re.compile(r"%FTD-\d-(43000\d):\s*")
FTD_KEY = re.compile(r"(?:^|, )([A-Z][A-Za-z0-9_]*(?: [A-Za-z][A-Za-z0-9_]*){0,3}):(?= |,|$) ?")
FTD_TYPES = {
    # The device, its policies and where in it the connection passed: another device's are its own.
    **dict.fromkeys(("syslog_header", "DeviceUUID", "InstanceID", "ACPolicy", "NAPPolicy", "Prefilter Policy", "SSLPolicy",
                     "IntrusionPolicy", "IngressInterface", "EgressInterface", "IngressZone", "EgressZone", "IngressVRF",
                     "EgressVRF"), "sensor"),
    **dict.fromkeys(("SrcIP", "DstIP", "NAT_InitiatorIP", "NAT_ResponderIP", "OriginalClientIP"), "addr"),
    **dict.fromkeys(("SrcPort", "DstPort", "NAT_InitiatorPort", "NAT_ResponderPort"), "port"),
    **dict.fromkeys(("InitiatorPackets", "ResponderPackets", "InitiatorBytes", "ResponderBytes", "InitiatorDroppedPackets",
                     "ResponderDroppedPackets"), "count"),
    "ConnectionDuration": "interval", "FirstPacketSecond": "time", "ConnectionID": "id", "ConnectionCounter": "id",
}


def ftd_record(line: str) -> str | None:
    """A Firepower connection's end event (%FTD-N-430003) as a JSON record; "" for the device's other messages
    (connection starts, intrusion and file events, the ASA-style teardowns of the same connections), None for
    a line that is no such message. What stands before the message is kept whole as `syslog_header`."""
    m = FTD_EVENT.search(line)
    if m is None:
        return "" if ASA_MESSAGE.search(line) else None
    if m.group(1) != "430003":
        return ""
    body = line[m.end():].rstrip()
    keys = list(FTD_KEY.finditer(body))
    if not keys or keys[0].start() != 0:
        return None
    pairs = {"syslog_header": _syslog_header(line, m.start())}
    for key, after in zip(keys, [*keys[1:], None]):
        value = body[key.end(): after.start() if after is not None else len(body)].strip()
        pairs.setdefault(key.group(1), _json_value(value))
    return "{" + ",".join(f"{_json_text(key)}:{value}" for key, value in pairs.items()) + "}"


def looks_ftd_events(text: str) -> bool:
    """Whether a Cisco ASA / FTD syslog's peeked lines hold Firepower connection events (430002, 430003)."""
    return any(m.group(1) in ("430002", "430003") for m in FTD_EVENT.finditer(text))


def is_azure_flow_log(text: str) -> bool:
    """Whether peeked JSON text is an Azure NSG or VNet flow log ({"records": [...]} of flow events)."""
    head = text.lstrip()[:200]
    return head.startswith("{") and '"records"' in head and ("flowTuples" in text or "FlowEvent" in text)


def _tuple_row(names: tuple[str, ...], flow: str, row: dict) -> dict:
    values = flow.split(",")
    # Every name, set or not (a version 1 tuple has no state or counts): each file then has the same
    # columns, and a field that a model always saw set is missing, not absent.
    for name, value in zip(names, values + [""] * (len(names) - len(values))):
        value = value.strip()
        row[name] = None if value == "" else int(value) if name in _AZURE_NUMBERS and value.isdigit() else value
    return row


def azure_flow_rows(record: dict) -> Iterator[dict]:
    """One row per flow tuple of an Azure flow log record (NSG: properties.flows[].flows[].flowTuples;
    VNet: flowRecords.flows[].flowGroups[].flowTuples)."""
    if "flowRecords" in record:
        base = {k: record.get(k) for k in ("time", "flowLogResourceID", "targetResourceID", "macAddress")}
        for acl in (record.get("flowRecords") or {}).get("flows") or []:
            for group in acl.get("flowGroups") or []:
                for flow in group.get("flowTuples") or []:
                    yield _tuple_row(AZURE_VNET_TUPLE, str(flow), {**base, "aclID": acl.get("aclID"), "rule": group.get("rule")})
        return
    base = {"time": record.get("time"), "resourceId": record.get("resourceId")}
    for rule in (record.get("properties") or {}).get("flows") or []:
        for nic in rule.get("flows") or []:
            for flow in nic.get("flowTuples") or []:
                yield _tuple_row(AZURE_NSG_TUPLE, str(flow), {**base, "rule": rule.get("rule"), "mac": nic.get("mac")})


# The flow records a table's field names give away, for what fit and score say they read: (name, test).
WINDOWS_FIREWALL_CORE = {"action", "protocol", "src-ip", "dst-ip", "path"}
ARGUS_CORE = {"SrcAddr", "DstAddr", "Sport", "Dport", "TotBytes"}
_EXPORTERS = (
    ("Google Cloud VPC Flow Logs", lambda n: GCP_FLOW_CORE in n),
    ("Azure VNet flow logs", lambda n: {"flowLogResourceID", "src_ip", "encryption"} <= n),
    ("Azure NSG flow logs", lambda n: {"resourceId", "mac", "src_ip", "decision"} <= n),
    ("Suricata flow events", lambda n: "flow.start" in n or "flow.bytes_toserver" in n),
    ("Zeek conn log", lambda n: {"uid", "id.orig_h", "conn_state"} <= n),
    ("nfdump flow records", lambda n: NFDUMP_CORE <= n),
    ("AWS VPC Flow Logs", lambda n: VPC_FLOW_CORE <= {k.replace("_", "-") for k in n}),
    ("Windows Firewall log", lambda n: WINDOWS_FIREWALL_CORE <= n),
    ("FortiGate traffic log", lambda n: FORTIGATE_CORE <= n),
    ("SonicWall connection log", lambda n: {"sn", "fw", "m", "src", "dst", "src_port"} <= n),
    ("Palo Alto Networks traffic log", lambda n: PANOS_CORE <= n),
    ("Palo Alto Networks traffic log export", lambda n: bool(pan_os_export_fields(n))),
    ("Cisco ASA connection log", lambda n: ASA_CORE <= n or ASA_DENY_CORE <= n),
    ("Cisco Firepower connection events", lambda n: {"SrcIP", "DstIP", "InitiatorBytes", "ResponderBytes"} <= n),
    ("CEF events", lambda n: CEF_CORE <= n),
    ("LEEF events", lambda n: LEEF_CORE <= n),
    ("Check Point logs", lambda n: CHECKPOINT_CORE <= n),
    ("Argus flow records", lambda n: ARGUS_CORE <= n),
    ("Juniper SRX session log", lambda n: {"source-address", "destination-address", "session-id-32"} <= n),
    ("goflow2 flow records", lambda n: {"time_flow_start_ns", "src_addr", "dst_addr", "sampler_address"} <= n),
    ("pmacct flow records", lambda n: {"ip_src", "ip_dst", "port_src", "port_dst"} <= n),
    ("SiLK flow records", lambda n: {"sIP", "dIP", "sPort", "dPort"} <= n),
    ("Elasticsearch export", lambda n: "_index" in n or {"source.ip", "destination.ip"} <= n),
)


def _picked(types: dict[str, str]):
    return lambda names: {k: v for k, v in types.items() if k in names}


def _gcp_hints(names: set[str]) -> dict[str, str]:
    hints = {k: v for k, v in GCP_TYPES.items() if k in names}
    hints.update({n: "cloud" for n in names if n.startswith(GCP_CLOUD_PARTS)})
    hints.update({n: "route" for n in names if n.startswith(GCP_ROUTE_PARTS)})
    return hints


def _vpc_hints(names: set[str]) -> dict[str, str]:
    spelled = {n.replace("_", "-"): n for n in names}
    return {spelled[k]: v for k, v in VPC_FLOW_TYPES.items() if k in spelled}


# The exporters above that write no types of their own, typed by their names.
_TYPED = {"Google Cloud VPC Flow Logs": _gcp_hints, "nfdump flow records": _picked(NFDUMP_TYPES), "AWS VPC Flow Logs": _vpc_hints,
          "FortiGate traffic log": _picked(FORTIGATE_TYPES), "SonicWall connection log": _sonicwall_hints,
          "Palo Alto Networks traffic log": _picked(PANOS_TYPES),
          "Palo Alto Networks traffic log export": _pan_os_export_hints,
          "Cisco ASA connection log": _picked(ASA_TYPES), "Cisco Firepower connection events": _picked(FTD_TYPES),
          "Juniper SRX session log": _picked(JUNOS_TYPES), "CEF events": _picked(CEF_TYPES),
          "LEEF events": _picked(LEEF_TYPES), "Check Point logs": _picked(CHECKPOINT_TYPES)}


def table_hints(names) -> dict[str, str]:
    """Column types for a table whose names are those of a flow exporter that writes no types of its own:
    nfdump's CSV, AWS and Google Cloud VPC Flow Logs, FortiGate's key=value log. {} for any other table."""
    names = set(map(str, names))
    return next((_TYPED[what](names) for what, test in _EXPORTERS if what in _TYPED and test(names)), {})


def recognised(names) -> str:
    """The flow exporter whose field names `names` are ("" for any other table)."""
    names = set(map(str, names))
    return next((what for what, test in _EXPORTERS if test(names)), "")


# eve.json mixes flows with stats, dns, alert... events; only these describe one flow each. With both
# outputs on, Suricata writes a connection three times: a flow event holding both directions, and a netflow
# event per direction. The reader then keeps the flow events (see json_chunks). pmacct's JSON (a NetFlow,
# IPFIX and sFlow collector) names its flow records "purge", between "purge_init" and "purge_close" markers.
FLOW_EVENTS = ("flow", "netflow", "purge")


@dataclass
class ZeekHeader:
    separator: str
    set_separator: str
    empty_field: str
    unset_field: str
    fields: list[str]  # the table's columns
    types: list[str]
    lines: int  # header lines before the first row
    written: tuple[str, ...] = ()  # the #fields entries, where they differ from `fields`
    path: str = ""  # the log's kind, from #path: conn, dns, http...


def parse_zeek_header(text: str, name: str) -> ZeekHeader:
    sep, set_sep, empty, unset, path = "\t", ",", "(empty)", "-", ""
    fields: list[str] = []
    types: list[str] = []
    lines = 0
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines += 1
        if line.startswith("#separator"):
            value = line[len("#separator"):].strip()
            sep = value.encode().decode("unicode_escape") if value else "\t"
            continue
        key, _, value = line.partition(sep)
        if key == "#set_separator":
            set_sep = value
        elif key == "#empty_field":
            empty = value
        elif key == "#unset_field":
            unset = value
        elif key == "#fields":
            fields = value.split(sep)
        elif key == "#types":
            types = value.split(sep)
        elif key == "#path":
            path = value.strip()
    if not fields:
        raise InputError(f"'{name}' looks like a Zeek log but has no #fields line; check the file's header")
    if len(types) != len(fields):
        types = ["string"] * len(fields)
    if any(" " in f for f in fields):
        # IoT-23's conn.log.labeled: 'tunnel_parents   label   detailed-label' in one tab field, and so in
        # every row. Zeek names hold no spaces, so a spaced entry is several columns, split as the rows are.
        split_types = [t.split() if " " in f else [t] for f, t in zip(fields, types)]
        split_fields = [f.split() for f in fields]
        if all(len(t) == len(f) for t, f in zip(split_types, split_fields)):
            return ZeekHeader(sep, set_sep, empty, unset, [n for f in split_fields for n in f],
                              [t for ts in split_types for t in ts], lines, written=tuple(fields), path=path)
    return ZeekHeader(sep, set_sep, empty, unset, fields, types, lines, path=path)


def _split_spaced(batches, header: ZeekHeader) -> Iterator:
    """Batches read by the #fields entries, with each space-joined entry split into its columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for batch in batches:
        columns = []
        for name, col in zip(header.written, batch.columns):
            parts = name.split()
            if len(parts) == 1:
                columns.append(col)
                continue
            pieces = pc.split_pattern_regex(col, r"\s+", max_splits=len(parts) - 1)
            for i in range(len(parts)):
                value = pc.list_element(pc.if_else(pc.greater(pc.list_value_length(pieces), i), pieces, None), i)
                columns.append(pc.if_else(pc.equal(value, header.unset_field), pa.scalar(None, value.type), value))
        yield pa.RecordBatch.from_arrays(columns, names=header.fields)


class _ZeekSection(io.RawIOBase):
    """The bytes of one log in a stream of Zeek logs joined end to end, up to a #fields line that names
    other fields (logs from before and after a Zeek upgrade or a newly loaded script, in one
    `zcat conn.*.log.gz`). Then `rest` holds the bytes from that line on: the next log."""

    BLOCK = 1 << 20

    def __init__(self, fh, names: list[str], separator: str, pending: bytes = b""):
        self.fh, self.separator = fh, separator
        self.fields_line = separator.join(["#fields", *names])
        self.buf, self.out, self.off = pending, b"", 0
        self.eof = self.ended = False
        self.rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        # As full as asked, as a file would be: pyarrow takes a short read for the whole block, and the
        # header rows it skips must be in the first.
        n = 0
        while n < len(b):
            if self.off == len(self.out):
                if self.ended or (self.eof and not self.buf):
                    break
                self._next_block()
                continue
            k = min(len(b) - n, len(self.out) - self.off)
            b[n : n + k] = self.out[self.off : self.off + k]
            self.off += k
            n += k
        return n

    def _next_block(self) -> None:
        if not self.eof:
            more = self.fh.read(self.BLOCK)
            self.eof = not more
            self.buf += more
        # Whole lines only, so that a #fields line is always seen whole.
        end = len(self.buf) if self.eof else self.buf.rfind(b"\n") + 1
        block, self.buf = self.buf[:end], self.buf[end:]
        pos = 0
        while (i := block.find(b"#fields", pos)) >= 0:
            line_end = block.find(b"\n", i)
            line = block[i : line_end if line_end >= 0 else len(block)].rstrip(b"\r")
            if (i == 0 or block[i - 1 : i] == b"\n") and line.decode("utf-8", "replace") != self.fields_line:
                self.out, self.off = block[:i], 0
                self.rest, self.buf, self.ended = block[i:] + self.buf, b"", True
                return
            pos = i + 7
        self.out, self.off = block, 0


def zeek_chunks(source: "Source", chunk_size: int) -> Iterator[pd.DataFrame]:
    """A Zeek TSV log as DataFrames of text columns (unset fields missing), bad lines counted.

    Logs joined end to end may change their fields part way (a Zeek upgrade, a script loaded that adds
    community_id): each log is read with its own #fields, and its rows take the first log's columns, a
    field it lacks missing, a field the first log lacks left out and named in `source.extra_fields`."""
    import pyarrow as pa

    from .sources import rebatch

    first: ZeekHeader = source.zeek
    schema = pa.schema([(n, pa.large_string()) for n in first.fields])
    fh = source.binary()
    try:
        yield from rebatch(_zeek_logs(source, fh, first, schema, chunk_size), chunk_size, schema)
    except pa.ArrowInvalid as e:
        if "Empty CSV" in str(e):
            yield pd.DataFrame({n: pd.Series([], dtype="str") for n in first.fields})
            return
        raise
    finally:
        fh.close()


def _zeek_logs(source: "Source", fh, first: ZeekHeader, schema, chunk_size: int) -> Iterator:
    """Record batches in the first log's columns, one log of the stream after another."""
    import pyarrow as pa

    header, pending = first, b""
    first_fields = set(first.fields)
    while True:
        names = list(header.written or header.fields)  # as the rows are split by the separator
        section = _ZeekSection(fh, names, header.separator, pending)
        batches = _zeek_batches(source, section, header, names, chunk_size)
        if header is first:
            yield from batches
        else:
            have = set(header.fields)
            source.extra_fields.update(have - first_fields)
            for batch in batches:
                yield pa.RecordBatch.from_arrays(
                    [batch.column(f) if f in have else pa.nulls(batch.num_rows, pa.large_string()) for f in first.fields], schema=schema)
        if not section.ended:
            return
        header, pending = _next_header(source, fh, section.rest)
        if 2 * len(set(header.fields) & first_fields) < len(first.fields):
            # Not the same log with a field more or less: a dns log after a conn log, say.
            raise InputError(f"'{source.name}' holds logs of different kinds (#fields {', '.join(header.fields[:8])}, ... after "
                             f"{', '.join(first.fields[:8])}, ...); score one kind of log at a time")


def _next_header(source: "Source", fh, pending: bytes) -> tuple[ZeekHeader, bytes]:
    """The header of the next log, which `pending` starts with (read on from `fh` until it is whole), and
    the bytes from it on."""
    while True:
        lines = pending.split(b"\n")
        body = next((k for k, line in enumerate(lines[:-1]) if not line.startswith(b"#")), None)
        more = b"" if body is not None else fh.read(1 << 16)
        if not more:
            head = b"\n".join(lines[:body] if body is not None else lines)
            return parse_zeek_header(head.decode("utf-8", "replace"), source.name), pending
        pending += more


def _zeek_batches(source: "Source", stream, header: ZeekHeader, names: list[str], chunk_size: int) -> Iterator:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from .sources import block_size

    stop: list[InputError] = []

    def on_invalid(row) -> str:
        text = row.text or ""
        if text.startswith("#"):  # header and #close lines of logs joined end to end
            return "skip"
        return source.skip_line(text, stop)

    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=header.lines, block_size=block_size(sum(map(len, names)) * 2, chunk_size)
            ),
            parse_options=pacsv.ParseOptions(delimiter=header.separator, quote_char=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names}, null_values=[header.unset_field], strings_can_be_null=True
            ),
        )
    except pa.ArrowInvalid as e:
        if stop:
            raise stop[0] from None
        if "Empty CSV" in str(e):
            return
        raise
    batches = _rows_only(reader, stop)
    try:
        yield from _split_spaced(batches, header) if header.written else batches
    except pa.ArrowInvalid:
        if stop:
            raise stop[0] from None
        raise


def _rows_only(reader, stop: list) -> Iterator:
    """The reader's batches without comment rows that happen to have the right field count."""
    import pyarrow.compute as pc

    for batch in reader:
        if stop:
            raise stop[0]
        first = batch.column(0)
        comment = pc.starts_with(pc.fill_null(first, ""), "#")
        if pc.any(comment).as_py():
            batch = batch.filter(pc.invert(comment))
        yield batch
    if stop:
        raise stop[0]


# nProbe writes its JSON keyed by the IPFIX / NetFlow v9 information element numbers unless told to write
# names (`--json-labels`): {"8":"10.0.0.5","12":"93.184.216.34","7":51234,"11":443,"4":6,"1":1520,"2":12,...}.
# Nothing in a key "7" says port (it was a count, another flow's client port out of range); IANA's registry of
# elements does. Used only where every key of the peeked records is a number and an address element (8, 12,
# 27, 28) holds addresses: a table whose columns are merely numbered is left as it is.
IPFIX_ELEMENT_TYPES = {
    **dict.fromkeys(("1", "2", "3", "23", "24", "85", "86"), "count"),  # octets, packets, flows: delta, post and total
    **dict.fromkeys(("7", "11", "227", "228"), "port"),  # source and destination transport ports, after NAT too
    **dict.fromkeys(("8", "12", "15", "18", "27", "28", "62", "63", "225", "226", "130", "131"), "addr"),
    **dict.fromkeys(("56", "57", "80", "81"), "id"),  # MAC addresses: a device's, as an address is a host's
    **dict.fromkeys(("10", "14", "144", "149"), "sensor"),  # the exporter's interfaces, process and observation domain
    **dict.fromkeys(("9", "13", "16", "17", "29", "30"), "route"),  # prefix lengths and AS numbers
    **dict.fromkeys(("21", "22", "150", "151", "152", "153", "154", "155", "156", "157"), "time"),
    "148": "id",  # flowId
}
_IPFIX_ADDRESS_ELEMENTS = ("8", "12", "27", "28")


def _holds_addresses(records: list[dict]) -> bool:
    from .schema import is_ip_address

    values = [r[k] for r in records for k in _IPFIX_ADDRESS_ELEMENTS if isinstance(r.get(k), str)]
    return bool(values) and all(map(is_ip_address, values))


def json_hints(text: str) -> dict[str, str]:
    """Column types for JSON lines: Zeek's conn fields or Suricata's flow fields, by the records' keys, or
    IPFIX elements by number (nProbe's JSON without labels)."""
    keys: set[str] = set()
    lists: set[str] = set()
    records = []
    for line in text.splitlines()[:50]:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            records.append(_flatten(obj, lists=lists))
            keys |= set(records[-1])
    # An array is its member count, as a Zeek set is in TSV (the reader joins it as Zeek writes one): a
    # Zeek dns log's answers, say, which the conn fields below do not name.
    hints = dict.fromkeys(sorted(lists), "list")
    if "event_type" in keys or "flow.start" in keys:
        hints.update(EVE_FLOW_TYPES)
    elif "uid" in keys or "id.orig_h" in keys:
        hints.update(ZEEK_CONN_TYPES)
    elif keys and all(k.isdigit() for k in keys) and _holds_addresses(records):
        hints.update({k: v for k, v in IPFIX_ELEMENT_TYPES.items() if k in keys})
    return hints


def _flatten(obj: dict, prefix: str = "", out: dict | None = None, lists: set | None = None) -> dict:
    """`obj` with nested keys joined by '.'; `lists` collects the keys of arrays of plain values (arrays
    of objects or arrays, joined as JSON text, hold commas of their own)."""
    out = {} if out is None else out
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + ".", out, lists)
        elif isinstance(value, list):
            if lists is not None and not any(isinstance(v, (dict, list)) for v in value):
                lists.add(name)
            # Zeek sets and vectors, Suricata vlan lists: joined as Zeek writes them in TSV.
            out[name] = ",".join(_text(v) for v in value) if value else "(empty)"
        else:
            out[name] = value
    return out


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def json_chunks(source: "Source", chunk_size: int, text: bool, columns: list[str] | None) -> Iterator[pd.DataFrame]:
    """JSON lines as DataFrames, nested keys flattened with '.'. Records of eve.json events other than
    flows are counted and left out. Fields a record leaves out (Zeek omits unset ones) are missing.

    A log holding flow events before its first chunk is handed on has its netflow events (the same
    connections, one direction each) counted and left out too; a log of netflow events alone is read as it is.

    Every chunk has the columns of the first chunk in the file's order, then those of `columns` that it
    lacks (for text=True, a field first seen later is dropped, so a streamed output keeps one header);
    text=False gives the union.

    A chunk is parsed by Arrow's JSON reader (C++, no Python object per value); a chunk Arrow cannot
    take as it is (a bad line, a field whose type changes, a list of objects, a nested field Arrow would
    read as a date) goes through Python's json, which gives the same frame and finds the bad lines.
    """
    fh = source.binary()
    known: dict[str, None] = {}
    fixed = False

    def order() -> list[str]:
        return list(known) + [c for c in columns or [] if c not in known]
    lines: list[bytes] = []
    yielded = False
    kept = FLOW_EVENTS

    def frame(lines: list[bytes]) -> pd.DataFrame:
        nonlocal fixed
        table = _arrow_lines(lines, kept)
        if table is None:
            records = _records(lines, source, kept)
            if not (fixed and text):
                for r in records:
                    known.update(dict.fromkeys(r))
            fixed = fixed or bool(records)
            return _frame(records, order(), text)
        if not (fixed and text):
            known.update(dict.fromkeys(table.column_names))
        fixed = True
        return _arrow_frame(table, order(), text)

    try:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            event = _event(line)
            if event is not None:
                if event not in kept:
                    source.left_out(event)
                    continue
                if event == "flow" and "netflow" in kept and not yielded:
                    kept = ("flow",)
                    held = len(lines)
                    lines = [held_line for held_line in lines if _event(held_line) != "netflow"]
                    source.netflow_events += held - len(lines)
            lines.append(line)
            if len(lines) >= chunk_size:
                chunk = frame(lines)
                lines = []
                if len(chunk):
                    yield chunk
                    yielded = True
    finally:
        fh.close()
    if not lines and not yielded and source.other_events:
        # Events of other kinds only (an alert or dns log, or eve.json with its flow output off): nothing to
        # score, and saying the columns are missing would send the user looking in the wrong place.
        n = source.other_events
        raise InputError(f"'{source.name}' holds no flow records, only {n:,} event{'s' if n != 1 else ''} of other kinds: "
                         + OTHER_EVENTS.get(source.log_lines, OTHER_EVENTS[""]))
    if lines or not yielded:
        chunk = frame(lines)
        if len(chunk) or not yielded:
            yield chunk


# What a log holding no flows holds instead, and where its flows are, by the reader that read it (Source.log_lines).
OTHER_EVENTS = {
    "": "Suricata's stats, dns, alert...; give a log with Suricata's flow events (eve-log types: flow)",
    **dict.fromkeys(("cef", "leef"), "none names a connection's two ends (src and dst), as a device's policy, login and "
                                     "system events do not; give the log of its connections"),
    "checkpoint": "none names a connection's two ends (src and dst), as policy installs and the log server's own notices "
                  "do not; give the gateways' connection logs",
    "kv": "FortiGate's event and UTM logs (type=\"event\", \"utm\"), Juniper's session opens and denials "
          "(RT_FLOW_SESSION_CREATE, _DENY) or SonicWall's connection opens and other events (m=98, ...), none of them a "
          "flow; give the log of its traffic (FortiGate's type=\"traffic\", Juniper's RT_FLOW_SESSION_CLOSE, SonicWall's "
          "m=537 \"Connection Closed\")",
    "asa": "no connection teardown (%ASA-6-302014, 302016), which the ASA sends at level 6 (informational), nor a "
           "denial by an access list (%ASA-4-106023, or 106100 where its entry logs); set its syslog level to informational, or give the log that holds them",
    "junos": "no session close (RT_FLOW_SESSION_CLOSE), which an SRX logs for a policy with `then log session-close`; "
             "set it, or give the log that holds them",
    "ftd": "no connection end event (%FTD-1-430003), only starts (430002) or intrusion and file events; set the access "
           "control rules to log at the end of connections to syslog, or give the log that holds them",
}


# The event type of an eve.json line, found without parsing it (the first "event_type" key: Suricata
# writes it before any nested object).
_EVENT = re.compile(rb'"event_type"\s*:\s*"([^"\\]*)"')


def _event(line: bytes) -> str | None:
    """The event type of a whole eve.json line; None for other lines (a cut line is left to the parser,
    which counts it)."""
    if b'"event_type"' not in line or not line.endswith(b"}"):
        return None
    event = _EVENT.search(line)
    return None if event is None else event.group(1).decode("utf-8", "replace")


def _records(lines: list[bytes], source: "Source", kept: tuple[str, ...] = FLOW_EVENTS) -> list[dict]:
    records = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            source.bad_line(line.decode("utf-8", "replace"))
            continue
        if not isinstance(obj, dict):
            source.bad_line(line.decode("utf-8", "replace"))
            continue
        event = obj.get("event_type")
        if event is not None and event not in kept:
            source.left_out(event)
            continue
        records.append(_flatten(obj))
    return records


def _arrow_lines(lines: list[bytes], kept: tuple[str, ...] = FLOW_EVENTS):
    """The lines as one flat Arrow table, or None where Python's reading could differ or is needed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pajson

    from .schema import is_arrow_list

    if not lines:
        return None
    data = b"\n".join(lines)

    def read(as_text=()):
        schema = pa.schema([(name, pa.string()) for name in as_text]) if as_text else None
        return pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(block_size=len(data) + 1),  # one block: one type per field
            parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
        )

    try:
        table = read()
        # Arrow reads ISO 8601 text as a timestamp (Zeek's JSON can write `ts` so); read it as the text it is.
        stamps = [f.name for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
        if stamps:
            table = read(stamps)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != len(lines):
        return None
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()  # {"flow": {"bytes": 1}} -> "flow.bytes"
    names = table.column_names
    if len(set(names)) != len(names):  # "a.b" written both nested and flat
        return None
    cols = []
    for field, col in zip(table.schema, table.columns):
        t = field.type
        if is_arrow_list(t):
            col = joined_list(col)
            if col is None:
                return None
        elif not (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_int64(t) or pa.types.is_float64(t) or pa.types.is_string(t)):
            return None  # a nested date or time, say: Python keeps it as written
        if field.name == "event_type" and any(k not in kept for k in pc.unique(col.drop_null()).to_pylist()):
            return None  # an event the line filter missed: Python's reading counts it
        cols.append(col)
    return pa.table(cols, names=names)


def joined_list(col):
    """A list column as Zeek writes a set in TSV (joined by ',', '(empty)' for none), or None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    value_type = col.type.value_type
    # Text, ints (Arrow writes an int64 as str() does) or nothing but empty sets; other items Python
    # would write differently.
    if not (pa.types.is_null(value_type) or pa.types.is_string(value_type) or pa.types.is_int64(value_type)):
        return None
    items = col.cast(pa.list_(pa.string()))
    joined = pc.binary_join(items, ",")
    empty = pc.equal(pc.list_value_length(items), 0)
    return pc.if_else(empty, pa.scalar("(empty)"), joined)


def _arrow_frame(table, columns: list[str], text: bool) -> pd.DataFrame:
    import pyarrow as pa

    n = table.num_rows
    data = {}
    for c in columns:
        if c in table.column_names:
            col = table.column(c)
        else:
            col = pa.nulls(n)
        if text:
            data[c] = col.cast(pa.large_string()).to_pandas()
        else:
            data[c] = col.to_pandas()
    return pd.DataFrame(data, columns=columns)


def _frame(records: list[dict], columns: list[str], text: bool) -> pd.DataFrame:
    if not text:
        return pd.DataFrame.from_records(records, columns=columns) if records else pd.DataFrame(columns=columns)
    import pyarrow as pa

    data = {}
    for c in columns:
        values = [r.get(c) for r in records]
        try:
            # One typed column, cast to text in C: JSON's true/false and numbers come out as written.
            # NaN (Python's json writes and reads it) is a gap, as it is to fit's typed frame.
            data[c] = pa.array(values, from_pandas=True).cast(pa.large_string()).to_pandas()  # large: what pandas keeps
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # mixed types in one column
            data[c] = pd.Series([None if v is None or v != v else _text(v) for v in values], dtype=object)
    return pd.DataFrame(data, columns=columns)
