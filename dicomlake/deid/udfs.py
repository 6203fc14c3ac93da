"""Per-value work of a de-identification, as vectorized DuckDB functions over Arrow batches.

UIDs, date shifts and text inspection depend on the value (and, for text, on the instance's
identifying values), not on the instance, and values repeat heavily: each function maps the
distinct values of a batch once, remembers them for the whole run, and takes the results
back into place. Everything is keyed: the same key gives the same output in every run.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..codec.dictionary import keyword_entry
from ..codec.vr import MAX_CHARS
from .config import CharacterMask, CryptoHash, DateShift, Redact, TextConfig
from .detect import DEFAULT_INFO_TYPES, Context, detect
from .plan import Planner, field_tag_vr
from .transform_text import InfoTypeTransformation, TextRule, date_shift_days, transform
from .vr_values import fit

WELL_KNOWN_UID = "1.2.840.10008."
_INDEX = re.compile(r"\[\d+\]")
FUNCTIONS = ("dl_uid", "dl_shift_date", "dl_shift_ts", "dl_clean", "dl_keep_path", "dl_keep_private")


def text_rule(tc: TextConfig | None) -> TextRule:
    """The helper-free compiled form of a TextConfig dataclass."""
    if tc is None:
        return TextRule()
    kinds = {Redact: "redact", CharacterMask: "characterMask", CryptoHash: "cryptoHash", DateShift: "dateShift"}
    items = []
    for item in tc.all_transformations:
        t = item.transformation
        kind = kinds.get(type(t), "replaceWithInfoType")
        params: list[tuple[str, str]] = []
        if isinstance(t, CharacterMask):
            params.append(("maskingCharacter", t.masking_character))
        if isinstance(t, (CryptoHash, DateShift)) and t.crypto_key:
            params.append(("cryptoKey", base64.b64encode(t.crypto_key).decode()))
        items.append(InfoTypeTransformation(frozenset(item.info_types), kind, tuple(params)))
    return TextRule(profile=tc.profile, transformations=tuple(items), exclude=frozenset(tc.exclude_info_types))  # type: ignore[arg-type]


def new_uid(key: bytes, uid: str, root: str = "2.25") -> str:
    """A deterministic UID for ``uid`` under ``key``: ``root`` + '.' + an integer from HMAC-SHA256."""
    digest = hmac.new(key, uid.encode(), hashlib.sha256).digest()
    number = str(int.from_bytes(digest[:16], "big"))
    return f"{root}.{number}"[: MAX_CHARS["UI"]]


def context_from_json(text: str | None) -> Context:
    """The :class:`Context` of :func:`~dicomlake.deid.sqlgen.context_expr`'s JSON text."""
    d = json.loads(text) if text else {}
    return Context(*(tuple(x for x in d.get(k) or [] if x) for k in "nidcp"))


