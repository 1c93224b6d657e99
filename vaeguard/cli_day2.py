"""The day-two commands: evaluate, export, info, calibrate, generate, explain."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli_common import (
    DEFAULT_MODEL_DIR, EncodingOpt, EventsOpt, FormatOpt, JsonOpt, LabelOpt, ModelDir, ModelDirArg, ModelDirOpt, NamesOpt, PositiveOpt, QuietOpt, StrictOpt, app,
    check_label_options, handles_errors, model_dir_of, open_input,
)
from .defaults import DEFAULTS

# explain's rows by default: every column of a flow log's model (NSL-KDD's 41, a Zeek conn log's with its history letters).
EXPLAIN_TOP = 50


def highest_scoring_row(detector, chunks) -> tuple[int, object, int]:
    """The row number and the one-row frame of the highest score in `chunks` (the first of a tie), and the
    rows read: a chunk at a time, so a table of any size is explained in bounded memory."""
    import numpy as np

    best, best_row, picked, seen = -np.inf, 0, None, 0
    for chunk in chunks:
        if len(chunk):
            scores = detector.anomaly_score(chunk)  # the score alone: p-values and top features are for the one row picked
            i = int(np.argmax(scores))
            if scores[i] > best:
                best, best_row, picked = scores[i], seen + i, chunk.iloc[[i]]
        seen += len(chunk)
    return best_row, picked, seen


# ---- evaluate ----------------------------------------------------------------------------------------
@app.command()
@handles_errors
def evaluate(
    data: Annotated[list[str], typer.Argument(help="Labelled table: CSV, Parquet, Zeek log or JSON lines (gzip, bzip2 or xz too), or - for stdin; "
                                              "several files of one format or a folder are one table.", show_default=False)],
    label: Annotated[Optional[str], typer.Option("--label", "-l", help="Column holding the true label (it need not be ignored at fit: it is never used to score). "
                                                 "Default: the column named as one (label, is_attack, malicious, attack_cat...: the names fit leaves out).",
                                                 show_default=False)] = None,
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    positive: Annotated[Optional[str], typer.Option("--positive", help="Label value that means anomaly, or a pattern of them with * and ? ('*botnet*': "
                                                    "every label holding botnet; case aside). Default: 1/true, or anything other than normal/benign/0.")] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Also break the results down by this column's values (an attack's type, "
                                              "IoT-23's detailed-label, UNSW-NB15's attack_cat, a protocol): each value's rows, those labelled "
                                              "anomalous and those flagged, and how its anomalous rows rank against the normal ones.",
                                              show_default=False)] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Where to write a report: a folder for report.html (one self-contained page), the PNG plots (score histogram, ROC, "
                                                 "precision-recall) and metrics.json; or a path ending in .html for that page alone.")] = None,
    format: FormatOpt = None,
    names: NamesOpt = None,
    encoding: EncodingOpt = None,
    events: EventsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Measure detection against known labels: ROC-AUC, PR-AUC, precision, recall, F1, confusion matrix, drift."""
    from . import render
    from .detector import Detector
    from .drift import labelled_drift
    from .errors import InputError
    from .evaluate import breakdown, host_detection, metrics, report_page_only, write_report
    from .pipeline import evaluate_table

    quiet = quiet or json
    con = render.console(quiet)

    if report is not None:
        report_page_only(report)  # a page whose folder is not there stops now, not after the scoring
    source = open_input(data, format, strict, names, model, encoding, events)
    detector = Detector.load(model)
    with con.status(f"scoring {source.name}"):
        ev = evaluate_table(source, detector, label, positive, strict=strict, by=by)
    if not len(ev.y):  # not "the labels hold only one class"
        raise InputError(f"'{source.name}' has no rows to evaluate; give a table of labelled rows")
    result = metrics(ev.y, ev.scores, ev.flags)
    result["label"] = ev.label
    result["threshold"] = detector.calibration_.threshold
    # The labels say which rows are normal: drift is judged on those (the attacks are there to be flagged).
    drift = labelled_drift(detector, ev.normal)
    result["drift"] = drift.to_dict()
    result["hosts"] = host_detection(ev.host_labels, ev.report.hosts, detector)
    if ev.by is not None:
        result["by"] = {"column": ev.by.name, "values": breakdown(ev.by.texts, ev.by_codes, ev.y, ev.scores, ev.flags)}
    if report is not None:
        result["report_files"] = [str(p) for p in write_report(report, ev.y, ev.scores, detector.calibration_.threshold, result,
                                                               ev.top, ev.top_y)]
    if json:
        render.emit_json(result)
        return
    if label is None:
        con.print(f"label column: {ev.label} (by its name; --label names another)")
    render.print_evaluation(con, result)
    render.print_drift(con, drift)
    if report is not None:
        con.print(f"report written to {report}")


