"""File to model and file to file: the library pipelines the CLI only wires up.

    from vaeguard.pipeline import fit_file, score_file
    run = fit_file("conn.log", "model/")                       # read, fit, calibrate, save
    result = score_file("other.log", "model/", "flagged.csv")  # stream, score, write atomically

`fit_file` saves the best epoch so far to MODEL/in-progress/ while training, so an interrupted fit can
be resumed and never damages the model already in MODEL. `score_file` streams in chunks: reading the
next chunks, encoding and the network on two chunks at once and writing the previous one overlap on
four threads.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .defaults import DEFAULTS
from .errors import ConfigError, InputError, ParamError, VaeguardError

IN_PROGRESS = "in-progress"
NETWORK_WORKERS = 2  # chunks in the network at once while scoring a file
AHEAD_CHUNKS = 4  # chunks `read_ahead` may hold while the model loads
LIVE_WAIT_SECONDS = 0.05  # a live pipe's chunks in the network are handed on when no other comes this soon


@dataclass
class FitRun:
    detector: object  # the fitted Detector
    rows_read: int
    rows_used: int
    skipped: str  # what reading left out ("" when nothing)
    read_as: str = ""  # how the file was read, in words (Source.describe)
    labelled_anomalous: int | None = None  # rows left out as labelled anomalous (label=...); None without a label
    unused_label: tuple[str, int] | None = None  # without label=: a label column that called rows anomalous, and how many


@dataclass
class ScoreRun:
    report: object  # scoring.ChunkReport
    drift: object  # drift.DriftCheck
    skipped: str
    detector: object = None
    not_numbers: dict = field(default_factory=dict)  # Parquet output: {column: values written as null}
    read_as: str = ""  # how the file was read, in words (Source.describe)
    # A live pipe's run ended before the pipe did: by Ctrl-C or SIGTERM (the KeyboardInterrupt), or where
    # `until` said so
    interrupted: KeyboardInterrupt | None = None
    until_met: bool = False
    # A live pipe's spells of drift, each beginning and end as it was told (drift.LiveDrift): a run of days
    # warns of several, and its summary names them all, where the last lines of stderr show the latest alone.
    drift_spells: list = field(default_factory=list)


def check_writable_folder(path: Path, what: str = "--model") -> None:
    """Fail before any work when the folder cannot be created or written: try it, and leave no trace."""
    import tempfile

    if path.exists() and not path.is_dir():
        raise InputError(f"{what} '{path}' is a file; give a folder name (fit writes several files into it)")
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot create {what} folder '{path}': '{parent}' is a file")
    try:
        fd, probe = tempfile.mkstemp(prefix=".vaeguard-write-test-", dir=parent)
        os.close(fd)
        os.unlink(probe)
        if not path.exists():
            path.mkdir(parents=True)
            for created in [path, *path.parents]:  # remove what this check created, nothing more
                if created == parent:
                    break
                created.rmdir()
    except OSError as e:
        raise InputError(f"cannot write {what} folder '{path}': {e.strerror or e}; choose another folder or fix its permissions") from None


def fit_file(
    data: str | list[str],
    model_dir: str | Path,
    detector=None,
    *,
    fmt: str | None = None,
    names: list[str] | None = None,
    encoding: str | None = None,
    events: list[str] | None = None,
    max_rows: int = DEFAULTS.max_rows,
    resume: bool = False,
    on_epoch: Callable | None = None,
    on_read: Callable | None = None,
    ahead=None,
    on_calibration: Callable | None = None,
    label: str | None = None,
    positive: str | None = None,
) -> FitRun:
    """Read `data` (a uniform sample of `max_rows` rows when larger), fit `detector`, save it to `model_dir`.

    names: the column names of a CSV without a header line (--names); the model keeps them for score_file.
    encoding: the text's encoding where it is not UTF-8 (--encoding).
    events: the Suricata event types to read as rows (--events: dns, tls...); the model keeps them for score_file.
    ahead: the table from `read_table_ahead`, already being read while torch imported.
    on_calibration: see `Detector.fit`.
    label: a column of true labels (--label): fit on the rows it calls normal, read as `evaluate` reads it
    (positive: the value meaning anomaly); the column is left out of the model. A --max-rows sample is
    drawn from the normal rows. `ahead` must have been started with the same label and positive.
    """
    from .checkpoint import check_not_foreign
    from .detector import Detector, check_config
    from .sources import Source, open_source

    try:
        detector = detector if detector is not None else Detector()
        check_config(detector)
        _check_fit_rows(max_rows, label, detector.roles)
        model_dir = Path(model_dir)
        check_writable_folder(model_dir)
        check_not_foreign(model_dir)
        in_progress = model_dir / IN_PROGRESS
        if resume and not (in_progress / "manifest.json").exists():
            raise ConfigError(f"nothing to resume: '{in_progress}' holds no interrupted fit; run fit without --resume")
        source = data if isinstance(data, Source) else open_source(data, fmt, strict=detector.strict, names=names, encoding=encoding,
                                                                     events=events)
        rows = _fit_rows(source, max_rows, detector.seed, ahead, label, positive, on_read)
    finally:
        if ahead is not None:
            ahead.close()
    unused = None
    if label is None:
        from .evaluate import unused_labels

        unused = unused_labels(rows.df, detector.roles)
    rows_used = len(rows.df)
    read_as = source.describe(rows.df.columns)
    # Hand the table over without keeping a reference here, so fit can free it once it is encoded.
    table = [rows.df]
    rows.df = None
    detector.fit(table.pop(), on_epoch=on_epoch, checkpoint_dir=in_progress, resume=in_progress if resume else None, hints=rows.hints,
                 on_calibration=on_calibration)
    # A table without a header line: score reads the next such file with the same names.
    detector.given_names_ = list(source.given_names) or None
    detector.events_ = list(source.events) or None  # and Suricata's events of the types it was fitted on
    detector.save(model_dir)
    shutil.rmtree(in_progress, ignore_errors=True)
    return FitRun(detector, rows.total, rows_used, source.skipped_summary(), read_as, rows.labelled_anomalous, unused)


@dataclass
class FitRows:
    """The rows fit learns from, as `_fit_rows` read them."""
    df: object  # pandas.DataFrame; None once handed to the detector
    total: int  # rows read
    hints: dict | None  # what the file format says each column holds
    labelled_anomalous: int | None  # with a label: the rows it called anomalous, left out


def _check_fit_rows(max_rows: int, label: str | None, roles: dict[str, str] | None) -> None:
    if max_rows < 10:
        raise ParamError("max_rows", f"{{name}} must be at least 10; got {max_rows}")
    if label is not None and (roles or {}).get(label, "ignore") not in ("ignore", "ignored"):
        # Constant in the rows it chose, the column would flag every labelled attack scored later by its label alone.
        raise ConfigError(f"'{label}' is the --label column, each row's answer: it cannot also be a feature (--role {label}={roles[label]})")


def _fit_rows(source, max_rows: int, seed: int, ahead, label: str | None, positive: str | None, on_read: Callable | None) -> FitRows:
    """The rows of `source` fit learns from (read by `ahead` when given), checked as fit checks them."""
    from .detector import MIN_FIT_ROWS
    from .schema import LABEL_HINT

    if ahead is not None:
        df, total, normal_rows = next(ahead)
        if (normal_rows is None) != (label is None) or (label is not None and (normal_rows.label, normal_rows.positive) != (label, positive)):
            raise ConfigError("the table read ahead (read_table_ahead) was read with another label than fit_file's: give both the same")
    else:
        df, total, normal_rows = read_fit_rows(source, max_rows, seed, label=label, positive=positive)
    if len(df) < MIN_FIT_ROWS and source.bad_lines > len(df):
        # Most lines did not fit the header: say so, not that the file is (nearly) empty.
        raise InputError(f"'{source.name}' has {len(df):,} row{'s' if len(df) != 1 else ''} that fit its header and "
                         f"{source.bad_lines:,} malformed line{'s' if source.bad_lines != 1 else ''} (e.g. {source.bad_example!r}); "
                         "check the header line and the delimiter")
    hints, labelled_anomalous = source.role_hints, None
    offered = total
    if normal_rows is not None:
        df, labelled_anomalous = normal_rows.finish(df)
        offered = total - labelled_anomalous
        hints = {**(hints or {}), label: LABEL_HINT}
    if len(df) == 0:
        raise InputError(f"'{source.name}' has a header but no rows; nothing to learn from")
    if on_read is not None:
        on_read(len(df), offered, source.skipped_summary())
    return FitRows(df, total, hints, labelled_anomalous)


@dataclass
class RolesRun:
    """What `roles_of_file` found: each column's role as fit would give it, on the rows fit would read."""
    schema: list  # schema.ColumnSpec, one per column
    rows_read: int
    rows_used: int
    skipped: str
    read_as: str


