"""Value conversion shared by every source (file bytes, DICOM JSON): text → typed row values.

Each parser returns ``(value, canonical)``: ``value`` is None when the text does not parse,
``canonical`` is False when the text is not written the way dicomlake writes it back (e.g. a
TM of ``0759``), in which case the original text is kept in ``dl_raw``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .schema import PN_COMPONENTS, PN_GROUPS

_DATE_CACHE: dict[str, tuple[dt.date | None, bool]] = {}
_TIME_CACHE: dict[str, tuple[dt.time | None, bool]] = {}
_DT_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")
_TM_RE = re.compile(r"^(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?(?:\.(\d{1,6}))?$")


def parse_da(text: str) -> tuple[dt.date | None, bool]:
    """DA ``YYYYMMDD`` (ACR-NEMA ``YYYY.MM.DD`` accepted, not canonical)."""
    hit = _DATE_CACHE.get(text)
    if hit is not None:
        return hit
    s = text.strip()
    canonical = len(s) == 8 and s == text
    if len(s) == 10 and s[4] == "." and s[7] == ".":
        s = s[:4] + s[5:7] + s[8:]
    out: tuple[dt.date | None, bool]
    try:
        if len(s) != 8 or not s.isdigit():
            raise ValueError
        out = (dt.date(int(s[:4]), int(s[4:6]), int(s[6:])), canonical)
    except ValueError:
        out = (None, False)
    if len(_DATE_CACHE) < 200_000:
        _DATE_CACHE[text] = out
    return out


def format_da(value: dt.date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def parse_tm(text: str) -> tuple[dt.time | None, bool]:
    """TM ``HH[MM[SS[.F{1,6}]]]`` (old ``HH:MM:SS`` accepted, not canonical)."""
    hit = _TIME_CACHE.get(text)
    if hit is not None:
        return hit
    out: tuple[dt.time | None, bool]
    m = _TM_RE.match(text.strip())
    if m is None:
        out = (None, False)
    else:
        hh, mm, ss, frac = m.groups()
        try:
            micro = int(frac.ljust(6, "0")) if frac else 0
            value = dt.time(int(hh), int(mm or 0), int(ss or 0), micro)
            out = (value, format_tm(value) == text)
        except ValueError:
            out = (None, False)
    if len(_TIME_CACHE) < 200_000:
        _TIME_CACHE[text] = out
    return out


def format_tm(value: dt.time) -> str:
    base = f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    return f"{base}.{value.microsecond:06d}" if value.microsecond else base


def parse_dt(text: str) -> tuple[dt.datetime | None, bool]:
    """DT ``YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]``; an offset converts the value to UTC."""
    m = _DT_RE.match(text.strip())
    if m is None:
        return None, False
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        value = dt.datetime(
            int(y),
            int(mo or 1),
            int(d or 1),
            int(h or 0),
            int(mi or 0),
            int(s or 0),
            int(frac.ljust(6, "0")) if frac else 0,
        )
        if tz:
            sign = 1 if tz[0] == "+" else -1
            value -= sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5]))
    except (ValueError, OverflowError):
        return None, False
    return value, format_dt(value) == text


def format_dt(value: dt.datetime) -> str:
    base = value.strftime("%Y%m%d%H%M%S")
    return f"{base}.{value.microsecond:06d}" if value.microsecond else base


def parse_pn(text: str) -> dict[str, dict[str, str]]:
    """PN ``Fam^Given^Middle^Prefix^Suffix=ideographic=phonetic`` → the BigQuery PN struct.

    Present-but-empty components are ``""`` and absent ones missing, so the text round-trips.
    """
    out: dict[str, dict[str, str]] = {}
    for group, part in zip(PN_GROUPS, text.split("="), strict=False):
        if part == "" and group != "Alphabetic":
            out[group] = {}
            continue
        comps = part.split("^", 4)
        out[group] = dict(zip(PN_COMPONENTS, comps, strict=False))
    return out


def format_pn(value: dict[str, Any] | None) -> str:
    """The PN struct back to its DICOM text (inverse of :func:`parse_pn`)."""
    if not value:
        return ""
    groups: list[str | None] = []
    for g in PN_GROUPS:
        comps = value.get(g)
        if comps is None:
            groups.append(None)
            continue
        parts = [comps.get(c) for c in PN_COMPONENTS]
        while parts and parts[-1] is None:
            parts.pop()
        groups.append("^".join(p or "" for p in parts))
    while groups and groups[-1] is None:
        groups.pop()
    return "=".join(g or "" for g in groups)


def to_dicom(value: Any) -> Any:
    """A typed scalar row value as DICOM writes it: PN, DA, TM and DT as text; others as they are."""
    if isinstance(value, dict):
        return format_pn(value)
    if isinstance(value, dt.datetime):
        return format_dt(value)
    if isinstance(value, dt.date):
        return format_da(value)
    if isinstance(value, dt.time):
        return format_tm(value)
    return value


def parse_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_float(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None