# ---- export ------------------------------------------------------------------------------------------
@app.command()
@handles_errors
def export(
    ctx: typer.Context,
    model_dir: ModelDirArg = None,
    model: ModelDirOpt = None,
    onnx: Annotated[Optional[Path], typer.Option("--onnx", help="Write the scoring graph (preprocessed inputs -> per-row score) as ONNX to this file.")] = None,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Export the model for runtimes without Python and torch; the result is checked against torch with onnxruntime."""
    from . import render
    from .detector import Detector
    from .errors import ConfigError

    model_dir = model_dir_of(ctx, model_dir, model)
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
    ctx: typer.Context,
    model_dir: ModelDirArg = None,
    model: ModelDirOpt = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also write the training curve to this path: a PNG, or the format its suffix names (.svg, .pdf).")] = None,
    json: JsonOpt = False,
) -> None:
    """Describe a model: columns and roles, what training held in each, hyper-parameters, training curve, threshold, versions."""
    from . import render
    from .checkpoint import read_manifest
    from .detector import Detector

    model_dir = model_dir_of(ctx, model_dir, model)
    detector = Detector.load(model_dir)
    m = read_manifest(model_dir)
    cal = detector.calibration_
    summary = {
        "model_dir": str(model_dir), "vaeguard_version": m["vaeguard_version"], "format_version": m["format_version"],
        "created": m.get("created"), "model": m["model"], "score": m["scoring"]["score"], "samples": m["scoring"]["samples"],
        "columns": m["schema"], "training": {k: v for k, v in m["training"].items() if k != "history"},
        "history": m["training"]["history"], "threshold": cal.threshold,
        "calibration": {"mode": cal.mode, "target": cal.target, "rows": len(cal.scores)},
        "calibration_history": detector.calibration_history_, "given_names": detector.given_names_,
        "host_baselines": {col: len(hosts) for col, hosts in (getattr(detector, "host_baselines_", None) or {}).items()},
        "events": detector.events_, "training_values": render.training_values(detector),
    }
    if plot is not None:
        render.plot_history(m["training"]["history"], plot)
        summary["plot"] = str(plot)
    if json:
        render.emit_json(summary)
        return
    con = render.console()
    render.print_info(con, m, detector, summary["training_values"])
    if plot is not None:
        con.print(f"training curve written to {plot}")


# ---- calibrate ---------------------------------------------------------------------------------------
@app.command()
@handles_errors
def calibrate(
    data: Annotated[list[str], typer.Argument(help="Fresh normal rows (or labelled rows, with --label): CSV, Parquet, Zeek log or JSON lines (gzip, bzip2 or xz too), or - for stdin; "
                                              "several files of one format or a folder are one table.", show_default=False)],
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    fpr: Annotated[Optional[float], typer.Option("--fpr", help="Target false-positive rate on these rows. Default: the model's current setting.")] = None,
    contamination: Annotated[Optional[float], typer.Option("--contamination", help="Share of anomalies you expect in these rows, instead of --fpr.")] = None,
    label: LabelOpt = None,
    positive: PositiveOpt = None,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Calibrate on a uniform sample of at most this many rows (of those labelled "
                                          "normal, with --label), drawn while streaming the file.")] = DEFAULTS.max_rows,
    format: FormatOpt = None,
    names: NamesOpt = None,
    encoding: EncodingOpt = None,
    events: EventsOpt = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Move the threshold using fresh normal rows, without retraining; the old one is kept in the history.

    Warns of drift where the old threshold flags far more of these rows than it promised: a refit learns them."""
    from . import render
    from .detector import Detector
    from .errors import InputError, ParamError
    from .pipeline import read_fit_rows

    con = render.console(quiet or json)
    check_label_options(label, positive)
    if max_rows < 10:
        raise ParamError("max_rows", f"{{name}} must be at least 10; got {max_rows}")
    detector = Detector.load(model)
    detector.strict = strict
    source = open_input(data, format, strict, names, model, encoding, events)
    # A sample, as fit takes: the whole of a day's log held at once took 4.4 GiB for 3M rows of a conn log.
    df, total, normal_rows = read_fit_rows(source, max_rows, detector.seed, label=label, positive=positive, command="calibrate",
                                           columns=detector.preprocessor_.optional_columns)
    left_out = 0
    if normal_rows is not None:
        df, left_out = normal_rows.finish(df)
    if not len(df):
        raise InputError(f"'{source.name}' has no rows to calibrate on; give at least 5 normal rows")
    if total - left_out > len(df) and not (quiet or json):
        con.print(f"sampled {len(df):,} of {total - left_out:,} rows{' labelled normal' if label else ''} (--max-rows)")
    unused = None
    if label is None:
        from .evaluate import unused_labels

        unused = unused_labels(df, detector.roles)
    old = detector.calibration_.threshold
    new, novel_rows, novel = detector.recalibrate(df, fpr=fpr, contamination=contamination)
    detector.save(model)
    drift = detector.calibration_history_[-1]  # the old threshold on these rows (drift.drift_from)
    result = {"rows": len(df), "rows_read": total, "old_threshold": old, "threshold": new.threshold, "mode": new.mode, "target": new.target,
              "extrapolated": new.extrapolated, "flagged_whatever_the_threshold": novel_rows, "never_seen_in_training": novel,
              "expected_flag_rate": drift["expected_flag_rate"], "old_threshold_flag_rate": drift["next_rows_flag_rate"], "drift": drift["drift"]}
    if label is not None:
        result["labelled_anomalous_left_out"] = left_out
    if unused:
        result["unused_label"] = {"column": unused[0], "anomalous_rows": unused[1]}
    if json:
        render.emit_json(result)
    else:
        on = f"{len(new.scores):,} of {len(df):,}" if len(new.scores) < len(df) else f"{len(df):,}"
        which = f" labelled normal; {left_out:,} labelled anomalous left out" if label is not None else ""
        con.print(f"threshold {old:.4f} -> {new.threshold:.4f} ({new.mode} {new.target:g} on {on} rows{which}); saved to {model}")
        few = new.small_sample_warning()
        if few:
            render.warning(con, few)
        if unused:
            # As fit warns: rows their own label calls anomalous set the threshold as normal ones.
            render.warning(con, f"column '{unused[0]}' calls {unused[1]:,} of the {len(df):,} rows anomalous, and the threshold was set on "
                                f"every row: --label {shlex.quote(unused[0])} calibrates on the rows it calls normal")
        if drift["drift"]:
            # Moving the threshold hides the shift from every later score: said here, as score says it.
            render.warning(con, f"drift: the old threshold flags {drift['next_rows_flag_rate']:.1%} of the {len(new.scores):,} rows the new one "
                                f"was set on, where {drift['expected_flag_rate']:.1%} was expected (binomial p = {drift['p_value']:.1g}): this traffic is not "
                                f"what the model learned, and from now on a row that scores under {new.threshold:.4f} passes. "
                                "If this traffic is normal, refit on it (vaeguard fit) so that the model learns it")
        if novel_rows:
            where = ", ".join(f"{name}: {n:,}" for name, n in sorted(novel.items(), key=lambda kv: -kv[1])[:5])
            render.warning(con, f"{novel_rows:,} of these rows ({novel_rows / len(df):.1%}) hold values training never held or numbers far past its range ({where}), "
                                f"each rarer there than the {new.target:g} rate: they are flagged whatever the threshold"
                                f"{', which was set on the other rows' if new.mode == 'fpr' else ''}. If this traffic is normal, refit on it "
                                f"(vaeguard fit) so that the model learns them")


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
    data: Annotated[list[str], typer.Argument(help="Table holding the row: CSV, Parquet, Zeek log or JSON lines (gzip, bzip2 or xz too), or - for stdin; "
                                              "several files of one format or a folder are one table.", show_default=False)],
    row: Annotated[Optional[int], typer.Option("--row", "-r", help="Row number to explain (0 = the first data row; across several files, "
                                               "counted as score numbers its output rows). Default: the table's highest-scoring row.",
                                               show_default=False)] = None,
    model: ModelDir = Path(DEFAULT_MODEL_DIR),
    format: FormatOpt = None,
    names: NamesOpt = None,
    encoding: EncodingOpt = None,
    events: EventsOpt = None,
    strict: StrictOpt = False,
    json: JsonOpt = False,
    top: Annotated[int, typer.Option("--top", min=0, help="Show the N columns that add most to the score over what is typical "
                                     "(a wide table's thousand would scroll the rest away); 0 shows every column. --json lists each.")] = EXPLAIN_TOP,
) -> None:
    """Show each column's contribution to one row's score, with the value the model expected there."""
    from . import render
    from .detector import Detector
    from .errors import InputError

    detector = Detector.load(model)
    detector.strict = strict
    if row is not None and row < 0:
        raise InputError(f"--row must be 0 or more; got {row}")
    source = open_input(data, format, strict, names, model, encoding, events)
    chunks = source.chunks(columns=detector.preprocessor_.optional_columns)
    if row is None:
        row, picked, seen = highest_scoring_row(detector, chunks)
        if picked is None:
            raise InputError(f"'{source.name}' has no rows to explain")
        if not json:
            render.console().print(f"row {row:,}: the highest-scoring of {seen:,} rows (--row picks another)")
    else:
        picked, seen = None, 0
        for chunk in chunks:
            if row < seen + len(chunk):
                picked = chunk.iloc[[row - seen]]
                break
            seen += len(chunk)
        if picked is None:
            raise InputError(f"--row {row} is past the end of '{source.name}' ({seen:,} rows; the first is row 0)")
    scored = detector.score_frame(picked).iloc[0]
    table = detector.explain(picked)[0]
    if json:
        render.emit_json({
            "row": row, "anomaly_score": float(scored["anomaly_score"]), "p_value": float(scored["p_value"]),
            "is_anomaly": int(scored["is_anomaly"]), "threshold": detector.calibration_.threshold,
            "columns": table.to_dict(orient="records"),
        })
        return
    render.print_explanation(render.console(), row, scored, table, detector.calibration_.threshold, top)
