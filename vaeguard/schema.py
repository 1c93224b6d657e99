"""Give every column a role, with the reason shown to the user; check a new table against the trained columns.

Network data has meaning that value counts alone miss: a timestamp is a time, not a magnitude; an IP
address identifies a host, it does not measure one; a port names a service; a byte count is a count
however few distinct values one day had. The rules use, in order: the user's `--role`, what the file
format says (Zeek's #types), the column's name, and its values.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from .errors import InputError, SchemaError, quoted_names
from .numbertext import (
    DOT_THOUSANDS, NUMERIC_TEXT_FRACTION, THOUSANDS, UNITS, UNITS_DECIMAL_COMMA, as_point_numbers, decimal_comma, decimal_comma_kind,
    dots_between_thousands, is_number, marked_numbers, maybe_grouped_with_dots, thousands_separated, written_as_numbers, zero_led_codes,
)
from .parallel import pandas_column_workers, thread_map
from .shapes import holds, named_for

NUMERIC, CATEGORICAL, PORT, ADDRESS, TIME, DOMAIN, URL, CONSTANT, IGNORED = (
    "numeric", "categorical", "port", "address", "time", "domain", "url", "constant", "ignored",
)
SHAPED = (DOMAIN, URL)  # roles whose column is measured by its shape (shapes.PARTS), in derived numeric columns
# What `--role COL=ROLE` accepts. `address` and `time` are opt-in derived features: the scope of an IP
# address (private, public, ...) and the hour of day and day of week of a timestamp. `domain` and `url`: a DNS
# name's or a URL's shape (shapes.PARTS), by default where a column's name and values say it holds them.
USER_ROLES = {"numeric": NUMERIC, "categorical": CATEGORICAL, "port": PORT, "address": ADDRESS, "time": TIME, "domain": DOMAIN,
              "url": URL, "ignore": IGNORED}

# Text columns where most values are distinct are identifiers (hosts, session ids), not categories.
ID_UNIQUE_FRACTION = 0.5
# An integer column named like a code (flag, type, state...) is a category up to this many values.
MAX_CODE_VALUES = 50
# Epoch times from 2000 to 2100, in seconds, milliseconds, microseconds and nanoseconds (goflow2's
# time_flow_start_ns, Go's and Elastic's clocks).
EPOCH_RANGES = ((9.46e8, 4.11e9), (9.46e11, 4.11e12), (9.46e14, 4.11e15), (9.46e17, 4.11e18))
EPOCH_BAND = 0.05  # the widest span, as a share of their size, in which epoch values are taken for times
# Logs are written roughly in time order (Zeek writes a connection when it ends, stamped with its start).
ORDERED_FRACTION = 0.75
SAMPLE = 2000  # values looked at for the text patterns

_TIME_WORDS = {"ts", "time", "timestamp", "datetime", "date", "stime", "ltime", "start", "end", "seen", "first", "last"}
_PORT_WORDS = {"port", "sport", "dport", "dsport", "srcport", "dstport", "sp", "dp"}  # sp, dp: nfdump
_ZEEK_PORT = re.compile(r"(^|\.)(orig|resp)_p$")  # Zeek's id.orig_p / id.resp_p in a CSV export
_SEQ_WORDS = {"stcpb", "dtcpb", "seq", "isn", "tcpb", "tcpsyn", "tcpack"}  # tcpsyn, tcpack: Windows Firewall's
_ID_WORDS = {"uid", "uuid", "id", "guid", "session", "sessionid"}
_COUNT_WORDS = {"bytes", "pkts", "packets", "count", "cnt", "num", "len", "length", "size"}
# Names of measures, which values spread evenly over a huge range never make an identifier (ECS's
# event.duration, in nanoseconds).
_DURATION_WORDS = {"duration", "dur", "rtt", "elapsed", "latency"}
_MEASURE_WORDS = _COUNT_WORDS | _DURATION_WORDS
_CODE_WORDS = {"flag", "flags", "code", "type", "proto", "protocol", "state", "status", "class", "kind", "category",
               "reason",  # IPFIX's flowEndReason: 1 idle timeout, 2 active timeout, 3 end of flow...
               # The type-of-service byte and its parts (nfdump's tos, stos and dtos, Argus' sdsb and ddsb):
               # a traffic class marking, where 46 (expedited forwarding) is no more than 32, only other.
               "tos", "stos", "dtos", "dscp", "ecn", "dsfield", "sdsb", "ddsb"}
# VLAN ids (Zeek's vlan and inner_vlan, id.vlan as a connection key; Argus' svln and dvln): a tag names a
# network segment as an address names a host. A sensor on another trunk, or another network, sees other
# tags, so as a code every one of its rows would hold a value training never held.
_SEGMENT_WORDS = {"vlan", "vlans", "vlanid", "svln", "dvln"}
# A data set's answer for the row (IoT-23's label and detailed-label, CIC-IDS2017's Label, UNSW-NB15's
# attack_cat and label): not traffic. Learned, it flags rows by their label (a model of benign rows holds
# one value), and traffic as a sensor writes it has none, so scoring it stopped on a missing column.
_GROUND_TRUTH_NAMES = {"label", "labels", "detailed-label", "detailed_label", "attack", "attack_cat", "attack_type", "is_attack",
                       "malicious", "is_malicious", "ground_truth"}


def ground_truth_name(name) -> bool:
    """Whether a column's name says it holds each row's true label (ignored by that name)."""
    return str(name).strip().lower() in _GROUND_TRUTH_NAMES


# Names that may hold the answer or may not (a traffic class, a coordinate): used, with a warning.
_LABEL_NAMES = {"class", "target", "y", "anomaly", "outlier"}
# Made from the labels, not the traffic (NSL-KDD's difficulty: how many of 21 classifiers labelled the record
# right, higher on normal rows): used, with the same warning, and never offered as the label itself.
_FROM_LABEL_NAMES = {"difficulty", "difficulty_level"}
# The hint `fit --label` gives its label column: the rows were chosen by it, so it is never a feature.
LABEL_HINT = "--label"
_HEX_NUMBER = re.compile(r"^0x[0-9a-fA-F]+$")
_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}(,([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2})*$")  # lists joined by ','
_IP_CHARS = re.compile(r"^[0-9a-fA-F:.]+(%\w+)?$")  # what an IPv4 or IPv6 address (with a zone) is made of
# Dates, with or without a time of day: ISO 8601, Argus' 2011/08/10 09:46:53, CICFlowMeter's 7/7/2017 8:59.
_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?$")
_DATE_TIME = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})([T ]\d{1,2}:\d{2}|$)")
# A date with its month named and a time of day, as syslog (Dec  7 08:04:15), ctime (Mon Dec  7 08:04:15 2026), email and
# HTTP (Mon, 07 Dec 2026 08:04:15 +0000) and web servers' logs (07/Dec/2026:08:04:15 +0000) write them.
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_NAMED_MONTH_TIME = re.compile(rf"^(?:[a-z]{{3}},? )?(?:\d{{1,2}}[ /-]{_MONTH}[ /-]\d{{2,4}}|{_MONTH}[ /-]{{1,2}}\d{{1,2}}(?:,? \d{{4}})?)"
                               r"[ :T]\d{1,2}:\d{2}", re.IGNORECASE)
# Dates written as whole numbers, YYYYMMDD or YYYYMMDDhhmmss (a named time's values: 20261207).
DIGIT_DATE_RANGES = ((19000101, 21001231), (19000101000000, 21001231235959))
# Zeek's connection history: one letter per event (s SYN, h SYN-ACK, a ACK, d data, f FIN, r reset, c bad
# checksum, g gap, t retransmission, w zero window, i inconsistent, q multi-flag, ^ direction flipped);
# upper case when the originator sent it.
HISTORY_LETTERS = "ShAaDdFfRrCcGgTtWwIiQq^"
_HISTORY = re.compile(f"^[{re.escape(HISTORY_LETTERS)}]+$")
_COMMUNITY_ID = re.compile(r"^\d+:[A-Za-z0-9+/]{27}=$")  # version:base64(SHA-1) of a flow's addresses and ports
# Zeek's connection and file ids (C or F and base62 letters, made at random): they name a connection,
# which another log (http, dns, files) may mention many times, so they need not be distinct to be ids.
_ZEEK_UID = re.compile(r"^[CF][0-9A-Za-z]{11,21}$")
_ZEEK_UID_WORDS = {"uid", "fuid", "uids", "fuids"}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


@dataclass
class ColumnSpec:
    name: str
    role: str
    reason: str
    # "length": the column holds Zeek sets or vectors; the member count is the feature.
    # "history": Zeek's connection history; each of its event letters is a feature too.
    # "decimal-comma": numbers written with a decimal comma (2,5), as spreadsheets export them in much
    # of Europe; read with the comma as the decimal point, and dots between the thousands dropped where they
    # can be nothing else (1.234.567, 1.234,5). "dot-thousands": such a column that training saw grouped with dots,
    # where every value of groups of three digits after dots is grouped (99.781 beside 1.234.567).
    # "bool": true/false by the format's types, however written (Zeek's TSV: T and F).
    # "category", on a domain or url column: the value itself is a category too (names repeat; see shape_spec).
    transform: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _spellings(name: str) -> list[list[str]]:
    """The name's words as written and split at camel case: 'StartTime' gives [starttime] and [start, time]."""
    camel = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [[w for w in re.split(r"[^0-9a-zA-Z]+", text.lower()) if w] for text in (name, camel)]


