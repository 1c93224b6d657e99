"""The `vaeguard` command: parses options, calls the library (pipeline.py, Detector), shows results (render.py).

Heavy libraries (torch, pandas) are imported inside the commands so `vaeguard --help` starts instantly.
Every option can also come from the environment as VAEGUARD_<COMMAND>_<OPTION> (the long option's name,
upper case, '-' as '_'), and the model folder as VAEGUARD_MODEL.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .defaults import DEFAULTS
from .errors import EXIT_ANOMALIES_FOUND, EXIT_INTERNAL, EXIT_USAGE, ParamError, VaeguardError

HELP = f"""vaeguard {__version__}: learn what normal rows of a table look like with a Variational
Autoencoder, then flag the rows that do not fit.

\b
  vaeguard fit flows.csv --model model/
  vaeguard score new.csv --model model/ --out flagged.csv
  vaeguard fit conn.log --model zeek/   (Zeek, Suricata logs as they are)

\b
Exit codes: 0 success; 1 `score --fail-on-anomaly` found anomalies;
2 usage or input error (bad file, missing column, corrupt model, unwritable path); 3 internal error.
"""

app = typer.Typer(
    help=HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "VAEGUARD"},
)

DEFAULT_MODEL_DIR = "vaeguard-model"
# Python parameter names -> the flags that set them, so library errors name the flag in the CLI.
FLAGS = {"model": "--model-type", "n": "--rows"}


def _fail(message: str, code: int) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(message.strip())}")
    raise typer.Exit(code)


def handles_errors(fn):
    """Turn user errors into one line on stderr and an exit code; never show a traceback unless asked."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ParamError as e:
            _fail(e.with_name(FLAGS.get(e.param, "--" + e.param.replace("_", "-"))), e.exit_code)
        except VaeguardError as e:
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            hint = " (fit: run the same command with --resume to continue from the last saved epoch)" if fn.__name__ == "fit" else ""
            _fail(f"interrupted; no output file was written{hint}", 130)
        except BrokenPipeError:
            # Downstream (e.g. `| head`) closed the pipe: not an error worth a traceback.
            os._exit(0)
        except MemoryError:
            _fail("out of memory; lower --chunk-size (score) or --max-rows (fit)", EXIT_INTERNAL)
        except OSError as e:  # permissions, a full disk, a path that is a file: the user's to fix
            where = f"'{e.filename}': " if e.filename else ""
            _fail(f"cannot use {where}{e.strerror or e}; check the path and its permissions", EXIT_USAGE)
        except Exception as e:  # noqa: BLE001 - last line of defence, by design
            if os.environ.get("VAEGUARD_DEBUG"):
                raise
            _fail(f"internal error: {type(e).__name__}: {e} (set VAEGUARD_DEBUG=1 to see the traceback)", EXIT_INTERNAL)

    return wrapper


def _version_callback(ctx: typer.Context, value: bool) -> None:
    # Never from the environment: VAEGUARD_VERSION=1 must not turn every cron run into a no-op.
    # (By name: typer may carry its own copy of click's ParameterSource.)
    if value and getattr(ctx.get_parameter_source("version"), "name", "") != "ENVIRONMENT":
        typer.echo(f"vaeguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_version_callback, is_eager=True, show_envvar=False)] = False,
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config", envvar="VAEGUARD_CONFIG",
            help="TOML file of option defaults: top-level keys apply to every command, \\[fit] or \\[score] tables to one command. "
            "Flags and VAEGUARD_* environment variables win over it.",
        ),
    ] = None,
) -> None:
    if config is not None:
        from .config import config_defaults

        try:
            ctx.default_map = config_defaults(config, ctx.command)
        except VaeguardError as e:
            _fail(str(e), e.exit_code)


