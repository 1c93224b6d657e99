"""Open a table and read it in chunks, whatever a sensor or a spreadsheet wrote.

The format comes from the bytes, not the name: Parquet, CSV with its delimiter sniffed (comma, tab,
semicolon, pipe), Zeek's TSV logs (`#fields` / `#types` header), JSON lines (Zeek JSON, Suricata
eve.json), key=value lines, a Palo Alto firewall's and a Cisco ASA's syslog, each compressed (gzip,
bzip2, xz) or not, from a path or from stdin. `--format` overrides the guess. Memory stays bounded by one
chunk whatever the file size.

Several files of one format (a sensor's rotated logs, a folder of Parquet parts) are one table, read
file after file in the order given; a folder means the files under it, a quoted glob the files it matches,
a ZIP or tar archive the files in it (archives.py).

This module tells the format and hands the reading on: csvread.py (delimited text), parquetread.py,
logs/ (the flow and firewall log formats), over the byte streams of streams.py.
"""

from __future__ import annotations

import csv
import io
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Callable, Iterator

import numpy as np
import pandas as pd

from .archives import ARCHIVE_WORDS, Member, packed_kind
from .csvread import (
    BOM, DELIMITER_WORDS, W3C_FIELDS, check_header, csv_line, csv_text_chunks, csv_typed_chunks, dotted_columns, first_fields, later_lines,
    layout, lines_above_header, names_not_for, renamed_repeats, repeated_names, sniff_delimiter, unpadded, value_like, whole_lines,
    whole_rows, wrapped_header, zero_led_columns,
)
from .errors import InputError, NoHeaderError, printable, quoted_names
from .parallel import release_freed_memory
from .parquetread import flattened, parquet_chunks, parquet_hints, parquet_schema, parquet_whole, spooled_parquet, with_unset
from .streams import (
    AzureFlowLines, HEAD_BYTES, Joined, JsonLinesFrom, LiveInput, MAGIC, Prefixed, RecordLines, STDIO, Utf8From, codec_of, decompressed_head,
    lzma_error, open_compressed, read_up_to,
)

FORMATS = ("csv", "parquet", "zeek", "json", "kv", "panos", "asa", "ftd", "junos", "filterlog", "mikrotik", "access", "squid", "dnsquery",
           "cef", "leef", "checkpoint", "vpc")
# Names users reach for, mapped to what they mean here (compression is detected from the bytes).
FORMAT_ALIASES = {"csv.gz": "csv", "gz": "csv", "tsv": "csv", "txt": "csv", "log": "zeek", "jsonl": "json", "ndjson": "json", "eve": "json"}
# How the summaries say a firewall's syslog was read (Source.log_lines).
LOG_LINES_WORDS = {"kv": "key=value lines", "asa": "Cisco ASA syslog: connection teardowns and denials",
                   "ftd": "Cisco Firepower syslog: connection end events",
                   "junos": "Juniper SRX syslog: session closes",
                   "filterlog": "pf's filter log (pfSense, OPNsense): a logged packet a line",
                   "mikrotik": "a MikroTik router's firewall log: a logged packet a line",
                   "access": "a web server's access log (Common or Combined Log Format)", "squid": "Squid's access log (native format)",
                   "dnsquery": "a DNS server's query log (BIND, dnsmasq, Unbound): a query a row",
                   "cef": "syslog lines in ArcSight's Common Event Format", "leef": "syslog lines in QRadar's Log Event Extended Format",
                   "checkpoint": "Check Point Log Exporter syslog",
                   "panos": "PAN-OS syslog lines: traffic logs, named in PAN-OS's field order",
                   "vpc": "no header line: named in the default format's field order"}


# What a compressed file that ends before its end-of-stream marker is, and what to do, where --strict stops on one.
CUT_SHORT = "the file is cut short (still being written, or copied in part): copy it again, or leave out --strict to read its rows up to the cut"


def normalise_format(fmt: str) -> str:
    name = fmt.lower().lstrip(".")
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise InputError(f"unknown format '{fmt}'; use one of: {', '.join(FORMATS)} (or leave it out: the format is read from the file)")
    return name


# The formats whose files may leave out a column the model saw unset in some training rows, read as unset there
# (Source.chunks' `columns`): JSON records leave out unset fields, a Parquet file written from them a column
# none of them set, a Zeek log of another day a field its Zeek did not write (the day before an upgrade added
# ip_proto, which a fit on the days joined end to end read as unset). A CSV file, or a pandas frame handed to
# the Python API, without such a column stops: more likely another table.
ABSENT_AS_UNSET = ("json", "parquet", "zeek")


