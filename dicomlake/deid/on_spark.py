"""De-identification on Spark: the plan's SQL on a cluster, and rematerialization in its tasks.

The transform is the sqlglot tree :mod:`.sqlgen` builds (the one DuckDB runs), rewritten for Spark
by :data:`SPARK_RULES` and rendered with sqlglot's Spark dialect: one source of truth, no SQL
text parsed again. Spark cannot call a Python function inside a lambda
(``transform(seq, it -> f(it.X))`` is refused), and the per-value work of :mod:`.udfs` happens
inside lambdas wherever sequences and multi-valued elements are. So the rules, in order:

- :func:`shift_dates`: ``dl_shift_date`` / ``dl_shift_ts`` become Spark's date arithmetic on the
  row's shift in days, computed once per row from the patient by the same keyed rule.
- :func:`per_value_lookups`: ``dl_uid``, ``dl_clean``, ``dl_keep_path`` and ``dl_keep_private``
  become lookups (``try_element_at``) in a per-row map. A subquery gathers every value the row
  passes to the function, at any depth (the same lambdas, gathering instead of rewriting), and
  one Python function per row maps them with the same :class:`~.udfs.ValueMaps`, per distinct
  value.
- :func:`slices`: DuckDB's ``list[a:b]`` is Spark's ``slice(list, a, b - a + 1)``.
- :func:`row_ids`: ``dl_row`` is any unique number (Spark's ``row_number()`` needs an ORDER BY).

Rematerialization runs in the tasks (``mapInArrow``): each task inspects the pixels of its
rows when burned-in text is cleaned, writes their files into the destination's staging folder
(which must be on storage every executor and the driver see), and stages one Parquet part of
its finished rows; the driver publishes the parts as one version, as ingest on Spark does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..engines.spark import SparkError, dialect, error_line, to_lake_types
from ..errors import StoreError
from .config import ImageConfig
from .udfs import ValueMaps

#: The per-value functions answered from per-row maps: function → the map column.
MAP_OF = {"dl_uid": "dl_m_uid", "dl_clean": "dl_m_clean", "dl_keep_path": "dl_m_keep", "dl_keep_private": "dl_m_keep"}
#: The Python function that builds each map column from the gathered values.
BUILDER = {"dl_m_uid": "dl_uid_map", "dl_m_clean": "dl_clean_map", "dl_m_keep": "dl_keep_map"}
SHIFT_DAYS = "dl_shift_days"


@dataclass
class Rewrite:
    """What the rules found while rewriting: the values each map column gathers, and whether
    any date is shifted (the row then needs its shift in days)."""

    gathered: dict[str, list[exp.Expr]] = field(default_factory=dict)
    shifts: bool = False


def _call(node: exp.Expr, *names: str) -> str | None:
    """The name of a call of one of ``names`` (dicomlake's functions), else None."""
    if isinstance(node, exp.Anonymous) and node.name.lower() in names:
        return node.name.lower()
    return None


def shift_dates(node: exp.Expr, found: Rewrite) -> exp.Expr:
    """``dl_shift_date(d, dl_patient)`` → ``DATE_ADD(d, dl_shift_days)``; ``dl_shift_ts`` → ``TIMESTAMPADD``."""
    name = _call(node, "dl_shift_date", "dl_shift_ts")
    if name is None:
        return node
    found.shifts = True
    value, days = node.expressions[0].copy(), exp.column(SHIFT_DAYS)
    if name == "dl_shift_date":
        return exp.func("DATE_ADD", value, days)
    return exp.Anonymous(this="TIMESTAMPADD", expressions=[exp.var("DAY"), days, value])


def _key(node: exp.Anonymous) -> exp.Expr:
    """The lookup key of a per-value call: the value (``dl_clean``: its VR, two letters, first)."""
    args = node.expressions
    if node.name.lower() != "dl_clean":
        return args[0].copy()
    value, context, vr = args
    if not (isinstance(context, exp.Column) and context.name == "dl_context" and isinstance(vr, exp.Literal)):
        raise AssertionError(f"unexpected dl_clean call: {node.sql()}")
    return exp.func("CONCAT", vr.copy(), value.copy())


def _gather(node: exp.Expr, key: exp.Expr) -> exp.Expr:
    """An expression of the row listing every value ``key`` takes at ``node``: each lambda around
    it becomes a ``transform`` over the same array, flattened (an absent array gives none)."""
    out: exp.Expr = exp.Array(expressions=[key])
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.Lambda):
            hof = parent.parent  # transform(array, lambda) or filter(array, lambda)
            assert hof is not None
            array = hof.this.copy()
            if any(a.name.lower().startswith("dl_") for a in array.find_all(exp.Anonymous)):
                raise AssertionError(f"a per-value call in a lambda's array: {array.sql()}")
            each = exp.Lambda(this=out, expressions=[v.copy() for v in parent.expressions])
            out = exp.func(
                "COALESCE", exp.func("FLATTEN", exp.func("TRANSFORM", array, each)), exp.Array(expressions=[])
            )
        parent = parent.parent
    return out


