"""Parquet files: their own column types as hints, struct columns flattened to a column per field, and
the row groups read in chunks or whole.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd

from .errors import InputError
from .parallel import column_workers, worker_count


def parquet_schema(path: str, name: str | None = None):
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except Exception as e:  # noqa: BLE001 - pyarrow's own error types
        said = str(e).splitlines()[0].replace(path, name or path)
        raise InputError(f"cannot read '{name or path}' as Parquet: {said}") from None


_SPOOLS: list[int] = []  # the open descriptors of spooled Parquet files (see spooled_parquet): held while the process lives


def spooled_parquet(stream, name: str) -> str:
    """A Parquet file that comes as a stream (stdin, a pipe, a file inside an archive) copied to a temporary
    file, as its reader seeks (the footer, then each row group): a path that reads it. On Linux the file is
    unlinked at once and read through /proc/self/fd, so nothing is left behind however the process ends;
    elsewhere it is removed at exit."""
    import atexit
    import os
    import shutil
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix="vaeguard-", suffix=".parquet")
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
    except OSError as e:
        os.close(fd)
        os.unlink(tmp)
        raise InputError(f"cannot copy the Parquet file {name} to a temporary file in {tempfile.gettempdir()} "
                         f"({e.strerror or e}); set TMPDIR to a folder with room, or give the file's path") from None
    finally:
        stream.close()
    held = f"/proc/self/fd/{fd}"
    if os.path.exists(held):
        os.unlink(tmp)
        _SPOOLS.append(fd)
        return held
    os.close(fd)
    atexit.register(lambda: os.path.exists(tmp) and os.unlink(tmp))
    return tmp


def parquet_hints(schema) -> dict[str, str]:
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
    id.orig_h ... id.resp_p, which then get their roles as in Zeek's own JSON. Binary columns become
    text (see `_as_text`)."""
    while has_struct(table.schema):
        table = table.flatten()
    for i, f in enumerate(table.schema):
        if _is_binary(f.type):
            table = table.set_column(i, f.name, _as_text(table.column(i)))
    return table


def _as_text(column):
    """A binary column as text: UTF-8 where every value is (Hive and Impala write strings as binary, which
    Spark reads back as text only when told to), else each value's bytes in hex (a hash, a payload:
    pandas could make no text of them, an internal error)."""
    import pyarrow as pa

    try:
        return column.cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.chunked_array([pa.array([None if v is None else v.hex() for v in column.to_pylist()], pa.large_string())])


def _is_binary(t) -> bool:
    import pyarrow as pa

    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)


def has_struct(schema) -> bool:
    import pyarrow as pa

    return any(pa.types.is_struct(f.type) for f in schema)


def needs_flattening(schema) -> bool:
    """Struct or binary columns: a batch is made a table to be flattened."""
    return has_struct(schema) or any(_is_binary(f.type) for f in schema)


def parquet_chunks(path: str, chunk_size: int, schema=None) -> Iterator[pd.DataFrame]:
    """The file's rows a batch at a time, struct columns flattened (see `flattened`), in the columns of `schema`
    where given (a table of several files, flattened: their columns in the first file's order, one the file
    lacks unset, of the table's type: `in_columns`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # pre_buffer keeps every row group's bytes it fetched until the file is closed: reading a 5M-row file
    # batch by batch grew to 1.3 GiB with it, and stays at 0.4 GiB without it.
    pf = pq.ParquetFile(path, pre_buffer=False)
    empty = True
    nested = needs_flattening(pf.schema_arrow)  # a batch is made a table only to flatten it
    target = schema.remove_metadata() if schema is not None else None
    for batch in pf.iter_batches(batch_size=chunk_size):
        empty = False
        data = flattened(pa.Table.from_batches([batch])) if nested else batch
        if target is not None and not data.schema.remove_metadata().equals(target):
            data = in_columns(data, target)
        yield data.to_pandas()
    if empty:
        yield (schema.empty_table() if schema is not None else flattened(pf.schema_arrow.empty_table())).to_pandas()


def in_columns(data, schema):
    """A table or batch with the columns of `schema`, in its order, those it lacks as nulls, each of its type
    where it has another (a table of files that wrote a count as int64 and as double: double, the widest,
    or the text and JSON outputs, which cast a chunk to the first one's types, cut 1221.5 to 1221); a column
    that will not take it keeps its own."""
    import pyarrow as pa

    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    have = set(table.column_names)
    columns = []
    for field in schema:
        if field.name not in have:
            columns.append(pa.chunked_array([pa.nulls(table.num_rows, field.type)]))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                pass
        columns.append(column)
    return pa.table(columns, names=schema.names)


def with_unset(df: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """`df` with those of `columns` it lacks added as unset (NaN): a model's optional columns, where a file
    leaves one out (sources.ABSENT_AS_UNSET)."""
    absent = [c for c in columns if c not in df.columns]
    return df.assign(**{c: np.full(len(df), np.nan) for c in absent}) if absent else df


def parquet_whole(path: str, max_rows: int | None) -> pd.DataFrame | None:
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
