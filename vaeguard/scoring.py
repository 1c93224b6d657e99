"""score_frame: a pandas chunk in, the same rows with score columns out.

This is the one scoring path: the CLI's streaming loop, the Python API and distributed engines all call
it, so a row gets the same score whichever way it is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .schema import check_columns

if TYPE_CHECKING:
    from .detector import Detector

SCORE_COLUMNS = ("anomaly_score", "p_value", "is_anomaly", "top_features")
TOP_K = 3
# pandas' own dtype for text ("str" from pandas 3, object before), so an empty chunk and a full one
# agree; Dask and Spark need to know the output's types before they see a row.
TEXT_DTYPE = pd.Series(["x"]).dtype
SCORE_DTYPES = {"anomaly_score": np.dtype("float64"), "p_value": np.dtype("float64"), "is_anomaly": np.dtype("int8"), "top_features": TEXT_DTYPE}


@dataclass
class ChunkReport:
    rows: int = 0
    flagged: int = 0
    coerced: dict[str, int] = field(default_factory=dict)  # text values treated as missing, per column
    unknown: dict[str, int] = field(default_factory=dict)  # category values not seen in training, per column

    def add(self, other: "ChunkReport") -> None:
        self.rows += other.rows
        self.flagged += other.flagged
        for mine, theirs in ((self.coerced, other.coerced), (self.unknown, other.unknown)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v


def top_features(excess: np.ndarray, names: list[str], k: int = TOP_K) -> np.ndarray:
    """For each row, the k columns whose contribution most exceeds their typical value, joined by ';'."""
    n, m = excess.shape
    k = min(k, m)
    if n == 0 or k == 0:
        return np.full(n, "", dtype=object)
    idx = np.argpartition(-excess, k - 1, axis=1)[:, :k] if m > k else np.tile(np.arange(m), (n, 1))
    order = np.argsort(-np.take_along_axis(excess, idx, axis=1), axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    arr = np.asarray(names, dtype=object)
    out = arr[idx[:, 0]]
    for j in range(1, k):
        out = out + ";" + arr[idx[:, j]]
    return out


def score_chunk(guard: "Detector", df: pd.DataFrame, coerce: bool = False) -> tuple[pd.DataFrame, ChunkReport]:
    check_columns(df, guard.schema_)
    enc = guard.preprocessor_.transform(df, coerce=coerce)
    scores, contrib = guard._score_encoded(enc)
    cal = guard.calibration_
    flags = cal.flags(scores)
    out = df.copy() if any(c in df.columns for c in SCORE_COLUMNS) else df
    extra = {
        "anomaly_score": scores,
        "p_value": cal.p_values(scores),
        "is_anomaly": flags,
        "top_features": pd.array(top_features(contrib - guard.baselines_, guard.preprocessor_.column_names), dtype=TEXT_DTYPE),
    }
    if out is df:
        out = pd.concat([df.reset_index(drop=True), pd.DataFrame(extra)], axis=1)
        out.index = df.index
    else:
        for k, v in extra.items():
            out[k] = v
    return out, ChunkReport(len(df), int(flags.sum()), enc.coerced, enc.unknown)


def output_meta(meta: pd.DataFrame) -> pd.DataFrame:
    """An empty frame with the columns and dtypes that score_chunk returns for input shaped like `meta`."""
    out = meta.iloc[:0].copy()
    for k, v in SCORE_DTYPES.items():  # score columns already present keep their place, as in score_chunk
        out[k] = pd.Series([], dtype=v, index=out.index)
    return out


def score_frame(guard: "Detector", df: pd.DataFrame, coerce: bool = False) -> pd.DataFrame:
    """Return `df` with anomaly_score, p_value, is_anomaly and top_features appended."""
    return score_chunk(guard, df, coerce=coerce)[0]
