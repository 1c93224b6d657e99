"""Open a table and read it in chunks, whatever a sensor or a spreadsheet wrote.

The format comes from the bytes, not the name: Parquet, CSV with its delimiter sniffed (comma, tab,
semicolon, pipe), Zeek's TSV logs (`#fields` / `#types` header), JSON lines (Zeek JSON, Suricata
eve.json), key=value lines, a Palo Alto firewall's and a Cisco ASA's syslog, each compressed (gzip, bzip2, xz) or not, from a path or from stdin. `--format` overrides the guess.
Memory stays bounded by one chunk whatever the file size.

Several files of one format (a sensor's rotated logs, a folder of Parquet parts) are one table, read
file after file in the order given; a folder means the files under it, a quoted glob the files it matches.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Callable, Iterator

import numpy as np
import pandas as pd

from .errors import InputError, quoted_names
from .parallel import column_workers, release_freed_memory, worker_count

FORMATS = ("csv", "parquet", "zeek", "json", "kv", "panos", "asa", "ftd", "junos", "cef", "leef", "checkpoint", "vpc")
# Names users reach for, mapped to what they mean here (compression is detected from the bytes).
FORMAT_ALIASES = {"csv.gz": "csv", "gz": "csv", "tsv": "csv", "txt": "csv", "log": "zeek", "jsonl": "json", "ndjson": "json", "eve": "json"}
STDIO = "-"
# How the summaries say a firewall's syslog was read (Source.log_lines).
LOG_LINES_WORDS = {"kv": "key=value lines", "asa": "Cisco ASA syslog: connection teardowns and denials",
                   "ftd": "Cisco Firepower syslog: connection end events",
                   "junos": "Juniper SRX syslog: session closes",
                   "cef": "syslog lines in ArcSight's Common Event Format", "leef": "syslog lines in QRadar's Log Event Extended Format",
                   "checkpoint": "Check Point Log Exporter syslog",
                   "panos": "PAN-OS syslog lines: traffic logs, named in PAN-OS's field order",
                   "vpc": "no header line: named in the default format's field order"}
# Fields that mean "no value", the same for fit's typed reader (pandas) and score's text reader (pyarrow):
# the union of both libraries' defaults (pyarrow's lacks pandas' 'None' and '<NA>', so a 'None' fitted
# as missing was an unseen category when scored), '-', the unset mark of Zeek, Argus and nfdump, so a
# count exported with gaps stays a count, not text, and Zeek's '(empty)' set, which one sensor writes
# where another leaves the field unset. A field of spaces is blank too (UNSW-NB15's raw files write an unset
# ct_ftp_cmd as ' '): as a value, it turned a count column into categories. Both readers match these
# exactly, so the blanks are listed up to a length, at no cost per field.
CSV_NULLS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
             "NULL", "NaN", "None", "n/a", "nan", "null", "-", "(empty)"] + [" " * k for k in range(1, 9)] + ["\t"]
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_WORDS = {",": "CSV", "\t": "tab-separated", ";": "semicolon-separated", "|": "pipe-separated", " ": "space-separated"}
HEAD_BYTES = 1 << 16
# pyarrow reads ahead several blocks on its own threads; small blocks keep that read-ahead, and so the
# memory of a streaming score, bounded however fast the file reads compared with the scoring.
BLOCK_MAX = 8 << 20
# How far fit's CSV reader reads on for the end of a quoted field that holds a line break.
QUOTED_BLOCK_MAX = 64 << 20
# A CSV file of this size or more is parsed by fit's reader in byte ranges, one thread each (see `_csv_ranges`).
SPLIT_MIN_BYTES = 32 << 20
SPLIT_PARTS_MAX = 2
# How far past its target a range's end is looked for, outside quotes, before the file is read on one thread.
SPLIT_SEARCH_BYTES = 1 << 20


def normalise_format(fmt: str) -> str:
    name = fmt.lower().lstrip(".")
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise InputError(f"unknown format '{fmt}'; use one of: {', '.join(FORMATS)} (or leave it out: the format is read from the file)")
    return name


class _Prefixed(io.RawIOBase):
    """A stream that gives back the bytes already peeked at, then the rest: stdin can be read only once."""

    def __init__(self, head: bytes, rest: IO[bytes], own: bool = False):
        self._head, self._pos, self._rest, self._own = head, 0, rest, own

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._own and not self.closed:  # a pipe opened by name; stdin stays open
            self._rest.close()
        super().close()

    def readinto(self, b) -> int:
        if self._pos < len(self._head):
            n = min(len(b), len(self._head) - self._pos)
            b[:n] = self._head[self._pos : self._pos + n]
            self._pos += n
            return n
        data = self._rest.read(len(b))
        b[: len(data)] = data
        return len(data)


def _read_up_to(stream: IO[bytes], n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


@dataclass
class Source:
    """An opened table: its format, what the format says about each column, and what reading skipped."""

    path: str
    format: str
    compressed: bool = False
    codec: str = "gzip"  # what compressed it, where it is: gzip, bz2 or xz (logrotate's compresscmd)
    delimiter: str = ","
    # What the file itself says a column holds (Zeek's #types, Arrow's types): column -> type name.
    hints: dict[str, str] = field(default_factory=dict)
    strict: bool = False
    zeek: object = None  # logs.zeek.ZeekHeader for Zeek logs
    bad_lines: int = 0  # lines that could not be read as a row (field count, truncated, invalid JSON)
    bad_example: str = ""
    other_events: int = 0  # JSON records that are not flows (Suricata stats, dns, alert events)
    netflow_events: int = 0  # Suricata netflow records left out because the log's flow records hold the same connections
    arrow_schema: object = None  # a Parquet file's own column types, which a Parquet output keeps
    extra_fields: set[str] = field(default_factory=set)  # fields of later Zeek logs in the stream that the first lacks
    parts: list["Source"] = field(default_factory=list)  # a table given as several files: each file's own Source
    by_part: bool = False  # CSV parts whose headers name the same columns in other orders: read file by file
    encoding: str = ""  # "utf-16" or "utf-32" where a byte-order mark says so; "" for UTF-8
    json_array: bool = False  # JSON records in one array ([{...}, {...}]), not one per line
    azure: bool = False  # an Azure NSG or VNet flow log: {"records": [...]} with the flows nested in each record
    # A firewall's syslog, read a line at a time (_RecordLines): "kv", key=value pairs, "asa", a Cisco ASA's
    # connection teardowns, "ftd", Firepower's connection events, "junos", a Juniper SRX's session closes in
    # its default syslog format, "cef" and "leef", CEF and LEEF events, "checkpoint", a Check Point Log
    # Exporter's syslog, as JSON records; "panos", a PAN-OS firewall's traffic logs, and "vpc", AWS VPC Flow
    # Logs without their header line, as CSV rows named `names_by_place`.
    log_lines: str = ""
    names_by_place: list[str] = field(default_factory=list)
    skip_bytes: int = 0  # lines above a CSV header (a tool's "# exported by ...", a title), left out as the file is read
    header_line: bytes = b""  # a CSV without one: the header line the user's names make (--names), read before the rows
    lines_above_header: int = 0  # how many lines those bytes hold (over every file of a table given as several)
    line_above_header: str = ""  # the first of them, to show
    w3c_fields: list[str] = field(default_factory=list)  # the names in a W3C extended log's "#Fields:" line (Windows Firewall, IIS)
    directives: int = 0  # a W3C log's '#' lines below its header, left out
    # Fields padded with spaces to line up in columns (SiLK's rwcut, Argus' ra): names and values are read
    # without the padding. closing_delimiter: every line ends with the delimiter (rwcut's default), which
    # closes the line and opens no column.
    padded: bool = False
    closing_delimiter: bool = False
    _stream: IO[bytes] | None = None  # stdin, already peeked at

    @property
    def files(self) -> list[str]:
        """Every file of a table given as several ([] for one file: `path`)."""
        return [p.path for p in self.parts]

    @property
    def name(self) -> str:
        if len(self.files) > 1:
            return f"{self.files[0]} and {len(self.files) - 1:,} other file{'s' if len(self.files) > 2 else ''}"
        return "stdin" if self.path == STDIO else self.path

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
        if self.compressed:
            how += f", {self.codec}"
        if len(self.files) > 1:
            how += f", {len(self.files):,} files"
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
        if event == "netflow":
            self.netflow_events += 1
        else:
            self.other_events += 1

    def _directive(self, text: str) -> None:
        """A W3C log's '#' directives inside the file (a restart or a new day writes them again) are left out
        and counted, not taken for malformed rows. A '#Fields:' line that names other fields stops the
        run: the rows below it hold other columns."""
        fields = _W3C_FIELDS.match(text)
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

    def skipped_summary(self) -> str:
        """One line on what reading left out, or '' when nothing was."""
        parts = []
        if self.bad_lines:
            parts.append(f"{self.bad_lines:,} malformed line{'s' if self.bad_lines != 1 else ''} skipped (e.g. {self.bad_example!r})")
        if self.other_events:
            parts.append(f"{self.other_events:,} non-flow event{'s' if self.other_events != 1 else ''} left out")
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
        return "; ".join(parts)

    def binary(self) -> IO[bytes]:
        """The file's bytes, decompressed. stdin can be read once."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            return self._as_utf8(_open_compressed(self.codec, stream) if self.compressed else stream)
        if self.path == STDIO or _read_once(self.path):
            raise InputError(f"{self.name} can be read only once")
        if self.parts:
            return io.BufferedReader(_Joined(self.parts), buffer_size=1 << 20)
        return self._as_utf8(_open_compressed(self.codec, self.path) if self.compressed else open(self.path, "rb"))  # noqa: SIM115

    def _as_utf8(self, raw: IO[bytes]) -> IO[bytes]:
        # Every reader below takes UTF-8 (JSON one record per line): text in another encoding is re-encoded,
        # and a JSON array written one record per line, as it streams past.
        if self.encoding:
            raw = io.BufferedReader(_Utf8From(raw, self.encoding, self.name), buffer_size=1 << 20)
        if self.json_array:
            raw = io.BufferedReader(_JsonLinesFrom(raw, self.name), buffer_size=1 << 20)
        elif self.azure:
            raw = io.BufferedReader(_AzureFlowLines(raw, self.name), buffer_size=1 << 20)
        elif self.log_lines:
            from .logs.cloud import vpc_default_line
            from .logs.events import cef_record, checkpoint_record, leef_record
            from .logs.firewalls import asa_record, ftd_record, pan_os_line
            from .logs.keyvalue import junos_record, key_values

            parse = {"kv": key_values, "asa": asa_record, "ftd": ftd_record, "junos": junos_record, "cef": cef_record, "leef": leef_record,
                     "checkpoint": checkpoint_record, "panos": pan_os_line, "vpc": vpc_default_line}[self.log_lines]
            raw = io.BufferedReader(_RecordLines(raw, self, parse, ",".join(self.names_by_place)), buffer_size=1 << 20)
        if self.skip_bytes:
            _read_up_to(raw, self.skip_bytes)
        if self.header_line:
            first = _read_up_to(raw, len(_BOM))
            raw = io.BufferedReader(_Prefixed(self.header_line + (b"" if first == _BOM else first), raw), buffer_size=1 << 20)
        return raw

    def chunks(self, chunk_size: int = 100_000, text: bool = False, columns: list[str] | None = None,
               split_up_to: int | None = None) -> Iterator[pd.DataFrame]:
        """Yield the table as DataFrames of at most `chunk_size` rows.

        text=True keeps every field as the string it was (the scoring path: the model converts the columns
        it needs and every other value passes through as written); text=False types the columns (fit).
        columns: for JSON lines, the fields every chunk must have (records may leave out unset fields).
        split_up_to: a typed CSV file of at most this many lines may be parsed in parts on several threads,
        its later parts read ahead (the caller holds every row anyway); None: one thread.
        """
        with self.errors_as_input_errors():
            if self.format == "parquet":
                order = self.arrow_schema.names if self.files else None  # several files: the first one's column order
                for path in self.files or [self.path]:
                    yield from _parquet_chunks(path, chunk_size, order)
            elif self.format == "zeek":
                from .logs.zeek import zeek_chunks

                yield from zeek_chunks(self, chunk_size)
            elif self.format == "json":
                from .logs.jsonlines import json_chunks

                yield from json_chunks(self, chunk_size, text, columns)
            elif self.by_part:
                yield from self._parts_in_first_order(chunk_size, text)
            else:
                chunks = _csv_text_chunks(self, chunk_size) if text else _csv_typed_chunks(self, chunk_size, split_up_to)
                if self.padded or self.closing_delimiter:
                    chunks = (_unpadded(chunk, self.closing_delimiter, typed=not text) for chunk in chunks)
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
        except (OSError, EOFError, lzma_error()) as e:
            detail = "; ".join(line.strip().rstrip(".") for line in str(e).splitlines() if line.strip())
            damaged = "; the file looks damaged or cut short: export or copy it again" if self.format == "parquet" else ""
            raise InputError(f"cannot read '{self.name}': {detail}{damaged}") from None
        except Exception as e:  # pyarrow raises its own types for corrupt files
            if type(e).__module__.startswith("pyarrow"):
                raise InputError(_arrow_message(self, e)) from None
            raise


