"""De-identify a lake or a store: compile the plan, run the SQL transform, rematerialize, publish.

Dataset level (``datasets.deidentify``): every store of the source lake goes to a store of the
same name in a destination lake that must not exist. Store level (``dicomStores.deidentify``):
one store (or what a filter selects) into a destination store that must exist; instances
already there with the same SOPInstanceUID are overwritten. Output files live in the
destination lake and its store's ``dl_source`` points at them.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from ..codec.dictionary import PIXEL_DATA
from ..errors import Command, ConfigError, Param, StoreError
from ..progress import enabled_here, progress_bar
from ..sources.files import Source
from ..store.catalog import Catalog, new_connection
from ..store.filterfile import FilterSpec
from ..store.publish import Part, part_of, publish_table, staged_part, tables_of, write_parquet
from ..store.views import LakeView
from .config import DeidRequest, ImageConfig, Note
from .markers import Markers, date_outcome, decide, text_changes
from .plan import Planner, Step, compile_plan
from .sqlgen import Ctx, marker_columns, pn_empty, pn_struct, pn_text, transform_tree
from .sqltree import duckdb_sql, lit, own, udf
from .udfs import ValueMaps, text_rule
from .write import StoreResult, write_rows


@dataclass
class DeidSummary:
    stores: list[StoreResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: dict[str, list[Step]] = field(default_factory=dict)
    sql: dict[str, str] = field(default_factory=dict)
    ocr: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # store → (mode, instances OCR reads)
    markers: dict[str, Markers] = field(default_factory=dict)  # store → its de-identification markers

    @property
    def failed(self) -> int:
        return sum(len(s.failures) for s in self.stores)


def load_key(key_file: str | os.PathLike[str] | None, notes: list[str]) -> bytes:
    if key_file is None:
        notes.append(
            Note.of(
                "no ",
                Param("key_file"),
                ": a random key was made for this run, so UIDs and date shifts will not "
                "match another run (make a key with ",
                Command("base64.b64encode(secrets.token_bytes(32)) written to a file", "keygen", (">", "key")),
                " to repeat them)",
            )
        )
        return secrets.token_bytes(32)
    try:
        key = base64.b64decode(Path(key_file).read_text().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            Param("key_file", key_file),
            f": cannot read a base64 key ({exc}); make one with ",
            Command("base64.b64encode(secrets.token_bytes(32))", "keygen"),
        ) from None
    if len(key) < 16:
        raise ConfigError(
            Param("key_file", key_file),
            f": the key has {len(key)} bytes; use at least 16 (",
            Command("base64.b64encode(secrets.token_bytes(32))", "keygen"),
            ")",
        )
    return key


def _ctx(planner: Planner, maps: ValueMaps) -> Ctx:
    rule = maps.rule
    person = rule.choose("PERSON_NAME")
    pn: Callable[[exp.Expr], exp.Expr]
    if person is None:
        pn = lambda r: r  # noqa: E731
    elif person.kind == "replaceWithInfoType":
        pn = lambda r: pn_struct(lit("[PERSON_NAME]"))  # noqa: E731
    elif person.kind == "redact":
        pn = lambda r: pn_empty()  # noqa: E731
    else:
        pn = lambda r: pn_struct(  # noqa: E731
            udf("dl_clean", pn_text(r, ("FamilyName", "GivenName")), own("dl_context"), lit("PN"))
        )
    return Ctx(planner, pn, text_changes(rule), date_outcome(rule), [])


def descriptor_columns(schema: pa.Schema) -> list[str]:
    """Text columns coded D, Z, X or U in Table E.1-1: their values are [CTX] phrases."""
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


#: Plan actions whose element's value does not reach the output: its value is context for the others.
HIDDEN_ACTIONS = frozenset({"remove", "delete", "reset", "regen_uid"})


def _phrases(planner: Planner, schema: pa.Schema) -> list[str]:
    """Clean Descriptors: text columns coded D, Z, X or U that the plan removes or replaces feed
    the [CTX] phrase list; a column the plan keeps or cleans (a descriptor) never counts as
    context, so no value is its own context."""
    from .plan import field_tag_vr

    if not planner.clean_descriptors:
        return []
    return [c for c in descriptor_columns(schema) if planner.decide(*field_tag_vr(c)).action in HIDDEN_ACTIONS]


def store_markers(planner: Planner, maps: ValueMaps, schema: pa.Schema, steps: list[Step]) -> Markers:
    """The de-identification markers of this store's plan (:mod:`.markers`); written only when the
    plan changes anything (KEEP_ALL that keeps every element gives the source's files back)."""
    m = decide(planner, maps.rule, steps, "OtherElements" in schema.names)
    return dataclasses.replace(m, written=any(s.action not in ("keep", "recurse") for s in steps))


def transform(planner: Planner, maps: ValueMaps, schema: pa.Schema, source: str, steps: list[Step]) -> exp.Select:
    """The transform's SELECT over the table ``source``, as a tree (:mod:`.sqlgen`); the
    de-identification markers are set when the plan changes anything."""
    m = store_markers(planner, maps, schema, steps)
    markers = marker_columns(m.removed, list(m.method), m.code_items()) if m.written else {}
    image = descriptor_columns(schema) if planner.pixel_image() is not None else None
    return transform_tree(schema, source, _ctx(planner, maps), markers, _phrases(planner, schema), image)


def plan_steps(planner: Planner, schema: pa.Schema) -> list[Step]:
    """The element-level plan, with what cleaning burned-in text sets (BurnedInAnnotation)."""
    steps = compile_plan(planner, schema)
    image = planner.pixel_image()
    if image is not None:
        why = f"cleanImage {image.mode}: NO on every image read by OCR"
        steps = [s for s in steps if s.path not in ("BurnedInAnnotation", "PixelData")]
        pixel = planner.decide(PIXEL_DATA, "OB").why
        steps.append(Step("PixelData", "PixelData", "7FE00010", "OB", "clean_image", f"{pixel} (from the source file)"))
        steps.append(Step("BurnedInAnnotation", "BurnedInAnnotation", "00280301", "CS", "set", why))
    return steps


BATCH_ROWS = 5_000  # source rows transformed and rematerialized at a time


def transform_store(
    lake: LakeView, store: str, planner: Planner, maps: ValueMaps, spec: FilterSpec | None
) -> tuple[list[Step], exp.Select, pa.Table]:
    """Plan, SQL tree and the transformed table of one store (all of it at once: see :func:`transform_batches`)."""
    steps, tree, batches = transform_batches(lake, store, planner, maps, spec)
    return steps, tree, pa.concat_tables(list(batches))


def transform_batches(
    lake: LakeView, store: str, planner: Planner, maps: ValueMaps, spec: FilterSpec | None, rows: int | None = None
) -> tuple[list[Step], exp.Select, Iterator[pa.Table]]:
    """Plan, SQL tree and the transformed rows of one store, about ``rows`` (default :data:`BATCH_ROWS`)
    source rows per table (at least one table): the store is read as a stream and each batch
    transformed on a connection of its own, so that memory does not grow with the store."""
    rel = lake.select(store, spec)
    schema = rel.limit(0).to_arrow_table().schema
    steps = plan_steps(planner, schema)
    tree = transform(planner, maps, schema, "dl_deid_source", steps)
    sql = duckdb_sql(tree)
    con = new_connection()
    maps.register(con)

    def batches() -> Iterator[pa.Table]:
        empty = True
        for table in tables_of(rel.to_arrow_reader(rows or BATCH_ROWS), rows or BATCH_ROWS):
            empty = False
            con.register("dl_deid_source", table)
            yield con.sql(sql).to_arrow_table()
        if empty:
            con.register("dl_deid_source", schema.empty_table())
            yield con.sql(sql).to_arrow_table()

    return steps, tree, batches()


def _write_batch(
    table: pa.Table, index: int, image: ImageConfig | None, workers: int, stage: Path, final: Path, result: StoreResult
) -> Part:
    """Rematerialize one batch of transformed rows and stage the rows written as a Parquet part."""
    result.selected += table.num_rows
    out = write_rows(table, image, workers, stage / "files", final, result)
    result.success += out.num_rows
    result.written += zip(out.column("SOPInstanceUID").to_pylist(), out.column("dl_source").to_pylist(), strict=True)
    path = stage / f"deid-{index:06d}.parquet"
    write_parquet(out, path)
    return part_of(path, out)


def _publish(
    dest: Catalog,
    name: str,
    rows: pa.Table | list[Part],
    stage: Path,
    files_dir: Path,
    result: StoreResult,
    started: dt.datetime,
    disposition: str,
) -> None:
    """Publish the de-identified rows (a table, or the Parquet parts Spark tasks staged)."""
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
        rows,
        disposition,
        stage,
        tally=result,
        issues=[_without_source(i) for i in result.failures + result.issues],
        operation=op,
        file_set=files_dir,
    )