# ---- shared option types ---------------------------------------------------------------------------
ModelDir = Annotated[Path, typer.Option("--model", "-m", help="Model folder (written by fit, read by the other commands).", envvar="VAEGUARD_MODEL")]
ModelDirArg = Annotated[Path, typer.Argument(help="Model folder written by fit.", envvar="VAEGUARD_MODEL")]
FormatOpt = Annotated[
    Optional[str],
    typer.Option("--format", help="Input format: csv (delimiter sniffed), parquet, zeek (TSV log) or json (Zeek JSON, "
                 "Suricata eve.json). Default: read from the file's first bytes; gzip is detected too."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, tables or warnings; errors still go to stderr.")]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Stop with exit 2 on text in a numeric column or a malformed log line, instead of scoring "
                       "the value as malformed (improbable) or skipping the line and counting it.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object of results to stdout instead of tables (implies --quiet).")]
DataArg = Annotated[str, typer.Argument(help="Table: CSV, Parquet, Zeek log or JSON lines (gzip too), or - for stdin.")]


def _parse_hidden(text: str) -> tuple[int, ...]:
    from .errors import ConfigError

    try:
        sizes = tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise ConfigError(f"--hidden takes layer sizes separated by commas, such as 64,32; got '{text}'") from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"--hidden takes positive layer sizes such as 64,32; got '{text}'")
    return sizes


# ---- fit ---------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def fit(
    data: Annotated[str, typer.Argument(help="Table of normal rows: CSV, Parquet, Zeek log or JSON lines (gzip too), or - for stdin.")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    format: FormatOpt = None,
    ignore: Annotated[
        Optional[list[str]], typer.Option("--ignore", "-i", help="Leave this column out of the model (ids, labels). Repeatable.")
    ] = None,
    role: Annotated[
        Optional[list[str]],
        typer.Option("--role", "-r", help="Set a column's role, COLUMN=ROLE: numeric, categorical, port, ignore, address (its scope: "
                     "private, public...) or time (hour of day and day of week). Repeatable; overrides the guess shown in the table."),
    ] = None,
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
    device: Annotated[str, typer.Option("--device", help="auto (a CUDA GPU when present, the default), cpu or cuda.")] = "auto",
    strict: StrictOpt = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted fit from its last saved epoch (same data and options).")] = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Learn what normal rows look like, calibrate a threshold, and save the model folder."""
    from . import render
    from .detector import Detector
    from .pipeline import fit_file
    from .schema import label_like, parse_roles

    quiet = quiet or json
    con = render.console(quiet)
    detector = Detector(
        model=model_type, latent_dim=latent_dim, hidden=_parse_hidden(hidden), epochs=epochs, batch_size=batch_size, lr=lr,
        beta=beta, score=score, samples=samples, fpr=fpr, contamination=contamination, val_fraction=val_fraction,
        seed=seed, device=device, ignore=tuple(ignore or ()), roles=parse_roles(role or ()), strict=strict, trim=trim,
    )
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("epochs"),
        TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), console=con, transient=False,
    )
    task = None

    def on_read(used: int, total: int, skipped: str) -> None:
        if total > used:
            con.print(f"sampled {used:,} of {total:,} rows (--max-rows)")
        if skipped:
            render.warning(con, f"{data}: {skipped}")

    def on_epoch(rec, total_epochs):
        nonlocal task
        if task is None:  # the bar appears with the first epoch: errors before it print on a clean line
            progress.start()
            task = progress.add_task("fit", total=total_epochs, losses="")
        progress.update(task, completed=rec.epoch, losses=f"train {rec.train_loss:.3f}  val {rec.val_loss:.3f}")

    try:
        run = fit_file(data, model, detector, fmt=format, max_rows=max_rows, resume=resume, on_epoch=on_epoch, on_read=on_read)
        if task is not None:
            progress.update(task, total=progress.tasks[0].completed)
    finally:
        progress.stop()
    suspects = label_like(detector.schema_)
    if json:
        render.emit_json(render.fit_summary(detector, model, run))
    elif not quiet:
        render.print_fit_summary(con, detector, model, run.rows_used)
    if suspects and not quiet:
        render.warning(con, f"column{'s' if len(suspects) > 1 else ''} {', '.join(suspects)} look{'s' if len(suspects) == 1 else ''} like "
                            f"a label but {'were' if len(suspects) > 1 else 'was'} used as a feature; refit with "
                            + " ".join(f"--ignore {s}" for s in suspects) + " unless that is intended")


