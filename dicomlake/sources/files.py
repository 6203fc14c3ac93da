"""Ingest sources (a folder walked recursively, one file, or a text file listing paths), and the
one checked read of a row's source bytes (:func:`read_checked`) every later reader uses."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from ..errors import SourceChangedError, SourceError
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
    """Absolute paths of the files to ingest, in a stable order."""
    if not str(source):
        raise SourceError("the ingest source is empty: pass a folder, a DICOM file or a text file of paths")
    path = Path(source).expanduser()
    if path.is_dir():
        return _walk(path)
    if path.is_file():
        if _is_path_list(path):
            lines = path.read_text(encoding="utf-8-sig").splitlines()
            return [os.path.abspath(path.parent / ln.strip()) for ln in lines if ln.strip() and not ln.startswith("#")]
        return [os.path.abspath(path)]
    raise SourceError(f"ingest source {source} does not exist: pass a folder, a DICOM file or a text file of paths")


def read_source(source: str) -> bytes:
    """The bytes of a row's source instance: its file, or (for a DICOMweb-sourced row) the
    instance fetched from the server with WADO-RS."""
    if source.startswith(("http://", "https://")):
        return fetch(source)
    return Path(source).read_bytes()


class Source(NamedTuple):
    """A row's source instance (``dl_source``) and what ingest recorded of it: ``dl_source_size``
    and ``dl_source_sha256`` (None where nothing was recorded, as for a DICOMweb metadata harvest)."""

    path: str
    size: int | None = None
    sha256: str | None = None


def read_checked(source: Source) -> bytes:
    """The source's bytes, checked against the size and SHA-256 ingest recorded (hashed as they are
    read, never read twice). Raises :class:`SourceChangedError` for a vanished or changed file."""
    try:
        data = read_source(source.path)
    except FileNotFoundError:
        raise SourceChangedError("source file vanished since ingest; restore it or re-ingest the store") from None
    if source.size is not None and len(data) != source.size:
        raise SourceChangedError(
            f"source file changed since ingest (size differs: {len(data)} bytes, {source.size} recorded); re-ingest it"
        )
    if source.sha256 and hashlib.sha256(data).hexdigest() != source.sha256:
        raise SourceChangedError("source file changed since ingest (SHA-256 differs); re-ingest it")
    return data
