"""De-identify a lake or a store: compile the plan, run the SQL transform, rematerialize, publish.

Dataset level (``datasets.deidentify``): every store of the source lake goes to a store of the
same name in a destination lake that must not exist. Store level (``dicomStores.deidentify``):
one store (or what a filter selects) into a destination store that must exist; instances
already there with the same SOPInstanceUID are overwritten. Output files live in the
destination lake and its store's ``dl_source`` points at them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import multiprocessing
import os
import re
import secrets
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..api import Lake
from ..errors import ConfigError, StoreError
from ..filterfile import FilterSpec
from ..lake import Catalog
from ..publish import publish_table
from ..rematerialize import build_file
from .config import DeidRequest
from .plan import Planner, Step, compile_plan
from .sqlgen import PN_EMPTY, Ctx, marker_columns, pn_struct, transform_sql
from .udfs import ValueMaps, text_rule

CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "clean_pixels": ("113101", "Clean Pixel Data Option"),
    "clean_descriptors": ("113105", "Clean Descriptors Option"),
    "retain_uids": ("113110", "Retain UIDs Option"),
}


@dataclass
class StoreResult:
    source: str
    destination: str
    selected: int = 0
    success: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    replaced: int = 0
    ingested: int = 0
    duplicates: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DeidSummary:
    stores: list[StoreResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: dict[str, list[Step]] = field(default_factory=dict)
    sql: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(len(s.failures) for s in self.stores)


def load_key(key_file: str | os.PathLike[str] | None, notes: list[str]) -> bytes:
    if key_file is None:
        notes.append(
            "no --key-file: a random key was made for this run, so UIDs and date shifts will not "
            "match another run (make a key with 'dicomlake keygen > key' to repeat them)"
        )
        return secrets.token_bytes(32)
    try:
        key = base64.b64decode(Path(key_file).read_text().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--key-file {key_file}: cannot read a base64 key ({exc}); make one with 'dicomlake keygen'"
        ) from None
    if len(key) < 16:
        raise ConfigError(f"--key-file {key_file}: the key has {len(key)} bytes; use at least 16 ('dicomlake keygen')")
    return key


def _method(planner: Planner) -> tuple[str, list[tuple[str, str]]]:
    codes = []
    if planner.profile == "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE":
        codes.append(CODES["basic"])
    if planner.clean_descriptors:
        codes.append(CODES["clean_descriptors"])
    if planner.image is not None and planner.image.mode != "REDACT_NO_TEXT":
        codes.append(CODES["clean_pixels"])
    if planner.primary == "keep":
        codes.append(CODES["retain_uids"])
    text = f"dicomlake {planner.profile}" + (f" + {len(planner.actions)} actions" if planner.actions else "")
    return text, codes


def _ctx(planner: Planner, maps: ValueMaps) -> Ctx:
    rule = maps.rule
    person = rule.choose("PERSON_NAME")
    if person is None:
        pn = lambda r: r  # noqa: E731
    elif person.kind == "replaceWithInfoType":
        pn = lambda r: pn_struct("'[PERSON_NAME]'")  # noqa: E731
    elif person.kind == "redact":
        pn = lambda r: PN_EMPTY  # noqa: E731
    else:
        pn = lambda r: pn_struct(  # noqa: E731
            f"dl_clean(concat_ws('^', {r}.Alphabetic.FamilyName, {r}.Alphabetic.GivenName), dl_context, 'PN')"
        )
    date = rule.choose("DATE")
    date_clean = "keep" if date is None else "shift" if date.kind == "dateShift" else "remove"
    text_clean = rule.profile != "EMPTY" or bool(rule.transformations)
    return Ctx(planner, pn, text_clean, date_clean, [])


def _phrases(planner: Planner, schema: pa.Schema) -> list[str]:
    """Clean Descriptors: text columns coded D, Z, X or U feed the [CTX] phrase list."""
    if not planner.clean_descriptors:
        return []
    from .plan import field_tag_vr
    from .profile_table import lookup

    out = []
    for f in schema:
        tag, vr = field_tag_vr(f.name)
        row = lookup(tag) if tag else None
        textual = vr in ("LO", "SH", "ST", "LT", "UT", "UC", "CS") and not pa.types.is_struct(f.type)
        if row is not None and row.basic[:1] in "DZXU" and textual:
            out.append(f.name)
    return out


def transform_store(
    lake: Lake, store: str, planner: Planner, maps: ValueMaps, spec: FilterSpec | None
) -> tuple[list[Step], str, pa.Table]:
    """Plan, SQL and the transformed table of one store."""
    rel = lake.select(store, spec)
    schema = rel.limit(0).to_arrow_table().schema
    steps = compile_plan(planner, schema)
    maps.register(lake.con)
    lake.con.register("dl_deid_source", rel.to_arrow_table())
    method, codes = _method(planner)
    markers = marker_columns(method, codes) if any(s.action not in ("keep", "recurse") for s in steps) else {}
    if not codes:
        markers.pop("DeidentificationMethodCodeSequence", None)
    sql = transform_sql(schema, "dl_deid_source", _ctx(planner, maps), markers, _phrases(planner, schema))
    return steps, sql, lake.con.sql(sql).to_arrow_table()


_JOB: dict[str, Any] = {}
_UID_PART = re.compile(r"[0-9]+(\.[0-9]+)*")


def _part(uid: str | None, fallback: object = "unknown") -> str:
    """A UID as a file or folder name; anything else (a hostile value) is replaced by its hash."""
    if uid and _UID_PART.fullmatch(uid):
        return uid
    return f"x{hashlib.sha256(str(uid or fallback).encode()).hexdigest()[:32]}"


def _write_chunk(bounds: tuple[int, int]) -> list[tuple[int, int, str, str | None]]:
    """Rematerialize rows [a, b) of the job's table; (row, size, sha256 or reason, None or 'failed')."""
    table: pa.Table = _JOB["table"]
    out: list[tuple[int, int, str, str | None]] = []
    for i, row in enumerate(table.slice(bounds[0], bounds[1] - bounds[0]).to_pylist(), start=bounds[0]):
        try:
            size, digest = build_file(row, row.pop("dl_src"), Path(_JOB["paths"][i]))
            out.append((i, size, digest, None))
        except Exception as exc:  # one instance failing must not stop the run
            out.append((i, 0, f"{type(exc).__name__}: {exc}", "failed"))
    return out


