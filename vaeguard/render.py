"""What the CLI shows: rich tables on stderr, JSON summaries on stdout, plots. No computation."""

from __future__ import annotations

import json
import math
import numbers
import sys
from dataclasses import asdict
from pathlib import Path


def console(quiet: bool = False):
    from rich.console import Console

    # No emoji codes: column names hold colons (history:a, ts:hour), and 'history:a: 12' showed as 'history🅰 12'.
    return Console(stderr=True, quiet=quiet, highlight=False, emoji=False)


class Spinner:
    """A status line for work that has no bar yet, drawn on a terminal only: a log file gets the summary,
    not the frames. `update` and `stop` may be called in any state (stopping twice is stopping once)."""

    def __init__(self, con, text: str):
        self._status = con.status(text) if con.is_terminal and not con.quiet else None
        if self._status is not None:
            self._status.start()

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()


def emit_json(obj: dict) -> None:
    from .checkpoint import jsonable

    sys.stdout.write(json.dumps(jsonable(obj), indent=1, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _pairs(title: str):
    from rich.table import Table

    t = Table(show_header=False, title=title, title_justify="left")
    t.add_column()
    t.add_column()
    return t


# A table of more columns than this shows each run of RUN_ROWS or more consecutive columns of one role, for one
# reason, as one row (5,000 flags in 5,000 rows hid the few columns that differ); a flow log's are each shown.
WIDE_ROLES, RUN_ROWS = 40, 5


def roles_table(schema: list[dict]):
    from rich.table import Table

    runs: list[list[dict]] = []
    for c in schema:
        if runs and len(schema) > WIDE_ROLES and (c["role"], c["reason"]) == (runs[-1][0]["role"], runs[-1][0]["reason"]):
            runs[-1].append(c)
        else:
            runs.append([c])
    grouped = any(len(run) >= RUN_ROWS for run in runs)
    title = f"columns: {len(schema):,}, alike neighbours in one row (`vaeguard info --json` lists each)" if grouped else "columns"
    t = Table(title=title, title_justify="left")
    for c in ("column", "role", "why"):
        t.add_column(c, overflow="fold")
    from rich.markup import escape

    for run in runs:
        first = run[0]
        style = "dim" if first["role"] == "ignored" else None
        if len(run) >= RUN_ROWS:
            t.add_row(f"{escape(first['name'])} … {escape(run[-1]['name'])} ({len(run):,} columns)", first["role"], escape(first["reason"]), style=style)
            continue
        for c in run:
            t.add_row(escape(c["name"]), c["role"], escape(c["reason"]), style=style)
    return t


def warning(con, text: str) -> None:
    from rich.markup import escape

    con.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)


# ---- fit ---------------------------------------------------------------------------------------------
def _calibration(cal) -> dict:
    """How the threshold was set, as fit's and score's --json both give it."""
    return {"mode": cal.mode, "target": cal.target, "rows": len(cal.scores), "folds": cal.folds, "extrapolated": cal.extrapolated}


def fit_summary(detector, model_dir: Path, run) -> dict:
    from .manifest import build

    h, cal = detector.history_, detector.calibration_
    m = build(detector, "trained")
    return {
        "model_dir": str(model_dir), "read_as": run.read_as, "rows_read": run.rows_read, "rows_used": run.rows_used, "skipped": run.skipped,
        "train_rows": detector.n_train_rows_, "val_rows": detector.n_val_rows_, "columns": m["schema"], "model": m["model"],
        "epochs": len(h.history), "best_epoch": h.best_epoch, "best_val_loss": h.best_val_loss, "stopped_early": h.stopped_early,
        "score": detector.score_kind_, "threshold": cal.threshold, "calibration": _calibration(cal),
        # Kinds of held-out rows above the threshold that training may have left out as worst-fitting (--trim).
        "left_out_kinds": [asdict(k) for k in getattr(detector, "left_out_kinds_", [])],
        **({} if run.labelled_anomalous is None else {"labelled_anomalous_left_out": run.labelled_anomalous}),
        # A label column that called rows anomalous, all fitted on: --label would have left them out.
        **({} if not run.unused_label else {"unused_label": {"column": run.unused_label[0], "anomalous_rows": run.unused_label[1]}}),
    }


def print_fit_summary(con, detector, model_dir: Path, rows: int, read_as: str = "", threads: str | None = None,
                      label: str | None = None, labelled_anomalous: int | None = None) -> None:
    con.print(roles_table([s.to_dict() for s in detector.schema_]))
    h, cal = detector.history_, detector.calibration_
    t = _pairs("model")
    if read_as:
        t.add_row("read as", read_as)
    t.add_row("rows", f"{rows:,} ({detector.n_train_rows_:,} train, {detector.n_val_rows_:,} held out)")
    if label is not None:
        t.add_row("--label", f"{label}: the {rows:,} rows labelled normal; {labelled_anomalous or 0:,} labelled anomalous left out")
    t.add_row("model", f"{detector.model} latent {detector.latent_dim}, hidden {','.join(map(str, detector.hidden))}")
    t.add_row("epochs", f"{len(h.history)} (best {h.best_epoch}{', stopped early' if h.stopped_early else ''})")
    t.add_row("best validation loss", f"{h.best_val_loss:.4f}")
    t.add_row("score", detector.score_kind_)
    n = len(cal.scores)
    scored = f"all {n:,} rows" if n >= rows else f"{n:,} of the {rows:,} rows"  # parts until ten rows lie above it
    how = f", on {scored}: {cal.folds} models, each holding out a part" if cal.folds > 1 else ""
    t.add_row("threshold", f"{cal.threshold:.4f} ({cal.mode} {cal.target:g}{how})")
    if threads:
        t.add_row("threads", threads)
    t.add_row("saved to", str(model_dir))
    con.print(t)


# ---- score -------------------------------------------------------------------------------------------
def counts_table(title: str, rows: int, flagged: int):
    """The two-column summary table every scoring path prints, starting with rows and flagged."""
    t = _pairs(title)
    t.add_row("rows scored", f"{rows:,}")
    t.add_row("flagged", f"{flagged:,} ({flagged / rows if rows else 0.0:.2%})")
    return t


def drift_fields(drift) -> dict:
    """The drift test as score's --json gives it, whichever engine scored."""
    return {"expected_flag_rate": drift.expected_flag_rate, "flag_rate": drift.flag_rate, "drift": drift.drift,
            "drift_p_value": drift.p_value, "drift_columns": drift.columns, "drift_respelled": drift.respelled,
            "flagged_hosts": drift.hosts, "hosts_flagged": drift.hosts_flagged, "hosts_partial": drift.hosts_partial,
            "drifting_hosts": drift.drifting_hosts}


def add_hosts(t, drift, shown: int = 3) -> None:
    """The summary's row of flagged rows by host: per address column, the hosts with the most and how many
    of their own rows that is ('192.168.1.195 (21,556 of 23,144)'), so that whose traffic it is reads at once."""
    lines = []
    for name, top in drift.hosts.items():
        more = drift.hosts_flagged.get(name, len(top)) - shown
        hosts = "; ".join(f"{h['host']} ({h['flagged']:,} of {h['rows']:,})" for h in top[:shown])
        partial = " (counts partial: more hosts than are kept)" if name in drift.hosts_partial else ""
        lines.append(f"{name}: {hosts}{f'; {more:,} more with flagged rows' if more > 0 else ''}{partial}")
    if lines:
        t.add_row("flagged by host", "\n".join(lines))


def evidence_fields(report) -> dict:
    """What scoring saw that training never had, as score's --json gives it, whichever engine scored."""
    return {"flagged_whatever_the_threshold": report.novel_flagged, "malformed": report.malformed, "unseen_categories": report.unknown,
            "new_values": {k: dict(list(v.items())[:10]) for k, v in report.new_values.items()},
            "new_missing": report.new_missing, "constants_changed": report.broken, "decimal_comma": report.decimal_comma,
            "past_training_range": report.past_range}


# Columns named in each line of score's evidence; the rest are counted, so a wide table's 200 columns with new
# values do not read as the eight shown (`--json` has every one).
EVIDENCE_COLUMNS = 8


def add_evidence(t, report) -> None:
    for kind, counts in report.evidence().items():
        values = report.new_values if counts is report.unknown or counts is report.broken else {}
        t.add_row(kind, _most_counted(counts, lambda k, v: f"{k}: {v:,}{_top_values(values.get(k))}"))
    if report.decimal_comma:
        t.add_row("read with a decimal comma", _most_counted(report.decimal_comma, lambda k, v: f"{k}: {v:,}") + " (training's numbers had a decimal point)")


def _most_counted(counts: dict[str, int], shown) -> str:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    rest = len(ranked) - EVIDENCE_COLUMNS
    return ", ".join(shown(k, v) for k, v in ranked[:EVIDENCE_COLUMNS]) + (f" and {rest:,} more column{'s' if rest > 1 else ''}" if rest > 0 else "")


def _top_values(counts: dict[str, int] | None, n: int = 3) -> str:
    """The most frequent new values of a column, as they read: ' (23 x20,100; 53 x185)'."""
    if not counts:
        return ""
    shown = [f"{value if len(value) <= 24 else value[:21] + '...'} x{k:,}" for value, k in list(counts.items())[:n]]
    return f" ({'; '.join(shown)}{'; ...' if len(counts) > n else ''})"


def score_summary(detector, run, out: str) -> dict:
    r, cal = run.report, detector.calibration_
    return {
        "read_as": run.read_as, "rows": r.rows, "flagged": r.flagged, "threshold": cal.threshold, "calibration": _calibration(cal),
        **drift_fields(run.drift), "drift_spells": [told.to_dict() for told in run.drift_spells], **evidence_fields(r),
        "skipped": run.skipped, "out": out, "written_as_null": run.not_numbers,
    }


def print_score_summary(con, detector, run, out: str) -> None:
    r, cal = run.report, detector.calibration_
    t = counts_table("score", r.rows, r.flagged)
    if run.read_as:
        t.add_row("read as", run.read_as)
    t.add_row("threshold", f"{cal.threshold:.4f} ({cal.mode} {cal.target:g})")
    add_evidence(t, r)
    add_hosts(t, run.drift)
    if run.drift_spells:
        t.add_row("drift spells", drift_spells(run.drift_spells))
    if run.skipped:
        t.add_row("not read", run.skipped)
    t.add_row("written to", "stdout" if out == "-" else out)
    con.print(t)
    print_drift(con, run.drift)


def drift_spells(told: list) -> str:
    """A live run's spells of drift, one a line: where each began and where it was over, as the warnings
    and `drift over` lines said as they came ('rows 1-3,211: 82.0% flagged; over by rows 3,212-11,651 (0.9%)')."""
    lines = []
    for event in told:
        if event.started:
            lines.append(f"{event.rows()}: {event.check.flag_rate:.1%} flagged")
        elif lines:
            lines[-1] += f"; over by {event.rows()} ({event.check.flag_rate:.1%})"
    if told and told[-1].started:
        lines[-1] += "; not over at the end"
    return "\n".join(lines)


def print_drift(con, drift) -> None:
    if drift.drift:
        warning(con, drift.message())
    elif drift.drifting_hosts:
        warning(con, drift.hosts_message())


def print_live_drift(con, told) -> None:
    """A spell of drift in a live run: its start as a warning, its end as a line of its own."""
    if told.started:
        warning(con, told.message())
    else:
        from rich.markup import escape

        con.print(escape(told.message()), soft_wrap=True)


# ---- evaluate ----------------------------------------------------------------------------------------
def print_evaluation(con, result: dict) -> None:
    from rich.table import Table

    t = _pairs(f"evaluation at threshold {result['threshold']:.4f}")
    t.add_row("rows (anomalous)", f"{result['rows']:,} ({result['anomalies']:,})")
    for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "false_positive_rate"):
        t.add_row(key.replace("_", " "), f"{result[key]:.4f}")
    con.print(t)
    c = result["confusion"]
    cm = Table(title="confusion matrix", title_justify="left")
    for col in ("", "flagged", "not flagged"):
        cm.add_column(col)
    cm.add_row("anomalous", f"{c['true_positive']:,}", f"{c['false_negative']:,}")
    cm.add_row("normal", f"{c['false_positive']:,}", f"{c['true_negative']:,}")
    con.print(cm)
    if result.get("hosts"):
        ht = Table(title="hosts named as drifting on their own rows", title_justify="left")
        for col in ("column", "named", "of them anomalous", "anomalous hosts", "hosts"):
            ht.add_column(col)
        for name, h in result["hosts"].items():
            ht.add_row(name, f"{h['named']:,}", f"{h['named_anomalous']:,}", f"{h['anomalous_hosts']:,}", f"{h['hosts']:,}")
        con.print(ht)
    if result.get("by"):
        con.print(breakdown_table(result["by"]))


