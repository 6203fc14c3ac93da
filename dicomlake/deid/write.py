"""Rematerializing de-identified rows: the transformed table → DICOM files, row by row.

Burned-in text is looked for first (OCR, when the plan cleans images) and filled; each row is then
written as a file by :func:`dicomlake.rematerialize.build.build_file` in forked worker processes,
and the rows written come back with ``dl_source`` & co. pointing at their files. Used by the local
run (:mod:`.run`) and by each Spark task (:mod:`.on_spark`).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..engines.local import fork_pool
from ..errors import DicomlakeError, SourceChangedError
from ..pixels.frames import Box
from ..progress import progress_bar
from ..rematerialize.build import build_file
from ..sources.files import Source, read_checked
from .config import ImageConfig
from .markers import Markers, pixel_markers


@dataclass
class StoreResult:
    """What de-identifying one store did: counts, failures and issues, the files written, markers."""

    source: str
    destination: str
    selected: int = 0
    success: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    replaced: int = 0
    ingested: int = 0
    duplicates: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)
    inspected: int = 0  # instances whose pixels were read by OCR
    redacted: int = 0  # of those, instances with burned-in text filled
    written: list[tuple[str, str]] = field(default_factory=list)  # (SOPInstanceUID, file) of this run
    sent: int = 0  # instances accepted by the --dest-dicomweb server
    markers: Markers | None = None  # what PatientIdentityRemoved & co. say, and why


_JOB: dict[str, Any] = {}
_UID_PART = re.compile(r"[0-9]+(\.[0-9]+)*")


def _part(uid: str | None, fallback: object = "unknown") -> str:
    """A UID as a file or folder name; anything else (a hostile value) is replaced by its hash."""
    if uid and _UID_PART.fullmatch(uid):
        return uid
    return f"x{hashlib.sha256(str(uid or fallback).encode()).hexdigest()[:32]}"


def _write_chunk(bounds: tuple[int, int]) -> list[tuple[int, int, str, str | None, dict[str, Any], list[str]]]:
    """Rematerialize rows [a, b) of the job's table; (row, size, sha256 or reason, None or
    'failed', attributes changed by pixel redaction, warnings raised while writing it)."""
    table: pa.Table = _JOB["table"]
    boxes: dict[int, list[Box]] = _JOB["boxes"]
    out: list[tuple[int, int, str, str | None, dict[str, Any], list[str]]] = []
    for i, row in enumerate(table.slice(bounds[0], bounds[1] - bounds[0]).to_pylist(), start=bounds[0]):
        with warnings.catch_warnings(record=True) as caught:  # recorded in dl_issues, never printed
            warnings.simplefilter("always")
            try:
                changes: dict[str, Any] = {}
                if i in boxes:  # the pixels were inspected: no identifying text is left burned in
                    changes = {"BurnedInAnnotation": "NO", **pixel_markers(row)}
                    row.update(changes)
                src = Source(
                    row.pop("dl_src"), row.pop("dl_src_size"), row.pop("dl_src_sha256"), row.pop("dl_src_version")
                )
                size, digest, more = build_file(row, src, Path(_JOB["paths"][i]), boxes=boxes.get(i))
                done: tuple[int, int, str, str | None, dict[str, Any]] = (i, size, digest, None, changes | more)
            except Exception as exc:  # one instance failing must not stop the run
                why = str(exc) if isinstance(exc, DicomlakeError) else f"{type(exc).__name__}: {exc}"
                done = (i, 0, why, "failed", {})
        out.append((*done, sorted({str(w.message) for w in caught})))
    return out


def _with_changes(table: pa.Table, changes: list[dict[str, Any]]) -> pa.Table:
    """``table`` with the attributes pixel redaction changed (row by row) set in its columns."""
    from ..codec.dictionary import keyword_entry
    from ..codec.schema import entry_type

    for name in sorted({k for c in changes for k in c}):
        i = table.schema.get_field_index(name)
        if i < 0:
            e = keyword_entry(name)
            typ = (entry_type(e) if e is not None else None) or pa.string()
            table = table.append_column(pa.field(name, typ), pa.nulls(table.num_rows, typ))
            i = table.schema.get_field_index(name)
        values = table.column(i).to_pylist()
        for r, c in enumerate(changes):
            if name in c:
                values[r] = c[name]
        table = table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))
    return table


def inspect_pixels(table: pa.Table, image: ImageConfig, workers: int) -> tuple[dict[int, list[Box]], dict[int, str]]:
    """OCR the pixels of the rows that keep PixelData: (row → boxes to fill, row → why unread)."""
    from .burned import read_all, redaction_boxes
    from .udfs import context_from_json

    cols = ["dl_src", "dl_src_size", "dl_src_sha256", "dl_src_version", "DroppedTags", "dl_image_context"]
    rows = table.select(cols).to_pylist()
    todo = [
        (i, Source(r["dl_src"], r["dl_src_size"], r["dl_src_sha256"], r["dl_src_version"]))
        for i, r in enumerate(rows)
        if r["dl_src"] and "PixelData" in (r["DroppedTags"] or [])
    ]
    advance, stop = progress_bar("OCR", len(todo))
    try:
        keys, readings = read_all([p for _, p in todo], workers, lambda n, total: advance(1))
    finally:
        stop()
    boxes: dict[int, list[Box]] = {}
    unread: dict[int, str] = {}
    for (i, src), key in zip(todo, keys, strict=True):
        reading = readings.get(key) if key is not None else None
        if reading is None or reading.error:
            unread[i] = reading.error if reading is not None and reading.error else _why_unread(src)
        else:
            boxes[i] = redaction_boxes(reading.words, image, context_from_json(rows[i]["dl_image_context"]))
    return boxes, unread


def _why_unread(src: Source) -> str:
    """Why a source's pixel data could not be read (a changed or vanished file says so)."""
    try:
        read_checked(src)
    except SourceChangedError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read the source file: {exc.strerror or exc}"
    return "the pixel data could not be read"


