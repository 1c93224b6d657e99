"""The `vaeguard` command: parses options, calls the library (pipeline.py, Detector), shows results (render.py).

fit and score live here; the day-two commands (evaluate, export, info, calibrate, generate, explain) in
cli_day2.py; what they share (the app, error handling, option types) in cli_common.py.
"""

from __future__ import annotations

import os
import shlex
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

# numpy asks the kernel for transparent huge pages for every large array. A fit touches about a gigabyte
# of new arrays once (the table, its training arrays), and in a virtual machine the first touch of huge
# pages cost about 1.2 ms per MiB against 0.35 in 4 KiB pages (170 MiB: 0.2 s against 0.06), which the
# run never earns back: its passes over those arrays go block by block. A 1M-row fit took 9.1 s instead
# of 10.0 s (means of eleven interleaved runs each), the same peak memory; where huge pages come cheap
# the two differ by milliseconds. Set here, before numpy is imported, for the command only; a value the
# user set is kept.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import typer

from .cli_common import (
    DEFAULT_MODEL_DIR, EncodingOpt, EventsOpt, FormatOpt, JsonOpt, LabelOpt, ModelDir, NamesOpt, PositiveOpt, QuietOpt, StrictOpt, ThreadsOpt, app, check_label_options,
    freeze_imports, handles_errors, parse_hidden, KEEP_FREED_ROWS, keep_freed_memory, open_input, pause_gc, stop_on_sigterm, stopped_by, use_threads,
)
from .defaults import DEFAULTS
from .errors import EXIT_ANOMALIES_FOUND

__all__ = ["app", "main"]

# fit reads a pipe to its end. One whose writer has paused this long, still open, may be `tail -F`, which
# never ends: the user hears so, where the command would otherwise wait in silence (in cron, for good).
FIT_PIPE_WAIT_SECONDS = 5