def open_source(path: str | list[str], fmt: str | None = None, strict: bool = False, names: list[str] | None = None) -> Source:
    """Check the file, work out its format from its first bytes (or `fmt`), and return a Source.

    `path` may be several files, a folder or a quoted glob: one table, read file after file (see `_files`).
    names: the column names of a CSV without a header line, in the order of its fields.
    Fails early, before any progress bar or output file, on a missing file or bytes no reader understands.
    """
    files = _files([path] if isinstance(path, str) else list(path))
    if len(files) == 1:
        return _open_file(files[0], fmt, strict, names)
    sources = [_open_file(f, fmt, strict, names) for f in files]
    first = sources[0]
    header = _header_of(first) if first.format == "csv" else None
    by_part = False
    for other in sources[1:]:
        if other.format != first.format:
            raise InputError(f"'{other.path}' is {_FORMAT_NAMES[other.format]} and '{first.path}' is {_FORMAT_NAMES[first.format]}: "
                             "give files of one format")
        if other.format == "csv" and (other.delimiter != first.delimiter or _header_of(other) != header):
            # The same names in another order (an export whose columns were rearranged, or another delimiter)
            # read file by file, in the first file's order, as Parquet parts do. Other names are another table.
            _same_names(first, other, _check_header(first.path, header, first.delimiter),
                        _check_header(other.path, _header_of(other), other.delimiter))
            by_part = True
        if other.format == "parquet" and other.arrow_schema.names != first.arrow_schema.names:
            # Parquet names its columns: the same names in another order (one writer's parts against
            # another's) read in the first file's order. Other names are another table.
            _same_names(first, other, first.arrow_schema.names, other.arrow_schema.names)
    # The table reads as its first file says (format, delimiter, Zeek header, hints), its files one after another.
    table = replace(first, parts=sources, extra_fields=set(), by_part=by_part, lines_above_header=sum(s.lines_above_header for s in sources))
    if first.format == "parquet":
        table.arrow_schema = _unified([s.arrow_schema for s in sources], files)
        table.hints = _parquet_hints(table.arrow_schema)
    return table


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
            out += matched
        elif path != STDIO and p.is_dir():
            found = sorted(str(f) for f in p.rglob("*") if f.is_file() and not any(part[:1] in "._" for part in f.relative_to(p).parts))
            if not found:
                raise InputError(f"'{path}' is a folder with no files in it; give a table file or a folder of them")
            out += found
        else:
            out.append(path)
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
    with source.binary() as f:
        return f.readline().decode("utf-8-sig", "replace").rstrip("\r\n")