def roles_of_file(source, *, ignore: tuple[str, ...] = (), roles: dict[str, str] | None = None, max_rows: int = DEFAULTS.max_rows,
                  seed: int = DEFAULTS.seed, ahead=None, label: str | None = None, positive: str | None = None,
                  on_read: Callable | None = None) -> RolesRun:
    """The roles `fit_file` would give the columns of `source` (an open sources.Source), from the same rows,
    without training or writing anything: `vaeguard fit --dry-run`."""
    from .schema import infer_schema

    try:
        _check_fit_rows(max_rows, label, roles)
        rows = _fit_rows(source, max_rows, seed, ahead, label, positive, on_read)
    finally:
        if ahead is not None:
            ahead.close()
    schema = infer_schema(rows.df, tuple(ignore), roles, rows.hints)
    return RolesRun(schema, rows.total, len(rows.df), source.skipped_summary(), source.describe(rows.df.columns))


def _detector(model, device: str = "cpu"):
    from .detector import Detector

    return model if isinstance(model, Detector) else Detector.load(model, device=device)


def given_names_of(model) -> Callable[[], list[str] | None]:
    """The --names `model` (a folder or a Detector) was fitted with, as `sources.open_source` asks for them:
    only for a CSV without a header line. A folder's manifest alone is read; a model that cannot be read
    gives none, and loading it says why."""
    return _kept_by(model, "given_names")


