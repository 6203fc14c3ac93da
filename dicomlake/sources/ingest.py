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
import hashlib
import os
import shutil
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..codec.reader import Converted, check_storable, convert_bytes, convert_file
from ..codec.schema import infer_schema
from ..engines.local import fork_pool
from ..errors import Command, DicomReadError, IngestIssuesError, Param, SourceError
from ..progress import progress_bar
from ..store.catalog import Catalog, check_store_name, quote_ident
from ..store.publish import Part, assemble, check_disposition, write_parquet
from ..store.views import LakeView
from .archives import archive_kind, forget_listed, split_member
from .files import is_remote, list_sources, read_many, source_columns
from .objects import configure, endpoint_option, is_object_url, listed_modified, listed_versions
from .objects import forget_listed as forget_versions
from .s3get import same_version


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


def convert_paths(
    paths: Sequence[str], ingested_at: dt.datetime, versions: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows and issues for some sources (the work of one task): local files read in place,
    archive members and objects through :func:`dicomlake.sources.files.read_many`; ``versions``:
    the objects' versions (ETag or generation) as listed, recorded in ``dl_source_version``."""
    rows: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    local = [p for p in paths if not _remote_item(p)]
    for p in local:
        _convert(p, functools.partial(convert_file, p), ingested_at, rows, issues)
    if len(local) < len(paths):
        for p, data in read_many([p for p in paths if _remote_item(p)]):
            _convert(p, functools.partial(_from_bytes, data), ingested_at, rows, issues)
    if versions:
        for row in rows:
            row["dl_source_version"] = versions.get(row["dl_source"])
    return rows, issues


def _remote_item(p: str) -> bool:
    return split_member(p) is not None or is_object_url(p)


def _damaged_archive(p: str) -> str | None:
    """Why a source named as an archive is not DICOM: listing did not open it as an archive (a
    damaged one is kept as a file: :func:`dicomlake.sources.files.list_sources`, and so is one
    nested deeper than one level), so its bytes are not what its name says, or it is too deep.
    None for any other source."""
    member = split_member(p)
    kind = archive_kind(member.name if member is not None else p)
    if kind is None:
        return None
    if member is not None and split_member(member.container) is not None:
        return (
            "archive nested too deep: an archive inside an archive inside an archive, and ingest opens "
            "archives one level deep; unpack the outermost archive and ingest what it holds"
        )
    return (
        f"damaged archive: it cannot be opened as a {kind} archive (truncated, corrupt, or not the archive "
        "its name says); download or pack it again"
    )


def _from_bytes(data: bytes | Exception) -> tuple[Converted, int, str]:
    if isinstance(data, Exception):
        raise data
    if not data:
        raise DicomReadError("empty file")
    return convert_bytes(data), len(data), hashlib.sha256(data).hexdigest()


def _convert(
    p: str,
    read: Callable[[], tuple[Converted, int, str]],
    ingested_at: dt.datetime,
    rows: list[dict[str, Any]],
    issues: list[dict[str, Any]],
) -> None:
    try:
        c, size, digest = read()
        check_storable(c.row)
    except DicomReadError as exc:
        sev = "info" if str(exc).startswith("DICOMDIR") else "error"
        issues.append({"path": p, "severity": sev, "element": None, "reason": _damaged_archive(p) or str(exc)})
        return
    except OSError as exc:
        issues.append(
            {"path": p, "severity": "error", "element": None, "reason": f"cannot read: {exc.strerror or exc}"}
        )
        return
    except SourceError as exc:  # e.g. access to one object denied
        issues.append({"path": p, "severity": "error", "element": None, "reason": f"cannot read: {exc}"})
        return
    except Exception as exc:  # a bug in the converter must not stop an ingest
        issues.append(
            {
                "path": p,
                "severity": "error",
                "element": None,
                "reason": f"internal error {type(exc).__name__}: {exc} (please report)",
            }
        )
        return
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


def convert_chunk(
    index: int,
    paths: Sequence[str],
    *,
    stage: str,
    ingested_at: dt.datetime,
    keep: Any = None,
    versions: dict[str, str] | None = None,
) -> Part:
    """One ingest task: convert chunk ``index`` of the sources and stage its rows as a Parquet part
    in ``stage`` (``keep``: a filter spec, rows it does not select are left out; ``versions``:
    the listed objects' versions). Run by the local worker processes and, shipped to the
    executors, by :func:`dicomlake.engines.spark.run_tasks`."""
    with _no_gc():
        return _convert_and_write(paths, stage, index, ingested_at, keep, versions)


def _convert_versioned(
    index: int,
    items: Sequence[tuple[str, str | None]],
    *,
    stage: str,
    ingested_at: dt.datetime,
    keep: Any = None,
    endpoint: str | None = None,
) -> Part:
    """:func:`convert_chunk` of ``(source, listed version)`` pairs, run as a Spark task: it carries
    the versions of its own objects only, and the S3 endpoint the driver was given
    (``--endpoint-url``); credentials are the executor's own (its environment or role)."""
    if endpoint is not None:
        configure(endpoint)
    versions = {p: v for p, v in items if v is not None}
    return convert_chunk(
        index, [p for p, _ in items], stage=stage, ingested_at=ingested_at, keep=keep, versions=versions
    )


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


def _convert_and_write(
    paths: Sequence[str], stage: str, index: int, ingested_at: dt.datetime, keep: Any, versions: dict[str, str] | None
) -> Part:
    rows, issues = convert_paths(paths, ingested_at, versions)
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
    """Tasks' shares of the sources. The members of one tar archive are split into at most
    ``workers`` runs in archive order (each task reads the archive once, up to its last member);
    everything else into chunks of a size that keeps every worker busy."""
    size = max(8, min(400, len(paths) // max(1, workers * 6) or 1))
    out: list[Sequence[str]] = []
    run: list[str] = []
    run_container: str | None = None

    def flush() -> None:
        if not run:
            return
        if run_container is None:
            out.extend(run[i : i + size] for i in range(0, len(run), size))
        else:
            n = max(size, -(-len(run) // max(1, workers)))
            out.extend(run[i : i + n] for i in range(0, len(run), n))
        run.clear()

    for p in paths:
        m = split_member(p)
        container = m.container if m is not None and m.kind == "tar" else None
        if container != run_container:
            flush()
            run_container = container
        run.append(p)
    flush()
    return out


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
    batch_files: int | None = None,
    endpoint_url: str | None = None,
) -> IngestSummary:
    """Ingest DICOM files into ``store`` of ``lake`` (created if needed); see :func:`ingest_files`
    for the options (and ``endpoint_url``, an S3-compatible server for ``s3://`` sources). A
    source holding no DICOM instance is a :class:`SourceError`, and a lake this call created for
    it is removed again: nothing is left behind by a run that did nothing."""
    if endpoint_url is not None:
        configure(endpoint_url)
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
            batch_files=batch_files,
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
        why = "; ".join(f"{_short(i['path'])}: {i['reason']}" for i in issues)
    else:
        kinds = Counter(_reason_kind(i["reason"]) for i in issues)
        why = f"{len(paths)} files: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    return NothingToIngest(f"no DICOM instance found in {source} ({why}); nothing was ingested")


BATCH_FILES = 1000  # sources per commit when ingesting from an object store


def _short(source: str) -> str:
    """A source's name for a message: the file's name, or 'MEMBER in ARCHIVE'."""
    member = split_member(source)
    if member is None:
        return source.rstrip("/").rsplit("/", 1)[-1]
    return f"{member.name} in {_short(member.container)}"


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
    batch_files: int | None = None,
) -> IngestSummary:
    """Ingest DICOM files into ``store`` of ``lake`` (created if needed).

    ``strict``: if any file is skipped or read with warnings, publish nothing and raise
    :class:`IngestIssuesError` (the summary is on the exception). ``spark``: a SparkSession
    whose executors run the conversion tasks (see :mod:`dicomlake.engines.spark`).

    From an object store (``s3://``, ``gs://``, ``az://``) the sources are committed in batches
    of ``batch_files`` (default :data:`BATCH_FILES`; all at once with ``strict``), so an interrupted
    ingest keeps what it committed, and running it again resumes it: the sources the store
    already holds (by ``dl_source``) are skipped and the rest appended, as a DICOMweb harvest
    does. ``WRITE_TRUNCATE`` starts over.
    """
    check_store_name(store)
    if workers is not None and workers < 1:
        raise SourceError(Param("workers", workers), ": give at least 1")
    if batch_files is not None and batch_files < 1:
        raise SourceError(Param("batch_files", batch_files), ": give at least 1")
    try:  # the tasks forked later inherit what listing the archives kept (see sources.archives)
        return _ingest_files(
            lake, source, store, write_disposition, workers, filter_spec, progress, strict, spark, batch_files
        )
    finally:
        forget_listed()
        forget_versions()


def _ingest_files(
    lake: str | os.PathLike[str],
    source: str | os.PathLike[str] | Sequence[str],
    store: str,
    write_disposition: str,
    workers: int | None,
    filter_spec: Any,
    progress: bool | None,
    strict: bool,
    spark: Any,
    batch_files: int | None,
) -> IngestSummary:
    listed = isinstance(source, (list, tuple))
    paths = [str(p) for p in source] if listed else list_sources(source)  # type: ignore[arg-type,union-attr]
    remote = not listed and is_remote(source)  # type: ignore[arg-type]
    workers = workers or os.cpu_count() or 1
    cat = Catalog.create_or_open(lake)
    summary = IngestSummary(store=store, files=len(paths))
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with cat.write_lock():
        cat.check_new_name(store)
        existing = cat.stores().get(store)
        resumed = False
        if remote and existing is not None and write_disposition != "WRITE_TRUNCATE":
            in_store, in_issues = _already(cat, store, paths)
            if in_store or in_issues:  # an ingest of this source ran before: the same command finishes it
                paths = [p for p in paths if p not in in_store and p not in in_issues]
                write_disposition = "WRITE_APPEND"
                for reason, n in (("already in the store", len(in_store)), ("already in dl_issues", len(in_issues))):
                    if n:
                        summary.skipped_reasons[f"{reason}: ingest resumed"] = n
                resumed = True
                summary.files = len(paths)
        check_disposition(existing, write_disposition, store)
        if resumed and not paths:
            summary.rows_in_store = existing.row_count if existing is not None else 0
            return summary
        size = (batch_files or BATCH_FILES) if remote and not strict else max(1, len(paths))
        batches = [paths[i : i + size] for i in range(0, len(paths), size)] or [[]]
        advance, stop = progress_bar("ingest", len(paths), progress)
        try:
            job = _Job(cat, store, source, started, workers, filter_spec, spark, strict, advance)
            job.run(batches, write_disposition, summary, unmatched=not resumed)
        finally:
            stop()
    return summary


@dataclass
class _Job:
    """One ingest's batches: each run as tasks and committed (one commit unless the source is
    an object store); batches without rows wait for the next, so an ingest that finds no
    instance at all commits nothing."""

    cat: Catalog
    store: str
    source: object
    started: dt.datetime
    workers: int
    filter_spec: Any
    spark: Any
    strict: bool
    advance: Callable[[int], None]

    def run(self, batches: list[list[str]], disposition: str, summary: IngestSummary, unmatched: bool) -> None:
        carried: list[Part] = []  # parts of batches without rows (issues only), until rows come
        keys: list[tuple[str | None, str | None, str | None]] = []
        committed = False
        with contextlib.closing(self._converted(batches)) as converted:
            for n, (stage, new) in enumerate(converted):
                keys += [k for p in new for k in p.keys]
                parts, last = carried + new, n + 1 == len(batches)
                if not committed and not any(p.rows for p in parts):
                    shutil.rmtree(stage, ignore_errors=True)
                    if last:
                        raise _nothing_found(self.source, [p for b in batches for p in b], parts)
                    carried = parts
                    continue
                carried = []
                if last and self.filter_spec is not None:
                    summary.unmatched = self.filter_spec.unmatched(keys) if unmatched else []
                _publish(
                    self.cat, self.store, parts, stage, disposition, summary, self.strict and last, self.started,
                    self.source, last,
                )  # fmt: skip
                disposition, committed = "WRITE_APPEND", True

    def _converted(self, batches: list[list[str]]) -> Generator[tuple[Path, list[Part]]]:
        """Each batch's staging folder and parts, in order, from Spark's executors or this
        machine's processes. Locally one pool of workers converts every batch, and the next
        batch's tasks are queued before this one's results are awaited: the workers go on
        converting while the parent commits a batch."""
        if self.spark is not None:  # the same tasks, on Spark's executors
            from ..engines.spark import run_tasks

            width = max(1, int(self.spark.sparkContext.defaultParallelism))
            for some in batches:
                stage = self.cat.staging()
                task = functools.partial(
                    _convert_versioned, stage=str(stage), ingested_at=self.started, keep=self.filter_spec,
                    endpoint=endpoint_option(),
                )  # fmt: skip
                versions = listed_versions(some)
                items = [[(p, versions.get(p)) for p in c] for c in _chunks(some, width)]  # each task its own
                yield stage, run_tasks(self.spark, task, items, self.advance, "ingest")
            return
        chunked = [_chunks(some, self.workers) for some in batches]
        pool = fork_pool(self.workers, sum(len(c) for c in chunked))
        if pool is None:
            for chunks in chunked:
                stage, parts = self.cat.staging(), []
                for i, c in enumerate(chunks):
                    parts.append(self._task(i, c, stage)())
                    self.advance(len(c))
                yield stage, parts
            return
        # fork: workers inherit the loaded modules, and scripts need no __main__ guard. Arrow's
        # first Python conversion costs ~0.2 s (it probes for pandas): pay it once, before forking.
        pa.Table.from_pylist([{"a": "x", "d": dt.date(2000, 1, 1)}])

        def submit(chunks: list[Sequence[str]]) -> tuple[Path, list[Any]]:
            stage = self.cat.staging()
            return stage, [pool.submit(self._task(i, c, stage)) for i, c in enumerate(chunks)]

        ahead: tuple[Path, list[Any]] | None = None
        try:
            ahead = submit(chunked[0])
            for k, chunks in enumerate(chunked):
                assert ahead is not None  # submitted before the loop, then one batch ahead
                stage, futures = ahead
                ahead = submit(chunked[k + 1]) if k + 1 < len(chunked) else None
                parts = []
                for f, c in zip(futures, chunks, strict=True):
                    parts.append(f.result())
                    self.advance(len(c))
                yield stage, parts
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if ahead is not None:  # stopped early: the batch queued next is not committed
                self.cat.finish(ahead[0])

    def _task(self, index: int, chunk: Sequence[str], stage: Path) -> Callable[[], Part]:
        return functools.partial(
            convert_chunk, index, chunk, stage=str(stage), ingested_at=self.started, keep=self.filter_spec,
            versions=listed_versions(chunk),
        )  # fmt: skip


def _publish(
    cat: Catalog,
    store: str,
    parts: list[Part],
    stage: Path,
    write_disposition: str,
    summary: IngestSummary,
    strict: bool,
    started: dt.datetime,
    source: object,
    last: bool,
) -> None:
    """Commit one batch of parts (all of them, unless the source is an object store)."""
    tally = IngestSummary(store=summary.store)
    new_files, keep = assemble(cat.stores().get(store), parts, write_disposition, stage, tally)
    for p in parts:
        summary.issues.extend(p.issues)
        summary.excluded_by_filter += p.excluded
    summary.issues.extend(tally.issues)
    summary.ingested += tally.ingested
    summary.replaced += tally.replaced
    summary.duplicates += tally.duplicates
    if last:
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
            "source": str(source) if not isinstance(source, (list, tuple)) else f"{summary.files} paths",
            "write_disposition": write_disposition,
        },
    }
    cat.commit(store, new_files, keep, [*[i for p in parts for i in p.issues], *tally.issues], operation, stage=stage)


def _already(cat: Catalog, store: str, paths: list[str]) -> tuple[set[str], set[str]]:
    """The object-store sources among ``paths`` an earlier ingest into ``store`` read: those the
    store holds rows of at the version now listed (a changed object is read again: it replaces
    its rows), and those it recorded in ``dl_issues`` as not to be stored (not DICOM, a
    duplicate, a DICOMDIR) since the store was last created or truncated, unless modified since
    (a failed read, "cannot read", is tried again)."""
    wanted = set(paths)
    view = LakeView(cat.root)
    table = quote_ident(store)
    columns = source_columns(view.sql(f"SELECT * FROM {table}").columns)
    listed = listed_versions(paths)
    in_store = {
        src
        for src, _, _, ver in view.sql(f"SELECT DISTINCT {columns} FROM {table}").fetchall()
        if src in wanted and (ver is None or src not in listed or same_version(ver, listed[src]))
    }
    since = view.sql(
        "SELECT greatest((SELECT max(created_at) FROM dl_stores WHERE name = $s), (SELECT max(started_at) "
        "FROM dl_operations WHERE store = $s AND kind = 'ingest' "
        "AND json_extract_string(summary, '$.write_disposition') = 'WRITE_TRUNCATE'))",
        params={"s": store},
    ).fetchall()[0][0]
    issues = view.sql(
        "SELECT path, max(recorded_at) FROM dl_issues WHERE store = $s AND recorded_at >= $since "
        "AND (severity = 'info' OR (severity = 'error' AND reason NOT LIKE 'cannot read%')) GROUP BY path",
        params={"s": store, "since": since},
    ).fetchall()
    in_issues = set()
    for src, at in issues:
        modified = listed_modified(src)
        if src in wanted and src not in in_store and (modified is None or modified <= at):
            in_issues.add(src)
    return in_store, in_issues