class _Joined(io.RawIOBase):
    """Files read one after another as one stream, each decompressed as its own Source found it (gzip or
    not), with a line break between two files where the first lacks one (as `zcat a b` would not: its
    last line would join the next file's first)."""

    def __init__(self, parts: list[Source]):
        self._parts, self._fh, self._last = list(parts), None, b"\n"

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while True:
            if self._fh is None:
                if not self._parts:
                    return 0
                self._fh = self._parts.pop(0).binary()
            n = self._fh.readinto(b)
            if n:
                self._last = bytes(b[n - 1 : n])
                return n
            self._fh.close()
            self._fh = None
            if self._last != b"\n":
                b[:1] = self._last = b"\n"
                return 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        super().close()


class _Produced(io.RawIOBase):
    """A stream whose bytes `_produce` makes a block at a time (b"" at the end) from the stream it wraps."""

    def __init__(self, raw: IO[bytes]):
        self._raw, self._out = raw, b""

    def readable(self) -> bool:
        return True

    def _produce(self) -> bytes:
        raise NotImplementedError

    def readinto(self, b) -> int:
        if not self._out:
            self._out = self._produce()
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Utf8From(_Produced):
    """A UTF-16 or UTF-32 stream as UTF-8 bytes."""

    def __init__(self, raw: IO[bytes], encoding: str, name: str):
        import codecs

        super().__init__(raw)
        self._name, self._encoding = name, encoding
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._done = False

    def _produce(self) -> bytes:
        out = b""
        while not out and not self._done:
            block = self._raw.read(1 << 20)
            self._done = not block
            try:
                out = self._decoder.decode(block, final=self._done).encode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"'{self._name}' reads as {self._encoding.upper()} text at first but is not ({e.reason}); "
                                 "re-save it as UTF-8") from None
        return out


RECORD_MAX_CHARS = 1 << 26  # a JSON record longer than this is taken for a broken one, not read on
LINES_PER_BLOCK = 4096  # records the readers below turn into JSON lines at a time


def _line_block(lines: list[str]) -> bytes:
    """Records as a block of JSON lines (b"" for none: the end of the stream)."""
    return ("\n".join(lines) + "\n").encode() if lines else b""


class _JsonLinesFrom(_Produced):
    """A JSON array of records (`[{...}, {...}]`, pretty-printed or not: what `jq -s`, pandas' to_json and
    many APIs write) as JSON lines, one record per line, read a block at a time."""

    def __init__(self, raw: IO[bytes], name: str):
        import codecs
        import json

        super().__init__(raw)
        self._name = name
        self._text = codecs.getincrementaldecoder("utf-8-sig")()
        self._parse = json.JSONDecoder().raw_decode
        self._buf, self._pos = "", 0
        self._opened = self._closed = self._eof = False
        self._count = 0  # records given out so far, to say which one is broken
        self._failed: InputError | None = None  # raised once the records before the broken one are handed on

    def _more(self) -> bool:
        if self._eof:
            return False
        block = self._raw.read(1 << 20)
        self._eof = not block
        self._buf = self._buf[self._pos :] + self._text.decode(block, final=self._eof)
        self._pos = 0
        return True

    def _skip(self, chars: str) -> str:
        """The next character that is not one of `chars` ("" at the end), reading on as needed."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in chars:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _produce(self) -> bytes:
        out = b""
        while not out and not self._closed:
            if self._failed is not None:
                raise self._failed
            out = self._records()
        return out

    def _records(self) -> bytes:
        """The next records in the buffer as lines (b"" once the array has closed). A broken record or a
        cut end is raised after the records before it are handed on (json_array_head reads those)."""
        lines: list[str] = []
        try:
            self._read_records(lines)
        except InputError as e:
            if not lines:
                raise
            self._failed = e
        self._count += len(lines)
        return _line_block(lines)

    def _read_records(self, lines: list[str]) -> None:
        import json

        if not self._opened:
            if self._skip(" \t\r\n") != "[":
                raise InputError(f"'{self._name}' is not a JSON array of records")
            self._pos += 1
            self._opened = True
        while not self._closed:
            c = self._skip(" \t\r\n,")
            if c == "]" or c == "":
                self._closed = True
                if c == "":
                    raise InputError(f"'{self._name}' ends before its JSON array closes: the file is cut short; copy it again")
                break
            try:
                record, end = self._parse(self._buf, self._pos)
            except json.JSONDecodeError as e:
                if len(self._buf) - self._pos < RECORD_MAX_CHARS and self._more():  # the record runs on into the next block
                    continue
                if self._eof and not self._buf.rstrip().endswith("]"):
                    raise InputError(f"'{self._name}' ends before its JSON array closes: the file is cut short; copy it again") from None
                raise InputError(f"'{self._name}' is not a valid JSON array: {e.msg} in record {self._count + len(lines) + 1:,}") from None
            if not isinstance(record, dict):
                kind = {list: "arrays", str: "strings", bool: "true/false values", type(None): "nulls"}.get(type(record), "numbers")
                raise InputError(f"'{self._name}' holds a JSON array of {kind}, not of records ({{\"field\": value, ...}})")
            # A record's own line breaks are white space between its tokens (a string holds them escaped).
            lines.append(self._buf[self._pos : end].replace("\n", " ").replace("\r", " "))
            self._pos = end
            if end == len(self._buf) or len(lines) >= LINES_PER_BLOCK:
                break


class _AzureFlowLines(_Produced):
    """Azure NSG and VNet flow logs as JSON lines, one flow tuple per line (logs.cloud.azure_flow_rows).
    Azure writes a document per NSG or NIC and hour; each is parsed whole, the next read once it is done,
    so files joined in a stream (a folder of PT1H.json, or the documents on stdin) are one table."""

    def __init__(self, raw: IO[bytes], name: str):
        super().__init__(raw)
        self._name = name
        self._blocks = self._batches()  # a generator: nothing is read before the first block is asked for

    def _produce(self) -> bytes:
        return next(self._blocks, b"")

    def _documents(self) -> Iterator[object]:
        import codecs
        import json

        parse, text = json.JSONDecoder().raw_decode, codecs.getincrementaldecoder("utf-8-sig")()
        buf, eof, tried = "", False, 0
        while True:
            buf = buf.lstrip(" \t\r\n,")
            if not buf and eof:
                return
            # A document is tried again only once the text has doubled: parsing stays linear in its size.
            if buf and (eof or len(buf) >= 2 * tried):
                try:
                    doc, end = parse(buf)
                except json.JSONDecodeError as e:
                    if eof and not buf.rstrip().endswith("}"):
                        raise InputError(f"'{self._name}' ends before its JSON closes: the file is cut short; copy it again") from None
                    if eof:
                        raise InputError(f"'{self._name}' is not a valid Azure flow log: {e.msg} (line {e.lineno}, column {e.colno})") from None
                    tried = len(buf)
                else:
                    yield doc
                    buf, tried = buf[end:], 0
                    continue
            block = self._raw.read(1 << 22)
            eof = not block
            buf += text.decode(block, final=eof)

    def _batches(self) -> Iterator[bytes]:
        import json

        from .logs.cloud import azure_flow_rows

        lines: list[str] = []
        for doc in self._documents():
            records = doc.get("records") if isinstance(doc, dict) and "records" in doc else [doc]
            for record in records if isinstance(records, list) else []:
                if not isinstance(record, dict):
                    continue
                for row in azure_flow_rows(record):
                    lines.append(json.dumps(row, separators=(",", ":")))
                    if len(lines) >= LINES_PER_BLOCK:
                        yield _line_block(lines)
                        lines = []
        if lines:
            yield _line_block(lines)


class _RecordLines(_Produced):
    """Log lines as a table's lines, each line's record made by `parse`: a JSON record (logs.keyvalue's
    key_values, logs.firewalls' asa_record, logs.events' cef_record, ...) or a CSV row below `header`
    (logs.firewalls.pan_os_line); "" for a message that is not a flow, left out and counted; None for a line
    that is not a record, counted as malformed (or stopping the run with --strict)."""

    def __init__(self, raw: IO[bytes], source: "Source", parse: Callable[[str], str | None], header: str = ""):
        super().__init__(raw)
        self._source, self._parse = source, parse
        self._lines = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=None)
        self._header = [header] if header else []

    def _produce(self) -> bytes:
        out, self._header = self._header, []
        for line in self._lines:
            if not line.strip():
                continue
            record = self._parse(line)
            if record is None:
                self._source.bad_line(line.rstrip("\r\n"))
                continue
            if not record:
                self._source.left_out("message")
                continue
            out.append(record)
            if len(out) >= LINES_PER_BLOCK:
                break
        return _line_block(out)

    def close(self) -> None:
        self._lines.close()
        super().close()


def json_array_head(text: str) -> str:
    """The first records of a JSON array's peeked text as JSON lines (for the format's column hints): the
    array's reader on the peeked text, up to the record the peek cuts."""
    reader, lines = _JsonLinesFrom(io.BytesIO(text.encode()), "the peeked text"), []
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
    ((b"PK\x03\x04",), "a ZIP archive (an Excel workbook is one): unzip it, or save the sheet as CSV"),
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