@dataclass
class Source:
    """An opened table: its format, what the format says about each column, and what reading skipped."""

    path: str
    format: str
    compressed: bool = False
    shown_as: str = ""  # the name messages give a table read from a copy (a Parquet file from stdin: "stdin")
    codec: str = "gzip"  # what compressed it, where it is: gzip, bz2 or xz (logrotate's compresscmd)
    delimiter: str = ","
    # What the file itself says a column holds (Zeek's #types, Arrow's types): column -> type name.
    hints: dict[str, str] = field(default_factory=dict)
    # JSON arrays the head did not hold, added to `hints` by the chunk that first held one (logs.jsonlines.json_chunks)
    late_lists: set[str] = field(default_factory=set)
    strict: bool = False
    zeek: object = None  # logs.zeek.ZeekHeader for Zeek logs
    bad_lines: int = 0  # lines that could not be read as a row (field count, truncated, invalid JSON)
    bad_example: str = ""
    cut_short: bool = False  # a compressed file that ends before its end-of-stream marker: read up to the cut
    other_events: int = 0  # JSON records that are not flows (Suricata stats, dns, alert events)
    other_kinds: dict[str, int] = field(default_factory=dict)  # those records by event type
    # The Suricata event types read as rows (--events dns); () reads the flows (logs.jsonlines.FLOW_EVENTS).
    events: tuple[str, ...] = ()
    netflow_events: int = 0  # Suricata netflow records left out because the log's flow records hold the same connections
    zeek_logs: list[str] = field(default_factory=list)  # the logs a Zeek JSON stream's first records name in _path, most common first
    head_fields: set[str] = field(default_factory=set)  # the fields of a JSON lines file's first records (nested keys joined with '.')
    arrow_schema: object = None  # a Parquet file's own column types, which a Parquet output keeps
    extra_fields: set[str] = field(default_factory=set)  # fields of later Zeek logs in the stream that the first lacks
    absent_in: dict[str, list[str]] = field(default_factory=dict)  # Parquet files' columns that some lack: those files, by column
    parts: list["Source"] = field(default_factory=list)  # a table given as several files: each file's own Source
    by_part: bool = False  # CSV parts whose headers name the same columns in other orders: read file by file
    encoding: str = ""  # "utf-16" or "utf-32" where a byte-order mark says so; "" for UTF-8
    json_array: bool = False  # JSON records in one array ([{...}, {...}]), not one per line
    azure: bool = False  # an Azure NSG or VNet flow log: {"records": [...]} with the flows nested in each record
    # A firewall's syslog, read a line at a time (RecordLines): "kv", key=value pairs, "asa", a Cisco ASA's
    # connection teardowns, "ftd", Firepower's connection events, "junos", a Juniper SRX's session closes in
    # its default syslog format, "filterlog", pf's filter log (pfSense, OPNsense), "mikrotik", a MikroTik
    # router's firewall log, "access", a web server's
    # access log (Common or Combined Log Format), "squid", Squid's native access log, "dnsquery", a DNS server's
    # query log (BIND, dnsmasq, Unbound), "cef" and "leef", CEF and
    # LEEF events, "checkpoint", a Check Point Log
    # Exporter's syslog, as JSON records; "panos", a PAN-OS firewall's traffic logs, and "vpc", AWS VPC Flow
    # Logs without their header line, as CSV rows named `names_by_place`.
    log_lines: str = ""
    names_by_place: list[str] = field(default_factory=list)
    # CSV columns read as text at fit: whole numbers grouped with dots, and whole numbers written with leading zeros.
    text_columns: list[int] = field(default_factory=list)
    skip_bytes: int = 0  # lines above a CSV header (a tool's "# exported by ...", a title), left out as the file is read
    header_line: bytes = b""  # a CSV without one: the header line the user's names make (--names), read before the rows
    given_names: list[str] = field(default_factory=list)  # those names (--names, or the model's: names_from_model)
    renamed: dict[str, str] = field(default_factory=dict)  # a CSV header's repeated names, as read -> as written
    names_from_model: bool = False  # a CSV without a header line named with the --names its model was fitted with
    lines_above_header: int = 0  # how many lines those bytes hold (over every file of a table given as several)
    line_above_header: str = ""  # the first of them, to show
    w3c_fields: list[str] = field(default_factory=list)  # the names in a W3C extended log's "#Fields:" line (Windows Firewall, IIS)
    directives: int = 0  # a W3C log's '#' lines below its header, left out
    # Fields padded with spaces to line up in columns (SiLK's rwcut, Argus' ra): names and values are read
    # without the padding. closing_delimiter: every line ends with the delimiter (rwcut's default), which
    # closes the line and opens no column.
    padded: bool = False
    closing_delimiter: bool = False
    # The #fields line and the rest of the header of the latest Zeek log in the stream after the first (logs
    # joined end to end, a rotation under `tail -F`): a live pipe's later segments are read with it.
    later_zeek_header: bytes = b""
    _stream: IO[bytes] | None = None  # stdin, already peeked at
    # A pipe that may be written live, its first bytes and what each later segment starts with (_live_chunks)
    _live: tuple | None = None

    @property
    def live(self) -> bool:
        """Whether the table comes from a pipe that may be written live (read in segments by score)."""
        return self._live is not None

    def when_waiting(self, seconds: float, hear: Callable[[], None]) -> None:
        """Have `hear` called once, from the reading thread, where the table is a pipe that may be written
        live and its writer has given nothing for `seconds` without closing it: read whole (fit), such a
        pipe is read to its end, and `tail -F` has none."""
        live = _live_input(self)
        if live is not None:
            live.waiting = (seconds, hear)

    @property
    def files(self) -> list[str]:
        """Every file of a table given as several ([] for one file: `path`)."""
        return [p.path for p in self.parts]

    @property
    def name(self) -> str:
        if len(self.files) > 1:
            return f"{self.parts[0].name} and {len(self.files) - 1:,} other file{'s' if len(self.files) > 2 else ''}"
        return self.shown_as or ("stdin" if self.path == STDIO else self.path)

    @property
    def role_hints(self) -> dict[str, str]:
        """`hints`, and what the log's kind says beyond its types (for the roles; the hints stay the types a Zeek
        output writes): Zeek http.log's host, a string, is the Host header, the site asked for by its name."""
        if self.zeek is not None and self.zeek.path == "http" and self.hints.get("host") == "string":
            return {**self.hints, "host": "domain"}
        return self.hints

    def describe(self, names) -> str:
        """How the table was read, in words, for fit's and score's summaries: the flow exporter its field
        names give away (`names`: its columns), then the format ("Zeek conn log (Zeek TSV: ...)")."""
        from .logs.recognise import recognised

        if self.format == "zeek":
            how = "Zeek TSV: names from #fields, types from #types"
        elif self.format == "json":
            how = ("JSON array" if self.json_array else "JSON: flows nested in each record" if self.azure
                   else LOG_LINES_WORDS.get(self.log_lines, "JSON lines"))
        elif self.format == "parquet":
            how = "Parquet"
        else:
            how = DELIMITER_WORDS.get(self.delimiter, f"text split at {self.delimiter!r}")
            if self.w3c_fields:
                how = f"W3C extended log: names from #Fields, {how}"
            how = LOG_LINES_WORDS.get(self.log_lines, how)
            if self.names_from_model:
                how += ", no header line: named as at fit (--names)"
        if self.events and self.zeek_logs:
            how += f", Zeek's {', '.join(self.events)} records (_path; --events picks others)"
        elif self.events:
            how += f", Suricata's {', '.join(self.events)} events (--events)"
        if self.encoding:
            how += f", {self.encoding} text"
        if self.renamed:
            new, old = next(iter(self.renamed.items()))
            more = f" and {len(self.renamed) - 1} more" if len(self.renamed) > 1 else ""
            how += f", '{old}' named again in the header: read as '{new}'{more}"
        if self.compressed:
            how += f", {self.codec}"
        if len(self.files) > 1:
            how += f", {len(self.files):,} files"
        archives = {p.path.kind for p in self.parts or [self] if isinstance(p.path, Member)}
        if archives:
            how += f", from {' and '.join(ARCHIVE_WORDS[k] for k in sorted(archives))} archive"
        what = recognised(names)
        if not what and self.zeek is not None and self.zeek.path:
            what = f"Zeek {self.zeek.path} log"
        return f"{what} ({how})" if what else how

    def bad_line(self, text: str) -> None:
        if self.w3c_fields and text.startswith("#"):
            self._directive(text)
            return
        self.bad_lines += 1
        if not self.bad_example:
            self.bad_example = text[:80]
        if self.strict:
            raise InputError(
                f"'{self.name}' has a line that is not a row ({text[:80]!r}); fix or drop it, "
                f"or leave out --strict to skip such lines and count them"
            )

    def left_out(self, event: str) -> None:
        if event == "netflow" and not self.events:
            self.netflow_events += 1
        else:
            self.other_events += 1
            self.other_kinds[event] = self.other_kinds.get(event, 0) + 1

    def _directive(self, text: str) -> None:
        """A W3C log's '#' directives inside the file (a restart or a new day writes them again) are left out
        and counted, not taken for malformed rows. A '#Fields:' line that names other fields stops the
        run: the rows below it hold other columns."""
        fields = W3C_FIELDS.match(text)
        if fields and text[fields.end():].split() != self.w3c_fields:
            raise InputError(f"'{self.name}' changes its fields part way ({text[:80]!r}): the rows below that line hold other "
                             "columns; split the file there and give each part on its own")
        self.directives += 1

    def skip_line(self, text: str, stop: list) -> str:
        """What pyarrow's invalid_row_handler answers for a line that is not a row: "skip", the line
        counted, or with --strict "error", the reason kept in `stop` for the reader to raise."""
        try:
            self.bad_line(text)
        except InputError as e:
            stop.append(e)
            return "error"
        return "skip"

    def row_handler(self, stop: list, decide: Callable | None = None) -> Callable:
        """pyarrow's invalid_row_handler for this source: `decide(row)`'s answer, by default skip_line's.
        pyarrow decodes a row's text as UTF-8 before the handler runs, so a malformed line that is not UTF-8
        failed there: Python printed it as an ignored exception with a traceback, and the read ended with a
        parse error that named no reason. That failure becomes the not-UTF-8 error, kept in `stop` for the
        reader to raise as it raises --strict's."""
        decide = decide or (lambda row: self.skip_line(row.text or "", stop))

        def handler(row) -> str:
            return decide(row)

        handler.undecodable_rows = (self, stop)
        _catch_undecodable_rows()
        return handler

    def skipped_summary(self) -> str:
        """One line on what reading left out, or '' when nothing was."""
        parts = []
        for cut in (p for p in self.parts or [self] if p.cut_short):
            parts.append(f"'{cut.name}' is cut short ({'an' if cut.codec == 'xz' else 'a'} {cut.codec} file still being written, or copied in part): "
                         "its rows up to the cut were read")
        if self.bad_lines:
            parts.append(f"{self.bad_lines:,} malformed line{'s' if self.bad_lines != 1 else ''} skipped (e.g. {self.bad_example!r})")
        if self.other_events:
            if self.log_lines == "dnsquery":  # dnsmasq's forwarded and reply lines for each query: no event of another kind
                parts.append(f"{self.other_events:,} line{'s' if self.other_events != 1 else ''} other than queries left out")
            elif self.zeek_logs:  # a Zeek JSON stream of several logs: which ones, as _path names them
                logs = ", ".join(f"{k} {n:,}" for k, n in sorted(self.other_kinds.items(), key=lambda kv: -kv[1])[:5])
                parts.append(f"{self.other_events:,} record{'s' if self.other_events != 1 else ''} of other Zeek logs left out ({logs})")
            else:
                kind = f"other than {', '.join(self.events)}" if self.events else "non-flow"
                parts.append(f"{self.other_events:,} {kind} event{'s' if self.other_events != 1 else ''} left out")
        if self.netflow_events:
            parts.append(f"{self.netflow_events:,} netflow event{'s' if self.netflow_events != 1 else ''} left out "
                         "(the log's flow events hold the same connections, both directions in one row)")
        if self.directives:
            n = self.directives
            parts.append(f"{n:,} '#' directive line{'s' if n != 1 else ''} inside the log left out (written again at a restart)")
        if self.lines_above_header:
            n = self.lines_above_header
            parts.append(f"{n:,} line{'s' if n != 1 else ''} above the header left out (e.g. {self.line_above_header[:80]!r})")
        if self.extra_fields:
            parts.append(f"fields of a later log that the first log lacks left out ({', '.join(sorted(self.extra_fields))}): "
                         "the first log's #fields are the table's")
        for column, lacking in list(self.absent_in.items())[:3]:
            files = f"'{Path(lacking[0]).name}'" + (f" and {len(lacking) - 1:,} other file{'s' if len(lacking) > 2 else ''}" if len(lacking) > 1 else "")
            parts.append(f"{files} ha{'s' if len(lacking) == 1 else 've'} no column '{column}': read as unset in {'its' if len(lacking) == 1 else 'their'} rows")
        if len(self.absent_in) > 3:
            parts.append(f"{len(self.absent_in) - 3:,} more columns some files have not: read as unset in their rows")
        return "; ".join(parts)

    def binary(self) -> IO[bytes]:
        """The file's bytes, decompressed. stdin can be read once."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            return self._as_utf8(open_compressed(self.codec, stream, self._cut) if self.compressed else stream)
        if self.path == STDIO or _read_once(self.path):
            raise InputError(f"{self.name} can be read only once")
        if self.parts:
            return io.BufferedReader(Joined(self.parts), buffer_size=1 << 20)
        if isinstance(self.path, Member):
            raw = self.path.open()
            return self._as_utf8(open_compressed(self.codec, raw, self._cut) if self.compressed else raw)
        return self._as_utf8(open_compressed(self.codec, self.path, self._cut) if self.compressed else open(self.path, "rb"))  # noqa: SIM115

    def _cut(self) -> None:
        """A compressed file ends before its end-of-stream marker: what came before it is read, as zcat writes
        it (a plain file cut mid-line reads the same way, its last line malformed), and the summary says so;
        --strict stops there, as it stops on a malformed line."""
        if self.strict:
            raise InputError(f"cannot read '{self.name}': the {self.codec} file ends before its end-of-stream marker; {CUT_SHORT}")
        self.cut_short = True

    def _as_utf8(self, raw: IO[bytes]) -> IO[bytes]:
        # Every reader below takes UTF-8 (JSON one record per line): text in another encoding is re-encoded,
        # and a JSON array written one record per line, as it streams past.
        if self.encoding:
            raw = io.BufferedReader(Utf8From(raw, self.encoding, self.name), buffer_size=1 << 20)
        if self.json_array:
            raw = io.BufferedReader(JsonLinesFrom(raw, self.name), buffer_size=1 << 20)
        elif self.azure:
            raw = io.BufferedReader(AzureFlowLines(raw, self.name), buffer_size=1 << 20)
        elif self.log_lines:
            from .logs.cloud import vpc_default_line
            from .logs.events import cef_record, checkpoint_record, leef_record
            from .logs.firewalls import asa_record, ftd_record, pan_os_line
            from .logs.keyvalue import junos_record, key_values
            from .logs.dnsquery import dns_query_record
            from .logs.mikrotik import mikrotik_record
            from .logs.pf import filterlog_record
            from .logs.web import access_record, squid_record

            parse = {"kv": key_values, "asa": asa_record, "ftd": ftd_record, "junos": junos_record, "filterlog": filterlog_record,
                     "mikrotik": mikrotik_record, "access": access_record, "squid": squid_record, "dnsquery": dns_query_record, "cef": cef_record, "leef": leef_record,
                     "checkpoint": checkpoint_record, "panos": pan_os_line, "vpc": vpc_default_line}[self.log_lines]
            raw = io.BufferedReader(RecordLines(raw, self, parse, ",".join(self.names_by_place)), buffer_size=1 << 20)
        if self.skip_bytes:
            read_up_to(raw, self.skip_bytes)
        if self.header_line:
            first = read_up_to(raw, len(BOM))
            raw = io.BufferedReader(Prefixed(self.header_line + (b"" if first == BOM else first), raw), buffer_size=1 << 20)
        return raw

    def chunks(self, chunk_size: int = 100_000, text: bool = False, columns: list[str] | None = None,
               split_up_to: int | None = None) -> Iterator[pd.DataFrame]:
        """Yield the table as DataFrames of at most `chunk_size` rows.

        text=True keeps every field as the string it was (the scoring path: the model converts the columns
        it needs and every other value passes through as written); text=False types the columns (fit).
        columns: for JSON lines, Parquet and (typed) Zeek logs, the fields every chunk must have (records may leave
        out unset fields, a Parquet file written from them a field none of them set, a Zeek log of another
        day a field its Zeek did not write).
        split_up_to: a typed CSV file of at most this many lines may be parsed in parts on several threads,
        its later parts read ahead (the caller holds every row anyway); None: one thread.
        A pipe written live is read as text in segments (`LiveInput`): the rows before each pause in the
        writing are a chunk of their own, so score writes them then.
        """
        if text and self._live is not None:
            yield from self._live_chunks(chunk_size, columns)
        else:
            yield from self._chunks_once(chunk_size, text, columns, split_up_to)

    def _live_chunks(self, chunk_size: int, columns: list[str] | None) -> Iterator[pd.DataFrame]:
        """Every segment read as a file of its own, the format's header put before it, in the first
        segment's columns (JSON records leave out unset fields, so a segment's own could differ)."""
        live, first, preamble = self._live
        if live.segmented:
            raise InputError(f"{self.name} can be read only once")
        if self._stream is not None:
            self._stream.raw.keep_rest()  # the plain stream is not read; closing it must not close the pipe
            self._stream = None
        order = None
        while True:
            self._stream = live.segment(first, quote=b'"' if self.format == "csv" and not self.log_lines else b"")
            for chunk in self._chunks_once(chunk_size, True, columns, None):
                if order is None:
                    order = list(chunk.columns)
                elif len(chunk) == 0:
                    continue
                elif list(chunk.columns) != order:
                    chunk = chunk.reindex(columns=order)
                yield chunk
            if not live.more():
                return
            # After a rotation to a log of other fields, that log's #fields and #types: read as the stream's
            # second log, in the first log's columns, as the whole stream would be.
            first = self.later_zeek_header or preamble

    def _chunks_once(self, chunk_size: int, text: bool, columns: list[str] | None, split_up_to: int | None) -> Iterator[pd.DataFrame]:
        # Typed rows of a format that may lack `columns` get those it lacks as unset (the JSON reader adds them
        # itself, to text rows too); scored (text) rows keep the file's own columns, the output's: score adds
        # them for its encoder.
        absent = columns if columns and not text and self.format in ABSENT_AS_UNSET else None
        for chunk in self._format_chunks(chunk_size, text, columns, split_up_to):
            yield with_unset(chunk, absent) if absent else chunk

    def _format_chunks(self, chunk_size: int, text: bool, columns: list[str] | None, split_up_to: int | None) -> Iterator[pd.DataFrame]:
        with self.errors_as_input_errors():
            if self.format == "parquet":
                # Several files: their columns in the first one's order, of the widest type among them, those a
                # file lacks unset (parquetread.in_columns).
                schema = self.arrow_schema if self.files else None
                for path in self.files or [self.path]:
                    yield from parquet_chunks(path, chunk_size, schema)
            elif self.format == "zeek":
                from .logs.zeek import zeek_chunks

                yield from zeek_chunks(self, chunk_size)
            elif self.format == "json":
                from .logs.jsonlines import json_chunks

                yield from json_chunks(self, chunk_size, text, columns)
            elif self.by_part:
                yield from self._parts_in_first_order(chunk_size, text)
            else:
                chunks = csv_text_chunks(self, chunk_size) if text else csv_typed_chunks(self, chunk_size, split_up_to)
                if self.padded or self.closing_delimiter:
                    chunks = (unpadded(chunk, self.closing_delimiter, typed=not text) for chunk in chunks)
                yield from chunks

    def _parts_in_first_order(self, chunk_size: int, text: bool) -> Iterator[pd.DataFrame]:
        """Each file read on its own, its columns put in the first file's order; what each skips is counted here."""
        order = None
        for part in self.parts:
            try:
                for chunk in part.chunks(chunk_size, text):
                    order = order if order is not None else list(chunk.columns)
                    yield chunk[order]
            finally:
                self.bad_lines += part.bad_lines
                self.bad_example = self.bad_example or part.bad_example
                part.bad_lines, part.bad_example = 0, ""

    @contextmanager
    def errors_as_input_errors(self):
        """What the readers raise on a bad file, as one InputError that names the file and the fix."""
        try:
            yield
        except InputError:
            raise
        except pd.errors.EmptyDataError:
            raise InputError(f"'{self.name}' is empty: it has no header row and no data") from None
        except UnicodeDecodeError:
            raise InputError(not_utf8_message(self)) from None
        except pd.errors.ParserError as e:
            msg = str(e).strip().splitlines()[-1]
            raise InputError(f"cannot parse '{self.name}' as CSV: {msg}; check the delimiter and the row lengths") from None
        except csv.Error as e:
            # Python's CSV reader (a header's fields, and pandas' parser with it) on a field past its 131,072-character
            # limit: a log's line of a long payload read as a header. The input's to fix, not an internal error.
            hint = " in its header line (is the file a table, its first line a header?)" if "field limit" in str(e) else ""
            raise InputError(f"cannot read '{self.name}' as a table: {e}{hint}") from None
        except (OSError, EOFError, lzma_error()) as e:
            detail = "; ".join(line.strip().rstrip(".") for line in str(e).splitlines() if line.strip())
            damaged = "; the file looks damaged or cut short: export or copy it again" if self.format == "parquet" else ""
            if isinstance(e, EOFError):  # a decompressor's, past _cut (which reads up to the cut, or stops --strict itself)
                damaged = f"; {CUT_SHORT}"
            raise InputError(f"cannot read '{self.name}': {detail}{damaged}") from None
        except Exception as e:  # pyarrow raises its own types for corrupt files
            if type(e).__module__.startswith("pyarrow"):
                raise InputError(_arrow_message(self, e)) from None
            raise


