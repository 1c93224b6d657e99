"""DNS servers' query logs, one query a line: BIND's query log, dnsmasq's (Pi-hole's) and Unbound's; each query
becomes a JSON record whose name is measured by its shape (shapes.py), as a Zeek dns log's is.
"""

from __future__ import annotations

import re

from .lines import json_text, most_lines, syslog_header

# BIND (`querylog yes`): `05-Dec-2026 10:00:00.123 queries: info: client @0x7f8a1c0b4d40 10.0.0.5#53211
# (www.example.com): view internal: query: www.example.com IN A +E(0)K (10.0.0.1)`: the client and its port, the
# name, class and type, the request's flags (+ recursion asked for, E EDNS, T TCP, S signed, D DNSSEC OK, C
# checking disabled, K a cookie, V a valid one) and the address the query came in on.
BIND_QUERY = re.compile(r"\bclient (?:@0x[0-9a-fA-F]+ )?(\S+)#(\d+)(?: \([^)]*\))?: (?:view [^:]+: )?query: (\S+) (\S+) (\S+) ([-+]\S*) \(([^)]*)\)")
# dnsmasq (Pi-hole's FTL too, `log-queries`): `Dec  5 10:00:00 dnsmasq[1234]: query[A] www.example.com from
# 10.0.0.5`, among its lines for the same query forwarded, answered, cached or blocked (left out).
DNSMASQ_QUERY = re.compile(r"\b(?:dnsmasq|pihole-FTL)\[\d+\]: (?:\d+ [\d.:a-fA-F]+/\d+ )?query\[(\w+)\] (\S+) from (\S+)")
_DNSMASQ = re.compile(r"\b(?:dnsmasq|pihole-FTL)\[\d+\]: ")
# Unbound (`log-queries: yes`): `[1764928800] unbound[1234:0] info: 10.0.0.5 www.example.com. A IN`.
UNBOUND_QUERY = re.compile(r"\bunbound\[\d+:\d+\] info: (\S+) (\S+)\. (\S+) (\S+)$")
_UNBOUND = re.compile(r"\bunbound\[\d+:\d+\] ")
# A line of Unbound's own log file: its time in brackets first, which a JSON array of numbers also opens with.
UNBOUND_LINE = re.compile(r"^\[\d+\] unbound\[")
DNS_QUERY_TYPES = {"syslog_header": "sensor", "client": "addr", "client_port": "port", "server": "addr"}
DNS_QUERY_CORE = {"syslog_header", "client", "query", "qtype"}


def dns_query_record(line: str) -> str | None:
    """A query's line as a JSON record (syslog_header, client, query, qtype and what else the server writes);
    "" for the server's other lines (dnsmasq's forwarded, reply and cached lines; Unbound's and BIND's other
    messages), None for a line that is none of theirs."""
    m = BIND_QUERY.search(line)
    if m is not None:
        client, port, query, qclass, qtype, flags, server = m.groups()
        fields = [("client", client), ("client_port", port), ("query", query), ("qclass", qclass), ("qtype", qtype),
                  ("flags", flags), ("server", server)]
    elif (m := DNSMASQ_QUERY.search(line)) is not None:
        qtype, query, client = m.groups()
        fields = [("client", client), ("query", query), ("qtype", qtype)]
    elif (m := UNBOUND_QUERY.search(line)) is not None:
        client, query, qtype, qclass = m.groups()
        fields = [("client", client), ("query", query), ("qclass", qclass), ("qtype", qtype)]
    else:
        return "" if _DNSMASQ.search(line) or _UNBOUND.search(line) or " queries: " in line else None
    out = [f'"syslog_header":{syslog_header(line, m.start())}']
    out += [f'"{name}":{json_text(value) if name != "client_port" else value}' for name, value in fields]
    return "{" + ",".join(out) + "}"


def looks_dns_query_log(text: str) -> bool:
    """Whether the peeked lines are a DNS server's query log (BIND, dnsmasq, Unbound)."""
    if most_lines(text, BIND_QUERY.search):
        return True
    # dnsmasq writes three or four lines a query, Unbound its own notices: most lines are the server's, some queries.
    for server, query in ((_DNSMASQ, DNSMASQ_QUERY), (_UNBOUND, UNBOUND_QUERY)):
        if most_lines(text, server.search) and any(query.search(line) for line in text.splitlines()[:40]):
            return True
    return False
