"""Scoring: rows in, per-row scores and per-column contributions out.

`score_rows` is the one computation; `score_frame` / `score_chunk` format it as the table every path
writes (the CLI's streaming loop, the Python API, Dask and Spark), so a row gets the same score
whichever way it is scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .encode import UNSEEN_VALUES_KEPT, Encoded
from .forward import one_blas_thread
from .hosts import HostTally, add_tallies, tally_hosts
from .parallel import thread_map
from .schema import SCORE_COLUMNS, check_columns, host_columns

if TYPE_CHECKING:
    from .detector import Detector

TOP_K = 3
# pandas' own dtype for text ("str" from pandas 3, object before), so an empty chunk and a full one
# agree; Dask and Spark need to know the output's types before they see a row.
TEXT_DTYPE = pd.Series(["x"]).dtype
SCORE_DTYPES = {"anomaly_score": np.dtype("float64"), "p_value": np.dtype("float64"), "is_anomaly": np.dtype("int8"), "top_features": TEXT_DTYPE}


@dataclass
class ChunkReport:
    """What scoring saw, summed over chunks: counts for the summary and the drift check."""

    rows: int = 0
    flagged: int = 0
    malformed: dict[str, int] = field(default_factory=dict)  # text where a number belongs, per column
    unknown: dict[str, int] = field(default_factory=dict)  # category values never seen in training
    new_missing: dict[str, int] = field(default_factory=dict)  # gaps in columns that training never left empty
    broken: dict[str, int] = field(default_factory=dict)  # constant columns holding another value
    # The most frequent of the unseen and changed values by column, counted (approximate past UNSEEN_VALUES_KEPT).
    new_values: dict[str, dict[str, int]] = field(default_factory=dict)
    contribution_sum: np.ndarray | None = None  # per model column, for the drift check
    novel_flagged: int = 0  # rows flagged whatever the threshold: values training never held, counts far past its range
    hosts: dict[str, HostTally] = field(default_factory=dict)  # rows and flagged rows by host, per address column
    decimal_comma: dict[str, int] = field(default_factory=dict)  # numbers read with a decimal comma training's lacked
    past_range: dict[str, int] = field(default_factory=dict)  # log-scaled numbers past the training range, per column

    def add(self, other: "ChunkReport") -> None:
        self.rows += other.rows
        self.flagged += other.flagged
        self.novel_flagged += other.novel_flagged
        for mine, theirs in ((self.malformed, other.malformed), (self.unknown, other.unknown),
                             (self.new_missing, other.new_missing), (self.broken, other.broken), (self.decimal_comma, other.decimal_comma),
                             (self.past_range, other.past_range)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        for name, theirs in other.new_values.items():
            mine = dict(self.new_values.get(name, {}))
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
            self.new_values[name] = dict(sorted(mine.items(), key=lambda kv: -kv[1])[:UNSEEN_VALUES_KEPT])
        if other.contribution_sum is not None:
            self.contribution_sum = other.contribution_sum.copy() if self.contribution_sum is None else self.contribution_sum + other.contribution_sum
        add_tallies(self.hosts, other.hosts)

    def evidence(self) -> dict[str, dict[str, int]]:
        """The non-empty per-column counts of things training never had, by kind."""
        kinds = {"text in numeric columns": self.malformed, "values unseen in training": self.unknown,
                 "missing where training had none": self.new_missing, "constant columns changed": self.broken,
                 "past the training range": self.past_range}
        return {k: v for k, v in kinds.items() if v}


@dataclass
class RowScores:
    scores: np.ndarray  # (n,) higher = more anomalous, in nats
    contributions: np.ndarray  # (n, model columns): each column's share of the score
    encoded: Encoded
    # (n, model columns) where scoring flagged a row whatever the threshold (`rare_novelty`, as
    # `_fixed_and_rare` found it), or None where nothing was
    rare: np.ndarray | None = None


def network_scores(detector: "Detector", enc: Encoded, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The network's part of the score for encoded rows, in fixed-size batches: numpy's pass on the CPU
    (forward.py, no torch), torch's on a GPU. workers: CPU threads, each taking whole batches (a caller
    that is not already scoring chunks on threads of its own: fit's held-out rows)."""
    net = detector.network_
    kind = detector.score_kind_
    on_gpu = detector.device_ != "cpu"
    if on_gpu:
        import torch

        model = detector.model_.eval()
        eps = torch.from_numpy(detector.eps_).to(detector.device_)
    n = enc.x_num.shape[0]
    scores = np.empty(n, dtype=np.float64)
    contrib = np.empty((n, net.shape.n_num + len(net.shape.vocab_sizes)), dtype=np.float64)
    rows = net.shape.score_batch_rows(detector.eps_.shape[0] if kind == "elbo" else 1)

    def batch(start: int) -> None:
        sl = slice(start, start + rows)
        part = [a[sl] for a in enc.inputs]
        m = part[0].shape[0]
        if m < rows:
            # Always the same batch shape: matrix kernels pick their summation order by shape, so a row
            # scored in a short batch could differ in the last bits from the same row in a full one.
            # Padding makes scores byte-identical whatever the chunking.
            part = [np.concatenate([a, np.zeros((rows - m, a.shape[1]), a.dtype)]) for a in part]
        if on_gpu:
            s, c = model.score(*(torch.from_numpy(a).to(detector.device_) for a in part), kind=kind, eps=eps)
            s, c = s.cpu().numpy(), c.cpu().numpy()
        else:
            s, c = net.score(*part, kind=kind, eps=detector.eps_)
        scores[sl] = s[:m]  # float32 to float64 by numpy on assignment: one pass, not two
        contrib[sl] = c[:m]

    with one_blas_thread():
        thread_map(batch, range(0, n, rows), 1 if on_gpu else workers)
    return scores, contrib


