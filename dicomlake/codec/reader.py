"""The converter: a DICOM Part 10 byte stream → one row of the BigQuery DICOM schema.

It walks the raw elements itself (explicit/implicit VR, little/big endian, deflated), decodes
each value once and converts it straight into the row's Python value: no pydicom Dataset is
built. PixelData and other binary elements are skipped by length, never read into Python
objects. It is a pure function (bytes in, row out) with no lake, CLI or engine inside.

Speed: in little endian datasets the common elements are read by one loop
(:meth:`_Walker.inline`) that looks each element's tag (and VR) up in a plan made once per
process (:func:`_plan`) and converts the value in place; every other element, and any value
the plan's checks do not take, goes through the checked path (:meth:`_Walker.step`), so both
make the same rows (``tests/test_reader.py`` compares them over real, cut and altered files).
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from pydicom.charset import decode_bytes, python_encoding

from ..errors import DicomReadError
from .dictionary import PIXEL_DATA, entry, private_vr, repeater_id, tag_name
from .schema import MAX_SEQUENCE_DEPTH
from .values import parse_da, parse_dt, parse_float, parse_int, parse_pn, parse_tm
from .vr import (
    ALL,
    AMBIGUOUS,
    BINARY,
    CHARSET_RESET,
    CHARSET_RESET_PN,
    CHARSET_TEXT,
    CODE_SIZE,
    DATE_TIME,
    DEFAULT_TEXT,
    FLOAT_NUMBER,
    INT_NUMBER,
    LENGTH_32,
    MULTI_TEXT,
    PLAIN_TEXT,
    STRUCT_CODE,
    resolve,
)

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
#: What a DICOM store needs of an instance; without one of them it is an ingest error, not a row.
STORABLE = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
IMPLICIT_LE, EXPLICIT_BE, DEFLATED = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"
VALID_VRS = ALL
_VR_OF_BYTES = {v.encode(): v for v in VALID_VRS}
_LONG_VRS = LENGTH_32
_TEXT_MULTI = MULTI_TEXT
_CHARSET_VRS = CHARSET_TEXT
_DEFAULT_ENCODING = ["iso8859"]
_SLOW_PRIVATE_VRS = BINARY | CHARSET_TEXT | {"SQ"}
_CHARSET_TEXT = CHARSET_TEXT - {"PN"}
_PLAIN_TEXT = DEFAULT_TEXT - DATE_TIME  # text whose character set is always ASCII
_NUMERIC = STRUCT_CODE
_NUM_SIZE = CODE_SIZE
_INT64_MAX = 2**63 - 1
_IMPL_LE, _IMPL_BE = struct.Struct("<HHI"), struct.Struct(">HHI")
_EXPL_LE, _EXPL_BE = struct.Struct("<HH2sH"), struct.Struct(">HH2sH")
_U32_LE, _U32_BE = struct.Struct("<I"), struct.Struct(">I")
_NUM_STRUCTS: dict[tuple[str, int, bool], struct.Struct] = {}
_TEXT_DELIMS = CHARSET_RESET
_PN_DELIMS = CHARSET_RESET_PN
Buffer = bytes | mmap.mmap


class Truncated(Exception):
    """The stream ended inside an element."""


@dataclass(slots=True)
class Converted:
    """One converted instance: its row and the issues met on the way (severity, path, reason)."""

    row: dict[str, Any]
    issues: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Ctx:
    """State of one dataset level: encoding, character set and private creators."""

    implicit: bool
    little: bool
    encodings: list[str]
    creators: dict[int, str] = field(default_factory=dict)
    pixel_rep: int = 0


class _Walker:
    #: Read little endian datasets with :meth:`inline` (else every element by :meth:`step`; the
    #: rows are the same, which ``tests/test_reader.py`` checks).
    fast = True

    def __init__(self, buf: Buffer, issues: list[tuple[str, str, str]]) -> None:
        self.buf = buf
        self.issues = issues
        self.dropped: list[str] = []
        self.empty: list[str] = []
        self.raw: list[dict[str, str]] = []

    # ---- element headers -------------------------------------------------------------
    def header(self, pos: int, ctx: _Ctx) -> tuple[int, str | None, int, int]:
        buf = self.buf
        if pos + 8 > len(buf):
            raise Truncated(pos)
        if ctx.implicit:
            group, elem, length = (_IMPL_LE if ctx.little else _IMPL_BE).unpack_from(buf, pos)
            return group << 16 | elem, None, length, pos + 8
        group, elem, vrb, length = (_EXPL_LE if ctx.little else _EXPL_BE).unpack_from(buf, pos)
        if group == 0xFFFE:
            (length,) = (_U32_LE if ctx.little else _U32_BE).unpack_from(buf, pos + 4)
            return group << 16 | elem, None, length, pos + 8
        vr = _VR_OF_BYTES.get(vrb)
        if vr is None:
            raise DicomReadError(f"invalid VR {vrb!r} in ({group:04X},{elem:04X}) at byte {pos}")
        if vr in _LONG_VRS:
            if pos + 12 > len(buf):
                raise Truncated(pos)
            (length,) = (_U32_LE if ctx.little else _U32_BE).unpack_from(buf, pos + 8)
            return group << 16 | elem, vr, length, pos + 12
        return group << 16 | elem, vr, length, pos + 8

    # ---- datasets and sequences ------------------------------------------------------
    def dataset(self, pos: int, end: int, ctx: _Ctx, path: str, depth: int) -> tuple[dict[str, Any], int]:
        """Read elements until ``end`` or an item delimiter; returns the row and the new offset."""
        row: dict[str, Any] = {}
        try:
            if ctx.little and self.fast:
                pos = self.inline(row, pos, end, ctx, path, depth)
                if pos < 0:
                    return row, -pos
            while pos < end:
                pos = self.step(row, pos, ctx, path, depth)
                if pos < 0:
                    return row, -pos
        except Truncated:
            if depth or "PixelData" not in self.dropped:
                raise
            # The header is whole; only what follows the pixels is cut.
            if not any("truncated" in i[2] for i in self.issues):
                self.issues.append(("warning", "", "the file ends inside the elements after PixelData (truncated)"))
            return row, len(self.buf)
        return row, pos

    def step(self, row: dict[str, Any], pos: int, ctx: _Ctx, path: str, depth: int) -> int:
        """Read the element at ``pos`` into ``row``; returns the next offset, negated after an item delimiter."""
        tag, vr, length, vpos = self.header(pos, ctx)
        if tag == ITEM_END:
            return -vpos
        if tag >> 16 == 0xFFFE:
            raise DicomReadError(f"unexpected delimiter ({tag >> 16:04X},{tag & 0xFFFF:04X}) at byte {pos}")
        return self.element(row, tag, vr, length, vpos, ctx, path, depth)

    def inline(self, row: dict[str, Any], pos: int, end: int, ctx: _Ctx, path: str, depth: int) -> int:
        """The elements of a little endian dataset from ``pos``: the common elements read inline as
        their plan says (:func:`_plan`), every other one by :meth:`step`. Returns the offset after
        the dataset, negated after an item delimiter. The row is what :meth:`step` alone would
        make; this loop is the reader's hot path, hence one function with locals."""
        buf = self.buf
        n = len(buf)
        stop = min(end, n - 11)  # an element header starting after n - 12 is read by the checked path
        plans, unpack = (
            (_PLANS_IMPLICIT, _IMPL_LE_KEY.unpack_from) if ctx.implicit else (_PLANS, _EXPL_LE_KEY.unpack_from)
        )
        u32 = _U32_LE.unpack_from
        plain = ctx.encodings == _DEFAULT_ENCODING
        other = row.get("OtherElements")
        while pos < stop:
            key, length = unpack(buf, pos)
            try:
                plan = plans[key]
            except KeyError:
                plan = _plan(key, ctx.implicit)
            kind, name, multi, code = plan
            vpos = pos + 8
            if kind < 0:  # a 32-bit length
                (length,) = u32(buf, vpos)
                vpos += 4
                if kind == -_SEQ:
                    pos = self.sq_column(row, name, f"{path}.{name}" if path else name, length, vpos, ctx, depth, False)
                    continue
                kind = -kind if length != UNDEFINED else _GENERIC
            vend = vpos + length
            if vend <= n and kind != _GENERIC:
                if kind <= _PRIV_FLOAT:  # binary numbers (or a group length)
                    if kind == _SKIP:
                        pos = vend
                        continue
                    values = code[length]
                    if values is not None:
                        values = values.unpack_from(buf, vpos)
                        if kind == _NUM:
                            row[name] = list(values) if multi else values[0]
                        else:
                            if other is None:
                                other = row["OtherElements"] = []
                            if kind == _PRIV_INT:
                                other.append({"Tag": name, "Data": list(map(str, values))})
                            else:
                                other.append({"Tag": name, "Data": [repr(v) for v in values]})
                        pos = vend
                        continue
                elif kind == _DROP:
                    self.dropped.append(f"{path}.{name}" if path else name)
                    pos = vend
                    continue
                elif plain or kind < _CHARSET_ONLY:
                    text = buf[vpos:vend].decode("latin-1").rstrip(" \x00")
                    if kind == _TEXT or kind == _CTEXT:  # noqa: SIM109 (no tuple built per element)
                        row[name] = (text.split("\\") if text else []) if multi else text
                        pos = vend
                        continue
                    if kind == _PRIV_TEXT or kind == _PRIV_CTEXT or kind == _CREATOR:  # noqa: SIM109
                        data = (text.split("\\") if multi else [text]) if text else []
                        if kind == _CREATOR and data:
                            ctx.creators[code] = data[0]
                        if other is None:
                            other = row["OtherElements"] = []
                        other.append({"Tag": name, "Data": data})
                        pos = vend
                        continue
                    if kind == _PN:
                        if multi:
                            row[name] = [parse_pn(p) for p in text.split("\\")] if text else []
                        else:
                            row[name] = parse_pn(text)
                        pos = vend
                        continue
                    value, canonical = code(text) if text and "\\" not in text else (None, False)  # _DATE
                    if value is not None and canonical:
                        row[name] = [value] if multi else value
                        pos = vend
                        continue
            # anything else, or a value these checks do not take: the checked path
            pos = self.step(row, pos, ctx, path, depth)
            if pos < 0:
                return pos
            plain = ctx.encodings == _DEFAULT_ENCODING
            other = row.get("OtherElements")
        return pos

    def sequence(self, pos: int, length: int, ctx: _Ctx, path: str, depth: int) -> tuple[list[dict[str, Any]], int]:
        buf = self.buf
        n = len(buf)
        end = n if length == UNDEFINED else pos + length
        if end > n:
            raise Truncated(pos)
        items: list[dict[str, Any]] = []
        while pos < end:
            if ctx.little and pos + 8 <= n and buf[pos : pos + 2] == b"\xfe\xff":  # an item or delimiter
                group, elem, ilen = _IMPL_LE.unpack_from(buf, pos)
                tag, vpos = group << 16 | elem, pos + 8
            else:
                tag, _, ilen, vpos = self.header(pos, ctx)
            if tag == SEQ_END:
                return items, vpos
            if tag != ITEM:
                raise DicomReadError(
                    f"expected a sequence item in {path} at byte {pos}, found ({tag >> 16:04X},{tag & 0xFFFF:04X})"
                )
            item_end = end if ilen == UNDEFINED else vpos + ilen
            implicit = ctx.implicit
            if not implicit and vpos + 6 <= n and ilen and buf[vpos + 4 : vpos + 6] not in _VR_OF_BYTES:
                implicit = True  # some writers encode items in implicit VR inside explicit files
                self.issues.append(("warning", path, "sequence item in implicit VR inside an explicit VR dataset"))
            sub = _Ctx(implicit, ctx.little, ctx.encodings, {}, ctx.pixel_rep)
            item, pos = self.dataset(vpos, item_end, sub, f"{path}[{len(items)}]", depth)
            items.append(item)
        if length == UNDEFINED:
            raise Truncated(pos)
        return items, pos

    def skip(self, pos: int, length: int, ctx: _Ctx) -> int:
        """Skip a value; undefined length means encapsulated fragments up to the delimiter."""
        if length != UNDEFINED:
            if pos + length > len(self.buf):
                raise Truncated(pos)
            return pos + length
        while True:
            tag, _, flen, vpos = self.header(pos, _Ctx(True, ctx.little, ctx.encodings))
            if tag == SEQ_END:
                return vpos
            pos = vpos + (0 if flen == UNDEFINED else flen)
            if pos > len(self.buf):
                raise Truncated(pos)

    # ---- one element -----------------------------------------------------------------
    def element(
        self, row: dict[str, Any], tag: int, vr: str | None, length: int, pos: int, ctx: _Ctx, path: str, depth: int
    ) -> int:
        group, elem = tag >> 16, tag & 0xFFFF
        if elem == 0 and group != 0xFFFE:  # group length: derived, never kept
            return self.skip(pos, length, ctx)
        if group & 1:
            return self.private(row, tag, vr, length, pos, ctx, path, depth)
        e = entry(tag)
        if e is None:
            return self.unknown(row, tag, vr, length, pos, ctx, path, depth)
        name = e.keyword
        if (
            vr is not None
            and vr == e.vr
            and (vr in _PLAIN_TEXT or (vr in _CHARSET_TEXT and ctx.encodings == _DEFAULT_ENCODING))
            and not e.repeater
            and tag != 0x00080005
        ):
            end = pos + length  # fast path: text in its own VR, no charset (the common case)
            if end > len(self.buf):
                raise Truncated(pos)
            text = self.buf[pos:end].decode("latin-1").rstrip(" \x00")
            if e.multi:
                row[name] = text.split("\\") if text else []
            else:
                row[name] = text
            return end
        if vr is not None and vr == e.vr and vr in _NUMERIC and length and not e.repeater and vr != "AT":
            end = pos + length  # fast path: binary numbers in their own VR
            if end > len(self.buf):
                raise Truncated(pos)
            nums = self.numbers(self.buf[pos:end], vr, ctx, name)
            if nums is not None and (e.multi or len(nums) == 1):
                row[name] = nums if e.multi else nums[0]
                if tag == 0x00280103:
                    ctx.pixel_rep = int(nums[0])
                return end
        here = f"{path}.{name}" if path else name
        dict_vr = e.vr
        was_un = vr == "UN"
        if vr is None or was_un:
            vr = resolve(dict_vr, ctx.pixel_rep)
        if vr == "SQ" or (vr == "UN" and length == UNDEFINED):
            return self.sq_column(row, name, here, length, pos, ctx, depth, implicit_un=was_un)
        if tag == PIXEL_DATA or vr in BINARY or dict_vr == "SQ":
            self.dropped.append(here)
            try:
                return self.skip(pos, length, ctx)
            except Truncated:
                if tag == PIXEL_DATA:
                    self.issues.append(("warning", here, "PixelData is truncated: the file ends inside it"))
                    return len(self.buf)
                raise
        end = pos + length
        if end > len(self.buf):
            raise Truncated(pos)
        raw = self.buf[pos:end]
        if e.repeater:
            value = self.typed(raw, vr, dict_vr, e.multi, ctx, here)
            row.setdefault(name, []).append({"Id": repeater_id(tag), "Value": value})
            return end
        value = self.typed(raw, vr, dict_vr, e.multi, ctx, here)
        row[name] = value
        if tag == 0x00080005:
            self.set_charset(ctx, value, here)
        elif tag == 0x00280103 and isinstance(value, int):
            ctx.pixel_rep = value
        return end

    def sq_column(
        self, row: dict[str, Any], name: str, here: str, length: int, pos: int, ctx: _Ctx, depth: int, implicit_un: bool
    ) -> int:
        sub = ctx
        if implicit_un:  # UN-encoded sequences are implicit VR little endian inside
            sub = _Ctx(True, True, ctx.encodings, {}, ctx.pixel_rep)
        items, end = self.sequence(pos, length, sub, here, depth + 1)
        if depth + 1 > MAX_SEQUENCE_DEPTH:
            self.dropped.append(here)
        else:
            row[name] = items
        return end

    def private(
        self, row: dict[str, Any], tag: int, vr: str | None, length: int, pos: int, ctx: _Ctx, path: str, depth: int
    ) -> int:
        elem = tag & 0xFFFF
        if (
            vr is not None
            and elem > 0xFF
            and length != UNDEFINED
            and (vr not in _SLOW_PRIVATE_VRS or (vr in _CHARSET_VRS and ctx.encodings == _DEFAULT_ENCODING))
        ):
            end = pos + length  # fast path: an explicit-VR private text or number value
            if end > len(self.buf):
                raise Truncated(pos)
            if vr in _NUMERIC:
                data = self.strings(self.buf[pos:end], vr, ctx, tag_name(tag))
            else:
                text = self.buf[pos:end].decode("latin-1").rstrip(" \x00")
                data = (text.split("\\") if vr in _TEXT_MULTI else [text]) if text else []
            row.setdefault("OtherElements", []).append({"Tag": tag_name(tag), "Data": data})
            return end
        name = tag_name(tag)
        here = f"{path}.{name}" if path else name
        was_un = vr == "UN"
        if 0x10 <= elem <= 0xFF:
            vr = "LO"
        elif vr is None or vr == "UN":
            creator = ctx.creators.get((tag & 0xFFFF0000) | (elem >> 8))
            known = private_vr(creator, tag)
            if known and known not in AMBIGUOUS:
                vr = known
            elif length == UNDEFINED:
                vr = "SQ"
            elif vr is None:
                vr = "UN"
        if vr == "SQ" or (vr == "UN" and length == UNDEFINED):
            return self.sq_column(row, name, here, length, pos, ctx, depth, implicit_un=was_un)
        return self.other(row, name, here, tag, vr, length, pos, ctx)

    def unknown(
        self, row: dict[str, Any], tag: int, vr: str | None, length: int, pos: int, ctx: _Ctx, path: str, depth: int
    ) -> int:
        name = tag_name(tag)
        here = f"{path}.{name}" if path else name
        if vr == "SQ" or length == UNDEFINED:
            return self.sq_column(row, name, here, length, pos, ctx, depth, implicit_un=vr != "SQ")
        return self.other(row, name, here, tag, vr or "UN", length, pos, ctx)

    def other(
        self, row: dict[str, Any], name: str, here: str, tag: int, vr: str, length: int, pos: int, ctx: _Ctx
    ) -> int:
        if vr in BINARY:
            self.dropped.append(here)
            return self.skip(pos, length, ctx)
        end = pos + length
        if end > len(self.buf):
            raise Truncated(pos)
        if vr in _PLAIN_TEXT or (vr in _CHARSET_VRS and ctx.encodings == _DEFAULT_ENCODING):
            text = self.buf[pos:end].decode("latin-1").rstrip(" \x00")
            data = (text.split("\\") if vr in _TEXT_MULTI else [text]) if text else []
        else:
            data = self.strings(self.buf[pos:end], vr, ctx, here)
        if 0x10 <= (tag & 0xFFFF) <= 0xFF and tag >> 16 & 1 and data:
            ctx.creators[(tag & 0xFFFF0000) | (tag & 0xFF)] = data[0]
        row.setdefault("OtherElements", []).append({"Tag": name, "Data": data})
        return end

    # ---- values ------------------------------------------------------------------------
    def text(self, raw: Buffer, vr: str, ctx: _Ctx, here: str) -> str:
        b = bytes(raw)
        if vr in _CHARSET_VRS and ctx.encodings != _DEFAULT_ENCODING:
            if len(ctx.encodings) == 1:
                try:
                    s = b.decode(ctx.encodings[0])
                except UnicodeDecodeError:
                    self.issues.append(
                        ("warning", here, f"text is not valid {ctx.encodings[0]}; undecodable bytes replaced")
                    )
                    s = b.decode(ctx.encodings[0], "replace")
            else:
                s = decode_bytes(b, ctx.encodings, _PN_DELIMS if vr == "PN" else _TEXT_DELIMS)
        else:
            s = b.decode("latin-1")
        return s.rstrip(" \x00")

    def numbers(self, raw: Buffer, vr: str, ctx: _Ctx, here: str) -> list[int] | list[float] | None:
        code = _NUMERIC[vr]
        size = _NUM_SIZE[code]
        if len(raw) % size:
            self.issues.append(("warning", here, f"{vr} value of {len(raw)} bytes is not a multiple of {size}"))
            return None
        key = (code, len(raw) // size, ctx.little)
        st = _NUM_STRUCTS.get(key)
        if st is None:
            st = _NUM_STRUCTS[key] = struct.Struct(("<" if ctx.little else ">") + code * key[1])
        vals = list(st.unpack(raw))
        if vr == "AT":
            vals = [vals[i] << 16 | vals[i + 1] for i in range(0, len(vals) - 1, 2)]
        elif vr == "UV" and any(v > _INT64_MAX for v in vals):
            self.issues.append(("warning", here, "UV value exceeds the 64-bit signed range; kept in dl_raw"))
            return None
        return vals

    def strings(self, raw: Buffer, vr: str, ctx: _Ctx, here: str) -> list[str]:
        """Values of an OtherElements entry: every value as a string."""
        if vr in _NUMERIC:
            nums = self.numbers(raw, vr, ctx, here)
            if nums is None:
                return []
            return [repr(n) for n in nums] if vr in FLOAT_NUMBER else list(map(str, nums))
        s = self.text(raw, vr, ctx, here)
        if not s:
            return []
        return s.split("\\") if vr in _TEXT_MULTI else [s]

    def value(self, raw: Buffer, vr: str, multi: bool, ctx: _Ctx, here: str) -> Any:
        if vr in _NUMERIC:
            if not raw:
                return self.empty_value(multi, here, typed=True)
            nums = self.numbers(raw, vr, ctx, here)
            if nums is None:
                self.raw.append({"Path": here, "VR": vr, "Value": bytes(raw).hex()})
                return None
            if multi:
                return nums
            if len(nums) > 1:
                self.issues.append(
                    ("warning", here, f"{len(nums)} values where the dictionary allows 1; first kept, all in dl_raw")
                )
                self.raw.append({"Path": here, "VR": vr, "Value": bytes(raw).hex()})
            return nums[0]
        s = self.text(raw, vr, ctx, here)
        if vr in DATE_TIME:
            return self.typed_text(s, vr, multi, here)
        if vr == "PN":
            if multi:
                return [parse_pn(p) for p in s.split("\\")] if s else []
            return parse_pn(s)
        if multi and vr in _TEXT_MULTI:
            return s.split("\\") if s else []
        if multi:
            return [s] if s else []
        return s

    def typed_text(self, s: str, vr: str, multi: bool, here: str) -> Any:
        if not s:
            return self.empty_value(multi, here, typed=True)
        parse = {"DA": parse_da, "TM": parse_tm, "DT": parse_dt}[vr]
        parts = s.split("\\")
        out = []
        canonical = True
        for p in parts:
            v, ok = parse(p)
            if v is None:
                self.issues.append(
                    ("warning", here, f"{vr} value {p!r} does not parse; column is NULL, text kept in dl_raw")
                )
            out.append(v)
            canonical = canonical and ok
        if not multi and len(parts) > 1:
            self.issues.append(
                ("warning", here, f"{len(parts)} values where the dictionary allows 1; first kept, all in dl_raw")
            )
            canonical = False
        if not canonical:
            self.raw.append({"Path": here, "VR": vr, "Value": s})
        return out if multi else out[0]

    def empty_value(self, multi: bool, here: str, typed: bool) -> Any:
        if multi:
            return []
        self.empty.append(here)
        return None

    def typed(self, raw: Buffer, vr: str, dict_vr: str, multi: bool, ctx: _Ctx, here: str) -> Any:
        """The value in its column's type: the dictionary VR decides, the file's VR only decodes."""
        want = _KIND.get(dict_vr) or _KIND.get(resolve(dict_vr), "s")
        if _KIND.get(vr, "s") == want:
            return self.value(raw, vr, multi, ctx, here)
        text = "\\".join(self.strings(raw, vr, ctx, here))
        if want == "s":
            return (text.split("\\") if text else []) if multi else text
        if want in DATE_TIME:
            return self.typed_text(text, want, multi, here)
        if want == "PN":
            return [parse_pn(p) for p in text.split("\\")] if multi and text else ([] if multi else parse_pn(text))
        if not text:
            return self.empty_value(multi, here, typed=True)
        parse = parse_float if want == "f" else parse_int
        vals = [parse(p) for p in text.split("\\")]
        if any(v is None for v in vals) or (not multi and len(vals) > 1):
            self.issues.append(
                ("warning", here, f"value {text!r} (VR {vr}) does not fit the dictionary VR {dict_vr}; kept in dl_raw")
            )
            self.raw.append({"Path": here, "VR": vr, "Value": text})
        return vals if multi else vals[0]

    def set_charset(self, ctx: _Ctx, value: Any, here: str) -> None:
        terms = [t.strip() for t in (value if isinstance(value, list) else [value])] or [""]
        encodings = []
        for i, term in enumerate(terms):
            norm = _ISO_IR.sub(r"ISO_IR \1", term.upper()) if term else ""
            enc = "iso8859" if not norm and i == 0 else python_encoding.get(norm)
            if enc is None:
                self.issues.append(
                    ("warning", here, f"unknown SpecificCharacterSet {term!r}; text decoded as ISO 8859-1")
                )
                ctx.encodings = ["iso8859"]
                return
            encodings.append(enc)
        # ISO 8859-1 is what the default path decodes with: keep the fast paths for it
        ctx.encodings = _DEFAULT_ENCODING if encodings in (["latin_1"], ["iso8859"]) else encodings


_ISO_IR = re.compile(r"^ISO[ _-]?IR[ _-]?(\d+)$")
_KIND = {
    **{vr: "s" for vr in PLAIN_TEXT},
    **{vr: vr for vr in DATE_TIME | {"PN"}},
    **{vr: "f" for vr in FLOAT_NUMBER},
    **{vr: "i" for vr in INT_NUMBER},
}


class _Numbers(dict[int, "struct.Struct | None"]):
    """The little endian decoder of binary numbers of one struct code, by value length: None
    for a length the plan does not read (not whole values; for one value, not exactly one)."""

    def __init__(self, code: str, single: bool = False, empty: bool = False) -> None:
        super().__init__()
        self.code, self.size, self.single, self.empty = code, _NUM_SIZE[code], single, empty

    def __missing__(self, length: int) -> struct.Struct | None:
        count, rest = divmod(length, self.size)
        ok = not rest and (count == 1 if self.single else count > 0 or self.empty)
        st = struct.Struct("<" + self.code * count) if ok else None
        if len(self) < 1000:
            self[length] = st
        return st


#: How :meth:`_Walker.inline` reads an element, by its tag and VR (see :func:`_plan`). In
#: this order: up to _PRIV_FLOAT binary numbers; from _CHARSET_ONLY, text read only while the
#: character set is the default one.
_GENERIC, _SKIP, _NUM, _PRIV_INT, _PRIV_FLOAT, _DROP, _DATE, _SEQ, _TEXT, _PRIV_TEXT = range(1, 11)
_CTEXT, _PRIV_CTEXT, _CREATOR, _PN = range(11, 15)
_CHARSET_ONLY = _CTEXT
_Plan = tuple[int, str, bool, Any]  # kind (negative: the VR has a 32-bit length), name, multi-valued, how
_PLANS: dict[bytes, _Plan] = {}  # explicit VR, by the element's tag and VR bytes
_PLANS_IMPLICIT: dict[bytes, _Plan] = {}  # implicit VR, by the element's tag bytes
_MAX_PLANS = 100_000
_EXPL_LE_KEY = struct.Struct("<6sH")  # tag and VR (a plan's key), 16-bit length
_IMPL_LE_KEY = struct.Struct("<4sI")  # tag (a plan's key), 32-bit length
_NUMBERS = {
    (code, single, empty): _Numbers(code, single, empty)
    for code in _NUM_SIZE
    for single, empty in ((True, False), (False, False), (False, True))
}
_PARSE = {"DA": parse_da, "TM": parse_tm, "DT": parse_dt}
_GENERIC_PLAN: _Plan = (_GENERIC, "", False, None)


def _plan(key: bytes, implicit: bool) -> _Plan:
    """How to read the little endian element whose first bytes are ``key``: its tag, and in
    explicit VR its VR.

    Each plan is the branch :meth:`_Walker.element` takes for such an element when its value is
    well formed (length defined and within the buffer, whole binary values, a date that parses
    in canonical form, text in the default character set); the reader checks those at each
    element and reads any other case with :meth:`_Walker.step`. In implicit VR, where the VR
    comes from the dictionary, only public elements of one VR and private creators have a plan.
    """
    group, elem = struct.unpack_from("<HH", key)
    tag = group << 16 | elem
    e = entry(tag) if not group & 1 else None
    vr = (e.vr if e is not None else None) if implicit else _VR_OF_BYTES.get(key[4:6])
    plan = _GENERIC_PLAN
    if group == 0xFFFE or (vr is None and not implicit):
        pass
    elif elem == 0:
        plan = (_SKIP, "", False, None)
    elif group & 1:
        plan = _private_plan(tag, vr) if not implicit or 0x10 <= elem <= 0xFF else _GENERIC_PLAN
    elif vr is None or e is None:
        pass
    elif not implicit and vr in BINARY and vr != "UN":
        plan = (_DROP, e.keyword, False, None)  # any public element the file says is binary
    elif not e.repeater and tag not in (0x00080005, 0x00280103):
        plan = _public_plan(e.keyword, vr, e.multi) if e.vr == vr or _same_kind(vr, e.vr) else _GENERIC_PLAN
        if implicit and (plan[0] == _SEQ or (plan[0] in (_TEXT, _CTEXT) and e.multi and vr not in _TEXT_MULTI)):
            plan = _GENERIC_PLAN
    if plan[0] != _GENERIC and vr in _LONG_VRS and not implicit:
        plan = (-plan[0], plan[1], plan[2], plan[3])
    plans = _PLANS_IMPLICIT if implicit else _PLANS
    if len(plans) < _MAX_PLANS:
        plans[key] = plan
    return plan


def _same_kind(vr: str, dict_vr: str) -> bool:
    """Whether binary numbers of ``vr`` fill the column of the ambiguous ``dict_vr`` as they are
    (``US or SS`` written as SS: :meth:`_Walker.typed` reads them by ``value``)."""
    want = _KIND.get(dict_vr) or _KIND.get(resolve(dict_vr), "s")
    return dict_vr in AMBIGUOUS and vr in _NUMERIC and _KIND.get(vr) == want


def _public_plan(name: str, vr: str, multi: bool) -> _Plan:
    if vr in _PLAIN_TEXT:
        return (_TEXT, name, multi, None)
    if vr in _CHARSET_TEXT:
        return (_CTEXT, name, multi, None)
    if vr in _NUMERIC and vr not in ("AT", "UV"):
        return (_NUM, name, multi, _NUMBERS[_NUMERIC[vr], not multi, False])
    if vr == "PN":
        return (_PN, name, multi, None)
    if vr in DATE_TIME:
        return (_DATE, name, multi, _PARSE[vr])
    if vr == "SQ":
        return (_SEQ, name, True, None)
    return _GENERIC_PLAN


def _private_plan(tag: int, vr: str | None) -> _Plan:
    elem = tag & 0xFFFF
    if 0x10 <= elem <= 0xFF:  # a private creator, read as LO whatever its VR
        return (_CREATOR, tag_name(tag), True, (tag & 0xFFFF0000) | (tag & 0xFF))
    if elem <= 0xFF or vr is None or vr in ("AT", "UV", "UN"):
        return _GENERIC_PLAN
    if vr == "SQ":
        return (_SEQ, tag_name(tag), True, None)
    if vr in BINARY:
        return (_DROP, tag_name(tag), False, None)
    if vr in _CHARSET_VRS:
        return (_PRIV_CTEXT, tag_name(tag), vr in _TEXT_MULTI, None)
    if vr in _NUMERIC:
        kind = _PRIV_FLOAT if vr in FLOAT_NUMBER else _PRIV_INT
        return (kind, tag_name(tag), True, _NUMBERS[_NUMERIC[vr], False, True])
    return (_PRIV_TEXT, tag_name(tag), vr in _TEXT_MULTI, None)


def _looks_explicit(buf: Buffer, pos: int) -> bool:
    return bytes(buf[pos + 4 : pos + 6]) in _VR_OF_BYTES


#: Leading bytes of the archive and compression formats people hand to ingest.
_ARCHIVES = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"\x1f\x8b", "a gzip-compressed file (.gz, .tgz)"),
    (b"BZh", "a bzip2-compressed file (.bz2)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file (.xz)"),
    (b"(\xb5/\xfd", "a zstd-compressed file (.zst)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
)


