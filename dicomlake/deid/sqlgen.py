"""The plan as SQL: one SELECT over the store table that produces the de-identified table.

Each column gets an expression by its plan action; sequences become ``list_transform`` over
their items with the same rules applied to the item fields, to any depth. Work per value
(UIDs, date shifts, text inspection) is done by vectorized UDFs that see each distinct value
once (see :mod:`.udfs`). Absent elements stay absent: every rewrite is guarded by
``CASE WHEN x IS NULL``.

The SELECT is built as a sqlglot expression tree, never as text, from :mod:`.sqltree`'s blocks:
DuckDB's functions are the nodes its dialect parses them into (``list_transform`` is
``exp.Transform``, ``struct_pack`` ``exp.Struct`` …), dicomlake's UDFs are ``exp.Anonymous``
calls, sequences and multi-valued elements are ``exp.Lambda`` s, names of the store's columns are
quoted ``exp.Identifier`` s and constants ``exp.Literal`` s; no value from the data is ever in
the SQL. :func:`~.sqltree.duckdb_sql` renders the tree for DuckDB; :mod:`.on_spark` rewrites a copy of the
same tree (``tree.transform`` with named rules) and renders it for Spark, so both engines run
one plan. The golden files under ``tests/golden/deid/`` show both renderings per
representative config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot import exp

from ..codec.dictionary import keyword_entry
from ..codec.schema import PN_COMPONENTS, PN_GROUPS, PN_TYPE
from ..codec.vr import DATE_TIME, FLOAT_NUMBER, STRUCT_CODE
from .plan import Planner, field_tag_vr
from .sqltree import (
    array,
    column,
    dot,
    dtype,
    each,
    empty_list,
    fn,
    guard,
    keep_if,
    list_type,
    lit,
    own,
    struct,
    struct_type,
    typed_null,
    udf,
)
from .vr_values import PLACEHOLDER, dummy

# ---- values -------------------------------------------------------------------------------------

TYPED_SCALAR = DATE_TIME | frozenset(STRUCT_CODE)


def dummy_value(vr: str) -> exp.Expr:
    """The VR's dummy (:data:`.vr_values.DUMMY`) as a constant of its column type."""
    text = dummy(vr)
    if vr == "DA":
        return exp.Cast(this=lit(f"{text[:4]}-{text[4:6]}-{text[6:]}"), to=dtype("DATE"))
    if vr == "TM":
        return exp.Cast(this=lit(f"{text[:2]}:{text[2:4]}:{text[4:6]}"), to=dtype("TIME"))
    if vr == "DT":
        stamp = f"{text[:4]}-{text[4:6]}-{text[6:8]} {text[8:10]}:{text[10:12]}:{text[12:14]}"
        return exp.Cast(this=lit(stamp), to=dtype("TIMESTAMP"))
    if vr in FLOAT_NUMBER:
        return exp.Literal.number(f"{text}.0")
    if vr in TYPED_SCALAR:
        return exp.Literal.number(text)
    return lit(text)


@dataclass
class Ctx:
    """What the generator needs besides the plan: how text and PN values are cleaned."""

    planner: Planner
    pn_clean: Callable[[exp.Expr], exp.Expr]  # a PN struct value → its cleaned struct
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


def _pn_group_type() -> exp.DataType:
    return struct_type([(c, "VARCHAR") for c in PN_COMPONENTS])


def pn_struct(family: exp.Expr | None) -> exp.Struct:
    """A PN struct whose only name is ``family`` (None: no name); an empty given name follows a
    written one, so the text is ``FAMILY^`` (a name without ``^`` is the retired ACR-NEMA form to
    validators)."""
    if family is None:
        picks: dict[str, exp.Expr] = {}
    else:
        written = exp.NEQ(this=family.copy(), expression=lit(""))
        picks = {"FamilyName": family, "GivenName": exp.Case(ifs=[exp.If(this=written, true=lit(""))])}
    alphabetic = struct([(c, picks[c] if c in picks else typed_null("VARCHAR")) for c in PN_COMPONENTS])
    return struct([(g, alphabetic if g == "Alphabetic" else typed_null(_pn_group_type())) for g in PN_GROUPS])


def pn_empty() -> exp.Struct:
    """A PN present with an empty value: the struct is there, every group NULL."""
    return struct([(g, typed_null(_pn_group_type())) for g in PN_GROUPS])


# ---- the plan's expressions ---------------------------------------------------------------------