def fixed_terms(detector: "Detector", enc: Encoded) -> np.ndarray:
    """The per-column terms outside the network, with novelty raised to the calibration's floor.

    A value training never held, where the training counts put the chance of such a value below the
    calibrated false-positive rate, is by itself reason enough to flag: flagging every such row costs
    less than the rate the threshold already allows.
    """
    return _fixed_and_rare(detector, enc)[0]


def _fixed_and_rare(detector: "Detector", enc: Encoded) -> tuple[np.ndarray, np.ndarray | None]:
    """`fixed_terms`, and the rare novelties it raised (`rare_novelty`; None where no floor applies: no
    calibration yet, or neither a value training never held nor a term as large as the floor)."""
    cal = getattr(detector, "calibration_", None)
    if cal is None or not cal.novelty_floor:
        return enc.fixed, None
    far = bool(enc.fixed.size) and enc.fixed.max() >= cal.novelty_floor  # a range term that large (rare_novelty)
    if not far and not enc.novel.any():
        return enc.fixed, None
    rare = rare_novelty(enc, cal.target, cal.novelty_floor if far else math.inf)
    return np.where(rare, np.maximum(enc.fixed, cal.novelty_floor), enc.fixed), rare


def rare_cost(target: float) -> float:
    """The term (nats) past which a value is rarer than the calibrated rate `target`: one this large on its own may
    flag its row whatever the threshold (rare_novelty; the exported graph and recalibrate use it too)."""
    return -math.log(target)


def rare_novelty(enc: Encoded, target: float, floor: float = math.inf) -> np.ndarray:
    """Per row and model column: a value training never held, where the training counts put the chance of
    such a value below `target` (the calibrated rate), which flags the row whatever the threshold; and a
    term as large as the calibration's `floor` on its own (a number far past the training range), as the
    exported graph tells a raised novelty, which flags it too."""
    return (enc.novel | (enc.fixed >= floor)) & (enc.fixed > rare_cost(target))


