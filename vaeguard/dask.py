"""Score a Dask DataFrame: every partition goes through the same score_frame as `vaeguard score`.

    import dask.dataframe as dd, vaeguard.dask
    scored = vaeguard.dask.score(dd.read_parquet("flows/"), "vaeguard-model")
    scored.to_parquet("scored/")

Needs the `dask` extra: pip install "vaeguard[dask]".
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .drift import DriftCheck, check_drift
from .errors import ConfigError, InputError
from .io import PARQUET_OPTIONS
from .remote import ModelLike, as_bundle, guard_for, score_partition, score_partition_report
from .scoring import ChunkReport, check_table, output_meta


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.dataframe as dd
    except ImportError:
        raise ConfigError('the Dask engine needs dask: pip install "vaeguard[dask]"') from None
    return dd


def score(ddf, model: ModelLike, strict: bool = False):
    """Return `ddf` with anomaly_score, p_value, is_anomaly and top_features, computed lazily per partition."""
    _require_dask()
    _, shipped, unset = _checked_and_shipped(ddf, as_bundle(model))
    return ddf.map_partitions(score_partition, shipped, strict, None, unset, meta=output_meta(ddf._meta))


def _checked_and_shipped(ddf, bundle):
    """(the model, the checkpoint as a graph node, the columns to read as unset) for scoring `ddf`'s partitions.

    The columns are checked on the client first, so a bad model or a missing column fails before any
    worker starts. One graph node holds the checkpoint bytes; every partition's task depends on it instead
    of carrying its own copy. A column the model saw sometimes unset that `ddf` leaves out (files of JSON
    records, or their Parquet, where none set it) is unset in every row, as `vaeguard score` reads it."""
    import dask

    guard = guard_for(bundle)
    unset = tuple(c for c in guard.preprocessor_.optional_columns if c not in ddf.columns)
    check_table(guard, ddf._meta, unset)
    return guard, dask.delayed(bundle, pure=True), unset


def local_cluster(workers: int | None = None):
    """A LocalCluster of `workers` processes (default: one per core) sharing the cores as threads."""
    import logging

    import dask
    from distributed import LocalCluster

    from .parallel import allowed_cpus

    cores = allowed_cpus() or max(1, os.cpu_count() or 1)  # a container's quota, not the host's cores
    n = workers or cores
    # Each worker gets its share of the cores as threads, each scoring its own partition on one core
    # (the network's BLAS runs on one thread), so n workers use all the cores without oversubscription,
    # and one worker is not held to one core.
    # The nanny also sets MALLOC_TRIM_THRESHOLD_=65536, which hands every freed block back to the OS:
    # the encoder's large temporaries are then mapped and zeroed afresh each time (5M rows on two threads:
    # 61 s, 41 s of it in the kernel; 36 s with glibc's own threshold). The workers go without it.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=n, threads_per_worker=max(1, cores // n), processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR)


@dataclass
class Summary:
    rows: int
    flagged: int
    partitions: int
    workers: int
    drift: DriftCheck | None = None  # the flagged share against the calibration's, and the columns that moved
    report: ChunkReport | None = None  # every partition's counts, summed: unseen values, malformed text, ...


def _input_files(data: str) -> list[str]:
    import glob

    p = Path(data)
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*.parquet"))
    else:
        files = sorted(glob.glob(data, recursive=True))
    if not files:
        raise InputError(f"no Parquet files match '{data}'; give a folder of .parquet files or a glob such as 'flows/*.parquet'")
    other = [f for f in files if not f.endswith(".parquet")]
    if other:
        raise InputError(
            f"--engine dask reads Parquet only; '{other[0]}' is not a .parquet file "
            f"(score CSV with the default engine, or convert it to Parquet first)"
        )
    return files


def _flat_partition(df, schema):
    import pyarrow as pa

    from .parquetread import flattened

    # Dask hands a struct column over as Python dicts: the file's own type puts them back as a struct.
    fields = pa.schema([schema.field(name) for name in df.columns])
    return flattened(pa.Table.from_pandas(df, schema=fields, preserve_index=False)).to_pandas()


def _file_in(path: str, schema):
    """A Parquet file's rows in the columns and types of `schema`, flattened, those it lacks unset."""
    import pyarrow.parquet as pq

    from .parquetread import flattened, in_columns

    return in_columns(flattened(pq.read_table(path)), schema).to_pandas()


