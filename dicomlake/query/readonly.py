"""Queries are read-only: a statement that would change the lake is refused before anything runs.

Each statement's type comes from DuckDB's own parser (``duckdb.extract_statements``), never from
a keyword search over the text. SELECT (with DESCRIBE, SHOW, SUMMARIZE, VALUES, FROM-first),
EXPLAIN, PIVOT, the PRAGMAs and CALLs that only report, are read; everything else (DROP, CREATE,
INSERT, UPDATE, DELETE, ALTER, COPY, ATTACH, DETACH, EXPORT, SET, INSTALL, LOAD, CHECKPOINT,
transactions, …) is refused.
"""

from __future__ import annotations

import itertools

import duckdb
import sqlglot
from sqlglot import exp

from ..errors import Param, QueryError

_READ = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
#: PRAGMAs and CALLs (``CALL pragma_table_info('ct')``) that only report.
READ_PRAGMAS = frozenset(
    {
        "table_info",
        "show",
        "show_tables",
        "show_tables_expanded",
        "show_databases",
        "database_list",
        "database_size",
        "storage_info",
        "metadata_info",
        "functions",
        "collations",
        "version",
        "platform",
        "user_agent",
    }
)
_VERB = {
    duckdb.StatementType.COPY: "COPY",
    duckdb.StatementType.LOAD: "INSTALL/LOAD",
    duckdb.StatementType.SET: "SET",
    duckdb.StatementType.TRANSACTION: "a transaction",
}


def check_read_only(sql: str, source: str = "SQL") -> None:
    """Raise :class:`QueryError` if any statement of ``sql`` would change something. SQL that
    DuckDB cannot parse passes (running it gives DuckDB's own parse error)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return
    for st in statements:
        if st.type in _READ or _reads(st.type, st.query):
            continue
        text = " ".join(st.query.split()).rstrip(";")
        verb = _VERB.get(st.type) or st.type.name
        raise QueryError(
            f"{source}: queries are read-only, and {text[:80]!r} is a {verb} statement, which would change "
            "the lake or the session: nothing was run. Change stores with ingest, export, deidentify or "
            "by creating or dropping a store; write a result to a file with ",
            Param("output", metavar="FILE"),
        )
    if len(statements) > 1:
        raise QueryError(
            f"{source}: {len(statements)} statements, but a query shows one result (the others' would be "
            "lost): run them one at a time"
        )


def _reads(kind: duckdb.StatementType, query: str) -> bool:
    if kind == duckdb.StatementType.PRAGMA:
        return _name_after(query, "PRAGMA").removeprefix("pragma_") in READ_PRAGMAS
    if kind == duckdb.StatementType.CALL:
        name = _name_after(query, "CALL")
        return name.startswith("pragma_") and name.removeprefix("pragma_") in READ_PRAGMAS
    if kind == duckdb.StatementType.MULTI:  # PIVOT: DuckDB plans it as several statements
        try:
            tree = sqlglot.parse_one(query, read="duckdb")
        except sqlglot.errors.SqlglotError:
            return False
        return isinstance(tree, exp.Pivot | exp.Select) or (
            isinstance(tree, exp.Table) and isinstance(tree.this, exp.Pivot)
        )
    return False


def _name_after(query: str, keyword: str) -> str:
    """The function or pragma name that follows ``keyword`` (from the tokens, not the text)."""
    tokens = [t for t in sqlglot.Dialect.get_or_raise("duckdb").tokenize(query) if t.text]
    words = [t.text for t in tokens]
    upper = [w.upper() for w in words]
    i = upper.index(keyword) if keyword in upper else -1
    after = words[i + 1] if 0 <= i < len(words) - 1 else ""  # sqlglot keeps CALL's rest as one token
    return "".join(itertools.takewhile(lambda c: c.isalnum() or c == "_", after)).lower()