def events_of(model) -> Callable[[], list[str] | None]:
    """The Suricata event types `model` was fitted on (--events), as `sources.open_source` asks for them: only
    for JSON lines."""
    return _kept_by(model, "events")


def _kept_by(model, key: str) -> Callable[[], list[str] | None]:
    """What a model keeps of how its table was read (the manifest's `key`, a Detector's `key_`), asked for
    only where a reader needs it."""
    from .checkpoint import read_manifest
    from .detector import Detector

    read: list = []  # the manifest once, however many files of a folder ask

    def kept() -> list[str] | None:
        if isinstance(model, Detector):
            return getattr(model, f"{key}_", None)
        if not read:
            try:
                value = read_manifest(model).get(key)
            except VaeguardError:
                value = None
            read.append([str(n) for n in value] if isinstance(value, list) else None)
        return read[0]

    return kept


def score_file(
    data: str | list[str],
    model,
    out: str = "-",
    *,
    fmt: str | None = None,
    names: list[str] | None = None,
    encoding: str | None = None,
    events: list[str] | None = None,
    out_format: str | None = None,
    chunk_size: int = DEFAULTS.chunk_size,
    only_anomalies: bool = False,
    strict: bool = False,
    device: str = "cpu",
    on_rows: Callable[[int], None] | None = None,
    ahead=None,
    on_drift: Callable | None = None,
    until: Callable | None = None,
    on_bad_lines: Callable[[str], None] | None = None,
) -> ScoreRun:
    """Score `data` against `model` (a folder or a fitted Detector) and write every row, or only the
    flagged ones, with its scores to `out` (a file written atomically, or "-" for stdout).

    names: the column names of a CSV without a header line; by default a model fitted with names reads
    such a file with its own.
    encoding: the text's encoding where it is not UTF-8 (--encoding).
    events: the Suricata event types to read as rows; by default those the model was fitted on.
    ahead: the chunks of `data` from `read_ahead`, already being read while the model loaded.
    on_drift: hears each spell of drift in a live pipe's rows as it begins and as it ends (drift.LiveDrift,
    from windows of rows: drift.DriftWatch); such a run may never end, and its summary never come. The
    run's `drift_spells` hold them all, heard or not.
    on_bad_lines: hears, at a live pipe's pause, how many malformed lines reading has skipped so far, once
    they come to 1, then each time they have doubled (the summary, which says so too, may never come).
    until: asked at each of a live pipe's pauses, with the report so far and the drift check of the rows
    since the last window closed; True ends the run there, as the pipe's end would (`--fail-on-anomaly`,
    `--fail-on-drift`: their exit code is an alarm).
    """
    from concurrent.futures import ThreadPoolExecutor

    from .drift import DriftWatch, check_drift
    from .forward import one_blas_thread
    from .io import AtomicTableWriter, prefetch
    from .scoring import ChunkReport, encode_chunk, finish_chunk, score_network
    from .sources import ABSENT_AS_UNSET, Source, open_source

    if chunk_size < 1:
        raise ParamError("chunk_size", f"{{name}} must be at least 1; got {chunk_size}")
    # A missing or unreadable file fails before the model loads. `data` may be an opened Source.
    source = data if isinstance(data, Source) else open_source(data, fmt, strict=strict, names=names, model_names=given_names_of(model),
                                                                 encoding=encoding, events=events, model_events=events_of(model))
    check_not_input(out, source)
    detector = _detector(model, device)
    report = ChunkReport()
    columns = detector.preprocessor_.optional_columns
    # Scored rows keep the file's own columns, the output's: those of a model's optional columns a file may
    # leave out (ABSENT_AS_UNSET) are added as unset for the encoder alone.
    unset = tuple(columns) if source.format in ABSENT_AS_UNSET else ()

    def encode_and_score(chunk):
        return score_network(detector, encode_chunk(detector, chunk, strict=strict, unset=unset))

    wrote_any = False

    def finish_and_write(chunk, rows):
        nonlocal wrote_any
        scored, rep = finish_chunk(detector, chunk, rows)
        if only_anomalies:
            scored = scored[scored["is_anomaly"] == 1]
        if len(scored) or not wrote_any:
            writer.write(scored)
            wrote_any = True
        # Counted here, on the writing thread, in input order: an interrupt (a live pipe's end) lands on the
        # main thread, which could otherwise count a chunk twice or not at all.
        report.add(rep)
        if source.live:
            watch.add(rep)

    # Three stages overlap: reading the next chunks (one thread), encoding and the network on two chunks
    # at once (two threads), and formatting and writing the previous one (one thread). Encoding plus
    # the network is the largest stage, and numpy's kernels run in parallel across Python threads
    # better than inside one on few cores. At most eight chunks are in memory at once (four read ahead),
    # and they are written in input order. The network's BLAS goes to one thread here, on this thread:
    # OpenBLAS would not take the change from the network's threads.
    chunks = ahead if ahead is not None else prefetch(source.chunks(chunk_size, text=True, columns=columns))
    # A Zeek log output keeps a Zeek TSV input's types, and types Zeek's JSON fields (value_types) where their
    # values read as those types (io._zeek_type).
    zeek_types = source.hints if source.zeek is not None else None
    with chunks, AtomicTableWriter(out, out_format, source.arrow_schema, zeek_types, value_types=source.hints, late_lists=source.late_lists) as writer, ThreadPoolExecutor(1, thread_name_prefix="vaeguard-write") as pool, \
            ThreadPoolExecutor(NETWORK_WORKERS, thread_name_prefix="vaeguard-network") as network, one_blas_thread():
        pending = None
        inflight: deque = deque()

        def hand_on():
            nonlocal pending
            chunk, rows = inflight.popleft()
            rows = rows.result()
            if pending is not None:
                pending.result()
            pending = pool.submit(finish_and_write, chunk, rows)
            if on_rows is not None:
                on_rows(len(chunk))

        def written_so_far(paused: bool = False) -> bool:
            """Every chunk read so far scored and written; at a live pipe's pause, whether to end there."""
            nonlocal pending, bad_told
            while inflight:
                hand_on()
            if pending is not None:
                pending.result()
                pending = None
            if not paused:
                return False
            n = source.bad_lines  # read once: the reading thread may count more meanwhile
            if on_bad_lines is not None and n > bad_told:
                bad_told = 2 * n - 1  # told again once they have doubled
                on_bad_lines(f"{source.name}: {n:,} malformed line{'s' if n != 1 else ''} skipped so far "
                             f"(e.g. {source.bad_example!r}); --strict stops at the first")
            drift, told = watch.at_pause(report)
            if told is not None:
                spells.append(told)
                if on_drift is not None:
                    on_drift(told)
            for news in watch.host_news:  # hosts whose own rows drifted: told, not spells of the run's
                if on_drift is not None:
                    on_drift(news)
            watch.host_news.clear()
            return until is not None and bool(until(report, drift))

        names, interrupted, until_met, bad_told, spells = None, None, False, 0, []
        watch = DriftWatch(detector)
        try:
            while True:
                chunk = chunks.next_within(LIVE_WAIT_SECONDS) if source.live and inflight else next(chunks, None)
                if chunk is chunks.WAITING:
                    # A live pipe's writer has paused: the rows so far are written now, not when more come,
                    # and a drift the rows so far show is told now, not when the pipe closes.
                    if written_so_far(paused=True):
                        until_met = True
                        chunks.abandon()
                        break
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                names = chunk.columns if names is None else names
                inflight.append((chunk, network.submit(encode_and_score, chunk)))
                if len(inflight) >= NETWORK_WORKERS:
                    hand_on()
        except KeyboardInterrupt as e:
            if not source.live or names is None:
                raise  # a file, or a pipe that has given no rows yet: stopped, nothing written
            # A live pipe (`tail -F`) ends with Ctrl-C or `docker stop`: the rows read so far are its rows.
            interrupted = e
            chunks.abandon()
        written_so_far()
    drift = check_drift(detector, report)
    return ScoreRun(report, drift, source.skipped_summary(), detector, writer.not_numbers, source.describe(names if names is not None else []),
                    interrupted, until_met, spells)


