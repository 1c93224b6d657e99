"""Fitted per-column transforms: a mixed table in, plain arrays the model reads out.

Numeric columns: signed log for heavy-tailed counts, robust centring and scaling, missing values imputed
with a missing-indicator. Categorical columns (ports, address scopes and time of day included): a
vocabulary with rare values pooled into `<other>`. Constant columns are kept as checks.

Evidence the network never sees still counts, as fixed log-probability terms added to a row's score
(`Encoded.fixed`), each estimated from the training rows, so no new evidence can make a row look more
normal:
- a category never seen in training: its Good-Turing probability, (values seen once + 1) / (rows + 2);
- a number missing where training had no gaps, or text where a number belongs: (count + 1) / (rows + 2);
- a constant column holding another value: 1 / (rows + 2);
- a log-scaled number past the training range: end / value, a Pareto tail of index 1 past the end.
Everything here round-trips through JSON: no pickled transformers.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from .errors import InputError
from .parallel import COLUMN_THREAD_ROWS, pandas_column_workers, thread_map, worker_count
from .numbertext import (
    DECIMAL_COMMA, DOT_THOUSANDS, arrow_floats, arrow_text, as_point_numbers, comma_to_point, decimal_comma, decimal_comma_kind, dots_between_thousands,
    numeric_text_values,
)
from .schema import (
    ADDRESS, CATEGORICAL, CONSTANT, HISTORY_LETTERS, IGNORED, LOCAL_NETS_FIELDS, NUMERIC, PORT, SHAPED, TIME, ColumnSpec, as_datetimes, distinct_values,
    LIST_TYPES, holds_booleans, joined_lists, set_lengths, time_parts,
)
from .shapes import PARTS as SHAPE_PARTS
from .shapes import shapes

UNKNOWN = "<unknown>"  # index 0 of every vocabulary: values never seen in training
OTHER = "<other>"  # rare training values pooled together
MISSING = "<missing>"
EPHEMERAL = "ephemeral"  # ports from 1024 up that are not a service seen often in training

# Encoder inputs are clipped so one absurd value cannot saturate the network; the likelihood still sees
# the (much larger) unclipped value, so the row scores as anomalous.
INPUT_CLIP = 10.0
TARGET_CLIP = 1e4
# Tried and not kept: scoring a value beyond the training range as the network's term at the range's end
# plus a fixed Cauchy tail for the distance beyond it (in the column's scaled units), so that how far out
# a value lies would not hang on the learned noise scale. IoT-23 44 -> 34 over seeds 0-9 went from mean
# 0.952 (0.912-0.971) to 0.951 (0.907-0.969), 8 -> 34 0.960 -> 0.959: the seeds' swing is not there.
SKEW_FOR_LOG = 2.0
FEW_NEGATIVE = 0.01  # the share of a column's values below zero that still lets it be log-scaled
# "robust": median and IQR/1.349, the IQR floored at a third of the standard deviation (a spiky column
# with a near-zero IQR would otherwise blow up); "standard": mean and standard deviation.
SCALING = "robust"
# A port from 1024 up keeps its own category when it is this common in training (a local service).
SERVICE_PORT_SHARE = 0.005
QUARTILE_ROWS = 1 << 18  # a numeric column's centre and scale come from this many of its values at most
# Columns fitted together from one block of at most this many values (a short table's numeric columns).
PLAIN_BLOCK_VALUES = 1 << 22
# A numeric column's transforms that change its values even where they are numbers already.
REWRITTEN = ("length", DECIMAL_COMMA, DOT_THOUSANDS)
# Past the training range, a log-scaled column's value costs the log of its ratio to the range's end, as a
# Pareto tail of index 1 charges it (P(X > x | X > max) = max / x). The Cauchy on the log of a count charged
# a deviation the log of that log: a flow of 1,000 times the largest training flow's bytes cost under 9 nats
# more than a typical row, where a column left unscaled (its Cauchy on the value itself) is charged the log
# of the ratio already. Tried first and not kept: an exponential tail past the range, its scale read from
# each column's most extreme hundredth of training values, which charged capture 8's model of IoT-23 up to
# 300,000 nats for another network's counts (its near-constant columns' tails were read as all but flat),
# and cost its 8 -> 34 ROC-AUC 0.971 -> 0.892.
RARE_KEEP = 5000  # rare training values remembered per column, so they score as <other>, not as unseen


def respelled_numbers(s: pd.Series, values: pd.Series, n_bad: int, examples: list[str], counts: dict[str, int], name: str):
    """A numeric column's text, where training's numbers had a decimal point and these are written with a decimal
    comma ("5393,0", as a spreadsheet saves a CSV in much of Europe): read with the comma as the point, counted in
    `counts`, rather than each scored as malformed (every row of such a file flagged). Only where some of them
    cannot be a thousands separator's (decimal_comma), so that "1,234" alone is never read as 1.234; where
    some can only be grouped with dots ("1.234.567"), "99.781" among them is 99781 (decimal_comma_kind).
    Returns numeric_text_values' triple, for `s` read so or as it was."""
    text = s[values.isna() & s.notna()].astype(str).unique()
    if not decimal_comma(text):
        return values, n_bad, examples
    read = numeric_text_values(comma_to_point(s, dots=decimal_comma_kind(text)[0] == DOT_THOUSANDS))
    if read[1] < n_bad:
        counts[name] = n_bad - read[1]
    return read


def regrouped_numbers(s: pd.Series, values: np.ndarray, counts: dict[str, int], col: "NumericColumn") -> np.ndarray:
    """A column's values, where training's were whole numbers read plainly and this text holds decimals with
    three places beside bare integers under 1,000 ("99.781" beside "416"): whole numbers grouped with dots, as
    a spreadsheet saves them in much of Europe (dots_between_thousands), read as 99781 and counted in
    `counts`, not scored as decimals that training never held."""
    if not col.integer or col.transform:
        return values
    fractional = np.isfinite(values) & (values != np.round(values))
    if not fractional.any() or not dots_between_thousands(pd.unique(s.dropna().astype(str))):
        return values
    read = numeric_text_values(comma_to_point(s, dots=True))[0].to_numpy(dtype=float, na_value=np.nan)
    counts[col.name] = counts.get(col.name, 0) + int(np.sum((read != values) & ~(np.isnan(read) & np.isnan(values))))
    return read


