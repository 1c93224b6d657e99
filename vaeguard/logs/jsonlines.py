"""JSON lines: Zeek JSON, Suricata eve.json (its flow events; stats, dns, alert... counted and left out),
goflow2, pmacct and nProbe records. They go through pyarrow's JSON reader a chunk at a time, with Python's
json for the chunks Arrow would read differently (see `json_chunks`); nested keys become flat names
(`flow.bytes_toserver`).
"""

from __future__ import annotations

import io
import json
import re
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pandas as pd

from ..errors import InputError
from .zeek import ZEEK_CONN_TYPES

if TYPE_CHECKING:
    from ..sources import Source

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


# eve.json mixes flows with stats, dns, alert... events; only these describe one flow each. With both
# outputs on, Suricata writes a connection three times: a flow event holding both directions, and a netflow
# event per direction. The reader then keeps the flow events (see json_chunks). pmacct's JSON (a NetFlow,
# IPFIX and sFlow collector) names its flow records "purge", between "purge_init" and "purge_close" markers.
# Zeek's JSON streams (the json-streaming-logs package, a Kafka topic, an export of every log) name each
# record's log in `_path`: its conn records are the flows, its dns, http, files... records other kinds.
FLOW_EVENTS = ("flow", "netflow", "purge", "conn")


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
    from ..schema import is_ip_address

    values = [r[k] for r in records for k in _IPFIX_ADDRESS_ELEMENTS if isinstance(r.get(k), str)]
    return bool(values) and all(map(is_ip_address, values))


def json_hints(text: str) -> dict[str, str]:
    """Column types for JSON lines: Zeek's conn fields or Suricata's flow fields, by the records' keys, or
    IPFIX elements by number (nProbe's JSON without labels)."""
    lists: dict[str, set] = {}
    records = _head_records(text, lists=lists)
    keys = set().union(*records)
    # An array is its member count, as a Zeek set is in TSV (the reader joins it as Zeek writes one): a
    # Zeek dns log's answers, say, which the conn fields below do not name. Its members' type goes with
    # it, for the JSON output to write them back as they were.
    hints = {name: _list_hint(lists[name]) for name in sorted(lists)}
    if "event_type" in keys or "flow.start" in keys:
        hints.update(EVE_FLOW_TYPES)
    elif "uid" in keys or "id.orig_h" in keys:
        hints.update(ZEEK_CONN_TYPES)
        if {"method", "uri", "host"} <= keys:
            # Zeek's http.log: its host is the request's Host header, the site asked for by its name (the TSV
            # log says so in #path, Source.role_hints).
            hints["host"] = "domain"
    elif keys and all(k.isdigit() for k in keys) and _holds_addresses(records):
        hints.update({k: v for k, v in IPFIX_ELEMENT_TYPES.items() if k in keys})
    return hints


def head_keys(text: str) -> set[str]:
    """The fields of the first 50 records of JSON lines, nested keys joined with dots, as `json_hints` reads them."""
    return set().union(*_head_records(text))


def _head_records(text: str, lines: int = 50, lists: dict | None = None) -> list[dict]:
    """The records among the first `lines` lines of JSON lines text, flattened (`lists`: see _flatten); a line cut
    at the peek's end, or not a record, is passed over."""
    records = []
    for line in text.splitlines()[:lines]:
        try:
            obj = json.loads(line)
            if isinstance(obj, dict):
                records.append(_flatten(obj, lists=lists))
        except (ValueError, RecursionError):  # see _records
            continue
    return records


def _flatten(obj: dict, prefix: str = "", out: dict | None = None, lists: dict | None = None) -> dict:
    """`obj` with nested keys joined by '.'; `lists` collects the keys of arrays of plain values or of records,
    each with the kinds of members it held (see _member_kind)."""
    out = {} if out is None else out
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + ".", out, lists)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            # A list of records (Suricata 8's dns.queries and dns.answers): its member count, as a set's is (the
            # JSON text is kept, for the output and for counting), and its first record's fields under its name,
            # dns.queries.rrname: where Suricata 7 wrote the question's rrname, Suricata 8 writes it only there.
            if lists is not None:
                lists.setdefault(name, set()).add("record")
            out[name] = records_text(value)
            _flatten(value[0], name + ".", out, lists)
        elif isinstance(value, list):
            value = [v for v in value if v is not None]  # a null is no member (Arrow's reading: see joined_list)
            if lists is not None and not any(isinstance(v, (dict, list)) for v in value):
                lists.setdefault(name, set()).update(map(_member_kind, value))
            # Zeek sets and vectors, Suricata vlan lists: joined as Zeek writes them in TSV, a comma within a
            # member written as \x2c (Zeek's escape of its set separator), so that the count of members holds.
            out[name] = joined_members(value)
        else:
            out[name] = value
    return out


