"""CSV and other delimited text: the delimiter sniffed, the header found and checked, the lines above it
skipped, and the rows read in typed chunks (a large file split into byte ranges read at once) or as text.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, IO, Iterator

import numpy as np
import pandas as pd

from .errors import InputError, NoHeaderError, quoted_names
from .parallel import worker_count
from .streams import STDIO

if TYPE_CHECKING:
    from .sources import Source

# Fields that mean "no value", the same for fit's typed reader (pandas) and score's text reader (pyarrow):
# the union of both libraries' defaults (pyarrow's lacks pandas' 'None' and '<NA>', so a 'None' fitted
# as missing was an unseen category when scored), '-', the unset mark of Zeek, Argus and nfdump, so a
# count exported with gaps stays a count, not text, and Zeek's '(empty)' set, which one sensor writes
# where another leaves the field unset. A field of spaces is blank too (UNSW-NB15's raw files write an unset
# ct_ftp_cmd as ' '): as a value, it turned a count column into categories. Both readers match these
# exactly, so the blanks are listed up to a length, at no cost per field.
CSV_NULLS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
             "NULL", "NaN", "None", "n/a", "nan", "null", "-", "(empty)"] + [" " * k for k in range(1, 9)] + ["\t"]
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_WORDS = {",": "CSV", "\t": "tab-separated", ";": "semicolon-separated", "|": "pipe-separated", " ": "space-separated"}
# pyarrow reads ahead several blocks on its own threads; small blocks keep that read-ahead, and so the
# memory of a streaming score, bounded however fast the file reads compared with the scoring.
BLOCK_MAX = 8 << 20
# How far fit's CSV reader reads on for the end of a quoted field that holds a line break.
QUOTED_BLOCK_MAX = 64 << 20
# A CSV file of this size or more is parsed by fit's reader in byte ranges, one thread each (see `_csv_ranges`).
SPLIT_MIN_BYTES = 32 << 20
SPLIT_PARTS_MAX = 2
# How far past its target a range's end is looked for, outside quotes, before the file is read on one thread.
SPLIT_SEARCH_BYTES = 1 << 20
# How much of a CSV file past its head the columns' text is looked at in (later_lines): so many windows of that size.
LATER_WINDOWS = 4
LATER_WINDOW_BYTES = 16 << 10


def whole_lines(text: str, keepends: bool = False) -> list[str]:
    """The peeked text's lines, less the last where the peek may have cut it (no line end after it)."""
    lines = text.splitlines(keepends=keepends)
    return lines[:-1] if len(lines) > 1 and not text.endswith(("\n", "\r")) else lines


def whole_rows(text: str) -> str:
    """The peeked text up to the end of its last whole row: its whole lines, less those of a quoted field the peek cut
    (an odd count of quotes before its end)."""
    lines = whole_lines(text, keepends=True)
    quotes = sum(line.count('"') for line in lines)
    while lines and quotes % 2:
        quotes -= lines.pop().count('"')
    return "".join(lines)


def dotted_columns(text: str, delimiter: str) -> list[int]:
    """The places of the columns whose first rows (the peeked text below its header) hold numbers grouped with
    dots ("1.234" beside "999", or "1.234.567", as much of Europe writes 1234567). Typed by pandas, a chunk of
    them with one dot each would be decimals with three places, the text lost; read as text, every chunk
    keeps the grouping for the roles and the transform (grouped_with_dots)."""
    from .numbertext import grouped_with_dots, maybe_grouped_with_dots

    if not maybe_grouped_with_dots(text):
        return []
    return [i for i, values in enumerate(_peeked_columns(text, delimiter, {""})) if values and grouped_with_dots(values)]


def _peeked_columns(text: str, delimiter: str, blank: set[str]) -> Iterator[list[str]]:
    """Each column's fields in the peeked lines below the header, stripped, those in `blank` left out."""
    rows = list(csv.reader([line for line in whole_lines(text)[1:] if line.strip()], delimiter=delimiter))
    width = max((len(row) for row in rows), default=0)
    return ([row[i].strip() for row in rows if len(row) > i and row[i].strip() not in blank] for i in range(width))


