"""Ingest: DICOM files → one store, in parallel, committed atomically.

Workers each convert a chunk of files with :func:`dicomlake.reader.convert_file` and write a
Parquet part under staging. The parent unifies the parts' schemas (and the store's, on append),
conforms what differs, resolves replaced and duplicate SOPInstanceUIDs, and commits once.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import DicomReadError, StoreError
from .lake import Catalog, StoreInfo, check_store_name, store_schema
from .reader import convert_file
from .schema import base_schema, conform, infer_schema, unify
from .sources import list_sources

DISPOSITIONS = ("WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND")


@dataclass
class IngestSummary:
    store: str
    files: int = 0
    ingested: int = 0
    replaced: int = 0
    duplicates: int = 0
    skipped: int = 0
    warnings: int = 0
    excluded_by_filter: int = 0
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    issues: list[dict[str, Any]] = field(default_factory=list)
    rows_in_store: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "files": self.files,
            "ingested": self.ingested,
            "replaced": self.replaced,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "excluded_by_filter": self.excluded_by_filter,
            "rows_in_store": self.rows_in_store,
            "skipped_reasons": dict(self.skipped_reasons),
        }


@dataclass
class _Part:
    path: Path | None
    rows: int
    schema: pa.Schema | None
    uids: list[str | None]
    issues: list[dict[str, Any]]
    excluded: int = 0
    sources: list[str] = field(default_factory=list)


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0].split(" (")[0]


def convert_paths(paths: Sequence[str], ingested_at: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows and issues for some files (the work of one task)."""
    rows: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    for p in paths:
        try:
            c, size, digest = convert_file(p)
        except DicomReadError as exc:
            sev = "info" if str(exc).startswith("DICOMDIR") else "error"
            issues.append({"path": p, "severity": sev, "element": None, "reason": str(exc)})
            continue
        except OSError as exc:
            issues.append(
                {"path": p, "severity": "error", "element": None, "reason": f"cannot read: {exc.strerror or exc}"}
            )
            continue
        except Exception as exc:  # a bug in the converter must not stop an ingest
            issues.append(
                {
                    "path": p,
                    "severity": "error",
                    "element": None,
                    "reason": f"internal error {type(exc).__name__}: {exc} (please report)",
                }
            )
            continue
        row = c.row
        row["dl_source"] = p
        row["dl_source_size"] = size
        row["dl_source_sha256"] = digest
        row["dl_ingested_at"] = ingested_at
        uid = row.get("SOPInstanceUID")
        for sev, element, reason in c.issues:
            issues.append(
                {"path": p, "sop_instance_uid": uid, "severity": sev, "element": element or None, "reason": reason}
            )
        rows.append(row)
    return rows, issues


def _task(paths: Sequence[str], stage: str, index: int, ingested_at: dt.datetime, keep: Any = None) -> _Part:
    rows, issues = convert_paths(paths, ingested_at)
    excluded = 0
    if keep is not None:  # a filter spec: keep rows whose study/series/instance it selects
        kept = [
            r
            for r in rows
            if keep.matches(r.get("StudyInstanceUID"), r.get("SeriesInstanceUID"), r.get("SOPInstanceUID"))
        ]
        excluded, rows = len(rows) - len(kept), kept
    if not rows:
        return _Part(None, 0, None, [], issues, excluded)
    schema = infer_schema(rows)
    table = pa.Table.from_pylist(rows, schema=schema)
    path = Path(stage) / f"part-{index:06d}.parquet"
    pq.write_table(table, path, compression="zstd")
    return _Part(
        path,
        len(rows),
        schema,
        [r.get("SOPInstanceUID") for r in rows],
        issues,
        excluded,
        [r["dl_source"] for r in rows],
    )


