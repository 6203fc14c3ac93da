"""Archives (zip, tar, tar.gz/tgz, tar.bz2, tar.xz) read as streams, never unpacked to disk.

A member is named by an fsspec-style chained URL, ``KIND://MEMBER::CONTAINER``: ``KIND`` is
``zip`` or ``tar``, ``CONTAINER`` where the archive is (a local path, an object URL, or, for an
archive inside an archive, the inner archive's own member URL), e.g.
``zip://scans/a.dcm::/data/cohort.zip``, ``tar://a.dcm::s3://bucket/x.tar.gz``,
``zip://a.dcm::tar://inner.zip::/data/outer.tar``. Archives inside archives are read one level
deep. A zip is read through its central directory; a tar in one pass.
"""

from __future__ import annotations

import functools
import io
import os
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, NamedTuple

from . import objects

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
DAMAGED = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error)
#: Errors listing an archive: damaged, or unreadable.
BAD_ARCHIVE = (*DAMAGED, OSError, ValueError)


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
    with open_container(container) as f:
        if kind == "zip":
            with zipfile.ZipFile(f) as z:
                infos = [i for i in z.infolist() if not i.is_dir()]
                for info in infos:
                    if wanted is None or info.filename in wanted:
                        yield info.filename, z.read(info)
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
    out: dict[str, bytes] = {}
    total = 0
    for name, data in read_members(container, "tar"):
        total += len(data)
        if total > CACHE_BYTES:
            return None
        out[name] = data
    return out


def list_members(container: str, kind: str, nested: bool = True) -> list[str]:
    """Member URLs of every file in an archive; members that are archives themselves are listed
    through (one level deep) when ``nested``."""
    out: list[str] = []
    with open_container(container) as f:
        if kind == "zip":
            with zipfile.ZipFile(f) as z:
                for info in z.infolist():
                    if not info.is_dir():
                        _add(out, kind, info.filename, container, nested, functools.partial(z.read, info))
        else:
            with _tar(f) as t:
                for ti in t:
                    if ti.isfile():
                        _add(out, kind, ti.name, container, nested, functools.partial(_tar_read, t, ti))
    return out


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
