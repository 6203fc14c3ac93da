"""The plan as SQL: one SELECT over the store table that produces the de-identified table.

Each column gets an expression by its plan action; sequences become ``list_transform`` over
their items with the same rules applied to the item fields, to any depth. Work per value
(UIDs, date shifts, text inspection) is done by vectorized UDFs that see each distinct value
once (see :mod:`.udfs`). Absent elements stay absent: every rewrite is guarded by
``CASE WHEN x IS NULL``. Identifiers go through :func:`quote_ident`, constants through
:func:`quote_literal`; no value from the data is ever pasted into the SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from ..codec.dictionary import keyword_entry
from ..codec.schema import PN_COMPONENTS, PN_GROUPS, PN_TYPE
from ..codec.vr import DATE_TIME, FLOAT_NUMBER, STRUCT_CODE
from ..store.catalog import quote_ident, quote_literal
from .plan import Planner, field_tag_vr
from .vr_values import PLACEHOLDER, dummy


def dummy_sql(vr: str) -> str:
    """The VR's dummy (:data:`.vr_values.DUMMY`) as the SQL literal of its column type."""
    text = dummy(vr)
    if vr == "DA":
        return f"DATE '{text[:4]}-{text[4:6]}-{text[6:]}'"
    if vr == "TM":
        return f"TIME '{text[:2]}:{text[2:4]}:{text[4:6]}'"
    if vr == "DT":
        return f"TIMESTAMP '{text[:4]}-{text[4:6]}-{text[6:8]} {text[8:10]}:{text[10:12]}:{text[12:14]}'"
    if vr in FLOAT_NUMBER:
        return f"{text}.0"
    if vr in TYPED_SCALAR:
        return text
    return quote_literal(text)


TYPED_SCALAR = DATE_TIME | frozenset(STRUCT_CODE)


@dataclass
class Ctx:
    """What the generator needs besides the plan: how text and PN values are cleaned."""

    planner: Planner
    pn_clean: Callable[[str], str]  # SQL of a PN struct value → SQL of its cleaned struct
    text_clean: bool  # does cleanText change text at all (a TextConfig that transforms)?
    date_clean: str  # "shift" | "remove" | "dummy" | "keep": what cleanText does to DA/DT values
    emptied: list[str]  # top-level typed scalars emptied by remove (added to dl_empty)
    still_empty: list[str] = field(default_factory=list)  # rewritten typed scalars: empty in, empty out


_DUCK = {
    pa.date32(): "DATE",
    pa.time64("us"): "TIME",
    pa.timestamp("us"): "TIMESTAMP",
    pa.float64(): "DOUBLE",
    pa.int64(): "BIGINT",
    pa.string(): "VARCHAR",
}


def _duck_type(t: pa.DataType) -> str:
    return _DUCK.get(t, "VARCHAR")


def pn_struct(family_sql: str) -> str:
    """A PN struct whose only name is ``family_sql``; an empty given name follows a written one, so
    the text is ``FAMILY^`` (a name without ``^`` is the retired ACR-NEMA form to validators)."""
    given = "NULL::VARCHAR" if family_sql == "NULL::VARCHAR" else f"CASE WHEN {family_sql} <> '' THEN '' END"
    picks = {"FamilyName": family_sql, "GivenName": given}
    comp = ", ".join(f"{c} := {picks.get(c, 'NULL::VARCHAR')}" for c in PN_COMPONENTS)
    null_group = f"NULL::{_PN_GROUP_TYPE}"
    groups = ", ".join(f"{g} := {'struct_pack(' + comp + ')' if g == 'Alphabetic' else null_group}" for g in PN_GROUPS)
    return f"struct_pack({groups})"


_PN_GROUP_TYPE = "STRUCT(" + ", ".join(f"{c} VARCHAR" for c in PN_COMPONENTS) + ")"
#: A PN present with an empty value: the struct is there, every group NULL.
PN_EMPTY = "struct_pack(" + ", ".join(f"{g} := NULL::{_PN_GROUP_TYPE}" for g in PN_GROUPS) + ")"


def _guard(ref: str, new: str) -> str:
    return f"CASE WHEN {ref} IS NULL THEN NULL ELSE {new} END"