@dataclass
class NumericColumn:
    name: str
    log: bool
    center: float
    scale: float
    missing_flag: bool  # training had gaps: the network learns how likely a gap is
    integer: bool = False  # every training value was a whole number (generated rows are rounded)
    transform: str = ""  # "length": Zeek set / vector member counts; "decimal-comma": 2,5 for 2.5; "dot-thousands": 1.234,5 too
    low: float = -math.inf  # training range, in the original units (generated rows stay inside it)
    high: float = math.inf
    missing_cost: float = 0.0  # -log P(missing) when training had no gaps
    malformed_cost: float = 0.0  # -log P(text where a number belongs)
    source: str = ""  # the input column of a derived one ("query:length": transform "domain:length"; "uri:params"), or ""
    # Past the training range, a log-scaled column's value costs the log of its ratio to the range's end
    # (range_costs); False in models saved before, which charge nothing for it.
    range_tail: bool = False

    @property
    def column(self) -> str:
        return self.source or self.name

    @property
    def training_range(self) -> tuple[float | None, float | None]:
        """(low, high) as info and explain show them (JSON too): an end training left open is None."""
        return (float(self.low) if math.isfinite(self.low) else None, float(self.high) if math.isfinite(self.high) else None)

    @property
    def shape(self) -> tuple[str, str]:
        """A derived column's (kind, part) of its source's shape: ("domain", "length"); ("", "") for others."""
        kind, _, part = self.transform.partition(":") if self.source else ("", "", "")
        return kind, part


@dataclass
class CategoricalColumn:
    name: str  # the model column ("ts:hour" for a derived one)
    vocab: list[str]
    kind: str = "text"  # how the training values were typed: "text", "number" or "bool"
    source: str = ""  # the input column ("" = name)
    derive: str = ""  # "", "port", "address", "hour", "weekday", "letter:S" (a Zeek history event)
    rare: list[str] = field(default_factory=list)  # training values pooled into <other>
    ports: list[int] = field(default_factory=list)  # ports from 1024 up kept as their own category
    unknown_cost: float = 0.0  # -log P(a value never seen in training)

    @property
    def derived(self) -> bool:
        """Whether this column is read from another (a history letter, a time part): `source` names it, and
        may be "", a column whose header is empty (its ":hour" had been looked up as a column of its own)."""
        return self.derive.startswith("letter:") or self.derive in ("hour", "weekday")

    @property
    def column(self) -> str:
        return self.source if self.derived else self.name

    @property
    def letter(self) -> str:
        """The Zeek history event this column flags, or ''."""
        return self.derive[len("letter:"):] if self.derive.startswith("letter:") else ""


@dataclass
class ConstantColumn:
    name: str
    value: str  # its one training value, as a label (MISSING when always missing)
    kind: str = "text"
    transform: str = ""
    other_cost: float = 0.0  # -log P(any other value)


@dataclass
class Encoded:
    """One batch of rows in model form, plus what the rows held that training never had."""

    x_num: np.ndarray  # (n, n_num) float32, scaled, missing filled with 0
    observed: np.ndarray  # (n, n_num) float32, 1 where the value was present
    x_cat: np.ndarray  # (n, n_cat) int64 vocabulary indices (0 = unknown)
    fixed: np.ndarray  # (n, n_columns) float64: -log-probability terms outside the network, per column
    novel: np.ndarray  # (n, n_columns) bool: the row holds there what training never had
    malformed: dict[str, int] = field(default_factory=dict)  # column -> text values where numbers belong
    unknown: dict[str, int] = field(default_factory=dict)  # column -> values never seen in training
    new_missing: dict[str, int] = field(default_factory=dict)  # column -> gaps where training had none
    broken: dict[str, int] = field(default_factory=dict)  # constant column -> rows holding another value
    # column -> the most frequent of its values above (unseen categories, a constant's other values), counted
    new_values: dict[str, dict[str, int]] = field(default_factory=dict)
    # column -> values read with a decimal comma where training's numbers had a decimal point (respelled_numbers)
    decimal_comma: dict[str, int] = field(default_factory=dict)
    past_range: dict[str, int] = field(default_factory=dict)  # log-scaled column -> values past the training range

    @property
    def inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the network reads: (x_num, observed, x_cat)."""
        return self.x_num, self.observed, self.x_cat


def smoothed_cost(count: int, total: int) -> float:
    """-log of the add-one estimate (count + 1) / (total + 2): never zero, never one."""
    return float(-math.log((count + 1.0) / (total + 2.0)))


def _signed_log(v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # copysign keeps the sign without a product by sign(v); out=v works in place.
    return np.copysign(np.log1p(np.abs(v)), v, out=out)


def _finite(v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # +/-inf would turn into NaN under scaling; treat them as the largest representable magnitude (NaN,
    # a missing value, stays NaN).
    big = np.finfo(np.float64).max
    return np.clip(v, -big, big, out=out)


def value_kind(s: pd.Series) -> str:
    # Flags with gaps too (Suricata's tcp.syn, set only on TCP flows): scoring reads them as 'true'.
    if holds_booleans(s):
        return "bool"
    if pdt.is_numeric_dtype(s):
        return "number"
    return "text"


# Truth values as text: CSV and JSON write true and false, Zeek's TSV logs T and F.
_TRUTH = {"true": True, "false": False, "t": True, "f": False}


def canonical_strings(s: pd.Series, kind: str | None = None) -> np.ndarray:
    """Category labels as strings, the same whatever dtype a chunk happened to be read as (6, 6.0, '6').

    `kind` is how the training column was typed: a column of integer codes read back as text (the fast
    CSV path keeps every field as a string) is parsed as numbers first, and 'true', 'TRUE' and Zeek's
    'T' map to 'True'.
    """
    if kind == "number" and not pdt.is_numeric_dtype(s) and not pdt.is_bool_dtype(s):
        parsed = pd.to_numeric(s, errors="coerce")
        labels = canonical_strings(parsed)
        unparsed = (parsed.isna() & s.notna()).to_numpy()
        if unparsed.any():
            labels[unparsed] = s.to_numpy(dtype=object)[unparsed]
        return labels
    if kind == "bool" and not pdt.is_bool_dtype(s):
        lowered = s.astype(object).map(lambda v: v if not isinstance(v, str) else _TRUTH.get(v.strip().lower(), v))
        return canonical_strings(lowered)
    out = np.full(len(s), MISSING, dtype=object)
    present = s.notna().to_numpy()
    if pdt.is_bool_dtype(s):
        out[present] = np.where(s.to_numpy()[present].astype(bool), "True", "False")
        return out
    if pdt.is_numeric_dtype(s):
        return _number_labels(s.to_numpy(dtype=float, na_value=np.nan), present, out)
    raw = s.to_numpy(dtype=object)
    if pdt.infer_dtype(s, skipna=True) == "string":
        out[present] = raw[present]
        return out
    if present.any() and isinstance(raw[np.argmax(present)], LIST_TYPES):
        # A list as a category (a Parquet list column, Spark's arrays): the text the log readers make of one.
        return canonical_strings(joined_lists(s), kind)
    for i in np.flatnonzero(present):
        val = raw[i]
        if isinstance(val, (float, np.floating)) and float(val).is_integer():
            val = int(val)
        out[i] = str(val)
    return out


# ---- derived categories ------------------------------------------------------------------------------
def _number_labels(v: np.ndarray, present: np.ndarray, out: np.ndarray) -> np.ndarray:
    """canonical_strings of numbers `v` (floats) into `out`: integers without a decimal point."""
    is_int = present & np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2**62)
    out[is_int] = v[is_int].astype(np.int64).astype(str)
    other = present & ~is_int
    out[other] = v[other].astype(str)
    return out


def numpy_numbers(dtype) -> bool:
    """Whether a column holds numbers in one of numpy's dtypes (bool, integer, float): taken as they are, with
    none of pandas' conversions (which, a column at a time, made up most of a wide table's preparation)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


