"""Zeek's TSV logs (conn.log and the rest), read by pyarrow's streaming CSV reader set up from the log's own
header: its separator, `-` (the unset field) as missing, names from `#fields`, types from `#types`. Lines
that are not rows (`#close`, the headers of further logs in a `zcat conn.*.log.gz` stream, a truncated last
line, a field count that does not match `#fields`) never reach the table: comment lines are passed over, the
others are counted and reported, or stop the run with --strict. Compared with the Zeek readers on PyPI this
streams in bounded memory at C speed (zat and zeeklog2pandas read whole files; parsezeeklogs is pure
Python, 25x slower) and needs no extra dependency.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import pandas as pd

from ..errors import InputError

if TYPE_CHECKING:
    from ..sources import Source

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
    raw: list[str] = []
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
            # vaeguard's Zeek output escapes a tab or line break in a column's name (\x09, \x0a, \x0d).
            raw = value.split(sep)
            fields = [re.sub(r"\\x(09|0a|0d)", lambda m: chr(int(m.group(1), 16)), f) for f in raw]
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
    # Escaped names are read by their entries as written (and a later log's #fields matched as written).
    return ZeekHeader(sep, set_sep, empty, unset, fields, types, lines, written=tuple(raw) if raw != fields else (), path=path)


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
        self.later_path = ""  # the #path of the log after this one, where its header says

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
                # The next log's kind, from the #path among the header lines just above its #fields, to name it.
                p = block.rfind(b"\n#path", 0, i)
                if p >= 0 and all(ln.startswith(b"#") for ln in block[p + 1 : i].split(b"\n") if ln):
                    self.later_path = block[p + 6 : block.find(b"\n", p + 1)].strip().decode("utf-8", "replace")
                self.out, self.off = block[:i], 0
                self.rest, self.buf, self.ended = block[i:] + self.buf, b"", True
                return
            pos = i + 7
        self.out, self.off = block, 0


def another_log(fields: set[str], first: set[str]) -> bool:
    """Whether a log of `fields` is another kind than the log of `first`: it shares under half of them. A conn log
    that gained a field (community_id) is the same kind; a dns log after a conn log is not."""
    return 2 * len(fields & first) < len(first)


def zeek_chunks(source: "Source", chunk_size: int) -> Iterator[pd.DataFrame]:
    """A Zeek TSV log as DataFrames of text columns (unset fields missing), bad lines counted.

    Logs joined end to end may change their fields part way (a Zeek upgrade, a script loaded that adds
    community_id): each log is read with its own #fields, and its rows take the first log's columns, a
    field it lacks missing, a field the first log lacks left out and named in `source.extra_fields`."""
    import pyarrow as pa

    from ..csvread import rebatch

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
        if another_log(set(header.fields), first_fields):
            # Not the same log with a field more or less: a dns log after a conn log, say.
            later = header.path or section.later_path
            if later and first.path and later != first.path:
                kinds = f"a {later} log after a {first.path} log"
            else:
                kinds = f"#fields {', '.join(header.fields[:8])}, ... after {', '.join(first.fields[:8])}, ..."
            raise InputError(f"'{source.name}' holds logs of different kinds ({kinds}); give one kind's logs, "
                             f"e.g. zcat conn.*.log.gz | vaeguard ... -")


def _next_header(source: "Source", fh, pending: bytes) -> tuple[ZeekHeader, bytes]:
    """The header of the next log, which `pending` starts with (read on from `fh` until it is whole), and
    the bytes from it on."""
    while True:
        lines = pending.split(b"\n")
        body = next((k for k, line in enumerate(lines[:-1]) if not line.startswith(b"#")), None)
        more = b"" if body is not None else fh.read(1 << 16)
        if not more:
            head = b"\n".join(lines[:body] if body is not None else lines)
            source.later_zeek_header = head + b"\n"
            return parse_zeek_header(head.decode("utf-8", "replace"), source.name), pending
        pending += more


def _zeek_batches(source: "Source", stream, header: ZeekHeader, names: list[str], chunk_size: int) -> Iterator:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from ..csvread import block_size

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
            parse_options=pacsv.ParseOptions(delimiter=header.separator, quote_char=False, invalid_row_handler=source.row_handler(stop, on_invalid)),
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
