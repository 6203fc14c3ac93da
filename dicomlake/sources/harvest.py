"""Ingest from a DICOMweb server: QIDO-RS lists the studies, WADO-RS brings each study's
metadata in one request, :mod:`dicomlake.codec.dicomjson` turns it into rows through the one
converter. Bulk data (pixels) is not downloaded. DICOM JSON carries DS and IS values as numbers
and (from most servers) no file meta group; ``exact=True`` (``--exact``) fetches each instance
instead and reads it as file ingest does, for rows identical to a file ingest of the same files.

Studies are fetched a few at a time (``Server.concurrency``) while the listing goes on, and
committed in batches of whole studies (one atomic catalog commit each), so a harvest that is
killed keeps what it committed. Running the same command again resumes it: instances this server already gave the
store (recognised by their ``dl_source`` URL) are skipped and the rest are appended. A study
that vanishes between listing and fetching is reported and the harvest goes on.
``WRITE_TRUNCATE`` starts over: the store is replaced by a fresh harvest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..codec.dicomjson import convert_json
from ..codec.reader import Converted, check_storable, convert_bytes
from ..codec.schema import infer_schema
from ..engines.local import fork_pool
from ..errors import DicomReadError
from ..progress import progress_bar
from ..store.catalog import Catalog, check_store_name, quote_ident
from ..store.publish import Part, assemble, check_disposition, write_parquet
from ..store.views import LakeView
from .dicomweb import DicomWebError, Server
from .ingest import IngestSummary, NothingToIngest

BATCH = 200  # studies per commit


def _selected(doc: dict[str, Any], spec: Any) -> bool:
    def first(tag: str) -> str | None:
        v = (doc.get(tag) or {}).get("Value") or [None]
        return None if v[0] is None else str(v[0])

    return spec is None or spec.matches(first("0020000D"), first("0020000E"), first("00080018"))


def _whole(server: Server, study: str, doc: dict[str, Any]) -> tuple[Converted, int, str]:
    """``exact``: the instance itself (WADO-RS, pixels included) read as file ingest reads a file."""
    series, sop = (((doc.get(t) or {}).get("Value") or [""])[0] for t in ("0020000E", "00080018"))
    try:
        data = server.instance(study, str(series), str(sop))
    except DicomWebError as exc:
        raise DicomReadError(f"cannot fetch the instance: {exc}") from None
    return convert_bytes(data), len(data), hashlib.sha256(data).hexdigest()


def _rows(
    server: Server, study: str, docs: list[dict[str, Any]], spec: Any, done: set[str], at: dt.datetime, exact: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    rows, issues, excluded = [], [], 0
    for doc in docs:
        if not _selected(doc, spec):
            excluded += 1
            continue
        size: int | None = None
        digest: str | None = None
        try:
            if exact:
                c, size, digest = _whole(server, study, doc)
            else:
                c = convert_json(doc)
            check_storable(c.row)
        except DicomReadError as exc:
            issues.append({"path": server.path(study), "severity": "error", "element": None, "reason": str(exc)})
            continue
        row = c.row
        sop = row.get("SOPInstanceUID")
        if sop in done:
            continue
        source = server.path(study, row.get("SeriesInstanceUID"), sop)
        row.update(dl_source=source, dl_source_size=size, dl_source_sha256=digest, dl_ingested_at=at)
        issues += [
            {"path": source, "sop_instance_uid": sop, "severity": s, "element": e or None, "reason": r}
            for s, e, r in c.issues
        ]
        rows.append(row)
    return rows, issues, excluded


def _already(cat: Catalog, store: str, server: Server) -> set[str]:
    """SOPInstanceUIDs the store already has from this server."""
    if store not in cat.stores():
        return set()
    lake = LakeView(cat.root)
    prefix = server.url + "/studies/"
    rel = lake.sql(f"SELECT SOPInstanceUID FROM {quote_ident(store)} WHERE starts_with(dl_source, $p)", {"p": prefix})
    return {r[0] for r in rel.fetchall()}


_JOB: dict[str, Any] = {}


def _vanished(server: Server, study: str) -> dict[str, Any]:
    return {
        "path": server.path(study),
        "severity": "warning",
        "element": None,
        "reason": "study vanished: listed by QIDO-RS, gone when its metadata was fetched",
    }


def _task(studies: list[str], stage: str, index: int) -> Part:
    """Fetch and convert some studies (in a worker process) into one staged Parquet part."""
    job = _JOB
    server: Server = job["server"]
    rows: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    excluded = 0
    with ThreadPoolExecutor(job["threads"]) as pool:
        for study, docs in zip(studies, pool.map(server.study_metadata, studies), strict=True):
            if docs is None:
                issues.append(_vanished(server, study))
                continue
            got, met, n = _rows(server, study, docs, job["spec"], job["done"], job["at"], job["exact"])
            rows += got
            issues += met
            excluded += n
    keys = [(r.get("StudyInstanceUID"), r.get("SeriesInstanceUID"), r.get("SOPInstanceUID")) for r in rows]
    if not rows:
        return Part(None, 0, None, [], issues, excluded, [], keys)
    table = pa.Table.from_pylist(rows, schema=infer_schema(rows))
    path = Path(stage) / f"part-{index:06d}.parquet"
    write_parquet(table, path)
    return Part(path, len(rows), table.schema, [r.get("SOPInstanceUID") for r in rows], issues, excluded,
                [r["dl_source"] for r in rows], keys)  # fmt: skip


def _commit(
    cat: Catalog,
    store: str,
    parts: list[Part],
    stage: Path,
    disposition: str,
    summary: IngestSummary,
    server: Server,
    started: dt.datetime,
) -> str:
    """Commit one batch; the disposition of the next (an append)."""
    batch = IngestSummary(store=store)
    new_files, keep = assemble(cat.stores().get(store), parts, disposition, stage, batch)
    issues = [i for p in parts for i in p.issues] + batch.issues
    summary.ingested += batch.ingested
    summary.replaced += batch.replaced
    summary.duplicates += batch.duplicates
    summary.excluded_by_filter += sum(p.excluded for p in parts)
    summary.issues += issues
    operation = {
        "id": stage.name,
        "kind": "ingest",
        "started_at": started,
        "summary": {"source": server.url, "write_disposition": disposition, "ingested": batch.ingested},
    }
    cat.commit(store, new_files, keep, issues, operation, stage=stage)
    return "WRITE_APPEND"


def harvest(
    lake: str | os.PathLike[str],
    server: Server,
    store: str,
    *,
    write_disposition: str = "WRITE_EMPTY",
    filter_spec: Any = None,
    progress: bool | None = None,
    batch: int = BATCH,
    workers: int | None = None,
    exact: bool = False,
) -> IngestSummary:
    """Ingest the instances of a DICOMweb server (or those a filter selects) into ``store``.

    Worker processes (``workers``, default all cores) fetch and convert tasks of a few studies
    each, ``server.concurrency`` requests in flight in all, while this process goes on listing
    (QIDO-RS pages) and commits each batch of ``batch`` studies as soon as its tasks are done.
    ``exact``: fetch each instance (WADO-RS, pixels included) and read it as file ingest reads a
    file, so the rows keep DS/IS text and the file meta group, which DICOM JSON cannot carry."""
    check_store_name(store)
    listing: Iterator[str] = (
        iter(sorted({line[2] for line in filter_spec.lines})) if filter_spec is not None else server.studies()
    )
    first = list(itertools.islice(listing, 1))  # before the lake: a bad URL writes nothing
    if not first:
        what = "the filter file names no study" if filter_spec is not None else f"{server.url} lists no study"
        raise NothingToIngest(f"{what}: nothing to ingest, and no lake or store was created")
    cat = Catalog.create_or_open(lake)
    summary = IngestSummary(store=store, unit="studies")
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    workers = max(1, workers or os.cpu_count() or 1)
    with cat.write_lock():
        cat.check_new_name(store)
        # A harvest of this server into this store ran before: the same command finishes it
        # (WRITE_TRUNCATE starts over instead).
        done = _already(cat, store, server) if write_disposition != "WRITE_TRUNCATE" else set()
        if done:
            write_disposition = "WRITE_APPEND"
            summary.skipped_reasons["already in the store: harvest resumed"] = len(done)
        check_disposition(cat.stores().get(store), write_disposition, store)
        advance, stop = progress_bar("harvest", None, progress)
        # Each process makes its own connections: the client is created on first use after the fork.
        _JOB.update(
            server=replace(server), spec=filter_spec, done=done, at=started, exact=exact,
            threads=max(1, server.concurrency // workers),
        )  # fmt: skip
        run = _Batches(cat, fork_pool(workers), max(1, min(TASK_STUDIES, batch // (2 * workers))), batch, advance)
        try:
            for study in itertools.chain(first, listing):
                for ready in run.add(study):
                    write_disposition = _commit(cat, store, *ready, write_disposition, summary, server, started)
            for ready in run.finish():
                write_disposition = _commit(cat, store, *ready, write_disposition, summary, server, started)
        finally:
            run.close()
            _JOB.clear()
            stop()
        summary.files = run.listed
        if filter_spec is not None:
            summary.unmatched = filter_spec.unmatched(run.keys) if not done else []
        summary.count_issues()
        summary.rows_in_store = cat.stores()[store].row_count
    return summary


TASK_STUDIES = 25  # studies per task, at most


class _Batches:
    """Studies → tasks in the worker pool → batches of parts ready to commit, in order.

    ``add`` queues a study and returns the batches whose tasks have all finished (it never
    waits), so listing, fetching and committing overlap; ``finish`` waits for the rest."""

    def __init__(self, cat: Catalog, pool: Any, task: int, batch: int, advance: Any) -> None:
        self.cat, self.pool, self.task, self.batch, self.advance = cat, pool, task, batch, advance
        self.chunk: list[str] = []
        self.futures: list[Future[Part]] = []
        self.pending: list[tuple[Path, list[Future[Part]]]] = []
        self.in_batch = 0
        self.listed = 0
        self.committed = 0
        self.stage: Path | None = None
        self.keys: list[tuple[str | None, str | None, str | None]] = []

    def add(self, study: str) -> list[tuple[list[Part], Path]]:
        self.listed += 1
        self.chunk.append(study)
        if len(self.chunk) >= self.task or self.in_batch + len(self.chunk) >= self.batch:
            self._submit()
        return self._ready(wait=False)

    def finish(self) -> list[tuple[list[Part], Path]]:
        if self.chunk:
            self._submit()
        if self.futures:
            self._close_batch()
        if not self.pending and not self.committed:  # nothing listed: the (empty) store is still written
            self.pending.append((self.cat.staging(), []))
        return self._ready(wait=True)

    def _submit(self) -> None:
        if self.stage is None:
            self.stage = self.cat.staging()
        chunk, self.chunk = self.chunk, []
        args = (chunk, str(self.stage), len(self.futures))
        if self.pool is None:
            future: Future[Part] = Future()
            future.set_result(_task(*args))
        else:
            future = self.pool.submit(_task, *args)
        n = len(chunk)

        def advance(_: Future[Part]) -> None:
            self.advance(n)

        future.add_done_callback(advance)
        self.futures.append(future)
        self.in_batch += len(chunk)
        if self.in_batch >= self.batch:
            self._close_batch()

    def _close_batch(self) -> None:
        assert self.stage is not None
        self.pending.append((self.stage, self.futures))
        self.stage, self.futures, self.in_batch = None, [], 0

    def _ready(self, wait: bool) -> list[tuple[list[Part], Path]]:
        out = []
        while self.pending and (wait or all(f.done() for f in self.pending[0][1])):
            stage, futures = self.pending.pop(0)
            parts = [f.result() for f in futures]
            self.keys += [k for p in parts for k in p.keys]
            self.committed += 1
            out.append((parts, stage))
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