def leaf_expr(ref: str, f: pa.Field, vr: str, action: str, ctx: Ctx, path: str, top: bool) -> str | None:
    """Expression for a non-sequence element, or None to delete it."""
    t = f.type
    is_list = pa.types.is_list(t)
    pn = t.equals(PN_TYPE) or (is_list and t.value_type.equals(PN_TYPE))
    if action in ("keep", "recurse", "clean_image"):
        return ref
    if action == "delete":
        return None
    if action == "remove":
        if is_list:
            return _guard(ref, f"{ref}[1:0]")
        if pn:
            return _guard(
                ref, pn_struct("NULL::VARCHAR").replace("FamilyName := NULL::VARCHAR", "FamilyName := NULL::VARCHAR", 1)
            )
        if vr in TYPED_SCALAR:
            if top:
                ctx.emptied.append(path)
            return f"NULL::{_duck_type(t)}"
        return _guard(ref, "''")
    if top and vr in TYPED_SCALAR and not is_list:  # a rewritten empty value stays (it may be Type 2)
        ctx.still_empty.append(path)
    if action == "reset" and vr == "UI":  # inside a reset sequence too: a UI's dummy is a new UID
        action = "regen_uid"
    if action == "reset":  # a list gets one dummy per value: its multiplicity stays valid
        value = pn_struct(quote_literal(PLACEHOLDER)) if pn else dummy_sql(vr)
        return _guard(ref, f"list_transform({ref}, lambda x: {value})" if is_list else value)
    if action == "regen_uid":
        return _guard(ref, f"list_transform({ref}, lambda v: dl_uid(v))" if is_list else f"dl_uid({ref})")
    if action == "clean_text":
        if top and vr in ("DA", "DT") and not is_list and ctx.date_clean == "remove":
            ctx.emptied.append(path)  # a date whose text is removed stays, empty (it may be Type 2)
        return _clean_text(ref, t, vr, is_list, pn, ctx)
    raise AssertionError(action)


def _clean_text(ref: str, t: pa.DataType, vr: str, is_list: bool, pn: bool, ctx: Ctx) -> str | None:
    if pn:
        return _guard(ref, f"list_transform({ref}, lambda p: {ctx.pn_clean('p')})" if is_list else ctx.pn_clean(ref))
    if vr in ("DA", "DT"):
        fn = "dl_shift_date" if vr == "DA" else "dl_shift_ts"
        if ctx.date_clean == "keep":
            return ref
        if ctx.date_clean == "remove":
            return f"{ref}[1:0]" if is_list else f"NULL::{_duck_type(t)}"
        if ctx.date_clean == "dummy":  # a token does not fit a DA/DT: the VR's dummy
            return _guard(ref, f"list_transform({ref}, lambda d: {dummy_sql(vr)})" if is_list else dummy_sql(vr))
        return f"list_transform({ref}, lambda d: {fn}(d, dl_patient))" if is_list else f"{fn}({ref}, dl_patient)"
    if not ctx.text_clean:
        return ref
    vr_lit = quote_literal(vr)
    if is_list:
        return f"list_transform({ref}, lambda s: dl_clean(s, dl_context, {vr_lit}))"
    return f"dl_clean({ref}, dl_context, {vr_lit})"


def field_expr(ref: str, f: pa.Field, ctx: Ctx, path: str, parent: str | None, top: bool) -> str | None:
    tag, vr = field_tag_vr(f.name)
    d = ctx.planner.decide(tag, vr, parent)
    is_seq = pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type) and vr == "SQ"
    entry_ = keyword_entry(f.name)
    if entry_ is not None and entry_.repeater:  # 50xx/60xx: a list of {Id, Value}; the rule applies to Value
        value_field = f.type.value_type.field("Value")
        inner = leaf_expr('g."Value"', value_field, vr, d.action, ctx, path, top=False)
        if inner is None:
            return None
        if inner == 'g."Value"':
            return ref
        return _guard(ref, f'list_transform({ref}, lambda g: struct_pack("Id" := g."Id", "Value" := {inner}))')
    if not is_seq:
        return leaf_expr(ref, f, vr, d.action, ctx, path, top)
    if d.action == "delete":
        return None
    if d.action == "remove":
        return _guard(ref, f"{ref}[1:0]")
    inner = "reset" if d.action == "reset" else "recurse"
    var = f"it{path.count('.')}"
    item = struct_expr(var, f.type.value_type, ctx, path, inner)
    return ref if item == var else _guard(ref, f"list_transform({ref}, lambda {var}: {item})")