def _chunks(paths: Sequence[str], workers: int) -> list[Sequence[str]]:
    size = max(8, min(400, len(paths) // max(1, workers * 6) or 1))
    return [paths[i : i + size] for i in range(0, len(paths), size)]


def _run_tasks(
    chunks: list[Sequence[str]],
    stage: Path,
    ingested_at: dt.datetime,
    workers: int,
    keep: Any,
    progress: Callable[[int], None],
) -> list[_Part]:
    if workers <= 1 or len(chunks) <= 1:
        parts = []
        for i, c in enumerate(chunks):
            parts.append(_task(c, str(stage), i, ingested_at, keep))
            progress(len(c))
        return parts
    # fork: workers inherit the loaded modules, and scripts need no __main__ guard. Arrow's
    # first Python conversion costs ~0.2 s (it probes for pandas): pay it once, before forking.
    pa.Table.from_pylist([{"a": "x", "d": dt.date(2000, 1, 1)}])
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_task, c, str(stage), i, ingested_at, keep) for i, c in enumerate(chunks)]
        parts = []
        for f, c in zip(futures, chunks, strict=False):
            parts.append(f.result())
            progress(len(c))
    return parts


def _check_disposition(existing: StoreInfo | None, disposition: str, name: str) -> None:
    if disposition not in DISPOSITIONS:
        raise StoreError(f"unknown write disposition {disposition!r}: use one of {', '.join(DISPOSITIONS)}")
    if disposition == "WRITE_EMPTY" and existing is not None and existing.row_count > 0:
        raise StoreError(
            f"store {name!r} already has {existing.row_count} rows and the write disposition is "
            "WRITE_EMPTY: use --write-disposition WRITE_APPEND to add to it or WRITE_TRUNCATE to replace it"
        )


def _last_positions(parts: list[_Part]) -> dict[str, tuple[int, int]]:
    last: dict[str, tuple[int, int]] = {}
    for pi, p in enumerate(parts):
        for ri, u in enumerate(p.uids):
            if u:
                last[u] = (pi, ri)
    return last


def _rewrite(src: Path, dest: Path, schema: pa.Schema, drop: pa.Array | None) -> int:
    table = pq.read_table(src)
    if drop is not None:
        table = table.filter(pc.invert(drop))
    pq.write_table(conform(table, schema), dest, compression="zstd")
    return table.num_rows


_Rewrite = tuple[Path, Path, "pa.Array | None"]  # source, destination, rows to drop


def _new_parts(
    parts: list[_Part], target: pa.Schema, stage: Path, summary: IngestSummary, jobs: list[_Rewrite]
) -> list[tuple[Path, int]]:
    """This ingest's parts: duplicates within it dropped (the later file wins), schema conformed."""
    last = _last_positions(parts)
    out: list[tuple[Path, int]] = []
    for pi, p in enumerate(parts):
        assert p.path is not None and p.schema is not None
        stale = [u is not None and last[u] != (pi, ri) for ri, u in enumerate(p.uids)]
        for ri in (i for i, st in enumerate(stale) if st):
            u = p.uids[ri]
            assert u is not None
            kept = parts[last[u][0]].sources[last[u][1]]
            summary.duplicates += 1
            summary.issues.append(
                {
                    "path": p.sources[ri],
                    "sop_instance_uid": u,
                    "severity": "info",
                    "element": None,
                    "reason": f"duplicate SOPInstanceUID: the same instance is in {kept}, which is kept",
                }
            )
        if any(stale) or not p.schema.equals(target):
            dest = stage / f"{p.path.stem}-c.parquet"
            jobs.append((p.path, dest, pa.array(stale) if any(stale) else None))
            out.append((dest, -1))
        else:
            out.append((p.path, p.rows))
    return out


def _old_files(
    old: list[str],
    new_uids: pa.Array,
    schema_differs: bool,
    target: pa.Schema,
    stage: Path,
    summary: IngestSummary,
    jobs: list[_Rewrite],
) -> tuple[list[tuple[Path, int]], list[str]]:
    """The store's files on append: kept as they are, or rewritten without replaced instances."""
    rewritten: list[tuple[Path, int]] = []
    keep: list[str] = []
    for i, f in enumerate(old):
        uids = pq.read_table(f, columns=["SOPInstanceUID"]).column(0)
        if len(uids) == 0:
            continue  # the empty file of a new store
        hit = pc.fill_null(pc.is_in(uids, value_set=new_uids), False)
        n_hit = pc.sum(hit).as_py() or 0
        if n_hit or schema_differs:
            summary.replaced += n_hit
            dest = stage / f"old-{i:06d}.parquet"
            jobs.append((Path(f), dest, hit.combine_chunks() if n_hit else None))
            rewritten.append((dest, -1))
        else:
            keep.append(f)
    return rewritten, keep


