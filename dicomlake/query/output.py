"""Writing query results: table, CSV, JSON, NDJSON or Parquet, to stdout or a file."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import Param, QueryError

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
    rel: duckdb.DuckDBPyRelation, fmt: str | None, output: str | None = None, out: IO[str] | None = None
) -> None:
    """Write ``rel`` in ``fmt`` (default: from the output's suffix, else a table) to ``output`` or ``out``."""
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
        text = _table_text(rel, table.num_rows)
    elif fmt == "json":
        text = json.dumps(table.to_pylist(), default=_jsonable, ensure_ascii=False, indent=2) + "\n"
    else:
        text = "".join(json.dumps(r, default=_jsonable, ensure_ascii=False) + "\n" for r in table.to_pylist())
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        out.write(text)


def _table_text(rel: duckdb.DuckDBPyRelation, n: int) -> str:
    # DuckDB renders nested values and wide columns well; show every row we fetched.
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rel.show(max_rows=max(n, 1), max_width=10_000)
    return buf.getvalue()


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
