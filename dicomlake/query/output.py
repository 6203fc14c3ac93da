"""Writing query results: table, CSV, JSON, NDJSON or Parquet, to stdout or a file.

The table format is for people: on stdout it fits the terminal (``COLUMNS``, else the terminal's
width), prints at most :data:`TABLE_ROWS` rows and says what it left out; written to a file
(``--output FILE.txt``) it is whole. The other formats are for programs and are never cut."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import shutil
import sys
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import Param, QueryError, Words, python_words, render
from ..store.catalog import new_connection

FORMATS = ("table", "csv", "json", "ndjson", "parquet")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def rows_as_dicts(rel: duckdb.DuckDBPyRelation) -> list[dict[str, Any]]:
    return rel.to_arrow_table().to_pylist()


_SUFFIX = {".csv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".parquet": "parquet"}


def _json_text(col: pa.ChunkedArray) -> pa.Array:
    import json as _json

    return pa.array(
        [None if v is None else _json.dumps(v, default=_jsonable, ensure_ascii=False) for v in col.to_pylist()],
        pa.string(),
    )


def csv_table(table: pa.Table) -> pa.Table:
    """CSV cannot hold lists and structs: those columns become JSON text."""
    cols = [
        _json_text(table.column(i)) if pa.types.is_nested(f.type) else table.column(i)
        for i, f in enumerate(table.schema)
    ]
    return pa.table(cols, names=table.column_names)


def write_result(
    rel: duckdb.DuckDBPyRelation,
    fmt: str | None,
    output: str | None = None,
    out: IO[str] | None = None,
    *,
    whole: bool = False,
    words: Words = python_words,
) -> None:
    """Write ``rel`` in ``fmt`` (default: from the output's suffix, else a table) to ``output`` or ``out``.

    The table format fits the terminal unless it goes to ``output`` or ``whole`` is set (then every
    row, column and value); ``words`` names the parameters in its footer (the CLI's: its options)."""
    if fmt is None:
        fmt = _SUFFIX.get(Path(output).suffix.lower(), "table") if output else "table"
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = out or sys.stdout
    table = rel.to_arrow_table()
    if fmt == "parquet":
        if not output:
            raise QueryError(Param("fmt", "parquet"), " needs ", Param("output", metavar="FILE"))
        pq.write_table(table, output)
        return
    if fmt == "csv":
        table = csv_table(table)
        if output:
            pacsv.write_csv(table, output)
        else:
            out.flush()
            pacsv.write_csv(table, getattr(out, "buffer", None) or _TextSink(out))
        return
    if fmt == "table":
        # on a terminal the table fits it; written to a file it is whole (every row, column and value)
        if output or whole:
            text = table_text(table, sys.maxsize, table.num_rows, sys.maxsize)
        else:
            text = table_text(table, words=words)
    elif fmt == "json":
        text = json.dumps(table.to_pylist(), default=_jsonable, ensure_ascii=False, indent=2) + "\n"
    else:
        text = "".join(json.dumps(r, default=_jsonable, ensure_ascii=False) + "\n" for r in table.to_pylist())
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        out.write(text)


#: Rows the table format prints (the first and last halves); the footer says how to get all.
TABLE_ROWS = 40
#: Widest a single value is drawn in the table format before it is cut with an ellipsis.
TABLE_VALUE_WIDTH = 40


def terminal_width() -> int:
    """``COLUMNS`` if set, else the terminal's width, else 120 (never less than 40)."""
    return max(40, shutil.get_terminal_size((120, 24)).columns)


def table_text(
    table: pa.Table,
    width: int | None = None,
    rows: int = TABLE_ROWS,
    value_width: int = TABLE_VALUE_WIDTH,
    words: Words = python_words,
) -> str:
    """``table`` drawn in a box that fits ``width`` characters (default: the terminal's): its first
    ``rows`` rows, the columns that fit from the left (the others elided as ``…``), each value cut
    at ``value_width`` characters with an ellipsis. The footer says how many rows and columns were
    printed of how many and, when something was left out, how to get it all."""
    width = width or terminal_width()
    head = table.slice(0, max(rows, 0))
    names, types, cells = _texts(head)
    widths = [
        min(max(len(n), len(t), *(len(c) for c in col)), value_width)
        for n, t, col in zip(names, types, cells, strict=True)
    ]
    shown, widths = _fit(widths, names, width)
    if shown == 0 and widths:  # not even one column fits: narrow the first
        widths[0], shown = max(1, width - 4 - (4 if len(widths) > 1 else 0)), 1
    elided = shown < len(names)
    cols = list(range(shown))
    numeric: list[bool | None] = [
        pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type) for f in head.schema
    ]

    def row(values: list[str], align: list[bool | None]) -> str:
        parts = [_cell(values[i], widths[i], align[i]) for i in cols] + (["…"] if elided else [])
        return "│ " + " │ ".join(parts) + " │"

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (widths[i] + 2) for i in cols) + (mid + "───" if elided else "") + right

    centre: list[bool | None] = [None] * len(names)
    lines = [rule("┌", "┬", "┐"), row(names, centre), row(types, centre), rule("├", "┼", "┤")]
    lines += [row([col[r] for col in cells], numeric) for r in range(head.num_rows)]
    lines.append(rule("└", "┴", "┘"))
    if not names:
        lines = []
    lines += _wrap(_footer(table.num_rows, head.num_rows, len(names), shown), width)
    cut = any(len(c) > widths[i] for i in cols for c in [names[i], types[i], *cells[i]])
    if head.num_rows < table.num_rows or elided:
        what = [_count(table.num_rows - head.num_rows, "row")] if head.num_rows < table.num_rows else []
        what += [_count(len(names) - shown, "column")] if elided else []
        lines += _wrap(f"left out: {' and '.join(what)}; all of them: {_whole(words)}", width)
    elif cut:
        lines += _wrap(f"long values are cut (…); whole values: {_whole(words)}", width)
    return "".join(line + "\n" for line in lines)


