"""Firewall logs of key=value pairs, as syslog delivers them: FortiGate's traffic log, a SonicWall's
connection closes, a Juniper SRX's structured and default session logs, Linux netfilter's packet log
(iptables, nftables, UFW); each line becomes a JSON record.
"""

from __future__ import annotations

import re

from .lines import KV_MIN_PAIRS, json_text, json_value, most_lines, picked, syslog_header

# Firewall logs written as key=value pairs (FortiGate, and the syslog of many others: `date=2026-12-01
# time=10:15:03 srcip=10.0.1.20 srcport=52344 ... sentbyte=2345`), a syslog header before the pairs or
# not. A value is quoted when it may hold spaces; unquoted digits are numbers, quoted ones stay text
# (logid="0000000013" keeps its zeros). A key is tried only where a run of key characters begins, from its
# first letter on (digits, dots or dashes before that letter are not the key's): tried at every letter, a long
# token with no `=` after it (a URL, a payload) was scanned to its end from each of its characters: 0.5 s for a
# line with a 10,000-character URL, minutes for a line of 300,000 characters.
KV_PAIR = re.compile(r'(?<![\w.-])[\d.-]*([A-Za-z_][\w.-]*)=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)')
# Pairs separated by `|` instead (Check Point's Log Exporter in its Splunk format: `time=1557767758|hostname=r80|
# ...|src=10.0.0.5|`): a value runs up to the next `|` and may hold spaces; `\=` and `\|` escape.
KV_PIPED = re.compile(r"(?:^|[|\s])([A-Za-z_][\w.-]*)=((?:[^|\\]|\\.)*)")
_PIPE_KEY = re.compile(r"\|[A-Za-z_][\w.-]*=")
_PIPE_ESCAPES = re.compile(r"\\([\\=|])")


# Linux netfilter's LOG target (iptables, nftables' log statement, UFW, firewalld), one line per logged packet,
# the first of a connection where a rule logs new ones: `kernel: [UFW BLOCK] IN=eth0 OUT= MAC=... SRC=203.0.113.9
# DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=41 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0`.
# The header flags are bare words, the IP header's (CE, DF, MF) and TCP's (CWR ECE URG ACK PSH RST SYN FIN): gathered
# as IPFLAGS and TCPFLAGS ("none" where a TCP packet sets none: a null scan). The rule's log prefix (UFW's
# `[UFW BLOCK]`) becomes PREFIX. The interfaces name one machine's ports (eth0, ens3), but which of IN and OUT is
# set is the packet's direction, DIRECTION: in (to this host), out (from it) or forward (routed through).
# A field named twice takes its protocol's name the second time (UDP's own LEN is UDPLEN, an ICMP echo's ID
# ICMPID); the packet an ICMP error quotes, in brackets, and TCP's options in parentheses are left out.
_NETFILTER = re.compile(r"(?:^|\s)IN=\S*\s+OUT=\S*\s.*\bSRC=")
_NETFILTER_IP_FLAGS = {"CE", "DF", "MF"}
_NETFILTER_TCP_FLAGS = {"CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"}
# What stands before the prefix: the kernel's uptime stamp (dmesg), or a syslog time and host where no `kernel:` says
# where the message begins (ulogd's text log).
_UPTIME = re.compile(r"\s*\[\s*\d+\.\d+\]\s*")
_SYSLOG_TIME_HOST = re.compile(r"\s*(?:<\d+>\d?\s*)?(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)\s+\S+\s*")
NETFILTER_CORE = {"IN", "OUT", "SRC", "DST", "PROTO", "DIRECTION"}
NETFILTER_TYPES = {
    **dict.fromkeys(("syslog_header", "IN", "OUT", "PHYSIN", "PHYSOUT"), "sensor"), "MAC": "mac", "SRC": "addr", "DST": "addr",
    "SPT": "port", "DPT": "port", **dict.fromkeys(("ID", "SEQ", "ACK", "ICMPID"), "id"),
    **dict.fromkeys(("LEN", "TTL", "WINDOW", "URGP", "UDPLEN", "MTU", "TYPE", "CODE"), "count"),
}


def without_quoted(text: str) -> str:
    """`text` with each bracketed span ("[...]" up to the first "]", "(...)" up to the first ")") replaced by
    a space, as the pattern `\\[[^\\]]*\\]|\\([^)]*\\)` would: found with str.find, since that pattern, tried at
    every "[" of a line of many and no "]", took time as the square of the line's length (2.4 s on a 64 KiB
    line, a kernel message's worth)."""
    pieces, at = [], 0
    following = {"[": text.find("["), "(": text.find("(")}  # each opening bracket's next place; -1: none left to close
    while True:
        ahead = [i for i in following.values() if i >= 0]
        if not ahead:
            break
        opening = min(ahead)
        bracket = text[opening]
        closing = text.find("]" if bracket == "[" else ")", opening + 1)
        if closing < 0:  # nothing closes it, nor any of its kind after it
            following[bracket] = -1
            continue
        pieces += [text[at:opening], " "]
        at = closing + 1
        for b, i in following.items():
            if 0 <= i < at:
                following[b] = text.find(b, at)
    pieces.append(text[at:])
    return "".join(pieces)


