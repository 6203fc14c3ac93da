"""The one schema authority: VR → Arrow type, the columns dicomlake adds, and schema widening.

A store follows the BigQuery DICOM schema: one column per keyword that occurs (union over
instances), typed by the dictionary VR, lists where the dictionary VM can exceed 1, PN as a
struct, SQ as a list of structs whose fields are the union over all items, private
non-sequence elements in ``OtherElements`` and binary elements named in ``DroppedTags``.
Everything that writes a store goes through :func:`infer_schema` / :func:`unify` /
:func:`conform`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from .dictionary import Entry, keyword_entry, tag_for_keyword
from .vr import BINARY, FLOAT_NUMBER, INT_NUMBER, PLAIN_TEXT, resolve

PN_COMPONENTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")
PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
PN_COMPONENT_TYPE = pa.struct([(c, pa.string()) for c in PN_COMPONENTS])
PN_TYPE = pa.struct([(g, PN_COMPONENT_TYPE) for g in PN_GROUPS])
OTHER_ELEMENTS_TYPE = pa.list_(pa.struct([("Tag", pa.string()), ("Data", pa.list_(pa.string()))]))
STRING_LIST = pa.list_(pa.string())
MAX_SEQUENCE_DEPTH = 15
#: The always-NULL field of sequence items that hold no elements anywhere in the store.
PLACEHOLDER = "dl_item"  # BigQuery's nesting limit; deeper sequences are dropped

_SCALAR_BY_VR: dict[str, pa.DataType] = {
    **{vr: pa.string() for vr in PLAIN_TEXT},
    "DA": pa.date32(),
    "TM": pa.time64("us"),
    "DT": pa.timestamp("us"),
    **{vr: pa.float64() for vr in FLOAT_NUMBER},
    **{vr: pa.int64() for vr in INT_NUMBER},
    "PN": PN_TYPE,
}

#: Columns dicomlake adds. Their ``dl_`` prefix can never collide with a DICOM keyword.
ADDED_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "DroppedTags": (
        STRING_LIST,
        "Paths of elements with no column: binary VRs (OB OD OF OL OV OW UN), PixelData, "
        "sequences nested deeper than 15 levels. Keyword, Tag_GGGGEEEE for private, "
        "Seq[i].Keyword inside sequences.",
    ),
    "dl_source": (pa.string(), "Where the instance was read from: absolute file path or URL."),
    "dl_source_size": (pa.int64(), "Size of the source file in bytes."),
    "dl_source_sha256": (pa.string(), "SHA-256 of the whole source file, hex."),
    "dl_source_version": (
        pa.string(),
        "The source object's version when it was listed for ingest: its ETag (S3, Azure) or "
        "generation (GCS); NULL for files, archive members and DICOMweb instances.",
    ),
    "dl_ingested_at": (pa.timestamp("us"), "When this row was written by ingest (UTC)."),
    "dl_empty": (
        STRING_LIST,
        "Paths of typed single-valued elements (dates, times, numbers) present with an empty "
        "value, which a typed NULL cannot tell from an absent element.",
    ),
    "dl_raw": (
        pa.list_(pa.struct([("Path", pa.string()), ("VR", pa.string()), ("Value", pa.string())])),
        "Original text of typed values that did not parse (their column is NULL) or that are "
        "not written in canonical form (e.g. TM 0759), so rematerialization can restore them.",
    ),
}

ADDED_ORDER = list(ADDED_COLUMNS)


def vr_type(vr: str, multi: bool) -> pa.DataType | None:
    """Arrow type of an element of this (resolved or dictionary) VR; None for binary VRs."""
    vr = resolve(vr)
    base = None if vr in BINARY else _SCALAR_BY_VR.get(vr)
    if base is None:
        return None
    return pa.list_(base) if multi else base


def entry_type(e: Entry) -> pa.DataType | None:
    """Column type of a public non-sequence element; repeating groups become {Id, Value} lists."""
    t = vr_type(e.vr, e.multi)
    if t is not None and e.repeater:
        return pa.list_(pa.struct([("Id", pa.string()), ("Value", t)]))
    return t


def _sort_key(name: str) -> tuple[int, int, str]:
    if name.startswith("Tag_"):
        return (0, int(name[4:], 16), name)
    tag = tag_for_keyword(name)
    if tag is not None:
        return (0, tag, name)
    e = keyword_entry(name)
    if e is not None:
        return (0, e.tag, name)
    if name == "OtherElements":
        return (1, 0, name)
    if name in ADDED_COLUMNS:
        return (2, ADDED_ORDER.index(name), name)
    return (1, 1, name)


def _field_type(name: str, values: list[Any]) -> pa.DataType:
    if name == "OtherElements":
        return OTHER_ELEMENTS_TYPE
    if name in ADDED_COLUMNS:
        return ADDED_COLUMNS[name][0]
    e = keyword_entry(name) if not name.startswith("Tag_") else None
    if e is not None and e.vr != "SQ":
        t = entry_type(e)
        if t is not None:
            return t
    # A sequence (public or private Tag_ column): the union of its items' fields.
    items = [item for v in values if v for item in v]
    return pa.list_(_struct_of(items))


def _struct_of(rows: Sequence[Mapping[str, Any]]) -> pa.StructType:
    names: set[str] = set()
    for r in rows:
        names.update(r.keys())
    fields = []
    for name in sorted(names, key=_sort_key):
        vals = [r.get(name) for r in rows] if name.startswith("Tag_") or _is_sequence(name) else []
        fields.append(pa.field(name, _field_type(name, vals)))
    if not fields:  # Parquet cannot store a struct without fields (sequences of empty items)
        fields.append(pa.field(PLACEHOLDER, pa.bool_()))
    return pa.struct(fields)


def _is_sequence(name: str) -> bool:
    e = keyword_entry(name)
    return e is not None and e.vr == "SQ"


def infer_schema(rows: Sequence[Mapping[str, Any]]) -> pa.Schema:
    """The schema of a batch of converted rows: only columns that occur, sequences unioned."""
    struct = _struct_of(rows)
    return pa.schema([struct.field(i) for i in range(struct.num_fields)])


def _merge_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    if a.equals(b):
        return a
    if pa.types.is_list(a) and pa.types.is_list(b):
        return pa.list_(_merge_type(a.value_type, b.value_type))
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        merged = _merge_fields(list(a), list(b))
        return pa.struct(merged)
    # Different leaf types for one name cannot come from one dictionary; keep text.
    return pa.string()


def _merge_fields(a: Iterable[pa.Field], b: Iterable[pa.Field]) -> list[pa.Field]:
    by_name: dict[str, pa.DataType] = {}
    for f in list(a) + list(b):
        by_name[f.name] = _merge_type(by_name[f.name], f.type) if f.name in by_name else f.type
    return [pa.field(n, by_name[n]) for n in sorted(by_name, key=_sort_key)]


def unify(schemas: Iterable[pa.Schema]) -> pa.Schema:
    """Union of columns and of nested struct fields; nothing is ever dropped."""
    fields: list[pa.Field] = []
    for s in schemas:
        fields = _merge_fields(fields, list(s))
    return pa.schema(fields)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: missing ones null, nested structs widened."""
    if table.schema.equals(schema):
        return table
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type.equals(f.type) else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def base_schema() -> pa.Schema:
    """The schema of an empty store: the identifying UIDs and the added columns."""
    uids = [pa.field(k, pa.string()) for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")]
    uids.sort(key=lambda f: _sort_key(f.name))
    return pa.schema(uids + [pa.field(n, t) for n, (t, _) in ADDED_COLUMNS.items()])