BY_SHOWN = 30  # the values of a --by column a console shows (--json lists each)


def breakdown_table(by: dict):
    from rich.table import Table

    t = Table(title=f"by {by['column']}", title_justify="left",
              caption="ROC-AUC: how the value's anomalous rows rank against every row labelled normal", caption_justify="left")
    t.add_column("value", overflow="fold")
    for col in ("rows", "anomalous", "flagged", "ROC-AUC"):
        t.add_column(col, justify="right", no_wrap=True)
    for v in by["values"][:BY_SHOWN]:
        auc = "" if v["roc_auc_against_normal"] is None else f"{v['roc_auc_against_normal']:.3f}"
        t.add_row(v["value"], f"{v['rows']:,}", f"{v['anomalous']:,}", f"{v['flagged']:,} ({v['flagged'] / v['rows']:.1%})", auc)
    if len(by["values"]) > BY_SHOWN:
        t.caption += f"; {len(by['values']) - BY_SHOWN:,} more values, fewer rows each (--json lists each)"
    return t


# ---- info --------------------------------------------------------------------------------------------
# info lists what training held of at most this many model columns (--json lists each).
TRAINING_VALUES_SHOWN = 40


def training_values(detector) -> list[dict]:
    """What training held in each model column: a number's range and median, in its own units (its centre
    read back as explain's expected values are), and whether it had gaps; a category's count of values, and
    whether rarer ones were pooled as <other>. Read beside score's "past the training range" and "values
    unseen in training"."""
    import numpy as np

    from .encode import OTHER

    pre = detector.preprocessor_
    out: list[dict] = []
    medians = pre.inverse_numeric(np.zeros((1, len(pre.numeric))))[0]  # each column's centre, unscaled
    for c, median in zip(pre.numeric, medians.tolist()):
        low, high = c.training_range
        out.append({"column": c.name, "kind": "numeric", "low": low, "high": high, "median": median, "gaps": bool(c.missing_flag)})
    for c in pre.categorical:
        pooled = OTHER in c.vocab
        out.append({"column": c.name, "kind": "categorical", "values": len(c.vocab) - 1 - int(pooled), "pooled": pooled})
    return out