def zero_led_columns(text: str, delimiter: str) -> list[int]:
    """The places of the columns whose first rows (the peeked text below its header) hold whole numbers written with
    leading zeros ("02134" beside "10001": codes, zero_led_codes). Typed by pandas they would be numbers, the zeros
    lost before the roles are looked for; read as text, fit keeps them as score's text reader does."""
    from .numbertext import maybe_zero_led, zero_led_codes

    if not maybe_zero_led(text):
        return []
    # A plain look at each column first: a date's "-01" brings every file with dates here.
    return [i for i, values in enumerate(_peeked_columns(text, delimiter, set(CSV_NULLS)))
            if any(len(v) > 1 and v[0] == "0" and v[1].isdigit() for v in values) and zero_led_codes(values) is not None]


def later_lines(path: str, text: str, delimiter: str) -> str:
    """Whole lines from further into a file than its peeked head `text`: a window each at a quarter, half and three
    quarters of the way and at its end (LATER_WINDOWS), for the looks that type a column from its text (zero-led
    codes, grouped numbers). The head alone missed a column whose zero-led codes show later (rows sorted from the
    largest value down, or such codes rare). A window may start inside a quoted field that holds a line break:
    only lines of as many fields as the head's rows, and closed quotes, are kept. Only for a plain (uncompressed,
    UTF-8) file that can be read from any place: '' for the rest."""
    try:
        size = os.path.getsize(path)
    except (OSError, TypeError, ValueError):
        return ""
    head = len(text.encode())
    widths = Counter(len(row) for row in csv.reader(whole_lines(text)[1:50], delimiter=delimiter))
    if not widths or size <= head + LATER_WINDOW_BYTES:
        return ""
    width = widths.most_common(1)[0][0]
    kept = []
    with open(path, "rb") as f:
        for k in range(1, LATER_WINDOWS + 1):
            at = max(head, size * k // LATER_WINDOWS - LATER_WINDOW_BYTES)
            f.seek(at)
            block = f.read(LATER_WINDOW_BYTES)
            lines = block.decode("utf-8", errors="replace").splitlines()[1:]  # the first is cut, or the one before it
            if not block.endswith((b"\n", b"\r")):
                lines = lines[:-1]
            # A log preallocated or cut by a crash ends in NUL bytes, which Python 3.10's csv module refuses.
            lines = [ln for ln in lines if ln.strip() and ln.count('"') % 2 == 0 and "\x00" not in ln]
            try:
                kept += [ln for ln, row in zip(lines, csv.reader(lines, delimiter=delimiter)) if len(row) == width]
            except csv.Error:  # whatever else the csv module refuses: this window tells nothing
                continue
    return "".join(ln + "\n" for ln in kept)


def layout(text: str, delimiter: str) -> tuple[bool, bool]:
    """Whether the peeked lines pad their fields with spaces, and whether each ends with the delimiter."""
    lines = whole_lines(text)
    try:
        rows = [row for row in csv.reader(lines[:50], delimiter=delimiter) if row]
    except csv.Error:
        return False, False
    if not rows:
        return False, False
    padded = any(f != f.strip(" ") and f.strip(" ") for row in rows for f in row)
    closing = len(rows[0]) > 1 and all(row[-1].strip(" ") == "" for row in rows)
    return padded, closing


def unpadded(chunk: pd.DataFrame, closing_delimiter: bool, typed: bool) -> pd.DataFrame:
    """A chunk of a table whose fields are padded to line up (`rwcut`'s '   10.0.0.1|  443|'): names and text
    without the spaces, a padded no-value mark as missing, and a column that held text only because of
    such a mark typed as the numbers it holds. Padded, an address was no address and ' tcp' another
    protocol than 'tcp' in an unpadded export of the same flows."""
    if closing_delimiter:
        # A frame of its own: its columns are replaced below, and set on a slice they made pandas before 3.0
        # print a SettingWithCopyWarning on stderr while rwcut's output was read.
        chunk = chunk.iloc[:, :-1].copy()
    chunk.columns = [str(c).strip(" ") for c in chunk.columns]
    nulls = set(CSV_NULLS)
    for name in chunk.columns[chunk.dtypes.map(lambda d: not pd.api.types.is_numeric_dtype(d))]:
        try:
            stripped = chunk[name].str.strip(" ")
        except AttributeError:  # not text
            continue
        stripped = stripped.where(~stripped.isin(nulls))
        if typed:
            try:
                stripped = pd.to_numeric(stripped)
            except (ValueError, TypeError):
                pass
        chunk[name] = stripped
    return chunk


_EXCEL_SEP = re.compile(r"^sep=.\r?\n?$", re.IGNORECASE)
W3C_FIELDS = re.compile(r"^#Fields:[ \t]*", re.IGNORECASE)


def lines_above_header(text: str) -> str:
    """The lines above a CSV's header, as they stand in `text` ("" when there are none): a tool's note
    ("# exported by ..."), Excel's "sep=;", or a title and blank lines (one field or none) above a header
    of several.
    A first line starting with '#' that splits into as many fields as the line below it is the header
    itself (a first column named '#')."""
    lines = whole_lines(text, keepends=True)
    # The W3C extended log format (Windows Firewall's pfirewall.log, IIS): '#' directives, and the names in
    # "#Fields: date time action ...". What stands above the names (its "#Fields: " too) is left out.
    for n, line in enumerate(lines):
        if not line.startswith("#"):
            break
        directive = W3C_FIELDS.match(line)
        if directive and len(line.split()) > 2:
            return "".join(lines[:n]) + directive.group(0)

    def fields(line: str, delimiter: str) -> int:
        return len(next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])) if line.strip() else 0

    def above(line: str, below: list[str]) -> bool:
        # A note, a blank line, a title, or Excel's line naming the delimiter ("sep=;"). The delimiter is the
        # one of the lines below, not of the next alone: one row may split as evenly at its commas as at
        # its tabs ("$2,261<TAB>1.5<TAB>[1, 2]"), and a tab-separated header read at commas is one field.
        return (line.startswith("#") or not line.strip() or _EXCEL_SEP.match(line) is not None
                or fields(line, sniff_delimiter("".join(below))) <= 1)

    n = 0
    while n < len(lines) - 1 and above(lines[n], lines[n + 1 : n + 21]):
        n += 1
    if n == 0:
        return ""
    delimiter = sniff_delimiter("".join(lines[n : n + 20]))
    width = fields(lines[n], delimiter)
    below = [fields(line, delimiter) for line in lines[n + 1 : n + 20]]
    if width < 2 or not below or any(w != width for w in below):
        return ""  # no header of several fields with rows of its width below: the file is left as it is
    names = next(csv.reader([lines[n].rstrip("\r\n")], delimiter=delimiter))
    if sum(map(value_like, names)) >= len(names) / 2:
        return ""  # values, not names: no header to find (the header check says so)
    while n and lines[n - 1].startswith("#") and fields(lines[n - 1], delimiter) == width:
        n -= 1  # a '#' line as wide as the lines below is the header
    return "".join(lines[:n])


