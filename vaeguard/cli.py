"""The `vaeguard` command: parses options, calls the API, prints tables to stderr. No logic of its own.

Heavy libraries (torch, pandas) are imported inside the commands so `vaeguard --help` starts instantly.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import EXIT_ANOMALIES_FOUND, EXIT_INTERNAL, EXIT_USAGE, VaeguardError

HELP = f"""vaeguard {__version__}: learn what normal rows of a table look like with a Variational
Autoencoder, then flag the rows that do not fit.

\b
  vaeguard fit flows.csv --model model/
  vaeguard score new.csv --model model/ --out flagged.csv

\b
Exit codes: 0 success; 1 `score --fail-on-anomaly` found anomalies;
2 usage or input error (bad file, missing column, corrupt model); 3 internal error.
"""

app = typer.Typer(
    help=HELP,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Every option can also come from the environment: VAEGUARD_<COMMAND>_<OPTION>, e.g. VAEGUARD_FIT_EPOCHS.
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "VAEGUARD"},
)

DEFAULT_MODEL_DIR = "vaeguard-model"
IN_PROGRESS = "in-progress"


def _console(quiet: bool = False):
    from rich.console import Console

    return Console(stderr=True, quiet=quiet, highlight=False)


def _fail(message: str, code: int) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def handles_errors(fn):
    """Turn user errors into one line on stderr and an exit code; never show a traceback unless asked."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except VaeguardError as e:
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; no output file was written", 130)
        except BrokenPipeError:
            # Downstream (e.g. `| head`) closed the pipe: not an error worth a traceback.
            os._exit(0)
        except MemoryError:
            _fail("out of memory; lower --chunk-size (score) or --max-rows (fit)", EXIT_INTERNAL)
        except Exception as e:  # noqa: BLE001 - last line of defence, by design
            if os.environ.get("VAEGUARD_DEBUG"):
                raise
            _fail(f"internal error: {type(e).__name__}: {e} (set VAEGUARD_DEBUG=1 to see the traceback)", EXIT_INTERNAL)

    return wrapper


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"vaeguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version_callback, is_eager=True)
    ] = False,
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config",
            help="TOML file of option defaults: top-level keys apply to every command, [fit]/[score]/... tables to one. "
            "Command-line flags and VAEGUARD_* environment variables win over it.",
            envvar="VAEGUARD_CONFIG",
        ),
    ] = None,
) -> None:
    if config is not None:
        try:
            ctx.default_map = _config_defaults(config, ctx.command)
        except VaeguardError as e:
            _fail(str(e), e.exit_code)


def _config_defaults(path: Path, group) -> dict:
    """Turn a TOML file into click's default_map: {"fit": {"epochs": 50, ...}, "score": {...}}."""
    import tomllib

    from .errors import ConfigError

    if not path.exists():
        raise ConfigError(f"config file '{path}' not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file '{path}' is not valid TOML: {e}") from None
    commands = group.commands
    shared = {k: v for k, v in data.items() if not isinstance(v, dict)}
    unknown_tables = [k for k, v in data.items() if isinstance(v, dict) and k not in commands]
    if unknown_tables:
        raise ConfigError(f"config file '{path}': unknown section [{unknown_tables[0]}]; sections: {', '.join(sorted(commands))}")
    result: dict[str, dict] = {}
    for name, cmd in commands.items():
        opts = {o.lstrip("-").replace("-", "_"): p.name for p in cmd.params for o in getattr(p, "opts", []) if o.startswith("--")}
        chosen = {}
        for key, value in shared.items():
            norm = key.replace("-", "_")
            if norm in opts:
                chosen[opts[norm]] = value
        for key, value in data.get(name, {}).items():
            norm = key.replace("-", "_")
            if norm not in opts:
                raise ConfigError(
                    f"config file '{path}': [{name}] has no option '{key}'; options: {', '.join(sorted(k for k in opts if k not in ('help',)))}"
                )
            chosen[opts[norm]] = value
        if chosen:
            result[name] = chosen
    unused = [k for k in shared if not any(k.replace("-", "_") in {o.lstrip("-").replace("-", "_") for p in c.params for o in getattr(p, "opts", [])} for c in commands.values())]
    if unused:
        raise ConfigError(f"config file '{path}': no command has an option '{unused[0]}'")
    return result