def _open_file(path: str, fmt: str | None = None, strict: bool = False, names: list[str] | None = None) -> Source:
    want = normalise_format(fmt) if fmt else None
    stream = None
    if path == STDIO or _read_once(path):
        # A pipe given by name (`vaeguard fit <(zcat conn.*.log.gz)`, a FIFO) is read as stdin is: opened
        # once, the peeked bytes kept in front, since opening it again gives only what is left.
        try:
            raw = sys.stdin.buffer if path == STDIO else open(path, "rb")  # noqa: SIM115 (closed with the stream)
        except OSError as e:
            raise InputError(f"cannot read '{path}': {e.strerror or e}") from None
        head = _read_up_to(raw, HEAD_BYTES)
        if head.startswith(_MAGIC["bz2"]):
            # bzip2 gives nothing until a whole block is in (900 kB of text, about a quarter of that compressed).
            head += _read_up_to(raw, BZ2_BLOCK_BYTES)
        stream = io.BufferedReader(_Prefixed(head, raw, own=path != STDIO))
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
        if stream is not None:
            raise InputError(f"Parquet cannot be read from {'stdin' if path == STDIO else 'a pipe'}; give the file's path")
        if names:
            raise _names_not_for(name, "a Parquet file")
        schema = _parquet_schema(path)
        schema = flattened(schema.empty_table()).schema
        return Source(path, "parquet", hints=_parquet_hints(schema), strict=strict, arrow_schema=schema)
    if want == "parquet":
        raise InputError(f"'{name}' is not a Parquet file; leave out --format to read it as the text table it is")
    codec = next((c for c, magic in _MAGIC.items() if head.startswith(magic)), "")
    compressed = bool(codec)
    if compressed:
        head = _decompressed_head(head, path, codec, once=stream is not None)
    encoding = _text_encoding(head)
    try:
        # A character cut at the end of the peeked block waits for bytes that never come: not an error.
        text = _decode_head(head, encoding) if encoding else head.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the end of the peeked block is fine; anything earlier is not text.
        if e.start < len(head) - 4:
            before = head[: e.start]
            if b"\n" in before and not any(b < 32 and b not in b"\t\n\r\x0c" for b in before):  # lines of text, then a bad byte
                raise InputError(not_utf8_message(Source(path, "csv", compressed=compressed, codec=codec or "gzip"))) from None
            known = _binary_kind(head)
            if known:
                raise InputError(f"'{name}' is {known}") from None
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
    # key=value lines, an ASA's teardowns, Firepower's connection events, an SRX's session closes, CEF, LEEF
    # and Check Point logs are read as the JSON records they become
    records = kind in ("kv", "asa", "ftd", "junos", "cef", "leef", "checkpoint")
    source = Source(path, "json" if records else kind, compressed=compressed, codec=codec or "gzip", strict=strict,
                    _stream=stream, encoding=encoding, log_lines=kind if records else "")
    if kind == "zeek":
        from .logs.zeek import parse_zeek_header

        source.zeek = parse_zeek_header(text, name)
        source.hints = dict(zip(source.zeek.fields, source.zeek.types))
    elif kind == "json":
        from .logs.cloud import AZURE_TYPES, is_azure_flow_log
        from .logs.jsonlines import json_hints

        source.json_array = text.lstrip().startswith("[")
        if source.json_array and text.lstrip()[1:].lstrip().startswith("]"):
            raise InputError(f"'{name}' is empty: its JSON array holds no records")
        source.azure = not source.json_array and is_azure_flow_log(text)
        source.hints = dict(AZURE_TYPES) if source.azure else json_hints(json_array_head(text) if source.json_array else text)
    elif records:
        pass  # the records' names type themselves (logs.recognise.table_hints), as a CSV header's do
    else:
        above = _lines_above_header(text)
        if above:
            bom = len(_BOM) if not encoding and head.startswith(_BOM) else 0
            source.skip_bytes = bom + len(above.encode())
            above_lines = above.splitlines()
            source.lines_above_header = len(above_lines)
            source.line_above_header = next(line for line in above_lines if line.strip())
            text = text[len(above):]
            if _W3C_FIELDS.match(above_lines[-1]):
                source.w3c_fields = text.splitlines()[0].split()
        source.delimiter = sniff_delimiter(text)
        _check_header(name, text.splitlines()[0], source.delimiter)
        source.padded, source.closing_delimiter = _layout(text, source.delimiter)
    return source


def _whole_lines(text: str, keepends: bool = False) -> list[str]:
    """The peeked text's lines, less the last where the peek may have cut it (no line end after it)."""
    lines = text.splitlines(keepends=keepends)
    return lines[:-1] if len(lines) > 1 and not text.endswith(("\n", "\r")) else lines


def _layout(text: str, delimiter: str) -> tuple[bool, bool]:
    """Whether the peeked lines pad their fields with spaces, and whether each ends with the delimiter."""
    lines = _whole_lines(text)
    try:
        rows = [row for row in csv.reader(lines[:50], delimiter=delimiter) if row]
    except csv.Error:
        return False, False
    if not rows:
        return False, False
    padded = any(f != f.strip(" ") and f.strip(" ") for row in rows for f in row)
    closing = len(rows[0]) > 1 and all(row[-1].strip(" ") == "" for row in rows)
    return padded, closing


def _unpadded(chunk: pd.DataFrame, closing_delimiter: bool, typed: bool) -> pd.DataFrame:
    """A chunk of a table whose fields are padded to line up (`rwcut`'s '   10.0.0.1|  443|'): names and text
    without the spaces, a padded no-value mark as missing, and a column that held text only because of
    such a mark typed as the numbers it holds. Padded, an address was no address and ' tcp' another
    protocol than 'tcp' in an unpadded export of the same flows."""
    if closing_delimiter:
        # A frame of its own: its columns are replaced below, and set on a slice they made pandas before 3.0
        # print a SettingWithCopyWarning on stderr while rwcut's output was read.
        chunk = chunk.iloc[:, :-1].copy()
    chunk.columns = [str(c).strip(" ") for c in chunk.columns]
    nulls = set(CSV_NULLS)
    for name in chunk.columns[chunk.dtypes.map(lambda d: not pd.api.types.is_numeric_dtype(d))]:
        try:
            stripped = chunk[name].str.strip(" ")
        except AttributeError:  # not text
            continue
        stripped = stripped.where(~stripped.isin(nulls))
        if typed:
            try:
                stripped = pd.to_numeric(stripped)
            except (ValueError, TypeError):
                pass
        chunk[name] = stripped
    return chunk