# ---- fit ---------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def fit(
    data: Annotated[list[str], typer.Argument(help="Table of normal rows (or labelled rows, with --label): CSV, Parquet, Zeek log or JSON lines (gzip, bzip2 or xz too), or - for stdin. "
                                              "Several files of one format (rotated logs: conn.*.log.gz), a folder or a ZIP or tar archive are read as one table.", show_default=False)],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    format: FormatOpt = None,
    names: NamesOpt = None,
    encoding: EncodingOpt = None,
    events: EventsOpt = None,
    ignore: Annotated[
        Optional[list[str]], typer.Option("--ignore", "-i", help="Leave this column out of the model (ids, labels). Repeatable.")
    ] = None,
    role: Annotated[
        Optional[list[str]],
        typer.Option("--role", "-r", help="Set a column's role, COLUMN=ROLE: numeric, categorical, port, ignore, address (its scope: "
                     "private, public...), time (hour of day and day of week), domain (a DNS name's length, labels, digits and "
                     "randomness) or url (a URL's length, depth, parameters, symbols...). Repeatable; overrides the guess shown "
                     "in the table."),
    ] = None,
    label: LabelOpt = None,
    positive: PositiveOpt = None,
    model_type: Annotated[str, typer.Option("--model-type", help="vae (default), ae, dae (denoising) or sparse-ae (L1 on the code).")] = DEFAULTS.model,
    latent_dim: Annotated[int, typer.Option("--latent-dim", help="Size of the latent code z.")] = DEFAULTS.latent_dim,
    hidden: Annotated[str, typer.Option("--hidden", help="Hidden layer sizes of the encoder, comma separated; the decoder mirrors them.")] = ",".join(map(str, DEFAULTS.hidden)),
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Maximum passes over the data. Default: chosen from the row count (about 3,000 updates).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Rows per gradient step. Default: 1024, or 2048 for 100,000 training rows or more.")] = None,
    trim: Annotated[
        float, typer.Option("--trim", help="Share of each batch's worst-fitting rows left out of training (robust to anomalies in the training data); 0 turns it off.")
    ] = DEFAULTS.trim,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = DEFAULTS.lr,
    beta: Annotated[float, typer.Option("--beta", help="Weight of the KL term in the ELBO (1 = the true ELBO).")] = DEFAULTS.beta,
    score: Annotated[
        Optional[str], typer.Option("--score", help="elbo: negative importance-weighted ELBO (VAE default); recon: reconstruction error from the latent mean.")
    ] = None,
    samples: Annotated[int, typer.Option("--samples", help="Importance samples K per row for --score elbo (fixed draws, so scores are deterministic).")] = DEFAULTS.samples,
    fpr: Annotated[Optional[float], typer.Option("--fpr", help="Target false-positive rate on held-out normal rows; sets the threshold. Default 0.01.")] = None,
    contamination: Annotated[
        Optional[float], typer.Option("--contamination", help="Share of anomalies you expect in the training data (scikit-learn's meaning): the threshold flags that share of the held-out rows. Instead of --fpr.")
    ] = None,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Share of rows held out for early stopping and calibration.")] = DEFAULTS.val_fraction,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Train on a uniform sample of at most this many rows, drawn while streaming the file.")] = DEFAULTS.max_rows,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same data and seed give the same model and scores on CPU.")] = DEFAULTS.seed,
    device: Annotated[str, typer.Option("--device", help="auto (a CUDA GPU when present, the default), cpu or cuda. On a GPU the training steps replay as a CUDA graph (VAEGUARD_CUDA_GRAPHS=0 launches them op by op).")] = "auto",
    threads: ThreadsOpt = None,
    strict: StrictOpt = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted fit from its last saved epoch (same data and options).")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read the rows and show the role each column would get, and why, then stop: no training, "
                           "nothing written. --role and --ignore apply, so a large log's roles can be settled before a long fit.")
    ] = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Learn what normal rows look like, calibrate a threshold, and save the model folder."""
    pause_gc()
    from . import render
    from .calibrate import left_out_warning
    from .pipeline import fit_file, read_table_ahead
    from .schema import label_like, parse_roles

    quiet = quiet or json
    con = render.console(quiet)
    check_label_options(label, positive)
    threads_note = use_threads(threads)
    source = open_input(data, format, strict, names, encoding=encoding, events=events)
    if not quiet:
        source.when_waiting(FIT_PIPE_WAIT_SECONDS, lambda: render.warning(
            con, f"{source.name} has given nothing for {FIT_PIPE_WAIT_SECONDS} s and is still open: fit reads a pipe to its end "
                 f"(Ctrl-C stops it). `tail -F` never ends one: give `tail -n 100000 conn.log`, or the file itself"))
    # Until the first epoch ends (reading, roles, encoding, an epoch: a minute on a large log) a spinner
    # says what is happening.
    status = render.Spinner(con, f"reading {source.name}")
    ahead = read_table_ahead(source, max_rows, seed, on_rows=lambda n: status.update(f"reading {source.name}: {n:,} rows"), label=label,
                             positive=positive)
    if dry_run:
        _show_roles(con, source, ahead, status, ignore, role, max_rows, seed, label, positive, json)
        return
    try:
        import torch  # noqa: F401 - training needs it: a second and a half, spent while the reader parses the file

        freeze_imports()

        from .detector import Detector

        detector = Detector(
            model=model_type, latent_dim=latent_dim, hidden=parse_hidden(hidden), epochs=epochs, batch_size=batch_size, lr=lr,
            beta=beta, score=score, samples=samples, fpr=fpr, contamination=contamination, val_fraction=val_fraction,
            seed=seed, device=device, ignore=tuple(ignore or ()), roles=parse_roles(role or ()), strict=strict, trim=trim,
        )
    except BaseException:
        ahead.close()
        status.stop()
        raise
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("epochs"),
        TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), console=con, transient=False,
    )
    task = None
    losses = ""

    def on_read(used: int, total: int, skipped: str) -> None:
        if used < KEEP_FREED_ROWS:
            keep_freed_memory(trim=1 << 30)
        status.update(f"{used:,} row{'s' if used != 1 else ''} read: choosing roles, encoding, first epoch")
        _say_what_was_read(con, source, label, used, total, skipped)

    def on_epoch(rec, total_epochs):
        nonlocal task, losses
        if task is None:  # the bar appears with the first epoch: errors before it print on a clean line
            status.stop()
            progress.start()
            task = progress.add_task("fit", total=total_epochs, losses="")
        losses = f"train {rec.train_loss:.3f}  val {rec.val_loss:.3f}"
        progress.update(task, completed=rec.epoch, losses=losses)

    def on_calibration(done: int, folds: int) -> None:  # a small table: a model per fold, a few seconds
        if task is not None:
            progress.update(task, losses=f"calibrating: {done} of {folds} models of its parts trained")

    try:
        run = fit_file(source, model, detector, max_rows=max_rows, resume=resume, on_epoch=on_epoch, on_read=on_read, ahead=ahead,
                       on_calibration=on_calibration, label=label, positive=positive)
        if task is not None:
            progress.update(task, total=progress.tasks[0].completed, losses=losses)
    finally:
        status.stop()
        if task is not None:  # rich ends even a bar that never started with an empty line (in a log, before the error)
            progress.stop()
    suspects = label_like(detector.schema_)
    if json:
        render.emit_json(render.fit_summary(detector, model, run))
    elif not quiet:
        render.print_fit_summary(con, detector, model, run.rows_used, run.read_as, threads_note, label, run.labelled_anomalous)
    few_held_out = detector.calibration_.small_sample_warning()
    if few_held_out and not quiet:
        render.warning(con, few_held_out)
    left_out = left_out_warning(detector.left_out_kinds_, float(detector.trim))
    if left_out and not quiet:
        render.warning(con, left_out)
    from .train import crowded_warning

    crowded = crowded_warning(detector.history_)
    if crowded and not quiet:
        render.warning(con, crowded)
    if run.unused_label and not quiet:
        name, anomalous = run.unused_label
        render.warning(con, f"column '{name}' calls {anomalous:,} of the {run.rows_used:,} rows anomalous, and fit learned from every row: "
                            f"--label {shlex.quote(name)} fits on the rows it calls normal")
    if suspects and not quiet:
        render.warning(con, _label_suspects_warning(suspects, fitted=True))


def _say_what_was_read(con, source, label, used: int, total: int, skipped: str) -> None:
    """What reading the rows for fit left out: a --max-rows sample, lines that were not rows."""
    from . import render

    if total > used:
        con.print(f"sampled {used:,} of {total:,} rows{' labelled normal' if label else ''} (--max-rows)")
    if skipped:
        render.warning(con, f"{source.name}: {skipped}")


def _label_suspects_warning(suspects: list[str], fitted: bool) -> str:
    """The warning for columns used as features whose name may say they hold the answer (schema.label_like)."""
    many = len(suspects) > 1
    ignore = " ".join(f"--ignore {shlex.quote(s)}" for s in suspects)
    said = f"column{'s' if many else ''} {', '.join(map(shlex.quote, suspects))} look{'' if many else 's'} like a label"
    if fitted:
        return f"{said} but {'were' if many else 'was'} used as a feature; refit with {ignore} unless that is intended"
    return f"{said} and would be used as a feature: {ignore} leaves {'them' if many else 'it'} out"


def _show_roles(con, source, ahead, status, ignore, role, max_rows, seed, label, positive, json) -> None:
    """fit --dry-run: the roles table fit would print, from the same rows, and nothing trained or written."""
    from . import render
    from .pipeline import roles_of_file
    from .schema import label_like, parse_roles

    def on_read(used: int, total: int, skipped: str) -> None:
        _say_what_was_read(con, source, label, used, total, skipped)

    try:
        run = roles_of_file(source, ignore=tuple(ignore or ()), roles=parse_roles(role or ()), max_rows=max_rows, seed=seed, ahead=ahead,
                            label=label, positive=positive, on_read=on_read)
    finally:
        status.stop()
    columns = [s.to_dict() for s in run.schema]
    if json:
        render.emit_json({"dry_run": True, "read_as": run.read_as, "rows_read": run.rows_read, "rows_used": run.rows_used,
                          "skipped": run.skipped, "columns": columns})
        return
    con.print(render.roles_table(columns))
    con.print(f"read as {run.read_as}: {run.rows_used:,} rows. Nothing trained or written (--dry-run): change a role with --role COLUMN=ROLE "
              "or --ignore COLUMN, then fit without --dry-run", soft_wrap=True)
    suspects = label_like(run.schema)
    if suspects:
        render.warning(con, _label_suspects_warning(suspects, fitted=False))


# ---- score -------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def score(
    data: Annotated[list[str], typer.Argument(help="Table to score: CSV, Parquet, Zeek log or JSON lines (gzip, bzip2 or xz too), or - for stdin. "
                                              "Several files of one format, a folder or a ZIP or tar archive are scored into one output, file after file.", show_default=False)],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    out: Annotated[str, typer.Option("--out", "-o", help="Where to write every row with its scores (.csv, .csv.gz, .tsv, .parquet, .log for a Zeek log, or .json for JSON lines, as a SIEM takes them), or - for stdout.")] = "-",
    format: FormatOpt = None,
    names: NamesOpt = None,
    encoding: EncodingOpt = None,
    events: EventsOpt = None,
    out_format: Annotated[Optional[str], typer.Option("--out-format", help="Output format: csv, csv.gz, tsv (tab-separated), tsv.gz, parquet, zeek / zeek.gz (a Zeek TSV log with the input's Zeek types, for zeek-cut) or json / json.gz (JSON lines: an object per row, numbers as numbers, a missing value left out). Default: from the --out extension (.log is zeek; .json, .jsonl and .ndjson are json); stdout is csv.")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows read, scored and written at a time; memory stays bounded by it. "
                                            "Multiples of 4,096 are fastest (the network runs whole batches of 4,096 rows).")] = DEFAULTS.chunk_size,
    only_anomalies: Annotated[bool, typer.Option("--only-anomalies", help="Write only the rows flagged as anomalies.")] = False,
    fail_on_anomaly: Annotated[bool, typer.Option("--fail-on-anomaly", help="Exit with code 1 when any row is flagged (for cron and CI); "
                                                  "a live pipe's run ends at the first pause after one.")] = False,
    fail_on_drift: Annotated[bool, typer.Option("--fail-on-drift", help="Exit with code 1 when far more rows are flagged than the calibration "
                                                "expects (the drift warning): an alarm for change, quiet on the expected --fpr share; "
                                                "a live pipe's run ends at the first pause that shows it.")] = False,
    fail_on_host_drift: Annotated[bool, typer.Option("--fail-on-host-drift", help="Exit with code 1 when some host's own rows drift (the hosts the "
                                                     "warning names, --json's drifting_hosts), though the rows as a whole may not: one infected "
                                                     "host among hundreds; a live pipe's run ends at the first pause that names one.")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu (the default: scoring is I/O-bound) or cuda; auto uses a CUDA GPU when present.")] = "cpu",
    threads: ThreadsOpt = None,
    strict: StrictOpt = False,
    engine: Annotated[
        str, typer.Option("--engine", help="local: stream the file in this process. dask: score a folder or glob of Parquet files "
                          "in parallel on a Dask cluster and write a folder of Parquet files to --out.")
    ] = "local",
    scheduler: Annotated[
        Optional[str], typer.Option("--scheduler", help="With --engine dask: address of a running Dask scheduler (tcp://host:8786). Default: start a local cluster.")
    ] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="With --engine dask and no --scheduler: local worker processes. Default: one per CPU core.")] = None,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Score rows against a trained model: adds anomaly_score, p_value, is_anomaly and top_features."""
    from . import render
    from .errors import ConfigError

    if engine not in ("local", "dask"):
        raise ConfigError(f"--engine must be local or dask; got '{engine}'")
    if engine == "local" and (scheduler or workers):
        raise ConfigError("--scheduler and --workers go with --engine dask")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {workers}")
    if engine == "dask":
        if len(data) > 1:
            raise ConfigError("--engine dask takes one folder or one quoted glob of Parquet files ('flows/*.parquet')")
        return _score_dask(data[0], model, out, scheduler, workers, only_anomalies, fail_on_anomaly, fail_on_drift, fail_on_host_drift, strict,
                           quiet, json)
    if json and out == "-":
        raise ConfigError("--json prints a summary to stdout, so the scored rows need a file: add --out scored.csv")
    use_threads(threads)
    pause_gc()
    keep_freed_memory()
    quiet = quiet or json
    con = render.console(quiet)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .io import output_format
    from .pipeline import check_not_input, read_ahead, score_file

    # Everything that can go wrong with the options, the input or the model fails before the progress display.
    output_format(out, out_format)
    source = open_input(data, format, strict, names, model, encoding, events)
    check_not_input(out, source)
    ahead = read_ahead(source, chunk_size) if chunk_size >= 1 else None
    try:
        from .detector import Detector  # no torch: scoring on the CPU runs the network in numpy

        detector = Detector.load(model, device=device)
    except BaseException:
        if ahead is not None:
            ahead.close()
        raise
    freeze_imports()  # as fit does: pandas' and pyarrow's objects out of the collector (0.15 s per 1M rows)

    def alarm(flagged: int, drift) -> str:
        return _alarm(flagged, drift, fail_on_anomaly, fail_on_drift, fail_on_host_drift)

    stopped_at = [""]  # the alarm a live pipe's latest pause saw: its window's drift, not the whole run's

    def until(report, drift) -> bool:
        stopped_at[0] = alarm(report.flagged, drift)
        return bool(stopped_at[0])

    progress = Progress(SpinnerColumn(), TextColumn("scoring"), TextColumn("{task.completed:,.0f} rows"), TimeElapsedColumn(),
                        console=con, transient=True)
    # The spinner only on a terminal: in a log it shows nothing, and rich ends it there with an empty
    # line, which came ahead of the summary or of an error meant to be one line.
    with progress if con.is_interactive else nullcontext():
        task = progress.add_task("score", total=None)
        run = score_file(source, detector, out, out_format=out_format, chunk_size=chunk_size, only_anomalies=only_anomalies,
                         strict=strict, on_rows=lambda n: progress.update(task, advance=n), ahead=ahead,
                         on_drift=None if quiet else lambda told: render.print_live_drift(con, told),
                         on_bad_lines=None if quiet else lambda text: render.warning(con, text),
                         until=until)
    if run.report.rows == 0 and not quiet:
        render.warning(con, f"'{source.name}' has a header but no rows; the output holds the header only")
    if run.not_numbers and not quiet:
        lost = ", ".join(f"{c} ({n:,})" for c, n in run.not_numbers.items())
        render.warning(con, f"values that do not fit their column's number type (set by the first rows) were written to "
                            f"the Parquet output as nulls: {lost}; write CSV (--out-format csv) to keep every value as written")
    if json:
        render.emit_json(render.score_summary(detector, run, out))
    elif not quiet:
        render.print_score_summary(con, detector, run, out)
    if run.until_met and not quiet:
        render.warning(con, f"stopped reading the pipe at {stopped_at[0]}: its {run.report.rows:,} rows so far are scored and written")
    if run.interrupted is not None:
        how, code = stopped_by(run.interrupted)
        if not quiet:
            render.warning(con, f"{how}: the {run.report.rows:,} rows read from the pipe so far are scored and written")
        raise typer.Exit(code)
    if run.until_met or alarm(run.report.flagged, run.drift):
        raise typer.Exit(EXIT_ANOMALIES_FOUND)


