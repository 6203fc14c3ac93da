"""Ingest from a DICOMweb server: QIDO-RS lists the studies, WADO-RS brings each study's
metadata in one request, :mod:`dicomlake.dicomjson` turns it into rows through the one
converter. Bulk data (pixels) is not downloaded.

Studies are fetched a few at a time (``Server.concurrency``) and committed in batches of
whole studies (one atomic catalog commit each), so a harvest that is killed keeps what it
committed. Running the same command again resumes it: instances this server already gave the
store (recognised by their ``dl_source`` URL) are skipped and the rest are appended. A study
that vanishes between listing and fetching is reported and the harvest goes on.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from .dicomjson import convert_json
from .dicomweb import Server
from .errors import DicomReadError
from .ingest import IngestSummary, _reason_kind
from .lake import Catalog, check_store_name, quote_ident
from .progress import progress_bar
from .publish import assemble, check_disposition, part_of, write_parquet
from .schema import infer_schema

BATCH = 200  # studies per commit


def _selected(doc: dict[str, Any], spec: Any) -> bool:
    def first(tag: str) -> str | None:
        v = (doc.get(tag) or {}).get("Value") or [None]
        return None if v[0] is None else str(v[0])

    return spec is None or spec.matches(first("0020000D"), first("0020000E"), first("00080018"))


def _rows(
    server: Server, study: str, docs: list[dict[str, Any]], spec: Any, done: set[str], at: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    rows, issues, excluded = [], [], 0
    for doc in docs:
        if not _selected(doc, spec):
            excluded += 1
            continue
        try:
            c = convert_json(doc)
        except DicomReadError as exc:
            issues.append({"path": server.path(study), "severity": "error", "element": None, "reason": str(exc)})
            continue
        row = c.row
        sop = row.get("SOPInstanceUID")
        if sop in done:
            continue
        source = server.path(study, row.get("SeriesInstanceUID"), sop)
        row.update(dl_source=source, dl_source_size=None, dl_source_sha256=None, dl_ingested_at=at)
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


def _commit(
    cat: Catalog,
    store: str,
    rows: list[dict[str, Any]],
    issues: list[dict[str, Any]],
    disposition: str,
    summary: IngestSummary,
    server: Server,
    started: dt.datetime,
) -> None:
    stage = cat.staging()
    parts = []
    if rows:
        table = pa.Table.from_pylist(rows, schema=infer_schema(rows))
        write_parquet(table, stage / "part-000000.parquet")
        parts.append(part_of(stage / "part-000000.parquet", table))
    batch = IngestSummary(store=store)
    existing = cat.stores().get(store)
    new_files, keep = assemble(existing, parts, disposition, stage, batch)
    summary.ingested += batch.ingested
    summary.replaced += batch.replaced
    summary.duplicates += batch.duplicates
    operation = {
        "id": stage.name,
        "kind": "ingest",
        "started_at": started,
        "summary": {"source": server.url, "write_disposition": disposition, "ingested": batch.ingested},
    }
    cat.commit(store, new_files, keep, issues + batch.issues, operation)


def harvest(
    lake: str | os.PathLike[str],
    server: Server,
    store: str,
    *,
    write_disposition: str = "WRITE_EMPTY",
    filter_spec: Any = None,
    progress: bool | None = None,
    batch: int = BATCH,
) -> IngestSummary:
    """Ingest the instances of a DICOMweb server (or those a filter selects) into ``store``."""
    check_store_name(store)
    listed = sorted({line[2] for line in filter_spec.lines}) if filter_spec is not None else None
    studies = listed if listed is not None else list(server.studies())  # before the lake: a bad URL writes nothing
    cat = Catalog.create_or_open(lake)
    summary = IngestSummary(store=store, unit="studies")
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with cat.write_lock():
        cat.check_new_name(store)
        done = _already(cat, store, server)
        if done:  # a harvest of this server into this store ran before: finish it
            write_disposition = "WRITE_APPEND"
            summary.skipped_reasons["already in the store: harvest resumed"] = len(done)
        check_disposition(cat.stores().get(store), write_disposition, store)
        summary.files = len(studies)
        advance, stop = progress_bar("harvest", len(studies), progress)
        keys: list[tuple[str | None, str | None, str | None]] = []
        try:
            with ThreadPoolExecutor(max(1, server.concurrency)) as pool:
                for start in range(0, max(1, len(studies)), batch):
                    chunk = studies[start : start + batch]
                    rows: list[dict[str, Any]] = []
                    issues: list[dict[str, Any]] = []
                    for study, docs in zip(chunk, pool.map(server.study_metadata, chunk), strict=True):
                        advance(1)
                        if docs is None:
                            issues.append(
                                {
                                    "path": server.path(study),
                                    "severity": "warning",
                                    "element": None,
                                    "reason": "study vanished: listed by QIDO-RS, gone when its metadata was fetched",
                                }
                            )
                            continue
                        got, met, excluded = _rows(server, study, docs, filter_spec, done, started)
                        rows += got
                        issues += met
                        summary.excluded_by_filter += excluded
                    keys += [
                        (r.get("StudyInstanceUID"), r.get("SeriesInstanceUID"), r.get("SOPInstanceUID")) for r in rows
                    ]
                    summary.issues += issues
                    _commit(cat, store, rows, issues, write_disposition, summary, server, started)
                    write_disposition = "WRITE_APPEND"
        finally:
            stop()
        if filter_spec is not None:
            summary.unmatched = filter_spec.unmatched(keys) if not done else []
        for i in summary.issues:
            if i["severity"] == "error":
                summary.skipped += 1
                summary.skipped_reasons[_reason_kind(i["reason"])] += 1
            elif i["severity"] == "warning":
                summary.warnings += 1
        summary.rows_in_store = cat.stores()[store].row_count
    return summary
