"""Ingest sources: a folder walked recursively, one file, or a text file listing paths."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import SourceError


def _is_path_list(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return False
    if b"\0" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return bool(first) and (Path(first).exists() or (path.parent / first).exists())


def list_sources(source: str | os.PathLike[str]) -> list[str]:
    """Absolute paths of the files to ingest, in a stable order."""
    path = Path(source).expanduser()
    if path.is_dir():
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(path, onerror=None, followlinks=False):
            dirnames.sort()
            out.extend(str(Path(dirpath, f).absolute()) for f in sorted(filenames) if not f.startswith("."))
        return out
    if path.is_file():
        if _is_path_list(path):
            lines = path.read_text(encoding="utf-8").splitlines()
            return [str((path.parent / ln.strip()).absolute()) for ln in lines if ln.strip() and not ln.startswith("#")]
        return [str(path.absolute())]
    raise SourceError(f"ingest source {source} does not exist: pass a folder, a DICOM file or a text file of paths")
