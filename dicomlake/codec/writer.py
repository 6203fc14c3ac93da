"""The fast writer: a row (plus the raw elements it keeps from its source file) straight to bytes.

The inverse of :mod:`dicomlake.codec.reader` for the common case — a source in explicit VR little
endian (which all compressed transfer syntaxes are), elements kept from the source only at the
top level, one-byte or UTF-8 text. Anything else raises :class:`Unsupported` and the caller uses
the pydicom writer in :mod:`dicomlake.rematerialize.build`, which handles every case. Kept source
elements (pixel data, binary and private elements) are copied byte for byte, and so is every
element whose source bytes read as the row's value (:class:`Kept`): its VR as written (UN stays
UN), its padding, a sequence's lengths. The file meta (:func:`file_meta`) is the source's where
the row keeps it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pydicom
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from ..errors import DicomReadError
from .dictionary import FILE_META_KEYWORDS, PIXEL_DATA, entry, keyword_entry, tag_name
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
from .vr import AMBIGUOUS, BINARY, LENGTH_32, MAX_CHARS, NUMBER_CODE, PRIVATE_TEXT, STRING, resolve

_LONG = LENGTH_32
_NUM = NUMBER_CODE
_PARSE = {"DA": parse_da, "TM": parse_tm, "DT": parse_dt}
_CODECS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_ITEM = struct.pack("<HHI", 0xFFFE, 0xE000, UNDEFINED)
_ITEM_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
_SEQ_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
# VRs whose value is its text (dates and times: their dl_raw text where not canonical): equal bytes but for
# padding <=> the same value
_STRINGS = STRING
_SKIP = frozenset(["DroppedTags", "OtherElements", "dl_item"])


def fit_private_text(vr: str, data: list[str]) -> list[str]:
    """``data`` with each value too long for ``vr`` cut at its last space that fits (else at the limit)."""
    limit = MAX_CHARS.get(vr) if vr in PRIVATE_TEXT else None
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
    out, pos, ts = meta_elements(buf)
    if ts in (IMPLICIT_LE, EXPLICIT_BE, DEFLATED) or not out:
        raise Unsupported(ts or "no file meta")
    out.update(_explicit_le(buf, pos, lambda tag: True)[0])
    return out, ts


def meta_elements(buf: bytes) -> tuple[dict[int, tuple[str, int, int]], int, str]:
    """The file meta group of a Part 10 file (always explicit VR little endian): (elements, end, transfer syntax).

    A file without preamble and file meta, or whose file meta is not explicit VR little endian,
    has no elements here (end 0, transfer syntax "").
    """
    if len(buf) < 132 or buf[128:132] != b"DICM":
        return {}, 0, ""
    try:
        out, pos = _explicit_le(buf, 132, lambda tag: tag >> 16 == 2)
    except Unsupported:
        return {}, 0, ""
    _, start, end = out.get(0x00020010, ("UI", 0, 0))
    return out, pos, buf[start + 8 : end].decode("latin-1").rstrip("\0 ")


def _explicit_le(buf: bytes, pos: int, wanted: Callable[[int], bool]) -> tuple[dict[int, tuple[str, int, int]], int]:
    """Elements in explicit VR little endian from ``pos`` while ``wanted(tag)``: (tag → (VR, start, end), end)."""
    out: dict[int, tuple[str, int, int]] = {}
    unpack, u32, n = _EXPL_LE.unpack_from, _U32_LE.unpack_from, len(buf)
    try:
        while pos < n:
            group, elem, vrb, length = unpack(buf, pos)
            tag = group << 16 | elem
            if not wanted(tag):
                break
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
            out[tag] = (vr, pos, end)
            pos = end
    except (Truncated, struct.error) as exc:
        raise Unsupported("truncated source") from exc
    return out, pos


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

    def __init__(self, row: dict[str, Any], codec: str, buf: bytes = b"") -> None:
        self.codec = codec
        self.buf = buf  # the source file whose elements ``source`` locates
        self.kept = Kept(row)
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
                built = _header(e.tag, self.vr(e.vr, e.tag, source, None), 0)
                out.append((e.tag, self.faithful(e.tag, built, None, p, source)))
        return out

    def vr(self, dict_vr: str, tag: int, source: dict[int, tuple[str, int, int]] | None, value: Any) -> str:
        if source is not None and tag in source and source[tag][0] != "UN":
            return source[tag][0]
        vr = resolve(dict_vr, values=value if isinstance(value, list) else [value])
        if vr in BINARY and dict_vr in AMBIGUOUS:
            raise Unsupported(dict_vr)
        return vr

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
            return [(e.tag, self.faithful(e.tag, self.sequence(e.tag, value or [], here), value, here, source))]
        return [(e.tag, self.faithful(e.tag, self.encoded(e.tag, vr, value, here, raw), value, here, source))]

    def faithful(
        self, tag: int, built: bytes, value: Any, here: str, source: dict[int, tuple[str, int, int]] | None
    ) -> bytes:
        """The source's bytes for ``tag`` (its VR, lengths, padding and text as written) where they read as ``value``."""
        if source is None or tag not in source:
            return built
        vr, start, stop = source[tag]
        old = self.buf[start:stop]
        if old == built:
            return built
        vpos = start + (12 if vr in _LONG else 8)
        new_vr = built[4:6].decode()
        if new_vr in _STRINGS and vr in (new_vr, "UN"):  # read as the text itself: the bytes tell
            same = self.buf[vpos:stop].rstrip(b"\0 ") == built[12 if new_vr in _LONG else 8 :].rstrip(b"\0 ")
            return old if same else built
        if new_vr in _NUM and vr == new_vr:  # binary numbers: other bytes, another value
            return built
        (length,) = _U32_LE.unpack_from(self.buf, start + 8) if vr in _LONG else (stop - vpos,)
        return old if self.kept.same(tag, vr, self.buf[vpos:stop], length, True, value, here) else built

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