def wrapped_header(text: str) -> tuple[str, str] | None:
    """A header whose quoted names hold line breaks, as a spreadsheet writes wrapped header cells
    ("Bytes<line break>(sent)"): (the lines it spans, as written; the same names on one line, each break
    read as a space), or None. Read line by line, its first line had been taken for a title above the
    header and the rest of the name for a column ('(sent)"')."""
    lines = whole_lines(text, keepends=True)
    if not lines or lines[0].count('"') % 2 == 0 or lines[0].startswith("#"):  # a '#' note is no header (5" floppy)
        return None
    quotes = n = 0
    while n < min(len(lines), 20):
        quotes += lines[n].count('"')
        n += 1
        if quotes % 2 == 0:
            break
    if quotes % 2:
        return None  # a quote that does not close: no header to mend
    span = "".join(lines[:n])
    delimiter = sniff_delimiter("".join(lines[n : n + 20]) or span)
    names = next(csv.reader(io.StringIO(span), delimiter=delimiter), [])
    return span, csv_line([re.sub(r"\s*[\r\n]+\s*", " ", name) for name in names], delimiter)


def csv_line(fields: list[str], delimiter: str) -> str:
    """Fields as one CSV line ended by a newline, each quoted only where it needs it (as pyarrow's writer
    quotes): a header line the reader takes in place of the file's, or the one an output starts with."""
    line = io.StringIO()
    csv.writer(line, delimiter=delimiter, lineterminator="\n").writerow(fields)
    return line.getvalue()


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of fields, the most fields winning."""
    lines = [line for line in whole_lines(text)[:20] if line.strip()]
    best, best_fields = ",", 1
    for d in DELIMITERS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=d)}
        except csv.Error:
            continue
        if len(counts) == 1:
            n = counts.pop()
            if n > best_fields:
                best, best_fields = d, n
    if best_fields == 1 and len(lines) > 1:
        # Single spaces, and only where nothing else splits the lines: AWS VPC Flow Logs ("version account-id
        # interface-id srcaddr ..."). A space inside a value of any other table must never split it.
        counts = {len(line.rstrip("\r").split(" ")) for line in lines}
        if len(counts) == 1 and counts.pop() > 2:
            return " "
    if best_fields == 1 and lines:
        # Ragged lines with every candidate: keep the one that splits the header most (errors name it).
        header = lines[0]
        best = max(DELIMITERS, key=lambda d: (header.count(d), d == ","))
        if header.count(best) == 0:
            best = ","
    return best


def names_not_for(name: str, what: str) -> InputError:
    return InputError(f"--names names the columns of a CSV without a header line; '{name}' is {what}, which names its own: "
                      "leave out --names")


def parse_names(text: str) -> list[str]:
    """--names: comma-separated column names, each given once."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise InputError(f"--names holds an empty name ({text!r}); give the names separated by commas, e.g. --names dur,proto,bytes")
    dupes = repeated_names(names)
    if dupes:
        raise InputError(f"--names gives {quoted_names(sorted(dupes), 5)} more than once; give each column one name")
    return names


