"""Infer each column's role from the data, and check a new table against the trained schema."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from .errors import InputError, SchemaError

NUMERIC, CATEGORICAL, IGNORED = "numeric", "categorical", "ignored"

# An integer column with at most this many distinct values is a code (port class, flag, protocol number),
# not a quantity: a value never seen in training should count as unknown, not as "a bit larger".
MAX_INT_CATEGORIES = 10
# Text columns where most values are distinct are identifiers (hosts, session ids), not categories.
ID_UNIQUE_FRACTION = 0.5
# A text column where this share of values parse as numbers is a numeric column with dirty values.
NUMERIC_TEXT_FRACTION = 0.9


@dataclass
class ColumnSpec:
    name: str
    role: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def _is_integer_valued(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def numeric_text_values(series: pd.Series) -> tuple[pd.Series, int, list[str]]:
    """Coerce a column to float; return it, how many non-missing values were text, and a few examples."""
    if pdt.is_bool_dtype(series):
        return series.astype(float), 0, []
    if pdt.is_numeric_dtype(series):
        return series.astype(float), 0, []
    fast = _arrow_float(series)
    if fast is not None:
        return fast, 0, []
    coerced = pd.to_numeric(series, errors="coerce")
    bad = coerced.isna() & series.notna()
    n_bad = int(bad.sum())
    examples = [str(v) for v in series[bad].unique()[:3]] if n_bad else []
    return coerced.astype(float), n_bad, examples


def _arrow_float(series: pd.Series) -> pd.Series | None:
    """Parse a column of number strings with pyarrow (much faster than pandas); None if any value is not a number."""
    if not pdt.is_string_dtype(series):
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pc.cast(pa.array(series, from_pandas=True, type=pa.large_string()), pa.float64())
        return pd.Series(arr.to_numpy(zero_copy_only=False), index=series.index, dtype=float)
    except Exception:  # noqa: BLE001 - any failure means "not all numbers"; pandas then finds which
        return None


def infer_column(name: str, s: pd.Series) -> ColumnSpec:
    n = len(s)
    non_null = s.dropna()
    if len(non_null) == 0:
        return ColumnSpec(name, IGNORED, "all values missing")
    if pdt.is_datetime64_any_dtype(s) or pdt.is_timedelta64_dtype(s):
        return ColumnSpec(name, IGNORED, "timestamp")
    nunique = int(non_null.nunique())
    if nunique <= 1:
        return ColumnSpec(name, IGNORED, "constant")
    if pdt.is_bool_dtype(s):
        return ColumnSpec(name, CATEGORICAL, "true/false")
    if pdt.is_numeric_dtype(s):
        values = non_null.to_numpy(dtype=float)
        if _is_integer_valued(values):
            if nunique == len(non_null) and n >= 20 and (np.all(np.diff(values) > 0) or np.all(np.diff(values) < 0)):
                return ColumnSpec(name, IGNORED, "row number (unique, ordered)")
            if nunique <= MAX_INT_CATEGORIES:
                return ColumnSpec(name, CATEGORICAL, f"integer code, {nunique} values")
        return ColumnSpec(name, NUMERIC, "numbers")
    # Text (object / string dtype).
    coerced = pd.to_numeric(non_null, errors="coerce")
    parsed = float(coerced.notna().mean())
    if parsed == 1.0:
        return ColumnSpec(name, NUMERIC, "numbers stored as text")
    if parsed >= NUMERIC_TEXT_FRACTION:
        return ColumnSpec(name, NUMERIC, "numbers with some text values")
    if n >= 20 and nunique > ID_UNIQUE_FRACTION * len(non_null):
        return ColumnSpec(name, IGNORED, f"id-like text ({nunique} distinct values)")
    return ColumnSpec(name, CATEGORICAL, f"text, {nunique} values")


def infer_schema(df: pd.DataFrame, ignore: list[str] | tuple[str, ...] = ()) -> list[ColumnSpec]:
    """Give every column of `df` a role. Columns named in `ignore` are left out on request."""
    dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if dupes:
        raise InputError(f"duplicate column names: {', '.join(dupes)}; rename them so each is unique")
    present = set(df.columns)
    unknown = [c for c in ignore if c not in present]
    if unknown:
        raise InputError(
            f"--ignore names column(s) not in the table: {', '.join(unknown)}; "
            f"the table has: {', '.join(map(str, df.columns[:30]))}"
        )
    specs = []
    ignore = set(ignore)
    for name in df.columns:
        if name in ignore:
            specs.append(ColumnSpec(str(name), IGNORED, "--ignore"))
        else:
            specs.append(infer_column(str(name), df[name]))
    if not any(s.role != IGNORED for s in specs):
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in specs[:10])
        raise InputError(f"no usable columns: every column is ignored ({reasons})")
    return specs


def check_columns(df: pd.DataFrame, specs: list[ColumnSpec]) -> None:
    """Raise a SchemaError naming every model column that `df` lacks. Extra columns are fine."""
    used = [s.name for s in specs if s.role != IGNORED]
    dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if dupes:
        raise InputError(f"duplicate column names: {', '.join(dupes)}; rename them so each is unique")
    have = set(map(str, df.columns))
    missing = [c for c in used if c not in have]
    if missing:
        shown = ", ".join(f"'{c}'" for c in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise SchemaError(
            f"column{'s' if len(missing) > 1 else ''} {shown} {'are' if len(missing) > 1 else 'is'} missing; "
            f"the model was trained on: {', '.join(used)}"
        )
