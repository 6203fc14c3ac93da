"""The Python API: ``lake = dicomlake.open(DIR)``; queries return DuckDB relations.

A :class:`Lake` keeps an in-memory DuckDB connection with a view per store over its Parquet
files, so it never holds the catalog open: other processes can ingest meanwhile, and the views
follow their commits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from .codec.dictionary import keyword_entry
from .codec.schema import entry_type
from .errors import FilterFileError, QueryError, SourceError, StoreError
from .query.filterfile import FilterSpec, paths_from_table, selection_sql, unmatched_sql
from .query.named import NamedQuery, get_named, named_queries, parse_sql_file
from .sources.dicomweb import Server, is_url
from .sources.harvest import harvest
from .sources.ingest import IngestSummary
from .sources.ingest import ingest as _ingest
from .store.catalog import Catalog, StoreInfo, new_connection, quote_ident, quote_literal

#: Keywords the ``store`` view always has (NULL where the store has none), so named queries
#: run on any store.
CORE_KEYWORDS = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyDescription",
    "AccessionNumber",
    "SeriesDate",
    "SeriesTime",
    "SeriesDescription",
    "SeriesNumber",
    "Modality",
    "BodyPartExamined",
    "SOPClassUID",
    "InstanceNumber",
)
_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.time64("us"): "TIME",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.timestamp("us"): "TIMESTAMP",
}


@dataclass(frozen=True)
class FilterCheck:
    """What a filter file selects in a store."""

    source: str
    lines: int
    studies: int
    series: int
    instances: int
    unmatched: list[tuple[int, str]]  # (line number, path) of lines that match nothing

    def summary(self, limit: int = 10) -> str:
        text = (
            f"{self.source}: {_n(self.lines, 'line')} select {_n(self.studies, 'study', 'studies')}, "
            f"{_n(self.series, 'series', 'series')}, {_n(self.instances, 'instance')}"
        )
        if self.unmatched:
            shown = "; ".join(f"line {n}: {p}" for n, p in self.unmatched[:limit])
            more = f" (and {len(self.unmatched) - limit} more)" if len(self.unmatched) > limit else ""
            text += f"\n{len(self.unmatched)} lines match nothing in the store: {shown}{more}"
        return text

    def require_any(self, store: str) -> None:
        """Raise :class:`FilterFileError` when the filter selects nothing in ``store``: an export
        or de-identification that would do nothing is an error, not a success."""
        if self.instances:
            return
        if not self.lines:
            raise FilterFileError(
                f"filter file {self.source} is empty, so it selects nothing and nothing was written "
                "(a failed 'dicomlake filter ... > FILE' leaves an empty file): write it again"
            )
        raise FilterFileError(
            f"filter file {self.source} selects nothing in store '{store}': none of its {_n(self.lines, 'line')} "
            f"matches an instance (line {self.unmatched[0][0]}: {self.unmatched[0][1]}), so nothing was written"
        )


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


class Lake:
    """An open lake. ``sql``/``query``/``table`` return lazy DuckDB relations."""

    def __init__(self, root: str | os.PathLike[str], spark: Any = None) -> None:
        self.spark = spark  # a SparkSession: SQL runs on Spark (results still come back as relations)
        self._spark_views: tuple[float | None, str | None] | None = None
        self.catalog = Catalog.open(root)
        self.root = self.catalog.root
        self.con = new_connection()
        self._stamp: float | None = None
        self._stores: dict[str, StoreInfo] = {}
        self._damaged: dict[str, list[str]] = {}
        self.refresh()

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r}, stores={list(self._stores)})"

    # ---- catalog → views ---------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Re-read the catalog if another process committed since the last look."""
        stamp = os.stat(self.catalog.path).st_mtime_ns
        wal = self.catalog.path.with_name(self.catalog.path.name + ".wal")
        if wal.exists():
            stamp += os.stat(wal).st_mtime_ns
        if stamp == self._stamp and not force:
            return
        self._stores = self.catalog.stores()
        self._damaged = {}
        for name, info in self._stores.items():
            missing = [f for f in info.files if not os.path.exists(f)]
            if missing:  # a damaged store must not take the whole lake down
                self.con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")
                self._damaged[name] = missing
                continue
            files = ", ".join(quote_literal(f) for f in info.files)
            self.con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM read_parquet([{files}])")
        with self.catalog.connect(read_only=True) as cat:
            for table in ("dl_issues", "dl_stores", "dl_operations"):
                arrow = cat.sql(f"SELECT * FROM {table}").to_arrow_table()
                self.con.register(f"_{table}_arrow", arrow)
                self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _{table}_arrow")
                self.con.unregister(f"_{table}_arrow")
        self._stamp = stamp

    @property
    def stores(self) -> list[str]:
        self.refresh()
        return list(self._stores)

    def store_info(self, name: str) -> StoreInfo:
        self.refresh()
        if name in self._damaged:
            missing = self._damaged[name]
            raise StoreError(
                f"store {name!r} is damaged: {len(missing)} of its data files are missing (e.g. {missing[0]}); "
                f"re-ingest it with --write-disposition WRITE_TRUNCATE, or 'dicomlake store drop {name}'"
            )
        if name not in self._stores:
            return self.catalog.store(name)  # raises the helpful error
        return self._stores[name]

    def _select_store(self, store: str | None) -> str | None:
        if store is not None:
            self.store_info(store)
            return store
        return next(iter(self._stores)) if len(self._stores) == 1 else None

    def _alias(self, store: str | None, required: bool) -> None:
        chosen = self._select_store(store)
        if chosen is None:
            if required:
                names = ", ".join(self._stores) or "none"
                raise QueryError(f"this query reads the table 'store': pass --store NAME (stores: {names})")
            return
        have = {c.lower() for c in self.con.table(chosen).columns}
        extra = []
        for kw in CORE_KEYWORDS:
            if kw.lower() not in have:
                e = keyword_entry(kw)
                t = entry_type(e) if e else None
                duck = _DUCK_TYPES.get(t, "VARCHAR") if t is not None and not pa.types.is_struct(t) else None
                if duck:
                    extra.append(f"NULL::{duck} AS {quote_ident(kw)}")
        cols = ", ".join(["*", *extra])
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW store AS SELECT {cols} FROM {quote_ident(chosen)}")

    # ---- queries ---------------------------------------------------------------------
    def table(self, store: str) -> duckdb.DuckDBPyRelation:
        """The store's table as a relation."""
        self.store_info(store)
        return self.con.table(store)

    def sql(
        self, query: str, params: dict[str, Any] | None = None, *, store: str | None = None, source: str = "SQL"
    ) -> duckdb.DuckDBPyRelation:
        """Run SQL over the lake's stores (and ``store``, the chosen or only store)."""
        self.refresh()
        needs_store = _mentions_store(query) and "store" not in {s.lower() for s in self._stores}
        self._alias(store, required=needs_store)
        if self.spark is not None:
            return self.con.from_arrow(self._on_spark(query, params, store))
        try:
            return self.con.sql(query, params=params or None)
        except duckdb.Error as exc:
            raise QueryError(f"{source}: {str(exc).splitlines()[0]}") from None

    def _on_spark(self, query: str, params: dict[str, Any] | None, store: str | None) -> pa.Table:
        from .engines import spark as sp

        chosen = self._select_store(store)
        if self._spark_views != (self._stamp, chosen):  # views are made once per catalog version
            alias = None
            if chosen is not None:
                alias = (chosen, self.con.table("store").limit(0).to_arrow_table().schema)
            tables = {t: self.con.table(t).to_arrow_table() for t in ("dl_issues", "dl_stores", "dl_operations")}
            stores = {n: i.files for n, i in self._stores.items() if n not in self._damaged}
            sp.register(self.spark, stores, tables, alias)
            self._spark_views = (self._stamp, chosen)
        return sp.sql(self.spark, query, params)

    def query(
        self, name_or_query: str | NamedQuery, store: str | None = None, **params: Any
    ) -> duckdb.DuckDBPyRelation:
        """Run a named query from ``sql/`` (``lake.query("latest_studies")``)."""
        q = name_or_query if isinstance(name_or_query, NamedQuery) else get_named(name_or_query)
        return self.sql(q.sql, q.bind(params), store=store, source=str(q.path))

    def query_file(
        self, path: str | os.PathLike[str], store: str | None = None, **params: Any
    ) -> duckdb.DuckDBPyRelation:
        """Run a ``.sql`` file (with or without a header)."""
        from pathlib import Path

        p = Path(path)
        if not p.is_file():
            raise QueryError(f"SQL file {path} does not exist")
        q = parse_sql_file(p)
        bound = q.bind(params) if q.params else (params or None)
        return self.sql(q.sql, bound, store=store, source=str(p))

    @staticmethod
    def named_queries() -> dict[str, NamedQuery]:
        return named_queries()

    def issues(self, store: str | None = None) -> duckdb.DuckDBPyRelation:
        """Ingest issues (all stores, or one)."""
        self.refresh()
        rel = self.con.table("dl_issues")
        return rel.filter(f"store = {duckdb.ConstantExpression(store)}") if store else rel

    # ---- filters -----------------------------------------------------------------------
    def select(self, store: str, spec: FilterSpec | None = None) -> duckdb.DuckDBPyRelation:
        """The store's rows, or those the filter selects (a join against the filter's table)."""
        rel = self.table(store)
        if spec is None:
            return rel
        self.con.register("dl_filter", spec.table())
        return self.con.sql(selection_sql(quote_ident(store), "dl_filter"))

    def check_filter(self, spec: FilterSpec, store: str) -> FilterCheck:
        """How many studies, series and instances ``spec`` selects in ``store``; lines matching nothing."""
        selected = self.select(store, spec)
        counts = selected.aggregate(
            "count(DISTINCT StudyInstanceUID), count(DISTINCT SeriesInstanceUID), count(*)"
        ).fetchall()[0]
        self.con.register("dl_filter", spec.table())
        unmatched = self.con.sql(unmatched_sql(quote_ident(store), "dl_filter")).fetchall()
        return FilterCheck(
            spec.source, len(spec.lines), counts[0], counts[1], counts[2], [(int(n), str(p)) for n, p in unmatched]
        )

    def filter_paths(self, rel: duckdb.DuckDBPyRelation) -> list[str]:
        """Resource paths from a query result (one path column, or the UID columns)."""
        return paths_from_table(rel.to_arrow_table())

    # ---- writes ------------------------------------------------------------------------
    def ingest(self, source: str | os.PathLike[str] | Sequence[str], store: str, **kwargs: Any) -> IngestSummary:
        """Same as ``dicomlake ingest``: files (on Spark when the lake was opened with a SparkSession)
        or a DICOMweb root URL; see :func:`ingest`."""
        if not (isinstance(source, str | os.PathLike) and is_url(source)):
            kwargs.setdefault("spark", self.spark)
        summary = ingest(self.root, source, store, **kwargs)
        self.refresh(force=True)
        return summary

    def deidentify(self, config: Any, *, store: str | None = None, **kwargs: Any) -> Any:
        """Same as ``dicomlake deidentify``: ``config`` is the request JSON (path, dict or loaded request).

        Dataset level without ``store`` (``dest_lake=`` a new folder); store level with ``store`` and
        ``dest_store`` (``dest_lake`` defaults to this lake). See :func:`dicomlake.deid.run.deidentify`.
        """
        from .deid.config import DeidRequest, load_config
        from .deid.run import deidentify

        request = config if isinstance(config, DeidRequest) else load_config(config)
        kwargs.setdefault("spark", self.spark)  # a lake opened with a SparkSession de-identifies on Spark
        summary = deidentify(self.root, request, store=store, **kwargs)
        self.refresh(force=True)
        return summary

    def explain_deidentify(self, config: Any, store: str | None = None) -> Any:
        """The element-level plan (``.plan``) and SQL (``.sql``) per store, without running anything."""
        from .deid.config import DeidRequest, load_config
        from .deid.run import explain

        request = config if isinstance(config, DeidRequest) else load_config(config)
        return explain(self.root, request, store)

    def create_store(self, name: str) -> None:
        with self.catalog.write_lock():
            self.catalog.create_store(name)
        self.refresh(force=True)

    def drop_store(self, name: str, *, confirm: bool = False) -> None:
        """Delete a store: its rows, its Parquet files and the DICOM files a de-identification
        wrote for it. Destructive, so it refuses unless ``confirm=True`` (the CLI's ``--yes``)."""
        info = self.catalog.store(name)  # an unknown store is an error either way
        if not confirm:
            raise StoreError(
                f"dropping store '{name}' deletes its {info.row_count} rows and their files: "
                "pass confirm=True to drop it"
            )
        with self.catalog.write_lock():
            self.catalog.drop_store(name)
        self.con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")
        self.refresh(force=True)


