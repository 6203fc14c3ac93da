"""Exports written to an object store (``s3://``, ``gs://``, ``az://``): DICOM files as objects,
and table files (Parquet, NDJSON, CSV) written locally by the same writers, then uploaded.

The destination rules are those of local files: an existing destination is read back first, so
``WRITE_EMPTY``/``WRITE_APPEND``/``WRITE_TRUNCATE`` and ``--force`` mean the same; a DICOM object
that exists with other content is never overwritten."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..sources import objects


def copy_to_object(data: bytes, target: str, fail: dict[str, Any]) -> dict[str, Any] | None:
    """Write one instance's bytes to the object ``target``; a failure (as export lists it) or None."""
    size = objects.object_size(target)
    if size is not None:
        if size == len(data) and objects.read_object(target) == data:
            return None
        return {
            **fail,
            "reason": f"{target} already exists with other content: not overwritten; export to a new prefix",
        }
    objects.write_object(target, data)
    return None


def to_object_store(write: Callable[[Any], None], dest: Any) -> None:
    """Run ``write`` (a local table writer) on a local copy of ``dest.remote`` and upload the result.

    A Parquet destination not ending in ``.parquet`` is a prefix of Parquet files, as a folder is
    locally: its ``*.parquet`` objects are replaced by one ``part-0.parquet``."""
    url: str = dest.remote
    with tempfile.TemporaryDirectory(prefix="dicomlake-export-") as tmp:
        if dest.kind == "parquet" and not url.lower().endswith(".parquet"):
            local = Path(tmp) / "prefix"
            prefix = url.rstrip("/")
            old = [u for u in objects.children(prefix) if u.lower().endswith(".parquet")]
            if old:
                local.mkdir()
                for u in old:
                    objects.download(u, str(local / u.rsplit("/", 1)[-1]))
            write(replace(dest, path=local, remote=None, shown=url))
            target = f"{prefix}/part-0.parquet"
            objects.upload(str(local / "part-0.parquet"), target)
            for u in old:
                if u != target:
                    objects.remove_object(u)
            return
        local = Path(tmp) / (url.rstrip("/").rsplit("/", 1)[-1] or "export")
        objects.download(url, str(local))
        write(replace(dest, path=local, remote=None, shown=url))
        objects.upload(str(local), url)
