"""Is the flagged share far above what the calibration promised? A binomial test, and the columns that moved.

On the calibration rows a share p0 of normal rows scored above the threshold. If the scored rows were
normal traffic like those, the number flagged would be Binomial(n, p0). A flagged count in that law's far
upper tail means the traffic differs from the training data: attacks, or a network that changed (then
`vaeguard calibrate` or a refit is the fix). The calibration set is finite, so p0 is taken at the top of
its 99.7% interval (3 standard errors) before testing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .scoring import ChunkReport

# One-sided p-value below which the flagged share counts as drift.
DRIFT_P = 1e-3
TOP_COLUMNS = 3
# A live run is judged in windows of rows, so that a run of days tells each spell of drift as it begins
# and as it ends, not only its first: a window closes once the calibration expects this many of its rows
# flagged (10,000 rows at 1%; at least MIN_WINDOW_ROWS). Fewer would make the test on a window too weak
# to tell a doubled rate; many more would let hours of normal traffic hide the start of an attack.
WINDOW_FLAGGED = 100
MIN_WINDOW_ROWS = 1000
HOSTS_SHOWN = 10  # per address column, the hosts with the most flagged rows


@dataclass
class DriftCheck:
    expected_flag_rate: float
    flag_rate: float
    p_value: float
    drift: bool
    columns: list[str] = field(default_factory=list)  # model columns whose contributions rose most
    novel_flagged: int = 0  # flagged rows holding values training never held: flagged whatever the threshold
    flagged: int = 0
    # New values that training held spelled otherwise, by column: {new value: training's spelling}.
    respelled: dict[str, dict[str, str]] = field(default_factory=dict)
    judged_on: str = "rows"  # the rows the test counted, as the message names them: every scored row, or LABELLED_NORMAL
    # Per address column, the hosts with the most flagged rows (flagged_hosts), how many hosts had any, and
    # the columns whose counts are partial (more hosts than hosts.HOSTS_KEPT).
    hosts: dict[str, list[dict]] = field(default_factory=dict)
    hosts_flagged: dict[str, int] = field(default_factory=dict)
    hosts_partial: list[str] = field(default_factory=list)
    # The hosts whose own rows drifted (drifting_hosts), the most certain first: {column, host, rows, flagged, p_value}.
    drifting_hosts: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def message(self, rows: str | None = None) -> str:
        """rows: which rows the figures speak of, where not `judged_on` ("rows 10,001-17,214")."""
        rows = self.judged_on if rows is None else rows
        moved = f"; the columns that moved most: {', '.join(self.columns)}" if self.columns else ""
        head = (f"drift: {self.flag_rate:.1%} of {rows} flagged where {self.expected_flag_rate:.1%} was expected "
                f"(binomial p = {self.p_value:.1g}){moved}.")
        if self.respelled:
            pairs = "; ".join(f"{col}: " + ", ".join(f"{new} for {old}" for new, old in list(same.items())[:3])
                              for col, same in list(self.respelled.items())[:3])
            head += (f" Some new values are training's own but for case or spaces ({pairs}): if the exporter's spelling "
                     "changed, write them as training did or refit.")
        if self.novel_flagged * 2 >= self.flagged:
            # A new threshold cannot unflag these: `calibrate` would only blunt the model for everything else.
            return (f"{head} {self.novel_flagged:,} of the {self.flagged:,} flagged rows hold values training never held, "
                    f"which flag a row whatever the threshold: if this traffic is normal, refit on it "
                    f"so that the model learns them; otherwise look at the flagged rows")
        if self.judged_on == LABELLED_NORMAL:
            return (f"{head} If this is how normal traffic looks now, run `vaeguard calibrate` on these rows with the same --label "
                    f"(it sets the threshold on the rows labelled normal) or refit; otherwise look at the flagged ones")
        return f"{head} If this traffic is normal, run `vaeguard calibrate` on it or refit; otherwise look at the flagged rows"

    def hosts_message(self, rows: str = "all rows") -> str:
        """One line on the hosts whose own rows drifted, where the rows as a whole did not: one device's traffic
        changed among many that did not, as one infected machine's does. rows: which rows ("rows 1-3,012")."""
        n = len(self.drifting_hosts)
        named = "; ".join(f"{h['host']} ({h['column']}): {h['flagged']:,} of its {h['rows']:,} rows flagged (binomial p = {h['p_value']:.1g})"
                          for h in self.drifting_hosts[:3])
        more = f"; {n - 3:,} more" if n > 3 else ""
        return (f"drift on {'one host' if n == 1 else f'{n:,} hosts'} though not over {rows} ({self.flag_rate:.1%} of rows flagged where "
                f"{self.expected_flag_rate:.1%} was expected): {named}{more}. Look at {'its' if n == 1 else 'their'} rows; if such traffic "
                f"is normal there, refit with {'it' if n == 1 else 'them'} in the training data")


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space from k up until the terms vanish."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    log_c = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    term = log_c + k * lp + (n - k) * lq
    total, i = 0.0, k
    peak = term
    while i <= n:
        if term > peak:
            # Below the mode the terms grow (a quiet run: fewer flagged than expected): keep the sum scaled
            # to the largest term so far, or exp() overflows once the log terms are 710 apart (200,000 rows
            # scored at 0.6% where 1.6% was expected).
            total *= math.exp(peak - term)
            peak = term
        total += math.exp(term - peak)
        if i > n * p and math.exp(term - peak) < 1e-16 * total:
            break
        # ratio of consecutive binomial terms
        term += math.log(n - i) - math.log(i + 1) + lp - lq if i < n else 0.0
        i += 1
    return min(1.0, math.exp(peak) * total)