def repeated_names(names: list[str]) -> list[str]:
    """The names given more than once, each once, in the order they first repeat."""
    seen, dupes = set(), []
    for n in names:
        if n in seen and n not in dupes:
            dupes.append(n)
        seen.add(n)
    return dupes


def check_header(name: str, header: str, delimiter: str, repeated: bool = False) -> list[str]:
    """Column names from a CSV header line; duplicates are an error (pandas would silently rename them),
    unless `repeated` (the caller renames them, and says so: sources.renamed_repeats)."""
    if not header.strip():
        return []
    names = next(csv.reader([header.rstrip("\r\n")], delimiter=delimiter))
    dupes = repeated_names(names)
    values = sum(map(value_like, names)) >= len(names) / 2
    # KDD Cup and NSL-KDD's .txt files, UNSW-NB15's CSVs and zeek-cut's output come without names. A first
    # line of values repeats some (KDD's zeros), or holds a fraction or an address, which no header names a
    # column by; a header of integers alone is one (nProbe's IPFIX element numbers, pandas' 0, 1, 2).
    if values and (dupes or any(map(_fraction_or_address, names))):
        raise NoHeaderError(f"'{name}' has no header row: its first line holds values ({first_fields(names)}); "
                         f"name its columns with --names (one name per field, comma separated), or add a first line of column names")
    if dupes and not repeated:
        raise InputError(f"'{name}' has duplicate column names: {quoted_names(dupes, 5)}; rename them so each is unique")
    return names


def renamed_repeats(names: list[str]) -> list[str]:
    """`names` with each later use of a name renamed as pandas renames it ('x', 'x.1', 'x.2'), skipping a
    name the header holds already."""
    taken, out = set(names), []
    seen: set[str] = set()
    for n in names:
        new = n
        if n in seen:
            k = 1
            while f"{n}.{k}" in taken:
                k += 1
            new = f"{n}.{k}"
            taken.add(new)
        seen.add(n)
        out.append(new)
    return out


def first_fields(fields: list[str]) -> str:
    """A line's first fields, to show in a message."""
    return ", ".join(fields[:6]) + (", ..." if len(fields) > 6 else "")


def _fraction_or_address(field: str) -> bool:
    from .numbertext import is_number
    from .schema import is_ip_address

    text = field.strip()
    return (is_number(text) and not text.lstrip("+-").isdigit()) or is_ip_address(text)


def value_like(field: str) -> bool:
    """A number, an IP address or a no-value mark: what a data row holds and a header rarely does."""
    from .numbertext import is_number
    from .schema import is_ip_address

    text = field.strip()
    return text in CSV_NULLS or is_number(text) or is_ip_address(text)