_EXCEL_SEP = re.compile(r"^sep=.\r?\n?$", re.IGNORECASE)
_W3C_FIELDS = re.compile(r"^#Fields:[ \t]*", re.IGNORECASE)


def _lines_above_header(text: str) -> str:
    """The lines above a CSV's header, as they stand in `text` ("" when there are none): a tool's note
    ("# exported by ..."), Excel's "sep=;", or a title and blank lines (one field or none) above a header
    of several.
    A first line starting with '#' that splits into as many fields as the line below it is the header
    itself (a first column named '#')."""
    lines = _whole_lines(text, keepends=True)
    # The W3C extended log format (Windows Firewall's pfirewall.log, IIS): '#' directives, and the names in
    # "#Fields: date time action ...". What stands above the names (its "#Fields: " too) is left out.
    for n, line in enumerate(lines):
        if not line.startswith("#"):
            break
        directive = _W3C_FIELDS.match(line)
        if directive and len(line.split()) > 2:
            return "".join(lines[:n]) + directive.group(0)

    def fields(line: str, delimiter: str) -> int:
        return len(next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])) if line.strip() else 0

    def above(line: str, below: str) -> bool:
        # A note, a blank line, a title, or Excel's line naming the delimiter ("sep=;").
        return line.startswith("#") or not line.strip() or _EXCEL_SEP.match(line) is not None or fields(line, sniff_delimiter(below)) <= 1

    n = 0
    while n < len(lines) - 1 and above(lines[n], lines[n + 1]):
        n += 1
    if n == 0:
        return ""
    delimiter = sniff_delimiter("".join(lines[n : n + 20]))
    width = fields(lines[n], delimiter)
    below = [fields(line, delimiter) for line in lines[n + 1 : n + 20]]
    if width < 2 or not below or any(w != width for w in below):
        return ""  # no header of several fields with rows of its width below: the file is left as it is
    names = next(csv.reader([lines[n].rstrip("\r\n")], delimiter=delimiter))
    if sum(map(_value_like, names)) >= len(names) / 2:
        return ""  # values, not names: no header to find (the header check says so)
    while n and lines[n - 1].startswith("#") and fields(lines[n - 1], delimiter) == width:
        n -= 1  # a '#' line as wide as the lines below is the header
    return "".join(lines[:n])


def _decode_head(head: bytes, encoding: str) -> str:
    """The peeked bytes as text, less a character cut at their end."""
    import codecs

    return codecs.getincrementaldecoder(encoding)().decode(head, final=False)


def lzma_error() -> type:
    import lzma

    return lzma.LZMAError


BZ2_BLOCK_BYTES = 1 << 20  # more than one bzip2 block compressed, however little it compresses
# A compressed file's first bytes, by what compressed it (Zeek writes gzip; logrotate may use bzip2 or xz).
_MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00"}


