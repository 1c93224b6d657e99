"""Byte streams under the readers: a file's first bytes put back, several files joined, text re-encoded as
UTF-8, records of other formats produced as JSON lines, and compressed files opened by their magic bytes.
"""

from __future__ import annotations

import gzip
import io
from typing import TYPE_CHECKING, IO, Callable, Iterator

from .errors import InputError

if TYPE_CHECKING:
    from .sources import Source

# A path of "-" is stdin (or stdout, for an output).
STDIO = "-"
# How much of a file is peeked at to tell its format (and, for a text format, its delimiter and header).
HEAD_BYTES = 1 << 16


class Prefixed(io.RawIOBase):
    """A stream that gives back the bytes already peeked at, then the rest: stdin can be read only once."""

    def __init__(self, head: bytes, rest: IO[bytes], own: bool = False):
        self._head, self._pos, self._rest, self._own = head, 0, rest, own

    @property
    def head(self) -> bytes:
        return self._head

    @property
    def rest(self) -> IO[bytes]:
        return self._rest

    def keep_rest(self) -> None:
        """Closing this stream leaves `rest` open (another stream reads it now)."""
        self._own = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._own and not self.closed:  # a pipe opened by name; stdin stays open
            self._rest.close()
        super().close()

    def readinto(self, b) -> int:
        if self._pos < len(self._head):
            n = min(len(b), len(self._head) - self._pos)
            b[:n] = self._head[self._pos : self._pos + n]
            self._pos += n
            return n
        data = self._rest.read(len(b))
        b[: len(data)] = data
        return len(data)