def open_source(path: str | list[str], fmt: str | None = None, strict: bool = False, names: list[str] | None = None,
                model_names: Callable[[], list[str] | None] | None = None, encoding: str | None = None,
                events: list[str] | None = None, model_events: Callable[[], list[str] | None] | None = None) -> Source:
    """Check the file, work out its format from its first bytes (or `fmt`), and return a Source.

    `path` may be several files, a folder or a quoted glob: one table, read file after file (see `_files`).
    names: the column names of a CSV without a header line, in the order of its fields.
    model_names: where `names` is not given, the names a model was fitted with (--names), asked for only
    when a CSV's first line holds values (or whole numbers alone, which may be names); they name its fields
    as they did at fit.
    encoding: the text's encoding where it is not UTF-8 (--encoding: cp1252, latin-1...); UTF-16 and UTF-32
    are told by their bytes without it.
    events: the Suricata event types to read as rows (--events dns), in JSON lines only; model_events: where
    `events` is not given, those a model was fitted on, for JSON lines.
    Fails early, before any progress bar or output file, on a missing file or bytes no reader understands.
    """
    text_encoding = _encoding_named(encoding) if encoding else ""
    files = _files([path] if isinstance(path, str) else list(path))
    if len(files) == 1:
        return _with_events(_open_file(files[0], fmt, strict, names, model_names, text_encoding), events, model_events)
    return _with_events(_table_of(files, fmt, strict, names, model_names, text_encoding), events, model_events)


