"""One pass over a tar archive: each file member's name, data offset and size, read from the
headers straight off the uncompressed stream (about ten times faster than ``tarfile`` for
archives of many small members), optionally keeping the uncompressed bytes up to a budget.

The names are the ones ``tarfile`` gives (ustar prefix, GNU long names, pax ``path``), as the
members are later found by those names. Anything less common (sparse files, base-256 sizes,
global pax headers that rename, a header that fails its checksum) raises :class:`Unusual`, and
the caller lists the archive with ``tarfile`` instead.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Iterator
from typing import IO, BinaryIO, NamedTuple, cast

BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")
_NO_DATA = (b"1", b"2", b"3", b"4", b"5", b"6")  # tarfile skips no data after these
_GNU_TYPES = (b"L", b"K", b"S")
_CHUNK = 8 << 20


class Unusual(Exception):
    """The archive uses a feature this scan leaves to ``tarfile``."""


class Entry(NamedTuple):
    name: str
    offset: int  # of the member's data in the uncompressed archive
    size: int


try:
    from isal import isal_zlib as _zlib

    #: Errors of damaged compressed data besides zlib's.
    INFLATE_ERRORS: tuple[type[Exception], ...] = (cast("type[Exception]", _zlib.error),)
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    import zlib as _zlib  # type: ignore[no-redef]

    INFLATE_ERRORS = ()


def inflate(raw: bytes) -> bytes:
    """Raw deflate data (a zip member's) inflated, through ISA-L when it is installed."""
    data: bytes = _zlib.decompress(raw, -15)
    return data


def decompressed(f: BinaryIO) -> tuple[IO[bytes], bool]:
    """(the uncompressed stream of a tar archive, whether it was uncompressed already), the
    compression told by its first bytes; gzip through ISA-L (``isal``) when it is installed,
    about twice as fast as zlib, its inflating in a thread of its own."""
    head = f.read(6)
    f.seek(0)
    if head.startswith(b"\x1f\x8b"):
        try:
            from isal import igzip_threaded
        except ImportError:  # pragma: no cover - isal is a dependency; gzip is the fallback
            return cast(IO[bytes], gzip.GzipFile(fileobj=f, mode="rb")), False
        return igzip_threaded.open(f, "rb", threads=1), False
    if head.startswith(b"BZh"):
        return cast(IO[bytes], bz2.BZ2File(f)), False
    if head.startswith(b"\xfd7zXZ\x00"):
        return cast(IO[bytes], lzma.LZMAFile(f)), False
    return f, True


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _nts(field: bytes) -> str:
    end = field.find(b"\0")
    return _text(field if end < 0 else field[:end])


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:
        raise Unusual("base-256 number")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError:
        raise Unusual("bad number") from None


def _pax(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos)
        if space < 0:
            raise Unusual("bad pax record")
        length = int(data[pos:space])
        if length <= 0:
            raise Unusual("bad pax record")
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = _text(value)
        pos += length
    if "hdrcharset" in out or any(k.startswith("GNU.sparse") for k in out):
        raise Unusual("pax charset or sparse member")
    return out


def _member_name(header: bytes, kind: bytes, long_name: str | None, pax: dict[str, str]) -> str:
    """A member's name as tarfile gives it: a pax ``path``, else a GNU long name, else the
    header's name behind its ustar prefix."""
    if "path" in pax:
        return pax["path"]
    if long_name is not None:
        return long_name
    name, prefix = _nts(header[:100]), _nts(header[345:500])
    return prefix + "/" + name if prefix and kind not in _GNU_TYPES else name


class Scan:
    """A tar's stream read once, front to back. :meth:`files` yields each file member; while it
    is the current one, :meth:`member_bytes` reads its data. ``kept``: the bytes read so far,
    None once they pass ``budget``."""

    def __init__(self, stream: IO[bytes], plain: bool, budget: int) -> None:
        self.stream, self.plain, self.budget = stream, plain, budget
        self.kept: bytearray | None = bytearray() if budget > 0 else None
        self.pos = 0
        self._current: Entry | None = None

    def _read(self, n: int) -> bytes:
        data = self.stream.read(n)
        self.pos += len(data)
        if self.kept is not None:
            if len(self.kept) + len(data) > self.budget:
                self.kept = None
            else:
                self.kept += data
        return data

    def _skip(self, n: int) -> None:
        if self.kept is None and self.plain:
            self.stream.seek(n, 1)
            self.pos += n
            return
        while n > 0:
            got = self._read(min(n, _CHUNK))
            if not got:
                raise EOFError("unexpected end of data")
            n -= len(got)

    def _exact(self, n: int) -> bytes:
        data = self._read(n)
        if len(data) != n:
            raise EOFError("unexpected end of data")
        return data

    def member_bytes(self) -> bytes:
        """The current member's data (once)."""
        entry = self._current
        if entry is None or self.pos != entry.offset:
            raise ValueError("no current member to read")
        return self._exact(entry.size)

    def files(self) -> Iterator[Entry]:
        pax: dict[str, str] = {}
        long_name: str | None = None
        while True:
            header = self._read(BLOCK)
            if len(header) < BLOCK:
                if header.strip(b"\0") or self.pos == len(header):
                    raise EOFError("unexpected end of data")
                return
            if header.count(0) == BLOCK:
                return
            if _number(header[148:156]) != 256 + sum(header[:148]) + sum(header[156:]):
                raise Unusual("header checksum")
            kind, size = header[156:157], _number(header[124:136])
            padded = -(-size // BLOCK) * BLOCK
            if kind in (b"x", b"L", b"g"):
                data = self._exact(padded)[:size]
                if kind == b"x":
                    pax = _pax(data)
                elif kind == b"L":
                    long_name = _nts(data)
                elif {"path", "size"} & _pax(data).keys():
                    raise Unusual("global pax header naming members")
                continue
            if kind == b"K":  # a GNU long link name: not a member
                self._skip(padded)
                continue
            if kind not in _REGULAR and kind not in _NO_DATA:
                raise Unusual(f"member type {kind!r}")
            name = _member_name(header, kind, long_name, pax)
            if "size" in pax:
                size = int(pax["size"])
                padded = -(-size // BLOCK) * BLOCK
            pax, long_name = {}, None
            if kind not in _REGULAR or (kind == b"\0" and name.endswith("/")):
                continue  # no data follows (tarfile reads none)
            entry = Entry(name, self.pos, size)
            self._current = entry
            yield entry
            self._current = None
            self._skip(entry.offset + padded - self.pos)
