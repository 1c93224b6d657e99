"""Column-at-a-time work spread over the CPU threads the command may use.

A fit decides every column's role and fits its transform (scaling statistics, vocabulary) on its own;
numpy's sorts and partitions release the GIL, so two columns on two threads take about half the time
of one after the other (1M rows x 39 columns: 3.0 s -> 1.6 s, results identical). The thread count is
pyarrow's, which `--threads` and OMP_NUM_THREADS set, bounded for a large table by the memory its
threads' copies would take."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The memory column-at-a-time work may hold in copies across its threads (see column_workers).
COLUMN_MEMORY_BUDGET = 96 << 20


def worker_count() -> int:
    import pyarrow as pa

    return max(1, int(pa.cpu_count()))


def allowed_cpus(root: str = "/") -> int | None:
    """The CPUs this process may use where that is fewer than the machine has: its CPU affinity (taskset,
    docker --cpuset-cpus), and a CPU quota (docker --cpus, a Kubernetes CPU limit, systemd's CPUQuota= for a
    service or timer) rounded down, at least 1. None where nothing limits it. torch, pyarrow and the BLAS
    start a thread per core of the machine whatever the quota, and threads that meet at a barrier after
    every operation stall while the quota is spent: a 1M-row fit under a quota of one CPU on two cores took
    17.5-17.8 s on two threads, 12.0-12.5 s on one. `root` is where /proc and /sys are (tests give a tree of their own)."""
    machine = os.cpu_count() or 1
    limit = machine
    if hasattr(os, "sched_getaffinity") and root == "/":
        limit = min(limit, len(os.sched_getaffinity(0)))
    quota = _cgroup_cpu_quota(Path(root))
    if quota is not None:
        limit = min(limit, max(1, int(quota)))
    return limit if limit < machine else None


def _cgroup_cpu_quota(root: Path) -> float | None:
    """The smallest CPU quota (in CPUs) on this process's cgroup and the cgroups above it, v2 (cpu.max)
    or v1 (cpu.cfs_quota_us / cpu.cfs_period_us); None where there is none or nothing can be read. In a
    container the cgroup file system shows the container's own cgroup at the mount, while /proc names its
    path on the host: the path's folders that are not there are skipped, down to the mount itself."""
    try:
        lines = (root / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    found: list[float] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "" and (root / "sys/fs/cgroup/cgroup.controllers").exists():
            found += _quotas_up(root / "sys/fs/cgroup", path, _v2_quota)
        elif "cpu" in controllers.split(","):
            for mount in (root / "sys/fs/cgroup" / controllers, root / "sys/fs/cgroup/cpu", root / "sys/fs/cgroup/cpu,cpuacct"):
                if mount.is_dir():
                    found += _quotas_up(mount, path, _v1_quota)
                    break
    return min(found) if found else None


def _quotas_up(mount: Path, path: str, read) -> list[float]:
    parts = [p for p in path.strip("/").split("/") if p and p not in (".", "..")]
    out = []
    for depth in range(len(parts), -1, -1):
        folder = mount.joinpath(*parts[:depth])
        if folder.is_dir():
            quota = read(folder)
            if quota is not None:
                out.append(quota)
    return out


def _v2_quota(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
        return int(quota) / int(period) if quota != "max" and int(period) > 0 else None
    except (OSError, ValueError):
        return None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def column_workers(rows: int, copies: int) -> int:
    """Threads for work on `rows`-row columns that holds about `copies` float64 copies of a column at once:
    what the machine offers, but no more than COLUMN_MEMORY_BUDGET holds. Each thread's copies add to the
    fit's peak, which grew with the machine's cores without the bound (1M rows, 16 threads: 1.23 GiB,
    against 0.96 on 2; bounded, 0.97). 1M rows get two threads for six copies, 100,000 rows twenty."""
    return max(1, min(worker_count(), COLUMN_MEMORY_BUDGET // max(1, copies * 8 * rows)))


# Rows a column needs before pandas work on it goes to threads (a fit's roles and transforms): numpy releases the
# GIL inside long array operations only, and on shorter columns the work is pandas' and Arrow's calls per column,
# which threads only contend for (300 rows x 10,000 columns: fit 51 s on two threads, 38 s on one; 20,000 rows x
# 39 columns alike on one or two). Arrow's own decoding (parquetread) releases it throughout: column_workers.
COLUMN_THREAD_ROWS = 50_000


def pandas_column_workers(rows: int, copies: int) -> int:
    """column_workers for work done column by column in pandas and numpy: one below COLUMN_THREAD_ROWS."""
    return 1 if rows < COLUMN_THREAD_ROWS else column_workers(rows, copies)


def thread_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """`[fn(x) for x in items]`, in order, on up to `workers` threads (default `worker_count()`). The
    first failure in item order is raised, as the plain loop would raise it."""
    items = list(items)
    workers = min(worker_count() if workers is None else workers, len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="vaeguard-columns") as pool:
        return list(pool.map(fn, items))


def release_freed_memory() -> None:
    """Hand freed memory back to the OS that the allocators would keep for reuse. Arrow's (a Parquet
    table's columns are its buffers): mimalloc keeps freed pages, torch allocates elsewhere, and a 1M-row
    fit from Parquet peaked 73 MiB higher with them kept. glibc's malloc: each thread that worked on
    columns has an arena of its own, and keeps what it freed there (1M rows on 8 threads: 80 MiB)."""
    import ctypes
    import sys

    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to ask
        pass
