"""A store's schema as a tree: every column and nested field (sequence items to any depth), its
type, VR, how many instances have it and an example value.

An instance *has* a field when the field holds a value somewhere in it: not NULL, and not an empty
list, in any item of any enclosing sequence. The walk is over Arrow arrays, one column at a time:
a sequence's items are flattened with their instance's row number, so the share of a field of
``A.B.C`` counts instances, not items.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..codec.dictionary import keyword_entry
from ..errors import Param, Words, python_words, render
from ..store.catalog import StoreInfo, quote_ident

_TYPES = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.time64("us"): "TIME",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.timestamp("us"): "TIMESTAMP",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
    pa.bool_(): "BOOLEAN",
}
EXAMPLE_WIDTH = 40


@dataclass(frozen=True)
class Field:
    """One column or nested field of a store."""

    path: str  # dotted: RequestAttributesSequence.ScheduledProtocolCodeSequence.CodeValue
    name: str
    depth: int  # 0 for a column
    type: str  # DuckDB's name: VARCHAR, DATE, VARCHAR[], STRUCT, STRUCT[] (a sequence), …
    vr: str | None  # the dictionary's VR (SQ for sequences); None for dicomlake's and PN's parts
    instances: int  # instances that have a value here
    share: float  # instances / the store's instances (0 for an empty store)
    example: Any  # the first value found (a scalar or a list of scalars), None for structs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return type_name(t.value_type) + "[]"
    if pa.types.is_struct(t):
        return "STRUCT"
    return _TYPES.get(t, str(t).upper())


def describe_column(name: str, column: pa.ChunkedArray | pa.Array, total: int) -> list[Field]:
    """The field tree of one column (``column`` has one value per instance)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return list(_walk(name, name, arr, np.arange(len(arr)), 0, total, dicom=True))


def _walk(
    name: str, path: str, arr: pa.Array, rows: np.ndarray, depth: int, total: int, dicom: bool
) -> Iterator[Field]:
    t = arr.type
    listed = pa.types.is_list(t) or pa.types.is_large_list(t)
    present = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if listed:
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
        present &= lengths > 0
    have = len(np.unique(rows[present])) if len(rows) else 0
    item_struct = listed and pa.types.is_struct(t.value_type)
    nested = pa.types.is_struct(t) or item_struct
    example = None
    if not nested and present.any():
        example = arr[int(np.argmax(present))].as_py()
    yield Field(
        path, name, depth, type_name(t), _vr(name, t) if dicom else None, have, have / total if total else 0.0, example
    )
    if pa.types.is_struct(t):
        children: pa.StructArray = arr
        child_rows = rows
        child_dicom = False  # a PN's Alphabetic/FamilyName, an OtherElements item's Tag/Data
    elif item_struct:
        children = pc.list_flatten(arr)
        child_rows = rows[pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)]
        child_dicom = _vr(name, t) == "SQ"
    else:
        return
    for i, child in enumerate(children.flatten()):
        f = t.field(i) if pa.types.is_struct(t) else t.value_type.field(i)
        yield from _walk(f.name, f"{path}.{f.name}", child, child_rows, depth + 1, total, child_dicom)


def _vr(name: str, t: pa.DataType) -> str | None:
    if name.startswith("dl_") or name in ("DroppedTags", "OtherElements"):
        return None
    if name.startswith("Tag_"):  # a private sequence
        return "SQ"
    e = keyword_entry(name)
    return e.vr if e is not None else None


# ---- store list ---------------------------------------------------------------------------
STATS = {
    "name": pa.string(),
    "patients": pa.int64(),
    "studies": pa.int64(),
    "series": pa.int64(),
    "instances": pa.int64(),
    "parquet_files": pa.int64(),
    "parquet_bytes": pa.int64(),
    "source_bytes": pa.int64(),
    "created_at": pa.timestamp("us"),
    "updated_at": pa.timestamp("us"),
}


def store_stats(stores: list[tuple[StoreInfo, duckdb.DuckDBPyRelation | None]]) -> pa.Table:
    """A row per store (its catalog entry and its rows, None for a damaged store): distinct
    patients, studies and series, instances, Parquet files and bytes, source bytes (NULL where
    the rows record none)."""
    rows = []
    for info, rel in stores:
        counts: tuple[Any, ...] = (None,) * 5
        if rel is not None:
            have = {c.lower() for c in rel.columns}

            def agg(expr: str, column: str, absent: str = "0", have: set[str] = have) -> str:
                return expr.format(quote_ident(column)) if column.lower() in have else absent

            counts = rel.aggregate(
                f"{agg('count(DISTINCT {})', 'PatientID')}, {agg('count(DISTINCT {})', 'StudyInstanceUID')}, "
                f"{agg('count(DISTINCT {})', 'SeriesInstanceUID')}, count(*), {agg('sum({})', 'dl_source_size', 'NULL')}"
            ).fetchall()[0]
        size = sum(os.path.getsize(f) for f in info.files if os.path.exists(f))
        rows.append((info.name, *counts[:4], len(info.files), size, counts[4], info.created_at, info.updated_at))
    return pa.table([pa.array([r[i] for r in rows], t) for i, t in enumerate(STATS.values())], names=list(STATS))


# ---- rendering ------------------------------------------------------------------------------
def as_json(fields: list[Field]) -> str:
    from .output import _jsonable

    return json.dumps([f.as_dict() for f in fields], default=_jsonable, ensure_ascii=False, indent=2) + "\n"


def as_text(store: str, instances: int, fields: list[Field], width: int, words: Words = python_words) -> str:
    """The tree, one line per field, fitting ``width`` characters (examples cut with an ellipsis)."""
    from .output import _jsonable

    names = [_branch(fields, i) + f.name for i, f in enumerate(fields)]
    name_w = min(max([len(n) for n in names] + [5]), max(20, width // 2))
    type_w = min(max([len(f.type) for f in fields] + [4]), 16)
    head = f"{'FIELD':<{name_w}}  {'TYPE':<{type_w}}  VR  {'HAVE':>6}  EXAMPLE"
    lines = [f"store '{store}': {instances} instances, {sum(f.depth == 0 for f in fields)} columns", head]
    for f, n in zip(fields, names, strict=True):
        example = "" if f.example is None else json.dumps(f.example, default=_jsonable, ensure_ascii=False)
        left = f"{_cut(n, name_w):<{name_w}}  {_cut(f.type, type_w):<{type_w}}  {f.vr or '':<2}  {f.share:>6.1%}  "
        room = max(0, min(EXAMPLE_WIDTH, width - len(left)))
        lines.append((left + _cut(example, room)).rstrip()[:width])
    lines += textwrap.wrap(
        "HAVE: share of instances with a value (not NULL, not an empty list) anywhere in the field; "
        "whole examples: " + render((Param("fmt", "json"),), words),
        width,
    )
    return "".join(line + "\n" for line in lines)


def _cut(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _branch(fields: list[Field], i: int) -> str:
    """Tree drawing for field ``i``: │ for each open ancestor, then ├─ or └─."""
    d = fields[i].depth
    if d == 0:
        return ""

    def last_at(j: int, depth: int) -> bool:  # no later sibling at ``depth`` before the parent closes
        for k in range(j + 1, len(fields)):
            if fields[k].depth < depth:
                return True
            if fields[k].depth == depth:
                return False
        return True

    prefix = ""
    for level in range(1, d):
        ancestor = max(j for j in range(i) if fields[j].depth == level)
        prefix += "   " if last_at(ancestor, level) else "│  "
    return prefix + ("└─ " if last_at(i, d) else "├─ ")
