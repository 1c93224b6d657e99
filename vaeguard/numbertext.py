"""Numbers written as text, as spreadsheets, reports and exporters write them: a decimal comma ("2,5"),
thousands separators ("3,833"), currency and percent signs and an accountant's parentheses ("$1,234.50",
"(12.00)"), a clock's h:mm:ss and sizes, rates and times with their units ("40.6 KB", "340 ms"). Each is
told apart on a column's distinct values (`schema` gives the column its role and its transform), and
read back to plain numbers with `as_point_numbers`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api import types as pdt

# A text column where this share of values parse as numbers is a numeric column with dirty values.
NUMERIC_TEXT_FRACTION = 0.9
DECIMAL_COMMA = "decimal-comma"
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+(,\d+)?([eE][+-]?\d+)?$")
# Dots between the thousands where the comma is the decimal point ("1.234.567", "573.628,56"), as much of Europe
# groups digits. Two dots, or a comma after one, never write a number with a decimal point.
_DOT_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+(,\d+)?$")
_SURELY_DOT_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}((\.\d{3}){2,}(,\d+)?|\.\d{3},\d+)$")
# A decimal-comma column that training saw grouped with dots where nothing else could be meant, or whole numbers
# grouped with one dot each (dots_between_thousands): a value of groups of three digits after dots is grouped
# ("99.781" beside "1.234.567", or beside "999", is 99781).
DOT_THOUSANDS = "dot-thousands"
_BARE_INTEGER = re.compile(r"^[+-]?\d+$")
# Whole numbers grouped with one dot each ("1.234" beside "999") are told from decimals by this many of them.
MIN_GROUPED_VALUES = 5
# The start of a value that grouping with dots writes ("1.234", "1.234.567", "573.628,56"), one a CSV reader
# takes for a decimal with three places or leaves as text.
_MAYBE_GROUPED = re.compile(r"(?:^|[^\d.,])[1-9]\d{0,2}\.\d{3}(?:$|\D)")
# What a thousands separator could also have written: "1,500" may be fifteen hundred.
_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$")
# Numbers with thousands separators ("1,234,567", "12,345.5"), as spreadsheets and reports export counts.
THOUSANDS = "thousands-separator"
_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# Numbers written with a currency or percent sign, or an accountant's parentheses for a negative ("$1,234.50",
# "45%", "(12.00)", "1.234,50 €"), as spreadsheets export amounts and shares: read without the signs, the
# thousands separators dropped; UNITS_DECIMAL_COMMA where the comma is the decimal point.
UNITS = "units"
UNITS_DECIMAL_COMMA = "units-decimal-comma"
_UNIT_MARK = re.compile(r"[$€£¥₹%]|^\s*\(.*\)\s*$")
_UNIT_SIGNS = "[$€£¥₹%\\s\u00a0]"  # the no-break space as itself, for any regular-expression engine
_DOT_THOUSANDS = r"\.(?=\d{3}(?:[^\d]|$))"  # "1.234,50": the dot before each group of three digits
# A duration written as a clock ("0:03:40", "03:40.5") in a column named for a duration, or as pandas writes
# one ("2 days 01:00:00") in any: read as seconds.
CLOCK = "clock"
_CLOCK = re.compile(r"^\s*(?:([+-]?\d+) days?,? )?(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)\s*$")
# A size, rate or time written with its unit ("40.6 KB", "1.2 M" as nfdump prints counts, "340 ms"): read
# in bytes, bits per second, seconds or ones. The units a column holds must be of one kind.
MAGNITUDE = "magnitude"
# The same with a decimal comma ("287,1 KB", "0,5 s"), as such tools write them in much of Europe: a comma
# that no thousands separator could have written, before a unit or at the end.
MAGNITUDE_DECIMAL_COMMA = "magnitude-decimal-comma"
_COMMA_DECIMAL = re.compile(r"\d,(?:\d{1,2}|\d{4,})(?:\D|$)")
_K, _Ki = 1e3, 1024.0
_UNITS_OF = {
    "bytes": {"B": 1, "byte": 1, "bytes": 1, "KB": _K, "kB": _K, "kb": _K, "MB": _K**2, "mb": _K**2, "GB": _K**3, "gb": _K**3,
              "TB": _K**4, "tb": _K**4, "PB": _K**5, "KiB": _Ki, "MiB": _Ki**2, "GiB": _Ki**3, "TiB": _Ki**4},
    "bits per second": {"bps": 1, "b/s": 1, "kbps": _K, "Kbps": _K, "kb/s": _K, "Mbps": _K**2, "mbps": _K**2, "Mb/s": _K**2,
                        "Gbps": _K**3, "gbps": _K**3, "Gb/s": _K**3},
    "seconds": {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "sec": 1, "secs": 1, "seconds": 1,
                "min": 60, "mins": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hours": 3600},
    "ones": {"k": _K, "K": _K, "M": _K**2, "G": _K**3, "T": _K**4},
}
_UNIT_LIST = [unit for units in _UNITS_OF.values() for unit in units]
_UNIT_FACTORS = np.array([factor for units in _UNITS_OF.values() for factor in units.values()], dtype=float)
_UNIT_KIND = [kind for kind, units in _UNITS_OF.items() for _ in units]
# RE2 (Arrow) and Python read it alike; the longest unit first, so that "ms" is not taken for "m" and "s".
_MAGNITUDE = re.compile(r"^\s*(?P<n>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)\s*(?P<u>"
                        + "|".join(re.escape(u) for u in sorted(_UNIT_LIST, key=len, reverse=True)) + r")?\s*$")


def is_number(value) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def numeric_text_values(series: pd.Series) -> tuple[pd.Series, int, list[str]]:
    """Coerce a column to float; return it, how many non-missing values were text, and a few examples."""
    if pdt.is_bool_dtype(series) or pdt.is_numeric_dtype(series):
        return series.astype(float), 0, []
    if pdt.is_timedelta64_dtype(series):  # a Parquet duration: seconds, as Zeek's interval
        return series.dt.total_seconds(), 0, []
    fast = _arrow_float(series)
    if fast is not None:
        return fast, 0, []
    coerced = pd.to_numeric(series, errors="coerce")
    bad = coerced.isna() & series.notna()
    n_bad = int(bad.sum())
    examples = [str(v) for v in series[bad].unique()[:3]] if n_bad else []
    return coerced.astype(float), n_bad, examples


def _distinct_text(values, weights=None) -> tuple[pd.Series, np.ndarray]:
    """Distinct values as text, and each one's row count (`weights`; 1 each where not given)."""
    text = pd.Series(np.asarray(values, dtype=object)).astype(str)
    return text, np.ones(len(text)) if weights is None else np.asarray(weights, dtype=float)


