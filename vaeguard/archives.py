"""Tables inside a ZIP or tar archive, read straight from it (no copy unpacked to disk).

Public flow data sets come packed: CIC-IDS2017's `MachineLearningCSV.zip` (eight CSVs of one table),
UNSW-NB15's zipped CSVs, a sensor's rotated logs tarred as `conn.2026-12-01.tar.gz`. An archive is read
as a folder is: its files are one table, read one after another (a ZIP's sorted by name, as a folder's;
a tar's in the archive's own order, the one order a compressed tar can be read in without starting
over), leaving out hidden ones and names starting with '_' (macOS's `__MACOSX/._x.csv`). Each file is
then read as it would be on its own: CSV, a Zeek log, JSON lines, gzipped or not. Parquet is not read
from inside an archive: its reader seeks back and forth in the file.
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
import zipfile
from typing import IO, NoReturn

from .errors import InputError
from .streams import HEAD_BYTES, codec_of, open_compressed, read_up_to

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a ZIP's first member, or an empty ZIP's end record
TAR_MAGIC_AT = 257  # "ustar" (POSIX and GNU tar) at this offset of the first 512-byte header
ARCHIVE_WORDS = {"zip": "a ZIP", "tar": "a tar"}  # an archive's kind, as messages name it


def packed_kind(head: bytes) -> str:
    """"zip" or "tar" where a file's first (decompressed) bytes are an archive's, else ""."""
    if head.startswith(ZIP_MAGIC):
        return "zip"
    return "tar" if head[TAR_MAGIC_AT : TAR_MAGIC_AT + 5] == b"ustar" else ""


class Member(str):
    """A file inside an archive. As a string it is 'archive/member', the name messages show; `archive`
    and `name` say where it is, `kind` ("zip" or "tar") how to open it, `head` its first bytes."""

    archive: str
    name: str
    kind: str
    offset: int  # a tar member's data: where it starts in the (decompressed) archive, and its length
    size: int
    head: bytes
    codec: str  # what compressed a tar archive, as a whole ("" for none)
    last: bool  # the archive's last table file: nothing follows to keep its stream for

    def __new__(cls, archive: str, name: str, kind: str, offset: int = 0, size: int = 0, head: bytes = b"", codec: str = ""):
        self = super().__new__(cls, f"{archive}/{name}")
        self.archive, self.name, self.kind, self.offset, self.size, self.head = archive, name, kind, offset, size, head
        self.codec, self.last = codec, False
        return self

    def open(self) -> IO[bytes]:
        """The member's bytes, as they are stored (a gzipped member stays gzipped)."""
        if self.kind == "zip":
            return zipfile.ZipFile(self.archive).open(self.name)  # the member keeps the archive open until closed
        return io.BufferedReader(_TarMember(self), buffer_size=1 << 20)


def archive_kind(path: str) -> str:
    """"zip" or "tar" (compressed with gzip, bzip2 or xz, or not) where the file at `path` is one, else ""."""
    try:
        with open(path, "rb") as f:
            head = f.read(TAR_MAGIC_AT + 5)
    except OSError:
        return ""
    codec = codec_of(head)
    if codec:
        try:
            with open_compressed(codec, path) as f:
                head = read_up_to(f, TAR_MAGIC_AT + 5)
        except Exception:  # not what its first bytes said: the file's own reader says so, later
            return ""
    return packed_kind(head)


def members(path: str, kind: str) -> list[Member]:
    """The table files in the archive at `path` (see the module's docstring), each with its first bytes."""
    try:
        found = _zip_members(path) if kind == "zip" else _tar_members(path)
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as e:
        raise InputError(f"'{path}' is {ARCHIVE_WORDS[kind]} archive that cannot be read ({e}): "
                         "the file may be cut short; copy it again") from None
    if not found:
        raise InputError(f"'{path}' is {ARCHIVE_WORDS[kind]} archive with no files in it; give a table file")
    return found


def _listed(name: str) -> bool:
    return not any(part[:1] in "._" for part in name.split("/") if part)


def _zip_members(path: str) -> list[Member]:
    with zipfile.ZipFile(path) as z:
        names = [i.filename for i in z.infolist() if not i.is_dir()]
        if "[Content_Types].xml" in names:
            what = "an Excel workbook" if any(n.startswith("xl/") for n in names) else "an Office document"
            raise InputError(f"'{path}' is {what}, not a table vaeguard reads: save the sheet as CSV")
        out = []
        for name in sorted(n for n in names if _listed(n)):
            with z.open(name) as f:
                out.append(Member(path, name, "zip", head=read_up_to(f, HEAD_BYTES)))
        return out


def _tar_members(path: str) -> list[Member]:
    # One pass over the archive as a stream (a compressed tar cannot be listed any faster), each file's
    # first bytes kept for its format to be told.
    out = []
    with open(path, "rb") as f:
        codec = codec_of(f.read(8))
    with tarfile.open(path, "r|*") as t:
        for info in t:
            if info.isfile() and _listed(info.name):
                f = t.extractfile(info)
                out.append(Member(path, info.name, "tar", info.offset_data, info.size, read_up_to(f, HEAD_BYTES), codec))
    if out:
        out[-1].last = True
    return out


# One stream per compressed tar archive, left where the last member read ended: the next member in the
# archive's order is reached by reading on, not by decompressing the archive again from its start. Kept by
# the file's identity and version, so that an archive replaced since (a daily one, in a process that
# scores each day's) is read anew.
_TAR_STREAMS: dict[tuple, tuple[IO[bytes], int]] = {}
_TAR_LOCK = threading.Lock()


class _TarMember(io.RawIOBase):
    """A tar member's bytes, read from the archive's stream (see _TAR_STREAMS)."""

    def __init__(self, member: Member):
        self._member, self._left = member, member.size
        codec = member.codec
        info = os.stat(member.archive)
        self._key = (member.archive, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        with _TAR_LOCK:
            stream, pos = _TAR_STREAMS.pop(self._key, (None, 0))
        if stream is not None and codec and pos > member.offset:
            stream.close()
            stream = None
        if stream is None:
            stream, pos = (open_compressed(codec, member.archive) if codec else open(member.archive, "rb")), 0  # noqa: SIM115
        if not codec:
            pos = stream.seek(member.offset)  # the archive file itself: a seek costs nothing
        while pos < member.offset:
            got = stream.read(min(1 << 20, member.offset - pos))
            if not got:
                _cut(member)
            pos += len(got)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._left <= 0 or self._stream is None:
            return 0
        n = self._stream.readinto(memoryview(b)[: min(len(b), self._left)])
        if not n:
            _cut(self._member)
        self._left -= n
        return n

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            if not self._member.codec or (self._member.last and self._left <= 0):
                stream.close()
                return super().close()
            with _TAR_LOCK:
                old = _TAR_STREAMS.pop(self._key, None)
                _TAR_STREAMS[self._key] = (stream, self._member.offset + self._member.size - self._left)
            if old is not None:
                old[0].close()
        super().close()


def _cut(member: Member) -> NoReturn:
    raise InputError(f"'{member}' ends before its {member.size:,} bytes: the archive is cut short; copy it again")