def _earlier(entry: dict) -> str:
    """An earlier threshold, and where calibrate found the rows that replaced it drifted (drift.drift_from), so."""
    if not entry.get("drift"):
        return f"{entry['threshold']:.4f}"
    return (f"{entry['threshold']:.4f} (on the rows that moved it: {entry['next_rows_flag_rate']:.1%} flagged, "
            f"{entry['expected_flag_rate']:.1%} expected: drift)")


def _number(x: float | None) -> str:
    """A training value as info shows it: whole numbers and those from a thousand up with thousands
    separators (a duration's 48,977, not 4.898e+04), the rest to four significant digits."""
    if x is None:
        return "?"
    if abs(x) >= 1e15:
        return f"{x:.4g}"
    if x == int(x) or abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def training_values_table(values: list[dict]):
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="what training held", title_justify="left")
    for c in ("column", "values"):
        t.add_column(c, overflow="fold")
    for v in values[:TRAINING_VALUES_SHOWN]:
        if v["kind"] == "numeric":
            held = f"{_number(v['low'])} to {_number(v['high'])}, median {_number(v['median'])}" + (", with gaps" if v["gaps"] else "")
        else:
            held = f"{v['values']:,} value{'s' if v['values'] != 1 else ''}" + (", rarer ones pooled as <other>" if v["pooled"] else "")
        t.add_row(escape(v["column"]), held)
    if len(values) > TRAINING_VALUES_SHOWN:
        t.caption = f"{len(values) - TRAINING_VALUES_SHOWN:,} more model columns (`vaeguard info --json` lists each)"
        t.caption_justify = "left"
    return t


