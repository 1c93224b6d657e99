"""Reading tables in chunks (CSV, gzip CSV, Parquet, stdin) and writing them atomically."""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np
import pandas as pd

from .errors import InputError

FORMATS = ("csv", "csv.gz", "parquet")
STDIO = "-"
# pyarrow reads ahead several blocks on its own threads; small blocks keep that read-ahead, and so the
# memory of a streaming score, bounded however fast the file reads compared with the scoring.
BLOCK_MAX = 8 << 20


def detect_format(path: str, override: str | None = None) -> str:
    """Pick the table format from the extension; `override` wins. stdin/stdout is CSV."""
    if override:
        fmt = override.lower().lstrip(".")
        if fmt == "gz":
            fmt = "csv.gz"
        if fmt not in FORMATS:
            raise InputError(f"unknown format '{override}'; use one of: {', '.join(FORMATS)}")
        return fmt
    if path == STDIO:
        return "csv"
    name = path.lower()
    if name.endswith((".csv.gz", ".tsv.gz", ".gz")):
        return "csv.gz"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    raise InputError(
        f"cannot tell the format of '{path}' from its extension; "
        f"name it .csv, .csv.gz or .parquet, or pass --format csv|csv.gz|parquet"
    )


def _check_exists(path: str) -> None:
    if path == STDIO:
        return
    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: '{path}'")
    if p.is_dir():
        raise InputError(f"'{path}' is a folder, not a table file")


def _sniff_mismatch(path: str, fmt: str) -> None:
    """Catch a file whose bytes do not match its claimed format before pandas gives a cryptic error."""
    if path == STDIO:
        return
    with open(path, "rb") as f:
        head = f.read(4)
    is_gzip = head[:2] == b"\x1f\x8b"
    is_parquet = head == b"PAR1"
    if fmt == "csv" and is_gzip:
        raise InputError(f"'{path}' is gzip-compressed; name it .csv.gz or pass --format csv.gz")
    if fmt == "csv" and is_parquet:
        raise InputError(f"'{path}' is a Parquet file; name it .parquet or pass --format parquet")
    if fmt == "csv.gz" and not is_gzip and head:
        raise InputError(f"'{path}' is not gzip-compressed; pass --format csv (or --format parquet)")
    if fmt == "parquet" and not is_parquet:
        raise InputError(f"'{path}' is not a Parquet file; pass --format csv (or name it .csv)")


def _csv_source(path: str) -> str | IO[bytes]:
    return sys.stdin.buffer if path == STDIO else path


def check_input(path: str, fmt: str | None = None) -> str:
    """Fail early (before any progress bar or output file) on a missing file or a format mismatch."""
    _check_exists(path)
    fmt = detect_format(path, fmt)
    _sniff_mismatch(path, fmt)
    if path != STDIO and fmt in ("csv", "csv.gz"):
        opener = gzip.open if fmt == "csv.gz" else open
        try:
            with opener(path, "rb") as f:
                _check_header(path, f.readline())
        except (OSError, EOFError) as e:
            raise InputError(f"cannot read '{path}': {e}") from None
    return fmt


def _check_header(path: str, header: bytes) -> list[str]:
    """Column names from a CSV header line; duplicates are an error (pandas would silently rename them)."""
    import csv

    if not header.strip():
        return []
    try:
        names = next(csv.reader([header.decode("utf-8-sig").rstrip("\r\n")]))
    except UnicodeDecodeError:
        raise InputError(f"'{path}' is not UTF-8 text (in the header); re-save it as UTF-8 CSV") from None
    seen, dupes = set(), []
    for n in names:
        if n in seen and n not in dupes:
            dupes.append(n)
        seen.add(n)
    if dupes:
        raise InputError(f"'{path}' has duplicate column names: {', '.join(dupes)}; rename them so each is unique")
    return names