class Kept:
    """Whether a source element reads as what a row holds at a path: then it is written as the source wrote it."""

    def __init__(self, row: dict[str, Any]) -> None:
        ctx = _Ctx(False, True, ["iso8859"])
        if row.get("SpecificCharacterSet"):
            _Walker(b"", []).set_charset(ctx, row["SpecificCharacterSet"], "")
        self.encodings = ctx.encodings
        self.raw = [(r["Path"], r["Value"]) for r in row.get("dl_raw") or []]
        self.empty = sorted(row.get("dl_empty") or [])
        self.dropped = sorted(row.get("DroppedTags") or [])

    def same(self, tag: int, vr: str | None, data: bytes, length: int, little: bool, value: Any, here: str) -> bool:
        got = reads_as(tag, vr, data, length, self.encodings, little, here.rpartition(".")[0])
        if got is None:
            return False
        read, raw, empty, dropped = got

        def under(p: str) -> bool:
            return p == here or p.startswith((here + "[", here + "."))

        return (
            _compact(read) == _compact(value)
            and raw == [r for r in self.raw if under(r[0])]
            and sorted(empty) == [p for p in self.empty if under(p)]
            and sorted(dropped) == [p for p in self.dropped if under(p)]
        )


def reads_as(
    tag: int, vr: str | None, data: bytes, length: int, encodings: list[str], little: bool, path: str
) -> tuple[Any, list[tuple[str, str]], list[str], list[str]] | None:
    """What the reader makes of one element's value bytes: (row value, dl_raw, dl_empty, dropped); None if unreadable.

    ``encodings``: the Python codecs of the dataset's SpecificCharacterSet, as the reader sets them.
    """
    w = _Walker(data, [])
    ctx = _Ctx(vr is None, little, encodings)
    row: dict[str, Any] = {}
    try:
        w.element(row, tag, vr, length, 0, ctx, path, path.count("["))
    except (Truncated, DicomReadError, struct.error, ValueError, LookupError, IndexError):
        return None  # not what the reader would read: the row's value is written instead
    name, e = _name(tag), entry(tag)
    if name not in row or (e is not None and e.repeater):
        return None
    return row[name], [(r["Path"], r["Value"]) for r in w.raw], w.empty, w.dropped


def _name(tag: int) -> str:
    """The name an element has in a row: its keyword, or Tag_GGGGEEEE when private or unknown."""
    e = None if tag >> 16 & 1 else entry(tag)
    return e.keyword if e is not None else tag_name(tag)


