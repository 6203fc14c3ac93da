"""Export: a store (or what a filter file selects) to another store, Parquet, NDJSON, CSV or DICOM files.

Table destinations follow the API's rules: a missing destination is created whatever the
flags; ``WRITE_EMPTY`` (default) fails on a destination with rows and succeeds on an empty
one; ``WRITE_TRUNCATE`` replaces; ``WRITE_APPEND`` appends, widening the schema; the legacy
``force`` overwrites when true and refuses any existing destination when false; ``force``
together with a write disposition is an error.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..codec.schema import PN_TYPE, conform, unify
from ..codec.values import format_pn
from ..errors import DicomlakeError, Param, StoreError
from ..progress import progress_bar
from ..sources.files import Source, read_checked, source_columns
from ..sources.objects import check_url, configure, is_object_url, scheme_of
from ..store.catalog import Catalog, check_store_name, new_connection, quote_literal
from ..store.filterfile import FilterSpec
from ..store.publish import DISPOSITIONS, publish_table, tables_of
from ..store.views import LakeView
from .to_objects import copy_to_object, to_object_store

KINDS = ("lake", "parquet", "ndjson", "csv", "dicom", "dicomweb")
_UID_PART = re.compile(r"[0-9]+(\.[0-9]+)*")
BATCH_ROWS = 10_000  # rows of a store read and written at a time when exporting to Parquet
_SUFFIX_KIND = {".parquet": "parquet", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson", ".csv": "csv"}


@dataclass(frozen=True)
class Destination:
    kind: str
    path: Path
    store: str | None = None
    url: str | None = None
    remote: str | None = None  # an object-store URL (s3://, gs://, az://) written to instead of ``path``
    shown: str | None = None  # what messages call the destination, when ``path`` is a local copy of it

    @classmethod
    def parse(cls, text: str) -> Destination:
        kind, sep, rest = text.partition(":")
        if sep and kind in KINDS and rest:
            if kind == "dicomweb":
                if not rest.startswith(("http://", "https://")):
                    raise StoreError(Param("to", text), ": write dicomweb:URL, e.g. dicomweb:https://host/dicom-web")
                return cls("dicomweb", Path("."), url=rest)
            check_url(rest, "to")
            if scheme_of(rest) is not None and not is_object_url(rest):
                raise StoreError(
                    Param("to", text), f": {kind}: writes to a local path or an object store (s3://, gs://, az://)"
                )
            if is_object_url(rest):
                if kind == "lake":
                    raise StoreError(Param("to", text), f": a lake is a local folder; export to parquet:{rest} instead")
                return cls(kind, Path(rest.rstrip("/").rsplit("/", 1)[-1] or "x"), remote=rest)
            if kind == "lake":
                p = Path(rest)
                if not p.name or p.parent == Path(""):
                    raise StoreError(Param("to", text), ": write lake:LAKE_DIR/STORE, e.g. lake:out-lake/ct")
                return cls("lake", p.parent, check_store_name(p.name))
            return cls(kind, Path(rest))
        check_url(text, "to")
        kind = _SUFFIX_KIND.get(Path(text).suffix.lower(), "")
        if kind and is_object_url(text):
            return cls(kind, Path(Path(text).name), remote=text)
        if kind and scheme_of(text) is None:
            return cls(kind, Path(text))
        raise StoreError(
            Param("to", text),
            ": say what to write: lake:DIR/STORE, parquet:PATH, ndjson:PATH, csv:PATH, dicom:DIR "
            "or dicomweb:URL; PATH and DIR may be object-store URLs (s3://, gs://, az://) "
            "(or a path ending in .parquet, .ndjson, .jsonl or .csv)",
        )


@dataclass
class ExportSummary:
    destination: str
    selected: int = 0
    written: int = 0
    replaced: int = 0
    ingested: int = 0
    duplicates: int = 0
    action: str = ""
    failures: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[tuple[int, str]] = field(default_factory=list)


def decide(exists: bool, rows: int, disposition: str | None, force: bool | None, where: str) -> str:
    """'create', 'truncate' or 'append' for a table destination, or the API's error."""
    if disposition is not None and force is not None:
        raise StoreError(
            Param("force"), " and ", Param("write_disposition"), " cannot be used together (as in the API): use one"
        )
    if disposition is not None and disposition not in DISPOSITIONS:
        raise StoreError(f"unknown write disposition {disposition!r}: use one of {', '.join(DISPOSITIONS)}")
    if not exists:
        return "create"
    if force is not None:
        if force:
            return "truncate"
        raise StoreError(
            f"{where} already exists: pass ",
            Param("force", True),
            " to overwrite it, or use ",
            Param("write_disposition"),
        )
    disposition = disposition or "WRITE_EMPTY"
    if disposition == "WRITE_EMPTY":
        if rows:
            raise StoreError(
                f"{where} already has {rows} rows and the write disposition is WRITE_EMPTY: use ",
                Param("write_disposition", metavar="WRITE_APPEND"),
                " or WRITE_TRUNCATE",
            )
        return "truncate"
    return "append" if disposition == "WRITE_APPEND" else "truncate"