def per_value_lookups(node: exp.Expr, found: Rewrite) -> exp.Expr:
    """``dl_uid(v)`` → ``TRY_ELEMENT_AT(dl_m_uid, v)`` (and so on, :data:`MAP_OF`); the values
    the call sees in the row are gathered for the map's builder."""
    name = _call(node, *MAP_OF)
    if name is None:
        return node
    assert isinstance(node, exp.Anonymous)
    key = _key(node)
    found.gathered.setdefault(MAP_OF[name], []).append(_gather(node, key.copy()))
    return exp.func("TRY_ELEMENT_AT", exp.column(MAP_OF[name]), key)


def slices(node: exp.Expr, found: Rewrite) -> exp.Expr:
    """DuckDB's ``list[a:b]`` → Spark's ``SLICE(list, a, b - a + 1)``."""
    if not (
        isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice)
    ):
        return node
    piece = node.expressions[0]
    start, end = int(piece.this.name), int(piece.expression.name)
    return exp.func("SLICE", node.this.copy(), exp.Literal.number(start), exp.Literal.number(max(0, end - start + 1)))


def row_ids(node: exp.Expr, found: Rewrite) -> exp.Expr:
    """``row_number() OVER ()`` → ``MONOTONICALLY_INCREASING_ID()``: ``dl_row`` is any unique number."""
    if isinstance(node, exp.Window):
        return exp.Anonymous(this="MONOTONICALLY_INCREASING_ID")
    return node


#: The rewrites from the DuckDB tree to the Spark tree, applied in this order (one pass each).
SPARK_RULES: tuple[Callable[[exp.Expr, Rewrite], exp.Expr], ...] = (
    shift_dates,
    per_value_lookups,
    slices,
    row_ids,
)


def spark_trees(tree: exp.Select) -> tuple[exp.Expr, exp.Expr]:
    """The transform's tree rewritten for Spark (module doc; ``tree`` itself is left as it is),
    and a query listing the distinct UIDs and patients it maps (for ``--crosswalk``)."""
    found = Rewrite()
    spark: exp.Expr = tree.copy()
    for rule in SPARK_RULES:
        spark = spark.transform(rule, found, copy=False)
    extra = [
        exp.alias_(
            exp.Anonymous(
                this=BUILDER[col],
                expressions=[exp.func("CONCAT", *parts) if len(parts) > 1 else parts[0]]
                + ([exp.column("dl_context")] if col == "dl_m_clean" else []),
            ),
            col,
        )
        for col, parts in found.gathered.items()
    ]
    if found.shifts:
        extra.append(exp.alias_(exp.Anonymous(this=SHIFT_DAYS, expressions=[exp.column("dl_patient")]), SHIFT_DAYS))
    sub = spark.args["from_"].this
    rows = exp.Subquery(this=sub.this.copy(), alias=exp.TableAlias(this=exp.to_identifier("dl_rows")))
    uids = found.gathered.get("dl_m_uid") or [exp.Array(expressions=[])]
    listing = exp.union(
        exp.select(
            exp.alias_(exp.Literal.string("UID"), "kind"),
            exp.alias_(exp.func("EXPLODE", exp.func("CONCAT", *uids)), "value"),
        ).from_(rows.copy()),
        exp.select(
            exp.alias_(exp.Literal.string("PATIENT" if found.shifts else ""), "kind"),
            exp.alias_(exp.column("dl_patient"), "value"),
        ).from_(rows.copy()),
        distinct=True,
    )
    if extra:
        sub.set("this", exp.select(exp.Star(), *extra).from_(rows))
    return spark, listing


def spark_sql(tree: exp.Select) -> tuple[str, str]:
    """The transform (:func:`spark_trees`) and its crosswalk listing as Spark SQL."""
    spark, listing = spark_trees(tree)
    return spark.sql(dialect=dialect(), pretty=True), listing.sql(dialect=dialect(), pretty=True)