def _open_compressed(codec: str, f) -> IO[bytes]:
    """A path or a binary stream compressed by `codec`, decompressed as it is read."""
    import bz2
    import lzma

    return {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[codec](f, "rb")


def _decompressed_head(head: bytes, path: str, codec: str = "gzip", once: bool = False) -> bytes:
    name = {"gzip": "gzip", "bz2": "bzip2", "xz": "xz"}[codec]
    where = "stdin" if path == STDIO else path
    try:
        if not once:
            try:
                with _open_compressed(codec, path) as f:
                    return f.read(HEAD_BYTES)
            except EOFError:
                pass  # the file ends within the peeked bytes: decompress what there is
        # stdin (or a short file): decompress a copy of the peeked bytes, enough for a format guess, nothing consumed.
        with _open_compressed(codec, io.BytesIO(head)) as f:
            part = _read_partial(f)
    except (OSError, lzma_error()) as e:
        raise InputError(f"'{where}' looks {name}-compressed but cannot be decompressed: {e}") from None
    if not part:  # bzip2 gives nothing until a whole block (up to 900 kB) is in
        raise InputError(f"'{where}' is {name}-compressed but ends before any of it decompresses: the file is cut short; copy it again")
    return part


def _read_partial(f) -> bytes:
    out = bytearray()
    try:
        while True:
            part = f.read(4096)
            if not part:
                break
            out += part
    except EOFError:  # the peeked block ends mid-stream
        pass
    return bytes(out)


def _guess_text_format(text: str) -> str:
    first = text.lstrip()
    if first.startswith("#separator") or first.startswith("#fields"):
        return "zeek"
    after = first[1:].lstrip()[:1]
    if first.startswith("{") or (first.startswith("[") and (after in ("{", "[", "]", '"') or after.isdigit())):
        return "json"
    from .logs.cloud import looks_vpc_default
    from .logs.events import looks_cef, looks_checkpoint, looks_leef
    from .logs.firewalls import looks_cisco_asa, looks_ftd_events, looks_pan_os
    from .logs.keyvalue import looks_junos, looks_key_value

    # Before key=value: a CEF or LEEF event's attributes are key=value pairs too.
    if looks_cef(text):
        return "cef"
    if looks_leef(text):
        return "leef"
    if looks_checkpoint(text):
        return "checkpoint"
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


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of fields, the most fields winning."""
    lines = [line for line in _whole_lines(text)[:20] if line.strip()]
    best, best_fields = ",", 1
    for d in DELIMITERS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=d)}
        except csv.Error:
            continue
        if len(counts) == 1:
            n = counts.pop()
            if n > best_fields:
                best, best_fields = d, n
    if best_fields == 1 and len(lines) > 1:
        # Single spaces, and only where nothing else splits the lines: AWS VPC Flow Logs ("version account-id
        # interface-id srcaddr ..."). A space inside a value of any other table must never split it.
        counts = {len(line.rstrip("\r").split(" ")) for line in lines}
        if len(counts) == 1 and counts.pop() > 2:
            return " "
    if best_fields == 1 and lines:
        # Ragged lines with every candidate: keep the one that splits the header most (errors name it).
        header = lines[0]
        best = max(DELIMITERS, key=lambda d: (header.count(d), d == ","))
        if header.count(best) == 0:
            best = ","
    return best


def _named_csv(path: str, name: str, kind: str, text: str, names: list[str], **source) -> Source:
    """A CSV without a header line, its columns named by the user (--names): read as if the names' line
    stood above the rows."""
    if kind != "csv":
        raise _names_not_for(name, _FORMAT_NAMES.get(kind) or f"a log ({LOG_LINES_WORDS.get(kind, kind)})")
    text = text.removeprefix("\ufeff")
    delimiter = sniff_delimiter(text)
    padded, closing = _layout(text, delimiter)
    rows = [[f.strip(" ") for f in row] for row in csv.reader([line for line in _whole_lines(text) if line.strip()][:2], delimiter=delimiter)]
    rows = [row[:-1] if closing else row for row in rows]  # SiLK's rwcut closes each line with its delimiter
    fields = rows[0] if rows else []
    if fields == names:
        raise InputError(f"'{name}' already starts with a header line naming these columns; leave out --names")
    if len(rows) > 1 and not any(map(_value_like, fields)) and any(map(_value_like, rows[1])):
        # Names where the next line has numbers: a header, which --names would read as a row of text.
        raise InputError(f"'{name}' starts with a header line ({_first_fields(fields)}); leave out --names to read the names it has")
    if fields and len(fields) != len(names):
        raise InputError(f"--names gives {len(names)} names, and the first line of '{name}' holds {len(fields)} fields "
                         f"(split at {delimiter!r}); give one name per field")
    line = io.StringIO()
    csv.writer(line, delimiter=delimiter, lineterminator="\n").writerow(names + ([""] if closing else []))
    out = Source(path, "csv", header_line=line.getvalue().encode(), **source)
    out.delimiter, out.padded, out.closing_delimiter = delimiter, padded, closing
    return out


def _names_not_for(name: str, what: str) -> InputError:
    return InputError(f"--names names the columns of a CSV without a header line; '{name}' is {what}, which names its own: "
                      "leave out --names")


def parse_names(text: str) -> list[str]:
    """--names: comma-separated column names, each given once."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise InputError(f"--names holds an empty name ({text!r}); give the names separated by commas, e.g. --names dur,proto,bytes")
    dupes = _repeated(names)
    if dupes:
        raise InputError(f"--names gives {quoted_names(sorted(dupes), 5)} more than once; give each column one name")
    return names


def _repeated(names: list[str]) -> list[str]:
    """The names given more than once, each once, in the order they first repeat."""
    seen, dupes = set(), []
    for n in names:
        if n in seen and n not in dupes:
            dupes.append(n)
        seen.add(n)
    return dupes


def _check_header(name: str, header: str, delimiter: str) -> list[str]:
    """Column names from a CSV header line; duplicates are an error (pandas would silently rename them)."""
    if not header.strip():
        return []
    names = next(csv.reader([header.rstrip("\r\n")], delimiter=delimiter))
    dupes = _repeated(names)
    values = sum(map(_value_like, names)) >= len(names) / 2
    # KDD Cup and NSL-KDD's .txt files, UNSW-NB15's CSVs and zeek-cut's output come without names. A first
    # line of values repeats some (KDD's zeros), or holds a fraction or an address, which no header names a
    # column by; a header of integers alone is one (nProbe's IPFIX element numbers, pandas' 0, 1, 2).
    if values and (dupes or any(map(_fraction_or_address, names))):
        raise InputError(f"'{name}' has no header row: its first line holds values ({_first_fields(names)}); "
                         f"name its columns with --names (one name per field, comma separated), or add a first line of column names")
    if dupes:
        raise InputError(f"'{name}' has duplicate column names: {quoted_names(dupes, 5)}; rename them so each is unique")
    return names


def _first_fields(fields: list[str]) -> str:
    """A line's first fields, to show in a message."""
    return ", ".join(fields[:6]) + (", ..." if len(fields) > 6 else "")


def _fraction_or_address(field: str) -> bool:
    from .schema import is_ip_address, is_number

    text = field.strip()
    return (is_number(text) and not text.lstrip("+-").isdigit()) or is_ip_address(text)


def _value_like(field: str) -> bool:
    """A number, an IP address or a no-value mark: what a data row holds and a header rarely does."""
    from .schema import is_ip_address, is_number

    text = field.strip()
    return text in CSV_NULLS or is_number(text) or is_ip_address(text)


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
                        where = f": line {line} holds byte {data[e.start]:#04x} in '{shown}'"
                        break
                    line += block.count(b"\n")
        except (OSError, EOFError):
            pass
    return f"'{source.name}' is not UTF-8 text{where}; re-save it as UTF-8 (from Latin-1, say: iconv -f latin1 -t utf-8)"


def _arrow_message(source: Source, e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "UTF8" in text or "UTF-8" in text:
        return not_utf8_message(source)
    if "parse error" in text.lower() or "expected" in text.lower():
        return f"cannot parse '{source.name}' as {source.format}: {text}; check the delimiter and the row lengths"
    if text.startswith("Could not skip initial"):  # pyarrow, at a file that ends inside the lines it skips
        return f"'{source.name}' ends inside its header: the file was cut short before its first row"
    return f"cannot read '{source.name}' as {source.format}: {text}"


# ---- Parquet -------------------------------------------------------------------------------------
def _parquet_schema(path: str):
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except Exception as e:  # noqa: BLE001 - pyarrow's own error types
        raise InputError(f"cannot read '{path}' as Parquet: {str(e).splitlines()[0]}") from None


def _parquet_hints(schema) -> dict[str, str]:
    """Column types that say what a value means: a time, or a list (its member count is the feature, as
    for Zeek's sets)."""
    import pyarrow as pa

    from .schema import is_arrow_list

    out = {f.name: "time" for f in schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)}
    out.update({f.name: "list" for f in schema if is_arrow_list(f.type)})
    return out


def flattened(table):
    """A Parquet table's struct columns as a column per field, named as the JSON reader names nested keys:
    a conn log that a pipeline wrote to Parquet with Zeek's id fields nested in an `id` struct gives
    id.orig_h ... id.resp_p, which then get their roles as in Zeek's own JSON."""
    while has_struct(table.schema):
        table = table.flatten()
    return table


def has_struct(schema) -> bool:
    import pyarrow as pa

    return any(pa.types.is_struct(f.type) for f in schema)


def _parquet_chunks(path: str, chunk_size: int, order: list[str] | None = None) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # pre_buffer keeps every row group's bytes it fetched until the file is closed: reading a 5M-row file
    # batch by batch grew to 1.3 GiB with it, and stays at 0.4 GiB without it.
    pf = pq.ParquetFile(path, pre_buffer=False)
    empty = True
    nested = has_struct(pf.schema_arrow)  # a batch is made a table only to flatten it
    reorder = order is not None and pf.schema_arrow.names != list(order)
    for batch in pf.iter_batches(batch_size=chunk_size):
        empty = False
        if reorder:
            batch = batch.select(order)  # no copy: the columns taken in another order
        yield (flattened(pa.Table.from_batches([batch])) if nested else batch).to_pandas()
    if empty:
        schema = pa.schema([pf.schema_arrow.field(n) for n in order]) if reorder else pf.schema_arrow
        yield flattened(schema.empty_table()).to_pandas()


def _parquet_whole(path: str, max_rows: int | None) -> pd.DataFrame | None:
    """A Parquet file that the sample would keep whole, read in one go; None when it has more rows.

    Batch by batch, a file written as one row group (pyarrow's default up to 1M rows) held the decoded
    group, the batches and their concatenation at once: reading 1M rows x 39 columns peaked at 1.2 GiB
    and a fit at 1.4 GiB. Read whole and converted a column at a time, it holds the table and one
    column's copy at most (1M rows: 0.42 GiB above the imports, against 0.68 converted into one block),
    and a fit peaks at 0.92 GiB, when its training arrays sit beside the table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path, pre_buffer=False)
    rows = pf.metadata.num_rows
    if max_rows is not None and rows > max_rows:
        return None
    # A column at a time on each of a bounded number of threads: every column pyarrow decodes at once
    # holds its compressed, decompressed and decoded forms (1M rows on 8 threads: 77 MiB more than on 2).
    workers = column_workers(rows, copies=3)
    if workers < worker_count():
        from concurrent.futures import ThreadPoolExecutor

        names = pf.schema_arrow.names
        with ThreadPoolExecutor(workers, thread_name_prefix="vaeguard-parquet") as pool:
            columns = list(pool.map(lambda name: pq.ParquetFile(path, pre_buffer=False).read([name], use_threads=False).column(0), names))
        table = pa.Table.from_arrays(columns, schema=pf.schema_arrow)
        del columns
    else:
        table = pf.read()
    table = flattened(table)
    # Each column as pandas takes it without a copy (split blocks); a column of numbers then gets a numpy
    # copy of its own, and its Arrow buffer goes back at once. Converted into one block, the table and the
    # block were held together (1M rows: a 980 MiB peak while reading, now 750); Arrow's buffers kept for
    # the fit held 50 MiB more than their size, in pages shared with the freed decoding buffers.
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    for i, dtype in enumerate(frame.dtypes):
        if not (isinstance(dtype, np.dtype) and dtype.kind in "fiub"):  # text stays in Arrow: no Python strings
            continue
        values = frame.iloc[:, i].to_numpy()
        if values.base is not None:
            frame.isetitem(i, values.copy())
            del values
            pa.default_memory_pool().release_unused()
    pa.default_memory_pool().release_unused()  # the decoded pages, freed, else kept by Arrow's allocator
    return frame


# ---- CSV -----------------------------------------------------------------------------------------
def _csv_typed_chunks(source: Source, chunk_size: int, split_up_to: int | None = None) -> Iterator[pd.DataFrame]:
    ranges = _csv_ranges(source, split_up_to) if split_up_to is not None else None
    if ranges is None:
        yield from _typed_from(source, source.binary(), chunk_size)
        return
    # The first range is parsed on this thread, each later one on a thread of its own, ahead: pandas'
    # parser is single-threaded, and fit's read of a million rows had left one of two cores idle once
    # torch was imported (reading done 3.0-3.2 s -> 2.4-2.8 s after the start). Each later range counts
    # its malformed lines on a copy of the Source, added in file order, so the first one reported is the
    # file's first; with --strict its error is raised when its range is reached, after the earlier ones'.
    from .io import prefetch

    header, (first, *rest) = ranges
    later = []
    for start, end in rest:
        counter = replace(source, bad_lines=0, bad_example="")
        later.append((counter, prefetch(_typed_from(counter, _ByteRange(source.path, start, end, header), chunk_size), depth=2)))
    try:
        yield from _typed_from(source, _ByteRange(source.path, *first), chunk_size)
        for counter, chunks in later:
            yield from chunks
            source.bad_lines += counter.bad_lines
            source.bad_example = source.bad_example or counter.bad_example
    finally:
        for _, chunks in later:
            chunks.close()


def _typed_from(source: Source, raw: IO[bytes], chunk_size: int) -> Iterator[pd.DataFrame]:
    try:
        rows = _WholeRows(raw, source)
        with pd.read_csv(rows, sep=source.delimiter, chunksize=chunk_size, low_memory=False,
                         encoding_errors="strict", na_values=CSV_NULLS, keep_default_na=False) as reader:
            for chunk in reader:
                # The header's names as written, as score's reader takes them: pandas calls an empty one
                # "Unnamed: 0" (the index column of a frame saved with to_csv), and score could not find it.
                chunk.columns = rows.names
                yield chunk
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def _csv_ranges(source: Source, max_lines: int) -> tuple[bytes, list[tuple[int, int]]] | None:
    """Where to split a plain CSV file for parsing on several threads: (its header line, the byte ranges,
    the first one holding the header), or None to read it on one thread (stdin, gzip, several files, a
    small file, one thread, or more than `max_lines` lines: a sampled read keeps its memory bound).

    A range ends at a line end outside quotes (an even count of quote characters before it), so a quoted
    field that holds a line break stays in one range. Finding the ends reads the file once (0.05 s per
    260 MB, from the page cache the parse then reads)."""
    if (source.path == STDIO or source.compressed or source.encoding or source.skip_bytes or source.parts or source._stream is not None
            or source.log_lines or source.header_line):
        return None
    try:
        size = os.path.getsize(source.path)
    except OSError:
        return None
    # Two parts at most: each parser holds its own buffers (a 16-thread machine's nine parts peaked at
    # 1,107 MiB on 1M rows, against 928 for two), and two keep both cores of a small machine busy.
    parts = min(worker_count(), SPLIT_PARTS_MAX, size // SPLIT_MIN_BYTES + 1)
    if parts < 2:
        return None
    targets = [size * k // parts for k in range(1, parts)]
    cuts: list[int] = []
    header = b""
    pos = lines = quotes = 0
    with open(source.path, "rb") as fh:
        while block := fh.read(BLOCK_MAX):
            if not pos:
                header = block[: block.find(b"\n") + 1].removeprefix(_BOM)
            lines += _byte_count(block, b"\n")
            if lines > max_lines + 1:  # the header's line and max_lines rows
                return None
            counted = 0  # quotes counts those in block[:counted]
            while len(cuts) < len(targets) and (start := max(targets[len(cuts)] - pos, counted)) < len(block):
                newline = block.find(b"\n", start)
                if newline < 0:
                    break
                if pos + newline - targets[len(cuts)] > SPLIT_SEARCH_BYTES:  # a quote that never closes
                    return None
                quotes += block.count(b'"', counted, newline)
                counted = newline + 1
                if quotes % 2 == 0:
                    cuts.append(pos + counted)
            quotes += block.count(b'"', counted)
            pos += len(block)
    bounds = [0, *(c for c in cuts if len(header) < c < size), size]
    if not header or len(bounds) < 3:
        return None
    return header, list(zip(bounds[:-1], bounds[1:]))


class _ByteRange(io.RawIOBase):
    """Bytes `start` to `end` of a file, after `header` (a later range's rows read as a CSV of their own)."""

    def __init__(self, path: str, start: int, end: int, header: bytes = b""):
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with this reader
        self._fh.seek(start)
        self._left = end - start
        self._head = memoryview(header)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if len(self._head):
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        n = self._fh.readinto(memoryview(b)[: min(len(b), self._left)]) if self._left > 0 else 0
        self._left -= n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


_BOM = "\ufeff".encode()


class _WholeRows(io.RawIOBase):
    """A CSV's bytes without the lines whose field count is not the header's, each one handed to
    `Source.bad_line` (counted, or an error with --strict), as score's reader skips them.

    pandas pads a short line with gaps without a word and stops at a long one: a cut last line, or the
    summary nfdump prints after its flows ("Summary", then a six-field table), became rows of gaps that
    made every column "sometimes missing" at fit, while score stopped at them. A block's delimiters are
    counted first (a fraction of the parse); only a block whose total is off is split into
    lines, or, where it holds a quote (a quoted field may hold the delimiter or a line break), parsed by
    pyarrow, which knows quoting, to find them (a third of pandas' own parse); blocks end outside quotes.
    The header line again (`cat day1.csv day2.csv`) is no row either: it is left out, as a Zeek log's
    header lines are."""

    def __init__(self, raw: IO[bytes], source: Source):
        self._raw, self._source = raw, source
        self._sep = source.delimiter.encode()
        self._want = -1  # delimiters in a whole row: the header's, once read
        self.names: list[str] = []  # the header's column names, as written
        self._header = b""  # the header line, without its line end or byte-order mark
        self._carry = b""  # the last, unfinished line of the block before
        self._out = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not len(self._out) and not self._eof:
            self._out = memoryview(self._next_block(max(len(b), 1 << 20)))
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _next_block(self, size: int) -> bytes:
        data = self._raw.read(size)
        if not data:
            self._eof = True
            block, self._carry = self._carry, b""
        else:
            data = self._carry + data
            end = data.rfind(b"\n") + 1
            # An odd count of quotes before the last line end puts that end inside a quoted field: read on
            # (up to a bound, for a file whose stray quote never closes).
            if b'"' in data and _byte_count(data, b'"', end) % 2 and len(data) < QUOTED_BLOCK_MAX:
                self._carry = data
                return b""
            block, self._carry = data[:end], data[end:]
        if self._want < 0 and block:
            header_end = block.find(b"\n") + 1 or len(block)
            header = block[:header_end]
            self._header = header.rstrip(b"\r\n").removeprefix(_BOM)
            self.names = _check_header(self._source.name, header.decode("utf-8-sig", "replace").rstrip("\r\n"), self._source.delimiter)
            self._want = len(self.names) - 1
            return header + self._rows(block[header_end:])
        return self._rows(block)

    def _rows(self, block: bytes) -> bytes:
        if self._header and (block.startswith((self._header, _BOM + self._header)) or b"\n" + self._header in block
                             or b"\n" + _BOM + self._header in block):
            block = b"".join(ln for ln in block.splitlines(keepends=True) if ln.rstrip(b"\r\n").removeprefix(_BOM) != self._header)
        if not block:
            return block
        lines = _byte_count(block, b"\n") + (not block.endswith(b"\n"))
        if _byte_count(block, self._sep) == self._want * lines:
            return block
        if b'"' in block:
            return self._quoted_rows(block)
        kept = []
        for line in block.splitlines(keepends=True):
            if line.count(self._sep) == self._want or not line.strip():  # pandas skips blank lines itself
                kept.append(line)
            else:
                self._source.bad_line(line.rstrip(b"\r\n").decode("utf-8", "replace"))
        return b"".join(kept)

    def _quoted_rows(self, block: bytes) -> bytes:
        """The block without its rows of another length, as pyarrow's quote-aware parser finds them."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        bad: list[str] = []

        def note(row) -> str:
            bad.append(row.text or "")
            return "skip"

        names = [f"f{i}" for i in range(self._want + 1)]
        try:
            pacsv.read_csv(
                io.BytesIO(block),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=self._source.delimiter, newlines_in_values=True, invalid_row_handler=note),
                convert_options=pacsv.ConvertOptions(include_columns=names[:1], column_types={names[0]: pa.large_string()}),
            )
        except pa.ArrowInvalid:  # a quote that never closes
            return self._open_quote_at_end(block)
        if not bad:
            return block
        # The rows pyarrow skipped, by their text; one that spans lines (a line break inside its quotes) is
        # left to pandas, as before.
        drop = Counter(bad)
        kept = []
        for line in block.splitlines(keepends=True):
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if drop.get(text):
                drop[text] -= 1
                self._source.bad_line(text)
            else:
                kept.append(line)
        return b"".join(kept)

    def _open_quote_at_end(self, block: bytes) -> bytes:
        """The file's last block, whose last line opens a quote it never closes (a file cut while being
        written): that line is not a row. Any other block pyarrow cannot parse goes to pandas as it is."""
        if not self._eof:
            return block
        body = block.rstrip(b"\r\n")
        start = body.rfind(b"\n") + 1
        if body.count(b'"', start) % 2 == 0:
            return block
        self._source.bad_line(body[start:].rstrip(b"\r").decode("utf-8", "replace"))
        return self._rows(block[:start])


def _byte_count(data: bytes, char: bytes, end: int = -1) -> int:
    """data.count(char, 0, end) for one byte, in a sixth of its time (a comma in every few bytes slows
    bytes.count)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8, count=end) == ord(char)))