def _read(dd, files: list[str]):
    """The files as one Dask frame, as the default engine reads them (sources.open_source): struct columns as a
    column per field and binary columns as text (a conn log with Zeek's id fields nested in an `id` struct gives
    id.orig_h ... id.resp_p); files of one table whose columns differ hold the union of their columns, unset
    where a file lacks one (a day's file without a column none of its records set), each of the widest type
    among them (a count written as int64 in one file and as double in the next: double). Dask's read_parquet
    takes the first file's columns and types: it failed on a file without one of them, and on 1221.5 in a
    column the first file wrote as int64 (an internal error, from the workers)."""
    import pyarrow.parquet as pq

    from .parquetread import needs_flattening
    from .sources import open_source

    table = open_source(files, "parquet")
    schema = table.arrow_schema.remove_metadata()  # flattened, unified
    if any(not part.arrow_schema.remove_metadata().equals(schema) for part in table.parts):
        return dd.from_map(_file_in, files, schema=schema, meta=schema.empty_table().to_pandas(), enforce_metadata=False)
    ddf = dd.read_parquet(files)
    schema = pq.read_schema(files[0])
    if not needs_flattening(schema):
        return ddf
    schema = schema.remove_metadata()
    return ddf.map_partitions(_flat_partition, schema, meta=_flat_partition(ddf._meta, schema))


def score_files(
    data: str, model_dir: str | Path, out: str, scheduler: str | None = None, workers: int | None = None,
    only_anomalies: bool = False, strict: bool = False, quiet: bool = False,
) -> Summary:
    """The CLI's `score --engine dask`: Parquet files in, a folder of scored Parquet files out.

    The output folder appears only when every partition is written: the parts go to a temporary folder
    beside it, which is renamed at the end.
    """
    dd = _require_dask()
    import logging

    from distributed import Client

    files = _input_files(data)
    bundle = as_bundle(model_dir)
    target = Path(out)
    if target.suffix in (".csv", ".gz", ".parquet") or out == "-":
        raise ConfigError(f"--engine dask writes a folder of Parquet files; give --out a folder name such as 'scored/', not '{out}'")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--out '{out}' is a file; --engine dask writes a folder")
    # Reading is lazy and the columns are checked against the model here, on the client: a file without a
    # column the model needs fails in a moment, not after a cluster has started (seconds) and stopped.
    ddf = _read(dd, files)
    guard, shipped, unset = _checked_and_shipped(ddf, bundle)
    target.parent.mkdir(parents=True, exist_ok=True)

    if quiet:
        logging.getLogger("distributed").setLevel(logging.ERROR)
    # Made before the cluster starts: a folder the user may not write fails at once, with nothing to stop.
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as e:  # named by the folder the user gave, not the temporary one's name
        raise OSError(e.errno, e.strerror, str(target)) from None
    cluster = client = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as e:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at '{scheduler}' ({type(e).__name__}); check the address, "
                    f"or leave out --scheduler to start a local cluster"
                ) from None
        else:
            cluster = local_cluster(workers)
            client = Client(cluster)
        import dask

        # Each partition's task gives its scored rows and its report (what `vaeguard score` counts: unseen
        # values, malformed text, contribution sums for the drift check). The write and the reports share
        # one pass over the partitions: both hang off the same tasks.
        pairs = [dask.delayed(score_partition_report, nout=2, pure=True)(part, shipped, strict, None, unset) for part in ddf.to_delayed()]
        scored = dd.from_delayed([frame for frame, _ in pairs], meta=output_meta(ddf._meta), verify_meta=False)
        written = scored[scored["is_anomaly"] == 1] if only_anomalies else scored
        # As a Delayed, as the reports are: dask warns when it is given expressions and graphs together.
        store = written.to_parquet(str(tmp), write_index=False, compute=False, **PARQUET_OPTIONS).to_delayed()
        _, reports = dask.compute(store, [report for _, report in pairs])
        report = ChunkReport()
        for part in reports:
            report.add(part)
        # Asked of the scheduler directly: scheduler_info() answers from a cache with no workers in it when
        # its own query fails (an OSError it only logs), and a busy two-core run reported 0 workers so.
        n_workers = len(client.nthreads())
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        drift = check_drift(guard, report)
        return Summary(report.rows, report.flagged, ddf.npartitions, n_workers, drift, report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