_COMPACT = json.JSONEncoder(separators=(",", ":"))
SET_COMMA = "\\x2c"  # a comma within a member of a joined list, as Zeek's TSV writes one within a set's member


def _member_kind(value) -> str:
    """A plain list member's type, as Zeek names a set's (set[count], set[string]): the JSON output writes the
    members back as what they were."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return "string" if isinstance(value, str) else ""


def _list_hint(kinds: set) -> str:
    """JSON's hint for an array: "list[int]", "list[string]", "list[record]"...; "list" where the head's members
    were of more than one type (an int among doubles is a double)."""
    kinds = {"double"} if kinds == {"int", "double"} else kinds
    return f"list[{next(iter(kinds))}]" if len(kinds) == 1 and "" not in kinds else "list"


def records_text(records: list[dict]) -> str:
    """A list of records as the JSON text both readers write for it: a field without a value left out (Arrow's
    reading of a list gives every record every field) and the fields in the order of their names (Arrow's
    is the order it first met them in, Python's each record's own)."""
    return _COMPACT.encode([{k: v for k, v in sorted(r.items()) if v is not None} for r in records])


def joined_members(members: list) -> str:
    """A plain list's members as the readers join them (a Zeek set as its TSV writes one): "a,b", a comma within a
    member as \\x2c, "(empty)" for none."""
    return ",".join(member_text(v).replace(",", SET_COMMA) for v in members) if members else "(empty)"


def member_text(v) -> str:
    """A JSON value as the readers write it in a joined list or a text column (a list from Spark: numpy's too)."""
    if isinstance(v, (bool, np.bool_)):
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
    take as it is (a bad line, a field whose type changes, a list of records holding lists, a nested field Arrow would
    read as a date) goes through Python's json, which gives the same frame and finds the bad lines.
    """
    fh = source.binary()
    known: dict[str, None] = {}
    fixed = False

    def order() -> list[str]:
        return list(known) + [c for c in columns or [] if c not in known]
    lines: list[bytes] = []
    yielded = False
    kept = source.events or FLOW_EVENTS
    key = kind_key(source)

    def frame(lines: list[bytes]) -> pd.DataFrame:
        nonlocal fixed
        lists: dict[str, set] = {}
        table = _arrow_lines(lines, kept, key, lists)
        if table is None:
            records = _records(lines, source, kept, key, lists)
        # An array the head's records did not hold (json_hints) is a list from the chunk that holds it on: its
        # member count for fit's roles, an array for the output. The hints gain it before the chunk is handed on.
        for name, kinds in lists.items():
            if name not in source.hints:
                source.hints[name] = _list_hint(kinds)
                source.late_lists.add(name)
        if table is None:
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
            event = _event(line, key)
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
        kinds = sorted(source.other_kinds.items(), key=lambda kv: -kv[1])
        counted = ", ".join(f"{kind} {count:,}" for kind, count in kinds[:5])
        if source.events:
            raise InputError(f"'{source.name}' holds no {' or '.join(source.events)} events, only {n:,} of other types ({counted}); "
                             f"name those to read with --events, such as --events {kinds[0][0]}")
        hint = OTHER_EVENTS.get(source.log_lines if not source.zeek_logs else "zeek", OTHER_EVENTS[""])
        rows = [kind for kind, _ in kinds if kind != "stats"]  # the engine's counters are no traffic
        if not source.log_lines and rows:  # Suricata's or Zeek's: its other events can be the rows
            hint += f"; or read its {rows[0]} {'records' if source.zeek_logs else 'events'} as the rows with --events {rows[0]}"
        counted = f" ({counted})" if not source.log_lines else ""  # a firewall's: every one a "message"
        word = "record" if source.zeek_logs else "event"
        raise InputError(f"'{source.name}' holds no flow records, only {n:,} {word}{'s' if n != 1 else ''} of other kinds"
                         f"{counted}: {hint}")
    if lines or not yielded:
        chunk = frame(lines)
        if len(chunk) or not yielded:
            yield chunk


# What a log holding no flows holds instead, and where its flows are, by the reader that read it (Source.log_lines).
OTHER_EVENTS = {
    "": "Suricata's stats, dns, alert...; give a log with Suricata's flow events (eve-log types: flow)",
    "zeek": "records of Zeek's other logs (named in _path: dns, http, ssl...); give the stream or file of its conn log",
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
    "dnsquery": "no query line (BIND's `query:`, dnsmasq's `query[A]`, Unbound's `info:` with a name), which a DNS server "
                "writes with its query logging on (BIND's querylog, dnsmasq's log-queries, Unbound's log-queries); give that log",
    "mikrotik": "no firewall log line (chain: in:... out:..., proto ..., src->dst, len N), which RouterOS writes for a "
                "rule with log=yes; give the router's firewall log",
    "filterlog": "no filter log line (filterlog: ...), which pf writes for the rules set to log; give the firewall's filter log",
    "junos": "no session close (RT_FLOW_SESSION_CLOSE), which an SRX logs for a policy with `then log session-close`; "
             "set it, or give the log that holds them",
    "ftd": "no connection end event (%FTD-1-430003), only starts (430002) or intrusion and file events; set the access "
           "control rules to log at the end of connections to syslog, or give the log that holds them",
}


# The event type of an eve.json line, found without parsing it (the first "event_type" key: Suricata
# writes it before any nested object), or the log of a Zeek JSON stream's record ("_path", which Zeek writes first).
_KIND_KEYS = {"event_type": re.compile(rb'"event_type"\s*:\s*"([^"\\]*)"'), "_path": re.compile(rb'"_path"\s*:\s*"([^"\\]*)"')}
# A Zeek log's name (conn, dns, smb_files...): another tool's "_path" (a URL's path) names no log.
_ZEEK_LOG_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _event(line: bytes, key: str = "event_type") -> str | None:
    """The event type (or, for key "_path", the Zeek log) of a whole JSON line; None for other lines (a cut line is
    left to the parser, which counts it)."""
    if f'"{key}"'.encode() not in line or not line.endswith(b"}"):
        return None
    event = _KIND_KEYS[key].search(line)
    return None if event is None else event.group(1).decode("utf-8", "replace")


def kind_key(source: "Source") -> str:
    """The key that names a record's kind in `source`: Zeek's _path in a Zeek JSON stream of logs, else Suricata's event_type."""
    return "_path" if source.zeek_logs else "event_type"


def zeek_logs_in(text: str) -> list[str]:
    """The Zeek logs the first records of JSON lines name in `_path`, most common first: a stream of Zeek's logs
    (json-streaming-logs, a Kafka topic) where each record has its time (ts) and a log's name; [] for others."""
    counts: dict[str, int] = {}
    for record in _head_records(text, 200):
        if "ts" not in record or not isinstance(record.get("_path"), str):
            continue
        if not _ZEEK_LOG_NAME.fullmatch(record["_path"]):
            return []
        counts[record["_path"]] = counts.get(record["_path"], 0) + 1
    return sorted(counts, key=lambda k: -counts[k])


def _records(lines: list[bytes], source: "Source", kept: tuple[str, ...] = FLOW_EVENTS, key: str = "event_type",
             lists: dict | None = None) -> list[dict]:
    records = []
    for line in lines:
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a record")
            event = obj.get(key)
            if event is not None and event not in kept:
                source.left_out(event)
                continue
            records.append(_flatten(obj, lists=lists))
        except (ValueError, RecursionError):  # RecursionError: a record nested deeper than Python parses, a malformed line too
            source.bad_line(line.decode("utf-8", "replace"))
    return records


def _arrow_lines(lines: list[bytes], kept: tuple[str, ...] = FLOW_EVENTS, key: str = "event_type", lists: dict | None = None):
    """The lines as one flat Arrow table, or None where Python's reading could differ or is needed. `lists`
    collects the arrays' members' kinds, as _flatten's does."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pajson

    from ..schema import is_arrow_list

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
    if len(set(table.column_names)) != len(table.column_names):  # "a.b" written both nested and flat
        return None
    cols, names, kinds = [], [], {}
    for field, col in zip(table.schema, table.columns):
        t = field.type
        if is_arrow_list(t) and pa.types.is_struct(t.value_type):
            records = _records_columns(field.name, col)
            if records is None:
                return None
            cols += [c for _, c in records]
            names += [n for n, _ in records]
            kinds[field.name] = {"record"}
            continue
        if is_arrow_list(t):
            col = joined_list(col)
            if col is None:
                return None
            kinds[field.name] = {"string"} if pa.types.is_string(t.value_type) else {"int"} if pa.types.is_int64(t.value_type) else set()
        elif not (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_int64(t) or pa.types.is_float64(t) or pa.types.is_string(t)):
            return None  # a nested date or time, say: Python keeps it as written
        if field.name == key and any(k not in kept for k in pc.unique(col.drop_null()).to_pylist()):
            return None  # an event the line filter missed: Python's reading counts it
        cols.append(col)
        names.append(field.name)
    if len(set(names)) != len(names):
        return None
    if lists is not None:
        for name, kind in kinds.items():
            lists.setdefault(name, set()).update(kind)
    return pa.table(cols, names=names)


def _records_columns(name: str, col) -> list | None:
    """A list of records as `_flatten` writes it: (name, its JSON text) and (name.field, the first record's
    value) for each plain field; None where a record holds a list or a record (Python's reading then)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    members = col.type.value_type
    if not all(pa.types.is_null(f.type) or pa.types.is_boolean(f.type) or pa.types.is_int64(f.type) or pa.types.is_float64(f.type)
               or pa.types.is_string(f.type) for f in members):
        return None
    for i, f in enumerate(members):
        if pa.types.is_float64(f.type):
            numbers = col.values.field(i).drop_null()
            if pc.any(pc.equal(numbers, pc.floor(numbers))).as_py():
                return None  # 60 and 5.5 in one field are both doubles to Arrow; Python writes the 60 as it was
    values = col.to_pylist()  # the text in Python: one writer for both readers, so a chunk reads as the other would
    text = pa.array([None if v is None else records_text(v) if v else "(empty)" for v in values], pa.string())
    lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy(zero_copy_only=False)
    offsets = col.offsets.to_numpy(zero_copy_only=False)[:-1]
    first = pa.array(np.where(lengths > 0, offsets, 0)).cast(pa.int64())
    first = pc.if_else(pa.array(lengths > 0), first, pa.scalar(None, pa.int64()))
    firsts = col.values.take(first)
    return [(name, text)] + [(f"{name}.{f.name}", firsts.field(i)) for i, f in enumerate(members)]


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
    if isinstance(items, pa.ChunkedArray):
        items = items.combine_chunks()
    # The members are rebuilt into lists only where one is null or holds a comma: most chunks have neither.
    members = pc.list_flatten(items)
    nulls, commas = members.null_count > 0, pc.any(pc.match_substring(members, ",")).as_py()
    if nulls or commas:
        rows = pc.list_parent_indices(items)
        if nulls:  # a null is no member, as Python's reading has it (binary_join would give a null list)
            kept = pc.is_valid(members)
            members, rows = members.filter(kept), rows.filter(kept)
        if commas:  # a comma within a member: see SET_COMMA
            members = pc.replace_substring(members, ",", SET_COMMA)
        items = _lists_of(members, rows, items)
    joined = pc.binary_join(items, ",")
    empty = pc.equal(pc.list_value_length(items), 0)
    return pc.if_else(empty, pa.scalar("(empty)"), joined)


def joined_plain_list(col):
    """A Parquet list column as joined_list joins one, its numbers and bools first written as Arrow writes them as
    text (an int32 or a double member is no less a set's member); None where its members are records or maps."""
    import pyarrow as pa

    value_type = col.type.value_type
    plain = pa.types.is_integer(value_type) or pa.types.is_floating(value_type) or pa.types.is_boolean(value_type)
    try:
        return joined_list(col.cast(pa.list_(pa.string() if plain else value_type)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def split_list(col, member_type):
    """A text column of lists as the readers join them ("a,b", "(empty)"; see joined_list) as an Arrow list of
    `member_type`, each member as it was written (a comma within one, \\x2c, a comma again). Raises
    pa.ArrowInvalid where a member is no `member_type`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    col = col.cast(pa.string())
    col = pc.if_else(pc.equal(col, "(empty)"), "", col)
    items = pc.split_pattern(col, ",")
    rows = pc.list_parent_indices(items)
    members = pc.list_flatten(items)
    # "" splits into one empty member; it is an empty set (Zeek's "(empty)"; JSON's [] as the readers join it)
    kept = pc.invert(pc.equal(pc.take(col, rows), ""))
    members, rows = members.filter(kept), rows.filter(kept)
    members = pc.replace_substring(members, SET_COMMA, ",")
    if pa.types.is_boolean(member_type):  # Zeek's TSV writes a bool as T or F
        members = pc.replace_substring_regex(pc.replace_substring_regex(members, "^T$", "true"), "^F$", "false")
    return _lists_of(members.cast(member_type), rows, items)


def _lists_of(members, rows, like):
    """Lists of `members`, each in row `rows[i]` of a list array as long as `like`, null where `like`'s is."""
    import pyarrow as pa

    counts = np.bincount(rows.to_numpy(zero_copy_only=False), minlength=len(like)) if len(rows) else np.zeros(len(like), np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    return pa.ListArray.from_arrays(offsets, members, mask=like.is_null())


def _arrow_frame(table, columns: list[str], text: bool) -> pd.DataFrame:
    import pyarrow as pa

    n = table.num_rows
    data = {}
    for c in columns:
        if c in table.column_names:
            col = table.column(c)
        else:
            col = pa.nulls(n, pa.float64())  # NaN, as pandas fills a field Python's records leave out
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
            data[c] = pd.Series([None if v is None or v != v else member_text(v) for v in values], dtype=object)
    return pd.DataFrame(data, columns=columns)