def _with_events(source: Source, events: list[str] | None, model_events: Callable[[], list[str] | None] | None) -> Source:
    """`source` reading the Suricata event types `events` as rows (or its model's, `model_events`)."""
    eve_like = source.format == "json" and not source.log_lines  # a firewall's syslog is read as JSON records too
    if events is not None and not eve_like:
        raise InputError(f"--events picks the event types of Suricata's eve.json to read; '{source.name}' is "
                         f"{describe_format(source)}: leave out --events")
    if events is None and model_events is not None and eve_like:
        events = model_events()
    if events is None and model_events is None and source.zeek_logs[:1] != ["conn"] and len(source.zeek_logs) == 1:
        # A Zeek JSON stream of one log other than conn (json-streaming-logs' dns file), at fit: its records are
        # the rows, as they were before a stream's other logs were left out, and the model keeps the log for the
        # next stream. Several logs and no conn among the first records: the conn records, which Zeek writes
        # when a connection ends, after its dns and ssl records, may come later.
        events = source.zeek_logs
    source.events = tuple(events or ())
    return source


def _table_of(files: list[str], fmt, strict, names, model_names, text_encoding) -> Source:
    sources = [_open_file(f, fmt, strict, names, model_names, text_encoding) for f in files]
    first = sources[0]
    header = _header_of(first) if first.format == "csv" else None
    headers = [header]  # each CSV file's header line, read once
    by_part = False
    for other in sources[1:]:
        if other.format != first.format:
            raise InputError(f"'{other.path}' is {_FORMAT_NAMES[other.format]} and '{first.path}' is {_FORMAT_NAMES[first.format]}: "
                             "give files of one format")
        headers.append(_header_of(other) if other.format == "csv" else None)
        if other.format == "csv" and (other.delimiter != first.delimiter or headers[-1] != header):
            # The same names in another order (an export whose columns were rearranged, or another delimiter)
            # read file by file, in the first file's order, as Parquet parts do. Other names are another table.
            _same_names(first, other, check_header(first.path, header, first.delimiter),
                        check_header(other.path, headers[-1], other.delimiter))
            by_part = True
        if other.format == "parquet" and other.arrow_schema.names != first.arrow_schema.names:
            # Parquet names its columns: the same names in another order (one writer's parts against
            # another's) read in the first file's order. A day's file without a column, or with one more
            # (a pipeline writing each day's JSON records drops a field none of them set), is the same table,
            # the column unset in the rows of the files that lack it, as a JSON reader takes the union of its
            # records' fields and logs joined end to end leave a field one log lacks unset. A file sharing
            # under half of the first's columns is another table (logs.zeek.another_log: Zeek's rule).
            from .logs.zeek import another_log

            if another_log(set(other.arrow_schema.names), set(first.arrow_schema.names)):
                _same_names(first, other, first.arrow_schema.names, other.arrow_schema.names)
    _one_kind(sources)
    if first.format == "csv" and any(s.text_columns for s in sources):
        # A column one file's text says to read as text (zero-led codes, grouping dots) is read as text in every
        # file: a folder's later export holding zero-led codes the first file's did not had been read as numbers,
        # its zeros lost, as the table read on in the first file's types.
        names = [next(csv.reader([h], delimiter=s.delimiter), []) for h, s in zip(headers, sources)]
        textual = {n[j].strip(" ") for n, s in zip(names, sources) for j in s.text_columns if j < len(n)}
        for n, s in zip(names, sources):
            s.text_columns = [j for j, name in enumerate(n) if name.strip(" ") in textual]
    # The table reads as its first file says (format, delimiter, Zeek header, hints), its files one after another.
    table = replace(first, parts=sources, extra_fields=set(), by_part=by_part, lines_above_header=sum(s.lines_above_header for s in sources))
    if first.format == "parquet":
        table.arrow_schema = _unified([s.arrow_schema for s in sources], files)
        table.hints = parquet_hints(table.arrow_schema)
        lacking = {n: [str(s.path) for s in sources if n not in s.arrow_schema.names] for n in table.arrow_schema.names}
        table.absent_in = {n: files for n, files in lacking.items() if files}
    return table


def _one_kind(sources: list[Source]) -> None:
    """Stop where the files are logs of several kinds: a sensor's log folder holds its conn, dns, http... logs
    side by side, in Zeek's TSV or as JSON lines (where the reader would take the union of their fields, one
    table of every kind). Each kind is named with its files, and with the glob that takes one kind's files
    where they are named as Zeek names them (conn.00:00:00-01:00:00.log.gz). A file is of another kind where
    it shares under half of the fields of the kind's first file: the reader's rule for a Zeek stream that
    changes logs part way."""
    if sources[0].format == "zeek":
        fields = [set(s.zeek.fields) for s in sources]
    elif sources[0].format == "json" and not (sources[0].log_lines or sources[0].azure or sources[0].json_array):
        fields = [s.head_fields for s in sources]
        if any("event_type" in f for f in fields):  # Suricata's eve.json: its event types are picked as it is read
            return
    else:
        return
    from .logs.zeek import another_log

    kinds: list[tuple[set[str], list[Source]]] = []
    for source, own in zip(sources, fields):
        # A file whose first records the look at its head did not reach (one record longer than it) is not told apart.
        kind = next((k for k in kinds if not own or not another_log(own, k[0])), None)
        if kind is None:
            kinds.append((own, [source]))
        else:
            kind[1].append(source)
    if len(kinds) == 1:
        return

    def name_of(s: Source) -> str:
        return (s.zeek.path if s.zeek is not None else "") or Path(str(s.path)).name.split(".")[0]

    named: dict[str, list[str]] = {}
    for own, members in kinds:
        label = name_of(members[0])
        if label in named or any(name_of(m) != label for m in members):
            label = f"records with {', '.join(sorted(own)[:3])}..."
        named[label] = [str(m.path) for m in members]
    listed = ", ".join(f"{kind} ({len(files):,} file{'s' if len(files) > 1 else ''})" for kind, files in named.items())
    kind = "conn" if "conn" in named else next(iter(named))  # a flow detector's log, where the folder has one
    files = named[kind]
    folders = {str(Path(f).parent) for f in files}
    if any(isinstance(s.path, Member) for s in sources):  # no glob reaches inside an archive
        hint = f"unpack the archive and give one kind's files, e.g. its {kind} logs"
    elif len(folders) == 1 and all(Path(f).name.startswith(f"{kind}.") for f in files):
        hint = f"give one kind's files, e.g. '{Path(folders.pop()) / kind}.*' for the {kind} logs (quoted, as one argument)"
    else:
        hint = f"give one kind's files, e.g. {quoted_names(files, 3)}"
    what = "Zeek logs" if sources[0].format == "zeek" else "JSON lines"
    raise InputError(f"'{sources[0].path}' and {len(sources) - 1:,} other file{'s' if len(sources) > 2 else ''} are {what} of "
                     f"different kinds: {listed}; {hint}")


