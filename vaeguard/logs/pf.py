"""pf's filter log as pfSense and OPNsense write it (`filterlog`): one logged packet a line, comma-separated
values whose fields depend on the IP version and the protocol; each line becomes a JSON record.
"""

from __future__ import annotations

import re

from .lines import json_text, json_value, most_lines, syslog_header

# `<134>Dec  5 10:00:00 pfsense filterlog[64523]: 5,,,1000000103,igb0,match,block,in,4,0x0,,241,5114,0,none,6,tcp,
# 40,198.51.100.7,203.0.113.5,51234,3389,0,S,2846153216,,1024,,` (pfSense 2.2 and later; OPNsense writes the same
# after an RFC 5424 header, `filterlog 64523 - [meta sequenceId="7"] 96,,,fae559338f65e11c53669fc3642c93c2,...`).
# The data start with nine fields every line has: rule number, sub rule, anchor, tracker, interface, reason,
# action, direction, IP version.
FILTERLOG = re.compile(r"\bfilterlog\b.*?(?:^|\s)(\d*,\d*,[^,\s]*,[^,\s]*,[^,\s]+,[\w-]+,[\w-]+,(?:in|out),[46],.*)$")
_COMMON = ("rule_number", "sub_rule", "anchor", "tracker", "interface", "reason", "action", "direction", "ip_version")
_IPV4 = ("tos", "ecn", "ttl", "id", "offset", "flags", "protocol_id", "protocol")
_IPV6 = ("traffic_class", "flow_label", "hop_limit", "protocol", "protocol_id")
_IP = ("length", "src_ip", "dst_ip")
_PORTS = ("src_port", "dst_port", "data_length")
_TCP = ("tcp_flags", "seq", "ack", "window", "urg", "options")
# An ICMP message's fields after its type, by type (pfSense's names for the types).
_ICMP = {
    "request": ("icmp_id", "icmp_seq"), "reply": ("icmp_id", "icmp_seq"),
    "unreachproto": ("icmp_dst_ip", "icmp_protocol_id"), "unreachport": ("icmp_dst_ip", "icmp_protocol_id", "icmp_port"),
    "needfrag": ("icmp_dst_ip", "icmp_mtu"), "tstamp": ("icmp_id", "icmp_seq"),
    "tstampreply": ("icmp_id", "icmp_seq", "icmp_otime", "icmp_rtime", "icmp_ttime"),
}
_CARP = ("carp_type", "carp_ttl", "vhid", "version", "advskew", "advbase")
# Labels, written as text whatever their digits: a rule's tracker, the protocol's number, a CARP group. A rule
# number is pf's index of the rule, which the tracker names for good (editing the rules renumbers them):
# the same evidence twice, as is the protocol's number beside its name.
_LABELS = {"tracker", "ip_version", "protocol_id", "icmp_protocol_id", "vhid", "version", "carp_type", "sub_rule"}
FILTERLOG_TYPES = {
    "syslog_header": "sensor", "interface": "sensor", "rule_number": "copy", "protocol_id": "copy", "tracker": "label",
    "src_ip": "addr", "dst_ip": "addr", "icmp_dst_ip": "addr", "src_port": "port", "dst_port": "port", "icmp_port": "port",
    **dict.fromkeys(("id", "seq", "ack", "flow_label", "icmp_id", "icmp_seq"), "id"),
    **dict.fromkeys(("icmp_otime", "icmp_rtime", "icmp_ttime"), "time"),
    **dict.fromkeys(("ttl", "hop_limit", "offset", "length", "data_length", "window", "urg", "icmp_mtu", "carp_ttl", "advskew",
                     "advbase"), "count"),
}
FILTERLOG_CORE = {"tracker", "interface", "reason", "action", "direction", "ip_version"}


def filterlog_record(line: str) -> str | None:
    """A filter log line as a JSON record; "" for the firewall's other messages in the same stream (dhcpd,
    sshguard, the web interface's), None for a filterlog line that is not the format's."""
    if "filterlog" not in line:
        return ""
    m = FILTERLOG.search(line)
    if m is None:
        return None
    values = m.group(1).split(",")
    names = list(_COMMON)
    version = values[8]
    names += _IPV4 if version == "4" else _IPV6
    names += _IP
    at = len(_COMMON) + (_IPV4 if version == "4" else _IPV6).index("protocol")
    protocol = values[at].lower() if len(values) > at else ""
    if protocol in ("tcp", "udp"):
        names += _PORTS + (_TCP if protocol == "tcp" else ())
    elif protocol in ("icmp", "ipv6-icmp"):
        names.append("icmp_type")
        icmp_type = values[len(names) - 1] if len(values) >= len(names) else ""
        names += _ICMP.get(icmp_type, ("icmp_description",))
    elif protocol == "carp":
        names += _CARP
    fields = [f'"syslog_header":{syslog_header(line, m.start(1))}']
    for name, value in zip(names, values):
        if name == "tcp_flags" and not value:
            value = "none"  # a TCP packet with no flag set: a null scan, not a gap
        fields.append(f'"{name}":{(json_text(value) if value else "null") if name in _LABELS else json_value(value)}')
    return "{" + ",".join(fields) + "}"


def looks_filterlog(text: str) -> bool:
    """Whether the peeked lines are pf's filter log (pfSense, OPNsense), other syslog messages among them."""
    return most_lines(text, lambda line: "filterlog" in line) and any(FILTERLOG.search(line) for line in text.splitlines()[:20])
