"""SQL pasted from the BigQuery console, run on the lake's DuckDB.

Google's export documentation writes its queries for BigQuery: a ``#standardSQL`` header, tables
named `` `project.dataset.table` `` (or, in its filter-file query, legacy ``[project:dataset.table]``).
:func:`prepare` turns such a query into DuckDB SQL over the lake's stores, by these rules in order:

1. ``dialect_header``: a leading ``#standardSQL`` line is dropped (the query is BigQuery SQL);
   ``#legacySQL`` is refused, with what to do.
2. ``legacy_brackets``: a ``[project:dataset.table]`` after FROM or JOIN (found among the tokens,
   not by a pattern over the text) becomes `` `project.dataset.table` ``.
3. ``store_tables``: in the parsed tree, a table qualified by names the lake does not have
   (``project.dataset.table``, ``dataset.table``, quoted or not) is read as the store its last part
   names; a qualified table whose last part names no store is an error listing the stores.

SQL that DuckDB parses and that names no such table is returned exactly as given: DuckDB-native SQL
is never rewritten. Rewritten SQL is rendered for DuckDB by sqlglot (BigQuery's ``CONCAT`` becomes
``||``, which is NULL on a NULL argument, as BigQuery's ``CONCAT`` is).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from ..errors import QueryError

LEGACY_HINT = (
    "rewrite it in standard SQL (see BigQuery's 'Migrating to GoogleSQL' guide) and start it with "
    "#standardSQL or no header"
)


@dataclass(frozen=True)
class Prepared:
    """DuckDB SQL to run, and notes on what was read differently from the text (for stderr)."""

    sql: str
    notes: tuple[str, ...] = ()


def prepare(sql: str, stores: Collection[str], qualifiers: Collection[str] = ()) -> Prepared:
    """DuckDB SQL for ``sql`` over the lake's tables ``stores``; ``qualifiers`` are the catalog and
    schema names the connection really has (``main``, ``memory``, …), which are left alone."""
    text, bigquery = dialect_header(sql)
    text, bracketed = legacy_brackets(text)
    bigquery = bigquery or bool(bracketed)
    trees = None
    if not bigquery and _duckdb_parses(text):
        trees = _parse(text, "duckdb")  # None where sqlglot reads it otherwise (`a.b.c`): try BigQuery's
        if trees is not None and not _foreign(trees, qualifiers):
            return Prepared(text)
    if trees is None:
        trees = _parse(text, "bigquery")
        if trees is None:
            if bigquery:
                raise QueryError(f"cannot read this query as BigQuery standard SQL: {_parse_error(text)}")
            return Prepared(text)  # neither dialect reads it: DuckDB's own error says where
    if not bigquery and not _foreign(trees, qualifiers):
        return Prepared(text)  # not DuckDB SQL, but nothing of BigQuery's to read either
    notes = list(bracketed)
    for tree in trees:
        notes += store_tables(tree, stores, qualifiers)
    return Prepared(";\n".join(t.sql(dialect="duckdb") for t in trees), tuple(dict.fromkeys(notes)))


def dialect_header(sql: str) -> tuple[str, bool]:
    """Drop a leading ``#standardSQL`` line (→ BigQuery SQL); refuse ``#legacySQL``. Blank lines
    and ``--`` comment lines (a named query's header) may come before it and are kept."""
    lines = sql.split("\n")
    for i, line in enumerate(lines):
        word = line.strip().lower()
        if not word or word.startswith("--"):
            continue
        if word == "#legacysql":
            raise QueryError(
                f"this query is BigQuery legacy SQL (#legacySQL), which dicomlake does not run: {LEGACY_HINT}"
            )
        if word == "#standardsql":
            return "\n".join(lines[:i] + lines[i + 1 :]), True
        break
    return sql, False


def legacy_brackets(sql: str) -> tuple[str, list[str]]:
    """``FROM [project:dataset.table]`` → ``FROM `project.dataset.table```, with a note each."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("bigquery").tokenize(sql)
    except sqlglot.errors.TokenError:
        return sql, []
    out, notes, pos = [], [], 0
    for i, tok in enumerate(tokens[:-1]):
        if tok.token_type not in (TokenType.FROM, TokenType.JOIN) or tokens[i + 1].token_type != TokenType.L_BRACKET:
            continue
        close = next((t for t in tokens[i + 2 :] if t.token_type == TokenType.R_BRACKET), None)
        if close is None:
            continue
        start, end = tokens[i + 1].start, close.end
        inner = sql[start + 1 : end]
        if (":" not in inner and "." not in inner) or any(c.isspace() or c in "`'\"[" for c in inner):
            continue
        out.append(sql[pos:start] + "`" + inner.replace(":", ".") + "`")
        notes.append(f"read BigQuery legacy table reference [{inner}] as `{inner.replace(':', '.')}`")
        pos = end + 1
    return "".join(out) + sql[pos:], notes


def store_tables(tree: exp.Expression, stores: Collection[str], qualifiers: Collection[str]) -> list[str]:
    """Rewrite, in place, each qualified table the connection does not have to the store its last
    part names; return a note per table read so."""
    by_lower = {s.lower(): s for s in stores}
    notes = []
    for table in list(_foreign([tree], qualifiers)):
        full = ".".join(p.name for p in table.parts)
        store = by_lower.get(table.name.lower())
        if store is None:
            raise QueryError(
                f"table `{full}` is not in this lake: its last part, {table.name!r}, must name a store "
                f"(stores: {', '.join(stores) or 'none'})"
            )
        new = exp.Table(this=exp.to_identifier(store, quoted=True))
        if table.alias:
            new.set("alias", table.args["alias"])
        table.replace(new)
        notes.append(f"read table `{full}` as store '{store}'")
    return notes


def _foreign(trees: list[Any], qualifiers: Collection[str]) -> list[exp.Table]:
    known = {q.lower() for q in qualifiers}
    out = []
    for tree in trees:
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                continue  # a table function: read_parquet(…), range(…)
            quals = [p for p in (table.catalog, table.db) if p]
            if quals and not all(q.lower() in known for q in quals):
                out.append(table)
    return out


def _duckdb_parses(sql: str) -> bool:
    try:
        duckdb.extract_statements(sql)
    except duckdb.Error:
        return False
    return True


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """sqlglot logs a warning for statements it keeps as text (EXPLAIN, LOAD …): those are DuckDB's
    to judge, so the warning would be noise on the user's stderr."""
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _parse(sql: str, dialect: str) -> list[Any] | None:
    try:
        with _quiet():
            return [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        return None


def _parse_error(sql: str) -> str:
    try:
        with _quiet():
            sqlglot.parse(sql, read="bigquery")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        return str(exc).splitlines()[0]
    return "unknown syntax"