def _alarm(flagged: int, drift, fail_on_anomaly: bool, fail_on_drift: bool, fail_on_host_drift: bool) -> str:
    """Why score's exit code is 1 ('' where it is not): what the --fail-on-* options asked to hear of, in
    either engine."""
    if fail_on_anomaly and flagged:
        return "a row was flagged (--fail-on-anomaly)"
    if fail_on_drift and drift.drift:
        return "drift (--fail-on-drift)"
    if fail_on_host_drift and drift.drifting_hosts:
        return f"drift on host {drift.drifting_hosts[0]['host']} (--fail-on-host-drift)"
    return ""


def _score_dask(data, model, out, scheduler, workers, only_anomalies, fail_on_anomaly, fail_on_drift, fail_on_host_drift, strict, quiet,
                json) -> None:
    from . import render
    from .dask import score_files
    from .errors import ConfigError

    if out == "-":
        raise ConfigError("--engine dask writes a folder of Parquet files: add --out scored/")
    quiet = quiet or json
    con = render.console(quiet)
    with con.status(f"scoring on {'the Dask cluster at ' + scheduler if scheduler else 'a local Dask cluster'}"):
        summary = score_files(data, model, out, scheduler, workers, only_anomalies, strict, quiet)
    drift, report = summary.drift, summary.report
    if json:
        render.emit_json({"rows": summary.rows, "flagged": summary.flagged, "partitions": summary.partitions, "workers": summary.workers, "out": out,
                          **render.drift_fields(drift), **render.evidence_fields(report)})
    elif not quiet:
        t = render.counts_table("score (dask)", summary.rows, summary.flagged)
        render.add_evidence(t, report)
        render.add_hosts(t, drift)
        t.add_row("partitions / workers", f"{summary.partitions} / {summary.workers}")
        t.add_row("written to", f"{out} (Parquet files)")
        con.print(t)
        render.print_drift(con, drift)
    if _alarm(summary.flagged, drift, fail_on_anomaly, fail_on_drift, fail_on_host_drift):
        raise typer.Exit(EXIT_ANOMALIES_FOUND)



