"""Ingest: DICOM files → one store, in parallel, committed atomically.

Workers each convert a chunk of files with :func:`dicomlake.codec.reader.convert_file` and write a
Parquet part under staging. The parent unifies the parts' schemas (and the store's, on append),
conforms what differs, resolves replaced and duplicate SOPInstanceUIDs, and commits once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import multiprocessing
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..codec.reader import check_storable, convert_file
from ..codec.schema import infer_schema
from ..engines.local import CHILD_START
from ..errors import Command, DicomReadError, IngestIssuesError, Param, SourceError
from ..progress import progress_bar
from ..store.catalog import Catalog, check_store_name
from ..store.publish import Part, assemble, check_disposition, write_parquet
from .files import list_sources


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
    unmatched: list[tuple[int, str]] = field(default_factory=list)  # filter lines that matched nothing
    unit: str = "files"  # what ``files`` counts ("studies" for a DICOMweb harvest)

    def count_issues(self) -> None:
        """Tally ``issues``: errors are skipped files, warnings counted, infos (DICOMDIR, duplicates) listed."""
        for i in self.issues:
            if i["severity"] in ("error", "info"):
                self.skipped += i["severity"] == "error"
                self.skipped_reasons[_reason_kind(i["reason"])] += 1
            elif i["severity"] == "warning":
                self.warnings += 1

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


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0].split(" (")[0]


def convert_paths(paths: Sequence[str], ingested_at: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows and issues for some files (the work of one task)."""
    rows: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    for p in paths:
        try:
            c, size, digest = convert_file(p)
            check_storable(c.row)
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


def convert_chunk(index: int, paths: Sequence[str], *, stage: str, ingested_at: dt.datetime, keep: Any = None) -> Part:
    """One ingest task: convert chunk ``index`` of the files and stage its rows as a Parquet part
    in ``stage`` (``keep``: a filter spec, rows it does not select are left out). Run by the local
    worker processes and, shipped to the executors, by :func:`dicomlake.engines.spark.run_tasks`."""
    with _no_gc():
        return _convert_and_write(paths, stage, index, ingested_at, keep)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Python's cycle collector paused: converting a chunk allocates hundreds of thousands of
    dicts and lists (rows hold no cycles), and each collection would walk all those still held."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _convert_and_write(paths: Sequence[str], stage: str, index: int, ingested_at: dt.datetime, keep: Any) -> Part:
    rows, issues = convert_paths(paths, ingested_at)
    excluded = 0
    if keep is not None:  # a filter spec: keep rows whose study/series/instance it selects
        kept = [
            r
            for r in rows
            if keep.matches(r.get("StudyInstanceUID"), r.get("SeriesInstanceUID"), r.get("SOPInstanceUID"))
        ]
        excluded, rows = len(rows) - len(kept), kept
    keys = [(r.get("StudyInstanceUID"), r.get("SeriesInstanceUID"), r.get("SOPInstanceUID")) for r in rows]
    if not rows:
        return Part(None, 0, None, [], issues, excluded)
    schema = infer_schema(rows)
    table = pa.Table.from_pylist(rows, schema=schema)
    path = Path(stage) / f"part-{index:06d}.parquet"
    write_parquet(table, path)
    return Part(
        path,
        len(rows),
        schema,
        [r.get("SOPInstanceUID") for r in rows],
        issues,
        excluded,
        [r["dl_source"] for r in rows],
        keys if keep is not None else [],
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
) -> list[Part]:
    if workers <= 1 or len(chunks) <= 1:
        parts = []
        for i, c in enumerate(chunks):
            parts.append(convert_chunk(i, c, stage=str(stage), ingested_at=ingested_at, keep=keep))
            progress(len(c))
        return parts
    # fork: workers inherit the loaded modules, and scripts need no __main__ guard. Arrow's
    # first Python conversion costs ~0.2 s (it probes for pandas): pay it once, before forking.
    pa.Table.from_pylist([{"a": "x", "d": dt.date(2000, 1, 1)}])
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=CHILD_START) as pool:
        futures = [
            pool.submit(convert_chunk, i, c, stage=str(stage), ingested_at=ingested_at, keep=keep)
            for i, c in enumerate(chunks)
        ]
        parts = []
        for f, c in zip(futures, chunks, strict=False):
            parts.append(f.result())
            progress(len(c))
    return parts