def archive_kind(buf: Buffer) -> str | None:
    """What archive or compressed file ``buf`` is (by its leading bytes), or None."""
    head = bytes(buf[:8])
    if bytes(buf[257:262]) == b"ustar":
        return "a tar archive"
    return next((kind for magic, kind in _ARCHIVES if head.startswith(magic)), None)


def _start_without_meta(buf: Buffer) -> tuple[int, bool, bool]:
    """(offset, implicit, little) of a dataset stored without preamble and file meta."""
    kind = archive_kind(buf)
    if kind is not None:
        raise DicomReadError(
            f"{kind}, which ingest does not read: unpack it, "
            "or pack it as an archive (.zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz)"
        )
    if len(buf) < 8:
        raise DicomReadError("not a DICOM file: too short")
    for little in (True, False):
        group = struct.unpack_from("<H" if little else ">H", buf, 0)[0]
        if group in (0x0002, 0x0008) or (little and group in (0x0010, 0x0018, 0x0020, 0x0028)):
            return 0, not _looks_explicit(buf, 0), little
    raise DicomReadError("not a DICOM file: no 'DICM' marker at byte 128 and no data element at the start")


def convert_bytes(buf: Buffer) -> Converted:
    """Convert one Part 10 file's bytes (or a bare dataset) into a row. Raises DicomReadError."""
    issues: list[tuple[str, str, str]] = []
    w = _Walker(buf, issues)
    row: dict[str, Any] = {}
    if len(buf) >= 132 and bytes(buf[128:132]) == b"DICM":
        pos = 132
    elif bytes(buf[:4]) == b"DICM":
        pos = 4
        issues.append(("warning", "", "no 128-byte preamble before 'DICM'"))
    else:
        pos = -1
    try:
        if pos >= 0:
            pos = _file_meta(w, row, pos)
            ts = row.get("TransferSyntaxUID") or ""
            implicit, little = ts == IMPLICIT_LE, ts != EXPLICIT_BE
            if row.get("MediaStorageSOPClassUID") == DICOMDIR_CLASS:
                raise DicomReadError("DICOMDIR (a media directory index), not an instance: not ingested")
            if ts == DEFLATED:
                w.buf = buf = bytes(buf[:pos]) + zlib.decompress(bytes(buf[pos:]), -15)
        else:
            pos, implicit, little = _start_without_meta(buf)
            issues.append(("warning", "", "no file meta information; transfer syntax guessed from the data"))
        if pos + 6 <= len(buf) and implicit == _looks_explicit(buf, pos):
            issues.append(
                (
                    "warning",
                    "",
                    f"transfer syntax {'implicit' if implicit else 'explicit'} VR does not match the data; read as {'explicit' if implicit else 'implicit'}",
                )
            )
            implicit = not implicit
        ctx = _Ctx(implicit, little, ["iso8859"])
        body, _ = w.dataset(pos, len(buf), ctx, "", 0)
    except Truncated as t:
        raise DicomReadError(f"truncated: the file ends inside an element at byte {t.args[0]}") from None
    except (struct.error, zlib.error, IndexError) as exc:
        raise DicomReadError(f"corrupt data: {exc}") from None
    if not body:
        raise DicomReadError("no data elements after the file meta information")
    if "OtherElements" in row and "OtherElements" in body:
        body["OtherElements"] = row.pop("OtherElements") + body["OtherElements"]
    row.update(body)
    row["DroppedTags"] = w.dropped
    row["dl_empty"] = w.empty or None
    row["dl_raw"] = w.raw or None
    return Converted(row, issues)