def rebatch(batches, chunk_size: int, schema=None) -> Iterator[pd.DataFrame]:
    """Arrow record batches in, DataFrames of exactly `chunk_size` rows out (the last one shorter)."""
    import pyarrow as pa

    pending: list = []
    held = 0
    yielded = False
    for batch in batches:
        if schema is None:
            schema = batch.schema
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_size:
            table = pa.Table.from_batches(pending, schema=schema)
            yield table.slice(0, chunk_size).to_pandas()
            yielded = True
            rest = table.slice(chunk_size)
            pending, held = rest.to_batches(), rest.num_rows
    if held or not yielded:
        yield pa.Table.from_batches(pending, schema=schema).to_pandas()


def block_size(header_bytes: int, chunk_size: int) -> int:
    # pyarrow reads blocks of bytes, not rows; rebatch cuts them to exactly `chunk_size` rows. Small
    # blocks parse faster (1 MiB: 1.8 CPU-seconds per million flow rows, 8 MiB: 2.9) and hold less in
    # memory; a block must still hold whole rows, so wide tables get larger ones.
    row_bytes = max(16, header_bytes * 2)
    return int(min(BLOCK_MAX, max(1 << 20, row_bytes * min(chunk_size, 2_000))))


def _without_headers(batches, names: list[str]) -> Iterator:
    """Record batches without the rows that repeat the header (files concatenated: `cat a.csv b.csv`)."""
    import pyarrow.compute as pc

    for batch in batches:
        first = pc.fill_null(batch.column(0), "")
        same = pc.or_(pc.equal(first, names[0]), pc.equal(first, "\ufeff" + names[0]))
        if pc.any(same).as_py():
            for i, name in enumerate(names[1:], 1):
                same = pc.and_(same, pc.equal(pc.fill_null(batch.column(i), ""), name))
            if pc.any(same).as_py():
                batch = batch.filter(pc.invert(same))
        yield batch