def struct_expr(var: str, t: pa.StructType, ctx: Ctx, path: str, parent: str) -> str:
    """``struct_pack`` of an item's fields after the plan; ``var`` itself when nothing changes."""
    parts = []
    changed = False
    for f in t:
        ref = f"{var}.{quote_ident(f.name)}"
        if f.name.startswith("dl_"):
            parts.append(f"{quote_ident(f.name)} := {ref}")
            continue
        if f.name == "OtherElements":
            expr = other_elements_expr(ref, ctx, parent)
        else:
            expr = field_expr(ref, f, ctx, f"{path}.{f.name}", parent, top=False)
        if expr != ref:
            changed = True
        if expr is not None:
            parts.append(f"{quote_ident(f.name)} := {expr}")
    if not changed:
        return var
    if not parts:
        parts.append("dl_item := NULL::BOOLEAN")
    return "struct_pack(" + ", ".join(parts) + ")"


def other_elements_expr(ref: str, ctx: Ctx, parent: str | None) -> str | None:
    """Private and unknown non-sequence elements: kept or deleted per tag (a private X by default);
    where the profile cleans text (DEIDENTIFY_TAG_CONTENTS), their text values are cleaned too
    (the writer writes a private text value from the row when it differs from the source)."""
    probe = ctx.planner.decide(0x00091001, "LO", parent)  # any private tag: the profile's private rule
    if probe.action == "keep" and not ctx.planner.actions:
        return ref
    if probe.action == "delete" and not ctx.planner.actions:
        return None
    if probe.action != "clean_text" or not ctx.text_clean:
        return f"list_filter({ref}, lambda e: dl_keep_private(e.Tag))"
    # one list_transform (Spark gathers per-value calls only from lambdas over plain columns)
    data = "list_transform(pe.Data, lambda pv: dl_clean(pv, dl_context, 'UT'))"
    creator = "substr(pe.Tag, 9, 2) = '00'"  # Tag_GGGG00xx: a private creator, never changed
    cleaned = f"CASE WHEN {creator} THEN pe ELSE struct_pack(Tag := pe.Tag, Data := {data}) END"
    each = f"CASE WHEN dl_keep_private(pe.Tag) THEN {cleaned} ELSE NULL END"
    return f"list_filter(list_transform({ref}, lambda pe: {each}), lambda pk: pk IS NOT NULL)"


#: PN columns whose names are this instance's identifying names (for PERSON_NAME in free text).
NAME_COLUMNS = (
    "PatientName",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "OperatorsName",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "ResponsiblePerson",
)
ID_COLUMNS = ("PatientID", "OtherPatientIDs", "AccessionNumber", "StudyID", "IssuerOfPatientID", "MedicalRecordLocator")
DATE_COLUMNS = ("PatientBirthDate",)
#: Text columns naming the instance's places (for LOCATION in free text).
PLACE_COLUMNS = (
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "PatientAddress",
    "RegionOfResidence",
)


def _pn_text(ref: str) -> str:
    return f"concat_ws('^', {ref}.Alphabetic.FamilyName, {ref}.Alphabetic.GivenName, {ref}.Alphabetic.MiddleName)"


def context_sql(schema: pa.Schema, phrases: list[str]) -> str:
    """A JSON text per instance with its identifying values: ``n`` names, ``i`` IDs, ``d`` dates,
    ``c`` [CTX] phrases, ``p`` places (:class:`~dicomlake.deid.detect.Context`'s fields in order)."""
    cols = {f.name: f for f in schema}

    def as_list(name: str, text: Callable[[str], str]) -> str:
        ref = quote_ident(name)
        if pa.types.is_list(cols[name].type):
            return f"coalesce(list_transform({ref}, lambda x: {text('x')}), [])"
        return f"CASE WHEN {ref} IS NULL THEN [] ELSE [{text(ref)}] END"

    def group(names: tuple[str, ...] | list[str], text: Callable[[str], str]) -> str:
        present = [as_list(n, text) for n in names if n in cols]
        return "flatten([" + ", ".join(present) + "])" if present else "[]::VARCHAR[]"

    names = group(NAME_COLUMNS, _pn_text)
    ids = group(ID_COLUMNS, lambda r: f"{r}::VARCHAR")
    dates = group(DATE_COLUMNS, lambda r: f"strftime({r}, '%Y%m%d')")
    ctx = group(phrases, lambda r: f"{r}::VARCHAR")
    places = group(PLACE_COLUMNS, lambda r: f"{r}::VARCHAR")
    return f"to_json(struct_pack(n := {names}, i := {ids}, d := {dates}, c := {ctx}, p := {places}))::VARCHAR"