def _unified(schemas: list, files: list[str]):
    """One Arrow schema for Parquet parts whose column types differ (a count written as int64 in one part
    and as double in the next): the wider type, so the output holds every part's values. The output had
    taken the first part's int64 and cut 1221.5 to 1221."""
    import pyarrow as pa

    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise InputError(f"the Parquet files type a column differently ({str(e).splitlines()[0]}; first file '{files[0]}'): "
                         "give tables with the same column types") from None


_FORMAT_NAMES = {"csv": "a CSV table", "parquet": "a Parquet file", "zeek": "a Zeek log", "json": "JSON lines"}


def describe_format(source: Source) -> str:
    """What a source is, after "'x' is": a CSV table, ..., or read as key=value lines."""
    return f"read as {LOG_LINES_WORDS[source.log_lines]}" if source.log_lines in LOG_LINES_WORDS else _FORMAT_NAMES[source.format]


def _files(paths: list[str]) -> list[str]:
    """The files `paths` name, in the order given: a folder gives the files under it, sorted (leaving out
    hidden ones and names starting with '_': Spark's _SUCCESS and .crc files), and a path that does not
    exist but holds * ? or [ gives the files it matches (a glob the shell left quoted)."""
    import glob

    if STDIO in paths and len(paths) > 1:
        raise InputError("'-' (stdin) cannot be read together with files; give either")
    out = []
    for path in paths:
        p = Path(path)
        if path != STDIO and not p.exists() and any(c in path for c in "*?["):
            matched = sorted(m for m in glob.glob(path, recursive=True) if Path(m).is_file())
            if not matched:
                raise InputError(f"file not found: no file matches '{path}'")
            out += _unpacked(matched)
        elif path != STDIO and p.is_dir():
            # A model folder among the tables (`vaeguard score . --model m` with m in the folder) holds no rows.
            models = {m.parent for m in p.rglob("manifest.json") if any(m.parent.glob("weights*.safetensors"))}
            if p in models:
                raise InputError(f"'{path}' is a vaeguard model folder, not a table; give it as --model")
            found = sorted(str(f) for f in p.rglob("*") if f.is_file() and not any(part[:1] in "._" for part in f.relative_to(p).parts)
                           and not models.intersection(f.parents))
            if not found:
                raise InputError(f"'{path}' is a folder with no files in it; give a table file or a folder of them")
            out += _unpacked(found)
        else:
            out += _unpacked([path])
    return out


def _unpacked(paths: list[str]) -> list[str]:
    """`paths` with each ZIP or tar archive among them replaced by the table files in it (archives.Member)."""
    from .archives import archive_kind, members

    out: list[str] = []
    for path in paths:
        kind = archive_kind(path) if path != STDIO and Path(path).is_file() else ""
        out += members(path, kind) if kind else [path]
    return out


def _same_names(first: Source, other: Source, mine: list[str], theirs: list[str]) -> None:
    """Stop unless `other`'s columns are `first`'s, in any order: what it lacks or adds, named."""
    if sorted(mine) == sorted(theirs) and len(set(mine)) == len(mine):
        return
    lacks, adds = [n for n in mine if n not in theirs], [n for n in theirs if n not in mine]
    diff = "; ".join(part for part in (f"lacks {quoted_names(lacks)}" if lacks else "", f"adds {quoted_names(adds)}" if adds else "") if part)
    raise InputError(f"'{other.path}' does not have the columns of '{first.path}' ({diff or 'a name repeated'}): "
                     "give tables with the same columns, or score them one at a time")


def _header_of(source: Source) -> str:
    plain = not (source.compressed or source.encoding or source.skip_bytes or source.header_line or source.log_lines)
    head = source.path.head if isinstance(source.path, Member) and plain else b""
    if b"\n" in head:  # read as the archive was listed: a compressed tar is not decompressed again up to the file
        return head[: head.index(b"\n")].decode("utf-8-sig", "replace").rstrip("\r\n")
    with source.binary() as f:
        return f.readline().decode("utf-8-sig", "replace").rstrip("\r\n")


def json_array_head(text: str) -> str:
    """The first records of a JSON array's peeked text as JSON lines (for the format's column hints): the
    array's reader on the peeked text, up to the record the peek cuts."""
    reader, lines = JsonLinesFrom(io.BytesIO(text.encode()), "the peeked text"), []
    try:
        while len(lines) < 50:
            # A block of whole records, each ended by "\n" alone (splitlines() would also break a record at
            # a U+2028 or \x85 that a JSON string holds as it is; read(n) could cut a record or a character).
            block = reader._produce()
            if not block:
                break
            lines += block.decode().split("\n")[:-1]
    except InputError:
        pass
    return "\n".join(lines[:50])