def _csv_text_chunks(source: Source, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    fh = source.binary()
    try:
        header = fh.readline()
        if not header.strip():
            raise InputError(f"'{source.name}' is empty: it has no header row and no data")
        try:
            names = _check_header(source.name, header.decode("utf-8-sig"), source.delimiter)
        except UnicodeDecodeError:
            raise InputError(f"'{source.name}' is not UTF-8 text (in the header); re-save it as UTF-8") from None
        # A line whose field count is not the header's (a cut last line, nfdump's closing summary) is
        # counted and skipped, as fit skips it, or is the error that --strict asks for.
        stop: list[InputError] = []
        try:
            reader = pacsv.open_csv(
                fh,
                read_options=pacsv.ReadOptions(column_names=names, block_size=block_size(len(header), chunk_size)),
                # A quoted field may hold a line break, also where a read block ends (no slower on 1M rows).
                parse_options=pacsv.ParseOptions(delimiter=source.delimiter, newlines_in_values=True,
                                                 invalid_row_handler=lambda row: source.skip_line(row.text or "", stop)),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, null_values=CSV_NULLS,
                                                     strings_can_be_null=True),
            )
        except pa.ArrowInvalid as e:
            if stop:
                raise stop[0] from None
            if "Empty CSV" not in str(e):
                raise
            yield pd.DataFrame({n: pd.Series([], dtype="str") for n in names})  # a header and no rows
            return
        try:
            yield from rebatch(_without_headers(reader, names), chunk_size, reader.schema)
        except pa.ArrowInvalid:
            if stop:
                raise stop[0] from None
            raise
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


# ---- whole tables, sampled -------------------------------------------------------------------------
def read_table(
    source: Source, max_rows: int | None = None, seed: int = 0, chunk_size: int = 200_000, on_rows: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Read a whole table, or a uniform sample of `max_rows` rows drawn while streaming. `on_rows` hears
    the running row count after each chunk.

    Returns (frame, total rows seen). Sampling keeps the rows with the smallest random keys (a bottom-k
    sample), so memory is bounded by max_rows plus two chunks (or an eighth of max_rows and a chunk, where
    that is more), and the sample does not depend on chunking.
    """
    if source.format == "parquet" and not source.files:  # several files are read in batches, file after file
        with source.errors_as_input_errors():
            whole = _parquet_whole(source.path, max_rows)
        if whole is not None:
            if len(whole.columns) == 0:
                raise InputError(f"'{source.name}' is empty: it has no columns")
            return whole, len(whole)
    rng = np.random.default_rng(seed)
    parts: list[pd.DataFrame] = []
    keys: list[np.ndarray] = []
    held = 0
    total = 0
    columns = None
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
    for chunk in source.chunks(chunk_size, split_up_to=sys.maxsize if max_rows is None else max_rows):
        chunk.index = pd.RangeIndex(total, total + len(chunk))
        columns = chunk.columns
        k = rng.random(len(chunk))
        total += len(chunk)
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
    if columns is None or len(columns) == 0:
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
