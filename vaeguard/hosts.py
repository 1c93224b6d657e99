"""Flagged rows by host: per address column, each host's rows and flagged rows, summed over chunks.

An analyst's first question of a run's flags is whose traffic they are: one infected device, or
everyone's. The addresses are no feature of the model (an address identifies, it does not measure), but
they name the rows, so scoring counts its flags by them. A day of flows can reach a million outside
addresses, so the counts are summed in arrays, a batch of chunks at a time, and at most HOSTS_KEPT hosts
are kept per column: those with the most flagged rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOSTS_KEPT = 20_000
BASELINE_KEPT = 5_000  # hosts per address column whose calibration rows a model keeps (baseline_counts)
# Chunks' counts wait in a list until they hold this many entries, then are summed at once: summing per
# chunk cost as much as scoring it where every row had an address of its own.
SUM_AT = 100_000


class HostTally:
    """One address column's rows and flagged rows by host, as arrays waiting to be summed."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (hosts, rows, flagged), each chunk's
        self.pending = 0
        self.partial = False  # some host's counts were let go: more than HOSTS_KEPT hosts

    @classmethod
    def of(cls, values: pd.Series, flagged: np.ndarray) -> "HostTally | None":
        """The counts of one chunk (`flagged`: a bool per row); None where no row names a host."""
        codes, hosts = pd.factorize(values)
        counted = _counts(codes, len(hosts), flagged)
        if counted is None:
            return None
        tally = cls()
        tally.parts.append((np.asarray(hosts, dtype=object), *counted))
        tally.pending = len(hosts)
        return tally

    def add(self, other: "HostTally") -> None:
        self.parts.extend(other.parts)
        self.pending += other.pending
        self.partial |= other.partial
        if self.pending > SUM_AT:
            self.sum()

    def sum(self) -> None:
        """Sum the waiting counts by host, keeping the HOSTS_KEPT hosts with the most flagged rows (then rows)."""
        if len(self.parts) <= 1 and self.pending <= HOSTS_KEPT:
            return
        hosts, rows, hit = (np.concatenate(a) for a in zip(*self.parts))
        codes, unique = pd.factorize(pd.Series(hosts, dtype=object))
        rows = np.bincount(codes, weights=rows, minlength=len(unique)).astype(np.int64)
        hit = np.bincount(codes, weights=hit, minlength=len(unique)).astype(np.int64)
        unique = np.asarray(unique, dtype=object)
        if len(unique) > HOSTS_KEPT:
            keep = np.lexsort((-rows, -hit))[:HOSTS_KEPT]
            unique, rows, hit = unique[keep], rows[keep], hit[keep]
            self.partial = True
        self.parts = [(unique, rows, hit)]
        self.pending = len(unique)

    def flagged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The hosts with flagged rows: (hosts, rows, flagged)."""
        self.sum()
        if not self.parts:
            return np.empty(0, dtype=object), np.empty(0, np.int64), np.empty(0, np.int64)
        hosts, rows, hit = self.parts[0]
        at = np.flatnonzero(hit)
        return hosts[at], rows[at], hit[at]

    def top(self, n: int) -> tuple[list[tuple[str, int, int]], int]:
        """The `n` hosts with the most flagged rows as (host, rows, flagged), fewer rows first among equals,
        and how many hosts had any flagged row."""
        hosts, rows, hit = self.flagged()
        order = np.lexsort((rows, -hit))[:n]
        return [(str(hosts[i]), int(rows[i]), int(hit[i])) for i in order], len(hosts)


def add_tallies(mine: dict[str, HostTally], theirs: dict[str, HostTally]) -> None:
    """Add each column's counts in `theirs` to those in `mine` (a run's, a live window's), in place."""
    for name, tally in theirs.items():
        mine.setdefault(name, HostTally()).add(tally)


def baseline_counts(values: dict[str, tuple[np.ndarray, np.ndarray]], flags: np.ndarray, kept: int = BASELINE_KEPT
                    ) -> dict[str, dict[str, list[int]]]:
    """Per address column, each host's calibration rows and how many of them the threshold flags (`values`:
    the column's pd.factorize over the calibration rows, `flags` theirs): what a host's own traffic looked
    like to the model when it was normal, so that a host whose kind of traffic always scores high (a DNS
    server among workstations, an NTP server the model fits worse than the rest) is judged against its own
    rate, not named on every run. The `kept` hosts with the most rows, for the manifest."""
    out = {}
    flagged = np.asarray(flags) == 1
    for name, (codes, hosts) in values.items():
        counted = _counts(codes, len(hosts), flagged)
        if counted is None:
            continue
        rows, hit = counted
        top = np.argsort(-rows, kind="stable")[:kept]
        out[name] = {str(hosts[i]): [int(rows[i]), int(hit[i])] for i in top if rows[i]}
    return out


def _counts(codes: np.ndarray, n_hosts: int, flagged: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Each host's rows and flagged rows, from pd.factorize's codes (-1, a gap, names no host); None where
    no row names one."""
    named = codes >= 0
    if not named.any():
        return None
    return np.bincount(codes[named], minlength=n_hosts), np.bincount(codes[named & flagged], minlength=n_hosts)


def tally_hosts(df: pd.DataFrame, columns: list[str], flags: np.ndarray) -> dict[str, HostTally]:
    """For each of `columns` in `df` that names a host in some row, its chunk's HostTally."""
    flagged = np.asarray(flags) == 1
    out = {}
    for name in columns:
        if name in df.columns and (tally := HostTally.of(df[name], flagged)) is not None:
            out[name] = tally
    return out