def expected_rate(calibration) -> tuple[float, float]:
    """The share of calibration rows above the threshold, (k + 1) / (n + 1), and the top of its interval."""
    n = len(calibration.scores)
    k = int(np.sum(calibration.scores > calibration.threshold))
    p0 = (k + 1.0) / (n + 1.0)
    return p0, min(1.0, p0 + 3.0 * math.sqrt(p0 * (1.0 - p0) / max(1, n)))


def drift_from(old, new) -> DriftCheck:
    """The drift test of a recalibration: how many of the rows the new calibration `new` was set on the old one,
    `old`, flagged, against the share its own calibration rows promised. Far above it, the rows are not the
    traffic the model learned, and the new threshold hides that from every later score. Judged only where the rows
    are said to be normal (a false-positive rate): with --contamination they hold anomalies, which the old
    threshold flags too."""
    p0, p_high = expected_rate(old)
    n = len(new.scores)
    k = int(np.sum(new.scores > old.threshold))
    p = binomial_tail(k, n, p_high) if n else 1.0
    return DriftCheck(p0, k / n if n else 0.0, p, bool(new.mode == "fpr" and n and k / n > p_high and p < DRIFT_P), flagged=k)


def _spelling(value) -> str:
    """A value as its respellings share it: without surrounding spaces, in one case."""
    return str(value).strip().casefold()


def respelled(detector, new_values: dict[str, dict[str, int]] | None) -> dict[str, dict[str, str]]:
    """New values of categorical columns that training held spelled otherwise, in other case or with spaces
    around (TCP for tcp, as Suricata and Zeek write a protocol): an exporter's spelling that changed, not the
    traffic. A Zeek history is left out: its case says which end sent a packet."""
    from .encode import MISSING, OTHER, UNKNOWN

    out: dict[str, dict[str, str]] = {}
    history = {spec.name for spec in getattr(detector, "schema_", []) if spec.transform == "history"}
    for col in detector.preprocessor_.categorical:
        new = (new_values or {}).get(col.name)
        if not new or col.letter or col.column in history:
            continue
        known = {_spelling(v): str(v) for v in col.vocab if v not in (UNKNOWN, OTHER, MISSING)}
        same = {str(v): known[k] for v in new if (k := _spelling(v)) in known}
        if same:
            out[col.name] = same
    return out


def check_drift(detector, report: "ChunkReport") -> DriftCheck:
    """The drift test on what scoring counted (every chunk's `scoring.ChunkReport`, summed)."""
    rows, flagged, contribution_sum = report.rows, report.flagged, report.contribution_sum
    p0, p_high = expected_rate(detector.calibration_)
    rate = flagged / rows if rows else 0.0
    p = binomial_tail(flagged, rows, p_high) if rows else 1.0
    drift = bool(rows and rate > p_high and p < DRIFT_P)
    columns: list[str] = []
    stats = getattr(detector, "contribution_stats_", None)
    if drift and contribution_sum is not None and stats is not None:
        mean, std = stats
        shift = (contribution_sum / rows - mean) / (std + 0.1)
        order = np.argsort(-shift, kind="stable")
        names = detector.preprocessor_.column_names
        columns = [names[i] for i in order[:TOP_COLUMNS] if shift[i] > 0.5]
    baselines = getattr(detector, "host_baselines_", None)
    hosts, hosts_flagged, partial = flagged_hosts(report.hosts, p_high, baselines=baselines, p0=p0)
    return DriftCheck(p0, rate, p, drift, columns, report.novel_flagged, flagged, respelled(detector, report.new_values) if drift else {},
                      hosts=hosts, hosts_flagged=hosts_flagged, hosts_partial=partial,
                      drifting_hosts=drifting_hosts(report.hosts, p_high, baselines=baselines, p0=p0))


