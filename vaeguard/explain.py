"""Why a row scored as it did: each model column's contribution next to the value the model expected."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .encode import MISSING, column_labels
from .numbertext import CLOCK, MAGNITUDE, MAGNITUDE_DECIMAL_COMMA, as_point_numbers
from .schema import set_lengths
from .scoring import check_table, score_rows

if TYPE_CHECKING:
    from .detector import Detector


def explain_rows(d: "Detector", df: pd.DataFrame) -> list[pd.DataFrame]:
    """For each row: every model column's contribution to its score, next to the value the model
    expected there (decoded from the row's latent mean), largest excess over typical first."""
    df = check_table(d, df)  # a column training never saw set, left out, is shown as the unset value it reads as
    pre = d.preprocessor_
    rs = score_rows(d, df, strict=d.strict)
    net = d.network_
    mean, _, logits = net.decode(net.encode(*rs.encoded.inputs)[0])
    expected_num = pre.inverse_numeric(mean.astype(np.float64)) if mean is not None else np.zeros((len(df), 0))
    # Inside the training range, as generated rows are: the decoder's mean may lie a little past it, and a
    # count expected at -0.05 bytes (capture 44's missed_bytes, all zero in training) reads as nonsense.
    for j, col in enumerate(pre.numeric):
        np.clip(expected_num[:, j], col.low, col.high, out=expected_num[:, j])
    expected_cat = []
    for j, col in enumerate(pre.categorical):
        # Entry 0 (<unknown>) is never a prediction.
        seg = logits[:, net.offsets[j] + 1 : net.offsets[j] + len(col.vocab)]
        expected_cat.append([col.vocab[k + 1] for k in seg.argmax(axis=1)])
    names = pre.column_names
    roles = ["numeric"] * len(pre.numeric) + ["categorical"] * len(pre.categorical) + ["constant"] * len(pre.constant)
    # A column derived from another is shown as the model reads it, as it is expected: a history event letter
    # as its flag (1: the row's history holds it), a time's hour or weekday as that, not the time, a DNS name's
    # or a URL's length as its length (each such column measured once for all its parts).
    shaped = pre.shaped(df)
    observed = ([shaped[c.source][c.shape[1]] if c.source else _as_modelled(df[c.name], c.transform) for c in pre.numeric]
                + [column_labels(c, df[c.column]) if c.derived else df[c.column].to_numpy() for c in pre.categorical]
                + [_as_modelled(df[c.name], c.transform) for c in pre.constant])
    # A number's training range beside it: a value past it is charged for how far (encode.range_costs), and
    # "past the largest training held" says more to a reader than its share of the nats.
    ranges = ([list(c.training_range) for c in pre.numeric]
              + [None] * (len(pre.categorical) + len(pre.constant)))
    tables = []
    for i in range(len(df)):
        expected = list(expected_num[i]) + [c[i] for c in expected_cat] + [c.value for c in pre.constant]
        t = pd.DataFrame({
            "column": names,
            "role": roles,
            "observed": [_shown(values[i]) for values in observed],
            "expected": expected,
            "contribution": rs.contributions[i],
            "typical": d.baselines_,
            "excess": rs.contributions[i] - d.baselines_,
            "training_range": ranges,
        }).sort_values("excess", ascending=False, kind="stable").reset_index(drop=True)
        tables.append(t)
    return tables


def _shown(value):
    """A gap as the model names one (and as `expected` shows it), not NaN: NaN is no JSON either."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value  # a count as written


def _as_modelled(s: pd.Series, transform: str) -> np.ndarray:
    """A numeric column's values in the unit the model works in (and `expected` is shown in): a duration in
    seconds (a clock's too), a size with units in bytes, a set or list as its member count."""
    if transform == "length":
        return set_lengths(s).to_numpy()
    if transform in (CLOCK, MAGNITUDE, MAGNITUDE_DECIMAL_COMMA):  # "0:03:40" or "40.6 KB" beside an expected 190.6 would read as two units
        return as_point_numbers(s, transform).to_numpy()
    return s.dt.total_seconds().to_numpy() if pd.api.types.is_timedelta64_dtype(s) else s.to_numpy()
