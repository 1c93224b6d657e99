"""Events as firewalls send them to a SIEM: CEF, LEEF and Check Point's Log Exporter syslog; each line
becomes a JSON record.
"""

from __future__ import annotations

import re

from .keyvalue import fortigate_traffic
from .lines import KV_MIN_PAIRS, json_text, json_value, most_lines

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
    if not _names_both_ends(pairs, CEF_ENDS) or ("FTNTFGTlogid" in pairs and not fortigate_traffic(pairs.get("cat"))):
        return ""
    return _event_record({"syslog_header": line[: m.start()], **dict(zip(CEF_HEADER, parts[:7]))}, pairs, _cef_unescape)


def _event_record(header: dict[str, str], pairs: dict[str, str], unescape=lambda v: v) -> str:
    """A CEF or LEEF event's header fields and attributes as one JSON record. The header's fields are labels,
    text however they read (a version 1.0, a signature id 100); an attribute is a number where it reads as one."""
    fields = [f'"{key}":{json_text(unescape(value).strip()) if value.strip() else "null"}' for key, value in header.items()]
    fields += [f'"{key}":{json_value(unescape(value))}' for key, value in pairs.items()]  # a key is letters, digits and ._-[]
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
    return most_lines(text, CEF_START.search)


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
    return most_lines(text, LEEF_START.search)


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
    return most_lines(text, lambda line: CHECKPOINT_START.search(line) and len(CHECKPOINT_PAIR.findall(line)) >= KV_MIN_PAIRS)
