"""Synthetic rows: draws from the prior through the decoder, in the original units and categories.

Generated numbers stay inside what training held: within each column's training range, whole numbers
where every training value was whole. Constant columns keep their value; ignored columns are empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

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


def sample_rows(d: "Detector", n: int, seed: int) -> pd.DataFrame:
    g = torch.Generator().manual_seed(seed)
    device = next(d.model_.parameters()).device
    model = d.model_.cpu()
    pre = d.preprocessor_
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        z = torch.randn(n, d.latent_dim, generator=g)
        mean, flags, logits, logvar = model.decode(z)
        if mean is not None:
            noise = torch.randn(mean.shape, generator=g)
            if model.likelihood == "student":  # a Student-t draw: a normal over the root of a scaled chi-square
                chi2 = torch.distributions.Chi2(torch.full(mean.shape, model.dof)).sample()
                noise = noise / torch.sqrt(chi2 / model.dof)
            values = pre.inverse_numeric((mean + torch.exp(0.5 * logvar) * noise).double().numpy())
            missing = np.zeros_like(values, dtype=bool)
            if flags is not None:
                p_missing = torch.sigmoid(flags).double().numpy()
                missing[:, pre.missing_flag_index] = np.random.default_rng(seed).random(p_missing.shape) < p_missing
            for j, col in enumerate(pre.numeric):
                v = np.clip(values[:, j], col.low, col.high)
                v = np.round(v) if col.integer else v
                out[col.name] = np.where(missing[:, j], np.nan, v)
        for j, col in enumerate(pre.categorical):
            if col.source:  # derived features (hour of day...) have no column of their own to write
                continue
            seg = logits[:, model.cat_index[j, : len(col.vocab)]].clone()
            # Only real training values: never the unknown or pooled buckets.
            for k, label in enumerate(col.vocab):
                if label.startswith("<") and label.endswith(">") and label != MISSING:
                    seg[:, k] = float("-inf")
            idx = torch.multinomial(torch.softmax(seg, dim=1), 1, generator=g).squeeze(1).numpy() if n else np.zeros(0, int)
            labels = np.asarray(col.vocab, dtype=object)[idx]
            labels[labels == MISSING] = None
            if col.derive == "port":  # an ephemeral port is any port of the dynamic range
                ephemeral = labels == EPHEMERAL
                labels[ephemeral] = np.random.default_rng(seed + j).integers(49152, 65536, int(ephemeral.sum())).astype(str)
            out[col.name] = _typed_labels(labels, "number" if col.derive == "port" else col.kind)
    for col in pre.constant:
        value = None if col.value == MISSING else col.value
        out[col.name] = _typed_labels(np.full(n, value, dtype=object), col.kind)
    d.model_.to(device)
    columns = [s.name for s in d.schema_]
    return pd.DataFrame({c: out.get(c, np.full(n, None, dtype=object)) for c in columns}, columns=columns)