def _whole(words: Words) -> str:
    """How to get a result whole, in ``words`` (the CLI's: ``--format csv or json, or --output FILE``)."""
    return render((Param("fmt", "csv"), " or json, or ", Param("output", metavar="FILE")), words)


def _texts(head: pa.Table) -> tuple[list[str], list[str], list[list[str]]]:
    """Column names, DuckDB type names and every value as DuckDB writes it as text (NULL for null)."""
    if head.num_columns == 0:
        return [], [], []
    con = new_connection()
    try:
        rel = con.from_arrow(head)
        types = [str(t).lower() for t in rel.types]
        text = rel.select(*[duckdb.SQLExpression(f"CAST(#{i + 1} AS VARCHAR)") for i in range(head.num_columns)])
        data = text.fetchall()
    finally:
        con.close()
    cells = [["NULL" if r[i] is None else _printable(r[i]) for r in data] for i in range(head.num_columns)]
    return [_printable(n) for n in head.column_names], types, cells


def _printable(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")


def _cell(text: str, width: int, align: bool | None) -> str:
    if len(text) > width:
        return text[: width - 1] + "…"
    if align is None:
        return text.center(width)
    return text.rjust(width) if align else text.ljust(width)


def _fit(widths: list[int], names: list[str], width: int) -> tuple[int, list[int]]:
    """How many columns from the left fit in ``width`` and how wide each is drawn. Each column may
    narrow to its floor (its name up to 24 characters, at least 8); as many columns as fit at
    their floors are shown, then all are widened evenly towards their natural widths."""
    floors = [min(w, max(8, min(len(n), 24))) for w, n in zip(widths, names, strict=True)]

    def used(ws: list[int], k: int) -> int:  # borders, padding, and "│ … " if columns are left out
        return 1 + sum(w + 3 for w in ws[:k]) + (4 if k < len(ws) else 0)

    k = len(widths)
    while k > 0 and used(floors, k) > width:
        k -= 1
    for cap in range(max(widths, default=0), -1, -1):
        drawn = [max(f, min(w, cap)) for w, f in zip(widths, floors, strict=True)]
        if used(drawn, k) <= width:
            return k, drawn
    return k, floors


def _footer(total: int, rows: int, columns: int, shown: int) -> str:
    text = _count(total, "row") + (f" ({rows} shown)" if rows < total else "")
    return text + f", {_count(columns, 'column')}" + (f" ({shown} shown)" if shown < columns else "")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, break_on_hyphens=False)


class _TextSink:
    """A binary file-like that forwards to a text stream (pyarrow writes bytes)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.closed = False

    def write(self, data: bytes) -> int:
        self.out.write(bytes(data).decode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self.out.flush()