def marker_columns(removed: bool, method: list[str], codes: list[tuple[str, str]]) -> dict[str, str]:
    """PatientIdentityRemoved, DeidentificationMethod and its code sequence (CID 7050; omitted
    when there is no code), as :mod:`.markers` decided them."""
    items = ", ".join(
        f"struct_pack(CodeValue := {quote_literal(v)}, CodingSchemeDesignator := 'DCM', CodeMeaning := {quote_literal(m)})"
        for v, m in codes
    )
    out = {
        "PatientIdentityRemoved": quote_literal("YES" if removed else "NO"),
        "DeidentificationMethod": "[" + ", ".join(quote_literal(m) for m in method) + "]",
    }
    if codes:
        out["DeidentificationMethodCodeSequence"] = f"[{items}]"
    return out


def _in_empty(path: str, condition: str) -> str:
    """SQL of ``[path]`` when ``condition`` or the source's ``dl_empty`` lists it, else ``[]``."""
    p = quote_literal(path)
    return f"CASE WHEN {condition}list_contains(dl_empty, {p}) THEN [{p}] ELSE [] END"


def transform_sql(
    schema: pa.Schema,
    source: str,
    ctx: Ctx,
    markers: dict[str, str],
    phrases: list[str],
    image_phrases: list[str] | None = None,
) -> str:
    """The whole SELECT: DICOM columns by the plan, added columns maintained, markers set.

    ``image_phrases``: burned-in text is cleaned, so each row also carries ``dl_image_context``,
    its identifying values with these columns' values as [CTX] phrases."""
    out: list[str] = []
    for f in schema:
        ref = quote_ident(f.name)
        if f.name in markers or f.name in (
            "DroppedTags",
            "dl_empty",
            "dl_raw",
            "dl_source",
            "dl_source_size",
            "dl_source_sha256",
            "dl_ingested_at",
        ):
            continue
        if f.name == "OtherElements":
            expr = other_elements_expr(ref, ctx, None)
        elif f.name.startswith("dl_"):
            expr = ref
        else:
            expr = field_expr(ref, f, ctx, f.name, None, top=True)
        if expr is not None:
            out.append(f"{expr} AS {ref}")
    out += [f"{v} AS {quote_ident(k)}" for k, v in markers.items()]
    emptied = " , ".join(
        [_in_empty(p, f"{quote_ident(p)} IS NOT NULL OR ") for p in ctx.emptied]
        + [_in_empty(p, "") for p in ctx.still_empty if p not in ctx.emptied]
    )
    empty = "list_filter(dl_empty, lambda p: dl_keep_path(p))"
    if emptied:
        empty = f"list_concat(coalesce({empty}, []), {emptied})"
    out += [
        "list_filter(DroppedTags, lambda p: dl_keep_path(p)) AS DroppedTags",
        "NULL::VARCHAR AS dl_source",
        "NULL::BIGINT AS dl_source_size",
        "NULL::VARCHAR AS dl_source_sha256",
        "now()::TIMESTAMP AS dl_ingested_at",
        f"nullif({empty}, []) AS dl_empty",
        "nullif(list_filter(dl_raw, lambda r: dl_keep_path(r.Path)), []) AS dl_raw",
        "dl_src",
        "dl_src_size",
        "dl_src_sha256",
        "dl_row",
    ]
    if image_phrases is not None:
        out.append(f"{context_sql(schema, image_phrases)} AS dl_image_context")
    inner = (
        f"SELECT *, {context_sql(schema, phrases)} AS dl_context, "
        "coalesce(PatientID, StudyInstanceUID) AS dl_patient, dl_source AS dl_src, "
        "dl_source_size AS dl_src_size, dl_source_sha256 AS dl_src_sha256, "
        f"row_number() OVER () AS dl_row FROM {source}"
    )
    if "PatientID" not in {f.name for f in schema}:
        inner = inner.replace("coalesce(PatientID, StudyInstanceUID)", "StudyInstanceUID")
    return "SELECT\n    " + ",\n    ".join(out) + f"\nFROM ({inner}) AS src"