# ---- shared option types ---------------------------------------------------------------------------
ModelDir = Annotated[
    Path,
    typer.Option("--model", "-m", help="Model folder (written by fit, read by score).", envvar="VAEGUARD_MODEL"),
]
ModelDirArg = Annotated[Path, typer.Argument(help="Model folder written by fit.", envvar="VAEGUARD_MODEL")]
FormatOpt = Annotated[
    Optional[str],
    typer.Option("--format", help="Input format: csv, csv.gz or parquet. Default: from the file extension."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or tables; errors still go to stderr.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto (a GPU when present), cpu or cuda.")]
CoerceOpt = Annotated[
    bool,
    typer.Option("--coerce", help="Treat text found in numeric columns as missing values instead of stopping with an error."),
]


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object of results to stdout instead of tables (implies --quiet).")
]


def _emit_json(obj: dict) -> None:
    import json

    sys.stdout.write(json.dumps(obj, indent=1, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


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
    data: Annotated[str, typer.Argument(help="Table of normal rows: .csv, .csv.gz, .parquet, or - for CSV on stdin.")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    fmt: FormatOpt = None,
    ignore: Annotated[
        Optional[list[str]],
        typer.Option("--ignore", "-i", help="Leave this column out of the model (ids, timestamps, labels). Repeatable."),
    ] = None,
    model_type: Annotated[
        str, typer.Option("--model-type", help="vae (default), ae, dae (denoising) or sparse-ae (L1 on the code).")
    ] = "vae",
    latent_dim: Annotated[int, typer.Option("--latent-dim", help="Size of the latent code z.")] = 8,
    hidden: Annotated[str, typer.Option("--hidden", help="Hidden layer sizes of the encoder, comma separated; the decoder mirrors them.")] = "64,32",
    epochs: Annotated[
        Optional[int], typer.Option("--epochs", help="Maximum passes over the data. Default: chosen from the row count (about 3,000 updates).")
    ] = None,
    batch_size: Annotated[
        Optional[int], typer.Option("--batch-size", help="Rows per gradient step. Default: 1024, or 2048 for 100,000 training rows or more.")
    ] = None,
    trim: Annotated[
        float, typer.Option("--trim", help="Share of each batch's worst-fitting rows left out of training (robust to anomalies in the training data); 0 turns it off.")
    ] = 0.05,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-3,
    beta: Annotated[float, typer.Option("--beta", help="Weight of the KL term in the ELBO (1 = the true ELBO).")] = 1.0,
    score: Annotated[
        Optional[str],
        typer.Option("--score", help="elbo: negative importance-weighted ELBO (VAE default); recon: reconstruction error from the latent mean."),
    ] = None,
    samples: Annotated[int, typer.Option("--samples", help="Importance samples K per row for --score elbo (fixed draws, so scores are deterministic).")] = 4,
    fpr: Annotated[
        Optional[float], typer.Option("--fpr", help="Target false-positive rate on held-out normal rows; sets the threshold. Default 0.01.")
    ] = None,
    contamination: Annotated[
        Optional[float], typer.Option("--contamination", help="Expected share of anomalies in the training data; sets the threshold instead of --fpr.")
    ] = None,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Share of rows held out for early stopping and calibration.")] = 0.1,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Train on a uniform sample of at most this many rows, drawn while streaming the file.")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same data and seed give the same model and scores on CPU.")] = 0,
    device: DeviceOpt = "auto",
    coerce: CoerceOpt = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted fit from its last saved epoch (same data and options).")
    ] = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Learn what normal rows look like, calibrate a threshold, and save the model folder."""
    from .errors import ConfigError

    quiet = quiet or json_out
    console = _console(quiet)
    if max_rows < 10:
        raise ConfigError(f"--max-rows must be at least 10; got {max_rows}")
    from .detector import Detector
    from .io import read_table

    with console.status(f"reading {data}"):
        df, total = read_table(data, fmt, max_rows=max_rows, seed=seed)
    if len(df) == 0:
        raise VaeguardError(f"'{data}' has a header but no rows; nothing to learn from")
    guard = Detector(
        model=model_type, latent_dim=latent_dim, hidden=_parse_hidden(hidden), epochs=epochs, batch_size=batch_size, lr=lr,
        beta=beta, score=score, samples=samples, fpr=fpr, contamination=contamination, val_fraction=val_fraction,
        seed=seed, device=device, ignore=tuple(ignore or ()), coerce=coerce, trim=trim,
    )
    guard._check_params()
    if total > len(df):
        console.print(f"sampled {len(df):,} of {total:,} rows (--max-rows)")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("epochs"),
        TextColumn("{task.fields[losses]}"), TimeElapsedColumn(), console=console, transient=False,
    )
    task = None

    def on_epoch(rec, total_epochs):
        nonlocal task
        if task is None:
            task = progress.add_task("fit", total=total_epochs, losses="")
        progress.update(task, completed=rec.epoch, losses=f"train {rec.train_loss:.3f}  val {rec.val_loss:.3f}")

    # The best epoch so far is saved beside the model, not over it: an interrupted fit leaves any
    # previous model in `model` intact.
    in_progress = model / IN_PROGRESS
    if resume and not (in_progress / "manifest.json").exists():
        raise ConfigError(f"nothing to resume: '{in_progress}' holds no interrupted fit; run fit without --resume")
    with progress:
        guard.fit(df, on_epoch=on_epoch, checkpoint_dir=in_progress, resume=in_progress if resume else None)
        if task is not None:
            progress.update(task, total=progress.tasks[0].completed)
    guard.save(model)
    shutil.rmtree(in_progress, ignore_errors=True)
    if json_out:
        _emit_json(_fit_summary(guard, model, len(df), total))
    elif not quiet:
        _print_fit_summary(console, guard, model, len(df))


def _fit_summary(guard, model_dir: Path, rows: int, total: int) -> dict:
    h, cal = guard.history_, guard.calibration_
    return {
        "model_dir": str(model_dir), "rows_read": total, "rows_used": rows,
        "train_rows": guard.n_train_rows_, "val_rows": guard.n_val_rows_,
        "columns": [s.to_dict() for s in guard.schema_],
        "model": {"type": guard.model, "latent_dim": guard.latent_dim, "hidden": list(guard.hidden)},
        "epochs": len(h.history), "best_epoch": h.best_epoch, "best_val_loss": h.best_val_loss, "stopped_early": h.stopped_early,
        "score": guard.score_kind_, "threshold": cal.threshold, "calibration": {"mode": cal.mode, "target": cal.target},
    }


def _print_fit_summary(console, guard, model_dir: Path, rows: int) -> None:
    from rich.table import Table

    roles = Table(title="columns", title_justify="left")
    for col in ("column", "role", "why"):
        roles.add_column(col)
    for spec in guard.schema_:
        style = "dim" if spec.role == "ignored" else None
        roles.add_row(spec.name, spec.role, spec.reason, style=style)
    console.print(roles)
    h = guard.history_
    cal = guard.calibration_
    summary = Table(show_header=False, title="model", title_justify="left")
    summary.add_column()
    summary.add_column()
    summary.add_row("rows", f"{rows:,} ({guard.n_train_rows_:,} train, {guard.n_val_rows_:,} held out)")
    summary.add_row("model", f"{guard.model} latent {guard.latent_dim}, hidden {','.join(map(str, guard.hidden))}")
    summary.add_row("epochs", f"{len(h.history)} (best {h.best_epoch}{', stopped early' if h.stopped_early else ''})")
    summary.add_row("best validation loss", f"{h.best_val_loss:.4f}")
    summary.add_row("score", guard.score_kind_)
    summary.add_row("threshold", f"{cal.threshold:.4f} ({cal.mode} {cal.target:g})")
    summary.add_row("saved to", str(model_dir))
    console.print(summary)


# ---- score -------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def score(
    data: Annotated[str, typer.Argument(help="Table to score: .csv, .csv.gz, .parquet, or - for CSV on stdin.")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    out: Annotated[
        str, typer.Option("--out", "-o", help="Where to write every row with its scores (.csv, .csv.gz, .parquet), or - for stdout.")
    ] = "-",
    fmt: FormatOpt = None,
    out_format: Annotated[
        Optional[str], typer.Option("--out-format", help="Output format: csv, csv.gz or parquet. Default: from the --out extension.")
    ] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows read, scored and written at a time; memory stays bounded by it.")] = 25_000,
    only_anomalies: Annotated[bool, typer.Option("--only-anomalies", help="Write only the rows flagged as anomalies.")] = False,
    fail_on_anomaly: Annotated[
        bool, typer.Option("--fail-on-anomaly", help="Exit with code 1 when any row is flagged (for cron and CI).")
    ] = False,
    device: DeviceOpt = "cpu",
    coerce: CoerceOpt = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local: stream the file in this process. dask: score a folder or glob of Parquet files "
            "in parallel on a Dask cluster and write a folder of Parquet files to --out.",
        ),
    ] = "local",
    scheduler: Annotated[
        Optional[str],
        typer.Option("--scheduler", help="With --engine dask: address of a running Dask scheduler (tcp://host:8786). Default: start a local cluster."),
    ] = None,
    workers: Annotated[
        Optional[int], typer.Option("--workers", help="With --engine dask and no --scheduler: local worker processes. Default: one per CPU core.")
    ] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Score rows against a trained model: adds anomaly_score, p_value, is_anomaly and top_features."""
    from .errors import ConfigError

    if engine not in ("local", "dask"):
        raise ConfigError(f"--engine must be local or dask; got '{engine}'")
    if engine == "local" and (scheduler or workers):
        raise ConfigError("--scheduler and --workers go with --engine dask")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {workers}")
    if engine == "dask":
        return _score_dask(data, model, out, scheduler, workers, only_anomalies, fail_on_anomaly, coerce, quiet, json_out)

    if json_out and out == "-":
        raise ConfigError("--json prints a summary to stdout, so the scored rows need a file: add --out scored.csv")
    quiet = quiet or json_out
    if chunk_size < 1:
        raise ConfigError(f"--chunk-size must be at least 1; got {chunk_size}")
    console = _console(quiet)
    from .detector import Detector
    from .io import AtomicTableWriter, check_input, iter_chunks, prefetch
    from .scoring import ChunkReport, score_chunk

    check_input(data, fmt)
    guard = Detector.load(model, device=device)
    report = ChunkReport()
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(), TextColumn("scoring"), TextColumn("{task.completed:,.0f} rows"), TimeElapsedColumn(),
        console=console, transient=True,
    )
    from concurrent.futures import ThreadPoolExecutor

    # Three stages overlap: the next chunk is read on one thread and the previous one written on
    # another while this one is scored. At most three chunks are in memory at once.
    with progress, AtomicTableWriter(out, out_format) as writer, ThreadPoolExecutor(1, thread_name_prefix="vaeguard-write") as pool:
        task = progress.add_task("score", total=None)
        wrote_any = False
        pending = None
        for chunk in prefetch(iter_chunks(data, fmt, chunk_size, text=True)):
            scored, rep = score_chunk(guard, chunk, coerce=coerce)
            report.add(rep)
            if only_anomalies:
                scored = scored[scored["is_anomaly"] == 1]
            if len(scored) or not wrote_any:
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write, scored)
                wrote_any = True
            progress.update(task, advance=len(chunk))
        if pending is not None:
            pending.result()
    if report.rows == 0 and not quiet:
        console.print(f"[yellow]warning:[/] '{data}' has a header but no rows")
    if json_out:
        cal = guard.calibration_
        _emit_json({
            "rows": report.rows, "flagged": report.flagged, "threshold": cal.threshold,
            "calibration": {"mode": cal.mode, "target": cal.target}, "coerced": report.coerced,
            "unseen_categories": report.unknown, "out": out,
        })
    elif not quiet:
        _print_score_summary(console, guard, report, out)
    if fail_on_anomaly and report.flagged:
        raise typer.Exit(EXIT_ANOMALIES_FOUND)