# Files a flow analyst may hand over that hold no table yet, by their first bytes: what they are, and the fix.
_BINARY_KINDS = (
    ((b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a"),
     "a packet capture (pcap), not a table of flows: turn it into flows first, e.g. `zeek -r capture.pcap` "
     "(then fit on its conn.log) or `suricata -r capture.pcap` (its eve.json)"),
    ((b"\xd0\xcf\x11\xe0",), "an old Excel (.xls) or other Office file: save the sheet as CSV"),
    ((b"\x28\xb5\x2f\xfd",), "compressed with zstd, which vaeguard does not read: decompress it (zstdcat) and pipe it in "
     "with `-`, or compress it with gzip, bzip2 or xz"),
)


def _binary_kind(head: bytes) -> str:
    """What a file that is not text is, with what to do, where its first bytes say; "" otherwise."""
    for magics, what in _BINARY_KINDS:
        if head.startswith(magics):
            return what
    return ""


def _text_encoding(head: bytes) -> str:
    """The encoding of text that is not UTF-8: "utf-32" or "utf-16" where the bytes start with that
    encoding's byte-order mark (Excel's "Unicode Text" and Windows PowerShell's Out-File write UTF-16 with
    one), "utf-16-le" or "-be" for UTF-16 without one; "" for UTF-8."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    # Without a mark: text whose every other byte is zero is UTF-16 (its first characters ASCII, as a
    # header's names are); UTF-8 text holds no zero bytes.
    start = head[:64] if len(head) >= 64 else head[: len(head) // 2 * 2]
    if len(start) >= 8 and start[1::2].count(0) == len(start) // 2 and 0 not in start[0::2]:
        return "utf-16-le"
    if len(start) >= 8 and start[0::2].count(0) == len(start) // 2 and 0 not in start[1::2]:
        return "utf-16-be"
    return ""


def _read_once(path: str) -> bool:
    """Whether `path` names a pipe or a device, which gives its bytes once, rather than a file."""
    from .io import is_stream

    return path != STDIO and is_stream(path)


def _encoding_named(name: str) -> str:
    """--encoding's codec, as the user named it (the summary shows it); "" for UTF-8, the default."""
    import codecs

    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise InputError(f"unknown --encoding '{name}': give one Python knows, such as cp1252 (Windows' Western European), "
                         "latin-1 or shift_jis") from None
    return "" if codec in ("utf-8", "utf-8-sig") else name


def _open_file(path: str, fmt: str | None = None, strict: bool = False, names: list[str] | None = None,
               model_names: Callable[[], list[str] | None] | None = None, text_encoding: str = "") -> Source:
    source = _open_one(path, fmt, strict, names, model_names, text_encoding)
    live = _live_input(source)
    if live is not None:
        head = source._stream.raw.head
        preamble = _segment_preamble(source, head)
        if preamble is not None:
            source._live = (live, head, preamble)
    return source


def _live_input(source: Source) -> LiveInput | None:
    """The pipe that may be written live under a source's peeked stream, or None (a file, a test's stdin)."""
    raw = getattr(source._stream, "raw", None)
    return raw.rest if isinstance(raw, Prefixed) and isinstance(raw.rest, LiveInput) else None


def _segment_preamble(source: Source, head: bytes) -> bytes | None:
    """What each later segment of a live pipe starts with, so that it reads as the stream's first bytes
    did: a Zeek log's header lines, a CSV's header line (and the lines above it); nothing before JSON
    lines or a firewall's syslog lines. None where the stream is read whole: compressed, re-encoded, a
    JSON array or an Azure document, whose records are not one to a line."""
    if source.compressed or source.encoding or source.json_array or source.azure or source.format not in ("csv", "zeek", "json"):
        return None
    if source.format == "zeek":
        end = 0
        while head.startswith(b"#", end) and head.find(b"\n", end) >= 0:
            end = head.find(b"\n", end) + 1
        return head[:end]
    if source.format == "json" or source.log_lines:
        return b""
    if source.header_line:  # --names: no header line in the stream
        return head[: source.skip_bytes]
    end = head.find(b"\n", source.skip_bytes)
    return head[: end + 1] if end >= 0 else None


def _open_one(path: str, fmt: str | None = None, strict: bool = False, names: list[str] | None = None,
              model_names: Callable[[], list[str] | None] | None = None, text_encoding: str = "") -> Source:
    want = normalise_format(fmt) if fmt else None
    stream = None
    if path == STDIO or _read_once(path):
        # A pipe given by name (`vaeguard fit <(zcat conn.*.log.gz)`, a FIFO) is read as stdin is: opened
        # once, the peeked bytes kept in front, since opening it again gives only what is left.
        try:
            raw = sys.stdin.buffer if path == STDIO else open(path, "rb")  # noqa: SIM115 (closed with the stream)
        except OSError as e:
            raise InputError(f"cannot read '{path}': {e.strerror or e}") from None
        # A pipe may be written live (`tail -n +1 -F conn.log | vaeguard score -`): its first bytes are
        # what came before the writer paused, not a block that may take minutes to fill.
        live = LiveInput.of(raw, own=path != STDIO)
        if live is not None:
            raw = live
        head = live.head(HEAD_BYTES) if live is not None else read_up_to(raw, HEAD_BYTES)
        if head.startswith(MAGIC["bz2"]):
            # bzip2 gives nothing until a whole block is in (900 kB of text, about a quarter of that compressed).
            head += read_up_to(raw, BZ2_BLOCK_BYTES)
        stream = io.BufferedReader(Prefixed(head, raw, own=path != STDIO))
    elif isinstance(path, Member):
        head = path.head  # read as the archive was listed
    else:
        p = Path(path)
        if not p.exists():
            raise InputError(f"file not found: '{path}'")
        if p.is_dir():
            raise InputError(f"'{path}' is a folder, not a table file")
        try:
            with open(p, "rb") as f:
                head = f.read(HEAD_BYTES)
        except OSError as e:
            raise InputError(f"cannot read '{path}': {e.strerror or e}") from None
    name = "stdin" if path == STDIO else path
    if not head:
        raise InputError(f"'{name}' is empty: it has no header row and no data")
    if head[:4] == b"PAR1":
        if want not in (None, "parquet"):
            raise InputError(f"'{name}' is a Parquet file, not {want}; leave out --format to read it as Parquet")
        if names:
            raise names_not_for(name, "a Parquet file")
        shown = ""
        if stream is not None or isinstance(path, Member):
            # Its reader seeks (the footer first): a copy on disk is read, as the user would otherwise make one.
            shown = "stdin" if path == STDIO else str(path)
            path = spooled_parquet(stream if stream is not None else path.open(), f"'{shown}'")
        schema = parquet_schema(path, shown or None)
        schema = flattened(schema.empty_table()).schema
        return Source(path, "parquet", hints=parquet_hints(schema), strict=strict, arrow_schema=schema, shown_as=shown)
    if want == "parquet":
        raise InputError(f"'{name}' is not a Parquet file; leave out --format to read it as the text table it is")
    codec = codec_of(head)
    compressed = bool(codec)
    if compressed:
        head = decompressed_head(head, path, codec, once=stream is not None or isinstance(path, Member))
    packed = packed_kind(head)
    if packed:
        # Its headers and file names would otherwise be read as text: a CSV whose first column's name is a
        # tar header, and a row of NUL bytes.
        where = "stdin" if path == STDIO else "a pipe" if stream is not None else "an archive" if isinstance(path, Member) else ""
        fix = ("unpack it (or unpack the outer archive and give the inner one's path)" if isinstance(path, Member) else
               f"give the archive's path instead of {where} (vaeguard reads the tables in it), or unpack it" if where else
               "unpack it, or give it on its own (vaeguard reads the tables in an archive given by its path)")
        raise InputError(f"'{name}' is {ARCHIVE_WORDS[packed]} archive: {fix}")
    encoding = text_encoding or _text_encoding(head)
    try:
        # A character cut at the end of the peeked block waits for bytes that never come: not an error.
        text = _decode_head(head, encoding) if encoding else head.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the end of the peeked block is fine; anything earlier is not text.
        if e.start < len(head) - 4:
            # Text in another encoding holds no control characters, binary data does: lines of text, then a bad
            # byte, or a Windows export whose very header holds one (`Durée` in cp1252), the whole block text.
            text_like = lambda block: b"\n" in block and not any(b < 32 and b not in b"\t\n\r\x0c" for b in block)  # noqa: E731
            text = text_like(head[: e.start])
            if not text:
                known = _binary_kind(head)
                if known:
                    raise InputError(f"'{name}' is {known}") from None
                text = text_like(head)
            if text:
                raise InputError(not_utf8_message(Source(path, "csv", compressed=compressed, codec=codec or "gzip"))) from None
            hint = " nor a Parquet file" if Path(name).suffix.lower() in (".parquet", ".pq") else ""
            raise InputError(f"'{name}' is not UTF-8 text{hint}; vaeguard reads CSV, Parquet, Zeek logs and JSON lines") from None
        text = head[: e.start].decode("utf-8-sig")
    if not text.strip():
        raise InputError(f"'{name}' is empty: it has no header row and no data")
    kind = want or _guess_text_format(text)
    if names:
        return _named_csv(path, name, kind, text, names, compressed=compressed, codec=codec or "gzip", strict=strict, _stream=stream,
                          encoding=encoding)
    if kind in ("panos", "vpc"):  # CSV rows with no header line, named by their fields' places
        from .logs.cloud import VPC_DEFAULT_FIELDS
        from .logs.firewalls import pan_os_names

        names = pan_os_names(text) if kind == "panos" else list(VPC_DEFAULT_FIELDS)
        if not names:
            raise InputError(f"'{name}' has no PAN-OS traffic log (type TRAFFIC) among its first lines; vaeguard reads a "
                             "Palo Alto firewall's traffic logs, the flows, not its other logs")
        return Source(path, "csv", compressed=compressed, codec=codec or "gzip", strict=strict, _stream=stream, encoding=encoding,
                      log_lines=kind, names_by_place=names)
    # key=value lines, an ASA's teardowns, Firepower's connection events, an SRX's session closes, pf's filter log, CEF, LEEF
    # and Check Point logs are read as the JSON records they become
    records = kind in ("kv", "asa", "ftd", "junos", "filterlog", "mikrotik", "access", "squid", "dnsquery", "cef", "leef", "checkpoint")
    source = Source(path, "json" if records else kind, compressed=compressed, codec=codec or "gzip", strict=strict,
                    _stream=stream, encoding=encoding, log_lines=kind if records else "")
    if kind == "zeek":
        from .logs.zeek import parse_zeek_header

        source.zeek = parse_zeek_header(text, name)
        source.hints = dict(zip(source.zeek.fields, source.zeek.types))
    elif kind == "json":
        from .logs.cloud import AZURE_TYPES, is_azure_flow_log
        from .logs.jsonlines import head_keys, json_hints, zeek_logs_in

        source.json_array = text.lstrip().startswith("[")
        if source.json_array and text.lstrip()[1:].lstrip().startswith("]"):
            raise InputError(f"'{name}' is empty: its JSON array holds no records")
        source.azure = not source.json_array and is_azure_flow_log(text)
        source.hints = dict(AZURE_TYPES) if source.azure else json_hints(json_array_head(text) if source.json_array else text)
        if not (source.azure or source.json_array):
            source.zeek_logs, source.head_fields = zeek_logs_in(text), head_keys(text)
    elif records:
        pass  # the records' names type themselves (logs.recognise.table_hints), as a CSV header's do
    else:
        bom = len(BOM) if not encoding and head.startswith(BOM) else 0
        wrapped = wrapped_header(text)
        if wrapped:  # read as if its names stood on one line
            span, line = wrapped
            source.skip_bytes = bom + len(span.encode())
            source.header_line = line.encode()
            text = line + text[len(span):]
        above = "" if wrapped else lines_above_header(text)
        if above:
            source.skip_bytes = bom + len(above.encode())
            above_lines = above.splitlines()
            source.lines_above_header = len(above_lines)
            source.line_above_header = next(line for line in above_lines if line.strip())
            text = text[len(above):]
            if W3C_FIELDS.match(above_lines[-1]):
                source.w3c_fields = text.splitlines()[0].split()
        source.delimiter = sniff_delimiter(text)
        try:
            header = check_header(name, text.splitlines()[0], source.delimiter, repeated=True)
            given = None
            if model_names is not None and header and not above and not wrapped and all(f.strip().isdigit() for f in header):
                # Whole numbers, which check_header takes for names (IPFIX element numbers), and a model fitted
                # on rows named with --names: the line is a row when it is not those names.
                given = model_names()
                given = given if given and len(given) == len(header) and given != header else None
        except NoHeaderError:
            # The next file of a table fitted with --names (KDDTest+.txt after KDDTrain+.txt): its fields
            # are named as the model's were, so score needs no --names of its own.
            given = model_names() if model_names is not None and not above and not wrapped else None
            if not given:
                raise
        if given:
            return _named_csv(path, name, kind, text, given, from_model=True, compressed=compressed, codec=codec or "gzip",
                              strict=strict, _stream=stream, encoding=encoding)
        source.padded, source.closing_delimiter = layout(text, source.delimiter)
        source.text_columns = _text_columns(_looked_at(source, text), source.delimiter)
        read = [n.strip(" ") for n in header] if source.padded else header  # padded names are read without the spaces
        unique = renamed_repeats(read)
        if unique != read:
            _rename_repeats(source, name, read, unique, text, bom if not above and not wrapped else None)
    return source


def _rename_repeats(source: Source, name: str, header: list[str], unique: list[str], text: str, skip: int | None) -> None:
    """Read a CSV whose header names a column twice under the names pandas gives (' Fwd Header Length.1':
    every CIC-IDS2017 CSV holds that column twice, CICFlowMeter's copy), with a line of those names put in
    place of the header line. `skip`: the bytes before the header (None: source.skip_bytes has them)."""
    end = text.find("\n")
    if end < 0:  # a header longer than the peeked bytes: no place to put the names
        raise InputError(f"'{name}' has duplicate column names: {quoted_names(repeated_names(header), 5)}; rename them so each is unique")
    if not source.header_line:  # a wrapped header's span is in skip_bytes already
        source.skip_bytes = (source.skip_bytes if skip is None else skip) + len(text[: end + 1].encode())
    source.header_line = csv_line(unique, source.delimiter).encode()
    source.renamed = {new: old for new, old in zip(unique, header) if new != old}


def _decode_head(head: bytes, encoding: str) -> str:
    """The peeked bytes as text, less a character cut at their end."""
    import codecs

    return codecs.getincrementaldecoder(encoding)().decode(head, final=False)


BZ2_BLOCK_BYTES = 1 << 20  # more than one bzip2 block compressed, however little it compresses


def _guess_text_format(text: str) -> str:
    first = text.lstrip()
    # Zeek writes "#separator \x09" first, or (a header without it) "#fields" and a tab; a CSV whose
    # first column is named '#fields' ("#fields,a,b") is a CSV.
    if first.startswith(("#separator ", "#separator\t", "#fields\t")):
        return "zeek"
    after = first[1:].lstrip()[:1]
    from .logs.dnsquery import UNBOUND_LINE

    # Unbound's log lines open with the time in brackets, `[1764928800] unbound[1234:0] info: ...`: no JSON array.
    array = first.startswith("[") and (after in ("{", "[", "]", '"') or after.isdigit()) and not UNBOUND_LINE.match(first)
    if first.startswith("{") or array:
        return "json"
    from .logs.cloud import looks_vpc_default
    from .logs.events import looks_cef, looks_checkpoint, looks_leef
    from .logs.firewalls import looks_cisco_asa, looks_ftd_events, looks_pan_os
    from .logs.keyvalue import looks_junos, looks_key_value
    from .logs.dnsquery import looks_dns_query_log
    from .logs.mikrotik import looks_mikrotik
    from .logs.pf import looks_filterlog
    from .logs.web import looks_access_log, looks_squid

    # Before key=value: a CEF or LEEF event's attributes are key=value pairs too.
    if looks_cef(text):
        return "cef"
    if looks_leef(text):
        return "leef"
    if looks_checkpoint(text):
        return "checkpoint"
    if looks_filterlog(text):  # before key=value: OPNsense's RFC 5424 header holds a pair, and its data are CSV
        return "filterlog"
    if looks_mikrotik(text):
        return "mikrotik"
    if looks_access_log(text):  # before key=value and CSV: a request's query holds pairs, its fields spaces
        return "access"
    if looks_squid(text):
        return "squid"
    if looks_dns_query_log(text):
        return "dnsquery"
    if looks_key_value(text):
        return "kv"
    if looks_vpc_default(text):
        return "vpc"
    if looks_pan_os(text):
        return "panos"
    if looks_junos(text):
        return "junos"
    if looks_cisco_asa(text):
        return "ftd" if looks_ftd_events(text) else "asa"
    return "csv"


def _looked_at(source: Source, text: str) -> str:
    """What fit types a CSV's columns by from their text: the peeked `text` (a header line first), and in a plain
    file that can be read from any place, lines from further into it (later_lines)."""
    if source.compressed or source.encoding or source._stream is not None or isinstance(source.path, Member) or source.path == STDIO:
        return text
    later = later_lines(source.path, text, source.delimiter)
    if not later:
        return text
    peeked = whole_rows(text)
    return peeked + ("" if peeked.endswith(("\n", "\r")) else "\n") + later


def _text_columns(text: str, delimiter: str) -> list[int]:
    """The CSV columns fit reads as text, by the peeked lines below the header (and those from further into a file,
    later_lines): whole numbers grouped with dots, and whole numbers written with leading zeros."""
    return sorted(set(dotted_columns(text, delimiter)) | set(zero_led_columns(text, delimiter)))


def _named_csv(path: str, name: str, kind: str, text: str, names: list[str], from_model: bool = False, **source) -> Source:
    """A CSV without a header line, its columns named by the user (--names; `from_model`: the names the
    model was fitted with): read as if the names' line stood above the rows."""
    if kind != "csv":
        raise names_not_for(name, _FORMAT_NAMES.get(kind) or f"a log ({LOG_LINES_WORDS.get(kind, kind)})")
    text = text.removeprefix("\ufeff")
    delimiter = sniff_delimiter(text)
    padded, closing = layout(text, delimiter)
    rows = [[f.strip(" ") for f in row] for row in csv.reader([line for line in whole_lines(text) if line.strip()][:2], delimiter=delimiter)]
    rows = [row[:-1] if closing else row for row in rows]  # SiLK's rwcut closes each line with its delimiter
    fields = rows[0] if rows else []
    if fields == names:
        raise InputError(f"'{name}' already starts with a header line naming these columns; leave out --names")
    if len(rows) > 1 and not any(map(value_like, fields)) and any(map(value_like, rows[1])):
        # Names where the next line has numbers: a header, which --names would read as a row of text.
        raise InputError(f"'{name}' starts with a header line ({first_fields(fields)}); leave out --names to read the names it has")
    if fields and len(fields) != len(names) and from_model:
        raise InputError(f"'{name}' has no header row, and its first line holds {len(fields)} fields (split at {delimiter!r}) "
                         f"where the model was fitted on {len(names)} named with --names ({first_fields(names)}); "
                         "name its fields with --names, or add a first line of column names")
    if fields and len(fields) != len(names):
        raise InputError(f"--names gives {len(names)} names, and the first line of '{name}' holds {len(fields)} fields "
                         f"(split at {delimiter!r}); give one name per field")
    out = Source(path, "csv", header_line=csv_line(names + ([""] if closing else []), delimiter).encode(), given_names=list(names), names_from_model=from_model, **source)
    out.delimiter, out.padded, out.closing_delimiter = delimiter, padded, closing
    out.text_columns = _text_columns(_looked_at(out, "\n" + text), delimiter)  # the lines below a header: here, every line
    return out


_UNDECODABLE_HOOKED = False


def _catch_undecodable_rows() -> None:
    """Route a row handler's UTF-8 failure (see Source.row_handler) to its `stop` list; every other
    unraisable exception goes where it went before."""
    global _UNDECODABLE_HOOKED
    if _UNDECODABLE_HOOKED:
        return
    _UNDECODABLE_HOOKED = True
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, RecursionError):
            # A finalizer the garbage collector ran while a record nested a thousand levels deep was being
            # parsed, the stack at Python's limit, fails for that alone, and reporting it fails the same way:
            # a traceback beside the one-line error that the record itself gets.
            return
        owner = getattr(unraisable.object, "undecodable_rows", None)
        if owner is None or not isinstance(unraisable.exc_value, UnicodeDecodeError):
            previous(unraisable)
            return
        source, stop = owner
        stop.append(InputError(not_utf8_message(source)))

    sys.unraisablehook = hook


