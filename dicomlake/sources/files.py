"""Ingest sources and the one checked read of a row's source bytes (:func:`read_checked`).

A source (``dl_source``) names exactly where an instance's bytes are:

- a local file: its absolute path (``/data/ct/1.dcm``);
- an archive member: ``zip://MEMBER::ARCHIVE`` or ``tar://MEMBER::ARCHIVE`` (see
  :mod:`dicomlake.sources.archives`), the archive a path, an object or (one level) a member;
- an object: ``s3://bucket/key``, ``gs://bucket/key``, ``az://container/blob``
  (:mod:`dicomlake.sources.objects`);
- a DICOMweb instance: ``https://host/dicom-web/studies/…/instances/…``.

Ingest lists a source (a folder walked recursively, one file, a text file of paths, an archive,
an object-store prefix) into such URLs, and its tasks read them with :func:`read_many`; every
later reader (export, de-identification, verify, previews, Spark tasks) goes through
:func:`read_checked`, which checks the bytes against what ingest recorded."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from ..errors import SourceChangedError, SourceError
from . import archives, objects
from .dicomweb import fetch


def _is_path_list(path: Path) -> bool:
    """A text file (not DICOM) whose lines look like file paths."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if (len(head) >= 132 and head[128:132] == b"DICM") or b"\0" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return bool(lines) and all(
        "/" in ln or ln.lower().endswith((".dcm", ".dicom")) or (path.parent / ln).exists() for ln in lines[:20]
    )


def _walk(root: Path) -> list[str]:
    """Every file below ``root``, following links to folders once (no cycles), in a stable order."""
    out: list[str] = []
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        out.extend(os.path.abspath(os.path.join(dirpath, f)) for f in sorted(filenames))
    return out


def list_sources(source: str | os.PathLike[str]) -> list[str]:
    """The sources to ingest (paths, member and object URLs), in a stable order: a folder's files
    (archives among them listed through), one file or archive, a text file of paths, an
    object-store prefix or object, an archive member."""
    if not str(source):
        raise SourceError("the ingest source is empty: pass a folder, a DICOM file or a text file of paths")
    text = str(source)
    objects.check_url(text)
    if archives.split_member(text) is not None:
        return [_absolute(text)]
    if objects.is_object_url(text):
        return _expand(objects.list_objects(text))
    path = Path(source).expanduser()
    if path.is_dir():
        return _expand(_walk(path))
    if path.is_file():
        if archives.archive_kind(path.name) is None and _is_path_list(path):
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines()]
            return _expand([_listed(path.parent, ln) for ln in lines if ln and not ln.startswith("#")])
        return _expand([os.path.abspath(path)])
    raise SourceError(
        f"ingest source {source} does not exist: pass a folder, a DICOM file, an archive, a text file of paths, "
        "an object-store URL (s3://, gs://, az://) or a DICOMweb URL"
    )


def _absolute(url: str) -> str:
    """A member URL whose outermost container is a local path, with that path made absolute."""
    head, sep, last = url.rpartition("::")
    if not sep or objects.scheme_of(last) is not None:
        return url
    return f"{head}::{os.path.abspath(os.path.expanduser(last))}"


def _listed(folder: Path, line: str) -> str:
    """A line of a text file of sources: a path (relative to the file) or a URL."""
    objects.check_url(line)
    if objects.scheme_of(line) is not None:
        return _absolute(line)
    return os.path.abspath(folder / line)


def _expand(found: list[str]) -> list[str]:
    """Archives among ``found`` replaced by their members (a damaged archive stays as it is: read
    as a file, it becomes an ingest issue)."""
    out: list[str] = []
    for item in found:
        member = archives.split_member(item)
        kind = archives.archive_kind(member.name if member is not None else item)
        if kind is None:
            out.append(item)
            continue
        try:
            out.extend(archives.list_members(item, kind))
        except archives.BAD_ARCHIVE:
            out.append(item)
    return out


def read_source(source: str) -> bytes:
    """The bytes of a row's source instance: its file, archive member or object, or (for a
    DICOMweb-sourced row) the instance fetched from the server with WADO-RS. A source that is
    gone raises FileNotFoundError."""
    objects.check_url(source)
    if source.startswith(("http://", "https://")):
        return fetch(source)
    member = archives.split_member(source)
    if member is not None:
        return archives.read_member(member.container, member.kind, member.name)
    if objects.is_object_url(source):
        return objects.read_object(source)
    return Path(source).read_bytes()


