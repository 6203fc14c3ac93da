"""The fast writer: a row (plus the raw elements it keeps from its source file) straight to bytes.

The inverse of :mod:`dicomlake.reader` for the common case — a source in explicit VR little
endian (which all compressed transfer syntaxes are), elements kept from the source only at the
top level, one-byte or UTF-8 text. Anything else raises :class:`Unsupported` and the caller uses
the pydicom writer in :mod:`dicomlake.rematerialize`, which handles every case. Kept source
elements (pixel data, binary and private elements) are copied byte for byte.
"""

from __future__ import annotations

import struct
from typing import Any

from .dictionary import FILE_META_KEYWORDS, PIXEL_DATA, entry, keyword_entry
from .reader import (
    _EXPL_LE,
    _U32_LE,
    _VR_OF_BYTES,
    DEFLATED,
    EXPLICIT_BE,
    IMPLICIT_LE,
    UNDEFINED,
    Truncated,
    _Ctx,
    _Walker,
)
from .values import parse_da, parse_dt, parse_tm, to_dicom

_LONG = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"])
_NUM = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}
_PARSE = {"DA": parse_da, "TM": parse_tm, "DT": parse_dt}
_CODECS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_ITEM = struct.pack("<HHI", 0xFFFE, 0xE000, UNDEFINED)
_ITEM_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
_SEQ_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
_SKIP = frozenset(["DroppedTags", "OtherElements", "dl_item"])
#: Private text VRs: a kept private element of these is written from the row when its text there
#: differs from the source's (text cleaned by a de-identification), fitted to the VR's length.
PRIVATE_TEXT_VRS = frozenset(["AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT"])
_MAX_CHARS = {"AE": 16, "SH": 16, "LO": 64, "PN": 64, "ST": 1024, "LT": 10240}


def fit_private_text(vr: str, data: list[str]) -> list[str]:
    """``data`` with each value too long for ``vr`` cut at its last space that fits (else at the limit)."""
    limit = _MAX_CHARS.get(vr)
    if not limit:
        return data
    return [v if len(v) <= limit else _cut(v, limit) for v in data]


def _cut(value: str, limit: int) -> str:
    space = value.rfind(" ", 0, limit + 1)
    return value[:space].rstrip() if space > 0 else value[:limit]


class Unsupported(Exception):
    """This row or source needs the general (pydicom) writer."""


def source_elements(buf: bytes) -> tuple[dict[int, tuple[str, int, int]], str]:
    """Top-level elements of a Part 10 file in explicit VR little endian: tag → (VR, start, end)."""
    if len(buf) < 132 or buf[128:132] != b"DICM":
        raise Unsupported("no preamble")
    out: dict[int, tuple[str, int, int]] = {}
    unpack, u32, n = _EXPL_LE.unpack_from, _U32_LE.unpack_from, len(buf)
    pos, ts = 132, ""
    try:
        while pos < n:
            group, elem, vrb, length = unpack(buf, pos)
            vr = _VR_OF_BYTES.get(vrb)
            if vr is None:
                raise Unsupported("no VR")
            if vr in _LONG:
                (length,) = u32(buf, pos + 8)
                vpos = pos + 12
            else:
                vpos = pos + 8
            end = vpos + length if length != UNDEFINED else _undefined_end(buf, vpos, vr)
            if end > n:
                raise Unsupported("truncated source")
            tag = group << 16 | elem
            if tag == 0x00020010:
                ts = buf[vpos:end].decode("latin-1").rstrip("\0 ")
                if ts in (IMPLICIT_LE, EXPLICIT_BE, DEFLATED):
                    raise Unsupported(ts)
            out[tag] = (vr, pos, end)
            pos = end
    except (Truncated, struct.error) as exc:
        raise Unsupported("truncated source") from exc
    return out, ts