def role_flag(name: str, role: str) -> str:
    """The --role option for a column, quoted for a shell where the name needs it (CICFlowMeter's 'Flow Duration')."""
    return "--role " + shlex.quote(f"{name}={role}")


def _words(name: str) -> set[str]:
    return {w for words in _spellings(name) for w in words}


# A word that ends a name's word as a code word ends it: Zeek's dns fields qtype, qclass and rcode, ipproto.
_CODE_ENDINGS = ("type", "code", "class", "flag", "flags", "status", "proto")


def _code_named(name: str) -> bool:
    return any(w in _CODE_WORDS or w.endswith(_CODE_ENDINGS) for w in _words(name))


# How a Parquet list column's values arrive in pandas.
LIST_TYPES = (list, tuple, np.ndarray)


def is_arrow_list(t) -> bool:
    """Whether an Arrow type is a list of values (of any of its three layouts)."""
    import pyarrow as pa

    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def zeek_base_type(hint: str) -> str:
    return hint.split("[", 1)[0].lower() if hint else ""


def zeek_member_type(hint: str) -> str:
    """The members' type of a set, vector or JSON array: "count" of set[count], "record" of list[record]; "" where
    the hint names none ("list": members of several types)."""
    return hint.split("[", 1)[1].rstrip("]").lower() if "[" in hint else ""