from . import cli_day2  # noqa: E402,F401 - registers the day-two commands after fit and score


def main() -> None:
    from . import cli_common

    cli_common.OWN_PROCESS = True
    stop_on_sigterm()
    try:
        app()
    except BrokenPipeError:
        os._exit(0)
    except SystemExit as e:
        if e.code in (130, 143) or _quick_exit_safe(e.code) or _read_a_live_pipe():
            _leave(e.code)
        raise


def _quick_exit_safe(code) -> bool:
    """Whether a finished command may leave without Python's shutdown: it has nothing left to do, and with
    torch loaded (fit, a GPU score, explain) the shutdown alone took 0.6 s (torch's own teardown). Not with
    Dask loaded, whose worker processes are stopped by its own exit hooks should a close have failed."""
    import sys

    return (code is None or isinstance(code, int)) and "torch" in sys.modules and "distributed" not in sys.modules


def _read_a_live_pipe() -> bool:
    """Whether the command read a pipe that may be written live: its reader thread may still be blocked on
    it (a run stopped at --fail-on-drift, an error part way), and Python's shutdown would wait on that
    thread for as long as the pipe's writer lives."""
    import sys

    streams = sys.modules.get("vaeguard.streams")
    return streams is not None and streams.LiveInput.opened


def _leave(code) -> None:
    """Leave now, outputs already closed. For 130 and 143 (interrupted, terminated) this is also what keeps
    Python's shutdown from aborting (SIGABRT, exit -6) on a reader thread blocked on a stdin its writer holds
    open."""
    import sys

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