def check_not_input(out: str, source) -> None:
    """Refuse to write the scores over the table being scored: the output replaces its target once it
    is whole, so the input would be gone, or cut to its flagged rows with --only-anomalies."""
    if out == "-" or not os.path.exists(out):
        return
    for path in source.files or [source.path]:
        path = getattr(path, "archive", path)  # a file inside an archive: the archive is what would be replaced
        if path != "-" and os.path.exists(path) and os.path.samefile(out, path):
            raise InputError(f"--out '{out}' is the table being scored, which the scores would replace; write them to another file")


def read_fit_rows(source, max_rows: int | None, seed: int, on_rows: Callable[[int], None] | None = None, label: str | None = None,
                  positive: str | None = None, command: str = "fit", columns: list[str] | None = None):
    """(the rows fit or calibrate learns from: a sample of `max_rows` when more, rows read, and with a
    `label` the evaluate.LabelledNormalRows that left out the rows it calls anomalous, for its `finish`;
    else None). `columns`: the fields a JSON log's records may leave out that a model reads (calibrate)."""
    from .sources import read_table

    normal_rows = None
    if label is not None:
        from .evaluate import LabelledNormalRows

        normal_rows = LabelledNormalRows(label, positive, source.name, command)
    df, total = read_table(source, max_rows=max_rows, seed=seed, on_rows=on_rows, row_filter=normal_rows, columns=columns)
    return df, total, normal_rows