class LiveInput(io.RawIOBase):
    """A pipe read as its writer writes it: stdin fed by `tail -n +1 -F conn.log`, a FIFO a sensor writes to.

    Read as a plain stream (fit), it gives every byte until the writer closes the pipe. Read in segments
    (`segment`, score), a segment also ends where the writer has paused for IDLE_SECONDS, after the last
    whole line, so each segment reads as a small whole file: the rows that came before a pause are scored
    and written then, not when a reader's megabyte blocks and a chunk's 32,768 rows have filled. A pipe
    that never pauses is one segment, read as fast as before."""

    IDLE_SECONDS = 0.25  # a pause this long ends a segment
    # A quote left open over this many bytes is taken for a stray one, not a field with a line break, so
    # that the rows after it are not held back for good.
    QUOTED_BYTES = 1 << 16
    HEAD_IDLE_SECONDS = 1.0  # the first bytes, which tell the format, are waited for a little longer
    opened = False  # whether this process has read such a pipe (its command leaves without joining readers)

    def __init__(self, fh: IO[bytes], own: bool = False):
        LiveInput.opened = True
        self._fh, self._fd, self._own = fh, fh.fileno(), own
        self.eof = False
        self._carry = b""  # bytes read and not yet handed on: the start of a line the writer has not finished
        self._at_line_end = True  # the last byte handed on ended a line (a segment may end after it)
        self._in_segment = 0  # bytes handed on in the current segment
        self._ended = False  # the current segment has ended at a pause
        self._segments = False  # read in segments (else a plain stream)
        self._quote = b""  # a CSV's quote character: a line end inside quotes does not end a row
        self._open = 0  # bytes handed on since a quote opened that has not closed (0: none open)
        self.waiting: tuple | None = None  # (seconds, hear): read whole, hear once of a writer quiet that long

    @staticmethod
    def of(fh: IO[bytes], own: bool = False) -> "LiveInput | None":
        """A LiveInput over `fh` where it is a pipe or a socket, else None (a file, a terminal, a test's stdin)."""
        import os
        import stat
        import sys

        if sys.platform == "win32":  # select() waits on sockets only there
            return None
        try:
            mode = os.fstat(fh.fileno()).st_mode
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None
        return LiveInput(fh, own) if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._own and not self.closed:
            self._fh.close()
        super().close()

    def _quiet(self, seconds: float) -> bool:
        """Whether the writer has written nothing more for `seconds`."""
        import select

        return not select.select([self._fd], [], [], seconds)[0]

    def head(self, n: int) -> bytes:
        """Up to `n` first bytes, fewer where the writer pauses before that many came: then the whole lines
        before the pause (the rest of a line cut by it is kept for the reading that follows)."""
        import os

        data = b""
        while len(data) < n and not self.eof:
            # A Zeek log's header is whole once a line that is not a '#' line follows it.
            if _holds_a_row(data) and self._quiet(self.HEAD_IDLE_SECONDS):
                cut = data.rfind(b"\n") + 1
                data, self._carry = data[:cut], data[cut:]
                break
            more = os.read(self._fd, n - len(data))
            self.eof = not more
            data += more
        self._at_line_end = data.endswith(b"\n")
        return data

    def readinto(self, b) -> int:
        import os

        if self._ended or (self.eof and not self._carry):
            return 0
        # Only between lines, and only once this segment holds some: a new segment waits for its first bytes.
        # A writer may pause inside a line (its buffer flushed mid-line): the segment ends at the last whole
        # line, the rest of the line kept for the next; and a CSV row whose quoted field holds a line break
        # is whole only at the line end after its closing quote.
        if (self._segments and self._in_segment and self._at_line_end and not self.eof and not self._row_end(self._carry)
                and self._quiet(self.IDLE_SECONDS)):
            self._ended = True
            return 0
        data, self._carry = self._carry, b""
        quote = self._quote
        quotes = data.count(quote) if quote else 0  # counted once per byte: a bulk pipe's reads are 64 KiB each
        while not self.eof and not self._row_end(data, quotes) and len(data) < len(b):
            if self.waiting is not None and not self._segments and self._quiet(self.waiting[0]):
                hear, self.waiting = self.waiting[1], None
                hear()
            more = os.read(self._fd, len(b) - len(data))
            self.eof = not more
            data += more
            quotes += more.count(quote) if quote else 0
        if len(data) > len(b):
            quotes -= data.count(quote, len(b)) if quote else 0
            data, self._carry = data[: len(b)], data[len(b) :]
        if not self.eof or self._carry:
            cut = self._row_end(data, quotes)
            if cut:  # else a row longer than the buffer, handed on in parts
                quotes -= data.count(quote, cut) if quote else 0
                data, self._carry = data[:cut], data[cut:] + self._carry
        b[: len(data)] = data
        self._in_segment += len(data)
        self._at_line_end = data.endswith(b"\n") and not self._count_quotes(len(data), quotes)
        return len(data)

    def _row_end(self, data: bytes, quotes: int | None = None) -> int:
        """Where the last whole row in `data` ends (0: none): after its last line end, or for a CSV, its last
        line end outside quotes (an even count of quote characters before it, with those already handed on;
        a doubled quote inside a field counts twice). quotes: how many `data` holds, where counted."""
        end = data.rfind(b"\n") + 1
        if not self._quote or not end:
            return end
        quotes = (data.count(self._quote) if quotes is None else quotes) + (self._open > 0)
        row = end
        while row and (quotes - data.count(self._quote, row)) % 2:
            row = data.rfind(b"\n", 0, row - 1) + 1
        return row if row or self._open + len(data) <= self.QUOTED_BYTES else end  # else a stray quote

    def _count_quotes(self, size: int, quotes: int) -> bool:
        """Takes `size` bytes holding `quotes` quote characters as handed on; whether a quoted field is open
        after them."""
        if self._quote and (self._open or quotes % 2):
            opened = (self._open > 0) != bool(quotes % 2)
            self._open = self._open + size if opened and self._open + size <= self.QUOTED_BYTES else 0  # as _row_end
        return self._open > 0

    def segment(self, first: bytes = b"", quote: bytes = b"") -> IO[bytes]:
        """The next segment, `first` put before it (what the format's reader needs at the top of every
        file: a CSV's header line, a Zeek log's header lines). The first call's segment counts `first` as
        read already, so that a pause right after it ends the segment. quote: a CSV's quote character (a
        segment never ends inside a quoted field that holds a line break)."""
        started = self._segments
        self._segments, self._ended = True, False
        self._in_segment = len(first) if not started else 0
        if not started and quote:
            # The first bytes, as head() cut them at a line end, may end inside a quoted field: the row they
            # cut waits for its end with the rest.
            self._quote = quote
            cut = self._row_end(first)
            if 0 < cut < len(first):
                first, self._carry = first[:cut], first[cut:] + self._carry
                self._at_line_end = True
            else:
                self._at_line_end = self._at_line_end and not self._count_quotes(len(first), first.count(quote))
        return io.BufferedReader(Prefixed(first, self), buffer_size=1 << 20)

    @property
    def segmented(self) -> bool:
        """Whether reading in segments has begun."""
        return self._segments

    def more(self) -> bool:
        """Whether another segment may follow (the writer has not closed the pipe, or left bytes to hand on)."""
        return not self.eof or bool(self._carry)