def _without_source(issue: dict[str, Any]) -> dict[str, Any]:
    """An issue as the de-identified destination records it: without the source's path (nor the
    archive holding it) in ``path`` or ``reason``, since a source folder is often named after the
    patient. The command lists the paths to whoever runs it."""
    reason, path = issue.get("reason") or "", issue.get("path")
    while path:
        reason = reason.replace(path, "the source")
        path = path.rpartition("::")[2] if "::" in path else None
    return {**issue, "path": None, "reason": reason}


def deidentify_store(
    lake: LakeView,
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
    spark: Any = None,
) -> tuple[StoreResult, list[Step], exp.Select]:
    """De-identify one store; its result, plan and transform (the SQL tree both engines run)."""
    planner = Planner(request.config)
    maps = ValueMaps(key, planner, text_rule(request.config.text), uid_root)
    if spark is not None:
        return _deidentify_on_spark(
            lake, store, dest, dest_store, planner, maps, spec, disposition, final_root, spark, maps_out
        )
    steps, tree, batches = transform_batches(lake, store, planner, maps, spec)
    schema = lake.select(store, spec).limit(0).to_arrow_table().schema
    result = StoreResult(store, dest_store, markers=store_markers(planner, maps, schema, steps))
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with dest.write_lock():
        stage = dest.staging()
        files_dir = dest.root / "files" / dest_store / stage.name
        final_dir = (final_root or dest.root) / "files" / dest_store / stage.name
        image = planner.pixel_image()
        total = lake.select(store, spec).count("*").fetchall()[0][0] if enabled_here() else None  # for the bar
        advance, stop = progress_bar(f"de-identify {store}", total)
        parts = []
        try:
            for i, t in enumerate(batches):  # each batch is transformed as it is taken
                parts.append(_write_batch(t, i, image, workers, stage, final_dir, result))
                advance(t.num_rows)
        finally:
            stop()
        _publish(dest, dest_store, parts, stage, files_dir, result, started, disposition)
    maps_out.append(maps)
    return result, steps, tree


