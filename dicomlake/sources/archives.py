"""Archives (zip, tar, tar.gz/tgz, tar.bz2, tar.xz) read as streams, never unpacked to disk.

A member is named by an fsspec-style chained URL, ``KIND://MEMBER::CONTAINER``: ``KIND`` is
``zip`` or ``tar``, ``CONTAINER`` where the archive is (a local path, an object URL, or, for an
archive inside an archive, the inner archive's own member URL), e.g.
``zip://scans/a.dcm::/data/cohort.zip``, ``tar://a.dcm::s3://bucket/x.tar.gz``,
``zip://a.dcm::tar://inner.zip::/data/outer.tar``. Archives inside archives are read one level
deep. A zip is read through its central directory; a tar in one pass.

Listing a tar reads it whole (its member headers are spread over it, read by :mod:`.tarscan`),
so the listing keeps what the tasks that read its members next need (:data:`LISTED_BYTES`): a
tar's uncompressed bytes when they fit, else each member's offset and size, by which a plain
``.tar`` is read with a seek per member. Ingest's worker processes are forked after the listing
and inherit this, so a tar.gz is decompressed once in all (gzip through ISA-L when ``isal`` is
installed); tasks elsewhere (Spark executors) read the archive themselves. A listed zip keeps
its central directory. :func:`forget_listed` drops what was kept.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, NamedTuple

from . import objects, tarscan

_SUFFIXES = (
    (".zip", "zip"),
    (".tar", "tar"),
    (".tar.gz", "tar"),
    (".tgz", "tar"),
    (".tar.bz2", "tar"),
    (".tbz2", "tar"),
    (".tbz", "tar"),
    (".tar.xz", "tar"),
    (".txz", "tar"),
)
#: Errors of a damaged or truncated archive.
DAMAGED: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    tarfile.TarError,
    EOFError,
    zlib.error,
    *tarscan.INFLATE_ERRORS,
)
#: Errors listing an archive: damaged, or unreadable.
BAD_ARCHIVE: tuple[type[Exception], ...] = (*DAMAGED, OSError, ValueError)


def archive_kind(name: str) -> str | None:
    """'zip' or 'tar' for a name ending in an archive suffix, else None."""
    low = name.lower()
    return next((kind for suffix, kind in _SUFFIXES if low.endswith(suffix)), None)


class Member(NamedTuple):
    kind: str
    name: str
    container: str


def split_member(url: str) -> Member | None:
    """The parts of an archive member URL, or None for anything else."""
    scheme = objects.scheme_of(url)
    if scheme not in objects.MEMBER_SCHEMES or "::" not in url:
        return None
    name, _, container = url[len(scheme) + 3 :].partition("::")
    return Member(str(scheme), name, container)


def member_url(kind: str, name: str, container: str) -> str:
    return f"{kind}://{name}::{container}"


def open_container(container: str) -> BinaryIO:
    """A file object over the archive at ``container`` (a path, an object, or a member: in memory)."""
    inner = split_member(container)
    if inner is not None:
        data = dict(read_members(inner.container, inner.kind, [inner.name])).get(inner.name)
        if data is None:
            raise FileNotFoundError(f"{inner.name} is not in {inner.container}")
        return io.BytesIO(data)
    if objects.is_object_url(container):
        return objects.open_object(container)
    return open(container, "rb")


def _tar(f: BinaryIO) -> tarfile.TarFile:
    return tarfile.open(fileobj=f, mode="r:*")


def read_members(container: str, kind: str, names: Iterable[str] | None = None) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of the wanted members (all files when ``names`` is None) of one archive, in
    archive order; a tar is read once, up to the last wanted member. Missing names are not yielded."""
    wanted = None if names is None else set(names)
    if kind == "tar" and wanted is not None:
        listed = _listed_tar(container)
        if listed is not None:
            yield from listed.read(container, wanted)
            return
    if kind == "zip" and wanted is not None:
        zlisted = _listed_zip(container)
        if zlisted is not None:
            with open_container(container) as f:
                for info in sorted((zlisted[n] for n in wanted if n in zlisted), key=lambda i: i.header_offset):
                    yield info.filename, _zip_member(f, info)
            return
    with open_container(container) as f:
        if kind == "zip":
            with zipfile.ZipFile(f) as z:
                infos = [i for i in z.infolist() if not i.is_dir()]
                for info in infos:
                    if wanted is None or info.filename in wanted:
                        yield info.filename, _zip_member(f, info)
            return
        with _tar(f) as t:
            left = None if wanted is None else len(wanted)
            for ti in t:
                if not ti.isfile() or (wanted is not None and ti.name not in wanted):
                    continue
                fh = t.extractfile(ti)
                yield ti.name, fh.read() if fh is not None else b""
                if left is not None:
                    left -= 1
                    if left == 0:
                        return