def decimal_comma(values, weights=None) -> bool:
    """Whether distinct text values are numbers written with a decimal comma: numbers with at most one comma
    in NUMERIC_TEXT_FRACTION of the rows (`weights`: each value's row count), as for numbers with a decimal
    point, so that a stray "n/a" or "inf" does not turn the column into text; and at least one that no
    thousands separator could have written ("2,5", "0,125"), or dots between the thousands that no decimal
    point could have ("1.234.567", "573.628,56"; comma_to_point drops them)."""
    text, weights = _distinct_text(values, weights)
    plain = text.str.fullmatch(_DECIMAL_COMMA).to_numpy()
    grouped = text.str.fullmatch(_DOT_GROUPED).to_numpy()
    if not len(text) or weights[plain | grouped].sum() < NUMERIC_TEXT_FRACTION * weights.sum():
        return False
    comma = text[plain & text.str.contains(",", regex=False).to_numpy()]
    if len(comma) and not comma.str.fullmatch(_GROUPED).all():
        return True
    return _surely_grouped(text)


def _surely_grouped(text: pd.Series) -> bool:
    """Whether some text value can only be a number grouped with dots ("1.234.567", "573.628,56")."""
    return bool(text.str.fullmatch(_SURELY_DOT_GROUPED).any())


def decimal_comma_kind(values) -> tuple[str, str]:
    """(transform, how it is written) for values decimal_comma takes: DOT_THOUSANDS where some can only be grouped
    with dots ("1.234.567", "573.628,56"), so that every value grouped so reads that way ("99.781" too); else
    DECIMAL_COMMA, under which "1.234" alone reads as written."""
    text = _distinct_text(values)[0]
    if not _surely_grouped(text):
        return DECIMAL_COMMA, "decimal comma"
    if text.str.contains(",", regex=False).any():
        return DOT_THOUSANDS, "dots between the thousands, decimal comma"
    return DOT_THOUSANDS, "whole numbers with dots between the thousands"


