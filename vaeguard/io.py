"""Writing tables: atomic files (CSV or TSV, a Zeek log, JSON lines, each gzipped or not; Parquet) or
stdout, and a read-ahead helper.

Reading lives in sources.py and the readers it hands a table to (csvread.py, parquetread.py, logs/).
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

import pandas as pd

from .errors import InputError

STDIO = "-"
# Files are created private by mkstemp; once complete they get the mode a plain open() would give
# (0666 less the umask), as `cp` does, so other users and services can read results.
_UMASK = os.umask(0)
os.umask(_UMASK)
OUT_FORMATS = ("csv", "csv.gz", "tsv", "tsv.gz", "parquet", "zeek", "zeek.gz", "json", "json.gz")
# Zeek types of the columns scoring adds, for a Zeek log output's #types line.
SCORE_TYPES = {"anomaly_score": "double", "p_value": "double", "is_anomaly": "count", "top_features": "string"}
# Parquet tries a dictionary for every column until it holds 1 MiB; for measurements with a distinct value
# in most rows that hashing is wasted and made the writer a quarter of a Parquet-to-Parquet score's CPU
# time. Capped at 64 KiB (8,192 distinct 8-byte values) ports, states and small counts keep their
# dictionaries and continuous columns give up early: 2.4x less writing time per 500k scored rows.
PARQUET_OPTIONS = {"dictionary_pagesize_limit": 64 << 10}


def output_format(path: str, override: str | None = None) -> str:
    """The output format from `--out-format`, else from the --out extension; stdout is CSV."""
    if override:
        fmt = override.lower().lstrip(".")
        fmt = {"gz": "csv.gz", "pq": "parquet"}.get(fmt, fmt)
        if fmt not in OUT_FORMATS:
            raise InputError(f"unknown output format '{override}'; use one of: {', '.join(OUT_FORMATS)}")
        return fmt
    if path == STDIO or is_stream(path):
        return "csv"  # a device or a pipe (/dev/null, /dev/stdout, a FIFO) has no extension to go by
    name = path.lower()
    if name.endswith((".tsv.gz", ".tab.gz")):
        return "tsv.gz"
    if name.endswith(".log.gz"):
        return "zeek.gz"
    if name.endswith(".log"):
        return "zeek"
    if name.endswith((".json.gz", ".jsonl.gz", ".ndjson.gz")):
        return "json.gz"
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "json"  # JSON lines, as Zeek's and Suricata's .json logs are
    if name.endswith(".gz"):
        return "csv.gz"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    if name.endswith((".csv", ".txt")):
        return "csv"
    raise InputError(
        f"cannot tell the output format of '{path}' from its extension; "
        f"name it .csv, .csv.gz, .tsv, .parquet, .log (a Zeek log) or .json (JSON lines), or pass --out-format {'|'.join(OUT_FORMATS)}"
    )


def is_stream(path: str) -> bool:
    """Whether `path` names a device or a pipe (/dev/null, /dev/stdout, a FIFO) rather than a file: written
    straight to, since a file renamed over it would replace the device or the pipe itself."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def to_arrow(df: pd.DataFrame):
    """A DataFrame as an Arrow table; object columns of mixed types are written as their strings."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        fixed = df.copy()
        for c in fixed.columns:
            if fixed[c].dtype == object:
                fixed[c] = fixed[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
        return pa.Table.from_pandas(fixed, preserve_index=False)


class prefetch:  # noqa: N801 - used like the generator it was
    """Iterate over `items`, producing up to `depth` items ahead on a background thread.

    Reading and parsing CSV (pyarrow) and scoring (numpy) both release the GIL for most of their work,
    so overlapping them hides most of the read time. Errors from the producer are raised here, in order.
    The thread starts at once, so a caller can begin reading before slow set-up (importing torch, loading
    the model); `close()` (or leaving a `with` block) stops it when the items are not wanted after all,
    and waits (up to JOIN_SECONDS) until the thread has closed what it was reading.
    """

    _DONE = object()
    # A stopped producer finishes the item it is on first: one chunk, a fraction of a second.
    JOIN_SECONDS = 10.0

    def __init__(self, items: Iterable, depth: int = 1):
        import queue
        import threading

        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = self._abandoned = False
        self._thread = threading.Thread(target=self._produce, args=(iter(items),), name="vaeguard-prefetch", daemon=True)
        self._thread.start()

    def _put(self, entry) -> bool:
        import queue

        while not self._stop.is_set():  # the consumer may have gone away; never block forever
            try:
                self._q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put((item, None)):
                    return
            self._put((self._DONE, None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            self._put((self._DONE, e))
        finally:
            # A reader left open keeps pyarrow's read-ahead threads calling the Python file object; one
            # still doing so when the interpreter exits aborts it (a wrong-column error on a large file
            # ended in SIGABRT, exit 134, about one run in five). Closing it here, on its own thread, ends them.
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> "prefetch":
        return self

    # What `next_within` gives when no item came in time.
    WAITING = object()

    def next_within(self, seconds: float, default=None):
        """The next item, WAITING where none is ready within `seconds`, or `default` after the last."""
        import queue

        if self._finished:
            return default
        try:
            entry = self._q.get(timeout=seconds)
        except queue.Empty:
            return self.WAITING
        try:
            return self._unpacked(entry)
        except StopIteration:
            return default

    def __next__(self):
        if self._finished:
            raise StopIteration
        return self._unpacked(self._q.get())

    def _unpacked(self, entry):
        item, err = entry
        if item is self._DONE:
            self.close()
            if err is not None:
                raise err
            raise StopIteration
        return item

    def close(self) -> None:
        import threading

        self._finished = True
        self._stop.set()
        if self._thread is not threading.current_thread() and not self._abandoned:
            self._thread.join(self.JOIN_SECONDS)

    def abandon(self) -> None:
        """Stop taking items, without waiting for the producer: it may be blocked reading a live pipe whose
        writer never closes it (the process is about to leave)."""
        self._abandoned = True
        self.close()

    def __enter__(self) -> "prefetch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self._stop.set()


class AtomicTableWriter:
    """Write a table chunk by chunk to a temporary file beside the target, renamed into place on success.

    An interrupted run (exception, Ctrl-C, SIGKILL) leaves the previous target untouched and no partial file
    under the target's name. Writing to "-" streams CSV to stdout. CSV goes through pyarrow's writer,
    several times faster than pandas' to_csv. A Zeek log (`.log`) is written as Zeek writes one, for
    zeek-cut and the tools that read Zeek's logs: its header, tab-separated values, `-` for a missing
    one, and the input's Zeek types (`zeek_types`) where it had them.
    """

    def __init__(self, path: str, fmt: str | None = None, input_schema=None, zeek_types: dict[str, str] | None = None,
                 value_types: dict[str, str] | None = None, late_lists: set[str] | None = None):
        self.path = path
        self.fmt = output_format(path, fmt)
        self.input_schema = input_schema  # a Parquet input's Arrow schema: its columns keep their types
        self.zeek_types = zeek_types or {}
        self.value_types = value_types if value_types is not None else {}  # what the input's format says a column holds (Source.hints): JSON's sets, bools
        # Of those, the JSON arrays found as the input is read (Source.late_lists; both grow as it is): the reader
        # may be chunks ahead of the writer
        self.late_lists = late_lists if late_lists is not None else set()
        self._tmp: str | None = None  # the temporary file written first; None for a device or a pipe written straight to
        self._target = path
        self._stream = False  # a device or a pipe (is_stream)
        self._fh: IO | None = None
        self._writer = None
        self._schema = None
        self._number_types: dict = {}
        self._list_types: dict = {}  # Parquet output: a set's or an array's member type (see _lists_typed)
        self._zeek_written: list[str] = []  # Zeek log output: its columns' types, as its header says
        self.not_numbers: dict[str, int] = {}  # Parquet output: values that did not fit their column's number type
        self.rows = 0

    def __enter__(self) -> "AtomicTableWriter":
        if self.path == STDIO:
            if self.fmt == "parquet":
                # Parquet's writer needs a file it can seek in: the finished file is copied to stdout.
                fd, self._tmp = tempfile.mkstemp(prefix=".vaeguard-stdout.", suffix=".parquet.tmp")
                os.close(fd)
            elif self.fmt.endswith(".gz"):
                self._fh = gzip.GzipFile(fileobj=sys.stdout.buffer, mode="wb")
            else:
                self._fh = sys.stdout.buffer
            return self
        self._stream = is_stream(self.path)
        # A link to a file is followed: the file it points to is replaced, and the link stays.
        target = Path(self.path if self._stream else os.path.realpath(self.path))
        check_output_folder(target, self.path)
        if target.is_dir():
            raise InputError(f"--out '{self.path}' is a folder; give a file name such as scored.csv")
        self._target = str(target)
        # A file is written beside the target and renamed over it; a device or a pipe straight to, except
        # by Parquet's writer, which needs a file it can seek in (the finished file is copied into the pipe).
        if not self._stream or self.fmt == "parquet":
            if self._stream:
                fd, self._tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp")
            else:
                fd, self._tmp = temp_file_beside(target)
            os.close(fd)
        if self.fmt.endswith(".gz"):
            self._fh = gzip.open(self._dest, "wb")
        elif self.fmt != "parquet":
            self._fh = open(self._dest, "wb")  # noqa: SIM115 - closed in __exit__
        return self

    @property
    def _dest(self) -> str:
        """Where the bytes go as they are written: the temporary file, or the device or pipe itself."""
        return self._tmp or self._target

    def write(self, df: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        self.rows += len(df)
        table = to_arrow(df)
        first = self._schema is None
        if self.fmt == "parquet":
            table = self._lists_typed(table, first)
            table = self._numbers_typed(table, first)
            if self.input_schema is not None:
                table = _as_input_types(table, self.input_schema)
        if first:
            self._schema = table.schema
            if self.fmt == "parquet":
                self._writer = pq.ParquetWriter(self._dest, table.schema, **PARQUET_OPTIONS)
        elif not table.schema.equals(self._schema, check_metadata=False):
            # Chunks of one file can infer different dtypes (an int column with a gap becomes float).
            table = table.cast(self._schema, safe=False)
        if self._writer is not None:
            self._writer.write_table(table)
        elif self.fmt.startswith("zeek"):
            if first:
                self._zeek_written = _zeek_column_types(table, self.zeek_types, self.value_types)
                self._fh.write(_zeek_header(table.column_names, self._zeek_written))
            self._fh.write(_zeek_rows(table, bools={i for i, t in enumerate(self._zeek_written) if t == "bool"}))
        elif self.fmt.startswith("json"):
            self._fh.write(_json_lines(table, self.value_types))
        else:
            self._fh.write(_csv_bytes(table, header=first, delimiter="\t" if self.fmt.startswith("tsv") else ","))
        if self._tmp is None and self._writer is None:
            # stdout, a pipe or a device: whoever reads it (a live tail's next step) gets each chunk now.
            self._fh.flush()

    def _lists_typed(self, table, first: bool):
        """Parquet output: the sets and arrays a log or JSON input held (read as their joined text) as Parquet
        lists of their members' type, so that a reader (and a fit on the output) sees the lists the input had.
        The member type comes from the input's format (`value_types`) and holds where the first chunk's members
        all are one; a list of records stays its JSON text. A later member that is no such value is a null,
        counted in `self.not_numbers`."""
        import pyarrow as pa

        from .logs.jsonlines import split_list
        from .schema import is_arrow_list

        if first:
            for i, field in enumerate(table.schema):
                member = _list_member_type(self.value_types.get(field.name, ""))
                if member is None or not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type) or pa.types.is_null(field.type)):
                    continue
                if field.name in self.late_lists and table.column(i).null_count == len(table):
                    # An array found past this chunk, by a reader that may or may not be that far ahead by now: the
                    # column is its text, whatever the timing (a file's schema is set by its first chunk).
                    continue
                self._list_types[field.name] = member
        changed = False
        for name, member in list(self._list_types.items()):
            i = table.schema.get_field_index(name)
            if i < 0 or is_arrow_list(table.schema.field(i).type):
                continue
            try:
                lists = split_list(table.column(i), member)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                as_text = split_list(table.column(i), pa.string())
                if first:  # members that are not all what the type says: kept as written
                    lists = as_text
                    self._list_types[name] = pa.string()
                else:
                    lists = pa.ListArray.from_arrays(as_text.offsets, _members_or_nulls(as_text.values, member), mask=as_text.is_null())
                    self.not_numbers[name] = self.not_numbers.get(name, 0) + lists.values.null_count
            table = table.set_column(i, pa.field(name, lists.type), lists)
            changed = True
        return table.replace_schema_metadata(None) if changed else table

    def _numbers_typed(self, table, first: bool):
        """Parquet output: text columns that hold numbers (a CSV or a log is read as text) become int64 or
        float64, as pyarrow's CSV reader would type them, decided on the first chunk.

        A later value that does not fit its column's type is written as a null and counted in
        `self.not_numbers` (CSV output keeps every value as written)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        first_casts = {}  # the first chunk's columns as cast while choosing their types
        if first:
            for field in table.schema:
                if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
                    continue
                col = table.column(field.name)
                if col.null_count == len(col):
                    continue
                for kind in (pa.int64(), pa.float64()):
                    try:
                        first_casts[field.name] = pc.cast(col, kind)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                        continue
                    self._number_types[field.name] = kind
                    break
        for name, kind in self._number_types.items():
            i = table.schema.get_field_index(name)
            if i < 0:
                continue
            col = table.column(i)
            if col.type == kind:
                continue
            try:
                typed = first_casts[name] if name in first_casts else pc.cast(col, kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                typed = _numbers_or_nulls(col, kind)
                lost = (len(col) - col.null_count) - (len(typed) - typed.null_count)
                self.not_numbers[name] = self.not_numbers.get(name, 0) + lost
            table = table.set_column(i, pa.field(name, kind), typed)
        if self._number_types:
            # pandas' metadata still names these columns' text dtype, and read_parquet would restore it.
            table = table.replace_schema_metadata(None)
        return table

    def __exit__(self, exc_type, exc, tb) -> None:
        wrote = self._schema is not None
        if exc_type is None and wrote and self.fmt.startswith("zeek"):
            self._fh.write(f"#close\t{_zeek_time()}\n".encode())
        try:
            if self._writer is not None:
                self._writer.close()
            if self._fh is not None:
                if self._fh is sys.stdout.buffer:
                    self._fh.flush()
                else:
                    self._fh.close()  # a gzip stream to stdout writes its end here, and leaves stdout open
            if self.path == STDIO and exc_type is None and wrote and self._tmp is not None:
                with open(self._tmp, "rb") as src:
                    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
            if self.path == STDIO:
                sys.stdout.buffer.flush()
        finally:
            if self.path == STDIO:
                if self._tmp is not None and os.path.exists(self._tmp):
                    os.unlink(self._tmp)
                return
            if self._tmp is None:
                pass  # a device or a pipe, written straight to
            elif exc_type is None and wrote and self._stream:
                with open(self._tmp, "rb") as src, open(self._target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                os.unlink(self._tmp)
            elif exc_type is None and wrote:
                os.chmod(self._tmp, 0o666 & ~_UMASK)
                os.replace(self._tmp, self._target)
            elif os.path.exists(self._tmp):
                os.unlink(self._tmp)
            if exc_type is None and not wrote:
                raise InputError("nothing to write: the input produced no rows and no columns")


def _list_member_type(hint: str):
    """The Arrow type of a list's members by what the input's format calls the column (Zeek's set[count],
    vector[string]; JSON's list[int], list[string]), or None where it is no list, or a list of records."""
    import pyarrow as pa

    from .schema import zeek_base_type, zeek_member_type

    if zeek_base_type(hint) not in ("set", "vector", "list"):
        return None
    kind = zeek_member_type(hint)
    if kind == "record":
        return None
    if kind in ("int", "count", "port"):
        return pa.int64()
    if kind in ("double", "interval", "time"):
        return pa.float64()
    return pa.bool_() if kind == "bool" else pa.string()


def _members_or_nulls(members, kind):
    """List members (text) as `kind`, a null wherever one is no such value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_boolean(kind):
        known = pc.is_in(members, pa.array(["true", "false", "T", "F"]))
        return pc.if_else(known, pc.is_in(members, pa.array(["true", "T"])), pa.scalar(None, pa.bool_()))
    return _numbers_or_nulls(members, kind).combine_chunks()


def _numbers_or_nulls(col, kind):
    """`col` (text) as `kind`, a null wherever a value is not such a number (an int64 column also drops
    fractions rather than rounding them)."""
    import pyarrow as pa

    values = pd.to_numeric(col.to_pandas(), errors="coerce")
    if pa.types.is_integer(kind):
        values = values.where(values == values.round())
        values = values.where(values.abs() < 2**63)
        return pa.chunked_array([pa.array(values.astype("Int64"), type=kind)])
    return pa.chunked_array([pa.array(values.astype(float), type=kind, from_pandas=True)])


def _as_input_types(table, schema):
    """Columns that came from a Parquet input, with the input's own types again: on the way through pandas
    an int64 column with nulls became float64, decimal128(10, 2) became decimal128(4, 2) and a dictionary's
    int32 indices int8."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        j = schema.get_field_index(field.name)
        if j < 0 or schema.field(j).type == field.type:
            continue
        try:
            column = table.column(i).cast(schema.field(j).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue  # a value the input's type cannot hold (text in a number column): left as scored
        table = table.set_column(i, schema.field(j), column)
    return table


def _as_text_columns(table):
    """A Parquet input's columns that text output (CSV, a Zeek log) cannot write as they are: a duration in
    seconds, as fit modelled it and as Zeek writes an interval (pyarrow wrote its count of nanoseconds,
    with no unit); list, struct and map columns as text, which pyarrow's CSV writer refuses: a list of
    plain values as a Zeek set is written ("a,b", "(empty)"), as the JSON reader joins an array; anything
    else as JSON."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    from .schema import is_arrow_list

    for i, field in enumerate(table.schema):
        t = field.type
        if pa.types.is_duration(t):
            per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[t.unit]
            seconds = pc.divide(pc.cast(table.column(i).cast(pa.int64()), pa.float64()), per_second)
            table = table.set_column(i, pa.field(field.name, pa.float64()), seconds)
            continue
        if not pa.types.is_nested(t):
            continue
        column = None
        if is_arrow_list(t):
            from .logs.jsonlines import joined_plain_list

            column = joined_plain_list(table.column(i))
        if column is None:
            column = pa.array([None if v is None else json.dumps(v, default=str) for v in table.column(i).to_pylist()], pa.large_string())
        table = table.set_column(i, pa.field(field.name, column.type), column)
    return table


def _csv_bytes(table, header: bool, delimiter: str = ",") -> bytes:
    """One chunk as CSV: values as they are, quoted only where a value needs it (pyarrow's "needed"
    style quotes every string, which doubles the size of a table read as text). pyarrow quotes every
    header name whatever the style; the header is written as the input's was, plain where it can be, so
    `cut -d,` and awk see `anomaly_score`, not `"anomaly_score"`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    head = _csv_header(table.column_names, delimiter) if header else b""
    table = _as_text_columns(table)
    for style in ("none", "minimal", "needed"):
        out = table
        if style == "minimal":
            out = _quoted_where_needed(table, delimiter)
            if out is None:
                continue
        buf = pa.BufferOutputStream()
        try:
            pacsv.write_csv(out, buf, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none" if style == "minimal" else style,
                                                                       delimiter=delimiter))
        except pa.ArrowInvalid:  # a value holds a comma, a quote or a newline: quote the strings
            continue
        data = buf.getvalue().to_pybytes()
        if style == "minimal":
            for mark, char in zip(_MARKS, (b'"', delimiter.encode(), b"\n", b"\r")):
                data = data.replace(mark, char)
        return head + data
    raise AssertionError("unreachable: the needed style quotes any value")


# Stand-ins for a quoted value's quote, delimiter and line breaks while pyarrow writes a chunk unquoted:
# control characters a flow log's text does not hold (a chunk holding one is written in pyarrow's style).
_MARKS = (b"\x01", b"\x02", b"\x03", b"\x04")


def _quoted_where_needed(table, delimiter: str):
    """`table` with each text value that holds the delimiter, a quote or a line break quoted as CSV quotes it,
    its structural characters as _MARKS, so that pyarrow writes the chunk unquoted and the marks are then
    turned back: only those values are quoted, as Python's csv module and pandas quote. pyarrow's "needed"
    style quotes every text value of the chunk instead (an Elasticsearch export whose related.ip holds
    "a, b" grew to 1.40x its size). None where a text value holds a mark already."""
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    special = "[" + re.escape(delimiter) + '"\n\r]'
    marks = "[\x01-\x04]"
    for i, field in enumerate(table.schema):
        t = field.type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            continue
        column = table.column(i)
        if pc.any(pc.match_substring_regex(column, marks)).as_py():
            return None
        needs = pc.match_substring_regex(column, special)
        if not pc.any(needs).as_py():
            continue
        mark, nothing = pa.scalar("\x01", t), pa.scalar("", t)
        quoted = pc.binary_join_element_wise(mark, pc.replace_substring(column, '"', '""'), mark, nothing)
        quoted = pc.replace_substring(pc.replace_substring(pc.replace_substring(quoted, '"', "\x01"), delimiter, "\x02"), "\n", "\x03")
        quoted = pc.replace_substring(quoted, "\r", "\x04")
        table = table.set_column(i, field, pc.if_else(needs, quoted, column))
    return table


def _zeek_time() -> str:
    import time

    return time.strftime("%Y-%m-%d-%H-%M-%S")


_ZEEK_ESCAPES = (("\t", "\\x09"), ("\n", "\\x0a"), ("\r", "\\x0d"))  # as Zeek's writer escapes a tab or line break


def _zeek_column_types(table, zeek_types: dict[str, str], hints: dict[str, str]) -> list[str]:
    """The Zeek types of a Zeek log output's columns, by its first chunk `table`: a Zeek log input's own
    (`zeek_types`, its #types), the scores' own, else what the input's format says a column holds (`hints`:
    the fields of Zeek's JSON, Suricata's eve.json) where its text reads as that type (_zeek_type), else string."""
    text = _as_text_columns(table)
    return [zeek_types[n] if zeek_types.get(n) else SCORE_TYPES[n] if n in SCORE_TYPES else _zeek_type(hints.get(n, ""), text.column(i))
            for i, n in enumerate(table.column_names)]


def _zeek_header(names: list[str], zeek_types: list[str]) -> bytes:
    """Zeek's TSV header for columns `names` of `zeek_types`."""
    # A name with a tab or a line break in it (a Parquet or CSV column may have one) is escaped as a value
    # is, or the #fields line would name more columns than each row holds; the Zeek reader undoes it.
    fields = list(names)
    for char, escaped in _ZEEK_ESCAPES:
        fields = [n.replace(char, escaped) for n in fields]
    lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tvaeguard",
             f"#open\t{_zeek_time()}", "#fields\t" + "\t".join(fields), "#types\t" + "\t".join(zeek_types)]
    return ("\n".join(lines) + "\n").encode("utf-8")


_ZEEK_TYPES = {"addr", "bool", "count", "double", "enum", "int", "interval", "pattern", "port", "string", "subnet", "time"}
_ZEEK_NUMBERS_WRITTEN = {"count", "double", "int", "interval", "port", "time"}
_NUMBER_TEXT = r"^-?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$"


def _zeek_type(hint: str, column) -> str:
    """The Zeek type of a column its input's format calls `hint` (Source.hints), where its text as written
    (`column`) reads as that type: a Zeek JSON log's fields as Zeek's TSV types them (its TSV output had typed
    every column string: ts, counts and ports read back as text by a Zeek-aware reader), a JSON array as a
    vector of its members' type. A hint that is no Zeek type (an id, a sensor's name) is string, as is a
    number type over text that is no number (an ISO time, Zeek's JSON written with ISO8601 timestamps); a bool
    is written T and F, as Zeek's TSV writes one (JSON's true and false too: _zeek_rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .schema import zeek_base_type, zeek_member_type

    base, member = zeek_base_type(hint), zeek_member_type(hint)
    if base == "list":  # a JSON array, ordered: Zeek's vector; a list of records is its JSON text
        base, member = "vector", {"": "string"}.get(member, member)
    if base in ("set", "vector"):
        return f"{base}[{member}]" if member in _ZEEK_TYPES else "string"
    if base not in _ZEEK_TYPES:
        return "string"
    written = column if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) else pc.cast(column, pa.string())
    written = written.drop_null()
    if base in _ZEEK_NUMBERS_WRITTEN and pc.all(pc.match_substring_regex(written, _NUMBER_TEXT)).as_py() is False:
        return "string"
    if base == "bool" and pc.all(pc.is_in(written, pa.array(["T", "F", "true", "false"]))).as_py() is False:
        return "string"
    return base


def _zeek_rows(table, bools: set[int] = frozenset()) -> bytes:
    """One chunk as Zeek's TSV rows: every value as text, `-` where it is missing, a tab or a line break
    inside a value escaped as Zeek escapes it (\\x09, \\x0a, \\x0d). As Zeek's writer does, an empty text is
    `(empty)` (an empty field is no Zeek value) and a text that is `-` itself starts escaped (`\\x2d`), or it
    would read back as unset. `(empty)` is left as it is: a Zeek log read in holds it as its empty marker.
    The columns at `bools`, typed bool, are T and F where JSON wrote true and false."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return b""
    columns = []
    for i, col in enumerate(_as_text_columns(table).columns):
        text = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
        if i in bools:
            text = pc.replace_substring_regex(pc.replace_substring_regex(text, "^true$", "T"), "^false$", "F")
        for char, escaped in _ZEEK_ESCAPES:
            text = pc.replace_substring(text, char, escaped)
        for value, written in (("-", "\\x2d"), ("", "(empty)")):
            text = pc.if_else(pc.equal(text, value), written, text)
        columns.append(pc.fill_null(text, "-"))
    return _line_bytes(pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, "\t"), "", "\n"))