def read_table_ahead(source, max_rows: int = DEFAULTS.max_rows, seed: int = DEFAULTS.seed, on_rows: Callable[[int], None] | None = None,
                     label: str | None = None, positive: str | None = None):
    """Start reading the table `fit_file` trains on now, on a background thread: parsing a million rows
    takes about as long as importing torch, and the two overlap on two cores. Pass it as `ahead`, with
    the same label and positive. `on_rows` hears the running row count, from the reading thread."""
    from .io import prefetch

    def whole():
        yield read_fit_rows(source, max_rows, seed, on_rows, label, positive)

    return prefetch(whole())


def read_ahead(source, chunk_size: int = DEFAULTS.chunk_size):
    """Start reading `source` for `score_file` now, a few chunks ahead, so the file is being read while
    the model loads. None for JSON lines, whose reader needs the model's column list."""
    from .io import prefetch

    if source.format == "json":
        return None
    return prefetch(source.chunks(chunk_size, text=True), depth=AHEAD_CHUNKS)


# evaluate_table's group of the rows whose label is anomalous under every reading of the column.
SURELY_ANOMALOUS = -1


@dataclass
class EvaluationRun:
    """What `evaluate_table` kept of a labelled table scored a chunk at a time: a few numbers per row, the
    rest counted."""

    y: object  # np.ndarray: 1 for the rows labelled anomalous, in the order `scores` holds them
    scores: object  # np.ndarray
    flags: object  # np.ndarray
    top: object  # pd.DataFrame: the highest-scoring rows as scored, highest first (evaluate.TOP_ROWS of them)
    top_y: object  # np.ndarray: their labels
    normal: object  # scoring.ChunkReport of the rows labelled normal (without their hosts, which no check of them reads)
    host_labels: dict  # per address column: {host: (rows, rows labelled anomalous)}
    report: object  # scoring.ChunkReport of every row
    label: str | None = None  # the label column read (evaluate.guess_label's where none was given)
    by: object = None  # evaluate.ValueCodes of the --by column, and `by_codes` each row's code, in the order of `scores`
    by_codes: object = None