def drifting_hosts(hosts: dict, p_high: float, shown: int = HOSTS_SHOWN, baselines: dict | None = None, p0: float = 0.01) -> list[dict]:
    """The hosts (`hosts`: hosts.HostTally by address column) whose own rows fail the drift test against
    their own rate (host_rate, from the model's `baselines`), the test's level divided among every host with
    a flagged row (a network of a thousand hosts gives a thousand chances to see one host's tail by chance);
    at most `shown`, the smallest p first."""
    found, tested = [], 0
    for name, tally in hosts.items():
        names, rows, hit = tally.flagged()
        tested += len(names)
        for i in np.flatnonzero(hit > p_high * rows):  # at or below the expected rate, no test can reject
            found.append((name, str(names[i]), int(rows[i]), int(hit[i])))
    out = []
    for name, host, r, f in found:
        p = binomial_tail(f, r, host_rate(baselines, name, host, p_high, p0))
        if p < DRIFT_P / max(1, tested):
            out.append({"column": name, "host": host, "rows": r, "flagged": f, "p_value": p})
    return sorted(out, key=lambda h: (h["p_value"], -h["flagged"]))[:shown]


def host_rate(baselines: dict | None, column: str, host: str, p_high: float, p0: float) -> float:
    """The flagged share a host's rows are tested against: the calibrated rate's top (`p_high`), or, where the
    host's own calibration rows (`baselines`: hosts.baseline_counts) put its rate higher, the top of that
    rate's interval. Its own rows are pooled with one flag's worth of rows at the calibrated rate `p0` (1 / p0
    rows), so that a handful of rows says little either way: a host with 7 calibration rows and no flag among
    them is judged as any host is (alone, they put its rate's top at 50%, and an infected workstation's 40 C&C
    connections among its 112 rows went unnamed), one with 50 of 500 flagged against its own 10%."""
    own = (baselines or {}).get(column, {}).get(host)
    if not own or not own[0]:
        return p_high
    n, k = own
    pooled = n + 1.0 / p0
    rate = (k + 1.0) / pooled
    return max(p_high, min(1.0, rate + 3.0 * math.sqrt(rate * (1.0 - rate) / pooled)))


def flagged_hosts(hosts: dict, p_high: float, shown: int = HOSTS_SHOWN, baselines: dict | None = None, p0: float = 0.01
                  ) -> tuple[dict[str, list[dict]], dict[str, int], list[str]]:
    """Per address column (`hosts`: hosts.HostTally by column), the `shown` hosts with the most flagged rows
    (the larger share first among equals), each with the drift test on its own rows: where one host's
    flagged share is far above the rate the calibration promised, that host's traffic changed, whatever
    the rest did. With them, how many hosts had flagged rows, and the columns whose counts are partial."""
    top, counted = {}, {}
    for name, tally in hosts.items():
        rows, counted[name] = tally.top(shown)
        if rows:
            top[name] = [{"host": h, "rows": r, "flagged": f, "p_value": binomial_tail(f, r, host_rate(baselines, name, h, p_high, p0))}
                         for h, r, f in rows]
    return top, {k: v for k, v in counted.items() if v}, sorted(name for name, tally in hosts.items() if tally.partial)


LABELLED_NORMAL = "rows labelled normal"


def labelled_drift(detector, normal: "ChunkReport") -> DriftCheck:
    """The drift test where labels say which rows are normal (`evaluate`): labelled attacks are there to be
    flagged, and counted in, a test set's attacks alone read as drift (NSL-KDD's, 38.8% flagged where 1% was
    expected, whatever the model). `normal`: what scoring counted of the rows labelled normal, scored apart
    from the others (pipeline.evaluate_table)."""
    seen = check_drift(detector, normal)  # its columns and respellings are counted only where the rows drifted
    return DriftCheck(seen.expected_flag_rate, seen.flag_rate, seen.p_value, seen.drift, seen.columns, seen.novel_flagged if seen.drift else 0,
                      seen.flagged, seen.respelled, LABELLED_NORMAL)