def _score_dask(data, model, out, scheduler, workers, only_anomalies, fail_on_anomaly, coerce, quiet, json_out) -> None:
    from .errors import ConfigError

    if out == "-":
        raise ConfigError("--engine dask writes a folder of Parquet files: add --out scored/")
    quiet = quiet or json_out
    console = _console(quiet)
    from .dask import score_files

    with console.status(f"scoring on {'the Dask cluster at ' + scheduler if scheduler else 'a local Dask cluster'}"):
        summary = score_files(data, model, out, scheduler, workers, only_anomalies, coerce, quiet)
    if json_out:
        _emit_json({"rows": summary.rows, "flagged": summary.flagged, "partitions": summary.partitions, "workers": summary.workers, "out": out})
    elif not quiet:
        t = _counts_table("score (dask)", summary.rows, summary.flagged)
        t.add_row("partitions / workers", f"{summary.partitions} / {summary.workers}")
        t.add_row("written to", f"{out} (Parquet files)")
        console.print(t)
    if fail_on_anomaly and summary.flagged:
        raise typer.Exit(EXIT_ANOMALIES_FOUND)


def _counts_table(title: str, rows: int, flagged: int):
    """The two-column summary table every scoring path prints, starting with rows and flagged."""
    from rich.table import Table

    t = Table(show_header=False, title=title, title_justify="left")
    t.add_column()
    t.add_column()
    t.add_row("rows scored", f"{rows:,}")
    share = flagged / rows if rows else 0.0
    t.add_row("flagged", f"{flagged:,} ({share:.2%})")
    return t