def number_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's code and the distinct values' canonical_strings, for numbers in one of numpy's dtypes
    (bool, integer, float): the labelling of `per_distinct`, with no pandas Series per column (5,000
    two-valued columns, 500 rows: their fit 3.8 s -> 0.4 s, their encoding 1.9 s -> 0.5 s)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if values.dtype.kind == "b":
        return codes, np.where(uniques, "True", "False").astype(object)
    v = uniques.astype(float)
    present = ~np.isnan(v)
    return codes, _number_labels(v, present, np.full(len(v), MISSING, dtype=object))


def port_labels(s: pd.Series, ports: list[int] | set[int]) -> np.ndarray:
    """A port as the service it names: below 1024, or a port from 1024 up that training saw often,
    keeps its number; any other port is an ephemeral (client-side) one."""
    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(values) & (values == np.round(values))
    high = ok & (values >= 1024)
    if not high.any():
        return canonical_strings(s, "number")
    keep = np.isin(values, np.asarray(sorted(ports), dtype=float)) if ports else np.zeros(len(values), bool)
    ephemeral = high & ~keep
    # Only the other ports are written as text: a client's side is mostly ephemeral ports (a chunk's
    # client ports: 12 ms -> 3 ms).
    labels = np.full(len(s), EPHEMERAL, dtype=object)
    named = ~ephemeral
    if named.any():
        labels[named] = canonical_strings(s[named], "number")
    return labels