#: A tar archive read for one member is kept whole in memory (up to this size, one archive per
#: process) for the next members, as export and de-identification read them one by one; it is
#: used only while the archive's size and modification time (an object's ETag) are unchanged.
CACHE_BYTES = 256 << 20
_cache: dict[str, object] = {}
_lock = threading.Lock()
os.register_at_fork(after_in_child=lambda: globals().update(_lock=threading.Lock()))


def read_member(container: str, kind: str, name: str) -> bytes:
    """One member's bytes; FileNotFoundError when it (or its archive) is gone. A tar member
    comes from the archive read whole the first time (so reading each member of a tar.gz in
    turn is one pass, not one pass each)."""
    if kind == "tar":
        listed = _listed_tar(container)
        if listed is not None:
            for _, got in listed.read(container, {name}):
                return got
            raise FileNotFoundError(f"{name} is not in {container}")
        fingerprint = (container, _fingerprint(container))
        with _lock:
            if _cache.get("key") != fingerprint:
                _cache.clear()
                _cache.update(key=fingerprint, members=_whole_tar(container))  # None: too big to keep
            members = _cache.get("members")
        if isinstance(members, dict):
            data = members.get(name)
            if data is None:
                raise FileNotFoundError(f"{name} is not in {container}")
            return bytes(data)
    data = dict(read_members(container, kind, [name])).get(name)
    if data is None:
        raise FileNotFoundError(f"{name} is not in {container}")
    return data


def _fingerprint(container: str) -> tuple[object, ...]:
    """What changes when the archive (or the archive holding it) is rewritten."""
    outer = split_member(container)
    while outer is not None:
        container = outer.container
        outer = split_member(container)
    if objects.is_object_url(container):
        return objects.object_version(container)
    st = os.stat(container)
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _whole_tar(container: str) -> dict[str, bytes] | None:
    """Every file member of a tar, read in one pass (None past :data:`CACHE_BYTES`)."""
    with open_container(container) as f:
        stream, plain = tarscan.decompressed(f)
        try:
            out: dict[str, bytes] = {}
            total = 0
            scan = tarscan.Scan(stream, plain, 0)
            for e in scan.files():
                total += e.size
                if total > CACHE_BYTES:
                    return None
                out[e.name] = scan.member_bytes()
            return out
        except tarscan.Unusual:
            pass
        finally:
            if stream is not f:
                stream.close()
    out, total = {}, 0  # listed by tarfile
    for name, data in read_members(container, "tar"):
        total += len(data)
        if total > CACHE_BYTES:
            return None
        out[name] = data
    return out


def list_members(container: str, kind: str, nested: bool = True) -> list[str]:
    """Member URLs of every file in an archive; members that are archives themselves are listed
    through (one level deep) when ``nested``. A tar's listing is kept for its readers (see the
    module's notes)."""
    out: list[str] = []
    with open_container(container) as f:
        if kind == "zip":
            fingerprint = _fingerprint(container)
            with zipfile.ZipFile(f) as z:
                for info in z.infolist():
                    if not info.is_dir():
                        _add(out, kind, info.filename, container, nested, functools.partial(_zip_member, f, info))
                infos = {i.filename: i for i in z.infolist() if not i.is_dir()}
            _listed[container] = _ListedZip(fingerprint, infos)
        else:
            _list_tar(f, container, nested, out)
    return out


#: Uncompressed bytes of the tar archives one process keeps from listing them (in all; an
#: archive that does not fit keeps only its members' offsets).
LISTED_BYTES = 256 << 20
_listed: dict[str, _ListedTar | _ListedZip] = {}


