"""Detection metrics against known labels, and an optional report folder of plots and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .drift import DriftCheck
from .encode import MISSING
from .errors import ConfigError, InputError
from .io import atomic_write_bytes, check_output_folder
from .schema import SCORE_COLUMNS

# A label column with more distinct values than this is not read for unused_labels (ids, free text).
LABEL_VALUES = 1000


def label_column(frame: pd.DataFrame, label: str, what: str = "label column") -> pd.Series:
    """The label column `label` of `frame`, or an error that names the columns there are."""
    if label not in frame.columns:
        from .schema import did_you_mean

        raise InputError(f"{what} '{label}' is not in the table{did_you_mean([label], [str(c) for c in frame.columns])}; "
                         f"columns: {', '.join(map(str, frame.columns[:30]))}")
    return frame[label]


# The names `evaluate` takes for its label column when --label is not given, in this order: a yes/no
# answer before an attack's name (UNSW-NB15 has label and attack_cat, IoT-23 label and detailed-label).
# Each is a name fit leaves out as a data set's answer (schema.ground_truth_name).
LABEL_GUESSES = ("label", "is_attack", "malicious", "is_malicious", "ground_truth", "labels", "attack", "attack_type",
                 "attack_cat", "detailed-label", "detailed_label")


def guess_label(columns) -> str:
    """The column `evaluate` reads as the label when --label is not given: the first of LABEL_GUESSES that
    names one (case and surrounding spaces aside: CIC-IDS2017's ' Label'), or an error that asks for --label."""
    by_name = {}
    for c in columns:
        by_name.setdefault(str(c).strip().lower(), str(c))
    for name in LABEL_GUESSES:
        if name in by_name:
            return by_name[name]
    from .schema import maybe_label_name

    maybe = [str(c) for c in columns if maybe_label_name(c)]
    hint = f" ({', '.join(repr(c) for c in maybe)} may be one)" if maybe else ""
    raise InputError(f"no column is named as a label ({', '.join(LABEL_GUESSES[:3])}...); give the one that holds each row's "
                     f"answer with --label COLUMN{hint}; columns: {', '.join(map(str, list(columns)[:30]))}")


# The values label_vector may call normal, whatever else the column holds: a row with another value is
# anomalous under every reading, so it can be dropped before the whole column has been seen.
NORMAL_VALUES = frozenset({"normal", "benign", "0", "0.0", "false", "negative"})


class LabelCodes:
    """Each row's label, chunk by chunk, as a code for its text as label_vector reads it (`texts[code]`),
    with the rows of each; `anomalous` reads the whole column's values as label_vector does. A label is
    known only from the whole column ('neptune' is an attack where the column also holds 'normal'), and a
    table read in chunks is never whole."""

    def __init__(self, label: str | None, positive: str | None):
        self.label, self.positive = label, positive  # label None: guess_label on the first chunk
        self.texts: list[str] = []
        self.rows: list[int] = []  # per code
        self._code: dict[str, int] = {}
        self._seen = 0

    def codes(self, chunk: pd.DataFrame) -> np.ndarray:
        """The codes of `chunk`'s rows (int32). A missing label stops the read: the row has no answer."""
        if self.label is None:
            self.label = guess_label(chunk.columns)
        column = label_column(chunk, self.label)
        missing = int(column.isna().sum())
        if missing:
            raise InputError(f"label column '{self.label}' has missing values ({missing:,} in rows {self._seen + 1:,} to "
                             f"{self._seen + len(chunk):,}); fill them or drop those rows")
        self._seen += len(chunk)
        codes = self._coded(column, learn=True)
        for c, n in enumerate(np.bincount(codes, minlength=len(self.texts))):
            self.rows[c] += int(n)
        return codes

    def _coded(self, column: pd.Series, learn: bool) -> np.ndarray:
        """Each value's code, a value at a time (a label holds a few); `learn`: new texts get codes."""
        inverse, values = pd.factorize(column)
        mine = np.empty(len(values), dtype=np.int32)
        for i, v in enumerate(values):
            text = str(v).strip().lower()
            if learn and text not in self._code:
                self._code[text] = len(self.texts)
                self.texts.append(text)
                self.rows.append(0)
            mine[i] = self._code[text]
        return mine[inverse]

    def maybe_normal(self) -> np.ndarray:
        """Per code, whether the whole column could still call it normal: a row of another is anomalous
        under every reading of the column."""
        if self.positive is None:
            return np.array([t in NORMAL_VALUES for t in self.texts], dtype=bool)
        return ~positive_texts(self.texts, self.positive)

    def anomalous(self, need_positive: bool = True) -> np.ndarray:
        """Per code, 1 where the whole column's values (label_vector) call it anomalous."""
        return label_vector(pd.Series(self.texts, name=self.label, dtype=object), self.positive, need_positive=need_positive)


class LabelledNormalRows(LabelCodes):
    """Chunk by chunk, the rows column `label` may call normal (a boolean mask per chunk, for read_table's
    `row_filter`); `finish` keeps those the whole column calls normal. fit --label --max-rows samples
    among the normal rows this way: sampled first, a capture that is 92% attacks (IoT-23's) kept a
    twelfth of its sample."""

    def __init__(self, label: str, positive: str | None, name: str, command: str):
        super().__init__(label, positive)
        self.name, self.command = name, command

    def __call__(self, chunk: pd.DataFrame) -> np.ndarray:
        codes = self.codes(chunk)
        return self.maybe_normal()[codes]

    def finish(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """(the rows of `frame`, as kept chunk by chunk, that the whole column calls normal, how many rows
        of the whole table it calls anomalous)."""
        if not self.texts:  # no rows at all: the caller says the table is empty
            return frame, 0
        anomalous = self.anomalous(need_positive=False) == 1
        n_anomalous = sum(n for n, a in zip(self.rows, anomalous) if a)
        if n_anomalous == sum(self.rows):
            raise InputError(f"every row of '{self.name}' is labelled anomalous in '{self.label}': {self.command} needs normal rows")
        keep = ~anomalous[self._coded(frame[self.label], learn=False)]  # rows counted as they were read
        return (frame if keep.all() else frame[keep].reset_index(drop=True)), n_anomalous


def unused_labels(frame: pd.DataFrame, roles: dict | None) -> tuple[str, int] | None:
    """A column ignored by its name as each row's label (schema.ground_truth_name) that calls some of the
    rows anomalous, read as evaluate reads it, and how many: (name, rows), or None. Fitted on as they are,
    those rows teach the model their traffic is normal; --label would have left them out."""
    from .schema import ground_truth_name

    for name in frame.columns:
        if not ground_truth_name(name) or name in (roles or {}):
            continue
        try:
            counts = frame[name].value_counts()  # a label has a few values: read them, not every row
            if not 1 < len(counts) <= LABEL_VALUES:
                continue
            anomalous = label_vector(pd.Series(counts.index, name=name), None) == 1
        except (InputError, TypeError):  # values that say nothing of which is normal (IoT-23's detailed-label), or cannot be counted
            continue
        if anomalous.any():
            return str(name), int(counts.to_numpy()[anomalous].sum())
    return None


def positive_texts(texts, positive: str) -> np.ndarray:
    """Which of `texts` (labels as label_vector reads them: stripped, lower case) --positive names: the value
    itself, or, where it holds * or ?, each value the pattern matches ('*botnet*': CTU-13's labels name each
    capture's bot, flow=From-Botnet-V42-TCP-CC6-Plain-HTTP-Encrypted-Data, in hundreds of values)."""
    import fnmatch

    wanted = str(positive).strip().lower()
    if "*" in wanted or "?" in wanted:
        return np.array([fnmatch.fnmatchcase(t, wanted) for t in texts], dtype=bool)
    return np.array([t == wanted for t in texts], dtype=bool)


def label_vector(labels: pd.Series, positive: str | None, need_positive: bool = True) -> np.ndarray:
    """1 for anomalous rows. Without --positive: 1/true/anomaly/attack-like values, or anything that is not
    'normal'/'benign'/0 when the column holds such a value. need_positive: a --positive value no row holds is
    an error (a misspelling, to evaluate; to calibrate, rows all normal are what it wants)."""
    s = labels.astype(object)
    if s.isna().any():
        raise InputError(f"label column '{labels.name}' has {int(s.isna().sum())} missing values; fill them or drop those rows")
    text = s.map(lambda v: str(v).strip().lower())
    if positive is not None:
        distinct = pd.unique(text.to_numpy())
        y = text.map(dict(zip(distinct, positive_texts(distinct, positive)))).to_numpy(dtype=bool)
        if need_positive and not y.any():
            raise InputError(f"no row of '{labels.name}' {'matches' if set('*?') & set(str(positive)) else 'equals'} --positive "
                             f"{positive!r}; values seen: {', '.join(sorted(set(text))[:10])}")
        return y.astype(int)
    values = set(text)
    if values <= {"0", "1", "0.0", "1.0", "true", "false"}:
        return text.isin({"1", "1.0", "true"}).to_numpy().astype(int)
    for normal in ("normal", "benign", "0", "false", "negative"):
        if normal in values:
            return (text != normal).to_numpy().astype(int)
    raise InputError(
        f"cannot tell which values of '{labels.name}' mean anomaly; pass --positive VALUE (values seen: {', '.join(sorted(values)[:10])})"
    )


def metrics(y: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

    if len(set(y.tolist())) < 2:
        raise InputError("the labels hold only one class; evaluation needs both normal and anomalous rows")
    p, r, f1, _ = precision_recall_fscore_support(y, flags, average="binary", zero_division=0)
    tn, fp, fn, tp = confusion_matrix(y, flags, labels=[0, 1]).ravel()
    return {
        "rows": int(len(y)), "anomalies": int(y.sum()), "roc_auc": float(roc_auc_score(y, scores)),
        "pr_auc": float(average_precision_score(y, scores)), "precision": float(p), "recall": float(r), "f1": float(f1),
        "confusion": {"true_negative": int(tn), "false_positive": int(fp), "false_negative": int(fn), "true_positive": int(tp)},
        "false_positive_rate": float(fp / max(1, fp + tn)),
    }


# A --by column with more distinct values than this is no kind of row (an id, a time): evaluate says so.
BY_VALUES = 1000


class ValueCodes:
    """Each row's value of the --by column, chunk by chunk, as a code for its text (`texts[code]`); a gap
    is a value of its own (IoT-23's detailed-label is unset, '-', on its benign rows)."""

    def __init__(self, name: str):
        self.name = name
        self.texts: list[str] = []
        self._code: dict[str, int] = {}

    def codes(self, chunk: pd.DataFrame) -> np.ndarray:
        column = label_column(chunk, self.name, what="--by column")
        inverse, values = pd.factorize(column, use_na_sentinel=True)
        mine = np.empty(len(values) + 1, dtype=np.int32)
        for i, v in enumerate([*values, None]):
            text = MISSING if v is None else str(v).strip()
            if text not in self._code:
                if len(self.texts) >= BY_VALUES:
                    raise InputError(f"--by column '{self.name}' has more than {BY_VALUES:,} values; it takes a column of kinds "
                                     "(an attack's type, a protocol, a service), not one of ids or times")
                self._code[text] = len(self.texts)
                self.texts.append(text)
            mine[i] = self._code[text]
        return mine[inverse]  # the sentinel -1 picks the last entry: the gap's code


def breakdown(texts: list[str], codes: np.ndarray, y: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> list[dict]:
    """Per value of the --by column (most rows first): its rows, those labelled anomalous, those flagged,
    and how its anomalous rows rank against every row labelled normal (ROC-AUC; None without any): which
    kinds of attack the model finds, and which it misses."""
    normal = np.sort(scores[y == 0])
    out = []
    for code in np.argsort(-np.bincount(codes, minlength=len(texts)), kind="stable"):
        mine = codes == code
        if not mine.any():
            continue
        bad = scores[mine & (y == 1)]
        auc = None
        if len(bad) and len(normal):
            # The share of normal rows each anomalous row outscores, ties counted half: the Mann-Whitney form of ROC-AUC.
            below = np.searchsorted(normal, bad, side="left")
            ties = np.searchsorted(normal, bad, side="right") - below
            auc = float((below + 0.5 * ties).mean() / len(normal))
        out.append({"value": texts[code], "rows": int(mine.sum()), "anomalous": int((mine & (y == 1)).sum()),
                    "flagged": int(flags[mine].sum()), "roc_auc_against_normal": auc})
    return out


def host_detection(host_labels: dict[str, dict[str, tuple[int, int]]], tallies: dict, detector) -> dict[str, dict[str, int]]:
    """Per address column, the hosts score names as drifting on their own rows (drift.drifting_hosts over
    `tallies`, every one) against the labels (`host_labels`: per column, each host's rows and rows labelled
    anomalous): how many it names, how many of those are anomalous hosts (most of their rows labelled
    anomalous), how many such hosts the table holds, and how many hosts in all. Whose traffic the flags
    are, measured as the flags themselves are."""
    from .drift import drifting_hosts, expected_rate

    p0, p_high = expected_rate(detector.calibration_)
    shown = sum(len(counts) for counts in host_labels.values()) + 1
    named = drifting_hosts(tallies, p_high, shown=shown, baselines=getattr(detector, "host_baselines_", None), p0=p0)
    out = {}
    for name, counts in host_labels.items():
        if not counts:
            continue
        anomalous = {host for host, (rows, bad) in counts.items() if bad > 0.5 * rows}
        mine = [h["host"] for h in named if h["column"] == name]
        out[name] = {"named": len(mine), "named_anomalous": sum(h in anomalous for h in mine), "anomalous_hosts": len(anomalous),
                     "hosts": len(counts)}
    return out


PAGE_SUFFIXES = (".html", ".htm")


def report_page_only(target: Path) -> bool:
    """Whether --report names the page itself (a path ending in .html that is no folder), not a folder for
    the report's files; such a page's folder must be there, as --out's must (checked before the scoring)."""
    page = target.suffix.lower() in PAGE_SUFFIXES and not target.is_dir()
    if page:
        check_output_folder(target)
    return page


def write_report(target: Path, y: np.ndarray, scores: np.ndarray, threshold: float, result: dict,
                 top: pd.DataFrame | None = None, top_y: np.ndarray | None = None) -> list[Path]:
    """Score histogram (normal vs anomalous, with the threshold), ROC and precision-recall curves, metrics JSON,
    and report.html: all of it in one self-contained page (plots embedded) with the top flagged rows (`top`,
    as scored, with their labels `top_y`). `target` is the folder for those files, or a path ending in .html
    for the page alone (`--report report.html` wrote a folder of that name). Each file is written whole or
    not at all."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--report needs matplotlib: pip install 'vaeguard[report]'") from None
    from sklearn.metrics import precision_recall_curve, roc_curve

    from .render import figure_bytes

    page_only = report_page_only(target)
    plots = []
    # Scores span orders of magnitude (an exfiltration row can score 1e8): plot them on a log axis.
    shown = np.log10(np.maximum(scores - min(scores.min(), threshold) + 1.0, 1.0))
    thr = np.log10(threshold - min(scores.min(), threshold) + 1.0)
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(shown.min(), shown.max() + 1e-9, 60)
    ax.hist(shown[y == 0], bins=bins, alpha=0.6, label="normal", density=True)
    ax.hist(shown[y == 1], bins=bins, alpha=0.6, label="anomalous", density=True)
    ax.axvline(thr, color="k", linestyle="--", label="threshold")
    ax.set_xlabel("log10(score - min + 1)")
    ax.set_ylabel("density")
    ax.legend()
    ax.set_title("anomaly scores")
    plots.append(("score_histogram", figure_bytes(fig)))
    fpr, tpr, _ = roc_curve(y, scores)
    fig, ax = plt.subplots(figsize=(4.4, 4))  # as tall as the histogram: the page shows them at one height, one text size
    ax.plot(fpr, tpr, label=f"ROC-AUC {result['roc_auc']:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.legend(loc="lower right")
    plots.append(("roc", figure_bytes(fig)))
    prec, rec, _ = precision_recall_curve(y, scores)
    fig, ax = plt.subplots(figsize=(4.4, 4))  # as tall as the histogram: the page shows them at one height, one text size
    ax.plot(rec, prec, label=f"PR-AUC {result['pr_auc']:.3f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(loc="lower left")
    plots.append(("precision_recall", figure_bytes(fig)))
    if page_only:
        return [_write_html(target, plots, result, top, top_y)]
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in plots:
        atomic_write_bytes(target / f"{name}.png", data)
        written.append(target / f"{name}.png")
    atomic_write_bytes(target / "metrics.json", json.dumps(result, indent=1).encode("utf-8"))
    written.append(target / "metrics.json")
    written.append(_write_html(target / "report.html", plots, result, top, top_y))
    return written


TOP_ROWS = 25


def report_value(v) -> str:
    """A value as the report's table shows it. Counts read with gaps come as floats, and four significant
    digits made 13,115 bytes '1.312e+04' and an epoch time '1.545e+09': a whole number is shown whole, and
    a number of five digits or more before the point as written (Python's shortest round-trip form); a gap
    as the model names one."""
    if v is None or v is pd.NA or v is pd.NaT:
        return MISSING
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return MISSING
        if v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(v) if abs(v) >= 1e4 else f"{v:.4g}"
    return str(v)


def _write_html(path: Path, images: list[tuple[str, bytes]], result: dict, scored: pd.DataFrame | None, y: np.ndarray) -> Path:
    """One page that can be mailed or opened from a cron host: no external files, no scripts. `images`: each
    plot's name and PNG bytes."""
    import base64
    import html

    def cell(v) -> str:
        return html.escape(report_value(v))

    c = result["confusion"]
    metrics = "".join(f"<tr><th>{k.replace('_', ' ')}</th><td>{result[k]:.4f}</td></tr>"
                      for k in ("roc_auc", "pr_auc", "precision", "recall", "f1", "false_positive_rate"))
    drift = result.get("drift") or {}
    drift_line = f"<p class=warn>{html.escape(DriftCheck(**drift).message())}</p>" if drift.get("drift") else ""
    plots = "".join(
        f'<figure><img alt="{name.replace("_", " ")}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        f"<figcaption>{name.replace('_', ' ')}</figcaption></figure>" for name, data in images
    )
    hosts = ""
    if result.get("hosts"):
        body = "".join(f"<tr><th>{html.escape(name)}</th><td>{h['named']:,}</td><td>{h['named_anomalous']:,}</td>"
                       f"<td>{h['anomalous_hosts']:,}</td><td>{h['hosts']:,}</td></tr>" for name, h in result["hosts"].items())
        hosts = ("<h2>Hosts named as drifting on their own rows</h2><table class=hosts><tr><th>column</th><th>named</th>"
                 f"<th>of them anomalous</th><th>anomalous hosts</th><th>hosts</th></tr>{body}</table>")
    by = ""
    if result.get("by"):
        body = "".join(f"<tr><td>{html.escape(v['value'])}</td><td>{v['rows']:,}</td><td>{v['anomalous']:,}</td>"
                       f"<td>{v['flagged']:,} ({v['flagged'] / v['rows']:.1%})</td>"
                       f"<td>{'' if v['roc_auc_against_normal'] is None else format(v['roc_auc_against_normal'], '.3f')}</td></tr>"
                       for v in result["by"]["values"])
        by = (f"<h2>By {html.escape(result['by']['column'])}</h2><table class=by><tr><th>value</th><th>rows</th><th>anomalous</th>"
              f"<th>flagged</th><th>ROC-AUC against the normal rows</th></tr>{body}</table>")
    rows = ""
    if scored is not None and len(scored):
        # The rows picked before the label is put beside them: a column added to a wide table (a block per column)
        # had pandas warn of fragmentation on stderr.
        picked = scored["anomaly_score"].reset_index(drop=True).sort_values(ascending=False).head(TOP_ROWS).index.to_numpy()
        top, labels = scored.iloc[picked], np.asarray(y)[picked]
        # Why a row scored as it did comes first, beside its label; then the row's first twelve columns, the
        # times, addresses and ports that find it in the log (a wide log put top_features out of sight).
        why = [col for col in SCORE_COLUMNS if col in top.columns]
        shown = [col for col in top.columns if col not in why][:12]
        head = ("".join(f"<th>{html.escape(str(col))}</th>" for col in why) + "<th>labelled anomalous</th>"
                + "".join(f"<th>{html.escape(str(col))}</th>" for col in shown))
        body = "".join("<tr>" + "".join(f"<td>{cell(r[col])}</td>" for col in why) + f"<td>{'yes' if label else 'no'}</td>"
                       + "".join(f"<td>{cell(r[col])}</td>" for col in shown) + "</tr>" for (_, r), label in zip(top.iterrows(), labels))
        # A wide table scrolls inside its box: the page keeps its width, and top_features stays reachable.
        rows = f"<h2>Top {len(top)} rows by score</h2><div class=scroll><table class=rows><tr>{head}</tr>{body}</table></div>"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vaeguard evaluation</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
th,td{{border:1px solid #bbb;padding:3px 8px;text-align:left;font-size:13px}}th{{background:#eee}}
figure{{display:inline-block;vertical-align:top;margin:0 1em 1em 0}}img{{height:340px;max-width:100%;object-fit:contain}}
.scroll{{overflow-x:auto}}.warn{{color:#a40}}</style></head>
<body><h1>vaeguard evaluation</h1>
<p>{result['rows']:,} rows, {result['anomalies']:,} labelled anomalous; threshold {result['threshold']:.4f}.</p>
{drift_line}
<h2>Metrics</h2><table class=metrics>{metrics}</table>
<h2>Confusion matrix</h2><table class=confusion><tr><th></th><th>flagged</th><th>not flagged</th></tr>
<tr><th>anomalous</th><td>{c['true_positive']:,}</td><td>{c['false_negative']:,}</td></tr>
<tr><th>normal</th><td>{c['false_positive']:,}</td><td>{c['true_negative']:,}</td></tr></table>
{hosts}
{by}
<h2>Plots</h2>{plots}
{rows}
</body></html>
"""
    atomic_write_bytes(path, page.encode("utf-8"))
    return path