def csv_typed_chunks(source: Source, chunk_size: int, split_up_to: int | None = None) -> Iterator[pd.DataFrame]:
    ranges = _csv_ranges(source, split_up_to) if split_up_to is not None else None
    if ranges is None:
        yield from _typed_from(source, source.binary(), chunk_size)
        return
    # The first range is parsed on this thread, each later one on a thread of its own, ahead: pandas'
    # parser is single-threaded, and fit's read of a million rows had left one of two cores idle once
    # torch was imported (reading done 3.0-3.2 s -> 2.4-2.8 s after the start). Each later range counts
    # its malformed lines on a copy of the Source, added in file order, so the first one reported is the
    # file's first; with --strict its error is raised when its range is reached, after the earlier ones'.
    from .io import prefetch

    header, (first, *rest) = ranges
    later = []
    for start, end in rest:
        counter = replace(source, bad_lines=0, bad_example="")
        later.append((counter, prefetch(_typed_from(counter, _ByteRange(source.path, start, end, header), chunk_size), depth=2)))
    try:
        yield from _typed_from(source, _ByteRange(source.path, *first), chunk_size)
        for counter, chunks in later:
            yield from chunks
            source.bad_lines += counter.bad_lines
            source.bad_example = source.bad_example or counter.bad_example
    finally:
        for _, chunks in later:
            chunks.close()