def rematerialize_table(
    table: pa.Table, stage_files: Path, final_files: Path, workers: int
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Write every row as a file; returns the table with dl_source & co. set, and the failures."""
    uids = table.select(["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"]).to_pylist()
    rel = [
        Path(_part(u["StudyInstanceUID"]), _part(u["SeriesInstanceUID"]), f"{_part(u['SOPInstanceUID'], i)}.dcm")
        for i, u in enumerate(uids)
    ]
    _JOB.update(table=table.drop_columns(["dl_row"]), paths=[str(stage_files / r) for r in rel])
    n = table.num_rows
    step = max(1, min(200, n // max(1, workers * 4) or 1))
    chunks = [(a, min(n, a + step)) for a in range(0, n, step)]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = [r for part in pool.map(_write_chunk, chunks) for r in part]
    else:
        results = [r for c in chunks for r in _write_chunk(c)]
    _JOB.clear()
    ok = [r for r in results if r[3] is None]
    failures = [
        {
            "path": table.column("dl_src")[r[0]].as_py(),
            "sop_instance_uid": uids[r[0]]["SOPInstanceUID"],
            "severity": "error",
            "element": None,
            "reason": f"not written: {r[2]}",
        }
        for r in results
        if r[3]
    ]
    keep = table.take(pa.array([r[0] for r in ok], pa.int64())).drop_columns(["dl_src", "dl_row"])
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
    return keep, failures


def _publish(
    dest: Catalog,
    name: str,
    table: pa.Table,
    stage: Path,
    files_dir: Path,
    result: StoreResult,
    started: dt.datetime,
    disposition: str,
) -> None:
    files_dir.parent.mkdir(parents=True, exist_ok=True)
    if (stage / "files").exists():
        os.replace(stage / "files", files_dir)
    op = {
        "id": stage.name,
        "kind": "deidentify",
        "started_at": started,
        "summary": {"source": result.source, "success": result.success, "failure": len(result.failures)},
    }
    publish_table(
        dest,
        name,
        table,
        disposition,
        stage,
        tally=result,
        issues=result.failures + result.issues,
        operation=op,
        file_set=files_dir,
    )


def deidentify_store(
    lake: Lake,
    store: str,
    dest: Catalog,
    dest_store: str,
    request: DeidRequest,
    key: bytes,
    *,
    spec: FilterSpec | None,
    workers: int,
    uid_root: str,
    maps_out: list[ValueMaps],
    disposition: str,
    final_root: Path | None = None,
) -> tuple[StoreResult, list[Step], str]:
    planner = Planner(request.config)
    maps = ValueMaps(key, planner, text_rule(request.config.text), uid_root)
    steps, sql, table = transform_store(lake, store, planner, maps, spec)
    result = StoreResult(store, dest_store, selected=table.num_rows)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with dest.write_lock():
        stage = dest.staging()
        files_dir = dest.root / "files" / dest_store / stage.name
        final_dir = (final_root or dest.root) / "files" / dest_store / stage.name
        out, result.failures = rematerialize_table(table, stage / "files", final_dir, workers)
        result.success = out.num_rows
        _publish(dest, dest_store, out, stage, files_dir, result, started, disposition)
    maps_out.append(maps)
    return result, steps, sql


def deidentify(
    src: str | os.PathLike[str],
    request: DeidRequest,
    *,
    store: str | None = None,
    dest_lake: str | os.PathLike[str] | None = None,
    dest_store: str | None = None,
    key_file: str | None = None,
    spec: FilterSpec | None = None,
    workers: int | None = None,
    uid_root: str = "2.25",
    crosswalk: str | None = None,
) -> DeidSummary:
    """Run a de-identification (dataset level when ``store`` is None, else store level)."""
    summary = DeidSummary(notes=list(request.notes))
    lake = Lake(src)
    workers = workers or os.cpu_count() or 1
    if store is None:
        if dest_lake is None:
            raise StoreError("dataset-level de-identification needs --dest-lake DIR (a lake that does not exist yet)")
        if Path(dest_lake).exists():
            raise StoreError(
                f"--dest-lake {dest_lake} already exists: the destination of a dataset-level "
                "de-identification must be new (as the API's destinationDataset); pick a new folder"
            )
        pairs = [(s, s) for s in lake.stores]
    else:
        if dest_store is None:
            raise StoreError("store-level de-identification needs --dest-store NAME")
        pairs = [(store, dest_store)]
        lake.store_info(store)
    dest_root = Path(dest_lake) if dest_lake is not None else lake.root
    _check_crosswalk(crosswalk, dest_root)
    if store is not None:
        _require_store(dest_root, dest_store or "")
    key = load_key(key_file, summary.notes)
    image = Planner(request.config).image
    if image is not None and image.mode != "REDACT_NO_TEXT":
        summary.notes.append(
            f"cleanImage {image.mode} was requested, but redaction of burned-in text in pixel data is not "
            "available in this version: pixel data is copied unchanged; check the images before sharing them"
        )
    # Dataset level builds the new lake beside its final name and renames it at the end, so a run
    # killed midway leaves no destination behind.
    build = dest_root
    if store is None:
        build = dest_root.with_name(f".{dest_root.name}.partial-{secrets.token_hex(4)}")
    dest = Catalog.create_or_open(build)
    maps: list[ValueMaps] = []
    for s, d in pairs:
        disposition = "WRITE_APPEND" if store is not None else "WRITE_TRUNCATE"
        r, steps, sql = deidentify_store(
            lake,
            s,
            dest,
            d,
            request,
            key,
            spec=spec,
            workers=workers,
            uid_root=uid_root,
            maps_out=maps,
            disposition=disposition,
            final_root=dest_root.absolute(),
        )
        summary.stores.append(r)
        summary.plan[s], summary.sql[s] = steps, sql
    if build != dest_root:
        os.rename(build, dest_root)
        Catalog.open(dest_root).refresh_views()
    if crosswalk:
        write_crosswalk(maps, crosswalk)
    return summary


def _require_store(root: Path, name: str) -> None:
    cat = Catalog.open(root) if (root / "catalog.duckdb").exists() else None
    if cat is None or name not in cat.stores():
        raise StoreError(
            f"destination store '{name}' does not exist in {root} (store-level de-identification "
            f"writes into an existing store): create it with 'dicomlake store create {name} --lake {root}'"
        )


def _check_crosswalk(path: str | None, dest_root: Path) -> None:
    if path is None:
        return
    p, root = Path(path).absolute(), dest_root.absolute()
    if p == root or root in p.parents:
        raise ConfigError(
            f"--crosswalk {path} is inside the destination lake {dest_root}: it re-identifies the "
            "output, so keep it apart (write it outside the destination lake)"
        )


def write_crosswalk(maps: list[ValueMaps], path: str) -> None:
    """Original → new values (UIDs, per-patient date shifts) for the people allowed to re-identify."""
    rows = [{"kind": "UID", "original": k, "new": v} for m in maps for k, v in m.uids.items()]
    rows += [{"kind": "DATE_SHIFT_DAYS", "original": k, "new": str(v)} for m in maps for k, v in m.shifts.items()]
    pq.write_table(
        pa.Table.from_pylist(
            rows, schema=pa.schema([("kind", pa.string()), ("original", pa.string()), ("new", pa.string())])
        ),
        path,
    )


def explain(
    src: str | os.PathLike[str], request: DeidRequest, store: str | None, spec: FilterSpec | None = None
) -> DeidSummary:
    """The plan and SQL of each store, without running anything."""
    lake = Lake(src)
    summary = DeidSummary(notes=list(request.notes))
    for s in [store] if store else lake.stores:
        planner = Planner(request.config)
        maps = ValueMaps(b"explain", planner, text_rule(request.config.text))
        rel = lake.select(s, spec)
        schema = rel.limit(0).to_arrow_table().schema
        summary.plan[s] = compile_plan(planner, schema)
        method, codes = _method(planner)
        summary.sql[s] = transform_sql(
            schema, quote(s), _ctx(planner, maps), marker_columns(method, codes), _phrases(planner, schema)
        )
    return summary


def quote(name: str) -> str:
    from ..lake import quote_ident

    return quote_ident(name)