def iter_chunks(
    path: str, fmt: str | None = None, chunk_size: int = 100_000, text: bool = False
) -> Iterator[pd.DataFrame]:
    """Yield the table as DataFrames of at most `chunk_size` rows; memory stays bounded by one chunk.

    text=True (CSV only) keeps every CSV field as the string it was, parsed by pyarrow's multi-threaded
    reader: the fast path for scoring, where the model converts the columns it needs and every other
    value passes through exactly as written. text=False lets pandas infer column types (for fit).
    """
    fmt = check_input(path, fmt)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            empty = True
            for batch in pf.iter_batches(batch_size=chunk_size):
                empty = False
                yield batch.to_pandas()
            if empty:
                yield pf.schema_arrow.empty_table().to_pandas()
            return
        if text:
            yield from _iter_csv_text(path, fmt, chunk_size)
            return
        compression = "gzip" if fmt == "csv.gz" else None
        reader = pd.read_csv(
            _csv_source(path),
            chunksize=chunk_size,
            compression=compression,
            low_memory=False,
            encoding_errors="strict",
        )
        with reader:
            yield from reader
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"'{path}' is empty: it has no header row and no data") from None
    except UnicodeDecodeError as e:
        raise InputError(f"'{path}' is not UTF-8 text (byte {e.start}); re-save it as UTF-8 CSV") from None
    except pd.errors.ParserError as e:
        msg = str(e).strip().splitlines()[-1]
        raise InputError(f"cannot parse '{path}' as CSV: {msg}; check the delimiter and the row lengths") from None
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise InputError(f"cannot read '{path}': {e}") from None
    except Exception as e:  # pyarrow raises its own types for corrupt files
        if type(e).__module__.startswith("pyarrow"):
            raise InputError(_arrow_message(path, fmt, e)) from None
        raise


def _arrow_message(path: str, fmt: str, e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "UTF8" in text or "UTF-8" in text:
        return f"'{path}' is not UTF-8 text; re-save it as UTF-8 CSV"
    if "parse error" in text.lower() or "expected" in text.lower():
        return f"cannot parse '{path}' as CSV: {text}; check the delimiter and the row lengths"
    kind = "Parquet" if fmt == "parquet" else "CSV"
    return f"cannot read '{path}' as {kind}: {text}"


def _iter_csv_text(path: str, fmt: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if path == STDIO:
        fh: IO[bytes] = sys.stdin.buffer
    elif fmt == "csv.gz":
        fh = gzip.open(path, "rb")
    else:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is exhausted
    try:
        header = fh.readline()
        if not header.strip():
            raise InputError(f"'{path}' is empty: it has no header row and no data")
        names = _check_header(path, header)
        # pyarrow reads blocks of bytes, not rows: size the blocks from the header's width so one block
        # holds about one chunk, then cut the batches to exactly `chunk_size` rows.
        row_bytes = max(16, len(header) * 2)
        block = int(min(BLOCK_MAX, max(1 << 20, row_bytes * min(chunk_size, 200_000))))
        try:
            reader = pacsv.open_csv(
                fh,
                read_options=pacsv.ReadOptions(column_names=names, block_size=block),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True),
            )
        except pa.ArrowInvalid as e:
            if "Empty CSV" not in str(e):
                raise
            yield pd.DataFrame({n: pd.Series([], dtype="str") for n in names})  # a header and no rows
            return
        pending: list = []
        held = 0
        yielded = False
        for batch in reader:
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_size:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, chunk_size).to_pandas()
                yielded = True
                rest = table.slice(chunk_size)
                pending, held = rest.to_batches(), rest.num_rows
        if held or not yielded:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            yield table.to_pandas()
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