def dots_between_thousands(values, weights=None) -> bool:
    """Whether distinct text values that each read as a number with a decimal point are whole numbers grouped
    with dots ("1.234" beside "999", as much of Europe writes 1234), to be read as DOT_THOUSANDS. A writer of
    decimals with three places writes its whole numbers with them ("5.000"), and one that drops trailing
    zeros writes "1.5" or "5.0": so every value with a dot has groups of three digits after it, bare integers
    stand beside at least MIN_GROUPED_VALUES of them, and none reaches 1,000 (grouping would have put a dot
    in it)."""
    text, weights = _distinct_text(values, weights)
    grouped = text.str.fullmatch(_DOT_GROUPED).to_numpy() & ~text.str.contains(",", regex=False).to_numpy()
    bare = text.str.fullmatch(_BARE_INTEGER).to_numpy()
    if grouped.sum() < MIN_GROUPED_VALUES or not bare.any() or text[~bare].str.contains(".", regex=False).sum() != grouped.sum():
        return False
    if weights[grouped | bare].sum() < NUMERIC_TEXT_FRACTION * weights.sum():
        return False
    return bool(np.abs(text[bare].astype(float)).max() < 1000)


def grouped_with_dots(values) -> bool:
    """Whether text values show dots between the thousands: some that can only be grouped ("1.234.567",
    "573.628,56"), or whole numbers grouped one dot each (dots_between_thousands)."""
    return _surely_grouped(_distinct_text(values)[0]) or dots_between_thousands(values)


def maybe_grouped_with_dots(text: str) -> bool:
    """Whether a stretch of text holds a value that grouping with dots writes ("1.234", "1.234.567"): the cheap
    look before grouped_with_dots' careful one."""
    return _MAYBE_GROUPED.search(text) is not None


# Whole numbers written with a leading zero ("02134", "007", "00010010"): software writes a quantity without one,
# so such a column holds codes as written (postal codes, account numbers, a flags byte in bits), which read as
# numbers would lose the zeros and be measured. A stray value among counts is not enough: ZERO_LED_SHARE of the rows.
_DIGITS = re.compile(r"^\d+$")
ZERO_LED_SHARE = 0.01
# A field that may start such a value, for the cheap look at a file's first lines.
_MAYBE_ZERO_LED = re.compile(r"(?:^|[^\d.])0\d")


def zero_led_codes(values, weights=None) -> str | None:
    """The first value written with a leading zero, where distinct text values (`weights`: each one's row count) are all
    digits and ZERO_LED_SHARE of the rows or more start with a zero before another digit; else None."""
    text, weights = _distinct_text(values, weights)
    # A zero first, before any pattern: most columns that get here (numbers stored as text) have none.
    led = (text.str.startswith("0") & (text.str.len() > 1)).to_numpy()
    if not led.any() or weights[led].sum() < ZERO_LED_SHARE * weights.sum():
        return None
    if not text.str.fullmatch(_DIGITS).all():
        return None
    return str(text[led].iloc[0])


def maybe_zero_led(text: str) -> bool:
    """Whether a stretch of text holds a field that starts with a zero before another digit: the cheap look before
    zero_led_codes' careful one."""
    return _MAYBE_ZERO_LED.search(text) is not None