def export(
    lake: LakeView,
    store: str,
    to: str,
    *,
    spec: FilterSpec | None = None,
    write_disposition: str | None = None,
    force: bool | None = None,
    endpoint_url: str | None = None,
) -> ExportSummary:
    """Export ``store`` (or the part ``spec`` selects) to ``to`` (``endpoint_url``: an
    S3-compatible server for ``s3://`` sources and destinations)."""
    if endpoint_url is not None:
        configure(endpoint_url)
    dest = Destination.parse(to)
    _refuse_inside_lake(dest)
    if dest.kind == "lake" and dest.path.resolve() == lake.root.resolve() and str(dest.store).lower() == store.lower():
        raise StoreError(Param("to", to), " is the store being exported: a store is never its own destination")
    rel = lake.select(store, spec)
    summary = ExportSummary(str(to))
    if spec is not None:
        check = lake.check_filter(spec, store)
        check.require_any(store)
        summary.unmatched = check.unmatched
    if dest.kind in ("dicom", "dicomweb"):
        if write_disposition is not None or force is not None:
            raise StoreError(
                Param("write_disposition"), " and ", Param("force"), f" apply to table destinations, not {dest.kind}:"
            )
        if dest.kind == "dicomweb":
            _export_dicomweb(rel, str(dest.url), summary)
        else:
            _export_dicom(rel, dest.path, summary, remote=dest.remote)
        return summary
    if dest.remote is not None:
        to_object_store(lambda local: _write_table(lake, rel, local, write_disposition, force, summary), dest)
        return summary
    _write_table(lake, rel, dest, write_disposition, force, summary)
    return summary


def _write_table(
    lake: LakeView,
    rel: duckdb.DuckDBPyRelation,
    dest: Destination,
    disp: str | None,
    force: bool | None,
    summary: ExportSummary,
) -> None:
    if dest.kind == "parquet":  # written as it is read: memory does not grow with the store
        _to_parquet(rel, dest, disp, force, summary)
        return
    table = rel.to_arrow_table()
    summary.selected = table.num_rows
    writer = {"lake": _to_lake, "ndjson": _to_ndjson, "csv": _to_csv}[dest.kind]
    writer(lake, table, dest, disp, force, summary)


def _refuse_inside_lake(dest: Destination) -> None:
    """Files inside a lake belong to it: write a store with lake:DIR/STORE instead."""
    if dest.kind in ("lake", "dicomweb") or dest.remote is not None:
        return
    for parent in [dest.path.absolute(), *dest.path.absolute().parents]:
        if Catalog.exists(parent):
            raise StoreError(
                Param("to", f"{dest.kind}:{dest.path}"),
                f" is inside the lake {parent}; write outside it, or use lake:{parent}/STORE to write a store",
            )


# ---- table destinations ----------------------------------------------------------------------
def _to_lake(
    lake: LakeView, table: pa.Table, dest: Destination, disp: str | None, force: bool | None, summary: ExportSummary
) -> None:
    assert dest.store is not None
    cat = Catalog.create_or_open(dest.path)
    with cat.write_lock():
        existing = cat.stores().get(dest.store)
        where = f"store '{dest.store}' of lake {dest.path}"
        summary.action = decide(existing is not None, existing.row_count if existing else 0, disp, force, where)
        disposition = "WRITE_APPEND" if summary.action == "append" else "WRITE_TRUNCATE"
        stage = cat.staging()
        op = {
            "id": stage.name,
            "kind": "export",
            "started_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "summary": {"selected": summary.selected, "action": summary.action},
        }
        publish_table(cat, dest.store, table, disposition, stage, tally=summary, operation=op)
    summary.written = summary.ingested