def leaf_expr(ref: exp.Expr, f: pa.Field, vr: str, action: str, ctx: Ctx, path: str, top: bool) -> exp.Expr | None:
    """Expression for a non-sequence element (``ref`` itself when it is kept), or None to delete it."""
    t = f.type
    is_list = pa.types.is_list(t)
    pn = t.equals(PN_TYPE) or (is_list and t.value_type.equals(PN_TYPE))
    if action in ("keep", "recurse", "clean_image"):
        return ref
    if action == "delete":
        return None
    if action == "remove":
        if is_list:
            return guard(ref, empty_list(ref))
        if pn:
            return guard(ref, pn_struct(None))
        if vr in TYPED_SCALAR:
            if top:
                ctx.emptied.append(path)
            return typed_null(_duck_type(t))
        return guard(ref, lit(""))
    if top and vr in TYPED_SCALAR and not is_list:  # a rewritten empty value stays (it may be Type 2)
        ctx.still_empty.append(path)
    if action == "reset" and vr == "UI":  # inside a reset sequence too: a UI's dummy is a new UID
        action = "regen_uid"
    if action == "reset":  # a list gets one dummy per value: its multiplicity stays valid
        value = pn_struct(lit(PLACEHOLDER)) if pn else dummy_value(vr)
        return guard(ref, each(ref, "x", value) if is_list else value)
    if action == "regen_uid":
        return guard(ref, each(ref, "v", udf("dl_uid", own("v"))) if is_list else udf("dl_uid", ref))
    if action == "clean_text":
        if top and vr in ("DA", "DT") and not is_list and ctx.date_clean == "remove":
            ctx.emptied.append(path)  # a date whose text is removed stays, empty (it may be Type 2)
        return _clean_text(ref, t, vr, is_list, pn, ctx)
    raise AssertionError(action)


def _clean_text(ref: exp.Expr, t: pa.DataType, vr: str, is_list: bool, pn: bool, ctx: Ctx) -> exp.Expr | None:
    if pn:
        return guard(ref, each(ref, "p", ctx.pn_clean(own("p"))) if is_list else ctx.pn_clean(ref))
    if vr in ("DA", "DT"):
        shift = "dl_shift_date" if vr == "DA" else "dl_shift_ts"
        if ctx.date_clean == "keep":
            return ref
        if ctx.date_clean == "remove":
            return empty_list(ref) if is_list else typed_null(_duck_type(t))
        if ctx.date_clean == "dummy":  # a token does not fit a DA/DT: the VR's dummy
            return guard(ref, each(ref, "d", dummy_value(vr)) if is_list else dummy_value(vr))
        if is_list:
            return each(ref, "d", udf(shift, own("d"), own("dl_patient")))
        return udf(shift, ref, own("dl_patient"))
    if not ctx.text_clean:
        return ref
    if is_list:
        return each(ref, "s", udf("dl_clean", own("s"), own("dl_context"), lit(vr)))
    return udf("dl_clean", ref, own("dl_context"), lit(vr))


def _is_seq(f: pa.Field, vr: str) -> bool:
    return pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type) and vr == "SQ"


def field_expr(ref: exp.Expr, f: pa.Field, ctx: Ctx, path: str, parent: str | None, top: bool) -> exp.Expr | None:
    """Expression for an element (``ref`` itself when nothing changes), or None to delete it."""
    tag, vr = field_tag_vr(f.name)
    d = ctx.planner.decide(tag, vr, parent)
    entry_ = keyword_entry(f.name)
    if entry_ is not None and entry_.repeater:  # 50xx/60xx: a list of {Id, Value}; the rule applies to Value
        value = dot(own("g"), "Value")
        inner = leaf_expr(value, f.type.value_type.field("Value"), vr, d.action, ctx, path, top=False)
        if inner is None:
            return None
        if inner is value:
            return ref
        return guard(ref, each(ref, "g", struct([("Id", dot(own("g"), "Id")), ("Value", inner)], quoted=True)))
    if not _is_seq(f, vr):
        return leaf_expr(ref, f, vr, d.action, ctx, path, top)
    if d.action == "delete":
        return None
    if d.action == "remove":
        return guard(ref, empty_list(ref))
    var = f"it{path.count('.')}"
    item = struct_expr(own(var), f.type.value_type, ctx, path, "reset" if d.action == "reset" else "recurse")
    return ref if item is None else guard(ref, each(ref, var, item))


def struct_expr(var: exp.Expr, t: pa.StructType, ctx: Ctx, path: str, parent: str) -> exp.Expr | None:
    """``struct_pack`` of an item's fields after the plan; None when nothing changes."""
    parts: list[tuple[str, exp.Expr]] = []
    changed = False
    for f in t:
        ref = dot(var.copy(), f.name)
        if f.name.startswith("dl_"):
            parts.append((f.name, ref))
            continue
        if f.name == "OtherElements":
            expr = other_elements_expr(ref, ctx, parent)
        else:
            expr = field_expr(ref, f, ctx, f"{path}.{f.name}", parent, top=False)
        changed = changed or expr is not ref
        if expr is not None:
            parts.append((f.name, expr))
    if not changed:
        return None
    if not parts:
        return exp.Struct(
            expressions=[exp.PropertyEQ(this=exp.to_identifier("dl_item"), expression=typed_null("BOOLEAN"))]
        )
    return struct(parts, quoted=True)