def thousands_separated(values, weights=None) -> bool:
    """Whether distinct text values are numbers, NUMERIC_TEXT_FRACTION of the rows, some of them written with
    thousands separators ("3,833", "1,234,567.5") and every comma one ("2,5" is a decimal comma's)."""
    text, weights = _distinct_text(values, weights)
    grouped = text.str.fullmatch(_THOUSANDS).to_numpy()
    numbers = grouped | text.str.fullmatch(_PLAIN_NUMBER).to_numpy()
    if not grouped.any() or weights[numbers].sum() < NUMERIC_TEXT_FRACTION * weights.sum():
        return False
    return not text[~grouped].str.contains(",", regex=False).any()


def strip_units(text: pd.Series) -> pd.Series:
    """Text numbers without currency and percent signs or spaces, an accountant's "(12.00)" as "-12.00"."""
    t = text.str.strip()
    negative = t.str.startswith("(") & t.str.endswith(")")
    t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(_UNIT_SIGNS, "", regex=True)
    return t.where(~negative.fillna(False).astype(bool), "-" + t)


def with_units(values, weights=None) -> str:
    """UNITS or UNITS_DECIMAL_COMMA where distinct text values are numbers written with currency or percent
    signs or parentheses (some of them: "(12.00)" beside "13.50"), NUMERIC_TEXT_FRACTION of the rows once
    the signs are dropped, their commas as decimal_comma and thousands_separated tell them; else ""."""
    text, weights = _distinct_text(values, weights)
    if not len(text) or not text.str.contains(_UNIT_MARK).any():
        return ""
    bare = strip_units(text)
    if decimal_comma(bare.str.replace(_DOT_THOUSANDS, "", regex=True), weights):
        return UNITS_DECIMAL_COMMA
    numbers = bare.str.fullmatch(_PLAIN_NUMBER).to_numpy() | bare.str.fullmatch(_THOUSANDS).to_numpy()
    return UNITS if weights[numbers].sum() >= NUMERIC_TEXT_FRACTION * weights.sum() else ""


def clock_durations(values, weights=None, named: bool = True) -> bool:
    """Whether distinct text values are durations written as a clock, NUMERIC_TEXT_FRACTION of the rows. In a
    column not `named` for a duration (in English: "Dauer" is not), "12:30:00" may be a time of day: pandas'
    "0 days 00:03:40" counts, and clocks do where one of them starts past 23 ("31:05"), as no time of day does."""
    text, weights = _distinct_text(values, weights)
    clocks = text.str.fullmatch(_CLOCK).to_numpy()
    if not named:
        parts = text.str.extract(_CLOCK)
        lead = pd.to_numeric(parts[1].fillna(parts[2]), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        clocks = clocks if np.any(lead[clocks] >= 24) else parts[0].notna().to_numpy()
    return bool(len(text)) and weights[clocks].sum() >= NUMERIC_TEXT_FRACTION * weights.sum()


def marked_numbers(values, weights=None, clock_named: bool = True) -> tuple[str, str]:
    """(transform, how it is written) where distinct text values are numbers written with signs or units:
    currency or percent signs (with_units), a clock (clock_durations; `clock_named`: the column is named
    for a duration), units of one kind (magnitude_kind); ("", "") where they are none of these."""
    units = with_units(values, weights)
    if units:
        return units, "written with currency or percent signs, or negatives in parentheses"
    if clock_durations(values, weights, named=clock_named):
        return CLOCK, "a clock's h:mm:ss, as seconds"
    kind = magnitude_kind(values, weights)
    if kind:
        return MAGNITUDE, f"written with units: {kind}"
    text = _distinct_text(values, weights)[0]
    if text.str.contains(_COMMA_DECIMAL).any():
        kind = magnitude_kind(comma_to_point(text), weights)
        if kind:
            return MAGNITUDE_DECIMAL_COMMA, f"written with units and a decimal comma: {kind}"
    return "", ""


def _magnitude_parts(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each value's number (NaN where it is none written with a unit) and its unit's place in _UNIT_LIST (-1:
    none), parsed by Arrow's regular expressions: Python's took 2.5 s per million values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = arrow_text(s)
    if text is None:
        text = pa.array(s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v)), type=pa.large_string())
    parts = pc.extract_regex(text, _MAGNITUDE.pattern)
    number = pc.cast(pc.replace_substring(pc.struct_field(parts, [0]), ",", ""), pa.float64())
    unit = pc.index_in(pc.struct_field(parts, [1]), value_set=pa.array(_UNIT_LIST))
    return (number.to_numpy(zero_copy_only=False).astype(float),
            pc.fill_null(unit, -1).to_numpy(zero_copy_only=False).astype(np.int64))