def _holds_a_row(data: bytes) -> bool:
    """Whether `data` holds a whole line that is not blank and not a '#' line."""
    return any(line.strip() and not line.startswith(b"#") for line in data[: data.rfind(b"\n") + 1].split(b"\n"))


def read_up_to(stream: IO[bytes], n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class Joined(io.RawIOBase):
    """Files read one after another as one stream, each decompressed as its own Source found it (gzip or
    not), with a line break between two files where the first lacks one (as `zcat a b` would not: its
    last line would join the next file's first)."""

    def __init__(self, parts: list[Source]):
        self._parts, self._fh, self._last = list(parts), None, b"\n"

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while True:
            if self._fh is None:
                if not self._parts:
                    return 0
                self._fh = self._parts.pop(0).binary()
            n = self._fh.readinto(b)
            if n:
                self._last = bytes(b[n - 1 : n])
                return n
            self._fh.close()
            self._fh = None
            if self._last != b"\n":
                b[:1] = self._last = b"\n"
                return 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        super().close()


class _Produced(io.RawIOBase):
    """A stream whose bytes `_produce` makes a block at a time (b"" at the end) from the stream it wraps."""

    def __init__(self, raw: IO[bytes]):
        self._raw, self._out = raw, b""

    def readable(self) -> bool:
        return True

    def _produce(self) -> bytes:
        raise NotImplementedError

    def readinto(self, b) -> int:
        if not self._out:
            self._out = self._produce()
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class Utf8From(_Produced):
    """A UTF-16 or UTF-32 stream as UTF-8 bytes."""

    def __init__(self, raw: IO[bytes], encoding: str, name: str):
        import codecs

        super().__init__(raw)
        self._name, self._encoding = name, encoding
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self._done = False

    def _produce(self) -> bytes:
        out = b""
        while not out and not self._done:
            block = self._raw.read(1 << 20)
            self._done = not block
            try:
                out = self._decoder.decode(block, final=self._done).encode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"'{self._name}' reads as {self._encoding.upper()} text at first but is not ({e.reason}); "
                                 "re-save it as UTF-8") from None
        return out


RECORD_MAX_CHARS = 1 << 26  # a JSON record longer than this is taken for a broken one, not read on
LINES_PER_BLOCK = 4096  # records the readers below turn into JSON lines at a time


def _line_block(lines: list[str]) -> bytes:
    """Records as a block of JSON lines (b"" for none: the end of the stream)."""
    return ("\n".join(lines) + "\n").encode() if lines else b""