def _undefined_end(buf: bytes, vpos: int, vr: str) -> int:
    """End of an undefined-length value: a sequence (items parsed) or encapsulated pixel data."""
    w = _Walker(buf, [])
    ctx = _Ctx(False, True, ["iso8859"])
    if vr == "SQ":
        return w.sequence(vpos, UNDEFINED, ctx, "", 1)[1]
    return w.skip(vpos, UNDEFINED, ctx)


def _header(tag: int, vr: str, length: int) -> bytes:
    if vr in _LONG:
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr.encode(), 0, length)
    if length > 0xFFFF:
        raise Unsupported(f"value of {length} bytes too long for {vr}")
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)


class Encoder:
    """Encodes one row; ``codec`` from its SpecificCharacterSet."""

    def __init__(self, row: dict[str, Any], codec: str) -> None:
        self.codec = codec
        self.empty = set(row.get("dl_empty") or [])
        self.raw = {r["Path"]: r for r in row.get("dl_raw") or []}

    def dataset(
        self, row: dict[str, Any], path: str, source: dict[int, tuple[str, int, int]] | None
    ) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        sparse = not self.raw  # without raw texts, an absent (None) value writes nothing
        for name, value in row.items():
            if value is None and sparse:
                continue
            if name in _SKIP or name.startswith(("dl_", "Tag_")):
                if name.startswith("Tag_") and value is not None:
                    raise Unsupported("private sequence")
                if name == "OtherElements" and value and path:
                    raise Unsupported("private elements inside an item")
                continue
            here = f"{path}.{name}" if path else name
            out.extend(self.element(name, value, here, source))
        for p in self.empty:
            prefix, _, leaf = p.rpartition(".")
            e = keyword_entry(leaf) if prefix == path else None
            if e is not None and row.get(leaf) is None and not e.repeater:
                out.append((e.tag, _header(e.tag, self.vr(e.vr, e.tag, source, None), 0)))
        return out

    def vr(self, dict_vr: str, tag: int, source: dict[int, tuple[str, int, int]] | None, value: Any) -> str:
        if source is not None and tag in source and source[tag][0] != "UN":
            return source[tag][0]
        if dict_vr == "US or SS":
            vals = value if isinstance(value, list) else [value]
            return "SS" if any(isinstance(v, int) and v < 0 for v in vals) else "US"
        if " or " in dict_vr:
            if dict_vr.startswith("US"):
                return "US"
            raise Unsupported(dict_vr)
        return dict_vr

    def element(
        self, name: str, value: Any, here: str, source: dict[int, tuple[str, int, int]] | None
    ) -> list[tuple[int, bytes]]:
        e = keyword_entry(name)
        if e is None:
            raise Unsupported(name)
        if e.repeater:
            out = []
            for rv in value or []:
                tag = int(rv["Id"], 16) << 16 | (e.tag & 0xFFFF)
                vr = self.vr(e.vr, tag, source, rv["Value"])
                out.append((tag, self.encoded(tag, vr, rv["Value"], f"{here}", raw=None)))
            return out
        raw = self.raw.get(here)
        if value is None and raw is None:
            return []
        vr = self.vr(e.vr, e.tag, source, value)
        if vr == "SQ":
            return [(e.tag, self.sequence(e.tag, value or [], here))]
        return [(e.tag, self.encoded(e.tag, vr, value, here, raw))]

    def sequence(self, tag: int, items: list[dict[str, Any]], here: str) -> bytes:
        parts = [_header(tag, "SQ", UNDEFINED)]
        for i, item in enumerate(items):
            elems = sorted(self.dataset(item, f"{here}[{i}]", None))
            parts += [_ITEM, *(b for _, b in elems), _ITEM_END]
        parts.append(_SEQ_END)
        return b"".join(parts)

    def private_text(self, tag: int, vr: str, element: bytes, data: list[str]) -> bytes:
        """A private text element as the source has it, or written from ``data`` where that differs."""
        text = element[12 if vr in _LONG else 8 :].decode(self.codec, "replace").rstrip(" \x00")
        if "\\".join(data) == text:
            return element
        return self.encoded(tag, vr, fit_private_text(vr, data), "", None)

    def encoded(self, tag: int, vr: str, value: Any, here: str, raw: dict[str, str] | None) -> bytes:
        data = self.value_bytes(vr, value, raw)
        if len(data) % 2:
            data += b"\0" if vr in ("UI", "OB", "UN") else b" "
        return _header(tag, vr, len(data)) + data

    def value_bytes(self, vr: str, value: Any, raw: dict[str, str] | None) -> bytes:
        if raw is not None:
            parse = _PARSE.get(raw["VR"])
            if value is None or (parse is not None and parse(raw["Value"])[0] == value):
                if raw["VR"] in _NUM or raw["VR"] == "AT":
                    return bytes.fromhex(raw["Value"])
                return raw["Value"].encode(self.codec)
        if value is None:
            return b""
        if vr in _NUM:
            vals = value if isinstance(value, list) else [value]
            return struct.pack("<" + _NUM[vr] * len(vals), *vals)
        if vr == "AT":
            vals = value if isinstance(value, list) else [value]
            return b"".join(struct.pack("<HH", v >> 16, v & 0xFFFF) for v in vals)
        return _text(value).encode(self.codec)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\\".join(_text(v) for v in value)
    return str(to_dicom(value))