def other_elements_expr(ref: exp.Expr, ctx: Ctx, parent: str | None) -> exp.Expr | None:
    """Private and unknown non-sequence elements: kept or deleted per tag (a private X by default);
    where the profile cleans text (DEIDENTIFY_TAG_CONTENTS), their text values are cleaned too
    (the writer writes a private text value from the row when it differs from the source)."""
    probe = ctx.planner.decide(0x00091001, "LO", parent)  # any private tag: the profile's private rule
    if probe.action == "keep" and not ctx.planner.actions:
        return ref
    if probe.action == "delete" and not ctx.planner.actions:
        return None
    if probe.action != "clean_text" or not ctx.text_clean:
        return keep_if(ref, "e", udf("dl_keep_private", dot(own("e"), "Tag", quoted=False)))
    # one list_transform (Spark gathers per-value calls only from lambdas over plain columns)
    tag = lambda: dot(own("pe"), "Tag", quoted=False)  # noqa: E731
    data = each(dot(own("pe"), "Data", quoted=False), "pv", udf("dl_clean", own("pv"), own("dl_context"), lit("UT")))
    creator = exp.EQ(this=fn("substr", tag(), exp.Literal.number(9), exp.Literal.number(2)), expression=lit("00"))
    rebuilt = struct([("Tag", tag()), ("Data", data)])
    cleaned = exp.Case(ifs=[exp.If(this=creator, true=own("pe"))], default=rebuilt)  # a private creator stays
    kept = exp.Case(ifs=[exp.If(this=udf("dl_keep_private", tag()), true=cleaned)], default=exp.Null())
    return keep_if(each(ref, "pe", kept), "pk", exp.Is(this=own("pk"), expression=exp.Null()).not_())


# ---- the instance's identifying values ----------------------------------------------------------

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


def pn_text(ref: exp.Expr, parts: tuple[str, ...] = ("FamilyName", "GivenName", "MiddleName")) -> exp.Expr:
    """``concat_ws('^', ref.Alphabetic.FamilyName, …)``: a PN struct's alphabetic name as text."""
    return fn("concat_ws", lit("^"), *(dot(dot(ref.copy(), "Alphabetic", False), p, False) for p in parts))


def _as_text(ref: exp.Expr) -> exp.Expr:
    return exp.Cast(this=ref, to=dtype("VARCHAR"))


def _yyyymmdd(ref: exp.Expr) -> exp.Expr:
    return fn("strftime", ref, lit("%Y%m%d"))


