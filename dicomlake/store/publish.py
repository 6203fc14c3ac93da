"""Publishing a store version: the one path by which ingest, export and de-identify write a store.

Parts (Parquet files staged by the writer, with their schemas and SOPInstanceUIDs) are
assembled into the new version: the schema widened to the union (nothing dropped), files
conformed to it, duplicate instances within the write resolved (the later wins), and on
WRITE_APPEND instances already in the store replaced. :meth:`Catalog.commit` then publishes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..codec.schema import base_schema, conform, unify
from ..errors import Param, StoreError
from .catalog import Catalog, StoreInfo, store_schema

DISPOSITIONS = ("WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND")


ROW_GROUP = 122_880


class Tally(Protocol):
    """What assembling reports back (an ingest or export summary)."""

    ingested: int
    replaced: int
    duplicates: int
    issues: list[dict[str, Any]]


@dataclass
class Counts:
    """A :class:`Tally` for writers that keep no summary of their own."""

    ingested: int = 0
    replaced: int = 0
    duplicates: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Part:
    path: Path | None
    rows: int
    schema: pa.Schema | None
    uids: list[str | None]
    issues: list[dict[str, Any]]
    excluded: int = 0
    sources: list[str] = field(default_factory=list)
    keys: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)  # with a filter only


def part_of(path: Path, table: pa.Table) -> Part:
    """A staged Parquet file of ``table`` as a part."""
    uids = (
        table.column("SOPInstanceUID").to_pylist()
        if "SOPInstanceUID" in table.column_names
        else [None] * table.num_rows
    )
    sources = table.column("dl_source").to_pylist() if "dl_source" in table.column_names else [""] * table.num_rows
    return Part(path, table.num_rows, table.schema, uids, [], 0, [s or "" for s in sources])


def check_disposition(existing: StoreInfo | None, disposition: str, name: str) -> None:
    if disposition not in DISPOSITIONS:
        raise StoreError(f"unknown write disposition {disposition!r}: use one of {', '.join(DISPOSITIONS)}")
    if disposition == "WRITE_EMPTY" and existing is not None and existing.row_count > 0:
        raise StoreError(
            f"store {name!r} already has {existing.row_count} rows and the write disposition is WRITE_EMPTY: use ",
            Param("write_disposition", metavar="WRITE_APPEND"),
            " to add to it or WRITE_TRUNCATE to replace it",
        )


def _last_positions(parts: list[Part]) -> dict[str, tuple[int, int]]:
    """The copy kept of each SOPInstanceUID: one read without warnings over one with (a truncated
    file loses to a whole one), else the later file."""
    warned = {i["path"] for p in parts for i in p.issues if i.get("severity") == "warning"}
    last: dict[str, tuple[int, int]] = {}
    clean: dict[str, bool] = {}
    for pi, p in enumerate(parts):
        for ri, u in enumerate(p.uids):
            if not u:
                continue
            ok = p.sources[ri] not in warned if p.sources else True
            if u not in last or ok or not clean[u]:
                last[u], clean[u] = (pi, ri), ok
    return last


def _rewrite(src: Path, dest: Path, schema: pa.Schema, drop: pa.Array | None) -> int:
    table = pq.read_table(src)
    if drop is not None:
        table = table.filter(pc.invert(drop))
    write_parquet(conform(table, schema), dest)
    return table.num_rows


def write_parquet(table: pa.Table, path: Path) -> None:
    """A store data file: zstd, row groups of DuckDB's size so that filters can skip them."""
    pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP)


def tables_of(batches: pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """A stream of record batches (a store read file by file gives batches as small as its files)
    regrouped as tables of at least ``rows`` rows, the last one possibly fewer; none if empty."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(held, batches.schema)
            held, count = [], 0
    if held:
        yield pa.Table.from_batches(held, batches.schema)


_Rewrite = tuple[Path, Path, "pa.Array | None"]  # source, destination, rows to drop


def _new_parts(
    parts: list[Part], target: pa.Schema, stage: Path, summary: Tally, jobs: list[_Rewrite]
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
    summary: Tally,
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


def assemble(
    existing: StoreInfo | None, parts: list[Part], disposition: str, stage: Path, summary: Tally
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


def publish_table(
    cat: Catalog,
    name: str,
    rows: pa.Table | list[Part],
    disposition: str,
    stage: Path,
    *,
    tally: Tally | None = None,
    issues: list[dict[str, Any]] | None = None,
    operation: dict[str, Any] | None = None,
    file_set: Path | None = None,
) -> None:
    """Publish ``rows`` (a table, or the parts writers staged) as the new rows of store ``name``
    (the caller holds the write lock).

    ``disposition`` WRITE_APPEND keeps the store's rows (instances in ``rows`` replace theirs);
    anything else replaces them.
    """
    if isinstance(rows, pa.Table):
        part = stage / "table.parquet"
        write_parquet(rows, part)
        rows = [part_of(part, rows)]
    tally = tally or Counts()
    files, keep = assemble(cat.stores().get(name), rows, disposition, stage, tally)
    cat.commit(name, files, keep, tally.issues if issues is None else issues, operation, file_set=file_set, stage=stage)


def staged_part(path: Path) -> Part:
    """A Parquet file a writer staged (a Spark task's, for one) as a part."""
    cols = pq.read_table(path, columns=["SOPInstanceUID", "dl_source"])
    return Part(
        path,
        cols.num_rows,
        pq.read_schema(path),
        cols.column(0).to_pylist(),
        [],
        0,
        [s or "" for s in cols.column(1).to_pylist()],
    )