def evaluate_table(source, detector, label: str | None, positive: str | None = None, strict: bool = False,
                   chunk_size: int = 100_000, by: str | None = None) -> EvaluationRun:
    """Score a labelled table a chunk at a time, each chunk's rows a label at a time, keeping each row's
    label, score and flag, the top rows and what scoring counted by label: 3M rows of a conn log held
    whole as scored took 1.9 GiB, and take 0.6. Which labels mean normal is read from the whole column
    (evaluate.LabelCodes)."""
    import numpy as np
    import pandas as pd

    from .evaluate import TOP_ROWS, LabelCodes, ValueCodes
    from .schema import host_columns
    from .scoring import ChunkReport, score_chunk

    labels = LabelCodes(label, positive)
    values = ValueCodes(by) if by is not None else None
    scores, flags, codes, tops, top_codes, by_codes = [], [], [], [], [], []
    by_label: dict[int, ChunkReport] = {}  # by group: a label that may be normal, or SURELY_ANOMALOUS
    hosts: dict[str, dict[int, pd.Series]] = {}  # per address column and group, rows by host
    address_columns = host_columns(detector.schema_)
    row = 0
    for chunk in source.chunks(chunk_size, text=False, columns=detector.preprocessor_.optional_columns):
        chunk_codes = labels.codes(chunk)
        chunk_values = values.codes(chunk) if values is not None else None
        chunk.index = pd.RangeIndex(row, row + len(chunk))  # each row's place in the file, for the top rows' order
        row += len(chunk)
        # The rows of each label that may be normal scored apart, and the rest together (anomalous under
        # every reading of the column): the drift check of the rows labelled normal counts what scoring saw
        # of them alone (unseen values, respellings), where a chunk's counts mix in the attacks.
        groups = np.where(labels.maybe_normal()[chunk_codes], chunk_codes, SURELY_ANOMALOUS)
        for group in np.unique(groups):
            mine = groups == group
            whole = bool(mine.all())
            scored, rep = score_chunk(detector, chunk if whole else chunk[mine], strict=strict)
            by_label.setdefault(int(group), ChunkReport()).add(rep)
            scores.append(scored["anomaly_score"].to_numpy(dtype=np.float64))
            flags.append(scored["is_anomaly"].to_numpy(dtype=np.int8))
            codes.append(chunk_codes if whole else chunk_codes[mine])
            if chunk_values is not None:
                by_codes.append(chunk_values if whole else chunk_values[mine])
            tops.append(scored.nlargest(TOP_ROWS, "anomaly_score", keep="first"))  # ties to the earlier row, as below
            top_codes.append(pd.Series(codes[-1], index=scored.index).reindex(tops[-1].index))
            for name in address_columns:
                if name in scored.columns:
                    counted = scored[name].dropna().astype(str).value_counts()
                    by_group = hosts.setdefault(name, {})
                    by_group[int(group)] = counted if int(group) not in by_group else by_group[int(group)].add(counted, fill_value=0)
            del scored
        if len(tops) > 1:  # the running top rows, ties to the earlier row
            both = pd.concat(tops)
            order = np.lexsort((both.index.to_numpy(), -both["anomaly_score"].to_numpy()))
            tops = [both.iloc[order[:TOP_ROWS]]]
            top_codes = [pd.concat(top_codes).reindex(tops[0].index)]
    report = ChunkReport()
    for part in by_label.values():
        report.add(part)
    if not report.rows:
        return EvaluationRun(np.zeros(0, dtype=int), np.zeros(0), np.zeros(0, dtype=np.int8), pd.DataFrame(), np.zeros(0, dtype=int),
                             ChunkReport(), {}, report, labels.label)
    anomalous = labels.anomalous()

    def anomalous_group(group: int) -> bool:
        return group == SURELY_ANOMALOUS or bool(anomalous[group])

    normal = ChunkReport()
    for group, part in by_label.items():
        if not anomalous_group(group):
            normal.add(part)
    normal.hosts = {}
    host_labels = {}
    for name, per_code in hosts.items():
        rows = hit = pd.Series(dtype=np.int64)
        for group, counted in per_code.items():
            rows = rows.add(counted, fill_value=0)
            if anomalous_group(group):
                hit = hit.add(counted, fill_value=0)
        hit = hit.reindex(rows.index, fill_value=0)
        host_labels[name] = {str(h): (int(r), int(b)) for h, r, b in zip(rows.index, rows.to_numpy(), hit.to_numpy())}
    top = tops[0]
    return EvaluationRun(anomalous[np.concatenate(codes)], np.concatenate(scores), np.concatenate(flags), top,
                         anomalous[top_codes[0].reindex(top.index).to_numpy()], normal, host_labels, report, labels.label,
                         values, np.concatenate(by_codes) if values is not None else None)


def score_table(data: str | list[str], model, *, fmt: str | None = None, strict: bool = False, chunk_size: int = 100_000):
    """Score a whole file into memory (for commands that need every score at once): (frame, ScoreRun)."""
    import pandas as pd

    from .drift import check_drift
    from .scoring import ChunkReport, score_chunk
    from .sources import Source, open_source

    source = data if isinstance(data, Source) else open_source(data, fmt, strict=strict, model_names=given_names_of(model),
                                                                 model_events=events_of(model))
    detector = _detector(model)
    parts, report = [], ChunkReport()
    columns = detector.preprocessor_.optional_columns
    for chunk in source.chunks(chunk_size, text=False, columns=columns):
        scored, rep = score_chunk(detector, chunk, strict=strict)
        report.add(rep)
        parts.append(scored)
    frame = pd.concat(parts, ignore_index=True)
    drift = check_drift(detector, report)
    return frame, ScoreRun(report, drift, source.skipped_summary(), detector, read_as=source.describe(frame.columns))