def _compact(value: Any) -> Any:
    """``value`` without its None fields (a row's structs carry every field of the schema)."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\\".join(_text(v) for v in value)
    return str(to_dicom(value))


_META = ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", *FILE_META_KEYWORDS)
_OURS = {0x00020012: PYDICOM_IMPLEMENTATION_UID, 0x00020013: f"PYDICOM {pydicom.__version__}"}


def encode_file(row: dict[str, Any], source: bytes) -> bytes:
    """A Part 10 file for ``row``; kept top-level source elements copied from ``source``'s bytes."""
    elems, ts = source_elements(source)
    if not ts:
        raise Unsupported("no transfer syntax")
    charset = row.get("SpecificCharacterSet") or [""]
    key = "\\".join(charset) if isinstance(charset, list) else str(charset)
    if key not in _CODECS:
        raise Unsupported(f"character set {key}")
    dropped = set(row.get("DroppedTags") or [])
    if any("[" in d for d in dropped):
        raise Unsupported("kept elements inside items")
    enc = Encoder(row, _CODECS[key], source)
    body = {k: v for k, v in row.items() if not k.startswith("Media") and k not in _META}
    out = dict(enc.dataset(body, "", {t: v for t, v in elems.items() if t >> 16 != 2}))
    kept_other = {e["Tag"]: e["Data"] for e in row.get("OtherElements") or []}
    for tag, (vr, start, stop) in elems.items():
        if tag >> 16 == 2 or tag in out or tag & 0xFFFF == 0:
            continue
        name = _name(tag)
        if name.startswith("Tag_") and name in kept_other and vr in PRIVATE_TEXT:
            out[tag] = enc.private_text(tag, vr, source[start:stop], kept_other[name])
        elif (
            name in dropped
            or (name.startswith("Tag_") and name in kept_other)
            or (tag == PIXEL_DATA and "PixelData" in dropped)
        ):
            out[tag] = source[start:stop]
    body_bytes = b"".join(out[t] for t in sorted(out))
    return b"\0" * 128 + b"DICM" + file_meta(row, source, ts) + body_bytes


def file_meta(row: dict[str, Any], source: bytes, ts: str) -> bytes:
    """The file meta group (0002) for ``row``, in transfer syntax ``ts``.

    Every element of the source's group is kept as written where the row keeps its value (binary
    and private ones where DroppedTags lists them); MediaStorageSOPClassUID/InstanceUID follow the
    row's SOP UIDs; the implementation class UID and version name are the source's pair where the
    row keeps its class UID, else ours, both.
    """
    elems = meta_elements(source)[0]
    enc = Encoder({}, "latin-1", source)
    dropped = set(row.get("DroppedTags") or [])
    cls = row.get("ImplementationClassUID")
    wanted: dict[int, tuple[str, Any]] = {
        0x00020002: ("UI", row.get("SOPClassUID") or row.get("MediaStorageSOPClassUID")),
        0x00020003: ("UI", row.get("SOPInstanceUID")),
        0x00020010: ("UI", ts),
        0x00020012: ("UI", cls or _OURS[0x00020012]),
        0x00020013: ("SH", row.get("ImplementationVersionName") if cls else _OURS[0x00020013]),
    }
    for name in FILE_META_KEYWORDS:
        e = keyword_entry(name)
        if e is not None and e.tag not in wanted:
            wanted[e.tag] = (e.vr, row.get(name))
    out = {t: enc.faithful(t, enc.encoded(t, vr, v, "", None), v, "", elems) for t, (vr, v) in wanted.items() if v}
    for tag, (_vr, start, stop) in elems.items():
        if tag not in wanted and tag & 0xFFFF and _name(tag) in dropped:
            out[tag] = source[start:stop]
    if 0x00020001 not in out:
        out[0x00020001] = struct.pack("<HH2sHI", 2, 1, b"OB", 0, 2) + b"\0\1"
    if not wanted[0x00020002][1] or not wanted[0x00020003][1]:
        raise Unsupported("file meta")
    group = b"".join(out[t] for t in sorted(out))
    return struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(group)) + group
