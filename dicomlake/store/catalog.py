"""The lake: a folder with a DuckDB catalog (``catalog.duckdb``) and one Parquet file set per store.

Layout::

    LAKE/catalog.duckdb        stores, their files, ingest issues, operations; a view per store
    LAKE/stores/NAME/*.parquet immutable data files; all files of a store share one schema
    LAKE/staging/OP/           files being written by a running operation OP
    LAKE/staging/OP.lock       held by OP's process while OP is live (:mod:`dicomlake.store.locks`)
    LAKE/.lock                 the writers' lock; names its holder (pid, command, operations)

Writes go through :func:`commit`: new files are written under ``staging/``, moved beside the
store, and published in one catalog transaction. A process killed at any moment leaves the
catalog as it was; files nobody references, and the staging of dead operations, are removed
when the next write starts. An operation's staging is removed only by its own commit or abort
(the end of the write lock), never by another operation's cleanup.

The catalog's interface
-----------------------
Ingest, queries, export and de-identification reach the catalog only through :class:`Catalog`'s
methods below, :mod:`dicomlake.store.publish` (assembling a version) and
:class:`dicomlake.store.views.LakeView` (reading); no other package runs SQL on the catalog's
tables. A replacement (a standard lake format such as DuckLake) has to provide the same:

- opening: :meth:`Catalog.create_or_open`, :meth:`Catalog.open`, :meth:`Catalog.exists`;
- reading: :meth:`Catalog.stores` / :meth:`Catalog.store` (each store's row count, data files
  and times), :meth:`Catalog.version` (changes with every commit), :meth:`Catalog.tables` (the
  tables users query: issues, stores, operations), :meth:`Catalog.snapshot` (stores and tables
  read together);
- versions: :meth:`Catalog.commit` publishes a store's new file list, its issues and the
  operation's record atomically; :meth:`Catalog.create_store`, :meth:`Catalog.drop_store`,
  :meth:`Catalog.check_new_name`;
- writers: :meth:`Catalog.write_lock` (one writer per lake), :meth:`Catalog.staging` /
  :meth:`Catalog.finish` (an operation's own staging folder);
- garbage collection: :meth:`Catalog.collect_garbage` (files no version references, staging of
  dead operations), :meth:`Catalog.refresh_views` (after the lake folder moved).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..codec.schema import base_schema
from ..errors import LakeError, LakeNotFoundError, Param, StoreError, StoreNotFoundError
from ..interrupts import held
from . import locks

CATALOG = "catalog.duckdb"
FORMAT_VERSION = "1"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_RESERVED = {"store", "dl_issues", "dl_stores", "dl_operations"}

_DDL = """
CREATE TABLE IF NOT EXISTS dl_lake (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS dl_stores (
    name VARCHAR PRIMARY KEY, created_at TIMESTAMP, updated_at TIMESTAMP, row_count BIGINT);
CREATE TABLE IF NOT EXISTS dl_files (store VARCHAR, path VARCHAR, row_count BIGINT);
CREATE TABLE IF NOT EXISTS dl_issues (
    store VARCHAR, operation VARCHAR, recorded_at TIMESTAMP, path VARCHAR, sop_instance_uid VARCHAR,
    severity VARCHAR, element VARCHAR, reason VARCHAR);
CREATE TABLE IF NOT EXISTS dl_file_sets (store VARCHAR, path VARCHAR);
CREATE TABLE IF NOT EXISTS dl_operations (
    id VARCHAR PRIMARY KEY, store VARCHAR, kind VARCHAR, started_at TIMESTAMP,
    finished_at TIMESTAMP, summary JSON);
"""

#: The catalog tables users query (``dicomlake query -e "SELECT * FROM dl_issues"``).
USER_TABLES = ("dl_issues", "dl_stores", "dl_operations")

ISSUE_COLUMNS = ("path", "sop_instance_uid", "severity", "element", "reason")

_PUBLISHED: list[str] = []  # stores this process committed, in order


def published() -> list[str]:
    """The stores this process has committed to so far (what an interrupted run kept)."""
    return list(_PUBLISHED)


def quote_ident(name: str) -> str:
    """The one identifier-quoting helper: a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A SQL string literal, for the few places SQL takes no parameter (file paths in COPY, views)."""
    return "'" + text.replace("'", "''") + "'"


def new_connection(database: str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection as dicomlake opens them all: no progress bar of DuckDB's own, which it
    would print on stdout (into query output, JSON or CSV) whenever a query runs long."""
    con = duckdb.connect(database, read_only=read_only)
    # In a Jupyter kernel DuckDB refuses any change of this setting without ipywidgets; there it
    # draws no bar on stdout anyway.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")
    return con


@functools.cache
def _sql_keywords() -> frozenset[str]:
    con = new_connection()
    rows = con.execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'").fetchall()
    con.close()
    return frozenset(r[0].lower() for r in rows)


def check_store_name(name: str) -> str:
    """A store name is a SQL table name: letters, digits, '_'; no reserved or SQL words."""
    if not _NAME.match(name) or name.lower() in _RESERVED or name.lower().startswith("dl_"):
        raise StoreError(
            f"invalid store name {name!r}: use a letter then letters, digits or '_' (at most 63), "
            f"not starting with 'dl_' and not one of {sorted(_RESERVED)}"
        )
    if name.lower() in _sql_keywords():
        raise StoreError(f"invalid store name {name!r}: it is a reserved SQL word; pick another name")
    return name


@dataclass(frozen=True)
class StoreInfo:
    name: str
    row_count: int
    files: tuple[str, ...]  # absolute paths
    created_at: dt.datetime
    updated_at: dt.datetime


class Catalog:
    """Short-lived access to the catalog file; never held open between operations."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / CATALOG
        self._stages: dict[Path, IO[str]] = {}  # this operation's staging folders, with their locks
        self._lock: IO[str] | None = None

    @classmethod
    def create_or_open(cls, root: str | os.PathLike[str]) -> Catalog:
        path = Path(root).absolute()
        if path.exists() and not path.is_dir():
            raise LakeError(f"{path} is a file, not a lake folder: pass a folder path as ", Param("lake"))
        if path.exists() and any(path.iterdir()) and not (path / CATALOG).exists():
            raise LakeError(
                f"{path} is not a dicomlake lake (no {CATALOG}) and not empty: choose an empty or new folder for ",
                Param("lake"),
            )
        path.mkdir(parents=True, exist_ok=True)
        cat = cls(path)
        with cat.connect() as con:
            con.execute(_DDL)
            con.execute("INSERT INTO dl_lake VALUES ('format', $v) ON CONFLICT DO NOTHING", {"v": FORMAT_VERSION})
        return cat

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> Catalog:
        path = Path(root).absolute()
        if not (path / CATALOG).is_file():
            raise LakeNotFoundError(str(path), CATALOG, str(root))
        return cls(path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + 30
        while True:
            try:
                con = new_connection(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise LakeError(f"cannot open the catalog {self.path}: {exc}") from None
                time.sleep(0.05)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Serialise writers (ingest, export, de-identify) on one lake; a second writer waits up to
        :func:`~dicomlake.store.locks.lock_wait`'s seconds, else fails. Staging this operation did not
        commit is removed at the end, and dead operations' leftovers at the start."""
        with locks.writer(self.root / ".lock", str(self.root)) as fh:
            self._lock = fh
            try:
                self._announce()
                self.collect_garbage()
                yield
            finally:
                for stage in list(self._stages):
                    self.finish(stage)
                with suppress(OSError):  # gone, or another operation's folders in it
                    (self.root / "staging").rmdir()
                self._lock = None

    def _announce(self) -> None:
        if self._lock is not None:
            locks.announce(self._lock, [p.name for p in self._stages])

    @staticmethod
    def exists(root: str | os.PathLike[str]) -> bool:
        """Whether ``root`` holds a lake (its catalog)."""
        return (Path(root) / CATALOG).is_file()

    # ---- reading -------------------------------------------------------------------
    def version(self) -> int:
        """A number that changes whenever a commit changes the catalog (readers compare it to
        know when to re-read; it is not ordered)."""
        stamp = os.stat(self.path).st_mtime_ns
        wal = self.path.with_name(self.path.name + ".wal")
        if wal.exists():
            stamp += os.stat(wal).st_mtime_ns
        return stamp

    def tables(self) -> dict[str, pa.Table]:
        """The catalog tables users query, as Arrow: :data:`USER_TABLES`."""
        with self.connect(read_only=True) as con:
            return self._tables(con)

    def stores(self) -> dict[str, StoreInfo]:
        with self.connect(read_only=True) as con:
            return self._stores(con)

    def snapshot(self) -> tuple[dict[str, StoreInfo], dict[str, pa.Table]]:
        """:meth:`stores` and :meth:`tables` read together (one opening of the catalog, which
        costs DuckDB about 20 ms)."""
        with self.connect(read_only=True) as con:
            return self._stores(con), self._tables(con)

    def _tables(self, con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
        return {t: con.sql(f"SELECT * FROM {t}").to_arrow_table() for t in USER_TABLES}

    def _stores(self, con: duckdb.DuckDBPyConnection) -> dict[str, StoreInfo]:
        rows = con.execute(
            "SELECT s.name, s.row_count, s.created_at, s.updated_at, "
            "list(f.path ORDER BY f.path) FILTER (WHERE f.path IS NOT NULL) "
            "FROM dl_stores s LEFT JOIN dl_files f ON f.store = s.name "
            "GROUP BY ALL ORDER BY s.name"
        ).fetchall()
        return {r[0]: StoreInfo(r[0], r[1], tuple(str(self.root / p) for p in (r[4] or [])), r[2], r[3]) for r in rows}

    def store(self, name: str) -> StoreInfo:
        stores = self.stores()
        if name not in stores:
            raise StoreNotFoundError(name, list(stores), str(self.root))
        return stores[name]

    # ---- writing -------------------------------------------------------------------
    def staging(self) -> Path:
        """A new staging folder owned by this operation (live while this process holds its lock)."""
        path = self.root / "staging" / uuid.uuid4().hex[:12]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._stages[path] = locks.hold(path.with_suffix(".lock"))
        path.mkdir()
        self._announce()
        return path

    def finish(self, stage: Path) -> None:
        """Remove a staging folder of this operation (after its commit, or to abort it)."""
        shutil.rmtree(stage, ignore_errors=True)
        fh = self._stages.pop(stage, None)
        if fh is not None:
            locks.release(fh, stage.with_suffix(".lock"))
            self._announce()

    def _live(self, op: str) -> bool:
        """Whether operation ``op`` is running: some process holds its staging lock."""
        return locks.is_held(self.root / "staging" / f"{op}.lock")

    def check_new_name(self, name: str) -> None:
        """SQL names ignore case: a store may not differ from another only in case."""
        check_store_name(name)
        clash = [s for s in self.stores() if s.lower() == name.lower() and s != name]
        if clash:
            raise StoreError(
                f"store name {name!r} clashes with existing store {clash[0]!r} "
                "(SQL names ignore case): use that name or another one"
            )

    def create_store(self, name: str, schema: pa.Schema | None = None) -> None:
        self.check_new_name(name)
        if name in self.stores():
            raise StoreError(f"store {name!r} already exists in {self.root}")
        stage = self.staging()
        empty = (schema or base_schema()).empty_table()
        pq.write_table(empty, stage / "empty.parquet")
        self.commit(name, [(stage / "empty.parquet", 0)], keep=[], issues=[], operation=None, stage=stage)

    def drop_store(self, name: str) -> None:
        self.store(name)
        with self.connect() as con:
            con.execute("BEGIN")
            con.execute("DELETE FROM dl_files WHERE store = $s", {"s": name})
            con.execute("DELETE FROM dl_stores WHERE name = $s", {"s": name})
            con.execute("DELETE FROM dl_file_sets WHERE store = $s", {"s": name})
            con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")
            con.execute("COMMIT")
            referenced = self._referenced(con)
        self._sweep(*referenced)

    def commit(
        self,
        name: str,
        new_files: Sequence[tuple[Path, int]],
        keep: Sequence[str],
        issues: Sequence[dict[str, Any]],
        operation: dict[str, Any] | None,
        file_set: Path | None = None,
        stage: Path | None = None,
    ) -> None:
        """Publish a store version: ``keep`` (absolute paths of existing files) plus ``new_files``.

        ``file_set`` is a folder of DICOM files the new rows point at (de-identify's output); it
        is registered with the store so that the garbage collector keeps it. ``stage``: the
        operation's staging folder, removed once the commit is done.

        New files are moved from staging into ``stores/NAME/`` first; the catalog transaction
        that follows is the single step that makes them visible.
        """
        dest = self.root / "stores" / name
        dest.mkdir(parents=True, exist_ok=True)
        published: list[tuple[str, int]] = []
        for src, rows in new_files:
            target = dest / f"{uuid.uuid4().hex}.parquet"
            os.replace(src, target)
            published.append((str(target.relative_to(self.root)), rows))
        kept = [str(Path(p).relative_to(self.root)) for p in keep]
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self.connect() as con:
            con.execute("BEGIN")
            old_counts = dict(
                con.execute("SELECT path, row_count FROM dl_files WHERE store = $s", {"s": name}).fetchall()
            )
            con.execute("DELETE FROM dl_files WHERE store = $s", {"s": name})
            files = [(p, old_counts.get(p, 0)) for p in kept] + published
            if files:
                con.executemany("INSERT INTO dl_files VALUES (?, ?, ?)", [(name, p, r) for p, r in files])
            total = sum(r for _, r in files)
            con.execute(
                "INSERT INTO dl_stores VALUES ($n, $t, $t, $c) ON CONFLICT (name) DO UPDATE "
                "SET updated_at = excluded.updated_at, row_count = excluded.row_count",
                {"n": name, "t": now, "c": total},
            )
            if issues:
                op_id = operation["id"] if operation else None
                con.executemany(
                    "INSERT INTO dl_issues VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(name, op_id, now, *(i.get(c) for c in ISSUE_COLUMNS)) for i in issues],
                )
            if operation:
                con.execute(
                    "INSERT INTO dl_operations VALUES ($id, $s, $k, $b, $e, $j)",
                    {
                        "id": operation["id"],
                        "s": name,
                        "k": operation["kind"],
                        "b": operation["started_at"],
                        "e": now,
                        "j": json.dumps(operation.get("summary", {}), default=str),
                    },
                )
            if file_set is not None:
                con.execute(
                    "INSERT INTO dl_file_sets VALUES ($s, $p)", {"s": name, "p": str(file_set.relative_to(self.root))}
                )
            self._create_view(con, name, [self.root / p for p, _ in files])
            with held():  # a Ctrl-C during the commit takes effect once it is recorded as published
                con.execute("COMMIT")
                _PUBLISHED.append(name)
            referenced = self._referenced(con)  # for the garbage collection below, in this opening
        if stage is not None:
            self.finish(stage)
        self._sweep(*referenced)

    def _create_view(self, con: duckdb.DuckDBPyConnection, name: str, files: Sequence[Path]) -> None:
        paths = ", ".join(quote_literal(str(p)) for p in files)
        con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM read_parquet([{paths}])")

    def collect_garbage(self) -> None:
        """Remove the staging of dead operations, and store files and DICOM file sets (but those
        of live operations) the catalog does not reference."""
        try:
            with self.connect(read_only=True) as con:
                referenced = self._referenced(con)
        except LakeError:
            return
        self._sweep(*referenced)

    def _referenced(self, con: duckdb.DuckDBPyConnection) -> tuple[set[Path], set[Path]]:
        """The store files and the DICOM file sets the catalog references."""
        live = {self.root / p for (p,) in con.execute("SELECT path FROM dl_files").fetchall()}
        sets = {self.root / p for (p,) in con.execute("SELECT path FROM dl_file_sets").fetchall()}
        return live, sets

    def _sweep(self, live: set[Path], sets: set[Path]) -> None:
        """Remove what :meth:`collect_garbage` removes, given what the catalog references."""
        for op in {p.name.removesuffix(".lock") for p in self.root.glob("staging/*")}:
            if not self._live(op):
                shutil.rmtree(self.root / "staging" / op, ignore_errors=True)
                (self.root / "staging" / f"{op}.lock").unlink(missing_ok=True)
        for f in self.root.glob("stores/*/*.parquet"):
            if f not in live:
                f.unlink(missing_ok=True)
        for d in self.root.glob("files/*/*"):
            if d.is_dir() and d not in sets and not self._live(d.name):
                shutil.rmtree(d, ignore_errors=True)
        for d in [*self.root.glob("stores/*"), *self.root.glob("files/*"), self.root / "staging"]:
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()

    def refresh_views(self) -> None:
        """Recreate the catalog's views (their paths are absolute: after the lake folder moved)."""
        with self.connect() as con:
            for (name,) in con.execute("SELECT name FROM dl_stores").fetchall():
                files = [
                    self.root / p
                    for (p,) in con.execute(
                        "SELECT path FROM dl_files WHERE store = $s ORDER BY path", {"s": name}
                    ).fetchall()
                ]
                if all(f.exists() for f in files):
                    self._create_view(con, name, files)


def store_schema(info: StoreInfo) -> pa.Schema:
    """The schema every file of the store shares."""
    if not info.files:
        return base_schema()
    return pq.read_schema(info.files[0])