def print_info(con, m: dict, detector, values: list[dict]) -> None:
    """`values`: training_values(detector), as info's --json gives them."""
    con.print(roles_table(m["schema"]))
    con.print(training_values_table(values))
    cal = detector.calibration_
    t = _pairs("model")
    mm, tr, hist = m["model"], m["training"], m["training"]["history"]
    t.add_row("type", f"{mm['variant']} latent {mm['latent_dim']}, hidden {','.join(map(str, mm['hidden']))}")
    t.add_row("score", f"{m['scoring']['score']} (K = {m['scoring']['samples']})" if m["scoring"]["score"] == "elbo" else m["scoring"]["score"])
    t.add_row("training", f"{tr['train_rows']:,} rows, {len(hist)} epochs (best {tr['best_epoch']}), batch {tr['batch_size']}, "
                          f"lr {tr['lr']}, beta {tr['beta']}, trim {tr['trim']}, seed {tr['seed']}")
    t.add_row("threshold", f"{cal.threshold:.4f} ({cal.mode} {cal.target:g}, {len(cal.scores):,} calibration rows)")
    if detector.given_names_:
        t.add_row("header", f"none in the table: {len(detector.given_names_)} names from --names, used again for files without one")
    if detector.events_:
        t.add_row("events", f"{', '.join(detector.events_)} records (--events: Suricata's event types, Zeek's logs in _path), "
                            "read again from the next JSON log")
    if detector.calibration_history_:
        t.add_row("earlier thresholds", ", ".join(_earlier(h) for h in detector.calibration_history_))
    if getattr(detector, "host_baselines_", None):
        t.add_row("hosts' own rates", "; ".join(f"{col}: {len(hosts):,} host{'s' if len(hosts) != 1 else ''}, "
                                                f"{sum(r for r, _ in hosts.values()):,} calibration rows"
                                                for col, hosts in detector.host_baselines_.items()) + " (score judges these hosts by them)")
    t.add_row("versions", f"vaeguard {m['vaeguard_version']}, checkpoint format {m['format_version']}, created {m.get('created')}")
    con.print(t)
    if hist:
        con.print("validation loss by epoch: " + sparkline([h["val_loss"] for h in hist]))