def _unread(table: pa.Table, i: int, why: str) -> dict[str, Any]:
    return {
        "path": table.column("dl_src")[i].as_py(),
        "sop_instance_uid": table.column("SOPInstanceUID")[i].as_py(),
        "severity": "error",
        "element": "PixelData",
        "reason": f"not written: burned-in text could not be checked ({why})",
    }


def rematerialize_table(
    table: pa.Table, stage_files: Path, final_files: Path, workers: int, boxes: dict[int, list[Box]] | None = None
) -> tuple[pa.Table, list[dict[str, Any]], list[dict[str, Any]]]:
    """Write every row as a file; returns the table with dl_source & co. set, the failures, and
    the issues (warnings raised while writing a file, e.g. a kept source value invalid for its VR).

    ``boxes``: for the rows whose pixels were inspected, the burned-in text to fill."""
    uids = table.select(["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"]).to_pylist()
    rel = [
        Path(_part(u["StudyInstanceUID"]), _part(u["SeriesInstanceUID"]), f"{_part(u['SOPInstanceUID'], i)}.dcm")
        for i, u in enumerate(uids)
    ]
    extra = [c for c in ("dl_row", "dl_image_context") if c in table.schema.names]
    _JOB.update(table=table.drop_columns(extra), paths=[str(stage_files / r) for r in rel], boxes=boxes or {})
    n = table.num_rows
    step = max(1, min(200, n // max(1, workers * 4) or 1))
    chunks = [(a, min(n, a + step)) for a in range(0, n, step)]
    advance, stop = progress_bar("write files", n)
    results = []
    try:
        pool = fork_pool(workers, len(chunks))
        if pool is not None:
            with pool:
                for part in pool.map(_write_chunk, chunks):
                    results += part
                    advance(len(part))
        else:
            for c in chunks:
                results += _write_chunk(c)
                advance(c[1] - c[0])
    finally:
        stop()
        _JOB.clear()
    ok = [r for r in results if r[3] is None]
    src = table.column("dl_src")

    def issue(r: tuple[Any, ...], severity: str, reason: str) -> dict[str, Any]:
        return {
            "path": src[r[0]].as_py(),
            "sop_instance_uid": uids[r[0]]["SOPInstanceUID"],
            "severity": severity,
            "element": None,
            "reason": reason,
        }

    failures = [issue(r, "error", f"not written: {r[2]}") for r in results if r[3]]
    issues = [issue(r, "warning", f"while writing: {text}") for r in ok for text in r[5]]
    keep = table.take(pa.array([r[0] for r in ok], pa.int64())).drop_columns(
        ["dl_src", "dl_src_size", "dl_src_sha256", "dl_src_version", *extra]
    )
    if any(r[4] for r in ok):
        keep = _with_changes(keep, [r[4] for r in ok])
    keep = keep.set_column(
        keep.schema.get_field_index("dl_source"),
        "dl_source",
        pa.array([str(final_files / rel[r[0]]) for r in ok], pa.string()),
    )
    keep = keep.set_column(
        keep.schema.get_field_index("dl_source_size"), "dl_source_size", pa.array([r[1] for r in ok], pa.int64())
    )
    keep = keep.set_column(
        keep.schema.get_field_index("dl_source_sha256"), "dl_source_sha256", pa.array([r[2] for r in ok], pa.string())
    )
    return keep, failures, issues


def write_rows(
    table: pa.Table, image: ImageConfig | None, workers: int, stage_files: Path, final_files: Path, result: StoreResult
) -> pa.Table:
    """Inspect the pixels (when burned-in text is cleaned) and rematerialize the transformed rows;
    the rows written come back, failures and OCR counts go to ``result``."""
    boxes: dict[int, list[Box]] = {}
    if image is not None:
        boxes, unread = inspect_pixels(table, image, workers)
        result.inspected += len(boxes)
        result.redacted += sum(1 for b in boxes.values() if b)
        if unread:  # an image whose text could not be checked is not written
            result.failures += [_unread(table, i, why) for i, why in unread.items()]
            kept = [i for i in range(table.num_rows) if i not in unread]
            table = table.take(pa.array(kept, pa.int64()))
            boxes = {new: boxes[old] for new, old in enumerate(kept) if old in boxes}
    out, failures, issues = rematerialize_table(table, stage_files, final_files, workers, boxes)
    result.failures += failures
    result.issues += issues
    return out
