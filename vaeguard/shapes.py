"""The shape of a DNS name or a URL, as numbers: what a tunnel, a generated domain or an injected request gives away.

A DNS log's queried names repeat (the same sites, day after day), but most of a day's names are seen a
few times: as a category, each rare one is pooled with every other, a tunnel's
`mzxw6ytboi2dsnbrgi3dmobqgiza.t.example.net` with `www.example.org`. Its length, its many labels, its
digits and its randomness are the evidence, and they hold for a name never seen before. So for a URL:
nearly every request's is new, and a path traversal or an injected query shows in its length, its
parameters and its symbols (`/item.php?id=1%27%20UNION%20SELECT...`), not in its being new.

A shape column's parts are numeric columns of the model, named `query:length`..., measured from the input
column (`encode.NumericColumn.source`) by `shapes(kind, values)`; `kind` is the role, "domain" or "url".
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Each kind's derived columns, in this order: "query:length", "query:labels", ...
PARTS = {
    "domain": ("length", "labels", "longest", "digits", "entropy"),
    # depth: '/' in the path; params: the query's parameters; symbols: the share of characters other than
    # letters, digits, a path's / . - _ and a query's ? = & (%, quotes, brackets, ;: what encoding and injection
    # are made of).
    "url": ("length", "depth", "params", "digits", "symbols", "entropy"),
}
# Column names that hold a name asked for or connected to: Zeek's dns.log query, Suricata's dns.rrname,
# Zeek's ssl.log server_name, Suricata's tls.sni, ECS's dns.question.name and url.domain, nProbe's DNS_QUERY. A host's own
# name (CEF's dhost) is not among them: it identifies the host, as its address does.
_NAME_WORDS = {"query", "qname", "rrname", "query_name", "queryname", "dns_query", "domain", "server_name", "servername", "sni"}
# A site asked for by its name elsewhere: Suricata's HTTP Host header (its top-level `host` is the sensor's name).
_NAMES = {"http.hostname", "http.host"}
# A request's URL or path: Zeek http.log's uri, Suricata's http.url, ECS's url.original and url.path, the W3C
# log's cs-uri-stem and cs-uri-query (IIS), a proxy's url.
_URL_WORDS = {"uri", "url", "request_uri", "requesturi", "original", "cs-uri-stem", "cs-uri-query", "uri_path", "url_path", "path"}
# Labels of letters, digits, '-' and '_' (SRV names: _ldap._tcp), up to 63 each, a trailing dot allowed.
_DNS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?$")
_HAS_LETTER = re.compile(r"[A-Za-z]")
# A path or a whole URL, as a request names it, with no space in it.
_URL = re.compile(r"^(/|[A-Za-z][A-Za-z0-9+.-]*://)[^\s]*$")


def named_for(kind: str, column: str) -> bool:
    """Whether a column's name says it holds DNS names that were asked for ("domain") or requests' URLs ("url")."""
    lower = column.strip().lower()
    last = lower.rsplit(".", 1)[-1]
    if kind == "url":
        return last in _URL_WORDS and (last != "original" or lower == "url.original") and (last != "path" or lower.startswith("url"))
    return last in _NAME_WORDS or lower.endswith("question.name") or lower in _NAMES


def holds(kind: str, values: pd.Series, sample: int = 2000) -> bool:
    """Whether the (non-missing) values are of `kind`: DNS names (nearly all shaped so, and most with a dot: a
    column of words, NOERROR or udp, is not), or URLs (nearly all a path or a URL with a scheme)."""
    text = values.iloc[:: max(1, len(values) // sample)].astype(str)
    if not len(text):
        return False
    if kind == "url":
        return bool(text.str.fullmatch(_URL).mean() >= 0.95)
    named = text.str.fullmatch(_DNS_NAME) & text.str.contains(_HAS_LETTER)
    return bool(named.mean() >= 0.95 and text.str.contains(".", regex=False).mean() >= 0.5)


def _entropy(text) -> np.ndarray:
    """Bits per character of each string of an Arrow string array: every (string, character) pair counted
    by one sort of the characters."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(text, pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]] if data is not None else np.zeros(0, np.uint8)
    owner = np.repeat(np.arange(len(text)), np.diff(offsets))
    pairs, counts = np.unique(owner.astype(np.int64) * 256 + data, return_counts=True)
    who = pairs // 256
    share = counts / np.diff(offsets)[who]
    return np.bincount(who, weights=-share * np.log2(share), minlength=len(text)) + 0.0


def _numbers(array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False).astype(np.float64)


def _measure_domains(text) -> np.ndarray:
    import pyarrow.compute as pc

    text = pc.utf8_lower(pc.utf8_rtrim(pc.utf8_trim_whitespace(text), "."))
    length = _numbers(pc.utf8_length(text))
    dots = _numbers(pc.count_substring(text, "."))
    chars = length - dots
    labels = np.where(length > 0, dots + 1, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        digits = np.where(chars > 0, _numbers(pc.count_substring_regex(text, "[0-9]")) / chars, 0.0)
    parts = pc.split_pattern(text, ".")
    label_lengths = _numbers(pc.utf8_length(pc.list_flatten(parts)))
    per_name = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    longest = np.zeros(len(per_name))
    np.maximum.at(longest, np.repeat(np.arange(len(per_name)), per_name), label_lengths)
    return np.column_stack([length, labels, longest, digits, _entropy(pc.replace_substring(text, ".", ""))])


def _measure_urls(text) -> np.ndarray:
    import pyarrow.compute as pc

    length = _numbers(pc.utf8_length(text))
    path = pc.replace_substring_regex(text, r"[?#].*$", "")
    path = pc.replace_substring_regex(path, r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*", "")  # a whole URL's scheme and host
    depth = _numbers(pc.count_substring(path, "/"))
    query = pc.replace_substring_regex(pc.replace_substring_regex(text, r"#.*$", ""), r"^[^?]*\??", "")
    params = np.where(_numbers(pc.utf8_length(query)) > 0, _numbers(pc.count_substring(query, "&")) + 1, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        digits = np.where(length > 0, _numbers(pc.count_substring_regex(text, "[0-9]")) / length, 0.0)
        symbols = np.where(length > 0, _numbers(pc.count_substring_regex(text, r"[^A-Za-z0-9/._?=&-]")) / length, 0.0)
    return np.column_stack([length, depth, params, digits, symbols, _entropy(text)])


def shapes(kind: str, s: pd.Series) -> dict[str, np.ndarray]:
    """Each part of PARTS[kind] for every row of `s` (NaN where it holds no value), each distinct value measured
    once, by Arrow's string kernels (a DNS log asks for the same names over and over; a chunk of one holds
    thousands of distinct names, measured again in every chunk)."""
    import pyarrow as pa

    parts = PARTS[kind]
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques):
        text = pa.array([str(v) for v in uniques], type=pa.large_string())  # (pyarrow 14 takes no numpy str array here)
        measured = (_measure_urls if kind == "url" else _measure_domains)(text)
    else:
        measured = np.zeros((0, len(parts)))
    measured = np.vstack([measured, np.full((1, len(parts)), np.nan)])  # code -1, no value: the last row
    per_row = measured[codes]
    return {part: per_row[:, k] for k, part in enumerate(parts)}