def _print_score_summary(console, guard, report, out: str) -> None:
    t = _counts_table("score", report.rows, report.flagged)
    cal = guard.calibration_
    t.add_row("threshold", f"{cal.threshold:.4f} ({cal.mode} {cal.target:g})")
    if report.coerced:
        t.add_row("text in numeric columns", ", ".join(f"{k}: {v}" for k, v in report.coerced.items()) + " (treated as missing)")
    if report.unknown:
        t.add_row("values unseen in training", ", ".join(f"{k}: {v}" for k, v in report.unknown.items()))
    t.add_row("written to", "stdout" if out == "-" else out)
    console.print(t)


# ---- evaluate ----------------------------------------------------------------------------------------
def _score_file(guard, data: str, fmt: str | None, coerce: bool, console, chunk_size: int = 100_000):
    """Score a whole file into memory (for commands that need every score at once)."""
    import pandas as pd

    from .io import iter_chunks
    from .scoring import ChunkReport, score_chunk

    parts, report = [], ChunkReport()
    with console.status(f"scoring {data}"):
        for chunk in iter_chunks(data, fmt, chunk_size):
            scored, rep = score_chunk(guard, chunk, coerce=coerce)
            report.add(rep)
            parts.append(scored)
    return pd.concat(parts, ignore_index=True), report


