"""Firewall syslog with a fixed field order or message formats: Palo Alto's PAN-OS traffic logs (and its
web CSV export's names), a Cisco ASA's teardowns and denials, a Firepower device's connection events; each
line becomes a JSON record (PAN-OS: a CSV row).
"""

from __future__ import annotations

import json
import re

from .lines import header_before, json_text, json_value, most_lines, syslog_header

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


def pan_os_export_hints(names: set[str]) -> dict[str, str]:
    return {name: PANOS_TYPES[f] for name, f in pan_os_export_fields(names).items() if f in PANOS_TYPES}


# Where a PAN-OS log line starts, after any syslog header: FUTURE_USE, the receive time, the serial number
# and the log's type (TRAFFIC, THREAT, SYSTEM, ...).
PANOS_START = re.compile(r"(?:^|(?<=[\s>]))[^,\s]*,\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2},[^,]*,([A-Z]+),")


def looks_pan_os(text: str) -> bool:
    """Whether the peeked lines are a PAN-OS firewall's syslog: lines that start as a PAN-OS log does."""
    return most_lines(text, PANOS_START.search)


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


def without_user(reason: str) -> str:
    """A teardown's reason less the user name in brackets after it ("TCP FINs (alice)"), and the spaces
    before the brackets: what a pattern (spaces, an opening bracket, no closing one, a closing one at the
    end) would remove, found from the end, since that pattern, tried at every "(" of a line of many and
    no ")", took time as the square of the line's length."""
    if not reason.endswith(")"):
        return reason
    inner = reason.rfind(")", 0, len(reason) - 1)  # the brackets hold no ")": they open after the one before
    opening = reason.find("(", inner + 1, len(reason) - 1)
    return reason if opening < 0 else reason[:opening].rstrip()


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
        reason, _, initiator = without_user(rest).partition(" from ")
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
    return json.dumps({"syslog_header": header_before(line, m.start()) or None, **record}, separators=(",", ":"))


def _number(v: str | None) -> int | None:
    return None if v is None else int(v)


def looks_cisco_asa(text: str) -> bool:
    """Whether the peeked lines are a Cisco ASA's syslog: lines that carry an ASA (or FTD) message id."""
    return most_lines(text, ASA_MESSAGE.search)


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
    pairs = {"syslog_header": syslog_header(line, m.start())}
    for key, after in zip(keys, [*keys[1:], None]):
        value = body[key.end(): after.start() if after is not None else len(body)].strip()
        pairs.setdefault(key.group(1), json_value(value))
    return "{" + ",".join(f"{json_text(key)}:{value}" for key, value in pairs.items()) + "}"


def looks_ftd_events(text: str) -> bool:
    """Whether a Cisco ASA / FTD syslog's peeked lines hold Firepower connection events (430002, 430003)."""
    return any(m.group(1) in ("430002", "430003") for m in FTD_EVENT.finditer(text))