class JsonLinesFrom(_Produced):
    """A JSON array of records (`[{...}, {...}]`, pretty-printed or not: what `jq -s`, pandas' to_json and
    many APIs write) as JSON lines, one record per line, read a block at a time."""

    def __init__(self, raw: IO[bytes], name: str):
        import codecs
        import json

        super().__init__(raw)
        self._name = name
        self._text = codecs.getincrementaldecoder("utf-8-sig")()
        self._parse = json.JSONDecoder().raw_decode
        self._buf, self._pos = "", 0
        self._opened = self._closed = self._eof = False
        self._count = 0  # records given out so far, to say which one is broken
        self._failed: InputError | None = None  # raised once the records before the broken one are handed on

    def _more(self) -> bool:
        if self._eof:
            return False
        block = self._raw.read(1 << 20)
        self._eof = not block
        self._buf = self._buf[self._pos :] + self._text.decode(block, final=self._eof)
        self._pos = 0
        return True

    def _skip(self, chars: str) -> str:
        """The next character that is not one of `chars` ("" at the end), reading on as needed."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in chars:
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _produce(self) -> bytes:
        out = b""
        while not out and not self._closed:
            if self._failed is not None:
                raise self._failed
            out = self._records()
        return out

    def _records(self) -> bytes:
        """The next records in the buffer as lines (b"" once the array has closed). A broken record or a
        cut end is raised after the records before it are handed on (json_array_head reads those)."""
        lines: list[str] = []
        try:
            self._read_records(lines)
        except InputError as e:
            if not lines:
                raise
            self._failed = e
        self._count += len(lines)
        return _line_block(lines)

    def _read_records(self, lines: list[str]) -> None:
        import json

        if not self._opened:
            if self._skip(" \t\r\n") != "[":
                raise InputError(f"'{self._name}' is not a JSON array of records")
            self._pos += 1
            self._opened = True
        while not self._closed:
            c = self._skip(" \t\r\n,")
            if c == "]" or c == "":
                self._closed = True
                if c == "":
                    raise InputError(f"'{self._name}' ends before its JSON array closes: the file is cut short; copy it again")
                break
            try:
                record, end = self._parse(self._buf, self._pos)
            except json.JSONDecodeError as e:
                if len(self._buf) - self._pos < RECORD_MAX_CHARS and self._more():  # the record runs on into the next block
                    continue
                if self._eof and not self._buf.rstrip().endswith("]"):
                    raise InputError(f"'{self._name}' ends before its JSON array closes: the file is cut short; copy it again") from None
                raise InputError(f"'{self._name}' is not a valid JSON array: {e.msg} in record {self._count + len(lines) + 1:,}") from None
            except RecursionError:
                raise InputError(f"'{self._name}' is not a JSON array of flat records: record {self._count + len(lines) + 1:,} is nested "
                                 "deeper than Python reads (about 1,000 levels)") from None
            if not isinstance(record, dict):
                kind = {list: "arrays", str: "strings", bool: "true/false values", type(None): "nulls"}.get(type(record), "numbers")
                raise InputError(f"'{self._name}' holds a JSON array of {kind}, not of records ({{\"field\": value, ...}})")
            # A record's own line breaks are white space between its tokens (a string holds them escaped).
            lines.append(self._buf[self._pos : end].replace("\n", " ").replace("\r", " "))
            self._pos = end
            if end == len(self._buf) or len(lines) >= LINES_PER_BLOCK:
                break


class AzureFlowLines(_Produced):
    """Azure NSG and VNet flow logs as JSON lines, one flow tuple per line (logs.cloud.azure_flow_rows).
    Azure writes a document per NSG or NIC and hour; each is parsed whole, the next read once it is done,
    so files joined in a stream (a folder of PT1H.json, or the documents on stdin) are one table."""

    def __init__(self, raw: IO[bytes], name: str):
        super().__init__(raw)
        self._name = name
        self._blocks = self._batches()  # a generator: nothing is read before the first block is asked for

    def _produce(self) -> bytes:
        return next(self._blocks, b"")

    def _documents(self) -> Iterator[object]:
        import codecs
        import json

        parse, text = json.JSONDecoder().raw_decode, codecs.getincrementaldecoder("utf-8-sig")()
        buf, eof, tried = "", False, 0
        while True:
            buf = buf.lstrip(" \t\r\n,")
            if not buf and eof:
                return
            # A document is tried again only once the text has doubled: parsing stays linear in its size.
            if buf and (eof or len(buf) >= 2 * tried):
                try:
                    doc, end = parse(buf)
                except json.JSONDecodeError as e:
                    if eof and not buf.rstrip().endswith("}"):
                        raise InputError(f"'{self._name}' ends before its JSON closes: the file is cut short; copy it again") from None
                    if eof:
                        raise InputError(f"'{self._name}' is not a valid Azure flow log: {e.msg} (line {e.lineno}, column {e.colno})") from None
                    tried = len(buf)
                except RecursionError:
                    raise InputError(f"'{self._name}' is not a valid Azure flow log: nested deeper than Python reads (about 1,000 levels)") from None
                else:
                    yield doc
                    buf, tried = buf[end:], 0
                    continue
            block = self._raw.read(1 << 22)
            eof = not block
            buf += text.decode(block, final=eof)

    def _batches(self) -> Iterator[bytes]:
        import json

        from .logs.cloud import azure_flow_rows

        lines: list[str] = []
        for doc in self._documents():
            records = doc.get("records") if isinstance(doc, dict) and "records" in doc else [doc]
            for record in records if isinstance(records, list) else []:
                if not isinstance(record, dict):
                    continue
                for row in azure_flow_rows(record):
                    lines.append(json.dumps(row, separators=(",", ":")))
                    if len(lines) >= LINES_PER_BLOCK:
                        yield _line_block(lines)
                        lines = []
        if lines:
            yield _line_block(lines)


class RecordLines(_Produced):
    """Log lines as a table's lines, each line's record made by `parse`: a JSON record (logs.keyvalue's
    key_values, logs.firewalls' asa_record, logs.events' cef_record, ...) or a CSV row below `header`
    (logs.firewalls.pan_os_line); "" for a message that is not a flow, left out and counted; None for a line
    that is not a record, counted as malformed (or stopping the run with --strict)."""

    def __init__(self, raw: IO[bytes], source: "Source", parse: Callable[[str], str | None], header: str = ""):
        super().__init__(raw)
        self._source, self._parse = source, parse
        self._lines = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=None)
        self._header = [header] if header else []

    def _produce(self) -> bytes:
        out, self._header = self._header, []
        for line in self._lines:
            if not line.strip():
                continue
            record = self._parse(line)
            if record is None:
                self._source.bad_line(line.rstrip("\r\n"))
                continue
            if not record:
                self._source.left_out("message")
                continue
            out.append(record)
            if len(out) >= LINES_PER_BLOCK:
                break
        return _line_block(out)

    def close(self) -> None:
        self._lines.close()
        super().close()


def lzma_error() -> type:
    import lzma

    return lzma.LZMAError
# A compressed file's first bytes, by what compressed it (Zeek writes gzip; logrotate may use bzip2 or xz).
MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00"}


def codec_of(head: bytes) -> str:
    """What compressed a file, by its first bytes: "gzip", "bz2", "xz", or "" for none."""
    return next((c for c, magic in MAGIC.items() if head.startswith(magic)), "")


def open_compressed(codec: str, f, on_cut: Callable[[], None] | None = None) -> IO[bytes]:
    """A path or a binary stream compressed by `codec`, decompressed as it is read. on_cut: a file that ends
    before its end-of-stream marker reads as ending there (the decompressor's EOFError is not raised), and
    `on_cut` hears of it, as zcat writes what there is and then complains."""
    import bz2
    import lzma

    stream = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[codec](f, "rb")
    return stream if on_cut is None else io.BufferedReader(EndsAtCut(stream, on_cut), buffer_size=1 << 20)


class EndsAtCut(io.RawIOBase):
    """A decompressed stream that ends where its file was cut short, instead of raising EOFError there."""

    def __init__(self, stream: IO[bytes], on_cut: Callable[[], None]):
        super().__init__()
        self._stream, self._on_cut, self._ended = stream, on_cut, False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._ended:
            return 0
        try:
            # One step of the decompressor at a time: a read of many steps that meets the cut drops what it
            # had decompressed (a 1 MiB read of a CSV cut short lost its header with it).
            data = self._stream.read1(len(b))
            b[: len(data)] = data
            return len(data)
        except EOFError:
            self._ended = True
            self._on_cut()  # may raise: --strict stops on a file cut short
            return 0

    def close(self) -> None:
        self._stream.close()
        super().close()


def decompressed_head(head: bytes, path: str, codec: str = "gzip", once: bool = False) -> bytes:
    name = {"gzip": "gzip", "bz2": "bzip2", "xz": "xz"}[codec]
    where = "stdin" if path == STDIO else path
    try:
        if not once:
            try:
                with open_compressed(codec, path) as f:
                    return f.read(HEAD_BYTES)
            except EOFError:
                pass  # the file ends within the peeked bytes: decompress what there is
        # stdin (or a short file): decompress a copy of the peeked bytes, enough for a format guess, nothing consumed.
        with open_compressed(codec, io.BytesIO(head)) as f:
            part = _read_partial(f)
    except (OSError, lzma_error()) as e:
        raise InputError(f"'{where}' looks {name}-compressed but cannot be decompressed: {e}") from None
    if not part:  # bzip2 gives nothing until a whole block (up to 900 kB) is in
        raise InputError(f"'{where}' is {name}-compressed but ends before any of it decompresses: the file is cut short; copy it again")
    return part


def _read_partial(f) -> bytes:
    out = bytearray()
    try:
        while True:
            # One step of the decompressor at a time, as EndsAtCut reads: a read of many steps that meets the
            # cut would drop what it had decompressed.
            part = f.read1(4096)
            if not part:
                break
            out += part
    except EOFError:  # the peeked block ends mid-stream
        pass
    return bytes(out)