_META = ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", *FILE_META_KEYWORDS)


def encode_file(row: dict[str, Any], source: bytes) -> bytes:
    """A Part 10 file for ``row``; kept top-level source elements copied from ``source``'s bytes."""
    elems, ts = source_elements(source)
    charset = row.get("SpecificCharacterSet") or [""]
    key = "\\".join(charset) if isinstance(charset, list) else str(charset)
    if key not in _CODECS:
        raise Unsupported(f"character set {key}")
    dropped = set(row.get("DroppedTags") or [])
    if any("[" in d for d in dropped):
        raise Unsupported("kept elements inside items")
    enc = Encoder(row, _CODECS[key])
    body = {k: v for k, v in row.items() if not k.startswith("Media") and k not in _META}
    out = dict(enc.dataset(body, "", {t: v for t, v in elems.items() if t >> 16 != 2}))
    kept_other = {e["Tag"]: e["Data"] for e in row.get("OtherElements") or []}
    for tag, (vr, start, stop) in elems.items():
        if tag >> 16 == 2 or tag in out or tag & 0xFFFF == 0:
            continue
        e = None if tag >> 16 & 1 else entry(tag)
        name = e.keyword if e is not None else f"Tag_{tag:08X}"
        if e is None and name in kept_other and vr in PRIVATE_TEXT_VRS:
            out[tag] = enc.private_text(tag, vr, source[start:stop], kept_other[name])
        elif name in dropped or (e is None and name in kept_other) or (tag == PIXEL_DATA and "PixelData" in dropped):
            out[tag] = source[start:stop]
    body_bytes = b"".join(out[t] for t in sorted(out))
    return b"\0" * 128 + b"DICM" + _meta(row, ts) + body_bytes


def _meta(row: dict[str, Any], ts: str) -> bytes:
    values = {
        0x00020002: ("UI", row.get("SOPClassUID") or row.get("MediaStorageSOPClassUID")),
        0x00020003: ("UI", row.get("SOPInstanceUID")),
        0x00020010: ("UI", ts or row.get("TransferSyntaxUID")),
        0x00020012: ("UI", row.get("ImplementationClassUID")),
        0x00020013: ("SH", row.get("ImplementationVersionName")),
        0x00020016: ("AE", row.get("SourceApplicationEntityTitle")),
    }
    if not values[0x00020002][1] or not values[0x00020003][1] or not values[0x00020010][1]:
        raise Unsupported("file meta")
    enc = Encoder({}, "latin-1")
    parts = [struct.pack("<HH2sHI", 2, 1, b"OB", 0, 2) + b"\0\1"]
    parts += [enc.encoded(t, vr, v, "", None) for t, (vr, v) in values.items() if v]
    group = b"".join(parts)
    return struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(group)) + group
