"""A MikroTik router's firewall log (RouterOS, a rule's `log=yes`), one logged packet a line; each line
becomes a JSON record.
"""

from __future__ import annotations

import re

from .lines import json_text, most_lines, syslog_header

# `Dec  5 10:00:00 192.168.88.1 firewall,info DROP-IN input: in:ether1 out:(unknown 0), connection-state:new
# src-mac 4c:5e:0c:11:22:33, proto TCP (SYN), 198.51.100.7:51234->203.0.113.5:22, NAT (...)->..., len 60`: the
# rule's log prefix, the chain, the interfaces, the connection's state, the sender's MAC, the protocol with TCP's
# flags or ICMP's type and code, both ends (address:port), which end NAT translated, the packet's length.
# The prefix is a whole word: tried from inside a word too, each try ran to the word's end, and a line with no
# chain in it (a wide CSV's header, which the format guess tests) took time in the square of its longest word's
# length: 16 s for a header of 10,000 column names.
MIKROTIK = re.compile(
    r"(?:(?<!\S)(\S+) )?\b(input|forward|output|prerouting|postrouting|srcnat|dstnat): in:(\S*) out:(.*?), "
    r"(?:connection-state:(\S+) )?(?:src-mac (\S+), )?proto ([\w-]+)(?: \(([^)]*)\))?, (\S+?)->(\S+?)"
    r"(?:, NAT (\S+))?, len (\d+)")
_V4_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$")
MIKROTIK_TYPES = {"syslog_header": "sensor", "in_interface": "sensor", "out_interface": "sensor", "src_mac": "mac", "src_ip": "addr",
                  "dst_ip": "addr", "src_port": "port", "dst_port": "port", "len": "count"}
MIKROTIK_CORE = {"chain", "in_interface", "out_interface", "proto", "src_ip", "dst_ip"}


def _end(text: str | None) -> tuple[str | None, str | None]:
    """An end as the log writes it, `198.51.100.7:51234` or an address alone (ICMP; IPv6, whose colons hide
    its port), as (address, port)."""
    if text is None:
        return None, None
    m = _V4_PORT.match(text)
    return (m.group(1), m.group(2)) if m else (text, None)


def mikrotik_record(line: str) -> str | None:
    """A firewall log line as a JSON record; "" for the router's other messages (a login, DHCP), None for a
    firewall line that is not the format's."""
    m = MIKROTIK.search(line)
    if m is None:
        return None if "firewall" in line else ""
    prefix, chain, into, out, state, mac, proto, detail, src, dst, nat, size = m.groups()
    if prefix is not None and (prefix.endswith(",info") or prefix.startswith("firewall")):
        prefix = None  # the syslog topic (firewall,info), not a rule's prefix
    start = m.start(1) if m.group(1) is not None and prefix is not None else m.start(2)
    (src_ip, src_port), (dst_ip, dst_port) = _end(src), _end(dst)
    proto = proto.upper()
    fields = {"prefix": prefix, "chain": chain, "in_interface": into or None, "out_interface": None if out.startswith("(unknown") else out,
              "connection_state": state, "src_mac": mac, "proto": proto,
              "tcp_flags": (detail or "none") if proto == "TCP" else None, "icmp": detail if proto.startswith("ICMP") else None,
              "src_ip": src_ip, "src_port": src_port, "dst_ip": dst_ip, "dst_port": dst_port,
              # Which end was translated: `NAT (src->translated)->dst` or `NAT src->(dst->translated)`; the
              # addresses themselves identify, as the packet's own do.
              "nat": None if nat is None else "source" if nat.startswith("(") else "destination", "len": size}
    numbers = {"src_port", "dst_port", "len"}
    out_fields = [f'"syslog_header":{syslog_header(line, start)}']
    out_fields += [f'"{k}":{"null" if v is None else v if k in numbers else json_text(v)}' for k, v in fields.items()]
    return "{" + ",".join(out_fields) + "}"


def looks_mikrotik(text: str) -> bool:
    """Whether the peeked lines are a MikroTik router's firewall log."""
    return most_lines(text, MIKROTIK.search)