def distinct_values(s: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """Each row's code and the distinct values of `s` (gaps among them), where working on each distinct
    value once pays: 64 rows or more, at most half of them distinct. None for objects too: Python's equality
    merges True, 1 and 1.0, which read apart."""
    if len(s) < 64 or pdt.is_object_dtype(s.dtype):
        return None
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return (codes, pd.Series(uniques, dtype=s.dtype)) if 2 * len(uniques) <= len(s) else None


def joined_lists(s: pd.Series) -> pd.Series | None:
    """A column of lists (a Parquet list column; Python lists or arrays, as Spark hands them over) as the text
    the JSON and Zeek readers make of a list ("a,b", "(empty)"; a comma within a member as \\x2c), so that a
    list taken as a category reads the same from every format; None where `s` holds no lists."""
    from .logs.jsonlines import joined_members, joined_plain_list, records_text

    if isinstance(s.dtype, pd.ArrowDtype) and is_arrow_list(s.dtype.pyarrow_dtype):
        col = s.array.__arrow_array__()
        joined = joined_plain_list(col)
        if joined is not None:
            return pd.Series(joined.to_pandas(types_mapper=None), index=s.index, dtype=object)
        s = pd.Series(col.to_pylist(), index=s.index, dtype=object)
    first = s.dropna().iloc[:1]
    if not (len(first) and isinstance(first.iloc[0], LIST_TYPES)):
        return None

    def joined(v):
        if not isinstance(v, LIST_TYPES):
            return v
        members = [m for m in v if m is not None]
        if members and all(isinstance(m, dict) for m in members):
            return records_text(members)
        return joined_members(members)

    return s.map(joined).astype(object)


def set_lengths(s: pd.Series) -> pd.Series:
    """Members of Zeek sets and vectors as written in a log ("a,b"; "(empty)" or unset: none), or of the
    lists a Parquet list column holds (unset: none)."""
    if isinstance(s.dtype, pd.ArrowDtype) and is_arrow_list(s.dtype.pyarrow_dtype):
        import pyarrow.compute as pc

        return pd.Series(pc.list_value_length(s.array.__arrow_array__()).to_numpy(zero_copy_only=False), index=s.index).fillna(0).astype(float)
    first = s.dropna().iloc[:1]
    if len(first) and isinstance(first.iloc[0], LIST_TYPES):
        return s.map(lambda v: len(v) if isinstance(v, LIST_TYPES) else 0).astype(float)
    distinct = distinct_values(s)
    if distinct is not None:
        # A log's sets repeat ("(empty)" on most lines): each distinct one is counted once (1M rows: 0.1 s -> 0.01 s).
        codes, uniques = distinct
        return pd.Series(set_lengths(uniques).to_numpy()[codes], index=s.index)
    text = s.astype(object).where(s.notna(), "")
    text = text.astype(str)
    counts = text.str.count(",") + 1
    arrays = text.str.startswith("[")
    if arrays.any():  # a list of records, kept as its JSON text (logs.jsonlines): its commas are its fields'
        counts[arrays] = text[arrays].map(_json_members)
    return counts.where(~text.isin(["", "(empty)", "-"]), 0).astype(float)


def _json_members(text: str) -> int:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text.count(",") + 1
    return len(value) if isinstance(value, list) else text.count(",") + 1


# The end a port belongs to, where a name puts it after the word: pmacct's port_src and port_dst.
_END_WORDS = {"src", "dst", "source", "dest", "destination", "orig", "resp", "local", "remote", "client", "server"}


def _port_name(name: str) -> bool:
    """Named as a port: the last word says so (dest_port, sport, dsport), or the word and then its end
    (pmacct's port_src), or Zeek's id.orig_p / id.resp_p. Not a count of ports such as UNSW-NB15's
    ct_src_dport_ltm."""
    return (any(words and (words[-1] in _PORT_WORDS or (len(words) == 2 and words[0] == "port" and words[1] in _END_WORDS))
                for words in _spellings(name))
            or bool(_ZEEK_PORT.search(name.lower())))


def _is_integer_valued(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def holds_booleans(s: pd.Series) -> bool:
    """True/false values, including with gaps: pandas keeps a JSON or CSV flag with gaps as objects."""
    return pdt.is_bool_dtype(s) or (pdt.is_object_dtype(s) and pdt.infer_dtype(s, skipna=True) == "boolean")




def _share(values: pd.Series, pattern: re.Pattern) -> float:
    sample = values.iloc[:SAMPLE].astype(str)
    return float(sample.str.match(pattern).mean()) if len(sample) else 0.0


def is_ip_address(text: str) -> bool:
    """An IPv4 or IPv6 address, by parsing (a pattern would take 12:30:45 for one)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True



def _ip_share(values: pd.Series) -> tuple[float, bool]:
    """Share of sampled values that are IP addresses, or lists of them joined by commas (ECS's related.ip,
    Zeek's sets of addresses, exported to CSV); and whether they are lists."""
    sample = values.iloc[:SAMPLE].astype(str)
    lists = bool(sample.str.contains(",", regex=False).any())
    if lists:
        sample = sample.str.split(",").explode().str.strip()
    if not len(sample) or sample.str.match(_IP_CHARS).mean() < 0.95:  # most text columns end here, cheaply
        return 0.0, lists
    return float(np.mean([is_ip_address(v) for v in sample])), lists


# An ignored column's reason that says it names one host (an IP address, not a list of them): score counts
# its flagged rows by host (hosts.tally_hosts), as an analyst's first question of flags is whose they are.
HOST_REASON = "identifies a host"


# A firewall's addresses after NAT (FortiGate's transip and tranip, PAN-OS' natsrc and natdst, Check Point's
# xlatesrc and xlatedst, SonicWall's natSrc and natDst, ECS's source.nat.ip): the firewall's own public
# address on every outbound flow, or the address the record's other end already names. Ignored as any address,
# but no host to count flags by: the firewall's address headed the table of every day's outbound flags.
_NAT_ADDRESSES = {"transip", "tranip", "natsrc", "natdst", "xlatesrc", "xlatedst", "source.nat.ip", "destination.nat.ip"}


def _address_reason(name: str, what: str) -> str:
    """An ignored IP address column's reason: it names a host (HOST_REASON), or is an address after NAT."""
    if name.lower() in _NAT_ADDRESSES:
        return f"{what} after NAT: the firewall's own, or one another column names; {role_flag(name, 'address')} adds its scope"
    return f"{what}: {HOST_REASON}; {role_flag(name, 'address')} adds its scope"


def host_columns(schema: list[ColumnSpec]) -> list[str]:
    """The columns that name one host a row: IP addresses, ignored or read for their scope (--role COL=address)."""
    return [s.name for s in schema if s.role == ADDRESS or (s.role == IGNORED and HOST_REASON in s.reason)]


# A host's or an account's own name (CEF's shost, dhost, suser and duser; FortiGate's srcname; PAN-OS's srcuser;
# Zeek ntlm's hostname and username; ECS's user.name), in any spelling (src_host, sourceHostName): it names an end
# of the traffic, as an address does, so another network's or another day's hosts and accounts would make every
# row new. Text only (NSL-KDD's dst_host_count is a count). A host's name counts flagged rows by host, as an
# address does.
_HOST_NAMES = {"hostname", "shost", "dhost", "srchost", "dsthost", "sourcehost", "desthost", "destinationhost", "sourcehostname",
               "destinationhostname", "srchostname", "dsthostname", "srcname", "dstname", "computer", "computername",
               "machinename", "srcmachinename", "dstmachinename", "workstation", "workstationname", "clienthostname"}
_USER_NAMES = {"user", "username", "suser", "duser", "srcuser", "dstuser", "sourceuser", "destinationuser", "sourceusername",
               "destinationusername", "srcusername", "dstusername", "clientusername", "unauthuser", "accountname"}


def _squeezed(name: str) -> str:
    """The name in lower case without its separators: src_host, srcHost and 'Source Host' read alike."""
    return re.sub(r"[^0-9a-z]+", "", name.lower())


def _end_named(name: str) -> ColumnSpec | None:
    squeezed = _squeezed(name)
    if squeezed in _HOST_NAMES:
        return ColumnSpec(name, IGNORED, f"host name, by name: {HOST_REASON}, as its address does; {role_flag(name, 'categorical')} uses it")
    if squeezed in _USER_NAMES:
        return ColumnSpec(name, IGNORED, f"user name, by name: names an account, as an address names a host; "
                                         f"{role_flag(name, 'categorical')} uses it")
    return None


def _identity_role(name: str, values: pd.Series) -> ColumnSpec | None:
    """Text that names a host, a device or a moment: ignored however few values training had, since a
    single gateway or a single day in training says nothing about the next capture's. Looks at a sample."""
    if _share(values, _MAC) >= 0.95:
        return ColumnSpec(name, IGNORED, "hardware (MAC) address: identifies a device")
    share, lists = _ip_share(values)
    if share >= 0.95:
        if lists:
            return ColumnSpec(name, IGNORED, "IP addresses (lists of them): identify hosts")
        return ColumnSpec(name, IGNORED, _address_reason(name, "IP address"))
    if _share(values, _DATE_TIME) >= 0.95 or _share(values, _NAMED_MONTH_TIME) >= 0.95:
        return ColumnSpec(name, IGNORED, _time_reason("date-time text", name))
    if _words(name) & _TIME_WORDS and _share(values, _TIME_OF_DAY) >= 0.95:  # W3C logs: a date column and a time column
        return ColumnSpec(name, IGNORED, "time of day, by name: a moment, not a measure")
    if _share(values, _COMMUNITY_ID) >= 0.95:
        return ColumnSpec(name, IGNORED, "Community ID: a hash of the flow's addresses and ports, identifies them")
    if _words(name) & _ZEEK_UID_WORDS and _share(values, _ZEEK_UID) >= 0.95:
        return ColumnSpec(name, IGNORED, "Zeek connection or file id (uid): names one connection, however often it repeats")
    if _share(values, _UUID) >= 0.95:
        return ColumnSpec(name, IGNORED, "UUID: a random identifier")
    if _share(values, _EMAIL) >= 0.95:
        return ColumnSpec(name, IGNORED, f"email addresses: each names an account, as an IP address names a host; "
                                         f"{role_flag(name, 'categorical')} uses it")
    return None


def _epoch_like(values: np.ndarray) -> bool:
    return any(float(np.mean((values >= lo) & (values <= hi))) >= 0.95 for lo, hi in EPOCH_RANGES)


def _digit_dates(values: np.ndarray) -> bool:
    """Whole numbers that are all dates written YYYYMMDD (or YYYYMMDDhhmmss): a month 1-12 and a day 1-31 in each."""
    for lo, hi in DIGIT_DATE_RANGES:
        if values.min() >= lo and values.max() <= hi:
            days = (values // (1 if hi < 1e9 else 1_000_000)).astype(np.int64)
            month, day = days // 100 % 100, days % 100
            return bool(np.all((month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)))
    return False


def _epoch_band(values: np.ndarray) -> bool:
    """Epoch values in a band narrow for their size: a count never sits this far from zero, so close together;
    one log's times do (a year of seconds is 2% of their size), even unnamed and out of order (nProbe's
    unlabelled JSON keys, an end time in a log sorted by start)."""
    lo = float(values.min())
    return lo > 0 and float(values.max()) - lo <= EPOCH_BAND * lo


def _ordered(values: np.ndarray) -> bool:
    return len(values) >= 20 and float(np.mean(np.diff(values) >= 0)) >= ORDERED_FRACTION


def _random_ids(values: np.ndarray, nunique: int) -> bool:
    """All distinct, spread evenly over a huge range: random identifiers or sequence numbers, not counts."""
    if len(values) < 50 or nunique < 0.95 * len(values):
        return False
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 2**24:
        return False
    q = (np.percentile(values, [10, 50, 90]) - lo) / (hi - lo)
    return bool(0.02 < q[0] < 0.2 and 0.35 < q[1] < 0.65 and 0.8 < q[2] < 0.98)


def _time_reason(how: str, name: str) -> str:
    return f"timestamp ({how}); {role_flag(name, 'time')} adds hour of day and day of week"


def _numeric_role(name: str, values: np.ndarray, note: str = "") -> ColumnSpec:
    """Roles for a column of numbers (non-missing values, as floats)."""
    words = _words(name)
    integer = _is_integer_valued(values)
    nunique: int | None = None

    def distinct() -> int:
        # A sort of the column (1M rows: 3-6 ms), wanted only for integers and id-named columns.
        nonlocal nunique
        if nunique is None:
            nunique = int(np.unique(values).size)
        return nunique

    if _epoch_like(values) and (words & _TIME_WORDS or _ordered(values) or _epoch_band(values)):
        how = ("epoch values, by name" if words & _TIME_WORDS else "epoch values in time order" if _ordered(values)
               else "epoch values close together for their size")
        return ColumnSpec(name, IGNORED, _time_reason(how, name))
    if integer and words & _TIME_WORDS and _digit_dates(values):
        return ColumnSpec(name, IGNORED, _time_reason("dates written as whole numbers, YYYYMMDD, by name", name))
    if words & _SEQ_WORDS:
        return ColumnSpec(name, IGNORED, "TCP sequence numbers: random per connection")
    if "sequence" in words:
        return ColumnSpec(name, IGNORED, "sequence number, by name: an exporter counts its records or packets with it, so "
                                         f"it only grows and measures no flow; {role_flag(name, 'numeric')} uses it")
    if words & {"pid", "ppid"}:
        return ColumnSpec(name, IGNORED, "process id: names a process on one host, measures nothing")
    if integer and _port_name(name) and values.min() >= 0 and values.max() <= 65535:
        return ColumnSpec(name, PORT, "port, by name: the service port is a category, the rest pooled as ephemeral" + note)
    if words & _ID_WORDS and distinct() > ID_UNIQUE_FRACTION * len(values) and len(values) >= 20:
        return ColumnSpec(name, IGNORED, f"identifier, by name ({distinct():,} distinct values)")
    if integer and words & _ID_WORDS and not words & _MEASURE_WORDS and len(values) >= 20:
        # An id that repeats (NetFlow's DNS_QUERY_ID: 16 bits drawn at random, 0 in every other flow) was a
        # count: its size measures nothing. Few values name a kind of thing (an event, a rule): a code.
        if distinct() > MAX_CODE_VALUES:
            return ColumnSpec(name, IGNORED, f"identifier, by name ({distinct():,} values, too many for a code): names a "
                                             "query, an event or a rule, measures nothing")
        return ColumnSpec(name, CATEGORICAL, f"integer code, by name: an id of {distinct()} values names a kind" + note)
    if integer:
        if distinct() == len(values) and len(values) >= 20 and (np.all(np.diff(values) > 0) or np.all(np.diff(values) < 0)):
            return ColumnSpec(name, IGNORED, "row number (unique, ordered)")
        if _random_ids(values, distinct()) and not words & _MEASURE_WORDS:
            return ColumnSpec(name, IGNORED, "random identifier (distinct, spread evenly over a huge range)")
        if distinct() == 2 and not words & _COUNT_WORDS:
            return ColumnSpec(name, CATEGORICAL, "two values (a flag)" + note)
        if _code_named(name) and distinct() <= MAX_CODE_VALUES:
            return ColumnSpec(name, CATEGORICAL, f"integer code, by name ({distinct()} values)" + note)
        return ColumnSpec(name, NUMERIC, ("count" if values.min() >= 0 else "integers") + note)
    return ColumnSpec(name, NUMERIC, "numbers" + note)


# Where a record was captured: the sensor's or exporter's interface (a firewall's "Inbound Interface", IPFIX's
# ingressInterface, nProbe's INPUT_SNMP) or the box itself. One capture point's constants, as an address is a host's.
_SENSOR_WORDS = {"iface", "interface", "ifindex", "ifname", "snmp", "exporter", "sensor", "observer", "collector",
                 "srcid",  # Argus' SrcId: the probe that saw the flow
                 "if",  # goflow2's in_if and out_if
                 "observation", "exporting",  # IPFIX's observationDomainId, observationPointId, exportingProcessId
                 "writer"}  # pmacct's writer_id: the collector's plugin and process id


def _sensor_named(name: str) -> ColumnSpec | None:
    if not _words(name) & _SENSOR_WORDS:
        return None
    return ColumnSpec(name, IGNORED, f"where the record was captured, by name (an interface, a sensor or an exporter): "
                                     f"another capture point's values are not news; {role_flag(name, 'categorical')} uses it")


def _segment_role(name: str, how: str = "") -> ColumnSpec | None:
    if not _words(name) & _SEGMENT_WORDS:
        return None
    return ColumnSpec(name, IGNORED, f"VLAN{how}: names a network segment, as an address names a host; "
                                     f"{role_flag(name, 'categorical')} uses it")


def _hinted(name: str, s: pd.Series, hint: str) -> ColumnSpec | None:
    """Roles that the file format states (Zeek's #types, Suricata's and Zeek JSON's known fields)."""
    base = zeek_base_type(hint)
    if base == "time":
        return ColumnSpec(name, IGNORED, _time_reason(f"type {hint}", name))
    if base in ("addr", "subnet"):
        return ColumnSpec(name, IGNORED, _address_reason(name, f"IP address (type {hint})"))
    if base == "id":
        return ColumnSpec(name, IGNORED, "identifier: a new value for every flow")
    if base == "label":  # pf's rule tracker: digits that name a rule (1000000103 read as a time by its size)
        return ColumnSpec(name, CATEGORICAL, f"a label (type {hint}): names a rule or a kind, measures nothing")
    if base == "mac":  # netfilter's MAC=: the frame's destination and source and its EtherType, in one field
        return ColumnSpec(name, IGNORED, "hardware (MAC) address: identifies a device")
    if base == "cloud":
        return ColumnSpec(name, IGNORED, "where in the cloud the record was captured (account or project, network interface, VPC, "
                                         "subnet, instance, region, zone): another capture point's values are not news")
    if base == "shipper":
        return ColumnSpec(name, IGNORED, _SHIPPER_REASON)
    if base == "scored":
        return ColumnSpec(name, IGNORED, f"written by `vaeguard score` (a model's verdict on the row, not the traffic): a model fitted on "
                                         f"it learns the last model's scores; "
                                         f"{role_flag(name, 'numeric' if name in ('anomaly_score', 'p_value') else 'categorical')} uses it")
    if base == "route":
        return ColumnSpec(name, IGNORED, "routing data or location of an address (AS number, prefix length, MPLS label, country): "
                                         "says where a host sits, as the address does, not what the traffic did")
    if base == "copy":
        return ColumnSpec(name, IGNORED, "another field's value in other words (an exporter's number for the application "
                                         "it also names): the same evidence twice")
    if base == "sensor":
        return ColumnSpec(name, IGNORED, "the sensor's bookkeeping (which sensor, interface or file wrote the record, and why "
                                         "then), not the traffic")
    segment = _segment_role(name, f", by name (type {hint})") if base in ("set", "vector", "table", "list", "count", "int") else None
    if segment is not None:
        # Suricata's list of tags too: how many a frame carries (none, one, QinQ's two) says where the sensor
        # listens (an access port, a trunk), not what the traffic did.
        return segment
    if base in ("set", "vector", "table", "list"):
        lengths = set_lengths(s)
        one_count = lengths.nunique() <= 1
        if one_count and base == "list":
            # A list of one host's addresses (Suricata 7's ether.src_macs): the member count never moved, and
            # the members name a device, so the column is what they are, not a check on the count.
            members = s.dropna().map(lambda v: ",".join(map(str, v)) if isinstance(v, LIST_TYPES) else str(v))
            identity = _identity_role(name, members) if len(members) else None
            if identity is not None:
                return identity
        if one_count:
            k = int(lengths.iloc[0]) if len(lengths) else 0
            return ColumnSpec(name, CONSTANT, f"type {hint}, always {k} member{'' if k == 1 else 's'} in training: "
                              "any other count is flagged", transform="length")
        return ColumnSpec(name, NUMERIC, f"type {hint}: the number of members", transform="length")
    if s.notna().sum() == 0:
        return None
    if base == DOMAIN:  # a site asked for by name where the format says so (Zeek http.log's host), unless it is an address
        present = s.dropna()
        nunique = int(present.astype(str).nunique())
        if nunique > 1 and holds(DOMAIN, present):  # one site's own log: its one name is a constant, as any text's
            return shape_spec(DOMAIN, name, present, "the site a request asked for by its name, as the log's format says", nunique)
        return None
    if base == "port":
        return ColumnSpec(name, PORT, "port (type port): the service port is a category, the rest pooled as ephemeral")
    coded = base in ("count", "int") and _code_named(name)
    if base in ("count", "int") and _words(name) & _ID_WORDS and not coded:
        # Zeek's dns trans_id: a query's 16-bit id, drawn at random. A million queries hold each value
        # many times over, so no share of distinct values tells it; its name and type do.
        return ColumnSpec(name, IGNORED, f"identifier, by name (type {hint}): names a query or transaction, measures nothing")
    if coded:
        # Zeek types ip_proto as a number; it names a protocol.
        values = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
        if len(values) and _is_integer_valued(values):
            if values.min() == values.max():  # as infer_column: the distinct count is sorted for once, if a rule needs it
                return _one_value(name, s.dropna(), len(s))
            return _numeric_role(name, values, f" (type {hint})")
    if base in ("count", "int", "interval", "double"):
        return ColumnSpec(name, NUMERIC, f"{'count' if base == 'count' else 'number'} (type {hint})")
    if base == "bool":
        # Zeek writes T and F in TSV, true and false in JSON: one label for both (see encode.canonical_strings).
        return ColumnSpec(name, CATEGORICAL, f"true/false (type {hint})", transform="bool")
    return None  # string / enum: the text rules decide (an id-like string such as Zeek's uid is ignored)


# Elastic Common Schema fields that say which agent, host or pipeline shipped a record (a Zeek or Suricata
# log exported from Elasticsearch), not what the traffic did: one sensor's constant, so every row of
# another sensor would hold a value training never held.
_SHIPPER_PREFIXES = ("agent.", "observer.", "ecs.", "host.", "input.", "log.", "fileset.", "cloud.", "@metadata.")
_SHIPPER_REASON = "the shipper's bookkeeping (Elastic Common Schema: which agent, host or pipeline sent the record), not the traffic"
# What Elasticsearch adds to a document (a Kibana CSV export, an _search dump): its index (named by day:
# filebeat-7.17.0-2019.01.10), id and score; and what log shippers add to Zeek JSON, exported as CSV.
_DOCUMENT_FIELDS = {"_index", "_id", "_type", "_score", "_version", "_routing", "_seq_no", "_primary_term", "_ignored",
                    "_path", "_system_name", "_node", "_node_name", "_write_ts"}
# ECS's related.* fields gather the record's addresses, users and hashes for search: copies, not the traffic.
_COPY_PREFIXES = ("related.",)
# Corelight's Smart PCAP fields in a conn log: the link to the flow's packets (a new URL for every flow) and
# the rule that chose to keep them: what the sensor did with the flow.
_CAPTURE_PREFIXES = ("spcap.",)
# Enrichment of an address: where it sits (ECS's source.geo.country_iso_code, destination.as.number,
# destination.as.organization.name; Zeek's geoip-conn package writes geo.resp.city and geo.orig_latitude).
# Another network's peers sit elsewhere, as their addresses differ.
_ENRICHMENT_PARTS = {"geo", "as"}
# An AS number by name (goflow2's src_as and dst_as, IPFIX's bgpSourceAsNumber in other spellings): it names
# an end's network; as a count, another network's were out of range, as a constant, all new.
_AS_WORDS = {"as", "asn"}
# An end's country, city, coordinates or network's owner in an export's own spelling (dst_country,
# DestinationCountry, srccountry, remote_city; Zeek's orig_cc and resp_cc from conn-add-geodata; dst_latitude;
# Arkime's srcGEO, dstRIR and, as its older queries name them, country.src; dst_org, dst_isp): the end named,
# so a customer table's plain country stays a feature.
_ENDS = r"(src|dst|dest|source|destination|remote|local|client|server|orig|resp|peer)"
_PLACES = (r"(country|countrycode|countryname|countryiso|cc|geo|city|cityname|region|regionname|continent|continentcode"
           r"|latitude|longitude|lat|lon|lng|location|rir|org|organization|organisation|isp)")
_END_PLACE = re.compile(rf"^(?:{_ENDS}{_PLACES}|{_PLACES}{_ENDS})$")
# The maker of an end's network card, read from its MAC address (Arkime's srcOui and dstOui): a device's make
# names the device as its MAC address does.
_END_MAKER = re.compile(rf"^{_ENDS}(oui|macvendor)$")


# The columns `vaeguard score` adds to each row.
SCORE_COLUMNS = ("anomaly_score", "p_value", "is_anomaly", "top_features")
# Zeek's conn log fields that say whether each end lies in the networks the sensor was told are local. A
# sensor told none (`zeek -r` on a capture, no networks.cfg) leaves them unset: set in training, unset at
# scoring is the sensor's configuration, not news (encode.Preprocessor.transform reads such a row without them).
LOCAL_NETS_FIELDS = ("local_orig", "local_resp")


# Share of the rows where a column of DNS names is set on which it holds another's names for it to be that
# column again: a stray response whose first answer is for another name does not make it evidence of its own.
SAME_NAMES_SHARE = 0.99


def _repeated_names(specs: list[ColumnSpec], df: pd.DataFrame, chosen: dict[str, str]) -> list[ColumnSpec]:
    """A column of DNS names that holds an earlier one's name wherever it holds one is left out: Suricata 8
    writes a response's question in dns.queries and its first answer, for the same name, in dns.answers;
    measured twice, a name's shape would count twice in a response's score and once in a request's."""
    kept: list[str] = []
    out = []
    for spec in specs:
        if spec.role == DOMAIN and spec.name not in chosen:
            this = df[spec.name]
            present = this.notna()
            for other in kept:
                same = float((df[other][present].astype(str) == this[present].astype(str)).mean()) if present.any() else 0.0
                if same >= SAME_NAMES_SHARE:
                    spec = ColumnSpec(spec.name, IGNORED, f"the names '{other}' holds, on {same:.0%} of the training rows that hold one: "
                                                          f"measured again, a name's shape would count twice; {role_flag(spec.name, DOMAIN)} "
                                                          "uses it")
                    break
            else:
                kept.append(spec.name)
        out.append(spec)
    return out


_REPEAT = re.compile(r"^(.*)\.([1-9][0-9]*)$")


def _second_copy(spec: ColumnSpec, df: pd.DataFrame, chosen: dict[str, str]) -> ColumnSpec:
    """A column a header named twice ('Fwd Header Length.1', the repeat renamed as pandas renames it) that
    holds the first's values in every training row is a copy: modelled, its evidence would count twice
    in a row's score (every CIC-IDS2017 CSV holds CICFlowMeter's header length twice)."""
    match = _REPEAT.match(spec.name)
    if spec.role in (IGNORED, CONSTANT) or spec.name in chosen or not match or match.group(1) not in df.columns:
        return spec
    first, this = df[match.group(1)], df[spec.name]
    # The same values, however typed (a gap makes one column of integers float): as text where the types differ.
    if not (first.equals(this) or (first.dtype != this.dtype and first.astype(str).equals(this.astype(str)))):
        return spec
    return ColumnSpec(spec.name, IGNORED, f"a copy of '{match.group(1)}' (its name again, its values in every training row): "
                                          f"its evidence would count twice; {role_flag(spec.name, spec.role)} uses it")


def infer_column(name: str, s: pd.Series, hint: str = "") -> ColumnSpec:
    if name in LOCAL_NETS_FIELDS and s.isna().all():
        # Set from the sensor's configuration, not the traffic: a model of a sensor told none of its networks
        # had flagged every row of one told them (a value where training always had none).
        return ColumnSpec(name, IGNORED, "unset in every training row: Zeek sets it only where the sensor is told its local networks "
                                         "(Site::local_nets), so another sensor's values are not news")
    if hint == LABEL_HINT:
        return ColumnSpec(name, IGNORED, "--label: each row's true label; fit took the rows it calls normal")
    if ground_truth_name(name):
        return ColumnSpec(name, IGNORED, "a label, by name: the answer a data set gives for the row, not the traffic (new traffic "
                                         f"comes without one); {role_flag(name, 'categorical')} uses it")
    hinted = _hinted(name, s, hint) if hint else None
    if hinted is not None:
        return hinted
    if name.startswith(_SHIPPER_PREFIXES) or name == "@version":
        return ColumnSpec(name, IGNORED, _SHIPPER_REASON)
    if name in _DOCUMENT_FIELDS:
        return ColumnSpec(name, IGNORED, "the store's bookkeeping (Elasticsearch's index, named by day, and document id; a "
                                         "shipper's log and sensor name), not the traffic")
    if name.startswith(_CAPTURE_PREFIXES):
        return ColumnSpec(name, IGNORED, "the sensor's capture of the flow's packets (Corelight's Smart PCAP: its link, the rule "
                                         "that kept it), not the traffic")
    if name.startswith(_COPY_PREFIXES):
        return ColumnSpec(name, IGNORED, "ECS related.*: the record's addresses, users or hashes gathered for search, "
                                         "copies of other fields")
    if _ENRICHMENT_PARTS & set(name.lower().split(".")[:-1]):
        return ColumnSpec(name, IGNORED, "enrichment of an address (its country, city, coordinates, AS number or organisation): says "
                                         f"where a host sits, as the address does; {role_flag(name, 'categorical')} uses it")
    if _words(name) & _AS_WORDS:
        return ColumnSpec(name, IGNORED, "AS number, by name: names the network an end sits in, as an address names a host; "
                                         f"{role_flag(name, 'categorical')} uses it")
    if _END_MAKER.match(_squeezed(name)):
        return ColumnSpec(name, IGNORED, "the maker of an end's network card, by name (read from its MAC address): names a device as "
                                         f"the address does; {role_flag(name, 'categorical')} uses it")
    if _END_PLACE.match(_squeezed(name)):
        return ColumnSpec(name, IGNORED, "where an end sits, by name (its country, city, coordinates or network's owner, as an export "
                                         "enriches its address): "
                                         f"says where a host sits, as the address does; {role_flag(name, 'categorical')} uses it")
    segment = _segment_role(name, ", by name") or _sensor_named(name)
    if segment is not None:  # also where training saw none at all: another sensor's rows are not news
        return segment
    n = len(s)
    non_null = s.dropna()
    if len(non_null) == 0:
        return ColumnSpec(name, CONSTANT, "always missing in training: a value here is flagged")
    if pdt.is_timedelta64_dtype(s):
        return ColumnSpec(name, NUMERIC, "duration, in seconds")
    if pdt.is_datetime64_any_dtype(s):
        return ColumnSpec(name, IGNORED, _time_reason("date-time values", name))
    if pdt.is_numeric_dtype(s) and not pdt.is_bool_dtype(s):
        # Numbers: the distinct count, where a rule needs it, from one sort (a hash count costs 3x).
        values = non_null.to_numpy(dtype=float)
        if values.min() == values.max():
            return _one_value(name, non_null, n)
        return _numeric_role(name, values)
    history = _history_role(name, non_null)
    if history is not None:
        return history
    # Addresses, ids, date-times are told by their patterns on a sample, before every distinct value is
    # counted: a million connection ids (Zeek's uid) took 0.2-0.5 s and a hash table of them to count. No
    # column that a later rule takes (true/false, numbers, numbers written with commas) matches them in 95%.
    identity = _identity_role(name, non_null) or _end_named(name)
    if identity is not None:
        return identity
    # Text, booleans: each distinct value is looked at once, however many rows hold it.
    counts = (non_null.astype(str) if pdt.is_object_dtype(non_null) else non_null).value_counts(sort=False)
    # A categorical dtype lists values no row holds. (A mask as numpy: pandas' own indexing hashed a
    # million distinct labels first, 0.3 s for Zeek's uid.)
    counts = counts[counts.to_numpy() > 0]
    nunique = len(counts)
    if nunique == 1:
        return _one_value(name, non_null, n)
    if holds_booleans(s):
        return ColumnSpec(name, CATEGORICAL, "true/false")
    text = non_null.astype(str)
    plain_text = _plainly_not_numbers(counts.index, n)
    if plain_text:
        parsed = 0.0
    else:
        distinct = pd.to_numeric(pd.Series(counts.index.astype(str)), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        weights = counts.to_numpy()
        parsed = float(weights[~np.isnan(distinct)].sum() / max(1, weights.sum()))
    # Numbers written as spreadsheets write them: with a decimal comma, or with thousands separators (not in a
    # column named for ports: "80,443" there is a list of two).
    port_named = any(w.rstrip("s") in _PORT_WORDS for w in _words(name)) or _ZEEK_PORT.search(name) is not None
    if not plain_text and parsed < 1.0 and decimal_comma(counts.index, counts.to_numpy()):
        return _written_numbers(name, text, *decimal_comma_kind(counts.index))
    if (not plain_text and parsed == 1.0 and not port_named and maybe_grouped_with_dots(" ".join(counts.index[:SAMPLE].astype(str)))
            and dots_between_thousands(counts.index, counts.to_numpy())):
        return _written_numbers(name, text, DOT_THOUSANDS, "whole numbers with dots between the thousands")
    if not plain_text and parsed < 1.0 and not port_named and thousands_separated(counts.index, counts.to_numpy()):
        return _written_numbers(name, text, THOUSANDS, "thousands separators")
    if not plain_text and parsed < NUMERIC_TEXT_FRACTION and not port_named:
        transform, how = marked_numbers(counts.index, counts.to_numpy(), clock_named=bool(_words(name) & _DURATION_WORDS))
        if transform:
            return _written_numbers(name, text, transform, how)
    if port_named and not plain_text and 0.0 < parsed < 1.0:
        hexed = counts.to_numpy()[counts.index.astype(str).str.match(_HEX_NUMBER)].sum() / max(1, counts.sum())
        if hexed > 0 and parsed + hexed >= 0.99:
            return ColumnSpec(name, PORT, "port, by name: the service port is a category, the rest pooled as ephemeral; "
                                          "a hex value (Argus' ICMP type and code) is a category of its own")
    led = zero_led_codes(counts.index, counts.to_numpy()) if parsed == 1.0 and not port_named and not _words(name) & _MEASURE_WORDS else None
    if led is not None:
        written = f"whole numbers written with leading zeros (as {_short(led)})"
        if len(non_null) >= 20 and nunique > ID_UNIQUE_FRACTION * len(non_null):
            return ColumnSpec(name, IGNORED, f"identifier: {written}, {nunique:,} distinct values; {role_flag(name, 'categorical')} uses it")
        return ColumnSpec(name, CATEGORICAL, f"code: {written}, as postal codes are; {nunique} values; {role_flag(name, 'numeric')} "
                                             "reads them as numbers")
    if parsed >= NUMERIC_TEXT_FRACTION:
        coerced = pd.to_numeric(text, errors="coerce")
        note = " (stored as text)" if parsed == 1.0 else " (some values are text)"
        if parsed == 1.0 and pdt.infer_dtype(non_null, skipna=True) == "decimal":  # Parquet's decimal128
            note = " (decimal)"
        spec = _numeric_role(name, coerced.dropna().to_numpy(dtype=float), note)
        if parsed < 1.0 and spec.role == CATEGORICAL:
            spec.role = NUMERIC
        return spec
    for kind in SHAPED:
        if named_for(kind, name) and holds(kind, non_null):
            return shape_spec(kind, name, non_null, f"{_SHAPE_WORDS[kind]}, by name and values", nunique)
    if len(non_null) >= 20 and nunique > ID_UNIQUE_FRACTION * len(non_null):
        return ColumnSpec(name, IGNORED, f"id-like text ({nunique:,} distinct values)")
    return ColumnSpec(name, CATEGORICAL, f"text, {nunique} values")


_SHAPE_WORDS = {DOMAIN: "DNS names", URL: "URLs"}
_SHAPE_REASONS = {
    DOMAIN: "length, labels, longest label, share of digits and randomness as numbers (a tunnel's or a generated name's "
            "shape, whether or not training saw the name)",
    URL: "length, path depth, parameters, shares of digits and of symbols (%, quotes, brackets...) and randomness as numbers (an "
         "injected or encoded request's shape, whether or not training saw the URL)",
}


def shape_spec(kind: str, name: str, present: pd.Series, how: str, nunique: int | None = None) -> ColumnSpec:
    """A column of DNS names or URLs (`kind`, the role; `present`, its values but the missing ones, of which
    `nunique` are distinct where the caller has counted them): their shape as numbers, and the values as a
    category where they repeat (where most are distinct, a category would hold little but <other>)."""
    nunique = int(present.astype(str).nunique()) if nunique is None else nunique
    repeat = not (len(present) >= 20 and nunique > ID_UNIQUE_FRACTION * len(present))
    also = ", and the value as a category" if repeat else f"; {nunique:,} distinct values, too many for a category"
    return ColumnSpec(name, kind, f"{how}: {_SHAPE_REASONS[kind]}{also}", "category" if repeat else "")


def _written_numbers(name: str, text: pd.Series, transform: str, how: str) -> ColumnSpec:
    """The role of numbers written with a decimal comma or thousands separators (`how`), read with `transform`."""
    values = pd.to_numeric(as_point_numbers(text, transform), errors="coerce")
    dirty = bool(values.isna().any())
    spec = _numeric_role(name, values.dropna().to_numpy(dtype=float), f" ({how}; some values are text)" if dirty else f" ({how})")
    if dirty and spec.role == CATEGORICAL:
        spec.role = NUMERIC
    if spec.role == NUMERIC:
        spec.transform = transform
        if transform in (UNITS, UNITS_DECIMAL_COMMA) and spec.reason.startswith("count"):
            spec.reason = "whole numbers" + spec.reason[len("count"):]  # amounts and shares ($5, 15%) count nothing
    return spec


def _plainly_not_numbers(distinct: pd.Index, n: int) -> bool:
    """Whether an id-like text column (Zeek's uid: a million distinct values) holds no numbers, judged on
    SAMPLE of its distinct values spread over the file. Parsing every distinct value took 1.3 s per
    million; the answer cannot differ in practice: with more than half the rows distinct, a column that is
    NUMERIC_TEXT_FRACTION numbers has most of its distinct values numbers too."""
    if n < 20 or len(distinct) <= max(SAMPLE, ID_UNIQUE_FRACTION * n):
        return False
    sample = pd.Series(distinct[:: len(distinct) // SAMPLE].astype(str))
    return not written_as_numbers(sample).any()


def _history_role(name: str, non_null: pd.Series) -> ColumnSpec | None:
    """Zeek's history string. As one category, a string training never held costs the same whatever it
    holds; its letters are the events (a SYN, a reset, data from the responder), so each is a flag too: a
    new order of familiar events weighs less than an event never seen."""
    if name.rsplit(".", 1)[-1].lower() != "history" or _share(non_null, _HISTORY) < 0.95:
        return None
    return ColumnSpec(name, CATEGORICAL, "Zeek connection history: the string, and each event letter as a flag (S: the "
                                         "originator's SYN, h: the responder's SYN-ACK, D: data, R: reset...)", transform="history")


def _one_value(name: str, non_null: pd.Series, n: int) -> ColumnSpec:
    if _words(name) & _COUNT_WORDS and is_number(non_null.iloc[0]):
        # One NTP capture's orig_bytes: 48 or unset. Another day's 96 is a larger count, not a new category.
        value = non_null.iloc[0]
        shown = int(value) if isinstance(value, float) and value.is_integer() else value
        return ColumnSpec(name, NUMERIC, f"count, by name (always {_short(shown)} in training)")
    if len(non_null) == n:
        return ColumnSpec(name, CONSTANT, f"constant ({_short(non_null.iloc[0])}) in training: any other value is flagged")
    return ColumnSpec(name, CATEGORICAL, "one value, sometimes missing")


def _short(value, width: int = 20) -> str:
    text = str(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def parse_roles(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`COL=ROLE` strings (the column may itself hold '=': the last one splits) -> {column: role}. `=ROLE`
    is the column whose header is empty (the hint in fit's roles table says so for it)."""
    out = {}
    for pair in pairs:
        col, sep, role = pair.rpartition("=")
        if not sep:
            raise InputError(f"--role takes COLUMN=ROLE, such as ts=time; got '{pair}'")
        key = role.strip().lower()
        if key == "ignored":
            key = "ignore"
        if key not in USER_ROLES:
            raise InputError(f"--role {pair}: unknown role '{role}'; choose one of: {', '.join(USER_ROLES)}")
        out[col] = USER_ROLES[key]
    return out


def infer_schema(
    df: pd.DataFrame,
    ignore: list[str] | tuple[str, ...] = (),
    roles: dict[str, str] | None = None,
    hints: dict[str, str] | None = None,
) -> list[ColumnSpec]:
    """Give every column of `df` a role. `roles` ({column: role}) and `ignore` override the rules."""
    dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if dupes:
        raise InputError(f"duplicate column names: {', '.join(dupes)}; rename them so each is unique")
    chosen = dict(roles or {})
    chosen.update({c: IGNORED for c in ignore})
    unknown = [c for c in chosen if c not in set(map(str, df.columns))]
    if unknown:
        shown = ", ".join(c if c else "'' (no name)" for c in unknown)
        raise InputError(
            f"column(s) named in ignore/roles are not in the table: {shown}"
            f"{did_you_mean(unknown, [str(c) for c in df.columns])}; the table has: {', '.join(map(str, df.columns[:30]))}"
        )
    names = set(map(str, df.columns))
    from .logs.recognise import table_hints

    hints = {**table_hints(names), **(hints or {})}  # what the file format itself says wins
    if "tags" in names and "@timestamp" in names and any(c.startswith(("ecs.", "agent.", "event.")) for c in names):
        # An Elastic export's tags are the pipeline's labels (beats_input_codec_plain_applied, a sensor's name),
        # over JSON's "list" hint too.
        hints["tags"] = "shipper"
    if {"anomaly_score", "is_anomaly"} <= names:  # a table `vaeguard score` wrote: its columns are a model's, not the data's
        hints.update({c: "scored" for c in SCORE_COLUMNS if c in names})

    def spec_for(name) -> ColumnSpec:
        key = str(name)
        if key in chosen:
            role = chosen[key]
            hint = zeek_base_type(hints.get(key, ""))
            # What the format says a value means holds whatever role the user picks: a set's member count,
            # and one label for Zeek's T and JSON's true.
            transform = {(NUMERIC, "set"): "length", (NUMERIC, "vector"): "length", (NUMERIC, "table"): "length", (NUMERIC, "list"): "length",
                         (CATEGORICAL, "bool"): "bool"}.get((role, hint), "")
            if role == NUMERIC and not transform and not pdt.is_numeric_dtype(df[name]):
                distinct = df[name].dropna().unique()
                if len(distinct) and decimal_comma(distinct):
                    transform = decimal_comma_kind(distinct)[0]
                elif len(distinct) and thousands_separated(distinct):
                    transform = THOUSANDS
                elif len(distinct) and dots_between_thousands(distinct):
                    transform = DOT_THOUSANDS
                elif len(distinct):
                    transform = marked_numbers(distinct)[0]
            if role == TIME:
                return time_spec(key, df[name])
            if role in SHAPED:
                return shape_spec(role, key, df[name].dropna(), f"--role {key}={role}")
            return ColumnSpec(key, role, "--ignore" if key in ignore else f"--role {key}={role}", transform)
        return infer_column(key, df[name], hints.get(key, ""))

    # Deciding a column's role holds about four copies of it: the non-null values, as floats, sorted for np.unique.
    specs = thread_map(spec_for, df.columns, pandas_column_workers(len(df), copies=4))
    specs = _repeated_names([_second_copy(s, df, chosen) for s in specs], df, chosen)
    if not any(s.role not in (IGNORED, CONSTANT) for s in specs):
        reasons = "; ".join(f"{_short(s.name, 80)}: {s.reason}" for s in specs[:10])
        raise InputError(f"no usable columns: every column is ignored or constant ({reasons})")
    return specs


# A derived time part is learned only from training rows that span its whole cycle: from an hour of
# rows every other hour of the day would be a value training never held, and flag its rows whatever the
# threshold (scoring a day's capture with a model of another day's flagged all of it on the weekday
# alone). "hour" in a time column's transform: the hour of day only; "weekday": the day of week only
# (dates with no time of day, whose hour would be 0 in every row); "" (models before them too): both.
HOUR_SPAN, WEEK_SPAN = pd.Timedelta(hours=23), pd.Timedelta(days=6)


def time_spec(name: str, s: pd.Series) -> ColumnSpec:
    """The --role NAME=time column: its hour of day and day of week, as far as the training rows span them."""
    t = as_datetimes(s).dropna()
    span = t.max() - t.min() if len(t) else pd.Timedelta(0)
    told = f"--role {name}=time"
    # A date alone ("2026-12-01", or midnight in every row) tells no hour: a row with a time of day at
    # scoring would be an hour training never held.
    dates = len(t) > 0 and bool((t == t.dt.normalize()).all())
    spanned = f"the training rows span {_duration(span)}"
    if dates:
        if span >= WEEK_SPAN:
            return ColumnSpec(name, TIME, f"{told}: day of week (dates with no time of day)", "weekday")
        return ColumnSpec(name, IGNORED, f"{told}, but dates with no time of day and {spanned}: day of week needs a week of training rows")
    # Syslog's "Dec  7 08:04:15" names no year (read as year 1): its day of week would be a guess.
    yearless = len(t) > 0 and bool((t.dt.year < 1000).all())
    if span >= WEEK_SPAN and not yearless:
        return ColumnSpec(name, TIME, told)
    if yearless and span >= HOUR_SPAN:
        return ColumnSpec(name, TIME, f"{told}: hour of day; the text names no year, so no day of week", "hour")
    if span >= HOUR_SPAN:
        return ColumnSpec(name, TIME, f"{told}: hour of day; day of week needs a week of training rows ({spanned})", "hour")
    return ColumnSpec(name, IGNORED, f"{told}, but {spanned}: hour of day needs a day of training rows, day of week a week")


def time_parts(spec: ColumnSpec) -> tuple[str, ...]:
    return {"hour": ("hour",), "weekday": ("weekday",)}.get(spec.transform, ("hour", "weekday"))


def _duration(span: pd.Timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours * 60:.0f} minutes" if hours < 1 else f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def as_datetimes(s: pd.Series) -> pd.Series:
    """A time column as UTC datetimes: epoch numbers in seconds, milliseconds, microseconds or nanoseconds (told by
    their size), or date-time text; what reads as neither is NaT."""
    if pdt.is_datetime64_any_dtype(s):
        return s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    values = pd.to_numeric(s, errors="coerce")
    # Numbers in 90% of the rows that hold a value: a gap is no date (a log's end time, unset on open flows).
    if values.notna().sum() >= 0.9 * max(1, s.notna().sum()) and values.notna().any():
        present = values.dropna().to_numpy(dtype=float)
        if np.all(present == np.round(present)) and _digit_dates(present):
            digits = values.astype("Int64").astype(str)
            return pd.to_datetime(digits, format="%Y%m%d%H%M%S" if present.max() > 1e9 else "%Y%m%d", utc=True, errors="coerce")
        top = float(np.max(np.abs(present)))
        unit = "s" if top < 1e11 else "ms" if top < 1e14 else "us" if top < 1e17 else "ns"
        return pd.to_datetime(values, unit=unit, utc=True, errors="coerce")
    out = pd.to_datetime(s, utc=True, errors="coerce", format="mixed")
    if out.isna().mean() > 0.5:  # a web server's 07/Dec/2026:08:04:15 +0000, which no ISO-minded parser reads
        clf = pd.to_datetime(s, utc=True, errors="coerce", format="%d/%b/%Y:%H:%M:%S %z")
        out = out.where(out.notna(), clf)
    return out


def maybe_label_name(name) -> bool:
    """Whether a column's name may say it holds the answer, or may not (class, target...)."""
    return str(name).strip().lower() in _LABEL_NAMES


def label_like(specs: list[ColumnSpec]) -> list[str]:
    """Columns used as features whose name may say they hold the answer (class, target...)."""
    return [s.name for s in specs if s.role != IGNORED and (maybe_label_name(s.name) or str(s.name).strip().lower() in _FROM_LABEL_NAMES)]


def check_columns(df: pd.DataFrame, specs: list[ColumnSpec], may_be_absent: list[str] | tuple[str, ...] = ()) -> None:
    """Raise a SchemaError naming every model column that `df` lacks. Extra columns are fine, and so is the
    absence of one a table may leave out (`Preprocessor.may_be_absent`)."""
    used = [s.name for s in specs if s.role != IGNORED]
    dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if dupes:
        raise InputError(f"duplicate column names: {', '.join(dupes)}; rename them so each is unique")
    have = set(map(str, df.columns))
    missing = [c for c in used if c not in have and c not in may_be_absent]
    if missing:
        what = f"column{'s' if len(missing) > 1 else ''} {quoted_names(missing)} {'are' if len(missing) > 1 else 'is'} missing"
        other = _other_sensor(set(used), have) or _other_exporter([s.name for s in specs], have)
        if other:  # the kind of log says it all; the column list follows for the record
            raise SchemaError(f"{other}; {what}")
        # A frame built from nested records (Dask's or pandas' own Parquet reader, JSON) keeps Zeek's `id` or
        # Suricata's `flow` as one column of dicts, where vaeguard's readers give a column per field.
        nested = sorted({c.split(".", 1)[0] for c in missing if "." in c and c.split(".", 1)[0] in have})
        if nested:
            raise SchemaError(f"{what}; the table holds {quoted_names(nested)} as one nested column: give each field a column of its own, "
                              f"named with dots as the model's are (pyarrow's Table.flatten does), or let `vaeguard score` read the file")
        spelled = _spelled_otherwise(missing, [str(c) for c in df.columns if str(c) not in used])
        if spelled:
            pairs = ", ".join(f"'{want}' as '{got}'" for want, got in spelled[:5]) + (f" and {len(spelled) - 5} more" if len(spelled) > 5 else "")
            what += f" (the table spells {pairs}: rename {'them' if len(spelled) > 1 else 'it'} as the model does)"
        trained = f"the model was trained on: {_some_names(used, ' (`vaeguard info` lists them)')}"
        if len(missing) == len(used):  # nothing in common: the table's own names say what was given instead
            given = [str(c) for c in df.columns]
            has = f"; the table has: {_some_names(given)}" if given else "; the table has no columns"
            raise SchemaError(f"{what}; {trained}{has}")
        # Some of the model's columns are there: the table is of the kind trained on, less a field or two (a
        # sensor or an export configured otherwise), and the fix is the user's to choose.
        them = "them" if len(missing) > 1 else "it"
        ignore = " ".join(f"--ignore {shlex.quote(c)}" for c in missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise SchemaError(f"{what}; {trained}. Score a table that has {them}, or refit without {them} ({ignore})")


# Where a table or a model has more columns than this, an error names the first ones and counts the rest:
# one line of 1,555 names (ADBench InternetAds) is no help on a terminal.
NAMES_SHOWN = 30


def _some_names(names: list[str], where: str = "") -> str:
    rest = len(names) - NAMES_SHOWN
    return ", ".join(names[:NAMES_SHOWN]) + (f" and {rest:,} more{where}" if rest > 0 else "")


def did_you_mean(names: list[str], columns: list[str]) -> str:
    """" (did you mean 'duration'?)" for a mistyped 'duraton' (a --role, --ignore or --label name): the
    table's column each name most likely meant, the same name spelled otherwise first, else a close one;
    among several names, "'flow_id' for 'Flow_ID'". Empty when no column is close."""
    import difflib

    found = dict(_spelled_otherwise(names, columns))
    for name in (n for n in names if n not in found):
        close = difflib.get_close_matches(name, columns, n=1, cutoff=0.8)
        if close:
            found[name] = close[0]
    meant = ", ".join(f"'{found[n]}' for '{n}'" if len(names) > 1 else f"'{found[n]}'" for n in names if n in found)
    return f" (did you mean {meant}?)" if meant else ""


def _spelled_otherwise(missing: list[str], others: list[str]) -> list[tuple[str, str]]:
    """(model column, table column) where the table holds a missing column under another spelling: other
    letter case, spaces, or '-', '.', '/' for '_' (CICFlowMeter's ' Flow Duration', an export's 'Src Bytes')."""
    def key(name: str) -> str:
        return re.sub(r"[\s_\-./]+", "_", name.strip().lower())

    by_key: dict[str, str] = {}
    for name in others:
        by_key.setdefault(key(name), name)
    return [(m, by_key[key(m)]) for m in missing if key(m) in by_key]


# Fields that name the log a table came from: a model of one log cannot score another. Zeek's logs share
# their id.* fields, so each is known by fields of its own.
_SENSOR_FIELDS = {
    "a Zeek conn log": {"conn_state", "history", "orig_ip_bytes", "resp_ip_bytes", "missed_bytes", "orig_pkts"},
    "a Zeek dns log": {"query", "qtype_name", "rcode_name", "trans_id", "qclass_name", "answers"},
    "a Zeek http log": {"method", "uri", "status_code", "user_agent", "request_body_len", "response_body_len"},
    "a Zeek ssl log": {"cipher", "server_name", "established", "curve", "ssl_history"},
    "Suricata eve.json": {"flow.bytes_toserver", "flow.pkts_toserver", "dest_port", "src_ip", "app_proto"},
}


def _other_exporter(trained: list[str], have: set[str]) -> str:
    """The same hint for the flow exporters known by their field names (logs.recognise.recognised): a model of a
    Zeek conn log given AWS VPC Flow Logs, or of an NSG's log given a FortiGate's."""
    from .logs.recognise import recognised

    was, now = recognised(trained), recognised(have)
    if was and now and was != now:
        return f"the model was fitted on another kind of log ({was}; this one: {now}): score it with a model fitted on that kind of log"
    return ""


def _other_sensor(used: set[str], have: set[str]) -> str:
    """A hint when the model was trained on one sensor's log and the table comes from another."""
    trained = [k for k, names in _SENSOR_FIELDS.items() if len(used & names) >= 2]
    scored = [k for k, names in _SENSOR_FIELDS.items() if len(have & names) >= 2]
    if len(trained) == 1 and len(scored) == 1 and trained != scored:
        return f"the model was fitted on {trained[0]}, and this is {scored[0]}: score it with a model fitted on that kind of log"
    return ""
