"""The Python API: ``lake = dicomlake.open(DIR)``; queries return DuckDB relations.

A :class:`Lake` is the lake's read model (:class:`~dicomlake.store.views.LakeView`: a view per
store, never holding the catalog open, following other processes' commits) plus what users do
with a lake: SQL on Spark, named queries, ingest, de-identify, create and drop stores. Core code
never imports this module; it takes a :class:`~dicomlake.store.views.LakeView`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from .errors import Param, QueryError, SourceError, StoreError
from .query.bigquery import Prepared
from .query.bigquery import prepare as prepare_sql
from .query.describe import Field, describe_column, store_stats
from .query.named import NamedQuery, get_named, named_queries, parse_sql_file
from .query.readonly import check_read_only
from .sources.dicomweb import Server, is_url
from .sources.harvest import BATCH, harvest
from .sources.ingest import IngestSummary
from .sources.ingest import ingest as _ingest
from .store.catalog import USER_TABLES, Catalog, quote_ident
from .store.filterfile import FilterSpec
from .store.views import FilterCheck, LakeView

_QUALIFIERS = "SELECT database_name FROM duckdb_databases() UNION SELECT schema_name FROM duckdb_schemas()"

if TYPE_CHECKING:  # de-identification loads pydicom and more: imported when first used
    from .deid.run import DeidSummary


class Lake(LakeView):
    """An open lake. ``sql``/``query``/``table`` return lazy DuckDB relations (the read side is
    :class:`~dicomlake.store.views.LakeView`'s); with a SparkSession, SQL runs on Spark."""

    def __init__(self, root: str | os.PathLike[str], spark: Any = None) -> None:
        self.spark = spark  # a SparkSession: SQL runs on Spark (results still come back as relations)
        self._spark_views: tuple[int | None, str | None] | None = None
        self.notes: list[str] = []  # what the last sql() read differently from its text
        super().__init__(root)

    # ---- queries ---------------------------------------------------------------------
    def sql(
        self, query: str, params: dict[str, Any] | None = None, *, store: str | None = None, source: str = "SQL"
    ) -> duckdb.DuckDBPyRelation:
        """Run SQL over the lake's stores (and ``store``, the chosen or only store), read-only.

        SQL pasted from BigQuery runs too (``#standardSQL``, `` `project.dataset.table` `` whose last
        part names a store); what was read so is in :attr:`notes` afterwards."""
        self.refresh()
        prepared = self.prepare(query)
        self.notes = list(prepared.notes)
        query = prepared.sql
        check_read_only(query, source)
        if self.spark is None:
            return super().sql(query, params, store=store, source=source)
        chosen = self.bind_store(query, store)
        return self.con.from_arrow(self._on_spark(query, params, chosen))

    def prepare(self, query: str) -> Prepared:
        """The DuckDB SQL :meth:`sql` runs for ``query`` (BigQuery's table names read as stores),
        and notes saying what was read so."""
        tables = [*self._stores, "store", *USER_TABLES]
        qualifiers = [r[0] for r in self.con.execute(_QUALIFIERS).fetchall()]
        return prepare_sql(query, tables, qualifiers)

    def describe(self, store: str) -> list[Field]:
        """The store's schema as a tree (nested sequence fields to any depth, parents first), with
        each field's type, VR, how many instances have it and an example value."""
        rel = self.table(store)
        total = rel.aggregate("count(*)").fetchall()[0][0]
        out: list[Field] = []
        for col in rel.columns:
            out += describe_column(col, rel.select(quote_ident(col)).to_arrow_table().column(0), total)
        return out

    def store_stats(self) -> duckdb.DuckDBPyRelation:
        """One row per store: patients, studies, series, instances; its Parquet files and their
        bytes; the bytes of the source files its rows were read from (where recorded)."""
        self.refresh()
        readable = self.readable()
        stores = [(info, self.con.table(n) if n in readable else None) for n, info in self._stores.items()]
        return self.con.from_arrow(store_stats(stores))

    def _on_spark(self, query: str, params: dict[str, Any] | None, chosen: str | None) -> pa.Table:
        from .engines import spark as sp

        if self._spark_views != (self.version, chosen):  # views are made once per catalog version
            alias = None
            if chosen is not None:
                alias = (chosen, self.con.table("store").limit(0).to_arrow_table().schema)
            tables = {t: self.con.table(t).to_arrow_table() for t in USER_TABLES}
            sp.register(self.spark, self.readable(), tables, alias)
            self._spark_views = (self.version, chosen)
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
        p = Path(path)
        if not p.is_file():
            raise QueryError(f"SQL file {path} does not exist")
        q = parse_sql_file(p)
        bound = q.bind(params) if q.params else (params or None)
        return self.sql(q.sql, bound, store=store, source=str(p))

    @staticmethod
    def named_queries() -> dict[str, NamedQuery]:
        return named_queries()

    # ---- writes ------------------------------------------------------------------------
    def ingest(
        self,
        source: str | os.PathLike[str] | Sequence[str],
        store: str,
        *,
        write_disposition: str = "WRITE_EMPTY",
        workers: int | None = None,
        filter_spec: FilterSpec | None = None,
        progress: bool | None = None,
        strict: bool = False,
        spark: Any = None,
        dicomweb: Mapping[str, Any] | None = None,
        batch: int | None = None,
        exact: bool = False,
        batch_files: int | None = None,
        endpoint_url: str | None = None,
    ) -> IngestSummary:
        """Same as ``dicomlake ingest``: files (on Spark when the lake was opened with a SparkSession,
        or on ``spark``) or a DICOMweb root URL; see :func:`ingest` for the options."""
        if spark is None and not _is_url(source):
            spark = self.spark
        summary = ingest(
            self.root,
            source,
            store,
            write_disposition=write_disposition,
            workers=workers,
            filter_spec=filter_spec,
            progress=progress,
            strict=strict,
            spark=spark,
            dicomweb=dicomweb,
            batch=batch,
            exact=exact,
            batch_files=batch_files,
            endpoint_url=endpoint_url,
        )
        self.refresh(force=True)
        return summary

    def deidentify(
        self,
        config: Any,
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
        """Same as ``dicomlake deidentify``: ``config`` is the request JSON (path, dict or loaded request).

        Dataset level without ``store`` (``dest_lake=`` a new folder); store level with ``store`` and
        ``dest_store`` (``dest_lake`` defaults to this lake). ``spark``: by default the lake's
        SparkSession. See :func:`dicomlake.deid.run.deidentify` for the options.
        """
        from .deid.config import DeidRequest, load_config
        from .deid.run import deidentify

        request = config if isinstance(config, DeidRequest) else load_config(config)
        summary = deidentify(
            self.root,
            request,
            store=store,
            dest_lake=dest_lake,
            dest_store=dest_store,
            key_file=key_file,
            spec=spec,
            workers=workers,
            uid_root=uid_root,
            crosswalk=crosswalk,
            overwrite=overwrite,
            dest_dicomweb=dest_dicomweb,
            spark=spark if spark is not None else self.spark,  # a lake opened with Spark de-identifies on it
        )
        self.refresh(force=True)
        return summary

    def explain_deidentify(self, config: Any, store: str | None = None) -> DeidSummary:
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


def _is_url(source: str | os.PathLike[str] | Sequence[str]) -> bool:
    return isinstance(source, str | os.PathLike) and is_url(source)


def ingest(
    lake: str | os.PathLike[str],
    source: str | os.PathLike[str] | Sequence[str],
    store: str,
    *,
    write_disposition: str = "WRITE_EMPTY",
    workers: int | None = None,
    filter_spec: FilterSpec | None = None,
    progress: bool | None = None,
    strict: bool = False,
    spark: Any = None,
    dicomweb: Mapping[str, Any] | None = None,
    batch: int | None = None,
    exact: bool = False,
    batch_files: int | None = None,
    endpoint_url: str | None = None,
) -> IngestSummary:
    """Ingest into ``store`` of ``lake``, creating the lake folder if needed.

    ``source``: files, archives or an object-store prefix (see
    :func:`dicomlake.sources.ingest.ingest_files`; ``strict``, ``spark``, ``batch_files`` and
    ``endpoint_url`` are for them), or a DICOMweb root URL (see :func:`dicomlake.sources.harvest.harvest`; ``batch``
    studies per commit, default :data:`~dicomlake.sources.harvest.BATCH`, and ``exact`` are for it;
    ``dicomweb``: the server's options token, user, password, verify_tls, timeout, concurrency).
    An option of the other kind of source is an error."""
    if _is_url(source):
        if strict:
            raise SourceError(
                Param("strict"), " is for file ingest; a DICOMweb harvest records its issues in dl_issues"
            )
        if spark is not None:
            raise SourceError(Param("spark"), " is for file ingest; a DICOMweb harvest runs in local processes")
        if batch_files is not None:
            raise SourceError(Param("batch_files"), " is for file ingest; a DICOMweb harvest commits by studies")
        return harvest(
            lake,
            Server.from_env(str(source), **(dicomweb or {})),
            store,
            write_disposition=write_disposition,
            filter_spec=filter_spec,
            progress=progress,
            batch=BATCH if batch is None else batch,
            workers=workers,
            exact=exact,
        )
    if exact:
        raise SourceError(Param("exact"), " is for a DICOMweb source; files are always read exactly")
    if batch is not None:
        raise SourceError(Param("batch"), " is for a DICOMweb source; files are committed once")
    return _ingest(
        lake,
        source,
        store,
        write_disposition=write_disposition,
        workers=workers,
        filter_spec=filter_spec,
        progress=progress,
        strict=strict,
        spark=spark,
        batch_files=batch_files,
        endpoint_url=endpoint_url,
    )


def open(root: str | os.PathLike[str], *, create: bool = False, spark: Any = None) -> Lake:
    """Open a lake folder (``create=True`` makes an empty lake if there is none); with ``spark``
    (a SparkSession) its SQL runs on Spark."""
    if create:
        Catalog.create_or_open(root)
    return Lake(root, spark=spark)


__all__ = ["FilterCheck", "Lake", "StoreError", "ingest", "open"]