def netfilter_record(line: str, start: int) -> str:
    """A netfilter log line as a JSON record; `start`: where its IN= begins. What stands before the rule's
    prefix (the syslog time and host, the kernel's uptime stamp) is kept whole as `syslog_header`."""
    head = line[:start]
    if "kernel:" in head:
        cut = head.rindex("kernel:") + len("kernel:")
    else:
        time_host = _SYSLOG_TIME_HOST.match(head)
        cut = time_host.end() if time_host else 0
    uptime = _UPTIME.match(head[cut:])
    cut += uptime.end() if uptime else 0
    prefix = head[cut:].strip()
    fields: dict[str, str] = {}
    ip_flags, tcp_flags, proto = [], [], ""
    for token in without_quoted(line[start:]).split():
        key, eq, value = token.partition("=")
        if eq:
            if key == "PROTO":
                proto = value
            key = f"{proto}{key}" if key in fields else key
            fields.setdefault(key, value)
        elif token in _NETFILTER_IP_FLAGS:
            ip_flags.append(token)
        elif token in _NETFILTER_TCP_FLAGS:
            tcp_flags.append(token)
    into, out = bool(fields.get("IN")), bool(fields.get("OUT"))
    direction = "forward" if into and out else "in" if into else "out" if out else ""
    out_fields = [f'"syslog_header":{syslog_header(line, cut)}', f'"PREFIX":{json_text(prefix) if prefix else "null"}',
                  f'"DIRECTION":{json_text(direction) if direction else "null"}']
    out_fields += [f'"{key}":{json_value(value)}' for key, value in fields.items()]
    out_fields.append(f'"IPFLAGS":{json_text(" ".join(ip_flags) or "none")}')
    if proto == "TCP":
        out_fields.append(f'"TCPFLAGS":{json_text(" ".join(tcp_flags) or "none")}')
    return "{" + ",".join(out_fields) + "}"


def key_values(line: str) -> str | None:
    """A line's key=value pairs as a JSON record (None when it holds fewer than KV_MIN_PAIRS: not such a
    line). Whatever stands before the first pair (a syslog priority, time and host) is left out. Written
    as JSON text straight from the pairs: a dict and json.dumps per line took twice as long."""
    if _piped(line):
        pairs = {}
        for key, value in KV_PIPED.findall(line):
            pairs.setdefault(key, _PIPE_ESCAPES.sub(r"\1", value).strip())  # a key written twice (Check Point's time): the first
        return "{" + ",".join(f'"{key}":{json_value(value)}' for key, value in pairs.items()) + "}"
    pairs = KV_PAIR.findall(line)
    if len(pairs) < KV_MIN_PAIRS:
        # kern.log holds the kernel's other messages among netfilter's: left out as messages, not malformed.
        return "" if "kernel:" in line else None
    netfilter = _NETFILTER.search(line) if "IN=" in line else None
    if netfilter is not None:
        return netfilter_record(line, line.index("IN=", netfilter.start()))
    if "logid=" in line and not fortigate_traffic(next((value for key, value in pairs if key == "type"), None)):
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
            out.append(f'"{key}":{json_text(value) if value else "null"}')
        else:
            out.append(f'"{key}":{json_value(value)}')
    rule = _MERAKI_PATTERN.search(line)
    if rule is not None and all(key != "pattern" for key, _ in pairs):
        out.append(f'"pattern":{json_text(rule.group(1).strip())}')
    return "{" + ",".join(out) + "}"


# Cisco Meraki's flows and firewall syslog (`<134>1 1700000000.636961686 MX84 flows src=10.0.0.5 dst=... protocol=tcp
# sport=52421 dport=443 pattern: allow all`) ends with the rule that matched, after a colon: kept as `pattern`.
_MERAKI_PATTERN = re.compile(r"\spattern: (.*)$")


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


def sonicwall_hints(names: set[str]) -> dict[str, str]:
    hints = picked(SONICWALL_TYPES)(names)
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


def fortigate_traffic(log_type: str | None) -> bool:
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
    fields = [f'"{key}":{json_value(value) if value is not None else "null"}' for key, value in zip(JUNOS_CLOSE_FIELDS, m.groups())]
    return "{" + ",".join([f'"syslog_header":{syslog_header(line, m.start())}', *fields]) + "}"


def looks_junos(text: str) -> bool:
    """Whether the peeked lines are a Juniper SRX's syslog in its default format (RT_FLOW_SESSION_CLOSE: ...)."""
    return most_lines(text, JUNOS_MESSAGE.search)


def _piped(line: str) -> bool:
    return "|" in line and len(_PIPE_KEY.findall(line)) >= KV_MIN_PAIRS - 1


def looks_key_value(text: str) -> bool:
    """Whether the peeked lines are key=value records: lines that hold enough pairs, which cover most of the
    line (a CSV row of 'a=b' cells does not)."""
    def record(line: str) -> bool:
        if _piped(line):
            return True
        pairs = KV_PAIR.findall(line)
        if len(pairs) < KV_MIN_PAIRS:
            return False
        # From the first pair on: the syslog header before it is left out of the record (Meraki's `<134>1
        # 1700000000.636961686 MX84 flows` is a third of its line).
        start = KV_PAIR.search(line).start(1)
        return sum(len(k) + len(v) + 1 for k, v in pairs) >= 0.6 * len(line[start:].strip())

    return most_lines(text, record)


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
