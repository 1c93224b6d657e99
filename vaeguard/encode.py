"""Fitted per-column transforms: a mixed table in, plain arrays the model reads out.

Numeric columns: signed log for heavy-tailed counts, robust centring and scaling, missing values imputed
with a missing-indicator. Categorical columns: a vocabulary with rare values pooled and an explicit
unknown bucket, so a value first seen at scoring time maps somewhere (and scores as unlikely).
Everything here round-trips through JSON: no pickled transformers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from .errors import InputError
from .schema import CATEGORICAL, NUMERIC, ColumnSpec, numeric_text_values

UNKNOWN = "<unknown>"  # index 0 of every vocabulary: values never seen in training
OTHER = "<other>"  # rare training values pooled together
MISSING = "<missing>"

# Encoder inputs are clipped so one absurd value cannot saturate the network; the likelihood still sees
# the (much larger) unclipped value, so the row scores as anomalous.
INPUT_CLIP = 10.0
TARGET_CLIP = 1e4
SKEW_FOR_LOG = 2.0
# "robust": median and IQR/1.349, the IQR floored at a third of the standard deviation (a spiky column
# with a near-zero IQR would otherwise blow up); "standard": mean and standard deviation.
# benchmarks/tune.py chose "robust" (mean ROC-AUC 0.740 vs 0.739 standard, 0.727 plain IQR).
SCALING = "robust"


@dataclass
class NumericColumn:
    name: str
    log: bool
    center: float
    scale: float
    missing_flag: bool
    integer: bool = False  # every training value was a whole number (generated rows are rounded)


@dataclass
class CategoricalColumn:
    name: str
    vocab: list[str]
    kind: str = "text"  # how the training values were typed: "text", "number" or "bool"


@dataclass
class Encoded:
    """One batch of rows in model form, plus how many values needed coercing."""

    x_num: np.ndarray  # (n, n_num) float32, scaled, missing filled with 0
    observed: np.ndarray  # (n, n_num) float32, 1 where the value was present
    x_cat: np.ndarray  # (n, n_cat) int64 vocabulary indices
    coerced: dict[str, int] = field(default_factory=dict)  # column -> text values turned into missing
    unknown: dict[str, int] = field(default_factory=dict)  # column -> values not in the vocabulary


def _signed_log(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.log1p(np.abs(v))


def _finite(v: np.ndarray) -> np.ndarray:
    # +/-inf would turn into NaN under scaling; treat them as the largest representable magnitude.
    return np.nan_to_num(v, nan=np.nan, posinf=np.finfo(np.float64).max, neginf=-np.finfo(np.float64).max)


def value_kind(s: pd.Series) -> str:
    if pdt.is_bool_dtype(s):
        return "bool"
    if pdt.is_numeric_dtype(s):
        return "number"
    return "text"


def canonical_strings(s: pd.Series, kind: str | None = None) -> np.ndarray:
    """Category labels as strings, the same whatever dtype a chunk happened to be read as (6, 6.0, '6').

    `kind` is how the training column was typed: a column of integer codes read back as text (the fast
    CSV path keeps every field as a string) is parsed as numbers first, and 'true'/'TRUE' map to 'True'.
    """
    if kind == "number" and not pdt.is_numeric_dtype(s) and not pdt.is_bool_dtype(s):
        parsed = pd.to_numeric(s, errors="coerce")
        labels = canonical_strings(parsed)
        unparsed = (parsed.isna() & s.notna()).to_numpy()
        if unparsed.any():
            labels[unparsed] = s.to_numpy(dtype=object)[unparsed]
        return labels
    if kind == "bool" and not pdt.is_bool_dtype(s):
        lowered = s.astype(object).map(lambda v: v if not isinstance(v, str) else {"true": True, "false": False}.get(v.strip().lower(), v))
        return canonical_strings(lowered)
    out = np.full(len(s), MISSING, dtype=object)
    present = s.notna().to_numpy()
    if pdt.is_bool_dtype(s):
        out[present] = np.where(s.to_numpy()[present].astype(bool), "True", "False")
        return out
    if pdt.is_numeric_dtype(s):
        v = s.to_numpy(dtype=float)
        is_int = present & np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2**62)
        out[is_int] = v[is_int].astype(np.int64).astype(str)
        other = present & ~is_int
        out[other] = v[other].astype(str)
        return out
    raw = s.to_numpy(dtype=object)
    if pdt.infer_dtype(s, skipna=True) == "string":
        out[present] = raw[present]
        return out
    for i in np.flatnonzero(present):
        val = raw[i]
        if isinstance(val, (float, np.floating)) and float(val).is_integer():
            val = int(val)
        out[i] = str(val)
    return out


class Preprocessor:
    """Learns the transforms on training rows; applies them to any later chunk."""

    def __init__(self, numeric: list[NumericColumn], categorical: list[CategoricalColumn]):
        self.numeric = numeric
        self.categorical = categorical
        # Object-dtype indexes: hashing Python strings beats iterating Arrow-backed ones here.
        self._lookups = [pd.Index(np.asarray(c.vocab, dtype=object), dtype=object) for c in categorical]

    # ---- fitting -------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        specs: list[ColumnSpec],
        coerce: bool = False,
        max_categories: int = 200,
        min_category_count: int | None = None,
    ) -> "Preprocessor":
        numeric, categorical = [], []
        n = len(df)
        min_count = min_category_count if min_category_count is not None else max(2, int(np.ceil(0.0005 * n)))
        for spec in specs:
            s = df[spec.name]
            if spec.role == NUMERIC:
                with np.errstate(over="ignore", invalid="ignore"):  # 1e308 squares to inf in the skew
                    numeric.append(cls._fit_numeric(spec.name, s, coerce))
                continue
            if spec.role == CATEGORICAL:
                labels = canonical_strings(s)
                counts = pd.Series(labels).value_counts()
                frequent = counts[counts >= min_count].index.tolist()[:max_categories]
                pooled = len(frequent) < len(counts)
                vocab = [UNKNOWN] + ([OTHER] if pooled else []) + sorted(frequent)
                categorical.append(CategoricalColumn(spec.name, vocab, value_kind(s)))
        return cls(numeric, categorical)

    @staticmethod
    def _fit_numeric(name: str, s: pd.Series, coerce: bool) -> NumericColumn:
        values, n_bad, examples = numeric_text_values(s)
        if n_bad and not coerce:
            raise _text_in_numeric(name, n_bad, examples, "fit")
        v = _finite(values.to_numpy(dtype=float))
        ok = ~np.isnan(v)
        present = v[ok]
        log = bool(len(present) > 2 and present.min() >= 0 and _skew(present) > SKEW_FOR_LOG)
        t = _signed_log(present) if log else present
        if not len(t):
            center, scale = 0.0, 1.0
        elif SCALING == "robust":
            q75, q25 = np.percentile(t, [75, 25])
            center, scale = float(np.median(t)), float(max((q75 - q25) / 1.349, np.std(t) / 3.0))
        elif SCALING == "standard":
            center, scale = float(np.mean(t)), float(np.std(t))
        else:  # "iqr": the plain robust scaling, kept for comparison
            q75, q25 = np.percentile(t, [75, 25])
            center, scale = float(np.median(t)), float((q75 - q25) / 1.349)
        if not np.isfinite(scale) or scale <= 1e-12:
            scale = float(np.std(t)) if len(t) else 1.0
        if not np.isfinite(scale) or scale <= 1e-12:
            scale = 1.0
        if not np.isfinite(center):
            center = 0.0
        integer = bool(len(present) and np.all(present == np.round(present)))
        return NumericColumn(name, log, center, scale, bool((~ok).any()), integer)

    # ---- applying ------------------------------------------------------------------------------
    def transform(self, df: pd.DataFrame, coerce: bool = False) -> Encoded:
        n = len(df)
        x_num = np.zeros((n, len(self.numeric)), dtype=np.float32)
        observed = np.ones((n, len(self.numeric)), dtype=np.float32)
        coerced: dict[str, int] = {}
        for j, col in enumerate(self.numeric):
            values, n_bad, examples = numeric_text_values(df[col.name])
            if n_bad:
                if not coerce:
                    raise _text_in_numeric(col.name, n_bad, examples, "score")
                coerced[col.name] = n_bad
            v = _finite(values.to_numpy(dtype=float))
            missing = np.isnan(v)
            t = _signed_log(v) if col.log else v
            with np.errstate(over="ignore", invalid="ignore"):
                z = (t - col.center) / col.scale
            z = np.clip(np.nan_to_num(z, nan=0.0), -TARGET_CLIP, TARGET_CLIP)
            x_num[:, j] = z
            observed[:, j] = ~missing
        x_cat = np.zeros((n, len(self.categorical)), dtype=np.int64)
        unknown: dict[str, int] = {}
        for j, (col, lookup) in enumerate(zip(self.categorical, self._lookups)):
            labels = canonical_strings(df[col.name], col.kind)
            idx = lookup.get_indexer(labels)
            unseen = idx < 0
            if unseen.any():
                # Rare-in-training values were pooled into <other>; anything else is new.
                idx[unseen] = 1 if (len(col.vocab) > 1 and col.vocab[1] == OTHER) else 0
                unknown[col.name] = int(unseen.sum())
            x_cat[:, j] = idx
        return Encoded(x_num, observed, x_cat, coerced, unknown)

    # ---- description ---------------------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        """Model columns in the order the per-column likelihoods come out."""
        return [c.name for c in self.numeric] + [c.name for c in self.categorical]

    @property
    def missing_flag_index(self) -> list[int]:
        return [j for j, c in enumerate(self.numeric) if c.missing_flag]

    @property
    def vocab_sizes(self) -> list[int]:
        return [len(c.vocab) for c in self.categorical]

    def to_dict(self) -> dict:
        return {"numeric": [asdict(c) for c in self.numeric], "categorical": [asdict(c) for c in self.categorical]}

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessor":
        return cls([NumericColumn(**c) for c in d["numeric"]], [CategoricalColumn(**c) for c in d["categorical"]])

    def inverse_numeric(self, z: np.ndarray) -> np.ndarray:
        """Scaled model values back to the original units (for explanations and generated rows)."""
        out = np.empty_like(z, dtype=float)
        for j, col in enumerate(self.numeric):
            t = z[:, j] * col.scale + col.center
            out[:, j] = np.sign(t) * np.expm1(np.minimum(np.abs(t), 700)) if col.log else t
        return out


def _skew(v: np.ndarray) -> float:
    sd = v.std()
    if sd <= 0:
        return 0.0
    return float(np.mean(((v - v.mean()) / sd) ** 3))


def _text_in_numeric(name: str, n_bad: int, examples: list[str], command: str) -> InputError:
    ex = ", ".join(repr(e) for e in examples)
    return InputError(
        f"column '{name}' is numeric but {n_bad} {'rows hold' if n_bad != 1 else 'row holds'} text (e.g. {ex}); "
        f"fix those values, or pass `{command} --coerce` to treat them as missing"
    )
