"""Column-at-a-time work spread over the CPU threads the command may use.

A fit decides every column's role and fits its transform (scaling statistics, vocabulary) on its own;
numpy's sorts and partitions release the GIL, so two columns on two threads take about half the time
of one after the other (1M rows x 39 columns: 3.0 s -> 1.6 s, results identical). The thread count is
pyarrow's, which `--threads` and OMP_NUM_THREADS set."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count() -> int:
    import pyarrow as pa

    return max(1, int(pa.cpu_count()))


def thread_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`[fn(x) for x in items]`, in order, on up to `worker_count()` threads. The first failure in item
    order is raised, as the plain loop would raise it."""
    items = list(items)
    workers = min(worker_count(), len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="vaeguard-columns") as pool:
        return list(pool.map(fn, items))