def score_encoded(detector: "Detector", enc: Encoded, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Network terms plus the fixed terms the network never sees (unseen categories, new gaps, ...)."""
    return _scored(detector, enc, workers)[:2]


def _scored(detector: "Detector", enc: Encoded, workers: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """`score_encoded`, and the rare novelties that flagged rows whatever the threshold (`_fixed_and_rare`)."""
    scores, contrib = network_scores(detector, enc, workers)
    fixed, rare = _fixed_and_rare(detector, enc)
    extra = fixed.shape[1] - contrib.shape[1]
    if extra:
        contrib = np.concatenate([contrib, np.zeros((contrib.shape[0], extra))], axis=1)
    contrib = contrib + fixed
    scores = scores + fixed.sum(axis=1)
    if rare is not None:
        scores, contrib = lift_rare_novelty(detector.calibration_.threshold, rare, scores, contrib)
    return scores, contrib, rare


def lift_rare_novelty(threshold: float, rare: np.ndarray, scores: np.ndarray, contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows holding a rare novelty (`rare`, see `fixed_terms`) that still score at or below the threshold,
    raised to the threshold plus the floor's margin of 1, on their novel columns' contributions (shared
    equally), in place.

    The floor assumes that the rest of such a row scores at least as the lowest calibration row does; a
    value the network no longer sees (a gap where training had none, an unseen category) takes its own
    term out of the network's part, which can then fall below that: a row of the sample with its
    src_bytes left empty scored 21.58 against a threshold of 21.61, and was not flagged."""
    short = rare.any(axis=1) & (scores <= threshold)
    if short.any():
        lift = threshold + 1.0 - scores[short]
        cols = rare[short]
        scores[short] += lift
        contrib[short, : cols.shape[1]] += (lift / cols.sum(axis=1))[:, None] * cols
    return scores, contrib


def score_rows(detector: "Detector", df: pd.DataFrame, strict: bool = False, unset: tuple[str, ...] = ()) -> RowScores:
    """Score a table against a fitted detector: scores, per-column contributions and what was unusual."""
    return score_network(detector, encode_chunk(detector, df, strict=strict, unset=unset))


def top_features(excess: np.ndarray, names: list[str], k: int = TOP_K, copy: bool = True):
    """For each row, the k columns whose contribution most exceeds their typical value, joined by ';'.

    Returns pandas text (TEXT_DTYPE). copy=False lets it overwrite `excess` (a caller's own temporary).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n, m = excess.shape
    k = min(k, m)
    if n == 0 or k == 0:
        return pd.array(np.full(n, "", dtype=object), dtype=TEXT_DTYPE)
    # k passes of argmax, each knocking out the column it found: for k = 3 of a few dozen columns this
    # is faster than a top-k or a partition, and ties go to the first column, as a stable sort would.
    # Each pass knocks out what it found: a copy, unless the caller hands over its own temporary.
    excess = np.array(excess, dtype=np.float64) if copy else np.asarray(excess, dtype=np.float64)
    rows = np.arange(n)
    label = pa.array(names, type=pa.large_string())
    parts = []
    for _ in range(k):
        j = excess.argmax(axis=1)
        excess[rows, j] = -np.inf
        parts.append(label.take(j))
    # Joined in Arrow: Python string concatenation cost a second and a half per million rows.
    joined = pc.binary_join_element_wise(*parts, pa.scalar(";", pa.large_string())) if k > 1 else parts[0]
    if not isinstance(TEXT_DTYPE, pd.StringDtype):  # pandas 2: text is Python strings
        return pd.array(joined.to_numpy(zero_copy_only=False), dtype=object)
    return pd.array(joined, dtype=TEXT_DTYPE)


def score_chunk(detector: "Detector", df: pd.DataFrame, strict: bool = False, unset: tuple[str, ...] = ()) -> tuple[pd.DataFrame, ChunkReport]:
    """`df` scored, and what its scoring saw. `unset`: columns a table may leave out and be read as unset there
    (a model's optional columns, where a Spark or Dask frame read from JSON records or their Parquet lacks a
    field none of them set); see check_table."""
    return finish_chunk(detector, df, score_rows(detector, df, strict=strict, unset=unset))


def check_table(detector: "Detector", df: pd.DataFrame, unset: tuple[str, ...] = ()) -> pd.DataFrame:
    """Check that the model's columns are all in `df`, but for those a table may leave out
    (Preprocessor.may_be_absent, and `unset`: see score_chunk), and return `df` with any of those it leaves out
    added as unset, for the encoder: the scored output keeps the table's own columns."""
    may_be_absent = [*detector.preprocessor_.may_be_absent, *unset]
    # A model fitted before padded CSV names were read without their spaces (CICFlowMeter's ' Flow Duration')
    # still finds its columns under those names.
    padded = {s.name.strip(" "): s.name for s in detector.schema_ if s.name != s.name.strip(" ")}
    if padded:
        df = df.rename(columns={bare: name for bare, name in padded.items() if bare in df.columns and name not in df.columns})
    check_columns(df, detector.schema_, may_be_absent)
    absent = [c for c in may_be_absent if c not in df.columns]
    return df.assign(**{c: pd.Series(None, index=df.index, dtype=object) for c in absent}) if absent else df


def encode_chunk(detector: "Detector", df: pd.DataFrame, strict: bool = False, unset: tuple[str, ...] = ()) -> Encoded:
    """The first third of `score_chunk` (checks and encoding), for pipelines that run it on another thread."""
    return detector.preprocessor_.transform(check_table(detector, df, unset), strict=strict)


def score_network(detector: "Detector", enc: Encoded) -> RowScores:
    """The second third of `score_chunk`: the network and the fixed terms."""
    scores, contrib, rare = _scored(detector, enc)
    return RowScores(scores, contrib, enc, rare)


def finish_chunk(detector: "Detector", df: pd.DataFrame, rs: RowScores) -> tuple[pd.DataFrame, ChunkReport]:
    """The last third of `score_chunk`: flags, p-values and top features appended to `df`, and the counts."""
    cal = detector.calibration_
    flags = cal.flags(rs.scores)
    out = df.copy() if any(c in df.columns for c in SCORE_COLUMNS) else df
    extra = {
        "anomaly_score": rs.scores,
        "p_value": cal.p_values(rs.scores),
        "is_anomaly": flags,
        "top_features": top_features(rs.contributions - detector.baselines_, detector.preprocessor_.column_names, copy=False),
    }
    if out is df:
        out = pd.concat([df.reset_index(drop=True), pd.DataFrame(extra)], axis=1)
        out.index = df.index
    else:
        for k, v in extra.items():
            out[k] = v
    return out, chunk_report(detector, rs, flags, df)


def chunk_report(detector: "Detector", rs: RowScores, flags: np.ndarray, df: pd.DataFrame | None = None) -> ChunkReport:
    """What the summary and the drift check count of scored rows `rs` flagged as `flags`; with the rows
    themselves (`df`), their flags by host too."""
    e = rs.encoded
    # The rows scoring raised, not recomputed here: a count far past the training range is among them
    # (`_fixed_and_rare`), which rare_novelty without the calibration's floor had left out of this count.
    novel = int((rs.rare.any(axis=1) & (flags == 1)).sum()) if rs.rare is not None else 0
    hosts = tally_hosts(df, host_columns(detector.schema_), flags) if df is not None else {}
    return ChunkReport(len(flags), int(flags.sum()), e.malformed, e.unknown, e.new_missing, e.broken, e.new_values,
                       rs.contributions.sum(axis=0), novel, hosts, e.decimal_comma, e.past_range)


def output_meta(meta: pd.DataFrame) -> pd.DataFrame:
    """An empty frame with the columns and dtypes that score_chunk returns for input shaped like `meta`."""
    out = meta.iloc[:0].copy()
    for k, v in SCORE_DTYPES.items():  # score columns already present keep their place, as in score_chunk
        out[k] = pd.Series([], dtype=v, index=out.index)
    return out


def score_frame(detector: "Detector", df: pd.DataFrame, strict: bool = False) -> pd.DataFrame:
    """Return `df` with anomaly_score, p_value, is_anomaly and top_features appended."""
    return score_chunk(detector, df, strict=strict)[0]