def not_utf8_message(source: Source) -> str:
    """Which line is not UTF-8, found by reading the file again (the readers' errors give no position);
    stdin cannot be read again, so its message says only what is wrong."""
    where = ""
    if source.path != STDIO and not _read_once(source.path):
        import codecs

        decoder, line = codecs.getincrementaldecoder("utf-8")(), 1
        try:
            with source.binary() as fh:
                while block := fh.read(1 << 20):
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError as e:
                        data = e.object  # the block, after any bytes of a character cut at the last one's end
                        line += data.count(b"\n", 0, e.start)
                        start = max(data.rfind(b"\n", 0, e.start) + 1, e.start - 30)
                        end = data.find(b"\n", e.start)
                        shown = data[start : min(end if end >= 0 else len(data), e.end + 30)].decode("utf-8", "backslashreplace")
                        where = f": line {line} holds byte {data[e.start]:#04x} in '{printable(shown)}'"
                        break
                    line += block.count(b"\n")
        except (OSError, EOFError):
            pass
    return (f"'{source.name}' is not UTF-8 text{where}; give its encoding, --encoding cp1252 for a Windows export "
            "(--encoding latin-1 reads any bytes), or re-save it as UTF-8")


def _arrow_message(source: Source, e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "UTF8" in text or "UTF-8" in text:
        return not_utf8_message(source)
    if "parse error" in text.lower() or "expected" in text.lower():
        return f"cannot parse '{source.name}' as {source.format}: {text}; check the delimiter and the row lengths"
    if "straddl" in text:  # pyarrow, at a row longer than the block of bytes it parses at a time (1 MiB and up)
        return (f"'{source.name}' has a line of more than a MiB, longer than any row it reads (lines joined without their "
                "line breaks?); check the file")
    if text.startswith("Could not skip initial"):  # pyarrow, at a file that ends inside the lines it skips
        return f"'{source.name}' ends inside its header: the file was cut short before its first row"
    return f"cannot read '{source.name}' as {source.format}: {text}"


# ---- whole tables, sampled -------------------------------------------------------------------------
def read_table(
    source: Source, max_rows: int | None = None, seed: int = 0, chunk_size: int = 200_000, on_rows: Callable[[int], None] | None = None,
    row_filter: Callable[[pd.DataFrame], np.ndarray] | None = None, columns: list[str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Read a whole table, or a uniform sample of `max_rows` rows drawn while streaming. `on_rows` hears
    the running row count after each chunk; `row_filter` (a chunk -> a boolean mask) leaves rows out before
    the sample is drawn (fit --label: the sample is of the normal rows); `columns`: see Source.chunks (a
    model's optional columns, for calibrate).

    Returns (frame, total rows seen). Sampling keeps the rows with the smallest random keys (a bottom-k
    sample), so memory is bounded by max_rows plus two chunks (or an eighth of max_rows and a chunk, where
    that is more), and the sample does not depend on chunking.
    """
    if source.format == "parquet" and not source.files:  # several files are read in batches, file after file
        with source.errors_as_input_errors():
            whole = parquet_whole(source.path, max_rows)
        if whole is not None:
            if len(whole.columns) == 0:
                raise InputError(f"'{source.name}' is empty: it has no columns")
            rows = len(whole)
            whole = with_unset(whole, columns or [])  # as _chunks_once adds them to typed rows
            if row_filter is not None:
                mask = row_filter(whole)
                whole = whole if mask.all() else whole[mask].reset_index(drop=True)
            return whole, rows
    rng = np.random.default_rng(seed)
    parts: list[pd.DataFrame] = []
    keys: list[np.ndarray] = []
    held = 0
    total = 0
    read_columns = None
    # The sample is the max_rows rows with the smallest keys. Once more than that are held, the key of the
    # max_rows-th is a cut that no later row above it can pass, so such rows are dropped as they come, and
    # the parts held are cut to it a part at a time. A table 5x max_rows peaked at 2.2 GiB when the parts
    # were joined to be cut (1M rows sampled from 5M), against 0.93 for a table of max_rows rows.
    cut = np.inf

    def prune(parts: list[pd.DataFrame], keys: list[np.ndarray], limit: int) -> tuple[float, int]:
        """Cut each part, in place, to the rows among the `limit` smallest keys: (the cut, rows left)."""
        everything = keys[0] if len(keys) == 1 else np.concatenate(keys)
        edge = float(np.partition(everything, limit - 1)[limit - 1])
        del everything
        for i, (part, k) in enumerate(zip(parts, keys)):
            keep = k <= edge
            if not keep.all():
                parts[i], keys[i] = part[keep], k[keep]
        emptied = [i for i, k in enumerate(keys) if len(k) == 0]
        for i in reversed(emptied):  # the rows with the smallest keys are held, so some part is left
            del parts[i], keys[i]
        return edge, sum(len(k) for k in keys)

    # Every row is held until the sample is drawn: a file of at most max_rows lines may be parsed in parts at once.
    for chunk in source.chunks(chunk_size, columns=columns, split_up_to=sys.maxsize if max_rows is None else max_rows):
        chunk.index = pd.RangeIndex(total, total + len(chunk))
        read_columns = chunk.columns
        k = rng.random(len(chunk))  # drawn for every row: the sample does not depend on what row_filter leaves
        total += len(chunk)
        if row_filter is not None:
            mask = row_filter(chunk)
            if not mask.all():
                chunk, k = chunk[mask], k[mask]
        if cut < np.inf:
            keep = k <= cut
            if not keep.all():
                chunk, k = chunk[keep], k[keep]
        if len(chunk) or not parts:  # one part, if empty, keeps the columns and their types
            parts.append(chunk)
            keys.append(k)
            held += len(chunk)
        if on_rows is not None:
            on_rows(total)
        if max_rows is not None and held > max_rows + max(max_rows // 8, chunk_size):
            cut, held = prune(parts, keys, max_rows)
            release_freed_memory()  # the parts' rows cut away, which malloc would keep for the next chunks
    if read_columns is None or len(read_columns) == 0:
        if source.bad_lines:  # every line malformed: a format forced on a file of another
            how = LOG_LINES_WORDS.get(source.log_lines, source.format)
            raise InputError(f"none of the {source.bad_lines:,} lines of '{source.name}' could be read as {how} (e.g. {source.bad_example!r}); "
                             "check --format, or leave it out to read the format from the file")
        raise InputError(f"'{source.name}' is empty: it has no columns")
    if max_rows is not None and held > max_rows:
        prune(parts, keys, max_rows)
        release_freed_memory()
    # The parts are in file order, each cut in place: joined, they are the sample in file order.
    kept = parts[0] if len(parts) == 1 else pd.concat(parts)
    del parts, keys
    # The chunks just freed stay with malloc, in the arena of the thread that parsed each, unless handed
    # back: after a read in parts, a million rows held 286 MiB more from here on (a 1,010 MiB peak at the
    # fit's roles, 903 read on one thread).
    release_freed_memory()
    return kept.reset_index(drop=True), total