def magnitude_kind(values, weights=None) -> str:
    """The kind ("bytes", "seconds"...) where distinct text values are numbers written with units of that one
    kind (some without: "512" beside "40.6 KB"), NUMERIC_TEXT_FRACTION of the rows; else ""."""
    text, weights = _distinct_text(values, weights)
    number, unit = _magnitude_parts(text)
    matched = ~np.isnan(number)
    used = unit[matched & (unit >= 0)]
    kinds = {_UNIT_KIND[i] for i in np.unique(used)}
    if not len(used) or len(kinds) != 1 or weights[matched].sum() < NUMERIC_TEXT_FRACTION * weights.sum():
        return ""
    kind = kinds.pop()
    if kind == "ones" and not text[matched & (unit >= 0)].str.contains(r"\d\s+\S", regex=True).all():
        return ""  # "1.2 M" as nfdump prints it; "4G" and "5G" name kinds of network
    return kind


def _magnitudes(s: pd.Series) -> pd.Series:
    """Numbers with units in their kind's base unit; other values pass as they are, to be counted as text."""
    number, unit = _magnitude_parts(s)
    value = number * np.append(_UNIT_FACTORS, 1.0)[unit]  # -1, no unit: the last, 1
    matched = ~np.isnan(number)
    if matched.sum() == s.notna().sum():
        return pd.Series(value, index=s.index)
    out = s.astype(object).copy()
    out[matched] = value[matched]
    return out


def _clock_seconds(s: pd.Series) -> pd.Series:
    """Clock durations as seconds; other values pass as they are, to be counted as text."""
    parts = s.astype(str).str.extract(_CLOCK)
    days, hours, minutes, seconds = (pd.to_numeric(parts[i], errors="coerce") for i in range(4))
    total = days.fillna(0) * 86400 + hours.fillna(0) * 3600 + minutes * 60 + seconds
    matched = seconds.notna() & s.notna()
    return s.astype(object).where(~matched, total)


def as_point_numbers(s: pd.Series, transform: str) -> pd.Series:
    """A column's text as numbers are parsed: decimal commas made points, thousands separators dropped,
    currency and percent signs dropped, clock durations made seconds, units (KB, ms) their base unit's."""
    if transform in (DECIMAL_COMMA, DOT_THOUSANDS):
        return comma_to_point(s, dots=transform == DOT_THOUSANDS)
    if transform in (UNITS, UNITS_DECIMAL_COMMA, CLOCK, MAGNITUDE, MAGNITUDE_DECIMAL_COMMA):
        if pdt.is_numeric_dtype(s) or pdt.is_bool_dtype(s) or pdt.is_timedelta64_dtype(s):
            return s
        if transform == CLOCK:
            return _clock_seconds(s)
        if transform in (MAGNITUDE, MAGNITUDE_DECIMAL_COMMA):
            return _magnitudes(s if transform == MAGNITUDE else comma_to_point(s))
        bare = s.where(s.isna(), strip_units(s.astype(str)))
        if transform == UNITS:
            return bare.where(bare.isna(), bare.astype(str).str.replace(",", "", regex=False))
        return comma_to_point(bare.where(bare.isna(), bare.astype(str).str.replace(_DOT_THOUSANDS, "", regex=True)))
    if transform != THOUSANDS or pdt.is_numeric_dtype(s) or pdt.is_bool_dtype(s):
        return s
    text = arrow_text(s)
    if text is not None:
        import pyarrow.compute as pc

        return pd.Series(pd.arrays.ArrowStringArray(pc.replace_substring(text, ",", "")), index=s.index)
    return s.where(s.isna(), s.astype(str).str.replace(",", "", regex=False))