@dataclass
class LiveDrift:
    """A spell of drift beginning or ending in a live run, and the window of rows that showed it."""

    check: DriftCheck  # on the window's rows
    first_row: int  # the window's rows, counted from 1 over the whole run
    last_row: int
    started: bool  # False: the spell ended

    def to_dict(self) -> dict:
        """As score's --json lists it: what the warning line said, in fields."""
        return {"began": self.started, "first_row": self.first_row, "last_row": self.last_row, "flag_rate": self.check.flag_rate,
                "expected_flag_rate": self.check.expected_flag_rate, "drift_columns": self.check.columns}

    def rows(self) -> str:
        return f"rows {self.first_row:,}-{self.last_row:,}"

    def message(self) -> str:
        rows = "rows" if self.first_row == 1 else self.rows()
        if self.started:
            return self.check.message(rows)
        return (f"drift over: {self.check.flag_rate:.1%} of {rows} flagged where {self.check.expected_flag_rate:.1%} "
                "was expected")


@dataclass
class LiveHosts:
    """Hosts whose own rows drifted in a live run's window of rows where the window as a whole did not, each
    told once a run."""

    check: DriftCheck  # on the window's rows, its drifting_hosts the ones not told before
    first_row: int
    last_row: int
    started: bool = True  # told as a warning, as a spell's start is

    def message(self) -> str:
        return self.check.hosts_message(f"rows {self.first_row:,}-{self.last_row:,}")


class DriftWatch:
    """Drift in a live run, looked at in each pause of the pipe: told when a window of rows first shows it
    and when a whole window after that no longer does. The window since the last one closed is tested at
    every pause (a burst shows at once); a window that has held its rows closes, quietly unless it ends a
    spell. The run's summary still tests all of its rows at once."""

    def __init__(self, detector):
        self.detector = detector
        self.window_rows = max(MIN_WINDOW_ROWS, math.ceil(WINDOW_FLAGGED / expected_rate(detector.calibration_)[0]))
        self.drifting = False
        self._start = (0, 0, 0, None)  # rows, flagged, novel_flagged and contribution_sum where the window began
        self.hosts: dict = {}  # the window's rows and flagged rows by host (hosts.HostTally per address column)
        self.hosts_told: set[tuple[str, str]] = set()
        self.host_news: list[LiveHosts] = []  # told by the pipeline after each pause, then emptied

    def add(self, report: "ChunkReport") -> None:
        """A chunk's counts by host, into the window's (the run's other counts come with at_pause's report)."""
        from .hosts import add_tallies

        add_tallies(self.hosts, report.hosts)

    def at_pause(self, report: "ChunkReport") -> tuple[DriftCheck, LiveDrift | None]:
        """The window's drift check, and what to tell of it (None: nothing new)."""
        from .scoring import ChunkReport

        rows, flagged, novel, sums = self._start
        window = ChunkReport(report.rows - rows, report.flagged - flagged, new_values=report.new_values,
                             novel_flagged=report.novel_flagged - novel,
                             contribution_sum=None if report.contribution_sum is None else report.contribution_sum - (0 if sums is None else sums),
                             hosts=self.hosts)
        check = check_drift(self.detector, window)
        if not check.drift:
            new = [h for h in check.drifting_hosts if (h["column"], h["host"]) not in self.hosts_told]
            if new:
                self.hosts_told.update((h["column"], h["host"]) for h in new)
                self.host_news.append(LiveHosts(replace(check, drifting_hosts=new), rows + 1, report.rows))
        told = None
        if check.drift and not self.drifting:
            told, self.drifting = LiveDrift(check, rows + 1, report.rows, True), True
        elif window.rows >= self.window_rows:
            if self.drifting and not check.drift:
                told, self.drifting = LiveDrift(check, rows + 1, report.rows, False), False
        else:
            return check, None
        sums = None if report.contribution_sum is None else report.contribution_sum.copy()
        self._start = (report.rows, report.flagged, report.novel_flagged, sums)
        self.hosts = {}
        return check, told