@app.command()
@handles_errors
def evaluate(
    data: Annotated[str, typer.Argument(help="Labelled table: .csv, .csv.gz, .parquet, or - for CSV on stdin.")],
    label: Annotated[str, typer.Option("--label", "-l", help="Column holding the true label (it need not be ignored at fit: it is never used to score).")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    positive: Annotated[
        Optional[str], typer.Option("--positive", help="Label value that means anomaly. Default: 1/true, or anything other than normal/benign/0.")
    ] = None,
    report: Annotated[
        Optional[Path], typer.Option("--report", help="Folder for PNG plots (score histogram, ROC, precision-recall) and metrics.json.")
    ] = None,
    fmt: FormatOpt = None,
    coerce: CoerceOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Measure detection against known labels: ROC-AUC, PR-AUC, precision, recall, F1, confusion matrix."""
    from .detector import Detector
    from .errors import InputError
    from .evaluate import label_vector, metrics, write_report

    quiet = quiet or json_out
    console = _console(quiet)
    guard = Detector.load(model)
    scored, _ = _score_file(guard, data, fmt, coerce, console)
    if label not in scored.columns:
        raise InputError(f"label column '{label}' is not in the table; columns: {', '.join(map(str, scored.columns[:30]))}")
    y = label_vector(scored[label], positive)
    result = metrics(y, scored["anomaly_score"].to_numpy(), scored["is_anomaly"].to_numpy())
    result["threshold"] = guard.calibration_.threshold
    if report is not None:
        result["report_files"] = [str(p) for p in write_report(report, y, scored["anomaly_score"].to_numpy(), guard.calibration_.threshold, result)]
    if json_out:
        _emit_json(result)
        return
    if quiet:
        return
    from rich.table import Table

    t = Table(show_header=False, title=f"evaluation at threshold {result['threshold']:.4f}", title_justify="left")
    t.add_column()
    t.add_column()
    t.add_row("rows (anomalous)", f"{result['rows']:,} ({result['anomalies']:,})")
    for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "false_positive_rate"):
        t.add_row(key.replace("_", " "), f"{result[key]:.4f}")
    console.print(t)
    c = result["confusion"]
    cm = Table(title="confusion matrix", title_justify="left")
    cm.add_column("")
    cm.add_column("flagged")
    cm.add_column("not flagged")
    cm.add_row("anomalous", f"{c['true_positive']:,}", f"{c['false_negative']:,}")
    cm.add_row("normal", f"{c['false_positive']:,}", f"{c['true_negative']:,}")
    console.print(cm)
    if report is not None:
        console.print(f"report written to {report}")


# ---- export ------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def export(
    model_dir: ModelDirArg = Path(DEFAULT_MODEL_DIR),
    onnx_path: Annotated[
        Optional[Path], typer.Option("--onnx", help="Write the scoring graph (preprocessed inputs -> per-row score) as ONNX to this file.")
    ] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Export the model for runtimes without Python and torch; the result is checked against torch with onnxruntime."""
    from .errors import ConfigError

    if onnx_path is None:
        raise ConfigError("say what to export: --onnx model.onnx")
    from .detector import Detector
    from .export import export_onnx

    guard = Detector.load(model_dir)
    checked = export_onnx(guard, onnx_path)
    if json_out:
        _emit_json({"onnx": str(onnx_path), **checked})
    elif not quiet:
        _console().print(
            f"wrote {onnx_path}; onnxruntime matches torch on {checked['rows_checked']} generated rows "
            f"(largest relative difference {checked['max_rel_diff']:.1e})"
        )


# ---- info --------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def info(
    model_dir: ModelDirArg = Path(DEFAULT_MODEL_DIR),
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also write the training curve as a PNG to this path.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Describe a model: columns and roles, hyper-parameters, training curve, threshold, versions."""
    from .detector import Detector
    from .checkpoint import read_manifest

    guard = Detector.load(model_dir)
    m = read_manifest(model_dir)
    hist = m["training"]["history"]
    summary = {
        "model_dir": str(model_dir), "vaeguard_version": m["vaeguard_version"], "format_version": m["format_version"],
        "created": m.get("created"), "model": m["model"], "score": m["scoring"]["score"], "samples": m["scoring"]["samples"],
        "columns": m["schema"], "training": {k: v for k, v in m["training"].items() if k != "history"},
        "history": hist, "threshold": guard.calibration_.threshold,
        "calibration": {"mode": guard.calibration_.mode, "target": guard.calibration_.target, "rows": len(guard.calibration_.scores)},
        "calibration_history": guard.calibration_history_,
    }
    if plot is not None:
        _plot_history(hist, plot)
        summary["plot"] = str(plot)
    if json_out:
        _emit_json(summary)
        return
    from rich.table import Table

    console = _console()
    cols = Table(title="columns", title_justify="left")
    for c in ("column", "role", "why"):
        cols.add_column(c)
    for c in m["schema"]:
        cols.add_row(c["name"], c["role"], c["reason"], style="dim" if c["role"] == "ignored" else None)
    console.print(cols)
    t = Table(show_header=False, title="model", title_justify="left")
    t.add_column()
    t.add_column()
    mm, tr = m["model"], m["training"]
    t.add_row("type", f"{mm['variant']} latent {mm['latent_dim']}, hidden {','.join(map(str, mm['hidden']))}")
    t.add_row("score", f"{m['scoring']['score']} (K = {m['scoring']['samples']})" if m["scoring"]["score"] == "elbo" else m["scoring"]["score"])
    t.add_row("training", f"{tr['train_rows']:,} rows, {len(hist)} epochs (best {tr['best_epoch']}), batch {tr['batch_size']}, lr {tr['lr']}, beta {tr['beta']}, seed {tr['seed']}")
    t.add_row("threshold", f"{guard.calibration_.threshold:.4f} ({guard.calibration_.mode} {guard.calibration_.target:g}, {len(guard.calibration_.scores):,} calibration rows)")
    if guard.calibration_history_:
        t.add_row("earlier thresholds", ", ".join(f"{h['threshold']:.4f}" for h in guard.calibration_history_))
    t.add_row("versions", f"vaeguard {m['vaeguard_version']}, checkpoint format {m['format_version']}, created {m.get('created')}")
    console.print(t)
    if hist:
        console.print("validation loss by epoch: " + _sparkline([h["val_loss"] for h in hist]))
    if plot is not None:
        console.print(f"training curve written to {plot}")


def _sparkline(values: list[float]) -> str:
    import math

    ticks = "▁▂▃▄▅▆▇█"
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    step = max(1, len(values) // 60)
    out = []
    for v in values[::step]:
        out.append(" " if v is None or not math.isfinite(v) else ticks[int((v - lo) / (hi - lo + 1e-12) * (len(ticks) - 1))])
    return "".join(out) + f"  ({finite[0]:.3f} -> {finite[-1]:.3f})"


def _plot_history(hist: list[dict], path: Path) -> None:
    from .errors import ConfigError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--plot needs matplotlib: pip install 'vaeguard[report]'") from None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([h["epoch"] for h in hist], [h["train_loss"] for h in hist], label="train")
    ax.plot([h["epoch"] for h in hist], [h["val_loss"] for h in hist], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (negative ELBO per row)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- calibrate ---------------------------------------------------------------------------------------
@app.command()
@handles_errors
def calibrate(
    data: Annotated[str, typer.Argument(help="Fresh normal rows: .csv, .csv.gz, .parquet, or - for CSV on stdin.")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    fpr: Annotated[Optional[float], typer.Option("--fpr", help="Target false-positive rate on these rows. Default: the model's current setting.")] = None,
    contamination: Annotated[
        Optional[float], typer.Option("--contamination", help="Expected share of anomalies in these rows, instead of --fpr.")
    ] = None,
    fmt: FormatOpt = None,
    coerce: CoerceOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Move the threshold using fresh normal rows, without retraining; the old one is kept in the history."""
    from .detector import Detector
    from .io import read_table

    quiet = quiet or json_out
    console = _console(quiet)
    guard = Detector.load(model)
    df, _ = read_table(data, fmt)
    old = guard.calibration_.threshold
    new = guard.recalibrate(df, fpr=fpr, contamination=contamination, coerce=coerce)
    guard.save(model)
    result = {"rows": len(df), "old_threshold": old, "threshold": new.threshold, "mode": new.mode, "target": new.target}
    if json_out:
        _emit_json(result)
    else:
        console.print(f"threshold {old:.4f} -> {new.threshold:.4f} ({new.mode} {new.target:g} on {len(df):,} rows); saved to {model}")


# ---- generate ----------------------------------------------------------------------------------------
@app.command()
@handles_errors
def generate(
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    n: Annotated[int, typer.Option("-n", "--rows", help="How many rows to draw.")] = 1000,
    out: Annotated[str, typer.Option("--out", "-o", help="Output file (.csv, .csv.gz, .parquet) or - for stdout.")] = "-",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed for the draws. Default: the model's seed.")] = None,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Draw synthetic rows from the prior through the decoder, in the original units and categories."""
    from .detector import Detector
    from .errors import ConfigError
    from .io import AtomicTableWriter

    if json_out and out == "-":
        raise ConfigError("--json prints a summary to stdout, so the rows need a file: add --out synthetic.csv")
    guard = Detector.load(model)
    df = guard.sample(n, seed=seed)
    with AtomicTableWriter(out) as writer:
        writer.write(df)
    if json_out:
        _emit_json({"rows": len(df), "columns": list(df.columns), "out": out})
    elif not quiet and out != "-":
        _console().print(f"wrote {len(df):,} synthetic rows to {out}")


# ---- explain -----------------------------------------------------------------------------------------
@app.command()
@handles_errors
def explain(
    data: Annotated[str, typer.Argument(help="Table holding the row: .csv, .csv.gz, .parquet, or - for CSV on stdin.")],
    row: Annotated[int, typer.Option("--row", "-r", help="Row number to explain (0 = the first data row).")],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    fmt: FormatOpt = None,
    coerce: CoerceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Show each column's contribution to one row's score, with the value the model expected there."""
    from .detector import Detector
    from .errors import InputError
    from .io import iter_chunks

    guard = Detector.load(model)
    if row < 0:
        raise InputError(f"--row must be 0 or more; got {row}")
    seen, picked = 0, None
    for chunk in iter_chunks(data, fmt):
        if row < seen + len(chunk):
            picked = chunk.iloc[[row - seen]]
            break
        seen += len(chunk)
    if picked is None:
        raise InputError(f"--row {row} is past the end of '{data}' ({seen:,} rows; the first is row 0)")
    scored = guard.score_frame(picked, coerce=coerce).iloc[0]
    table = guard.explain(picked, coerce=coerce)[0]
    if json_out:
        _emit_json({
            "row": row, "anomaly_score": float(scored["anomaly_score"]), "p_value": float(scored["p_value"]),
            "is_anomaly": int(scored["is_anomaly"]), "threshold": guard.calibration_.threshold,
            "columns": table.to_dict(orient="records"),
        })
        return
    from rich.table import Table

    console = _console()
    t = Table(title=f"row {row}: score {scored['anomaly_score']:.4g} (threshold {guard.calibration_.threshold:.4g}, "
                    f"p-value {scored['p_value']:.4f}){' FLAGGED' if scored['is_anomaly'] else ''}", title_justify="left")
    for c in ("column", "observed", "expected", "contribution", "typical", "excess"):
        t.add_column(c, justify="right" if c in ("contribution", "typical", "excess") else "left")
    for r in table.itertuples():
        exp = f"{r.expected:.4g}" if isinstance(r.expected, float) else str(r.expected)
        t.add_row(r.column, str(r.observed), exp, f"{r.contribution:.3g}", f"{r.typical:.3g}", f"{r.excess:+.3g}",
                  style="bold" if r.excess > 1 else None)
    console.print(t)


def main() -> None:
    try:
        app()
    except BrokenPipeError:
        os._exit(0)


if __name__ == "__main__":
    main()