def _atomic_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place; names the writing process."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


_TEMP = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.tmp$")


def _remove_dead_temps(folder: Path) -> None:
    """Remove the temporary files a killed export left in ``folder`` (their process is gone)."""
    for tmp in folder.rglob(".*.tmp"):
        m = _TEMP.match(tmp.name)
        if m and not _alive(int(m.group(1))):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parquet_rows(path: Path) -> int:
    """The rows of a Parquet file already at the destination; an error for one that is not Parquet
    (a file of the user's, never overwritten by an export)."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(
            f"{path} exists and is not a Parquet file ({str(exc).splitlines()[0]}); nothing was exported: "
            "move it away or choose another destination with ",
            Param("to"),
        ) from None


def _to_parquet(
    rel: duckdb.DuckDBPyRelation, dest: Destination, disp: str | None, force: bool | None, summary: ExportSummary
) -> None:
    path = dest.path
    folder = path.suffix.lower() != ".parquet"
    files = sorted(path.glob("*.parquet")) if folder and path.is_dir() else ([path] if path.is_file() else [])
    exists = path.exists()
    rows = sum(_parquet_rows(f) for f in files)
    summary.action = decide(exists, rows, disp, force, f"Parquet destination {dest.shown or path}")
    old = files if summary.action == "append" else []
    reader = rel.to_arrow_reader(BATCH_ROWS)
    schema = unify([pq.read_schema(f) for f in old] + [reader.schema])
    if folder:  # only the folder's Parquet files are ours to replace; anything else in it stays
        path.mkdir(parents=True, exist_ok=True)
        tmp = _atomic_path(path / "part-0.parquet")
        summary.written = _write_batches(tmp, schema, old, reader)
        for f in files:
            f.unlink()
        os.replace(tmp, path / "part-0.parquet")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _atomic_path(path)
        summary.written = _write_batches(tmp, schema, old, reader)
        os.replace(tmp, path)
    summary.selected = summary.written


def _write_batches(path: Path, schema: pa.Schema, old: list[Path], new: pa.RecordBatchReader) -> int:
    """One Parquet file of the ``old`` files' rows, then ``new``'s, in ``schema``, a batch at a
    time; returns how many rows ``new`` gave."""
    written = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as out:
        for f in old:
            for batch in pq.ParquetFile(f).iter_batches(BATCH_ROWS):
                out.write_table(conform(pa.Table.from_batches([batch]), schema))
        for table in tables_of(new, BATCH_ROWS):
            out.write_table(conform(table, schema))
            written += table.num_rows
    return written


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def _to_ndjson(
    lake: LakeView, table: pa.Table, dest: Destination, disp: str | None, force: bool | None, summary: ExportSummary
) -> None:
    """Newline-delimited JSON as BigQuery loads it (DATE 'YYYY-MM-DD', TIME 'HH:MM:SS', nested objects)."""
    path = dest.path
    exists = path.is_file()
    summary.action = decide(
        exists, _count_lines(path) if exists else 0, disp, force, f"NDJSON destination {dest.shown or path}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _atomic_path(path)
    con = new_connection()
    con.register("export_rows", table)
    con.execute(f"COPY export_rows TO {quote_literal(str(tmp))} (FORMAT json)")
    con.close()
    if summary.action == "append":
        with open(path, "ab") as out, open(tmp, "rb") as src:
            shutil.copyfileobj(src, out)
        tmp.unlink()
    else:
        os.replace(tmp, path)
    summary.written = table.num_rows


def flat_columns(table: pa.Table) -> pa.Table:
    """The columns CSV can hold: scalars, PN as DICOM text, lists of scalars joined with '\\'."""
    cols: dict[str, pa.Array] = {}
    for f in table.schema:
        col = table.column(f.name)
        if f.type.equals(PN_TYPE):
            cols[f.name] = pa.array([format_pn(v) if v is not None else None for v in col.to_pylist()], pa.string())
        elif pa.types.is_list(f.type) and not pa.types.is_nested(f.type.value_type):
            cols[f.name] = pc.binary_join(col.cast(pa.list_(pa.string())), "\\")
        elif not pa.types.is_nested(f.type):
            cols[f.name] = col
    return pa.table(cols)


def _to_csv(
    lake: LakeView, table: pa.Table, dest: Destination, disp: str | None, force: bool | None, summary: ExportSummary
) -> None:
    path = dest.path
    exists = path.is_file()
    rows = max(0, _count_lines(path) - 1) if exists else 0
    summary.action = decide(exists, rows, disp, force, f"CSV destination {dest.shown or path}")
    flat = flat_columns(table)
    if summary.action == "append":
        old = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        schema = unify([old.schema, flat.schema])
        flat = pa.concat_tables([conform(old, schema), conform(flat, schema)], promote_options="permissive")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _atomic_path(path)
    pacsv.write_csv(flat, tmp)
    os.replace(tmp, path)
    summary.written = table.num_rows


# ---- DICOMweb (STOW-RS) ----------------------------------------------------------------------
def _export_dicomweb(rel: duckdb.DuckDBPyRelation, url: str, summary: ExportSummary) -> None:
    """Send the selected instances to a DICOMweb server with STOW-RS, in batches."""
    from ..sources.dicomweb import Server
    from ..sources.stow import stow

    rows = rel.select(f"SOPInstanceUID, {source_columns(rel.columns)}").fetchall()
    summary.selected = len(rows)
    summary.failures = stow(Server.from_env(url), [(str(u), Source(str(s or ""), n, h, v)) for u, s, n, h, v in rows])
    summary.written = len(rows) - len(summary.failures)


# ---- DICOM files -----------------------------------------------------------------------------
def _export_dicom(
    rel: duckdb.DuckDBPyRelation, folder: Path, summary: ExportSummary, remote: str | None = None
) -> None:
    """Copy the selected instances' source files to ``folder/study/series/instance.dcm`` (or to
    objects under the ``remote`` prefix), byte-identical."""
    cols = rel.select(f"StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, {source_columns(rel.columns)}")
    rows = cols.to_arrow_table().to_pylist()
    summary.selected = len(rows)
    if remote is None:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_dead_temps(folder)
    advance, stop = progress_bar("export", len(rows))
    results = []
    try:
        with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 1) * 4)) as pool:
            for result in pool.map(lambda r: _copy_one(r, folder, remote), rows):
                results.append(result)
                advance(1)
    finally:
        stop()
    summary.failures = [f for f in results if f is not None]
    summary.written = len(rows) - len(summary.failures)


def _copy_one(row: dict[str, Any], folder: Path, remote: str | None = None) -> dict[str, Any] | None:
    src, uid = row["dl_source"], row["SOPInstanceUID"]
    fail = {"sop_instance_uid": uid, "path": src}
    if not src:
        return {**fail, "reason": "the row has no source (dl_source is empty)"}
    try:
        data = read_checked(Source(src, row["dl_source_size"], row["dl_source_sha256"], row["dl_source_version"]))
    except DicomlakeError as exc:
        return {**fail, "reason": str(exc)}
    except OSError as exc:
        return {**fail, "reason": f"cannot read the source file: {exc.strerror or exc}"}
    parts = [row["StudyInstanceUID"], row["SeriesInstanceUID"], uid]
    if not all(parts):
        return {**fail, "reason": "instance lacks a Study/Series/SOP Instance UID for the study/series/instance layout"}
    if not all(_UID_PART.fullmatch(p) for p in parts):
        return {
            **fail,
            "reason": "a Study/Series/SOP Instance UID is not a valid UID (digits and dots); not used as a file name",
        }
    if remote is not None:
        return copy_to_object(data, f"{remote.rstrip('/')}/{parts[0]}/{parts[1]}/{uid}.dcm", fail)
    target = folder.joinpath(*parts[:2], f"{uid}.dcm")
    if target.is_file() and (target.stat().st_size != len(data) or target.read_bytes() != data):
        return {
            **fail,
            "reason": f"{target} already exists with other content: not overwritten; export into a new folder",
        }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _atomic_path(target)
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return None
