"""Work spread over the CPUs the command may use: columns on threads, whole models in forked processes.

A fit decides every column's role and fits its transform (scaling statistics, vocabulary) on its own;
numpy's sorts and partitions release the GIL, so two columns on two threads take about half the time
of one after the other (1M rows x 39 columns: 3.0 s -> 1.6 s, results identical). The thread count is
pyarrow's, which `--threads` and OMP_NUM_THREADS set, bounded for a large table by the memory its
threads' copies would take."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The memory column-at-a-time work may hold in copies across its threads (see column_workers).
COLUMN_MEMORY_BUDGET = 96 << 20
# The memory forked processes may hold of their own, all together (see fork_workers): a fit of a table small
# enough for them stays far under the 1 GiB a fit of 1M rows is held to.
FORK_MEMORY_BUDGET = 512 << 20


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


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """torch's threads set to `threads` inside the block (None: as they are)."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads != before:
            torch.set_num_threads(before)


# The work of a forked process, by its number: each sets its own, from what it inherited (ForkedMap).
_FORKED_WORK: Callable[[int], object] | None = None


def fork_workers(tasks: int, bytes_each: int) -> int:
    """Processes that `ForkedMap` may run `tasks` pieces of work on side by side, each holding about
    `bytes_each` of its own: the threads this command may use, no more than FORK_MEMORY_BUDGET holds, and 0
    where the work stays in this process (one CPU). Forked only on Linux (on macOS a forked process may not use the
    system's frameworks; Windows has no fork), and not from a process that may not have children (a
    multiprocessing pool's own)."""
    import multiprocessing
    import sys

    cpus = worker_count()
    if cpus < 2 or not sys.platform.startswith("linux") or multiprocessing.current_process().daemon:
        return 0  # one CPU: this process, busy beside them, would only take turns with them
    return max(0, min(tasks, cpus, FORK_MEMORY_BUDGET // max(1, bytes_each)))


def _forked_start(work: Callable[[int], object], parent: int) -> None:
    import ctypes
    import signal

    import torch

    global _FORKED_WORK
    _FORKED_WORK = work
    # Ended with the fit, however it ends: killed (SIGKILL, the OOM killer), its processes waited for work
    # that would never come.
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it ended before that was asked for
        os._exit(1)
    # Ctrl-C reaches the whole process group: the parent stops these processes itself, and a process
    # interrupted while it waited for work printed a traceback of its own. SIGTERM ends them as it would
    # have before the parent's handler (cli_common.stop_on_sigterm) was inherited.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    torch.set_num_threads(1)


def _forked_task(k: int):
    return _FORKED_WORK(k)


class ForkedMap:
    """`[work(k) for k in range(tasks)]`, each on one torch thread in up to `workers` processes forked from
    this one (`fork_workers`) as the `with` block starts, while this process goes on with other work;
    `results` collects them. Where `workers` is 0, `results` runs them here, as torch's threads are.

    Forked, not spawned: each process starts as this one is, torch and the table loaded, where a fresh
    interpreter would import torch again, and `work` (a closure will do) is inherited, never pickled: only
    the task numbers and the results are. The work must not need CUDA (a forked process cannot use it).
    Where processes cannot be had (no /dev/shm for their semaphores) or one ends without a result (killed
    for its memory), the work left runs here, one piece after another on one thread, with the same
    results. Leaving the block early (Ctrl-C, SIGTERM, an error) stops the processes."""

    def __init__(self, work: Callable[[int], R], tasks: int, workers: int):
        self.work, self.tasks, self.workers = work, tasks, workers
        self.pool = None
        self.futures: dict = {}

    def __enter__(self) -> "ForkedMap":
        if self.workers < 1:
            return self
        import multiprocessing
        import sys
        import warnings
        from concurrent.futures import ProcessPoolExecutor

        # What is buffered now would be written again by each process as it ends.
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            with warnings.catch_warnings():
                # Python 3.12 and later warn of fork() in a process with threads (torch's, Arrow's, a
                # progress bar's): a lock another thread held stays held in the child. These processes
                # take none of them: they train a network on one thread and return its scores.
                warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning)
                self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                                initializer=_forked_start, initargs=(self.work, os.getpid()))
                # With fork, every process starts at the first task handed over.
                self.futures = {self.pool.submit(_forked_task, k): k for k in range(self.tasks)}
        except OSError:
            self._stop()
        return self

    def results(self, on_done: Callable[[int, int], None] | None = None) -> list:
        """Each piece's result, in order, once all are done. `on_done(done, tasks)` hears as each finishes."""
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        results: dict[int, object] = {}

        def finished(k: int, result) -> None:
            results[k] = result
            if on_done is not None:
                on_done(len(results), self.tasks)

        for future in as_completed(self.futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                continue  # run here below, with whatever else the pool left undone
            finished(self.futures[future], result)
        left = [k for k in range(self.tasks) if k not in results]
        with torch_threads(1 if self.workers else None):  # as in the processes: the same results
            for k in left:
                finished(k, self.work(k))
        return [results[k] for k in range(self.tasks)]

    @property
    def forked(self) -> bool:
        """Whether processes run the work (not where none could be had, or none were asked for)."""
        return self.pool is not None

    def _stop(self) -> None:
        if self.pool is not None:
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                process.terminate()
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool, self.futures = None, {}

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            self._stop()  # the others are not waited for
        elif self.pool is not None:
            self.pool.shutdown(wait=True)


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