def context_expr(schema: pa.Schema, phrases: list[str]) -> exp.Expr:
    """A JSON text per instance with its identifying values: ``n`` names, ``i`` IDs, ``d`` dates,
    ``c`` [CTX] phrases, ``p`` places (:class:`~dicomlake.deid.detect.Context`'s fields in order)."""
    cols = {f.name: f for f in schema}

    def as_list(name: str, text: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
        if pa.types.is_list(cols[name].type):
            return fn("coalesce", each(column(name), "x", text(own("x"))), array())
        return exp.Case(
            ifs=[exp.If(this=exp.Is(this=column(name), expression=exp.Null()), true=array())],
            default=array(text(column(name))),
        )

    def group(names: tuple[str, ...] | list[str], text: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
        present = [as_list(n, text) for n in names if n in cols]
        return fn("flatten", array(*present)) if present else exp.Cast(this=array(), to=list_type(dtype("VARCHAR")))

    values = struct(
        [
            ("n", group(NAME_COLUMNS, pn_text)),
            ("i", group(ID_COLUMNS, _as_text)),
            ("d", group(DATE_COLUMNS, _yyyymmdd)),
            ("c", group(phrases, _as_text)),
            ("p", group(PLACE_COLUMNS, _as_text)),
        ]
    )
    return _as_text(fn("to_json", values))


def marker_columns(removed: bool, method: list[str], codes: list[tuple[str, str]]) -> dict[str, exp.Expr]:
    """PatientIdentityRemoved, DeidentificationMethod and its code sequence (CID 7050; omitted
    when there is no code), as :mod:`.markers` decided them."""
    out: dict[str, exp.Expr] = {
        "PatientIdentityRemoved": lit("YES" if removed else "NO"),
        "DeidentificationMethod": array(*(lit(m) for m in method)),
    }
    if codes:
        out["DeidentificationMethodCodeSequence"] = array(
            *(
                struct([("CodeValue", lit(v)), ("CodingSchemeDesignator", lit("DCM")), ("CodeMeaning", lit(m))])
                for v, m in codes
            )
        )
    return out


def _in_empty(path: str, present: bool) -> exp.Expr:
    """``[path]`` when the source's ``dl_empty`` lists it (or, ``present``, the column is not NULL), else ``[]``."""
    cond: exp.Expr = fn("list_contains", own("dl_empty"), lit(path))
    if present:
        cond = exp.or_(exp.Is(this=column(path), expression=exp.Null()).not_(), cond)
    return exp.Case(ifs=[exp.If(this=cond, true=array(lit(path)))], default=array())


#: Columns the transform computes itself (markers aside): they are not taken from the source.
ADDED = (
    "DroppedTags",
    "dl_empty",
    "dl_raw",
    "dl_source",
    "dl_source_size",
    "dl_source_sha256",
    "dl_source_version",
    "dl_ingested_at",
)


def _keep_paths(ref: exp.Expr, var: str, path: exp.Expr) -> exp.Expr:
    return keep_if(ref, var, udf("dl_keep_path", path))


def _added_columns(ctx: Ctx) -> list[exp.Expr]:
    emptied = [_in_empty(p, True) for p in ctx.emptied]
    emptied += [_in_empty(p, False) for p in ctx.still_empty if p not in ctx.emptied]
    empty = _keep_paths(own("dl_empty"), "p", own("p"))
    if emptied:
        empty = fn("list_concat", fn("coalesce", empty, array()), *emptied)
    raw = _keep_paths(own("dl_raw"), "r", dot(own("r"), "Path", quoted=False))
    return [
        exp.alias_(_keep_paths(own("DroppedTags"), "p", own("p")), "DroppedTags"),
        exp.alias_(typed_null("VARCHAR"), "dl_source"),
        exp.alias_(typed_null("BIGINT"), "dl_source_size"),
        exp.alias_(typed_null("VARCHAR"), "dl_source_sha256"),
        exp.alias_(typed_null("VARCHAR"), "dl_source_version"),
        exp.alias_(exp.Cast(this=fn("now"), to=dtype("TIMESTAMP")), "dl_ingested_at"),
        exp.alias_(fn("nullif", empty, array()), "dl_empty"),
        exp.alias_(fn("nullif", raw, array()), "dl_raw"),
        *(own(c) for c in ("dl_src", "dl_src_size", "dl_src_sha256", "dl_src_version", "dl_row")),
    ]


def _source_rows(schema: pa.Schema, source: str, phrases: list[str]) -> exp.Select:
    """The source's rows with what the transform reads besides them: the identifying values
    (``dl_context``), the patient (``dl_patient``), where each came from and its row number."""
    patient: exp.Expr = column("StudyInstanceUID")
    if "PatientID" in schema.names:
        patient = fn("coalesce", column("PatientID"), patient)
    return exp.select(
        exp.Star(),
        exp.alias_(context_expr(schema, phrases), "dl_context"),
        exp.alias_(patient, "dl_patient"),
        exp.alias_(own("dl_source"), "dl_src"),
        exp.alias_(own("dl_source_size"), "dl_src_size"),
        exp.alias_(own("dl_source_sha256"), "dl_src_sha256"),
        exp.alias_(
            own("dl_source_version") if "dl_source_version" in schema.names else typed_null("VARCHAR"), "dl_src_version"
        ),
        exp.alias_(exp.Window(this=exp.RowNumber(), over="OVER"), "dl_row"),
    ).from_(exp.table_(source, quoted=True))


def transform_tree(
    schema: pa.Schema,
    source: str,
    ctx: Ctx,
    markers: dict[str, exp.Expr],
    phrases: list[str],
    image_phrases: list[str] | None = None,
) -> exp.Select:
    """The whole SELECT over the table ``source``: DICOM columns by the plan, added columns
    maintained, markers set.

    ``image_phrases``: burned-in text is cleaned, so each row also carries ``dl_image_context``,
    its identifying values with these columns' values as [CTX] phrases."""
    out: list[exp.Expr] = []
    for f in schema:
        if f.name in markers or f.name in ADDED:
            continue
        ref = column(f.name)
        expr: exp.Expr | None
        if f.name == "OtherElements":
            expr = other_elements_expr(ref, ctx, None)
        elif f.name.startswith("dl_"):
            expr = ref
        else:
            expr = field_expr(ref, f, ctx, f.name, None, top=True)
        if expr is ref:  # kept as it is: the column itself, under its own name
            out.append(ref)
        elif expr is not None:
            out.append(exp.alias_(expr, f.name, quoted=True))
    out += [exp.alias_(v, k, quoted=True) for k, v in markers.items()]
    out += _added_columns(ctx)
    if image_phrases is not None:
        out.append(exp.alias_(context_expr(schema, image_phrases), "dl_image_context"))
    rows = _source_rows(schema, source, phrases).subquery("src")
    return exp.select(*out).from_(rows, copy=False)