def ingest(
    lake: str | os.PathLike[str],
    source: str | os.PathLike[str] | Sequence[str],
    store: str,
    *,
    write_disposition: str = "WRITE_EMPTY",
    workers: int | None = None,
    filter_spec: Any = None,
    progress: bool | None = None,
    strict: bool = False,
    spark: Any = None,
) -> IngestSummary:
    """Ingest DICOM files into ``store`` of ``lake`` (created if needed); see :func:`ingest_files`
    for the options. A source holding no DICOM instance is a :class:`SourceError`, and a lake this
    call created for it is removed again: nothing is left behind by a run that did nothing."""
    root = Path(lake).absolute()
    fresh = not Catalog.exists(root)
    existed = root.exists()
    try:
        return ingest_files(
            lake,
            source,
            store,
            write_disposition=write_disposition,
            workers=workers,
            filter_spec=filter_spec,
            progress=progress,
            strict=strict,
            spark=spark,
        )
    except NothingToIngest:
        if fresh:
            _remove_new_lake(root, existed)
        raise


class NothingToIngest(SourceError):
    """The source holds no DICOM instance the store could take (or the filter selects none)."""


def _remove_new_lake(root: Path, existed: bool) -> None:
    """Remove what creating a lake in ``root`` made (the folder too, unless it was there, empty, before)."""
    if not existed:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _nothing_found(source: object, paths: Sequence[str], parts: list[Part]) -> NothingToIngest:
    """Why no instance came out of the source: each file's reason (or their counts), or the filter."""
    excluded = sum(p.excluded for p in parts)
    if excluded:
        return NothingToIngest(
            f"the filter selects none of the {excluded} instances in {source}: nothing was ingested; check it with ",
            Command(
                "lake.check_filter(spec, STORE)",
                "filter",
                (),
                (Param("check", metavar="FILE"), Param("lake", metavar="LAKE"), Param("store", metavar="STORE")),
            ),
            " on a lake that has them",
        )
    if not paths:
        return NothingToIngest(f"{source} holds no files: nothing to ingest; pass a folder of DICOM files")
    issues = [i for p in parts for i in p.issues if i["severity"] in ("error", "info")]
    if len(issues) <= 3:
        why = "; ".join(f"{Path(i['path']).name}: {i['reason']}" for i in issues)
    else:
        kinds = Counter(_reason_kind(i["reason"]) for i in issues)
        why = f"{len(paths)} files: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    return NothingToIngest(f"no DICOM instance found in {source} ({why}); nothing was ingested")


def ingest_files(
    lake: str | os.PathLike[str],
    source: str | os.PathLike[str] | Sequence[str],
    store: str,
    *,
    write_disposition: str = "WRITE_EMPTY",
    workers: int | None = None,
    filter_spec: Any = None,
    progress: bool | None = None,
    strict: bool = False,
    spark: Any = None,
) -> IngestSummary:
    """Ingest DICOM files into ``store`` of ``lake`` (created if needed).

    ``strict``: if any file is skipped or read with warnings, publish nothing and raise
    :class:`IngestIssuesError` (the summary is on the exception). ``spark``: a SparkSession
    whose executors run the conversion tasks (see :mod:`dicomlake.engines.spark`).
    """
    check_store_name(store)
    if workers is not None and workers < 1:
        raise SourceError(Param("workers", workers), ": give at least 1")
    paths = [str(p) for p in source] if isinstance(source, (list, tuple)) else list_sources(source)  # type: ignore[arg-type]
    workers = workers or os.cpu_count() or 1
    cat = Catalog.create_or_open(lake)
    summary = IngestSummary(store=store, files=len(paths))
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with cat.write_lock():
        cat.check_new_name(store)
        existing = cat.stores().get(store)
        check_disposition(existing, write_disposition, store)
        stage = cat.staging()
        advance, stop = progress_bar("ingest", len(paths), progress)
        try:
            if spark is not None:  # the same tasks, on Spark's executors
                from ..engines.spark import run_tasks

                width = max(1, int(spark.sparkContext.defaultParallelism))
                task = functools.partial(convert_chunk, stage=str(stage), ingested_at=started, keep=filter_spec)
                parts = run_tasks(spark, task, _chunks(paths, width), advance, "ingest")
            else:
                parts = _run_tasks(_chunks(paths, workers), stage, started, workers, filter_spec, advance)
        finally:
            stop()
        if not any(p.rows for p in parts):
            raise _nothing_found(source, paths, parts)
        for p in parts:
            summary.issues.extend(p.issues)
            summary.excluded_by_filter += p.excluded
        if filter_spec is not None:
            summary.unmatched = filter_spec.unmatched(k for p in parts for k in p.keys)
        new_files, keep = assemble(existing, parts, write_disposition, stage, summary)
        summary.count_issues()
        if strict and (summary.skipped or summary.warnings):
            raise IngestIssuesError(
                Param("strict", True),
                f": {summary.skipped} files would be skipped and {summary.warnings} read with warnings, "
                "so nothing was written; run without ",
                Param("strict", True),
                " to see them in ",
                Command(f"lake.issues({store!r})", "query", ("ingest_issues",)),
                summary=summary,
            )
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
        cat.commit(store, new_files, keep, summary.issues, operation, stage=stage)
    return summary