def read_many(sources: Sequence[str]) -> Iterator[tuple[str, bytes | Exception]]:
    """Each source's bytes, or the exception reading it gave (FileNotFoundError when it is gone),
    grouped so that each archive is opened once (a tar read in one pass, up to the last member
    wanted) and objects are fetched concurrently. Local files and DICOMweb instances are not
    read here (the caller reads a file in place)."""
    groups: dict[tuple[str, str], list[str]] = {}
    objs: list[str] = []
    for s in sources:
        m = archives.split_member(s)
        if m is not None:
            groups.setdefault((m.kind, m.container), []).append(m.name)
        elif objects.is_object_url(s):
            objs.append(s)
    if objs:
        yield from objects.fetch_many(objs)
    for (kind, container), names in groups.items():
        got: set[str] = set()
        try:
            for name, data in archives.read_members(container, kind, names):
                got.add(name)
                yield archives.member_url(kind, name, container), data
        except Exception as exc:
            err = exc if isinstance(exc, FileNotFoundError | SourceError) else OSError(f"{container}: {exc}")
            for name in names:
                if name not in got:
                    yield archives.member_url(kind, name, container), err
            continue
        for name in names:
            if name not in got:
                yield archives.member_url(kind, name, container), FileNotFoundError(f"{name} is not in {container}")


def is_remote(source: str | os.PathLike[str]) -> bool:
    """An object-store source (listed, fetched and resumed as such)."""
    return objects.is_object_url(str(source))


class Source(NamedTuple):
    """A row's source instance (``dl_source``) and what ingest recorded of it: ``dl_source_size``,
    ``dl_source_sha256`` and, for an object, ``dl_source_version`` (None where nothing was
    recorded, as for a DICOMweb metadata harvest or a store ingested before that column)."""

    path: str
    size: int | None = None
    sha256: str | None = None
    version: str | None = None


#: The columns of :class:`Source`, in its order.
SOURCE_COLUMNS = ("dl_source", "dl_source_size", "dl_source_sha256", "dl_source_version")


def source_columns(names: Sequence[str]) -> str:
    """The select list of :data:`SOURCE_COLUMNS` over a table with the columns ``names`` (a store
    ingested before ``dl_source_version`` existed lacks it: NULL)."""
    return ", ".join(c if c in names else f"CAST(NULL AS VARCHAR) AS {c}" for c in SOURCE_COLUMNS)


def _kind(path: str) -> str:
    if archives.split_member(path) is not None:
        return "archive member"
    return "object" if objects.is_object_url(path) else "file"


def read_checked(source: Source) -> bytes:
    """The source's bytes, checked against the size and SHA-256 ingest recorded (hashed as they are
    read, never read twice). An object whose version ingest recorded is asked for on condition
    that it still has that version (:func:`dicomlake.sources.objects.read_object`): another one
    marks it changed without downloading it; the same one still gets the size and SHA-256
    check. Raises :class:`SourceChangedError` for a vanished or changed file, archive member or
    object."""
    what = _kind(source.path)
    try:
        if source.version and objects.is_object_url(source.path):
            data = objects.read_object(source.path, version=source.version)
        else:
            data = read_source(source.path)
    except FileNotFoundError:
        raise SourceChangedError(f"source {what} vanished since ingest; restore it or re-ingest the store") from None
    except objects.VersionChanged as exc:
        raise SourceChangedError(
            f"source {what} changed since ingest (its version is now {exc.now}, {source.version} recorded); "
            "re-ingest it"
        ) from None
    except archives.DAMAGED as exc:
        raise SourceChangedError(
            f"the archive of this source member can no longer be read ({exc}); re-ingest it"
        ) from None
    if source.size is not None and len(data) != source.size:
        raise SourceChangedError(
            f"source {what} changed since ingest (size differs: {len(data)} bytes, {source.size} recorded); "
            "re-ingest it"
        )
    if source.sha256 and hashlib.sha256(data).hexdigest() != source.sha256:
        raise SourceChangedError(f"source {what} changed since ingest (SHA-256 differs); re-ingest it")
    return data
