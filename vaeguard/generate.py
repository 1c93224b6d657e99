"""Synthetic rows: draws from the prior through the decoder, in the original units and categories.

Generated numbers stay inside what training held: within each column's training range, whole numbers
where every training value was whole. Constant columns keep their value; ignored columns are empty; a
Zeek set or vector field, which the model knows by its member count, is written as a set of that many
unknown members, so the rows read back as the model would read a log's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .encode import EPHEMERAL, MISSING

if TYPE_CHECKING:
    from .detector import Detector


def _typed_labels(labels: np.ndarray, kind: str) -> np.ndarray:
    """Category labels back to the type they had in training (codes as numbers, flags as booleans)."""
    if kind == "number":
        return pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce").to_numpy()
    if kind == "bool":
        return np.array([None if v is None else v == "True" for v in labels], dtype=object)
    return labels


def _as_sets(counts: np.ndarray) -> np.ndarray:
    """A Zeek set or vector's member counts (what the model knows of it) as a log writes the field:
    "(empty)", or that many members, each unknown ("?,?"); a gap stays a gap."""
    return np.array([None if np.isnan(c) else "(empty)" if c <= 0 else ",".join("?" * int(c)) for c in counts], dtype=object)


def sample_rows(d: "Detector", n: int, seed: int) -> pd.DataFrame:
    # On the numpy network, as scoring is: generating never loads torch.
    rng = np.random.default_rng(seed)
    net = d.network_
    shape = net.shape
    pre = d.preprocessor_
    out: dict[str, np.ndarray] = {}
    mean, flags, logits = net.decode(rng.standard_normal((n, shape.latent_dim)).astype(np.float32))
    if mean is not None:
        draw = rng.standard_t(shape.dof, mean.shape) if shape.likelihood == "student" else rng.standard_normal(mean.shape)
        values = pre.inverse_numeric(mean.astype(np.float64) + np.exp(0.5 * net.num_logvar.astype(np.float64)) * draw)
        missing = np.zeros_like(values, dtype=bool)
        if flags is not None:
            p_missing = 1.0 / (1.0 + np.exp(-flags.astype(np.float64)))
            missing[:, pre.missing_flag_index] = rng.random(p_missing.shape) < p_missing
        for j, col in enumerate(pre.numeric):
            if col.source:  # a DNS name's or a URL's length, labels...: no name is made up from them
                continue
            v = np.clip(values[:, j], col.low, col.high)
            v = np.round(v) if col.integer else v
            v = np.where(missing[:, j], np.nan, v)
            out[col.name] = _as_sets(v) if col.transform == "length" else v
    for j, col in enumerate(pre.categorical):
        if col.derived:  # derived features (hour of day...) have no column of their own to write
            continue
        start = int(net.offsets[j])
        seg = logits[:, start : start + len(col.vocab)].astype(np.float64)
        # Only real training values: never the unknown or pooled buckets.
        for k, label in enumerate(col.vocab):
            if label.startswith("<") and label.endswith(">") and label != MISSING:
                seg[:, k] = -np.inf
        if n == 0 or np.isneginf(seg[0]).all():  # no value common enough to have a place of its own
            out[col.name] = np.full(n, None, dtype=object)
            continue
        p = np.exp(seg - seg.max(axis=1, keepdims=True))
        cdf = np.cumsum(p, axis=1)
        idx = (rng.random((n, 1)) * cdf[:, -1:] < cdf).argmax(axis=1)  # a draw from each row's softmax
        labels = np.asarray(col.vocab, dtype=object)[idx]
        labels[labels == MISSING] = None
        if col.derive == "port":  # an ephemeral port is any port of the dynamic range
            ephemeral = labels == EPHEMERAL
            labels[ephemeral] = rng.integers(49152, 65536, int(ephemeral.sum())).astype(str)
        out[col.name] = _typed_labels(labels, "number" if col.derive == "port" else col.kind)
    for col in pre.constant:
        value = None if col.value == MISSING else col.value
        if col.transform == "length":
            out[col.name] = _as_sets(np.full(n, np.nan if value is None else float(value)))
        else:
            out[col.name] = _typed_labels(np.full(n, value, dtype=object), col.kind)
    columns = [s.name for s in d.schema_]
    return pd.DataFrame({c: out.get(c, np.full(n, None, dtype=object)) for c in columns}, columns=columns)