class _ListedTar(NamedTuple):
    """What listing a tar found: the archive's version (:func:`_fingerprint`), each file member's
    (offset, size) in the uncompressed archive, the uncompressed bytes (None: too big to keep)
    and whether the archive is uncompressed (members then read by seeking)."""

    fingerprint: tuple[object, ...]
    members: dict[str, tuple[int, int]]
    data: bytes | bytearray | None
    plain: bool

    def read(self, container: str, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
        """(name, bytes) of the wanted members found, in archive order."""
        found = sorted((self.members[n], n) for n in wanted if n in self.members)
        if self.data is not None:
            view = memoryview(self.data)
            for (offset, size), name in found:
                yield name, bytes(view[offset : offset + size])
            return
        with open_container(container) as f:
            for (offset, size), name in found:
                f.seek(offset)
                data = f.read(size)
                if len(data) != size:
                    raise EOFError(f"{container} ends inside its member {name}")
                yield name, data


def _listed_tar(container: str) -> _ListedTar | None:
    """The kept listing of a tar when it can serve reads: the archive unchanged since, and its
    bytes kept or the archive uncompressed."""
    listed = _listed.get(container)
    if not isinstance(listed, _ListedTar) or (listed.data is None and not listed.plain):
        return None
    return listed if _unchanged(container, listed.fingerprint) else None


class _ListedZip(NamedTuple):
    """What listing a zip found: the archive's version and its central directory."""

    fingerprint: tuple[object, ...]
    infos: dict[str, zipfile.ZipInfo]


def _listed_zip(container: str) -> dict[str, zipfile.ZipInfo] | None:
    listed = _listed.get(container)
    if not isinstance(listed, _ListedZip) or not _unchanged(container, listed.fingerprint):
        return None
    return listed.infos


def _unchanged(container: str, fingerprint: tuple[object, ...]) -> bool:
    try:
        unchanged = _fingerprint(container) == fingerprint
    except (OSError, ValueError):
        unchanged = False
    if not unchanged:
        _listed.pop(container, None)
    return unchanged


_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _zip_member(f: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    """A zip member's bytes, read at its offset and inflated (through ISA-L when ``isal`` is
    installed), its CRC-32 checked; encrypted members and other methods go through zipfile."""
    if info.flag_bits & 1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        f.seek(0)
        with zipfile.ZipFile(f) as z:
            return z.read(info.filename)
    f.seek(info.header_offset)
    magic, name_len, extra_len = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
    if magic != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    f.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    raw = f.read(info.compress_size)
    if len(raw) != info.compress_size:
        raise EOFError(f"the archive ends inside its member {info.filename}")
    data = raw if info.compress_type == zipfile.ZIP_STORED else tarscan.inflate(raw)
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 for {info.filename}")
    return data


def forget_listed() -> None:
    """Drop what listing archives kept (called when an ingest ends)."""
    _listed.clear()


def _list_tar(f: BinaryIO, container: str, nested: bool, out: list[str]) -> None:
    """List a tar in one pass, keeping its listing (and its bytes, within the budget left); an
    archive the quick scan leaves to ``tarfile`` is listed again by it."""
    fingerprint = _fingerprint(container)
    stream, plain = tarscan.decompressed(f)
    used = sum(len(t.data or b"") for k, t in _listed.items() if k != container and isinstance(t, _ListedTar))
    scan = tarscan.Scan(stream, plain, 0 if plain else LISTED_BYTES - used)
    members: dict[str, tuple[int, int]] = {}
    found: list[str] = []
    try:
        try:
            for e in scan.files():
                members[e.name] = (e.offset, e.size)
                _add(found, "tar", e.name, container, nested, scan.member_bytes)
        finally:
            if stream is not f:
                stream.close()  # its reading thread stopped before the archive is read again
    except tarscan.Unusual:
        f.seek(0)
        members, found = {}, []
        with _tar(f) as t:
            for ti in t:
                if ti.isfile():
                    members[ti.name] = (ti.offset_data, ti.size)
                    _add(found, "tar", ti.name, container, nested, functools.partial(_tar_read, t, ti))
        scan.kept = None
    out.extend(found)
    data = scan.kept  # never written again: no copy
    _listed[container] = _ListedTar(fingerprint, members, data, plain)


def _tar_read(t: tarfile.TarFile, ti: tarfile.TarInfo) -> bytes:
    fh = t.extractfile(ti)
    return fh.read() if fh is not None else b""


def _add(out: list[str], kind: str, name: str, container: str, nested: bool, read: Callable[[], bytes]) -> None:
    url = member_url(kind, name, container)
    inner = archive_kind(name) if nested else None
    if inner is None:
        out.append(url)
        return
    data = read()
    try:
        out.extend(_list_bytes(data, inner, url))
    except BAD_ARCHIVE:
        out.append(url)  # read as a file, it becomes an ingest issue


def _list_bytes(data: bytes, kind: str, container: str) -> list[str]:
    out: list[str] = []
    f = io.BytesIO(data)
    if kind == "zip":
        with zipfile.ZipFile(f) as z:
            out = [member_url(kind, i.filename, container) for i in z.infolist() if not i.is_dir()]
    else:
        with _tar(f) as t:
            out = [member_url(kind, ti.name, container) for ti in t if ti.isfile()]
    return out