def _scope(text: str) -> str:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return "invalid"
    for name in ("loopback", "link_local", "multicast", "unspecified", "private"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    return "public"


def address_labels(s: pd.Series) -> np.ndarray:
    """An IP address as its scope (RFC 1918 / 4193 private, public, loopback, link-local, multicast)."""
    present = s.notna().to_numpy()
    out = np.full(len(s), MISSING, dtype=object)
    if present.any():
        values = s[present].astype(str)
        scopes = {v: _scope(v) for v in values.unique()}
        out[present] = values.map(scopes).to_numpy(dtype=object)
    return out


def time_labels(s: pd.Series, part: str) -> np.ndarray:
    t = as_datetimes(s)
    values = t.dt.hour if part == "hour" else t.dt.day_of_week
    return canonical_strings(values.astype("Float64").astype(float))


LETTER_LABELS = np.array(["0", "1", MISSING], dtype=object)  # a history event letter: absent, present, no history


# How many of a column's unseen values are counted by name (the most frequent), per chunk and over a whole
# run: what an analyst reads first is which new service, port or state it was.
UNSEEN_VALUES_KEPT = 20


def most_common(values: np.ndarray, keep: int = UNSEEN_VALUES_KEPT) -> dict[str, int]:
    """The `keep` most frequent of `values`, as text, with their counts."""
    counts = pd.Series(values, dtype=object).value_counts(dropna=False)[:keep]
    return {str(k): int(v) for k, v in counts.items()}


def letter_codes(s: pd.Series, letter: str) -> np.ndarray:
    """Whether each Zeek history holds the event `letter`, as an index into LETTER_LABELS."""
    text = arrow_text(s)
    if text is not None:  # the scoring path: Arrow's substring search, no Python strings
        import pyarrow.compute as pc

        found = pc.fill_null(pc.match_substring(text, letter), False).to_numpy(zero_copy_only=False)
        missing = text.is_null().to_numpy(zero_copy_only=False)
    else:
        if not (pdt.is_string_dtype(s.dtype) or pdt.is_object_dtype(s.dtype)):
            s = s.astype("string")  # a chunk whose histories are all missing reads as numbers
        found = s.str.contains(letter, regex=False, na=False).to_numpy(dtype=bool)
        missing = s.isna().to_numpy()
    return np.where(missing, 2, found.astype(np.int8))


class HistoryLetters:
    """A Zeek history column's letters, each as `letter_codes` gives it, from one pass over the column: its
    distinct histories are found once (a log holds a few hundred of them) and every letter is a lookup
    into them, where 23 letter columns each searched every row (a 16,384-row chunk: 2.7 ms -> 0.9 ms)."""

    # More distinct histories than this share of the rows and a substring search per letter is cheaper.
    MAX_DISTINCT_SHARE = 0.125

    def __init__(self, s: pd.Series):
        self.s = s
        self.codes = self.per_value = None  # per_value: rows per distinct history, once counted
        if arrow_text(s) is None and not (pdt.is_string_dtype(s.dtype) or pdt.is_object_dtype(s.dtype)):
            return  # a chunk whose histories are all missing reads as numbers: letter_codes casts it
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        if len(uniques) > max(64, self.MAX_DISTINCT_SHARE * len(s)):
            return
        self.codes, self.uniques = codes, [u if isinstance(u, str) else None for u in uniques]

    def _present(self, letter: str) -> np.ndarray:
        # A value that is no string (an object column's number) holds no letter, as str.contains says.
        return np.fromiter((u is not None and letter in u for u in self.uniques), np.int8, len(self.uniques))

    def codes_of(self, letter: str) -> np.ndarray:
        if self.codes is None:
            return letter_codes(self.s, letter)
        present = self._present(letter)
        return np.where(self.codes < 0, np.int8(2), present[self.codes] if len(present) else np.int8(0))

    def counts_of(self, letter: str) -> np.ndarray:
        """`np.bincount(self.codes_of(letter), minlength=3)`, from the distinct histories' counts."""
        if self.codes is None:
            return np.bincount(letter_codes(self.s, letter), minlength=3)
        if self.per_value is None:
            self.per_value = np.bincount(self.codes[self.codes >= 0], minlength=len(self.uniques))
        held = int(self.per_value[self._present(letter).astype(bool)].sum())
        missing = len(self.codes) - int(self.per_value.sum())
        return np.array([len(self.codes) - missing - held, held, missing], dtype=np.int64)


def letter_labels(s: pd.Series, letter: str) -> np.ndarray:
    """Whether each Zeek history holds the event `letter`: '1', '0', or MISSING where there is no history."""
    return LETTER_LABELS[letter_codes(s, letter)]


def per_distinct(label, s: pd.Series) -> np.ndarray:
    """`label(s)` for a labelling that depends on each value alone, computed once per distinct value.

    A flow log's ports, flags and codes repeat: a million rows hold a few thousand ports, and labelling
    each row made Python strings for every one (1.6 s per port column per million rows, against 0.03 s).
    Object columns are labelled row by row: Python's equality merges True, 1 and 1.0, which label apart.
    """
    distinct = distinct_values(s)
    if distinct is None:
        return label(s)
    codes, uniques = distinct
    return label(uniques)[codes]


def per_distinct_index(label, lookup: pd.Index, s: pd.Series) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """`lookup.get_indexer(label(s))` as `per_distinct` labels: each distinct value labelled and looked up
    once (a conn log's two port columns, a 16,384-row chunk: 6.3 ms -> 3.4 ms), and a function giving the
    labels of the rows a mask picks."""
    distinct = distinct_values(s)
    if distinct is not None:
        codes, uniques = distinct
        labels = label(uniques)
        return lookup.get_indexer(labels)[codes], lambda rows: labels[codes[rows]]
    labels = label(s)
    return lookup.get_indexer(labels), lambda rows: labels[rows]


def column_labels(col: CategoricalColumn, s: pd.Series) -> np.ndarray:
    """The labels a categorical column's vocabulary is looked up by, for each value of `s` (its input column)."""
    if col.letter:
        return letter_labels(s, col.letter)
    if col.derive == "port":
        return per_distinct(lambda v: port_labels(v, col.ports), s)
    if col.derive == "address":
        return address_labels(s)
    if col.derive in ("hour", "weekday"):
        return time_labels(s, col.derive)  # not per value: the unit is read from the whole column
    return per_distinct(lambda v: canonical_strings(v, col.kind), s)


def _plain_text(col: CategoricalColumn, s: pd.Series):
    """The Arrow array behind `s` when its labels are its own text (no port, address or time derived from
    it, no numbers to canonicalise), else None."""
    return arrow_text(s) if col.derive == "" and col.kind == "text" else None


def _label_counts(col: CategoricalColumn, s: pd.Series, letters: HistoryLetters | None = None) -> pd.Series:
    """How many rows hold each label, most common first (ties in order of first appearance, as pandas).
    letters: `s` as a history's letters, where `col` is one of them."""
    if col.letter:
        held = letters.counts_of(col.letter) if letters is not None else np.bincount(letter_codes(s, col.letter), minlength=3)
        counts = pd.Series(held, index=LETTER_LABELS)
        return counts[counts > 0].sort_values(ascending=False, kind="stable")
    text = _plain_text(col, s)
    if text is None:
        return pd.Series(column_labels(col, s)).value_counts()
    # Counted in Arrow, with no Python string per row (a million rows left 65 MB of freed strings behind),
    # through the same pandas call as the labels would take, so ties keep the same order.
    return s.fillna(MISSING).value_counts()


def _constant_labels(col: ConstantColumn, s: pd.Series) -> np.ndarray:
    if col.transform == "length":
        return per_distinct(lambda v: canonical_strings(set_lengths(v)), s)
    return per_distinct(lambda v: canonical_strings(v, col.kind), s)


# ---- the preprocessor --------------------------------------------------------------------------------
class Preprocessor:
    """Learns the transforms on training rows; applies them to any later chunk."""

    def __init__(self, numeric: list[NumericColumn], categorical: list[CategoricalColumn], constant: list[ConstantColumn] | None = None):
        self.numeric = numeric
        self.categorical = categorical
        self.constant = constant or []
        # Object-dtype indexes: hashing Python strings beats iterating Arrow-backed ones here.
        self._lookups = [pd.Index(np.asarray(c.vocab, dtype=object), dtype=object) for c in categorical]
        # A history letter has three labels: where each sits in its vocabulary, looked up once.
        self._letter_index = [lookup.get_indexer(LETTER_LABELS) if c.letter else None for c, lookup in zip(categorical, self._lookups)]
        self._rare = [set(c.rare) for c in categorical]
        self._positions: list[dict | None] = [None] * len(categorical)  # label -> position, where looked up by number_codes
        self._port_sets = [set(c.ports) for c in categorical]
        self._missing_flags = np.array([c.missing_flag for c in numeric], dtype=bool)
        self._vocab_arrays = [_arrow_vocab(c.vocab) for c in categorical]
        self._log_columns = np.array([c.log for c in numeric], dtype=bool)
        self._centers = np.array([c.center for c in numeric], dtype=np.float64)
        self._scales = np.array([c.scale for c in numeric], dtype=np.float64)
        self._range_ends = _scaled_ranges(numeric)

    # ---- fitting -------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, df: pd.DataFrame, specs: list[ColumnSpec], max_categories: int = 200, strict: bool = False,
        min_category_count: int | None = None, rows: np.ndarray | None = None,
    ) -> "Preprocessor":
        """Learn the transforms from `df`, or from its `rows` (positions) only: one column is copied at a
        time, never the whole table."""
        n = len(df) if rows is None else len(rows)
        min_count = min_category_count if min_category_count is not None else max(2, int(np.ceil(0.0005 * n)))
        taken = {str(c) for c in df.columns}

        def derived_name(source: str, part: str) -> str:
            # A table may hold a column of that name itself ('ts:hour' beside 'ts'): the derived one gives way,
            # or two model columns would share a name in the scores' top features, explain and drift.
            name = f"{source}:{part}"
            while name in taken:
                name += " (derived)"
            return name

        dtypes = df.dtypes

        def fit_column(spec: ColumnSpec) -> list:
            if spec.role == IGNORED:
                return []  # its training rows are not copied out (a conn log's uid, addresses and ts)
            dtype = dtypes[spec.name]
            if spec.role == CATEGORICAL and spec.transform == "" and numpy_numbers(dtype):
                values = df[spec.name].to_numpy()
                codes, labels = number_codes(values if rows is None else values[rows])
                if len(labels) <= max_categories:  # else ties at the cut would need pandas' order
                    counts = np.bincount(codes, minlength=len(labels))
                    order = np.argsort(-counts, kind="stable")
                    col = CategoricalColumn(spec.name, [], "bool" if dtype.kind == "b" else "number")
                    return [cls._vocab(col, labels[order].tolist(), counts[order], min_count, max_categories)]
            s = df[spec.name] if rows is None else df[spec.name].iloc[rows]
            if spec.role == NUMERIC:
                with np.errstate(over="ignore", invalid="ignore"):  # 1e308 squares to inf in the skew
                    return [cls._fit_numeric(spec, s, strict)]
            if spec.role == CONSTANT:
                kind = "number" if spec.transform == "length" else value_kind(s)
                first = s.iloc[:1]  # one value throughout: the first row's label is the column's
                labels = canonical_strings(set_lengths(first)) if spec.transform == "length" else canonical_strings(first, kind)
                value = str(labels[0]) if len(labels) else MISSING
                return [ConstantColumn(spec.name, value, kind, spec.transform, smoothed_cost(0, n))]
            if spec.role in (CATEGORICAL, PORT, ADDRESS):
                derive = {PORT: "port", ADDRESS: "address"}.get(spec.role, "")
                col = CategoricalColumn(spec.name, [], "bool" if spec.transform == "bool" else value_kind(s), "", derive)
                if derive == "port":
                    codes, uniques = pd.factorize(s, use_na_sentinel=False)
                    per_value = pd.Series(np.bincount(codes, minlength=len(uniques)), index=pd.to_numeric(pd.Series(uniques, dtype=s.dtype), errors="coerce"))
                    values = per_value.groupby(level=0).sum()
                    counts = values[values.index >= 1024]
                    col.ports = sorted(int(p) for p, c in counts.items() if c >= max(min_count, SERVICE_PORT_SHARE * n) and p == int(p))
                    col.kind = "number"
                cols, letters = [col], None
                if spec.transform == "history":
                    cols += [CategoricalColumn(derived_name(spec.name, ch), [], "text", spec.name, f"letter:{ch}") for ch in HISTORY_LETTERS]
                    letters = HistoryLetters(s)
                return [cls._fit_vocab(c, _label_counts(c, s, letters), min_count, max_categories) for c in cols]
            if spec.role == TIME:
                parts = [CategoricalColumn(derived_name(spec.name, part), [], "number", spec.name, part) for part in time_parts(spec)]
                return [cls._fit_vocab(col, _label_counts(col, s), min_count, max_categories) for col in parts]
            if spec.role in SHAPED:
                measured, cols = shapes(spec.role, s), []
                for part in SHAPE_PARTS[spec.role]:
                    col = cls._fit_numeric(ColumnSpec(derived_name(spec.name, part), NUMERIC, ""), pd.Series(measured[part]), strict)
                    col.source, col.transform = spec.name, f"{spec.role}:{part}"
                    cols.append(col)
                if spec.transform == "category":
                    name = CategoricalColumn(spec.name, [], value_kind(s))
                    cols.append(cls._fit_vocab(name, _label_counts(name, s), min_count, max_categories))
                return cols
            return []

        # Numbers already (float, integer or bool columns of numpy's), in a short table: copied out side by side,
        # a block of columns at a time, each fitted from its row of the block. Taken out of pandas one by one,
        # a wide table's columns cost their fit more in pandas' calls than in the sums (300 rows x 10,000
        # columns: 2.5 s a fit, and a table that short calibrates on ten models' fits).
        plain = set()
        if n < COLUMN_THREAD_ROWS:
            plain = {i for i, spec in enumerate(specs) if spec.role == NUMERIC and spec.transform not in REWRITTEN and numpy_numbers(dtypes[spec.name])}

        def fit_block(block: list[int]) -> list[NumericColumn]:
            v = np.empty((len(block), n), dtype=np.float64)
            for j, i in enumerate(block):
                values = df[specs[i].name].to_numpy()
                v[j] = values if rows is None else values[rows]
            _finite(v, out=v)
            with np.errstate(over="ignore", invalid="ignore"):
                return cls._numeric_columns([specs[i] for i in block], v, [0] * len(block))

        order = sorted(plain)
        step = max(1, PLAIN_BLOCK_VALUES // max(n, 1))
        by_spec: dict[int, list] = {}
        for start in range(0, len(order), step):
            block = order[start : start + step]
            by_spec.update({i: [col] for i, col in zip(block, fit_block(block))})
        # A numeric column's fit holds about six copies of it at once: the rows, as floats, finite, present,
        # logged, partitioned for the quartiles.
        rest = [i for i in range(len(specs)) if i not in plain]
        by_spec.update(zip(rest, thread_map(lambda i: fit_column(specs[i]), rest, pandas_column_workers(n, copies=6))))
        fitted = [c for i in range(len(specs)) for c in by_spec[i]]
        return cls(
            [c for c in fitted if isinstance(c, NumericColumn)],
            [c for c in fitted if isinstance(c, CategoricalColumn)],
            [c for c in fitted if isinstance(c, ConstantColumn)],
        )

    @staticmethod
    def _fit_vocab(col: CategoricalColumn, counts: pd.Series, min_count: int, max_categories: int) -> CategoricalColumn:
        return Preprocessor._vocab(col, counts.index.tolist(), counts.to_numpy(), min_count, max_categories)

    @staticmethod
    def _vocab(col: CategoricalColumn, labels: list, counts: np.ndarray, min_count: int, max_categories: int) -> CategoricalColumn:
        """`col` with its vocabulary from the training rows' `labels` and their `counts`, most common first."""
        frequent = [label for label, c in zip(labels, counts.tolist()) if c >= min_count][:max_categories]
        rare = labels[len(frequent):]
        col.vocab = [UNKNOWN] + ([OTHER] if rare else []) + sorted(frequent)
        col.rare = sorted(rare[:RARE_KEEP])
        col.unknown_cost = smoothed_cost(int(np.count_nonzero(counts == 1)), int(counts.sum()))
        return col

    @staticmethod
    def _fit_numeric(spec: ColumnSpec, s: pd.Series, strict: bool) -> NumericColumn:
        name = spec.name
        if spec.transform == "length":
            values, n_bad, examples = set_lengths(s), 0, []
        else:
            values, n_bad, examples = numeric_text_values(as_point_numbers(s, spec.transform))
        if n_bad and strict:
            raise _text_in_numeric(name, n_bad, examples)
        return Preprocessor._numeric_columns([spec], _finite(values.to_numpy(dtype=float, na_value=np.nan))[None, :], [n_bad])[0]

    @staticmethod
    def _numeric_columns(specs: list[ColumnSpec], v: np.ndarray, n_bad: list[int]) -> list[NumericColumn]:
        """The scalings of the columns in the rows of `v` (finite or NaN; `n_bad[j]` of row j's NaNs were
        text). Rows without a gap are scaled together, a pass per operation for all of them."""
        ok = ~np.isnan(v)
        complete = ok.all(axis=1)
        scaled = [None] * len(specs)
        together = np.flatnonzero(complete)
        if len(together):
            for j, fitted in zip(together, zip(*_scalings(v[together] if len(together) < len(v) else v))):
                scaled[j] = fitted
        for j in np.flatnonzero(~complete):
            scaled[j] = next(zip(*_scalings(v[j][ok[j]][None, :])))
        out = []
        for j, (spec, (log, center, scale, integer, low, high)) in enumerate(zip(specs, scaled)):
            n_missing = int(len(v[j]) - np.count_nonzero(ok[j])) - n_bad[j]
            out.append(NumericColumn(
                spec.name, log, center, scale, bool(n_missing > 0), integer, spec.transform, low, high,
                smoothed_cost(n_missing, len(v[j])), smoothed_cost(n_bad[j], len(v[j])), range_tail=True,
            ))
        return out

    # ---- applying ------------------------------------------------------------------------------
    def network_inputs(self, df: pd.DataFrame, rows: np.ndarray, strict: bool = False, chunk: int = 32_768):
        """(x_num, observed, x_cat) for `rows` of `df`, encoded a chunk at a time: training needs only the
        network's inputs, and a whole-table transform would hold several float64 copies of it at once.
        `observed` is 0/1 in uint8 and `x_cat` the narrowest integer its vocabularies fit (a Zeek log's 29
        categorical columns: 209 MiB per million rows as int64, 52 as int16); the training loop widens
        each batch. `rows` are ascending positions (the training rows: all but the held-out ones)."""
        n = len(rows)
        if n and not np.all(rows[1:] > rows[:-1]):
            raise ValueError("network_inputs takes ascending row positions")
        x_num = np.empty((n, len(self.numeric)), dtype=np.float32)
        observed = np.empty((n, len(self.numeric)), dtype=np.uint8)  # 0/1: a quarter of float32's memory
        widest = max((len(c.vocab) for c in self.categorical), default=0)
        x_cat = np.empty((n, len(self.categorical)), dtype=np.int16 if widest <= np.iinfo(np.int16).max else np.int64)
        # A chunk is a slice of the table (a view), and the rows held out of it are dropped from its arrays:
        # taking the training rows out of the table copied every column first, half of this (1M rows:
        # 0.8 of 1.5 s), for a tenth fewer rows to encode. Chunks go to two threads, each writing its own
        # rows of the arrays (1M rows: 1.0 s -> 0.5 s). Each thread's malloc arena keeps its freed chunk
        # temporaries (about 55 MiB): two leave the fit's peak where reading the table sets it, more would not.
        # Chunks of 32,768 rows, not 16,384: each chunk's transform has a fixed cost (pandas and Arrow calls
        # per column), and halving their number took the 1M-row Zeek log's encoding from 0.86 to 0.61 s and the
        # flow table's from 0.45 to 0.30-0.40 s, the fits' peaks unchanged (858 / 946 MB); 65,536 rows took the
        # flow table's peak to 1,015 MB, for a few hundredths more.
        starts = list(range(int(rows[0]) if n else 0, int(rows[-1]) + 1 if n else 0, chunk))
        bounds = np.searchsorted(rows, [*starts, starts[-1] + chunk]) if starts else []

        def encode(i: int) -> None:
            start, lo, hi = starts[i], int(bounds[i]), int(bounds[i + 1])
            keep = rows[lo:hi] - start
            part = self.transform(df.iloc[start : start + chunk], strict=strict, network_only=True)
            x_num[lo:hi] = part.x_num[keep]
            observed[lo:hi] = part.observed[keep]
            x_cat[lo:hi] = part.x_cat[keep]

        thread_map(encode, range(len(starts)), min(2, worker_count()))
        return x_num, observed, x_cat

    def transform(self, df: pd.DataFrame, strict: bool = False, network_only: bool = False) -> Encoded:
        """The chunk `df` encoded: the network's inputs, and the evidence terms outside the network (`fixed`,
        `novel`, the counts of what training never held). network_only: the inputs alone, for the rows a
        model trains on (their evidence terms go unused; `fixed` and `novel` are then empty)."""
        n = len(df)
        n_num, n_cat = len(self.numeric), len(self.categorical)
        x_num = np.zeros((n, n_num), dtype=np.float32)
        observed = np.ones((n, n_num), dtype=np.float32)
        # Column-major: both are written a column at a time below, and a column of a row-major table is a
        # write to a new cache line per row. (x_cat stays row-major: the network reads it by rows.)
        fixed = np.zeros((n, 0 if network_only else n_num + n_cat + len(self.constant)), dtype=np.float64, order="F")
        novel = np.zeros(fixed.shape, dtype=bool, order="F")
        evidence = not network_only
        enc = Encoded(x_num, observed, np.zeros((n, n_cat), dtype=np.int64), fixed, novel)
        if n_num:
            # Parsed column by column, each into a contiguous row of `v` (numeric columns x rows), then
            # scaled as one matrix: a pass per operation, not one per operation and column.
            v = np.empty((n_num, n), dtype=np.float64)
            bad_any = np.zeros((n_num, n), dtype=bool)
            shaped = self.shaped(df)
            for j, col in enumerate(self.numeric):
                if col.source:
                    v[j] = shaped[col.source][col.shape[1]]
                    continue
                s = df[col.name]
                if numpy_numbers(s.dtype) and col.transform not in REWRITTEN:
                    v[j] = s.to_numpy()  # numbers already: a wide table's columns skip pandas' conversions
                    continue
                s = as_point_numbers(s, col.transform)
                # The scoring path's text columns: Arrow parses them straight into this row of `v`.
                text = arrow_text(s) if col.transform != "length" else None
                parsed = arrow_floats(text) if text is not None else None
                if parsed is not None:
                    v[j] = regrouped_numbers(s, parsed, enc.decimal_comma, col)
                    continue
                if col.transform == "length":
                    values, n_bad, examples = set_lengths(s), 0, []
                else:
                    values, n_bad, examples = numeric_text_values(s)
                    if n_bad and not col.transform:
                        values, n_bad, examples = respelled_numbers(s, values, n_bad, examples, enc.decimal_comma, col.name)
                v[j] = values.to_numpy(dtype=float, na_value=np.nan)
                if not n_bad:
                    v[j] = regrouped_numbers(s, v[j], enc.decimal_comma, col)
                else:
                    if strict:
                        raise _text_in_numeric(col.name, n_bad, examples)
                    enc.malformed[col.name] = n_bad
                    bad = np.isnan(v[j]) & s.notna().to_numpy()
                    if evidence:
                        fixed[bad, j] = col.malformed_cost
                        novel[bad, j] = True
                    bad_any[j] = bad
            _finite(v, out=v)
            missing = np.isnan(v)
            observed[:] = ~missing.T
            # Gaps where training had none (text already counted as malformed is not a gap too).
            gaps = missing & ~bad_any & ~self._missing_flags[:, None]
            if evidence and gaps.any():
                counts = gaps.sum(axis=1)
                for j in np.flatnonzero(counts):
                    rows = gaps[j]
                    fixed[rows, j] = self.numeric[j].missing_cost
                    novel[rows, j] = True
                    enc.new_missing[self.numeric[j].name] = int(counts[j])
            logged = self._log_columns
            for j in np.flatnonzero(logged):  # in place, a row of `v` at a time
                _signed_log(v[j], out=v[j])
            with np.errstate(over="ignore", invalid="ignore"):
                v -= self._centers[:, None]
                v /= self._scales[:, None]
            np.clip(v, -TARGET_CLIP, TARGET_CLIP, out=v)  # NaN, a gap, stays NaN: no cost below
            if evidence:
                for j, k in range_costs(v, self._range_ends, self._scales, fixed).items():
                    enc.past_range[self.numeric[j].name] = k
            np.nan_to_num(v, copy=False, nan=0.0)
            x_num[:] = v.T
        columns: dict[str, pd.Series] = {}  # a history's 23 letter columns share one read of it
        histories: dict[str, HistoryLetters] = {}
        for j, (col, lookup, rare, letter_index) in enumerate(zip(self.categorical, self._lookups, self._rare, self._letter_index)):
            if col.column not in columns:
                columns[col.column] = df[col.column]
            s = columns[col.column]
            silent = None
            text = _plain_text(col, s)
            if text is not None:  # the scoring path: Arrow's hash lookup, no Python strings
                import pyarrow.compute as pc

                found = pc.index_in(pc.fill_null(text, MISSING), value_set=self._vocab_arrays[j])
                idx = pc.fill_null(found, -1).to_numpy().astype(np.int64)
                unseen = idx < 0
                unseen_labels = lambda: np.asarray(text.filter(unseen).to_pylist(), dtype=object)  # noqa: E731
            elif col.letter:
                if col.column not in histories:
                    histories[col.column] = HistoryLetters(s)
                codes = histories[col.column].codes_of(col.letter)
                idx = letter_index[codes]
                # No history where training always had one: the history column itself counts that, once.
                silent = (codes == 2) & (idx < 0)
                idx[silent] = 0
                unseen = idx < 0
                unseen_labels = lambda: LETTER_LABELS[codes[unseen]]  # noqa: E731
            elif col.derive == "" and numpy_numbers(s.dtype) and (col.kind != "bool" or s.dtype.kind == "b"):  # a bool column's 1 and 0 read as text
                codes, labels = number_codes(s.to_numpy())
                if self._positions[j] is None:  # a dict: pandas' lookup builds an index of the few labels first
                    self._positions[j] = {label: i for i, label in enumerate(col.vocab)}
                idx = np.array([self._positions[j].get(label, -1) for label in labels], dtype=np.int64)[codes]
                unseen = idx < 0
                unseen_labels = lambda: labels[codes[unseen]]  # noqa: E731
            elif col.derive == "port" or col.derive == "":
                idx, labels_at = per_distinct_index(
                    (lambda v: port_labels(v, col.ports)) if col.derive == "port" else (lambda v: canonical_strings(v, col.kind)), lookup, s)
                unseen = idx < 0
                unseen_labels = lambda: labels_at(unseen)  # noqa: E731
            else:
                labels = column_labels(col, s)
                idx = lookup.get_indexer(labels)
                unseen = idx < 0
                unseen_labels = lambda: labels[unseen]  # noqa: E731
            if unseen.any():
                # Rare training values were pooled into <other>; anything else was never seen.
                found = unseen_labels() if rare or not col.letter else None
                pooled = np.fromiter((v in rare for v in found), bool, len(found)) if rare else np.zeros(int(unseen.sum()), bool)
                fill = np.where(pooled, 1, 0)
                idx[unseen] = fill
                if col.letter:  # a history letter's values say no more than its name: present
                    if (~pooled).any():
                        enc.unknown[col.name] = int((~pooled).sum())
                else:
                    new = found[~pooled]
                    # An empty field where training always had a value is a gap, not a new category: the
                    # summary counts it with the numeric columns' gaps (its cost is the same either way).
                    gap = pd.isna(new) | (np.asarray(new, dtype=object) == MISSING)  # elementwise whatever the labels' type
                    if gap.any():
                        enc.new_missing[col.name] = int(gap.sum())
                        if col.name in LOCAL_NETS_FIELDS:
                            # A sensor told none of its local networks: the row is read without the field (its
                            # network term is 0 at <unknown>, as a missing value's marginal is), counted, not costed.
                            silent = np.zeros(len(idx), dtype=bool)
                            silent[np.flatnonzero(unseen)[~pooled][gap]] = True
                    if not gap.all():
                        enc.unknown[col.name] = int((~gap).sum())
                        enc.new_values[col.name] = most_common(new[~gap])
            if evidence:
                is_unknown = idx == 0
                fixed[:, n_num + j] = np.where(is_unknown, col.unknown_cost, -math.log1p(-math.exp(-col.unknown_cost)))
                novel[:, n_num + j] = is_unknown
                if silent is not None:
                    fixed[silent, n_num + j] = 0.0
                    novel[silent, n_num + j] = False
            enc.x_cat[:, j] = idx
        for j, col in enumerate(self.constant if evidence else []):
            labels = _constant_labels(col, df[col.name])
            other = labels != col.value
            fixed[:, n_num + n_cat + j] = np.where(other, col.other_cost, -math.log1p(-math.exp(-col.other_cost)))
            novel[:, n_num + n_cat + j] = other
            if other.any():
                enc.broken[col.name] = int(other.sum())
                enc.new_values[col.name] = most_common(np.asarray(labels)[other])
        return enc

    def shaped(self, df: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
        """The parts of each DNS name or URL column's shape (shapes.shapes) for the rows of `df`, by input column:
        each column measured once for all its derived columns."""
        kinds = {c.source: c.shape[0] for c in self.numeric if c.source}
        return {source: shapes(kind, df[source]) for source, kind in kinds.items()}

    # ---- description ---------------------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        """Model columns in the order the per-column contributions come out."""
        return [c.name for c in self.numeric] + [c.name for c in self.categorical] + [c.name for c in self.constant]

    @property
    def input_columns(self) -> list[str]:
        """The input columns a table must have."""
        return list(dict.fromkeys([c.column for c in self.numeric] + [c.column for c in self.categorical] + [c.name for c in self.constant]))

    @property
    def may_be_absent(self) -> list[str]:
        """Columns a table may leave out, read as unset there: those training never saw a value in (always
        unset, or a set always empty; a Zeek conn log written to Parquet from its JSON has no local_orig or
        tunnel_parents at all where the TSV log has them unset on every line), and Zeek's local-nets fields,
        which the JSON log of a sensor told no local networks leaves out (Preprocessor.transform)."""
        return ([c.name for c in self.constant if c.value == MISSING or (c.transform == "length" and c.value == "0")]
                + [c.name for c in self.categorical if c.name in LOCAL_NETS_FIELDS])

    @property
    def optional_columns(self) -> list[str]:
        """Input columns a record may leave out (JSON logs omit unset fields): those training saw missing,
        and Zeek's local-nets fields (may_be_absent)."""
        out = [c.column for c in self.numeric if c.missing_flag or c.transform == "length"]
        out += [c.column for c in self.categorical if MISSING in c.vocab or MISSING in c.rare or c.name in LOCAL_NETS_FIELDS]
        out += [c.name for c in self.constant if c.value == MISSING or c.transform == "length"]
        return list(dict.fromkeys(out))

    @property
    def missing_flag_index(self) -> list[int]:
        return [j for j, c in enumerate(self.numeric) if c.missing_flag]

    @property
    def vocab_sizes(self) -> list[int]:
        return [len(c.vocab) for c in self.categorical]

    def to_dict(self) -> dict:
        return {
            "numeric": [asdict(c) for c in self.numeric],
            "categorical": [asdict(c) for c in self.categorical],
            "constant": [asdict(c) for c in self.constant],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessor":
        return cls(
            [NumericColumn(**c) for c in d["numeric"]],
            [CategoricalColumn(**c) for c in d["categorical"]],
            [ConstantColumn(**c) for c in d.get("constant", [])],
        )

    def inverse_numeric(self, z: np.ndarray) -> np.ndarray:
        """Scaled model values back to the original units (for explanations and generated rows)."""
        out = np.empty_like(z, dtype=float)
        for j, col in enumerate(self.numeric):
            t = z[:, j] * col.scale + col.center
            out[:, j] = np.sign(t) * np.expm1(np.minimum(np.abs(t), 700)) if col.log else t
        return out


def _arrow_vocab(vocab: list[str]):
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency; the pandas path still works
        return None
    return pa.array(vocab, type=pa.large_string())


def _skews(v: np.ndarray) -> np.ndarray:
    """Each row's skewness (0 where the row is constant)."""
    sd = v.std(axis=1)
    flat = sd <= 0
    # Cubed by multiplying: numpy sends `** 3` to libm's pow(), 85 ms per million values against 2 ms,
    # and a Zeek log has a dozen count columns to test.
    d = (v - v.mean(axis=1)[:, None]) / np.where(flat, 1.0, sd)[:, None]
    cubes = np.array([np.dot(row * row, row) for row in d]) / v.shape[1] if v.shape[1] else np.zeros(len(v))
    return np.where(flat, 0.0, cubes)


def _scalings(present: np.ndarray) -> tuple:
    """(log, center, scale, integer, low, high) of each row of `present` (a column's values, none missing):
    lists, a row's at its position."""
    k, m = present.shape
    if not m:
        return [False] * k, [0.0] * k, [1.0] * k, [False] * k, [-math.inf] * k, [math.inf] * k
    # Log-scaled where heavy-tailed and not below zero, but for a few rows: a count's -1 for "none"
    # (CICFlowMeter's Init_Win_bytes_forward) or a clock's glitch (its negative Flow Duration) leaves
    # the tail as heavy, and scaled as it is its largest values would swamp every other column.
    log = (np.count_nonzero(present < 0, axis=1) <= FEW_NEGATIVE * m) & (_skews(present) > SKEW_FOR_LOG) if m > 2 else np.zeros(k, bool)
    if log.all():
        t = _signed_log(present)
    elif log.any():
        t = present.copy()
        t[log] = _signed_log(present[log])
    else:
        t = present
    sd = np.std(t, axis=1)
    if SCALING == "robust":
        # One partition for all three, of at most QUARTILE_ROWS values spread evenly over the column:
        # the partition takes 18 ms per million values, and a quartile of a quarter million is already
        # within a fraction of a percent of the whole column's.
        q = t[:, :: -(-m // QUARTILE_ROWS)] if m > QUARTILE_ROWS else t
        q75, median, q25 = np.percentile(q, [75, 50, 25], axis=1)
        spread, floor = (q75 - q25) / 1.349, sd / 3.0
        center, scale = median, np.where(floor > spread, floor, spread)
    else:  # "standard"
        center, scale = np.mean(t, axis=1), sd
    scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, sd)
    scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
    center = np.where(np.isfinite(center), center, 0.0)
    integer = np.all(present == np.round(present), axis=1)
    return (log.tolist(), center.tolist(), scale.tolist(), integer.tolist(), present.min(axis=1).tolist(), present.max(axis=1).tolist())


def _scaled_ranges(numeric: list[NumericColumn]) -> np.ndarray:
    """The (low, high) ends of each log-scaled column's training range, scaled as the network reads the
    column; an endless range for the other columns and for models saved before (range_costs)."""
    ends = np.array([[c.low, c.high] for c in numeric], dtype=np.float64).reshape(-1, 2)
    centers = np.array([c.center for c in numeric], dtype=np.float64)[:, None]
    scales = np.array([c.scale for c in numeric], dtype=np.float64)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        ends = (_signed_log(ends) - centers) / scales
    charged = np.array([c.log and c.range_tail for c in numeric], dtype=bool) & np.isfinite(ends).all(axis=1)
    ends[~charged] = (-np.inf, np.inf)
    return ends


def range_costs(v: np.ndarray, ends: np.ndarray, scales: np.ndarray, fixed: np.ndarray) -> dict[int, int]:
    """Add to `fixed` (rows x columns) what each value of `v` (columns x rows, scaled) past its column's
    training range costs: its distance beyond the end, unscaled by the column's `scales` back to the log,
    a nat each. Returns how many values of each column (by position) lay past it."""
    past_counts: dict[int, int] = {}
    if not v.shape[1]:
        return past_counts
    # A column's extremes first (NaN, a gap, passed over): most chunks hold nothing past the range.
    past = (np.fmin.reduce(v, axis=1) < ends[:, 0]) | (np.fmax.reduce(v, axis=1) > ends[:, 1])
    for j in np.flatnonzero(past):
        x = v[j]
        cost = (np.maximum(x - ends[j, 1], 0.0) + np.maximum(ends[j, 0] - x, 0.0)) * scales[j]
        fixed[:, j] += np.nan_to_num(cost, nan=0.0)
        past_counts[int(j)] = int(np.count_nonzero(cost > 0))
    return past_counts


def _text_in_numeric(name: str, n_bad: int, examples: list[str]) -> InputError:
    ex = ", ".join(repr(e) for e in examples)
    return InputError(
        f"column '{name}' is numeric but {n_bad} {'rows hold' if n_bad != 1 else 'row holds'} text (e.g. {ex}); "
        f"fix those values, or leave out --strict to score them as malformed"
    )