def _typed_from(source: Source, raw: IO[bytes], chunk_size: int) -> Iterator[pd.DataFrame]:
    try:
        rows = _WholeRows(raw, source)
        with pd.read_csv(rows, sep=source.delimiter, chunksize=chunk_size, low_memory=False,
                         encoding_errors="strict", na_values=CSV_NULLS, keep_default_na=False,
                         dtype={i: str for i in source.text_columns} or None) as reader:
            for chunk in reader:
                # The header's names as written, as score's reader takes them: pandas calls an empty one
                # "Unnamed: 0" (the index column of a frame saved with to_csv), and score could not find it.
                chunk.columns = rows.names
                yield chunk
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def _csv_ranges(source: Source, max_lines: int) -> tuple[bytes, list[tuple[int, int]]] | None:
    """Where to split a plain CSV file for parsing on several threads: (its header line, the byte ranges,
    the first one holding the header), or None to read it on one thread (stdin, gzip, several files, a
    small file, one thread, or more than `max_lines` lines: a sampled read keeps its memory bound).

    A range ends at a line end outside quotes (an even count of quote characters before it), so a quoted
    field that holds a line break stays in one range. Finding the ends reads the file once (0.05 s per
    260 MB, from the page cache the parse then reads)."""
    if (source.path == STDIO or source.compressed or source.encoding or source.skip_bytes or source.parts or source._stream is not None
            or source.log_lines or source.header_line):
        return None
    try:
        size = os.path.getsize(source.path)
    except OSError:
        return None
    # Two parts at most: each parser holds its own buffers (a 16-thread machine's nine parts peaked at
    # 1,107 MiB on 1M rows, against 928 for two), and two keep both cores of a small machine busy.
    parts = min(worker_count(), SPLIT_PARTS_MAX, size // SPLIT_MIN_BYTES + 1)
    if parts < 2:
        return None
    targets = [size * k // parts for k in range(1, parts)]
    cuts: list[int] = []
    header = b""
    pos = lines = quotes = 0
    with open(source.path, "rb") as fh:
        while block := fh.read(BLOCK_MAX):
            if not pos:
                header = block[: block.find(b"\n") + 1].removeprefix(BOM)
            lines += _byte_count(block, b"\n")
            if lines > max_lines + 1:  # the header's line and max_lines rows
                return None
            counted = 0  # quotes counts those in block[:counted]
            while len(cuts) < len(targets) and (start := max(targets[len(cuts)] - pos, counted)) < len(block):
                newline = block.find(b"\n", start)
                if newline < 0:
                    break
                if pos + newline - targets[len(cuts)] > SPLIT_SEARCH_BYTES:  # a quote that never closes
                    return None
                quotes += block.count(b'"', counted, newline)
                counted = newline + 1
                if quotes % 2 == 0:
                    cuts.append(pos + counted)
            quotes += block.count(b'"', counted)
            pos += len(block)
    bounds = [0, *(c for c in cuts if len(header) < c < size), size]
    if not header or len(bounds) < 3:
        return None
    return header, list(zip(bounds[:-1], bounds[1:]))


class _ByteRange(io.RawIOBase):
    """Bytes `start` to `end` of a file, after `header` (a later range's rows read as a CSV of their own)."""

    def __init__(self, path: str, start: int, end: int, header: bytes = b""):
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with this reader
        self._fh.seek(start)
        self._left = end - start
        self._head = memoryview(header)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if len(self._head):
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        n = self._fh.readinto(memoryview(b)[: min(len(b), self._left)]) if self._left > 0 else 0
        self._left -= n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


BOM = "\ufeff".encode()


class _WholeRows(io.RawIOBase):
    """A CSV's bytes without the lines whose field count is not the header's, each one handed to
    `Source.bad_line` (counted, or an error with --strict), as score's reader skips them.

    pandas pads a short line with gaps without a word and stops at a long one: a cut last line, or the
    summary nfdump prints after its flows ("Summary", then a six-field table), became rows of gaps that
    made every column "sometimes missing" at fit, while score stopped at them. A block's delimiters are
    counted first (a fraction of the parse); only a block whose total is off is split into
    lines, or, where it holds a quote (a quoted field may hold the delimiter or a line break), parsed by
    pyarrow, which knows quoting, to find them (a third of pandas' own parse); blocks end outside quotes.
    The header line again (`cat day1.csv day2.csv`) is no row either: it is left out, as a Zeek log's
    header lines are."""

    def __init__(self, raw: IO[bytes], source: Source):
        self._raw, self._source = raw, source
        self._sep = source.delimiter.encode()
        self._want = -1  # delimiters in a whole row: the header's, once read
        self.names: list[str] = []  # the header's column names, as written
        self._header = b""  # the header line, without its line end or byte-order mark
        self._carry = b""  # the last, unfinished line of the block before
        self._out = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not len(self._out) and not self._eof:
            self._out = memoryview(self._next_block(max(len(b), 1 << 20)))
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _next_block(self, size: int) -> bytes:
        data = self._raw.read(size)
        if not data:
            self._eof = True
            block, self._carry = self._carry, b""
        else:
            data = self._carry + data
            end = data.rfind(b"\n") + 1
            # An odd count of quotes before the last line end puts that end inside a quoted field: read on
            # (up to a bound, for a file whose stray quote never closes).
            if b'"' in data and _byte_count(data, b'"', end) % 2 and len(data) < QUOTED_BLOCK_MAX:
                self._carry = data
                return b""
            block, self._carry = data[:end], data[end:]
        if self._want < 0 and block:
            header_end = block.find(b"\n") + 1 or len(block)
            header = block[:header_end]
            self._header = header.rstrip(b"\r\n").removeprefix(BOM)
            self.names = check_header(self._source.name, header.decode("utf-8-sig", "replace").rstrip("\r\n"), self._source.delimiter)
            self._want = len(self.names) - 1
            return header + self._rows(block[header_end:])
        return self._rows(block)

    def _rows(self, block: bytes) -> bytes:
        if self._header and (block.startswith((self._header, BOM + self._header)) or b"\n" + self._header in block
                             or b"\n" + BOM + self._header in block):
            block = b"".join(ln for ln in block.splitlines(keepends=True) if ln.rstrip(b"\r\n").removeprefix(BOM) != self._header)
        if not block:
            return block
        lines = _byte_count(block, b"\n") + (not block.endswith(b"\n"))
        if _byte_count(block, self._sep) == self._want * lines:
            return block
        if b'"' in block:
            return self._quoted_rows(block)
        kept = []
        for line in block.splitlines(keepends=True):
            if line.count(self._sep) == self._want or not line.strip():  # pandas skips blank lines itself
                kept.append(line)
            else:  # a line that is not UTF-8 stops the read, as it does score's reader and a whole row's
                self._source.bad_line(line.rstrip(b"\r\n").decode("utf-8"))
        return b"".join(kept)

    def _quoted_rows(self, block: bytes) -> bytes:
        """The block without its rows of another length, as pyarrow's quote-aware parser finds them."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        bad: list[str] = []
        stop: list[InputError] = []  # a line that is not UTF-8

        def note(row) -> str:
            bad.append(row.text or "")
            return "skip"

        names = [f"f{i}" for i in range(self._want + 1)]
        try:
            pacsv.read_csv(
                io.BytesIO(block),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=self._source.delimiter, newlines_in_values=True,
                                                 invalid_row_handler=self._source.row_handler(stop, note)),
                convert_options=pacsv.ConvertOptions(include_columns=names[:1], column_types={names[0]: pa.large_string()}),
            )
        except pa.ArrowInvalid:
            if stop:
                raise stop[0] from None
            return self._open_quote_at_end(block)  # a quote that never closes
        if not bad:
            return block
        # The rows pyarrow skipped, by their text; one that spans lines (a line break inside its quotes) is
        # left to pandas, as before.
        drop = Counter(bad)
        kept = []
        for line in block.splitlines(keepends=True):
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if drop.get(text):
                drop[text] -= 1
                self._source.bad_line(text)
            else:
                kept.append(line)
        return b"".join(kept)

    def _open_quote_at_end(self, block: bytes) -> bytes:
        """The file's last block, whose last line opens a quote it never closes (a file cut while being
        written): that line is not a row. Any other block pyarrow cannot parse goes to pandas as it is."""
        if not self._eof:
            return block
        body = block.rstrip(b"\r\n")
        start = body.rfind(b"\n") + 1
        if body.count(b'"', start) % 2 == 0:
            return block
        self._source.bad_line(body[start:].rstrip(b"\r").decode("utf-8", "replace"))
        return self._rows(block[:start])


def _byte_count(data: bytes, char: bytes, end: int = -1) -> int:
    """data.count(char, 0, end) for one byte, in a sixth of its time (a comma in every few bytes slows
    bytes.count)."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8, count=end) == ord(char)))


def rebatch(batches, chunk_size: int, schema=None) -> Iterator[pd.DataFrame]:
    """Arrow record batches in, DataFrames of exactly `chunk_size` rows out (the last one shorter)."""
    import pyarrow as pa

    pending: list = []
    held = 0
    yielded = False
    for batch in batches:
        if schema is None:
            schema = batch.schema
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_size:
            table = pa.Table.from_batches(pending, schema=schema)
            yield table.slice(0, chunk_size).to_pandas()
            yielded = True
            rest = table.slice(chunk_size)
            pending, held = rest.to_batches(), rest.num_rows
    if held or not yielded:
        yield pa.Table.from_batches(pending, schema=schema).to_pandas()


def block_size(header_bytes: int, chunk_size: int) -> int:
    # pyarrow reads blocks of bytes, not rows; rebatch cuts them to exactly `chunk_size` rows. Small
    # blocks parse faster (1 MiB: 1.8 CPU-seconds per million flow rows, 8 MiB: 2.9) and hold less in
    # memory; a block must still hold whole rows, so wide tables get larger ones.
    row_bytes = max(16, header_bytes * 2)
    return int(min(BLOCK_MAX, max(1 << 20, row_bytes * min(chunk_size, 2_000))))


def _without_headers(batches, names: list[str]) -> Iterator:
    """Record batches without the rows that repeat the header (files concatenated: `cat a.csv b.csv`)."""
    import pyarrow.compute as pc

    for batch in batches:
        first = pc.fill_null(batch.column(0), "")
        same = pc.or_(pc.equal(first, names[0]), pc.equal(first, "\ufeff" + names[0]))
        if pc.any(same).as_py():
            for i, name in enumerate(names[1:], 1):
                same = pc.and_(same, pc.equal(pc.fill_null(batch.column(i), ""), name))
            if pc.any(same).as_py():
                batch = batch.filter(pc.invert(same))
        yield batch


def csv_text_chunks(source: Source, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    fh = source.binary()
    try:
        header = fh.readline()
        if not header.strip():
            raise InputError(f"'{source.name}' is empty: it has no header row and no data")
        try:
            names = check_header(source.name, header.decode("utf-8-sig"), source.delimiter)
        except UnicodeDecodeError:
            raise InputError(f"'{source.name}' is not UTF-8 text (in the header); re-save it as UTF-8") from None
        # A line whose field count is not the header's (a cut last line, nfdump's closing summary) is
        # counted and skipped, as fit skips it, or is the error that --strict asks for.
        stop: list[InputError] = []
        try:
            reader = pacsv.open_csv(
                fh,
                read_options=pacsv.ReadOptions(column_names=names, block_size=block_size(len(header), chunk_size)),
                # A quoted field may hold a line break, also where a read block ends (no slower on 1M rows).
                parse_options=pacsv.ParseOptions(delimiter=source.delimiter, newlines_in_values=True,
                                                 invalid_row_handler=source.row_handler(stop)),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, null_values=CSV_NULLS,
                                                     strings_can_be_null=True),
            )
        except pa.ArrowInvalid as e:
            if stop:
                raise stop[0] from None
            if "Empty CSV" not in str(e):
                raise
            yield pd.DataFrame({n: pd.Series([], dtype="str") for n in names})  # a header and no rows
            return
        try:
            yield from rebatch(_without_headers(reader, names), chunk_size, reader.schema)
        except pa.ArrowInvalid:
            if stop:
                raise stop[0] from None
            raise
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()