def read_table(
    path: str, fmt: str | None = None, max_rows: int | None = None, seed: int = 0, chunk_size: int = 200_000
) -> tuple[pd.DataFrame, int]:
    """Read a whole table, or a uniform sample of `max_rows` rows drawn while streaming.

    Returns (frame, total rows seen). Sampling keeps the rows with the smallest random keys (a bottom-k
    sample), so memory is bounded by max_rows plus one chunk and the sample does not depend on chunking.
    """
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame | None = None
    kept_keys = np.empty(0)
    total = 0
    for chunk in iter_chunks(path, fmt, chunk_size):
        chunk.index = pd.RangeIndex(total, total + len(chunk))
        keys = rng.random(len(chunk))
        total += len(chunk)
        if kept is None:
            kept, kept_keys = chunk, keys
        else:
            kept = pd.concat([kept, chunk])
            kept_keys = np.concatenate([kept_keys, keys])
        if max_rows is not None and len(kept) > max_rows:
            order = np.argpartition(kept_keys, max_rows - 1)[:max_rows]
            order.sort()  # restore file order
            kept, kept_keys = kept.iloc[order], kept_keys[order]
    if kept is None or len(kept.columns) == 0:
        raise InputError(f"'{path}' is empty: it has no columns")
    return kept.reset_index(drop=True), total


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


def prefetch(items: Iterable, depth: int = 1) -> Iterator:
    """Yield from `items`, producing the next `depth` items on a background thread meanwhile.

    Reading and parsing CSV (pyarrow) and scoring (torch) both release the GIL for most of their work,
    so overlapping them hides most of the read time. Errors from the producer are raised here, in order.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry) -> bool:
        while not stop.is_set():  # the consumer may have gone away; never block forever
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put((done, e))

    thread = threading.Thread(target=produce, name="vaeguard-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, err = q.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()


class AtomicTableWriter:
    """Write a table chunk by chunk to a temporary file beside the target, renamed into place on success.

    An interrupted run (exception, Ctrl-C, SIGKILL) leaves the previous target untouched and no partial file
    under the target's name. Writing to "-" streams CSV to stdout. CSV goes through pyarrow's writer,
    several times faster than pandas' to_csv.
    """

    def __init__(self, path: str, fmt: str | None = None):
        self.path = path
        self.fmt = detect_format(path, fmt) if path != STDIO else "csv"
        self._tmp: str | None = None
        self._fh: IO | None = None
        self._writer = None
        self._schema = None
        self.rows = 0

    def __enter__(self) -> "AtomicTableWriter":
        if self.path == STDIO:
            self._fh = sys.stdout.buffer
            return self
        target = Path(self.path)
        if not target.parent.exists():
            raise InputError(f"output folder '{target.parent}' does not exist; create it first")
        if target.is_dir():
            raise InputError(f"--out '{self.path}' is a folder; give a file name such as scored.csv")
        fd, self._tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        if self.fmt == "csv.gz":
            self._fh = gzip.open(self._tmp, "wb")
        elif self.fmt == "csv":
            self._fh = open(self._tmp, "wb")  # noqa: SIM115 - closed in __exit__
        return self

    def write(self, df: pd.DataFrame) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        self.rows += len(df)
        table = to_arrow(df)
        if self._writer is None:
            if self.fmt == "parquet":
                self._writer = pq.ParquetWriter(self._tmp, table.schema)
            else:
                self._writer = pacsv.CSVWriter(self._fh, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
            self._schema = table.schema
        elif not table.schema.equals(self._schema, check_metadata=False):
            # Chunks of one file can infer different dtypes (an int column with a gap becomes float).
            table = table.cast(self._schema, safe=False)
        self._writer.write_table(table)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
            if self._fh is not None:
                if self.path == STDIO:
                    self._fh.flush()
                else:
                    self._fh.close()
        finally:
            if self.path == STDIO:
                return
            if exc_type is None and self._writer is not None:
                os.replace(self._tmp, self.path)
            elif self._tmp and os.path.exists(self._tmp):
                os.unlink(self._tmp)
            if exc_type is None and self._writer is None:
                raise InputError("nothing to write: the input produced no rows and no columns")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to `path` via a temp file and rename, fsynced, so readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