def _line_bytes(lines) -> bytes:
    """Text lines, each ending in its own newline, as the bytes they make end to end: read straight from
    the Arrow buffer, no Python string per row."""
    import numpy as np
    import pyarrow as pa

    lines = pa.concat_arrays(lines.chunks) if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return lines.buffers()[2][offsets[0] : offsets[-1]].to_pybytes()


# A value written as it is in JSON: a number as JSON writes one, or true/false. A CSV or a log is read as
# text ('443'), and a SIEM indexes 443 as a number; '0443' or '1.' is not a JSON number and stays text.
_JSON_LITERAL = r"^(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false)$"
_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_JSON_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f]"  # the other characters JSON escapes, as \u00XX
_JSON_SPECIAL = '[\\x00-\\x1f"\\\\]'  # any character a JSON string escapes


def _json_lines(table, types: dict[str, str] | None = None) -> bytes:
    """One chunk as JSON lines, an object per row: a value that reads as a JSON number or as true/false
    as written (_JSON_LITERAL), any other text a JSON string, a Parquet input's list or struct as a JSON
    array or object, and a missing value left out, as Zeek's JSON writer leaves out an unset field (a
    number column's NaN or infinity too: JSON has none). `types`, what the input's format says a column
    holds (Zeek's #types, the fields of Zeek JSON): a set or vector is a JSON array, as Zeek's JSON writer
    writes one, and a bool (Zeek's T and F) true or false."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    from .schema import zeek_base_type, zeek_member_type

    if table.num_rows == 0:
        return b""
    types = types or {}
    fields = []
    for name, col, given in zip(table.column_names, _as_text_columns(table).columns, table.columns):
        key = json.dumps(str(name), ensure_ascii=False) + ":"
        base = zeek_base_type(types.get(name, ""))
        is_text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        if pa.types.is_nested(given.type) or (base in ("set", "vector", "list") and is_text):
            # A Parquet input's lists, structs and maps, and a Zeek set's or a JSON array's members as the readers
            # join them ("a,b", "(empty)"; a list of records as its JSON text): JSON's arrays and objects.
            if not pa.types.is_nested(given.type) and pc.all(pc.equal(col, "(empty)")).as_py() is not False:
                # Empty sets alone (a conn log's tunnel_parents, mostly): no row to look at one by one.
                fields.append(pc.binary_join_element_wise(key, pc.if_else(pc.equal(col, "(empty)"), "[]", pa.scalar(None, pa.string())), ""))
                continue
            if pa.types.is_nested(given.type):
                values = given.to_pylist()
                value = pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values], pa.string())
            else:
                # Each distinct text once: a log's sets and a sensor's vlan lists repeat from row to row.
                kind = zeek_member_type(types[name])
                coded = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
                arrays = [json.dumps([] if v == "(empty)" else _json_members(v, kind), ensure_ascii=False) for v in coded.dictionary.to_pylist()]
                value = pa.array(arrays, pa.string()).take(coded.indices)
            fields.append(pc.binary_join_element_wise(key, value, ""))
            continue
        text = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
        if base == "bool" and is_text:  # Zeek's TSV writes T and F
            text = pc.replace_substring_regex(pc.replace_substring_regex(text, "^T$", "true"), "^F$", "false")
        literal = pc.match_substring_regex(text, _JSON_LITERAL)
        if pa.types.is_floating(col.type):  # nan, inf: no JSON number
            text = pc.if_else(literal, text, pa.scalar(None, pa.string()))
        if pc.all(literal).as_py() is not False:  # numbers alone (most of a flow log's columns): nothing to quote
            fields.append(pc.binary_join_element_wise(key, text, ""))
            continue
        quoted = text
        if pc.any(pc.match_substring_regex(text, _JSON_SPECIAL)).as_py():
            if pc.any(pc.match_substring_regex(text, _JSON_CONTROL)).as_py():
                quoted = pa.array([None if v is None else json.dumps(v, ensure_ascii=False)[1:-1] for v in text.to_pylist()], pa.string())
            else:
                for char, escaped in _JSON_ESCAPES:
                    quoted = pc.replace_substring(quoted, char, escaped)
        quoted = pc.binary_join_element_wise('"', quoted, '"', "")
        fields.append(pc.binary_join_element_wise(key, pc.if_else(literal, text, quoted), ""))
    body = pc.binary_join_element_wise(*fields, ",", null_handling="skip")
    return _line_bytes(pc.binary_join_element_wise("{", body, "}\n", ""))


_ZEEK_NUMBERS = {"count", "int", "double", "interval", "time", "port"}  # and JSON arrays' int and double


def _json_members(text: str, kind: str) -> list:
    """The members of a set, vector or array as a reader joined them, of `kind` (its type's inner part: count,
    string, addr...; "record" for a list of records, kept as its JSON text; "" where the type is not known)."""
    import json

    from .logs.jsonlines import SET_COMMA

    if kind == "record" or text.startswith("[{"):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass  # text that only starts as a list of records does: its members as written
    return [_json_member(m.replace(SET_COMMA, ","), kind) for m in text.split(",")]


def _json_member(member: str, kind: str):
    """A member of a Zeek set or vector of `kind`: a number where the type is one and the member is written
    as JSON writes a number, true or false for a bool, else text. Of a type not known, any member written
    as a JSON number or as true or false is one, as a text column's value is."""
    import json
    import re

    if kind in _ZEEK_NUMBERS or not kind:
        if re.fullmatch(_JSON_LITERAL, member) and (not kind or member not in ("true", "false")):
            return json.loads(member)
    elif kind == "bool" and member in ("true", "false", "T", "F"):
        return member in ("true", "T")
    return member


def _csv_header(names: list[str], delimiter: str) -> bytes:
    from .csvread import csv_line

    return csv_line(names, delimiter).encode("utf-8")  # a name quoted only where it needs it, as pyarrow quotes the body


def check_output_folder(target: Path, named: str | Path | None = None) -> None:
    """An output's folder must be there already: one line that says so (`named`: the path as the user gave
    it, where `target` is where it leads), not the OS's error about a temporary file in it."""
    if not target.parent.exists():
        raise InputError(f"output folder '{Path(named if named is not None else target).parent}' does not exist; create it first")


def temp_file_beside(target: Path) -> tuple[int, str]:
    """mkstemp in `target`'s folder, for a rename over it. A folder the user may not write names the target
    in the error: the temporary file's name ('/data/.out.csv.x8k2.tmp') is not one the user gave."""
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(target)) from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to `path` via a temp file and rename, fsynced, so readers see old or new, never half."""
    fd, tmp = temp_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