@dataclass
class ValueMaps:
    """The run's keyed value functions and what they mapped (for ``--crosswalk``)."""

    key: bytes
    planner: Planner
    rule: TextRule
    uid_root: str = "2.25"
    info_types: frozenset[str] = DEFAULT_INFO_TYPES
    uids: dict[str, str] = field(default_factory=dict)
    shifts: dict[str, int] = field(default_factory=dict)
    texts: dict[tuple[str, str, str], str] = field(default_factory=dict)
    contexts: dict[str, Context] = field(default_factory=dict)
    paths: dict[str, bool] = field(default_factory=dict)

    # ---- scalar rules ----------------------------------------------------------------
    def uid(self, value: str) -> str:
        out = self.uids.get(value)
        if out is None:
            out = value if value.startswith(WELL_KNOWN_UID) else new_uid(self.key, value, self.uid_root)
            self.uids[value] = out
        return out

    def shift(self, patient: str | None) -> int:
        p = patient or ""
        days = self.shifts.get(p)
        if days is None:
            days = self.shifts[p] = date_shift_days(self.rule.date_shift_key() or self.key, p)
        return days

    def context(self, text: str) -> Context:
        ctx = self.contexts.get(text)
        if ctx is None:
            ctx = self.contexts[text] = context_from_json(text)
        return ctx

    def clean(self, value: str, context: str, vr: str) -> str:
        key = (value, context, vr)
        out = self.texts.get(key)
        if out is None:
            ctx = self.context(context)
            found = detect(value, ctx, self.info_types | ({"CTX"} if ctx.ctx_phrases else set()))
            patient = (ctx.identifiers or ("",))[0]
            out = transform(value, found, self.rule, key=self.key, shift_days=self.shift(patient)) if found else value
            if out != value:  # a transformed value is written only where it is valid for its VR
                out = fit(vr, out)
            self.texts[key] = out
        return out

    def keep_path(self, path: str) -> bool:
        """Does the element at ``path`` (``Seq[0].Keyword``) reach the output as it was?"""
        got = self.paths.get(path)
        if got is None:
            got = True
            parent: str | None = None
            for name in _INDEX.sub("", path).split("."):
                tag, vr = field_tag_vr(name)
                if keyword_entry(name) is None and not name.startswith("Tag_"):
                    break
                d = self.planner.decide(tag, vr if tag else "UN", parent)
                if d.action not in ("keep", "recurse", "clean_image"):
                    got = False
                    break
                parent = "recurse"
            self.paths[path] = got
        return got

    def keep_private(self, tag_name: str) -> bool:
        return self.keep_path(tag_name)

    # ---- vectorized wrappers ---------------------------------------------------------
    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """(Re)define the dl_ functions on ``con`` for this run (a connection may serve several runs)."""
        for name in FUNCTIONS:
            with contextlib.suppress(duckdb.InvalidInputException):
                con.remove_function(name)
        fn: Any = con.create_function
        fn("dl_uid", self._uid_batch, ["VARCHAR"], "VARCHAR", type="arrow")
        fn("dl_shift_date", self._shift_date_batch, ["DATE", "VARCHAR"], "DATE", type="arrow")
        fn("dl_shift_ts", self._shift_ts_batch, ["TIMESTAMP", "VARCHAR"], "TIMESTAMP", type="arrow")
        fn("dl_clean", self._clean_batch, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", type="arrow")
        fn("dl_keep_path", self._keep_batch, ["VARCHAR"], "BOOLEAN", type="arrow")
        fn("dl_keep_private", self._keep_batch, ["VARCHAR"], "BOOLEAN", type="arrow")

    def _uid_batch(self, values: pa.Array) -> pa.Array:
        return _per_distinct(values, self.uid, pa.string())

    def _keep_batch(self, values: pa.Array) -> pa.Array:
        return _per_distinct(values, self.keep_path, pa.bool_())

    def _shift_date_batch(self, dates: pa.Array, patients: pa.Array) -> pa.Array:
        days = _per_distinct(patients, self.shift, pa.int32())
        out = [
            d + dt.timedelta(days=n) if d is not None else None
            for d, n in zip(dates.to_pylist(), days.to_pylist(), strict=True)
        ]
        return pa.array(out, pa.date32())

    def _shift_ts_batch(self, stamps: pa.Array, patients: pa.Array) -> pa.Array:
        days = _per_distinct(patients, self.shift, pa.int32())
        out = [
            d + dt.timedelta(days=n) if d is not None else None
            for d, n in zip(stamps.to_pylist(), days.to_pylist(), strict=True)
        ]
        return pa.array(out, pa.timestamp("us"))

    def _clean_batch(self, values: pa.Array, contexts: pa.Array, vrs: pa.Array) -> pa.Array:
        out = [
            self.clean(v, c or "", r) if v else v
            for v, c, r in zip(values.to_pylist(), contexts.to_pylist(), vrs.to_pylist(), strict=True)
        ]
        return pa.array(out, pa.string())


def _per_distinct(values: pa.Array, fn: Any, out_type: pa.DataType) -> pa.Array:
    """``fn`` of each distinct non-null value, taken back into place."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    uniq = pc.unique(values).drop_null()
    mapped = pa.array([fn(v) for v in uniq.to_pylist()], out_type)
    idx = pc.index_in(values, value_set=uniq)
    return pc.take(mapped, idx)