def check_storable(row: dict[str, Any]) -> None:
    """Raise DicomReadError unless the row has what a DICOM store needs of an instance
    (:data:`STORABLE`): without them it becomes an ingest error, never a row of a store."""
    missing = [k for k in STORABLE if not row.get(k)]
    if missing:
        raise DicomReadError(f"not a storable instance: no {', '.join(missing)}")


def _file_meta(w: _Walker, row: dict[str, Any], pos: int) -> int:
    """Read group 0002 (always explicit VR little endian) into ``row``; returns the offset after it."""
    ctx = _Ctx(False, True, ["iso8859"])
    buf = w.buf
    if pos + 6 <= len(buf) and not _looks_explicit(buf, pos):
        ctx.implicit = True
        w.issues.append(("warning", "", "file meta information is not explicit VR; read as implicit"))
    elif w.fast:
        pos = w.inline(row, pos, _meta_end(buf, pos), ctx, "", 0)
    while pos + 8 <= len(buf) and struct.unpack_from("<H", buf, pos)[0] == 0x0002:
        tag, vr, length, vpos = w.header(pos, ctx)
        pos = w.element(row, tag, vr, length, vpos, ctx, "", 0)
    return pos


def _meta_end(buf: Buffer, pos: int) -> int:
    """Where the well-formed explicit VR group 0002 elements from ``pos`` end: at the first element
    of another group, or at the first one with an undefined length or a value past the buffer."""
    n = len(buf)
    while pos + 12 <= n:
        group, _, vrb, length = _EXPL_LE.unpack_from(buf, pos)
        vr = _VR_OF_BYTES.get(vrb)
        if group != 0x0002 or vr is None:
            break
        vpos = pos + 8
        if vr in _LONG_VRS:
            (length,) = _U32_LE.unpack_from(buf, vpos)
            vpos += 4
        if length == UNDEFINED or vpos + length > n:
            break
        pos = vpos + length
    return pos


def convert_file(path: str) -> tuple[Converted, int, str]:
    """Convert one file: (converted row, file size, SHA-256 hex). Raises DicomReadError/OSError."""
    import hashlib

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise DicomReadError("empty file")
        if size < (1 << 20):
            data: Buffer = f.read()
        else:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            digest = hashlib.sha256(data).hexdigest()
            return convert_bytes(data), size, digest
        finally:
            if isinstance(data, mmap.mmap):
                data.close()