def _deidentify_on_spark(
    lake: LakeView,
    store: str,
    dest: Catalog,
    dest_store: str,
    planner: Planner,
    maps: ValueMaps,
    spec: FilterSpec | None,
    disposition: str,
    final_root: Path | None,
    spark: Any,
    maps_out: list[ValueMaps],
) -> tuple[StoreResult, list[Step], exp.Select]:
    """The same plan and SQL, run by Spark; files written by its tasks (:mod:`.on_spark`)."""
    from .on_spark import register_functions, run_transform, source_view

    schema = lake.select(store, spec).limit(0).to_arrow_table().schema
    steps = plan_steps(planner, schema)
    tree = transform(planner, maps, schema, "dl_deid_source", steps)
    result = StoreResult(store, dest_store, markers=store_markers(planner, maps, schema, steps))
    source_view(spark, list(lake.store_info(store).files), spec.table() if spec else None, "dl_deid_source")
    register_functions(spark, maps)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with dest.write_lock():
        stage = dest.staging()
        files_dir = dest.root / "files" / dest_store / stage.name
        final_dir = (final_root or dest.root) / "files" / dest_store / stage.name
        parts, failures, result.inspected, result.redacted = run_transform(
            spark, tree, stage, final_dir, planner.pixel_image()
        )
        result.failures += [f for f in failures if f["severity"] == "error"]
        result.issues += [f for f in failures if f["severity"] != "error"]  # warnings raised while writing
        staged = [staged_part(p) for p in parts]
        result.written = [(u or "", src) for part in staged for u, src in zip(part.uids, part.sources, strict=True)]
        result.success = len(result.written)
        result.selected = result.success + len(result.failures)
        _publish(dest, dest_store, staged, stage, files_dir, result, started, disposition)
    maps_out.append(maps)
    return result, steps, tree


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
    overwrite: bool = False,
    dest_dicomweb: str | None = None,
    spark: Any = None,
) -> DeidSummary:
    """Run a de-identification (dataset level when ``store`` is None, else store level);
    ``crosswalk``: write original → new values to this new file (``overwrite``: replace an existing one);
    ``dest_dicomweb``: also send the de-identified instances to this DICOMweb server (STOW-RS);
    ``spark``: a SparkSession to run the transform and the rematerialization on."""
    check_level(store, dest_store, spec)
    summary = DeidSummary(notes=list(request.notes))
    lake = LakeView(src)
    workers = workers or os.cpu_count() or 1
    if store is None:
        if dest_lake is None:
            raise StoreError(
                "dataset-level de-identification needs ",
                Param("dest_lake", metavar="DIR"),
                " (a lake that does not exist yet)",
            )
        if _inside(Path(dest_lake), lake.root):
            raise StoreError(
                Param("dest_lake", dest_lake),
                f" is inside the source lake {lake.root}: the de-identified lake "
                "must be kept apart from the original; pick a folder outside it",
            )
        if Path(dest_lake).exists():
            raise StoreError(
                Param("dest_lake", dest_lake),
                " already exists: the destination of a dataset-level "
                "de-identification must be new (as the API's destinationDataset); pick a new folder",
            )
        pairs = [(s, s) for s in lake.stores]
    else:
        if dest_store is None:
            raise StoreError("store-level de-identification needs ", Param("dest_store", metavar="NAME"))
        pairs = [(store, dest_store)]
        lake.store_info(store)
        if spec is not None:
            lake.check_filter(spec, store).require_any(store)
    dest_root = Path(dest_lake) if dest_lake is not None else lake.root
    if store is not None and (dest_store or "").lower() == store.lower() and dest_root.resolve() == lake.root.resolve():
        raise StoreError(
            Param("dest_store", dest_store),
            f" is the source store itself (in {lake.root}): a store is never its own "
            "destination, real and de-identified rows would mix; create another store with ",
            Command("lake.create_store(NAME)", "store create"),
        )
    _check_crosswalk(crosswalk, dest_root, overwrite)
    if store is not None:
        _require_store(dest_root, dest_store or "")
    key = load_key(key_file, summary.notes)
    image = Planner(request.config).pixel_image()
    if image is not None:
        from ..pixels.ocr import check_tesseract
        from .burned import unsupported_info_types

        check_tesseract()
        if unknown := unsupported_info_types(image):
            summary.notes.append(
                f"image additionalInfoTypes {', '.join(unknown)} have no detector here and are not searched "
                "for in burned-in text; add customRegexes for them"
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
        r, steps, tree = deidentify_store(
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
            spark=spark,
        )
        if spark is not None and crosswalk:
            from .on_spark import crosswalk as spark_crosswalk

            spark_crosswalk(spark, tree, maps[-1])
        summary.stores.append(r)
        summary.plan[s], summary.sql[s] = steps, duckdb_sql(tree)
        if r.markers is not None:
            summary.markers[s] = r.markers
            if not r.markers.removed:
                summary.notes.append(r.markers.warning(s))
    if build != dest_root:
        os.rename(build, dest_root)
        Catalog.open(dest_root).refresh_views()
    if crosswalk:
        write_crosswalk(maps, crosswalk)
    if dest_dicomweb:
        from ..sources.dicomweb import Server
        from ..sources.stow import stow

        server = Server.from_env(dest_dicomweb)
        for r in summary.stores:
            refused = stow(server, [(u, Source(p)) for u, p in r.written])
            r.sent = len(r.written) - len(refused)
            r.failures += [{**f, "reason": f"STOW-RS to {server.url}: {f['reason']}"} for f in refused]
    return summary


def check_level(store: str | None, dest_store: str | None, spec: FilterSpec | None) -> None:
    """A destination store and a filter are for store level: a dataset-level run (no ``store``)
    refuses them rather than filtering every store."""
    if store is None and (dest_store is not None or spec is not None):
        raise StoreError(
            Param("dest_store"),
            " and ",
            Param("spec"),
            " are for store-level de-identification: add ",
            Param("store", metavar="NAME"),
        )


def _require_store(root: Path, name: str) -> None:
    cat = Catalog.open(root) if Catalog.exists(root) else None
    if cat is None or name not in cat.stores():
        raise StoreError(
            f"destination store '{name}' does not exist in {root} (store-level de-identification "
            "writes into an existing store): create it with ",
            Command(
                f"dicomlake.open({str(root)!r}, create=True).create_store({name!r})",
                "store create",
                (name,),
                (Param("lake", root),),
            ),
        )


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or below it (links resolved)."""
    p, root = path.resolve(), folder.resolve()
    return p == root or root in p.parents


def _check_crosswalk(path: str | None, dest_root: Path, overwrite: bool) -> None:
    if path is None:
        return
    if _inside(Path(path), dest_root):
        raise ConfigError(
            Param("crosswalk", path),
            f" is inside the destination lake {dest_root}: it re-identifies the "
            "output, so keep it apart (write it outside the destination lake)",
        )
    if Path(path).exists() and not overwrite:
        raise ConfigError(
            Param("crosswalk", path),
            " already exists and may be the only way back from an earlier run's output: choose a new file, or pass ",
            Param("overwrite", True),
            " to replace it",
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
    src: str | os.PathLike[str],
    request: DeidRequest,
    store: str | None,
    spec: FilterSpec | None = None,
    spark: bool = False,
) -> DeidSummary:
    """The plan and SQL of each store, without running anything (``spark``: the SQL Spark runs)."""
    lake = LakeView(src)
    summary = DeidSummary(notes=list(request.notes))
    for s in [store] if store else lake.stores:
        planner = Planner(request.config)
        maps = ValueMaps(b"explain", planner, text_rule(request.config.text))
        rel = lake.select(s, spec)
        schema = rel.limit(0).to_arrow_table().schema
        summary.plan[s] = steps = plan_steps(planner, schema)
        tree = transform(planner, maps, schema, s, steps)
        summary.sql[s] = duckdb_sql(tree)
        summary.markers[s] = store_markers(planner, maps, schema, steps)
        if spark:
            from .on_spark import spark_sql

            summary.sql[s] = spark_sql(tree)[0]
        image = planner.pixel_image()
        if image is not None and "DroppedTags" in schema.names:
            uids = rel.filter("list_contains(DroppedTags, 'PixelData')").select("SOPInstanceUID").fetchall()
            summary.ocr[s] = (image.mode, sorted(str(u) for (u,) in uids))
    return summary