def comma_to_point(s: pd.Series, dots: bool = False) -> pd.Series:
    """A decimal-comma column's text with the decimal point numbers are parsed with (numbers pass as they are):
    a value that can only be grouped with dots ("1.234.567", "573.628,56") loses them first. "1.234" alone
    may be either and reads as written, as does a stray "0.125" among "2,5", but where the column was seen
    grouped with dots (`dots`, DOT_THOUSANDS) every value of such groups loses them ("99.781" is 99781;
    "0.125" and "1234.5" still read as written)."""
    if pdt.is_numeric_dtype(s) or pdt.is_bool_dtype(s):
        return s
    text = arrow_text(s)
    if text is not None:
        import pyarrow.compute as pc

        grouped = pc.match_substring_regex(text, (_DOT_GROUPED if dots else _SURELY_DOT_GROUPED).pattern)
        text = pc.if_else(grouped, pc.replace_substring(text, ".", ""), text)
        return pd.Series(pd.arrays.ArrowStringArray(pc.replace_substring(text, ",", ".")), index=s.index)
    t = s.astype(str)
    t = t.where(~t.str.fullmatch(_DOT_GROUPED if dots else _SURELY_DOT_GROUPED), t.str.replace(".", "", regex=False))
    return s.where(s.isna(), t.str.replace(",", ".", regex=False))


def arrow_text(s: pd.Series):
    """The Arrow array behind a text column read by pyarrow (the scoring path), else None."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return s.array.__arrow_array__()
    return None


def arrow_floats(text) -> np.ndarray | None:
    """An Arrow text array of numbers parsed by Arrow, gaps as NaN; None when a value is not a number
    (pandas then finds and counts those values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _arrow_float(series: pd.Series) -> pd.Series | None:
    """Parse a column of number strings with pyarrow (much faster than pandas); None if any value is not a number."""
    if not (pdt.is_string_dtype(series) or pdt.is_object_dtype(series)):
        return None
    try:
        import pyarrow as pa

        text = arrow_text(series)  # read by pyarrow: parse its own array, no conversion first
        if text is None:
            text = pa.array(series, from_pandas=True, type=pa.large_string())
        values = arrow_floats(text)
    except Exception:  # noqa: BLE001 - any failure means "not all numbers"; pandas then finds which
        return None
    return None if values is None else pd.Series(values, index=series.index, dtype=float)


def written_as_numbers(text: pd.Series) -> pd.Series:
    """Which text values are numbers in any of the forms read here (plain, with a decimal comma, thousands
    separators, signs, a clock or units, with a decimal point or comma). A sign's decimal comma may come with dots between the thousands
    ("1.234,50 €"), as with_units reads it."""
    bare = strip_units(text)
    return (pd.to_numeric(text, errors="coerce").notna() | text.str.fullmatch(_DECIMAL_COMMA) | text.str.fullmatch(_THOUSANDS)
            | bare.str.fullmatch(_PLAIN_NUMBER) | bare.str.fullmatch(_THOUSANDS)
            | bare.str.replace(_DOT_THOUSANDS, "", regex=True).str.fullmatch(_DECIMAL_COMMA) | text.str.fullmatch(_DOT_GROUPED)
            | text.str.fullmatch(_CLOCK) | text.str.fullmatch(_MAGNITUDE) | text.str.replace(",", ".", regex=False).str.fullmatch(_MAGNITUDE))