def _mentions_store(query: str) -> bool:
    import re

    return re.search(r"\b(from|join)\s+store\b", query, re.IGNORECASE) is not None


def ingest(
    lake: str | os.PathLike[str], source: str | os.PathLike[str] | Sequence[str], store: str, **kwargs: Any
) -> IngestSummary:
    """Ingest into ``store`` of ``lake``, creating the lake folder if needed. ``source``: files, or
    a DICOMweb root URL (``dicomweb`` options: token, user, password, verify_tls, timeout,
    concurrency)."""
    web = kwargs.pop("dicomweb", None) or {}
    if isinstance(source, str | os.PathLike) and is_url(source):
        kwargs.pop("endpoint_url", None)
        if kwargs.pop("strict", False):
            raise SourceError("--strict is for file ingest; a DICOMweb harvest records its issues in dl_issues")
        return harvest(lake, Server.from_env(str(source), **web), store, **kwargs)
    return _ingest(lake, source, store, **kwargs)


def open(root: str | os.PathLike[str], *, create: bool = False, spark: Any = None) -> Lake:
    """Open a lake folder (``create=True`` makes an empty lake if there is none); with ``spark``
    (a SparkSession) its SQL runs on Spark."""
    if create:
        Catalog.create_or_open(root)
    return Lake(root, spark=spark)


__all__ = ["Lake", "StoreError", "open"]
