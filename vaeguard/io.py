"""Reading tables in chunks (CSV, gzip CSV, Parquet, stdin) and writing them atomically."""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator

import numpy as np
import pandas as pd

from .errors import InputError

FORMATS = ("csv", "csv.gz", "parquet")
STDIO = "-"


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
    return fmt


def iter_chunks(path: str, fmt: str | None = None, chunk_size: int = 100_000) -> Iterator[pd.DataFrame]:
    """Yield the table as DataFrames of at most `chunk_size` rows; memory stays bounded by one chunk."""
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
    except Exception as e:  # pyarrow raises its own types for corrupt Parquet
        if type(e).__module__.startswith("pyarrow"):
            raise InputError(f"cannot read '{path}' as Parquet: {e}") from None
        raise


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


class AtomicTableWriter:
    """Write a table chunk by chunk to a temporary file beside the target, renamed into place on success.

    An interrupted run (exception, Ctrl-C, SIGKILL) leaves the previous target untouched and no partial file
    under the target's name. Writing to "-" streams CSV to stdout.
    """

    def __init__(self, path: str, fmt: str | None = None):
        self.path = path
        self.fmt = detect_format(path, fmt) if path != STDIO else "csv"
        self._tmp: str | None = None
        self._fh: IO | None = None
        self._parquet = None
        self._header_done = False
        self.rows = 0

    def __enter__(self) -> "AtomicTableWriter":
        if self.path == STDIO:
            self._fh = sys.stdout
            return self
        target = Path(self.path)
        if not target.parent.exists():
            raise InputError(f"output folder '{target.parent}' does not exist; create it first")
        fd, self._tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        if self.fmt == "csv.gz":
            self._fh = gzip.open(self._tmp, "wt", encoding="utf-8", newline="")
        elif self.fmt == "csv":
            self._fh = open(self._tmp, "w", encoding="utf-8", newline="")
        return self

    def write(self, df: pd.DataFrame) -> None:
        self.rows += len(df)
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            elif table.schema != self._parquet.schema:
                # Chunks of one CSV can infer different dtypes (an int column with a gap becomes float).
                table = table.cast(self._parquet.schema, safe=False)
            self._parquet.write_table(table)
            return
        df.to_csv(self._fh, index=False, header=not self._header_done, lineterminator="\n")
        self._header_done = True

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.path == STDIO:
            sys.stdout.flush()
            return
        try:
            if self._parquet is not None:
                self._parquet.close()
            if self._fh is not None:
                self._fh.close()
        finally:
            if exc_type is None:
                if self.fmt == "parquet" and self._parquet is None:
                    raise InputError("nothing to write: no rows were produced")
                if self.fmt == "csv" and not self._header_done:
                    pass  # an empty output file is a valid result of --only-anomalies
                os.replace(self._tmp, self.path)
            elif self._tmp and os.path.exists(self._tmp):
                os.unlink(self._tmp)


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
