"""Ingest from a DICOMweb server: QIDO-RS lists the studies, WADO-RS brings each study's
metadata in one request, :mod:`dicomlake.dicomjson` turns it into rows through the one
converter. Bulk data (pixels) is not downloaded. DICOM JSON carries DS and IS values as numbers
and (from most servers) no file meta group; ``exact=True`` (``--exact``) fetches each instance
instead and reads it as file ingest does, for rows identical to a file ingest of the same files.

Studies are fetched a few at a time (``Server.concurrency``) and committed in batches of
whole studies (one atomic catalog commit each), so a harvest that is killed keeps what it
committed. Running the same command again resumes it: instances this server already gave the
store (recognised by their ``dl_source`` URL) are skipped and the rest are appended. A study
that vanishes between listing and fetching is reported and the harvest goes on.
``WRITE_TRUNCATE`` starts over: the store is replaced by a fresh harvest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from .dicomjson import convert_json
from .dicomweb import DicomWebError, Server
from .errors import DicomReadError
from .ingest import IngestSummary
from .lake import Catalog, check_store_name, quote_ident
from .progress import progress_bar
from .publish import Part, assemble, check_disposition, write_parquet
from .reader import Converted, convert_bytes
from .schema import infer_schema
from .workers import fork_pool

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
    from .api import Lake

    lake = Lake(cat.root)
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
) -> None:
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
    cat.commit(store, new_files, keep, issues, operation)


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

    Worker processes (``workers``, default all cores) each fetch and convert a share of every
    batch of studies, ``server.concurrency`` requests in flight in all. ``exact``: fetch each
    instance (WADO-RS, pixels included) and read it as file ingest reads a file, so the rows
    keep DS/IS text and the file meta group, which DICOM JSON cannot carry."""
    check_store_name(store)
    listed = sorted({line[2] for line in filter_spec.lines}) if filter_spec is not None else None
    studies = listed if listed is not None else list(server.studies())  # before the lake: a bad URL writes nothing
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
        summary.files = len(studies)
        advance, stop = progress_bar("harvest", len(studies), progress)
        keys: list[tuple[str | None, str | None, str | None]] = []
        # Each process makes its own connections: the client is created on first use after the fork.
        _JOB.update(
            server=replace(server), spec=filter_spec, done=done, at=started, exact=exact,
            threads=max(1, server.concurrency // workers),
        )  # fmt: skip
        pool = fork_pool(workers)
        try:
            for start in range(0, max(1, len(studies)), batch):
                chunk = studies[start : start + batch]
                size = max(1, -(-len(chunk) // (workers * 2)))
                tasks = [chunk[i : i + size] for i in range(0, len(chunk), size)]
                stage = cat.staging()
                if pool is None or len(tasks) < 2:
                    parts = [_task(t, str(stage), i) for i, t in enumerate(tasks)]
                else:
                    parts = list(pool.map(_task, tasks, [str(stage)] * len(tasks), range(len(tasks))))
                advance(len(chunk))
                keys += [k for p in parts for k in p.keys]
                _commit(cat, store, parts, stage, write_disposition, summary, server, started)
                write_disposition = "WRITE_APPEND"
        finally:
            if pool is not None:
                pool.shutdown()
            _JOB.clear()
            stop()
        if filter_spec is not None:
            summary.unmatched = filter_spec.unmatched(keys) if not done else []
        summary.count_issues()
        summary.rows_in_store = cat.stores()[store].row_count
    return summary
