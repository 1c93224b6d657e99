"""A DNS name's shape, as numbers: what a query for a tunnel or a generated domain gives away.

A DNS log's queried names repeat (the same sites, day after day), but most of a day's names are seen a
few times: as a category, each rare one is pooled with every other, a tunnel's
`mzxw6ytboi2dsnbrgi3dmobqgiza.t.example.net` with `www.example.org`. Its length, its many labels, its
digits and its randomness are the evidence, and they hold for a name never seen before.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pandas as pd

# The derived columns, in this order: "query:length", "query:labels", ...
PARTS = ("length", "labels", "longest", "digits", "entropy")
# Column names that hold a name asked for or connected to: Zeek's dns.log query, Suricata's dns.rrname,
# Zeek's ssl.log server_name, Suricata's tls.sni, ECS's dns.question.name, nProbe's DNS_QUERY. A host's own
# name (CEF's dhost) is not among them: it identifies the host, as its address does.
_NAME_WORDS = {"query", "qname", "rrname", "query_name", "queryname", "dns_query", "domain", "server_name", "servername", "sni"}
# Labels of letters, digits, '-' and '_' (SRV names: _ldap._tcp), up to 63 each, a trailing dot allowed.
_DNS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?$")
_HAS_LETTER = re.compile(r"[A-Za-z]")


def named_for_names(column: str) -> bool:
    """Whether a column's name says it holds DNS names that were asked for (see _NAME_WORDS)."""
    lower = column.strip().lower()
    return lower.rsplit(".", 1)[-1] in _NAME_WORDS or lower.endswith("question.name")


def holds_names(values: pd.Series, sample: int = 2000) -> bool:
    """Whether the (non-missing) values are DNS names: nearly all shaped so, and most with a dot (a column of
    words, NOERROR or udp, is not)."""
    text = values.iloc[:: max(1, len(values) // sample)].astype(str)
    if not len(text):
        return False
    named = text.str.fullmatch(_DNS_NAME) & text.str.contains(_HAS_LETTER)
    return bool(named.mean() >= 0.95 and text.str.contains(".", regex=False).mean() >= 0.5)


def _shape(name: str) -> tuple[float, ...]:
    name = name.strip().rstrip(".").lower()
    if not name:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    labels = name.split(".")
    chars = name.replace(".", "")
    n = len(chars)
    counts = Counter(chars)
    entropy = -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0
    digits = sum(ch.isdigit() for ch in chars) / n if n else 0.0
    return (float(len(name)), float(len(labels)), float(max(map(len, labels))), digits, entropy)


def shapes(s: pd.Series) -> dict[str, np.ndarray]:
    """Each part of PARTS for every row of `s` (NaN where it holds no name), each distinct name measured once:
    a DNS log asks for the same names over and over."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    measured = np.array([_shape(str(v)) for v in uniques], dtype=np.float64).reshape(len(uniques), len(PARTS))
    measured = np.vstack([measured, np.full((1, len(PARTS)), np.nan)])  # code -1, no name: the last row
    per_row = measured[codes]
    return {part: per_row[:, k] for k, part in enumerate(PARTS)}
