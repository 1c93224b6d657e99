"""Web access logs: a web server's in the Common or Combined Log Format (Apache's and nginx's defaults) and
Squid's native access log (a forward proxy's); each line becomes a JSON record, its request split into
method, target and protocol, so that the target is measured by its shape (shapes.py).
"""

from __future__ import annotations

import re

from .lines import json_text, json_value, most_lines

# `203.0.113.9 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://example.com/"
# "Mozilla/5.0 ..."`: client, identd's answer, user, time, the request line, status, bytes (`-` for none), and in
# the Combined format the referrer and user agent; Apache's vhost_combined puts `host:port` first. Fields a
# server appends (nginx's request time, a request id) are left out.
ACCESS_LINE = re.compile(
    r'^(?:(\S+:\d+) )?(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}|-) (\d+|-)'
    r'(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?')
_REQUEST = re.compile(r"^([A-Za-z]+) (\S+)(?: (HTTP/[\d.]+))?$")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_CLF_TIME = re.compile(r"^(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}:\d{2}:\d{2})(?: ([+-]\d{2})(\d{2}))?$")
ACCESS_TYPES = {"vhost": "domain", "client": "addr", "time": "time", "bytes": "count"}
ACCESS_CORE = {"client", "ident", "time", "method", "uri", "status", "bytes"}

# Squid's native format (`logformat squid`): `1700000000.123    110 10.0.0.51 TCP_MISS/200 5127 GET
# http://example.com/a?b=1 - HIER_DIRECT/93.184.216.34 text/html`: time, elapsed milliseconds, client, Squid's
# result and the HTTP status, bytes, method, URL, user, hierarchy and the server or peer, content type. The URL
# is split into its host, port and target (path and query); a CONNECT names host:port alone.
SQUID_LINE = re.compile(r"^\s*(\d{9,11}\.\d{1,6})\s+(-?\d+)\s+(\S+)\s+([A-Z_]+)/(\d{3})\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([A-Z_]+)/(\S+)\s+(\S+)")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/:?#\s]+)(?::(\d+))?([^#\s]*)")
_HOST_PORT = re.compile(r"^([^/:\s]+):(\d+)$")
_SCHEME_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
SQUID_TYPES = {"time": "time", "elapsed": "interval", "client": "addr", "bytes": "count", "url": "copy", "host": "domain",
               "port": "port", "peer": "addr"}
SQUID_CORE = {"elapsed", "client", "result", "status", "hierarchy", "peer"}


def _text(value: str | None) -> str:
    return "null" if value is None or value == "-" else json_text(value)


def clf_time(text: str) -> str:
    """10/Oct/2026:13:55:36 -0700 as ISO 8601 (2026-10-10T13:55:36-07:00), which the time role reads; as it
    is where it is no such time."""
    m = _CLF_TIME.match(text)
    if m is None or m.group(2) not in _MONTHS:
        return text
    day, month, year, clock, hours, minutes = m.groups()
    zone = f"{hours}:{minutes}" if hours else ""
    return f"{year}-{_MONTHS[month]:02d}-{day}T{clock}{zone}"


def access_record(line: str) -> str | None:
    """A Common or Combined Log Format line as a JSON record, None for a line that is none. A request line
    that is no request (a TLS handshake sent to the HTTP port, an empty one) keeps its text as `request`,
    method and target unset: a row of its own kind."""
    m = ACCESS_LINE.match(line)
    if m is None:
        return None
    vhost, client, ident, user, when, request, status, size, referrer, agent = m.groups()
    parts = _REQUEST.match(request)
    method, uri, protocol = parts.groups() if parts else (None, None, None)
    fields = ([f'"vhost":{_text(vhost.rsplit(":", 1)[0])}'] if vhost else []) + [
        f'"client":{_text(client)}', f'"ident":{_text(ident)}', f'"user":{_text(user)}', f'"time":{json_text(clf_time(when))}',
        f'"request":{"null" if parts else _text(request)}', f'"method":{_text(method)}', f'"uri":{_text(uri)}',
        f'"protocol":{_text(protocol)}', f'"status":{_text(status)}', f'"bytes":{json_value(size) if size != "-" else "0"}']
    if agent is not None:
        fields += [f'"referrer":{_text(referrer)}', f'"user_agent":{_text(agent)}']
    return "{" + ",".join(fields) + "}"


def squid_record(line: str) -> str | None:
    """A line of Squid's native access log as a JSON record, None for a line that is none."""
    m = SQUID_LINE.match(line)
    if m is None:
        return None
    when, elapsed, client, result, status, size, method, url, user, hierarchy, peer, content = m.groups()
    host = port = uri = None
    link = _URL.match(url)
    if link is not None:
        scheme, host, port, uri = link.groups()
        port = port or _SCHEME_PORTS.get(scheme.lower())
        uri = uri or "/"
    else:
        target = _HOST_PORT.match(url)
        if target is not None:  # CONNECT host:443
            host, port = target.groups()
    fields = [f'"time":{json_value(when)}', f'"elapsed":{json_value(elapsed)}', f'"client":{_text(client)}', f'"result":{_text(result)}',
              f'"status":{_text(status)}', f'"bytes":{json_value(size)}', f'"method":{_text(method)}', f'"url":{_text(url)}',
              f'"host":{_text(host)}', f'"port":{json_value(str(port)) if port else "null"}', f'"uri":{_text(uri)}',
              f'"user":{_text(user)}', f'"hierarchy":{_text(hierarchy)}', f'"peer":{_text(peer)}', f'"content_type":{_text(content)}']
    return "{" + ",".join(fields) + "}"


def looks_access_log(text: str) -> bool:
    """Whether the peeked lines are a web server's access log (Common or Combined Log Format)."""
    return most_lines(text, ACCESS_LINE.match)


def looks_squid(text: str) -> bool:
    """Whether the peeked lines are Squid's native access log."""
    return most_lines(text, SQUID_LINE.match)
