"""A DNS name's shape, as numbers: what a query for a tunnel or a generated domain gives away.

A DNS log's queried names repeat (the same sites, day after day), but most of a day's names are seen a
few times: as a category, each rare one is pooled with every other, a tunnel's
`mzxw6ytboi2dsnbrgi3dmobqgiza.t.example.net` with `www.example.org`. Its length, its many labels, its
digits and its randomness are the evidence, and they hold for a name never seen before.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# The derived columns, in this order: "query:length", "query:labels", ...
PARTS = ("length", "labels", "longest", "digits", "entropy")
# Column names that hold a name asked for or connected to: Zeek's dns.log query, Suricata's dns.rrname,
# Zeek's ssl.log server_name, Suricata's tls.sni, ECS's dns.question.name and url.domain, nProbe's DNS_QUERY. A host's own
# name (CEF's dhost) is not among them: it identifies the host, as its address does.
_NAME_WORDS = {"query", "qname", "rrname", "query_name", "queryname", "dns_query", "domain", "server_name", "servername", "sni"}
# A site asked for by its name elsewhere: Suricata's HTTP Host header (its top-level `host` is the sensor's name).
_NAMES = {"http.hostname", "http.host"}
# Labels of letters, digits, '-' and '_' (SRV names: _ldap._tcp), up to 63 each, a trailing dot allowed.
_DNS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?$")
_HAS_LETTER = re.compile(r"[A-Za-z]")


def named_for_names(column: str) -> bool:
    """Whether a column's name says it holds DNS names that were asked for (see _NAME_WORDS)."""
    lower = column.strip().lower()
    return lower.rsplit(".", 1)[-1] in _NAME_WORDS or lower.endswith("question.name") or lower in _NAMES


def holds_names(values: pd.Series, sample: int = 2000) -> bool:
    """Whether the (non-missing) values are DNS names: nearly all shaped so, and most with a dot (a column of
    words, NOERROR or udp, is not)."""
    text = values.iloc[:: max(1, len(values) // sample)].astype(str)
    if not len(text):
        return False
    named = text.str.fullmatch(_DNS_NAME) & text.str.contains(_HAS_LETTER)
    return bool(named.mean() >= 0.95 and text.str.contains(".", regex=False).mean() >= 0.5)


def _measure(names: list[str] | np.ndarray) -> np.ndarray:
    """PARTS for each name, as a (names x parts) array: Arrow's string kernels and one sort, no Python per name
    (a chunk of a DNS log holds thousands of distinct names, measured again in every chunk)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_lower(pc.utf8_rtrim(pc.utf8_trim_whitespace(pa.array(names, type=pa.large_string())), "."))
    length = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.float64)
    dots = pc.count_substring(text, ".").to_numpy(zero_copy_only=False).astype(np.float64)
    chars = length - dots
    labels = np.where(length > 0, dots + 1, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        digits = np.where(chars > 0, pc.count_substring_regex(text, "[0-9]").to_numpy(zero_copy_only=False) / chars, 0.0)
    parts = pc.split_pattern(text, ".")
    label_lengths = pc.utf8_length(pc.list_flatten(parts)).to_numpy(zero_copy_only=False)
    per_name = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    owner = np.repeat(np.arange(len(per_name)), per_name)
    longest = np.zeros(len(per_name))
    np.maximum.at(longest, owner, label_lengths)
    # Entropy in bits per character: every (name, character) pair counted by one sort of the characters.
    flat = pc.replace_substring(text, ".", "")
    data = np.frombuffer(flat.buffers()[2], dtype=np.uint8) if len(flat) and flat.buffers()[2] is not None else np.zeros(0, np.uint8)
    offsets = np.frombuffer(flat.buffers()[1], dtype=np.int64)[flat.offset : flat.offset + len(flat) + 1]
    data = data[offsets[0] : offsets[-1]]
    name_of = np.repeat(np.arange(len(flat)), np.diff(offsets))
    pairs, counts = np.unique(name_of.astype(np.int64) * 256 + data, return_counts=True)
    who = pairs // 256
    share = counts / np.diff(offsets)[who]
    entropy = np.bincount(who, weights=-share * np.log2(share), minlength=len(flat)) + 0.0
    return np.column_stack([length, labels, longest, digits, entropy])


def shapes(s: pd.Series) -> dict[str, np.ndarray]:
    """Each part of PARTS for every row of `s` (NaN where it holds no name), each distinct name measured once:
    a DNS log asks for the same names over and over."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    measured = _measure(np.asarray(uniques, dtype=object).astype(str)) if len(uniques) else np.zeros((0, len(PARTS)))
    measured = np.vstack([measured, np.full((1, len(PARTS)), np.nan)])  # code -1, no name: the last row
    per_row = measured[codes]
    return {part: per_row[:, k] for k, part in enumerate(PARTS)}