def sparkline(values: list[float]) -> str:
    ticks = "▁▂▃▄▅▆▇█"
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    step = max(1, len(values) // 60)
    out = [" " if v is None or not math.isfinite(v) else ticks[int((v - lo) / (hi - lo + 1e-12) * (len(ticks) - 1))] for v in values[::step]]
    return "".join(out) + f"  ({finite[0]:.3f} -> {finite[-1]:.3f})"


def plot_history(hist: list[dict], path: Path) -> None:
    from .errors import ConfigError
    from .io import atomic_write_bytes, check_output_folder

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ConfigError("--plot needs matplotlib: pip install 'vaeguard[report]'") from None
    # In the format the path's suffix names (a PNG without one), written whole or not at all.
    kind = path.suffix[1:].lower() or "png"
    check_output_folder(path)
    if kind not in FigureCanvasBase.get_supported_filetypes():
        raise ConfigError(f"--plot '{path}': matplotlib cannot write .{kind} files; end the path with .png, .svg or .pdf")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([h["epoch"] for h in hist], [h["train_loss"] for h in hist], label="train")
    ax.plot([h["epoch"] for h in hist], [h["val_loss"] for h in hist], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (negative ELBO per row)")
    ax.legend()
    atomic_write_bytes(path, figure_bytes(fig, kind))


def figure_bytes(fig, kind: str = "png") -> bytes:
    """A matplotlib figure drawn in memory in the format `kind` (png, svg, pdf...), and closed: written whole
    or not at all by the caller's atomic write."""
    import io

    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=kind, dpi=110)
    plt.close(fig)
    return out.getvalue()


# ---- explain -----------------------------------------------------------------------------------------
def nats(x: float, sign: bool = False) -> str:
    """A contribution in nats as explain shows it: three significant digits; 0 under half a thousandth, where
    a density's 1e-23 or a near-certain category's 4.8e-05 had read as a cost to weigh; whole nats from a
    thousand up, not 1.23e+04."""
    if not math.isfinite(x):
        return f"{x:+}" if sign else f"{x}"
    if abs(x) < 0.0005:
        return "0"
    if abs(x) >= 999.5:  # where three digits would round to 1e+03
        return f"{x:+,.0f}" if sign else f"{x:,.0f}"
    return f"{x:+.3g}" if sign else f"{x:.3g}"


def _observed(value, training_range) -> str:
    """explain's observed value, and where a number lies past what training held, how far: "129941 (past
    128,348)", "0 (under 48)"."""
    shown = str(value)
    if training_range is None or isinstance(value, bool):
        return shown
    if not isinstance(value, numbers.Real):
        try:  # a log's numbers are read as text and converted as they are encoded
            value = float(value)
        except (TypeError, ValueError):
            return shown
    low, high = training_range
    if high is not None and value > high:
        return f"{shown} (past {_number(high)})"
    if low is not None and value < low:
        return f"{shown} (under {_number(low)})"
    return shown


def print_explanation(con, row: int, scored, table, threshold: float, top: int = 0) -> None:
    """`table` (explain.explain's, largest excess first) as a table; its first `top` columns where `top` is set."""
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"row {row}: score {scored['anomaly_score']:.4g} (threshold {threshold:.4g}, "
                    f"p-value {scored['p_value']:.4f}){' FLAGGED' if scored['is_anomaly'] else ''}", title_justify="left")
    for c in ("column", "observed", "expected", "contribution", "typical", "excess"):
        # Column names are never cut: long ones wrap.
        t.add_column(c, justify="right" if c in ("contribution", "typical", "excess") else "left",
                     overflow="fold", no_wrap=False, min_width=len(c))
    rest = table.iloc[top:] if top else table.iloc[:0]
    if len(rest):
        table = table.iloc[:top]
        t.caption = f"{len(rest):,} more columns, none adding more than {nats(rest['excess'].max(), sign=True)} (--top 0 shows every column)"
        t.caption_justify = "left"
    for r in table.itertuples():
        exp = f"{r.expected:.4g}" if isinstance(r.expected, float) else str(r.expected)
        t.add_row(escape(str(r.column)), escape(_observed(r.observed, r.training_range)), escape(exp), nats(r.contribution), nats(r.typical), nats(r.excess, sign=True),
                  style="bold" if r.excess > 1 else None)
    con.print(t)