# ---- score -------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def score(
    data: Annotated[str, typer.Argument(help="Table to score: CSV, Parquet, Zeek log or JSON lines (gzip too), or - for stdin.")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    out: Annotated[str, typer.Option("--out", "-o", help="Where to write every row with its scores (.csv, .csv.gz, .parquet), or - for stdout.")] = "-",
    format: FormatOpt = None,
    out_format: Annotated[Optional[str], typer.Option("--out-format", help="Output format: csv, csv.gz or parquet. Default: from the --out extension.")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows read, scored and written at a time; memory stays bounded by it.")] = DEFAULTS.chunk_size,
    only_anomalies: Annotated[bool, typer.Option("--only-anomalies", help="Write only the rows flagged as anomalies.")] = False,
    fail_on_anomaly: Annotated[bool, typer.Option("--fail-on-anomaly", help="Exit with code 1 when any row is flagged (for cron and CI).")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu (the default: scoring is I/O-bound) or cuda; auto uses a CUDA GPU when present.")] = "cpu",
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
        return _score_dask(data, model, out, scheduler, workers, only_anomalies, fail_on_anomaly, strict, quiet, json)
    if json and out == "-":
        raise ConfigError("--json prints a summary to stdout, so the scored rows need a file: add --out scored.csv")
    quiet = quiet or json
    con = render.console(quiet)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .detector import Detector
    from .io import output_format
    from .pipeline import score_file
    from .sources import open_source

    # Everything that can go wrong with the options, the input or the model fails before the progress display.
    output_format(out, out_format)
    source = open_source(data, format, strict=strict)
    detector = Detector.load(model, device=device)
    progress = Progress(SpinnerColumn(), TextColumn("scoring"), TextColumn("{task.completed:,.0f} rows"), TimeElapsedColumn(),
                        console=con, transient=True)
    with progress:
        task = progress.add_task("score", total=None)
        run = score_file(source, detector, out, out_format=out_format, chunk_size=chunk_size, only_anomalies=only_anomalies,
                         strict=strict, on_rows=lambda n: progress.update(task, advance=n))
    if run.report.rows == 0 and not quiet:
        render.warning(con, f"'{data}' has a header but no rows; the output holds the header only")
    if json:
        render.emit_json(render.score_summary(detector, run, out))
    elif not quiet:
        render.print_score_summary(con, detector, run, out)
    if fail_on_anomaly and run.report.flagged:
        raise typer.Exit(EXIT_ANOMALIES_FOUND)


def _score_dask(data, model, out, scheduler, workers, only_anomalies, fail_on_anomaly, strict, quiet, json) -> None:
    from . import render
    from .dask import score_files
    from .errors import ConfigError

    if out == "-":
        raise ConfigError("--engine dask writes a folder of Parquet files: add --out scored/")
    quiet = quiet or json
    con = render.console(quiet)
    with con.status(f"scoring on {'the Dask cluster at ' + scheduler if scheduler else 'a local Dask cluster'}"):
        summary = score_files(data, model, out, scheduler, workers, only_anomalies, strict, quiet)
    if json:
        render.emit_json({"rows": summary.rows, "flagged": summary.flagged, "partitions": summary.partitions, "workers": summary.workers, "out": out})
    elif not quiet:
        t = render.counts_table("score (dask)", summary.rows, summary.flagged)
        t.add_row("partitions / workers", f"{summary.partitions} / {summary.workers}")
        t.add_row("written to", f"{out} (Parquet files)")
        con.print(t)
    if fail_on_anomaly and summary.flagged:
        raise typer.Exit(EXIT_ANOMALIES_FOUND)


# ---- evaluate ----------------------------------------------------------------------------------------
@app.command()
@handles_errors
def evaluate(
    data: Annotated[str, typer.Argument(help="Labelled table: CSV, Parquet, Zeek log or JSON lines (gzip too), or - for stdin.")],
    label: Annotated[str, typer.Option("--label", "-l", help="Column holding the true label (it need not be ignored at fit: it is never used to score).")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    positive: Annotated[Optional[str], typer.Option("--positive", help="Label value that means anomaly. Default: 1/true, or anything other than normal/benign/0.")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Folder for report.html (one self-contained page), the PNG plots (score histogram, ROC, precision-recall) and metrics.json.")] = None,
    format: FormatOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Measure detection against known labels: ROC-AUC, PR-AUC, precision, recall, F1, confusion matrix, drift."""
    from . import render
    from .detector import Detector
    from .errors import InputError
    from .evaluate import label_vector, metrics, write_report
    from .pipeline import score_table

    quiet = quiet or json
    con = render.console(quiet)
    from .sources import open_source

    source = open_source(data, format, strict=strict)
    detector = Detector.load(model)
    with con.status(f"scoring {data}"):
        scored, run = score_table(source, detector, strict=strict)
    if label not in scored.columns:
        raise InputError(f"label column '{label}' is not in the table; columns: {', '.join(map(str, scored.columns[:30]))}")
    y = label_vector(scored[label], positive)
    result = metrics(y, scored["anomaly_score"].to_numpy(), scored["is_anomaly"].to_numpy())
    result["threshold"] = detector.calibration_.threshold
    result["drift"] = run.drift.to_dict()
    if report is not None:
        result["report_files"] = [str(p) for p in write_report(report, y, scored["anomaly_score"].to_numpy(), detector.calibration_.threshold,
                                                               result, scored)]
    if json:
        render.emit_json(result)
        return
    render.print_evaluation(con, result)
    render.print_drift(con, run.drift)
    if report is not None:
        con.print(f"report written to {report}")


# ---- export ------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def export(
    model_dir: ModelDirArg = Path(DEFAULT_MODEL_DIR),
    onnx: Annotated[Optional[Path], typer.Option("--onnx", help="Write the scoring graph (preprocessed inputs -> per-row score) as ONNX to this file.")] = None,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Export the model for runtimes without Python and torch; the result is checked against torch with onnxruntime."""
    from . import render
    from .detector import Detector
    from .errors import ConfigError

    if onnx is None:
        raise ConfigError("say what to export: --onnx model.onnx")
    from .export import export_onnx

    checked = export_onnx(Detector.load(model_dir), onnx)
    if json:
        render.emit_json({"onnx": str(onnx), **checked})
    elif not quiet:
        render.console().print(f"wrote {onnx}; onnxruntime matches torch on {checked['rows_checked']} generated rows "
                               f"(largest relative difference {checked['max_rel_diff']:.1e})")


# ---- info --------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def info(
    model_dir: ModelDirArg = Path(DEFAULT_MODEL_DIR),
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also write the training curve as a PNG to this path.")] = None,
    json: JsonOpt = False,
) -> None:
    """Describe a model: columns and roles, hyper-parameters, training curve, threshold, versions."""
    from . import render
    from .checkpoint import read_manifest
    from .detector import Detector

    detector = Detector.load(model_dir)
    m = read_manifest(model_dir)
    cal = detector.calibration_
    summary = {
        "model_dir": str(model_dir), "vaeguard_version": m["vaeguard_version"], "format_version": m["format_version"],
        "created": m.get("created"), "model": m["model"], "score": m["scoring"]["score"], "samples": m["scoring"]["samples"],
        "columns": m["schema"], "training": {k: v for k, v in m["training"].items() if k != "history"},
        "history": m["training"]["history"], "threshold": cal.threshold,
        "calibration": {"mode": cal.mode, "target": cal.target, "rows": len(cal.scores)},
        "calibration_history": detector.calibration_history_,
    }
    if plot is not None:
        render.plot_history(m["training"]["history"], plot)
        summary["plot"] = str(plot)
    if json:
        render.emit_json(summary)
        return
    con = render.console()
    render.print_info(con, m, detector)
    if plot is not None:
        con.print(f"training curve written to {plot}")


# ---- calibrate ---------------------------------------------------------------------------------------
@app.command()
@handles_errors
def calibrate(
    data: Annotated[str, typer.Argument(help="Fresh normal rows: CSV, Parquet, Zeek log or JSON lines (gzip too), or - for stdin.")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    fpr: Annotated[Optional[float], typer.Option("--fpr", help="Target false-positive rate on these rows. Default: the model's current setting.")] = None,
    contamination: Annotated[Optional[float], typer.Option("--contamination", help="Share of anomalies you expect in these rows, instead of --fpr.")] = None,
    format: FormatOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Move the threshold using fresh normal rows, without retraining; the old one is kept in the history."""
    from . import render
    from .detector import Detector
    from .sources import open_source, read_table

    con = render.console(quiet or json)
    detector = Detector.load(model)
    detector.strict = strict
    df, _ = read_table(open_source(data, format, strict=strict))
    old = detector.calibration_.threshold
    new = detector.recalibrate(df, fpr=fpr, contamination=contamination)
    detector.save(model)
    result = {"rows": len(df), "old_threshold": old, "threshold": new.threshold, "mode": new.mode, "target": new.target}
    if json:
        render.emit_json(result)
    else:
        con.print(f"threshold {old:.4f} -> {new.threshold:.4f} ({new.mode} {new.target:g} on {len(df):,} rows); saved to {model}")


# ---- generate ----------------------------------------------------------------------------------------
@app.command()
@handles_errors
def generate(
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    rows: Annotated[int, typer.Option("--rows", "-n", help="How many rows to draw.")] = 1000,
    out: Annotated[str, typer.Option("--out", "-o", help="Output file (.csv, .csv.gz, .parquet) or - for stdout.")] = "-",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed for the draws. Default: the model's seed.")] = None,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Draw synthetic rows from the prior through the decoder, in the original units and categories."""
    from . import render
    from .detector import Detector
    from .errors import ConfigError
    from .io import AtomicTableWriter

    if json and out == "-":
        raise ConfigError("--json prints a summary to stdout, so the rows need a file: add --out synthetic.csv")
    detector = Detector.load(model)
    df = detector.sample(rows, seed=seed)
    with AtomicTableWriter(out) as writer:
        writer.write(df)
    if json:
        render.emit_json({"rows": len(df), "columns": list(df.columns), "out": out})
    elif not quiet and out != "-":
        render.console().print(f"wrote {len(df):,} synthetic rows to {out}")


# ---- explain -----------------------------------------------------------------------------------------
@app.command()
@handles_errors
def explain(
    data: Annotated[str, typer.Argument(help="Table holding the row: CSV, Parquet, Zeek log or JSON lines (gzip too), or - for stdin.")],
    row: Annotated[int, typer.Option("--row", "-r", help="Row number to explain (0 = the first data row).")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    format: FormatOpt = None,
    strict: StrictOpt = False,
    json: JsonOpt = False,
) -> None:
    """Show each column's contribution to one row's score, with the value the model expected there."""
    from . import render
    from .detector import Detector
    from .errors import InputError
    from .sources import open_source

    detector = Detector.load(model)
    detector.strict = strict
    if row < 0:
        raise InputError(f"--row must be 0 or more; got {row}")
    seen, picked = 0, None
    source = open_source(data, format, strict=strict)
    for chunk in source.chunks(columns=detector.preprocessor_.optional_columns):
        if row < seen + len(chunk):
            picked = chunk.iloc[[row - seen]]
            break
        seen += len(chunk)
    if picked is None:
        raise InputError(f"--row {row} is past the end of '{data}' ({seen:,} rows; the first is row 0)")
    scored = detector.score_frame(picked).iloc[0]
    table = detector.explain(picked)[0]
    if json:
        render.emit_json({
            "row": row, "anomaly_score": float(scored["anomaly_score"]), "p_value": float(scored["p_value"]),
            "is_anomaly": int(scored["is_anomaly"]), "threshold": detector.calibration_.threshold,
            "columns": table.to_dict(orient="records"),
        })
        return
    render.print_explanation(render.console(), row, scored, table, detector.calibration_.threshold)


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        os._exit(0)


if __name__ == "__main__":
    main()
