"""The Apache Spark engine: the same lake, the same schema and the same SQL on a cluster.

- :func:`session` makes (or :func:`dicomlake.open` takes) a ``SparkSession``; Spark's TIME type
  is turned on (``spark.sql.timeType.enabled``) so TM columns keep their type, the session time
  zone is UTC (as DuckDB's timestamps), and Python workers run this interpreter.
- :func:`register` makes each store's Parquet files a Spark view named after the store, and
  the catalog tables (``dl_issues`` …) views too.
- :func:`transpile`: the SQL users write and the named queries in ``sql/`` are DuckDB SQL;
  sqlglot turns them into Spark SQL (``$name`` parameters become ``:name``, bound by Spark),
  so there is one source of truth, not two hand-kept copies.
- :func:`run_tasks`: a caller's chunks of work become Spark tasks, each running the function the
  caller gives. Ingest gives its file chunks and its converter
  (:func:`dicomlake.sources.ingest.convert_chunk`, writing a Parquet part into the lake's staging
  folder); the driver then unifies the parts' schemas and commits once, exactly as the local
  engine does. The engine knows nothing of sources or stores.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import pyarrow as pa

from ..errors import DicomlakeError

ENGINES = ("duckdb", "spark")

T = TypeVar("T")
R = TypeVar("R")


class SparkError(DicomlakeError):
    """Spark is missing or a Spark job failed."""


def session(master: str = "local[*]", app: str = "dicomlake") -> Any:
    """A SparkSession for dicomlake (an existing one with the same master is reused)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkError(
            "the Spark engine needs pyspark and Java 17+: run './dev.sh setup' (or pip install pyspark)"
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter (and dicomlake)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    try:
        spark = (
            SparkSession.builder.master(master)
            .appName(app)
            .config("spark.sql.timeType.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.pyspark.python", sys.executable)
            .config("spark.pyspark.driver.python", sys.executable)
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        return spark
    except Exception as exc:
        raise SparkError(f"Spark did not start on master {master!r}: {str(exc).splitlines()[0]}") from None


def _concat_text(node: Any) -> Any:
    """CONCAT's arguments as text, as DuckDB reads them (Spark would coerce a DATE's '' to DATE)."""
    from sqlglot import exp

    if isinstance(node, exp.Concat):
        node.set("expressions", [exp.cast(e, "VARCHAR") for e in node.expressions])
    return node


def dialect() -> Any:
    """sqlglot's Spark dialect, with TIME kept as TIME (sqlglot writes TIMESTAMP for Spark versions
    without a TIME type; with ``spark.sql.timeType.enabled`` Spark has one)."""
    global _DIALECT
    if _DIALECT is None:
        from sqlglot import exp
        from sqlglot.dialects.spark import Spark

        class Generator(Spark.Generator):  # type: ignore[name-defined,misc,valid-type]
            TYPE_MAPPING: ClassVar[dict[Any, str]] = {
                k: v for k, v in Spark.Generator.TYPE_MAPPING.items() if k != exp.DataType.Type.TIME
            }

        _DIALECT = type("SparkWithTime", (Spark,), {"Generator": Generator})()
    return _DIALECT


_DIALECT: Any = None


def parse_duckdb(sql: str) -> list[Any]:
    """DuckDB SQL as sqlglot trees."""
    import sqlglot

    try:
        return [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except sqlglot.errors.ParseError as exc:
        raise SparkError(f"SQL does not parse: {str(exc).splitlines()[0]}") from None


def transpile(sql: str) -> str:
    """DuckDB SQL → Spark SQL."""
    return ";\n".join(t.transform(_concat_text).sql(dialect=dialect()) for t in parse_duckdb(sql))


def error_line(exc: BaseException) -> str:
    """The line of a Spark error that says what went wrong (for a Python task: its exception)."""
    lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
    python = [x for x in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", x)]
    if "Python worker" in str(exc) and python:
        return python[-1]
    return lines[0] if lines else type(exc).__name__


def _spark_type(t: pa.DataType) -> Any:
    from pyspark.sql.pandas.types import from_arrow_type

    return from_arrow_type(t)


def register(
    spark: Any, stores: Mapping[str, Sequence[str]], tables: Mapping[str, pa.Table], alias: tuple[str, pa.Schema] | None
) -> None:
    """Views for the stores (their Parquet files), the catalog tables, and ``store``: the chosen
    store with the core keywords it lacks as typed NULL columns (as on DuckDB)."""
    from pyspark.sql import functions as F

    for name, files in stores.items():
        if files:
            spark.read.parquet(*files).createOrReplaceTempView(name)
    for name, table in tables.items():
        spark.createDataFrame(table).createOrReplaceTempView(name)
    if alias is not None:
        chosen, schema = alias
        df = spark.table(chosen)
        have = {c.lower() for c in df.columns}
        for f in schema:
            if f.name.lower() not in have:
                df = df.withColumn(f.name, F.lit(None).cast(_spark_type(f.type)))
        df.createOrReplaceTempView("store")


def sql(spark: Any, query: str, params: dict[str, Any] | None) -> pa.Table:
    """Run DuckDB SQL on Spark; the result as Arrow."""
    try:
        table = spark.sql(transpile(query), args=params or None).toArrow()
    except SparkError:
        raise
    except Exception as exc:
        raise SparkError(f"Spark: {str(exc).splitlines()[0]}") from None
    return to_lake_types(table)


def to_lake_types(table: pa.Table) -> pa.Table:
    """An Arrow table from Spark with the lake's types (see :func:`_lake_type`)."""
    schema = pa.schema([f.with_type(_lake_type(f.type)).with_nullable(True) for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)


def _lake_type(t: pa.DataType) -> pa.DataType:
    """The lake's type for what Spark hands back: its TIMESTAMP is in the session time zone
    (UTC), the lake's are naive UTC; its TIME comes in nanoseconds, the lake's in microseconds."""
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pa.timestamp("us")
    if pa.types.is_time64(t):
        return pa.time64("us")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(t.value_field.with_type(_lake_type(t.value_type)).with_nullable(True))
    if pa.types.is_struct(t):  # Spark marks fields of what STRUCT() builds NOT NULL; the lake's are nullable
        return pa.struct(
            [t.field(i).with_type(_lake_type(t.field(i).type)).with_nullable(True) for i in range(t.num_fields)]
        )
    return t


def run_tasks(
    spark: Any,
    task: Callable[[int, list[T]], R],
    chunks: Sequence[Sequence[T]],
    progress: Callable[[int], None],
    what: str = "job",
) -> list[R]:
    """Run ``task(index, chunk)`` for each chunk as a Spark task (one partition each); the results
    in order. ``task`` is shipped to the executors, so it must pickle (a module-level function, or
    a :func:`functools.partial` of one); ``progress`` is told how many items are done; ``what``
    names the work in the error when the job fails."""
    items = [(i, list(c)) for i, c in enumerate(chunks)]
    rdd = spark.sparkContext.parallelize(items, max(1, len(items)))
    try:
        results = rdd.map(lambda item: task(*item)).collect()
    except Exception as exc:
        raise SparkError(f"Spark {what} failed: {str(exc).splitlines()[0]}") from None
    progress(sum(len(c) for c in chunks))
    return list(results)