def register_functions(spark: Any, maps: ValueMaps) -> None:
    """The map builders and the shift as Spark functions over ``maps`` (shipped to the tasks)."""
    from pyspark.sql.functions import udf
    from pyspark.sql.types import BooleanType, IntegerType, MapType, StringType

    def uid_map(values: list[str | None] | None) -> dict[str, str]:
        return {v: maps.uid(v) for v in values or () if v is not None}

    def clean_map(keys: list[str | None] | None, context: str | None) -> dict[str, str]:
        return {k: (maps.clean(k[2:], context or "", k[:2]) if k[2:] else k[2:]) for k in keys or () if k}

    def keep_map(paths: list[str | None] | None) -> dict[str, bool]:
        return {p: maps.keep_path(p) for p in paths or () if p is not None}

    def shift_days(patient: str | None) -> int:
        return maps.shift(patient)

    text = StringType()
    spark.udf.register("dl_uid_map", udf(uid_map, MapType(text, text), useArrow=True))
    spark.udf.register("dl_clean_map", udf(clean_map, MapType(text, text), useArrow=True))
    spark.udf.register("dl_keep_map", udf(keep_map, MapType(text, BooleanType()), useArrow=True))
    spark.udf.register(SHIFT_DAYS, udf(shift_days, IntegerType(), useArrow=True))


def source_view(spark: Any, files: list[str], spec_table: pa.Table | None, name: str) -> None:
    """The store's Parquet files (or the rows a filter selects) as the view ``name``."""
    from ..store.filterfile import selection_tree

    df = spark.read.parquet(*files)
    if spec_table is None:
        df.createOrReplaceTempView(name)
        return
    df.createOrReplaceTempView(f"{name}_all")
    spark.createDataFrame(spec_table).createOrReplaceTempView(f"{name}_filter")
    selection = selection_tree(f"{name}_all", f"{name}_filter").sql(dialect=dialect())
    spark.sql(selection).createOrReplaceTempView(name)


RESULT = pa.schema(
    [
        ("part", pa.string()),
        ("rows", pa.int64()),
        ("failures", pa.string()),
        ("inspected", pa.int64()),
        ("redacted", pa.int64()),
    ]
)


def _write_partition(
    batches: Iterator[pa.RecordBatch], stage: str, final_files: str, image: ImageConfig | None
) -> Iterator[pa.RecordBatch]:
    """One task: for each Arrow batch of its rows as it arrives, their files and a Parquet part."""
    from ..store.publish import write_parquet
    from .write import StoreResult, write_rows

    for batch in batches:
        if batch.num_rows == 0:
            continue
        tally = StoreResult("", "")
        table = to_lake_types(pa.Table.from_batches([batch]))
        out = write_rows(table, image, 1, Path(stage) / "files", Path(final_files), tally)
        part = Path(stage) / f"deid-{uuid.uuid4().hex}.parquet"
        write_parquet(out, part)
        row = {
            "part": [str(part)],
            "rows": [out.num_rows],
            "failures": [json.dumps(tally.failures + tally.issues, default=str)],  # issues: severity warning
            "inspected": [tally.inspected],
            "redacted": [tally.redacted],
        }
        yield pa.RecordBatch.from_pydict(row, schema=RESULT)


def run_transform(
    spark: Any, tree: exp.Select, stage: Path, final_files: Path, image: ImageConfig | None
) -> tuple[list[Path], list[dict[str, Any]], int, int]:
    """Run the transform and the rematerialization on Spark: (parts, failures, inspected, redacted)."""
    stage_s, final_s = str(stage), str(final_files)
    try:
        df = spark.sql(spark_sql(tree)[0])
        rows = df.mapInArrow(lambda it: _write_partition(it, stage_s, final_s, image), _spark_schema()).collect()
    except (StoreError, SparkError):
        raise
    except Exception as exc:
        raise SparkError(f"Spark de-identification failed: {error_line(exc)}") from None
    parts = [Path(r["part"]) for r in rows]
    failures = [f for r in rows for f in json.loads(r["failures"])]
    return parts, failures, sum(r["inspected"] for r in rows), sum(r["redacted"] for r in rows)


def crosswalk(spark: Any, tree: exp.Select, maps: ValueMaps) -> None:
    """Fill ``maps`` with the UIDs and per-patient shifts the run mapped (the tasks' own maps stay
    on the executors): one more pass over the source, only for ``--crosswalk``."""
    try:
        rows = spark.sql(spark_sql(tree)[1]).collect()
    except Exception as exc:
        raise SparkError(f"Spark crosswalk failed: {error_line(exc)}") from None
    for kind, value in rows:
        if kind == "UID" and value is not None:
            maps.uid(value)
        elif kind == "PATIENT":
            maps.shift(value)


def _spark_schema() -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(RESULT)