def _assemble(
    cat: Catalog, existing: StoreInfo | None, parts: list[_Part], disposition: str, stage: Path, summary: IngestSummary
) -> tuple[list[tuple[Path, int]], list[str]]:
    """The files of the new store version: rewritten where schema, duplicates or replacements ask."""
    parts = [p for p in parts if p.path is not None]
    appending = existing is not None and disposition == "WRITE_APPEND"
    schemas = [p.schema for p in parts if p.schema is not None]
    old_schema = store_schema(existing) if appending and existing is not None else None
    target = unify([base_schema(), *([old_schema] if old_schema else []), *schemas])
    jobs: list[_Rewrite] = []
    new_files = _new_parts(parts, target, stage, summary, jobs)
    new_uids = pa.array(list(_last_positions(parts)), pa.string())
    old_files: list[tuple[Path, int]] = []
    keep: list[str] = []
    if appending and existing is not None:
        differs = old_schema is not None and not old_schema.equals(target)
        old_files, keep = _old_files(list(existing.files), new_uids, differs, target, stage, summary, jobs)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # Arrow releases the GIL
        counts = dict(
            zip([j[1] for j in jobs], pool.map(lambda j: _rewrite(j[0], j[1], target, j[2]), jobs), strict=True)
        )
    files = [(f, counts.get(f, n)) for f, n in new_files + old_files]
    summary.ingested = sum(n for f, n in files if not f.name.startswith("old-"))
    files = [(f, n) for f, n in files if n > 0]
    if not files and not keep:
        empty = stage / "empty.parquet"
        pq.write_table(target.empty_table(), empty)
        files.append((empty, 0))
    return files, keep


def _progress(total: int, enabled: bool | None) -> tuple[Callable[[int], None], Callable[[], None]]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return (lambda n: None), (lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("ingest", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
    task = bar.add_task("files", total=total)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop


def ingest(
    lake: str | os.PathLike[str],
    source: str | os.PathLike[str] | Sequence[str],
    store: str,
    *,
    write_disposition: str = "WRITE_EMPTY",
    workers: int | None = None,
    filter_spec: Any = None,
    progress: bool | None = None,
) -> IngestSummary:
    """Ingest DICOM files into ``store`` of ``lake`` (created if needed)."""
    check_store_name(store)
    paths = [str(p) for p in source] if isinstance(source, (list, tuple)) else list_sources(source)  # type: ignore[arg-type]
    workers = workers or os.cpu_count() or 1
    cat = Catalog.create_or_open(lake)
    summary = IngestSummary(store=store, files=len(paths))
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with cat.write_lock():
        existing = cat.stores().get(store)
        _check_disposition(existing, write_disposition, store)
        stage = cat.staging()
        advance, stop = _progress(len(paths), progress)
        try:
            parts = _run_tasks(_chunks(paths, workers), stage, started, workers, filter_spec, advance)
        finally:
            stop()
        for p in parts:
            summary.issues.extend(p.issues)
            summary.excluded_by_filter += p.excluded
        new_files, keep = _assemble(cat, existing, parts, write_disposition, stage, summary)
        for i in summary.issues:
            if i["severity"] == "error":
                summary.skipped += 1
                summary.skipped_reasons[_reason_kind(i["reason"])] += 1
            elif i["severity"] == "warning":
                summary.warnings += 1
            elif i["severity"] == "info":
                summary.skipped_reasons[_reason_kind(i["reason"])] += 1
        summary.rows_in_store = sum(r for _, r in new_files) + sum(pq.ParquetFile(f).metadata.num_rows for f in keep)
        operation = {
            "id": stage.name,
            "kind": "ingest",
            "started_at": started,
            "summary": {
                **summary.as_dict(),
                "source": str(source) if not isinstance(source, (list, tuple)) else f"{len(paths)} paths",
                "write_disposition": write_disposition,
            },
        }
        cat.commit(store, new_files, keep, summary.issues, operation)
    return summary
