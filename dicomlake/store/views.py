"""The lake's read model: its stores as DuckDB views, for the code that reads them.

A :class:`LakeView` keeps an in-memory DuckDB connection with a view per store over the store's
Parquet files, and copies of the catalog tables users query (``dl_issues``, ``dl_stores``,
``dl_operations``). It never holds the catalog open: other processes can write meanwhile, and
:meth:`LakeView.refresh` follows their commits. De-identification, export, verify, the redaction
preview and the DICOMweb harvest read stores through it; the public façade
:class:`dicomlake.api.Lake` is a :class:`LakeView` that adds Spark, named queries and the writes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from ..codec.dictionary import keyword_entry
from ..codec.schema import entry_type
from ..errors import EmptySelectionError, QueryError, StoreDamagedError, StoreNotChosenError
from .catalog import Catalog, StoreInfo, new_connection, quote_ident, quote_literal
from .filterfile import FilterSpec, paths_from_table, selection_sql, unmatched_sql

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
        """Raise :class:`EmptySelectionError` (a :class:`FilterFileError`) when the filter selects
        nothing in ``store``: an export or de-identification that would do nothing is an error."""
        if self.instances:
            return
        raise EmptySelectionError(self.source, store, self.lines, self.unmatched)


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def mentions_store(query: str) -> bool:
    """Whether ``query`` reads the table ``store`` (the chosen or only store)."""
    return re.search(r"\b(from|join)\s+store\b", query, re.IGNORECASE) is not None


class LakeView:
    """An open lake, read side: ``sql``/``table``/``select`` return lazy DuckDB relations."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.catalog = Catalog.open(root)
        self.root = self.catalog.root
        self.con = new_connection()
        # A table name the lake does not have must not be read from a Python variable of the same
        # name in the code that runs the query (DuckDB's replacement scans): it is an unknown table.
        self.con.execute("SET python_enable_replacements = false")
        self._version: int | None = None
        self._stores: dict[str, StoreInfo] = {}
        self._damaged: dict[str, list[str]] = {}
        self.refresh()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r}, stores={list(self._stores)})"

    # ---- catalog → views ---------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Re-read the catalog if another process committed since the last look."""
        version = self.catalog.version()
        if version == self._version and not force:
            return
        self._stores, tables = self.catalog.snapshot()
        self._damaged = {}
        for name, info in self._stores.items():
            missing = [f for f in info.files if not os.path.exists(f)]
            if missing:  # a damaged store must not take the whole lake down
                self.con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")
                self._damaged[name] = missing
                continue
            files = ", ".join(quote_literal(f) for f in info.files)
            self.con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM read_parquet([{files}])")
        for table, arrow in tables.items():
            self.con.register(f"_{table}_arrow", arrow)
            self.con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _{table}_arrow")
            self.con.unregister(f"_{table}_arrow")
        self._version = version

    @property
    def version(self) -> int | None:
        """The catalog version the views show (:meth:`Catalog.version` at the last refresh)."""
        return self._version

    @property
    def stores(self) -> list[str]:
        self.refresh()
        return list(self._stores)

    def readable(self) -> dict[str, tuple[str, ...]]:
        """Each store that is not damaged, with its data files (as of the last refresh)."""
        return {n: i.files for n, i in self._stores.items() if n not in self._damaged}

    def store_info(self, name: str) -> StoreInfo:
        self.refresh()
        if name in self._damaged:
            raise StoreDamagedError(name, self._damaged[name])
        if name not in self._stores:
            return self.catalog.store(name)  # raises the helpful error
        return self._stores[name]

    def chosen_store(self, store: str | None) -> str | None:
        """The store the ``store`` view shows: ``store`` (checked), else the only store, else None."""
        if store is not None:
            self.store_info(store)
            return store
        return next(iter(self._stores)) if len(self._stores) == 1 else None

    def bind_store(self, query: str, store: str | None) -> str | None:
        """Refresh, then point the view ``store`` at the chosen store (with the core keywords it
        lacks as typed NULL columns); an error when ``query`` reads ``store`` and none is chosen."""
        self.refresh()
        required = mentions_store(query) and "store" not in {s.lower() for s in self._stores}
        chosen = self.chosen_store(store)
        if chosen is None:
            if required:
                raise StoreNotChosenError(list(self._stores))
            return None
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
        return chosen

    # ---- queries ---------------------------------------------------------------------
    def table(self, store: str) -> duckdb.DuckDBPyRelation:
        """The store's table as a relation."""
        self.store_info(store)
        return self.con.table(store)

    def sql(
        self, query: str, params: dict[str, Any] | None = None, *, store: str | None = None, source: str = "SQL"
    ) -> duckdb.DuckDBPyRelation:
        """Run SQL over the lake's stores (and ``store``, the chosen or only store) on DuckDB."""
        self.bind_store(query, store)
        try:
            return self.con.sql(query, params=params or None)
        except duckdb.CatalogException as exc:
            first = str(exc).splitlines()[0]
            if "Table with name" in first:
                first += f" (stores: {', '.join(self._stores) or 'none'})"
            raise QueryError(f"{source}: {first}") from None
        except duckdb.Error as exc:
            raise QueryError(f"{source}: {str(exc).splitlines()[0]}") from None

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
        return self.con.sql(selection_sql(store, "dl_filter"))

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
