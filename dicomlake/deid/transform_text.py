"""TextConfig transformations: what :func:`transform` writes in place of each :class:`Finding`.

Google's v1beta1 ``TextConfig`` (spec B7) compiles into a :class:`TextRule`
(:func:`compile_text_config`).  For each finding, in this order:

1. its infoType is in ``excludeInfoTypes``: left as it is;
2. a transformation whose ``infoTypes`` lists it (the first such, in config order);
3. the default transformation (one with empty ``infoTypes``; the first such);
4. the profile: ``BASIC`` date-shifts ``DATE`` and writes ``[INFO_TYPE]`` for the
   rest; ``EMPTY`` leaves the finding as it is.

Kinds (``InfoTypeTransformation`` configs):

``replaceWithInfoType``  ``[PERSON_NAME]``
``redact``               removed
``characterMask``        every character replaced by ``maskingCharacter`` (default ``*``)
``cryptoHash``           base64 of HMAC-SHA256(key, UTF-8 value).  The API documents
                         "SHA-256, output base64, with a crypto key"; HMAC is how a key
                         enters a SHA-256 hash.  The key is the transformation's own
                         ``cryptoKey`` (base64) if set, else the operation's ``key``.
``dateShift``            the date moved by ``shift_days`` and written in the format it was
                         found in (:class:`~dicomlake.deid.detect.WrittenDate`);
                         a date without a day (``August 1988``) keeps its precision;
                         text that is not a date becomes ``[INFO_TYPE]``.

Date shifts are per patient: :func:`date_shift_days` derives a shift in
``[-max_days, max_days]`` without 0 from the key and the patient key (PatientID,
or StudyInstanceUID when PatientID is empty, spec B8).  A ``dateShiftConfig``
with its own ``cryptoKey`` is honoured by the caller, which computes
``shift_days`` with :meth:`TextRule.date_shift_key`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from dicomlake.deid.detect import MONTH_ABBR, MONTHS, Finding, WrittenDate, parse_date
from dicomlake.errors import ConfigError

__all__ = [
    "BASIC",
    "KINDS",
    "InfoTypeTransformation",
    "TextRule",
    "clean_person_name",
    "compile_text_config",
    "crypto_hash",
    "date_shift_days",
    "render_date",
    "shift_da",
    "shift_dt",
    "transform",
]

Profile = Literal["BASIC", "EMPTY"]

#: Transformation kinds and the config field each comes from.
KINDS = {
    "replaceWithInfoType": "replaceWithInfoTypeConfig",
    "redact": "redactConfig",
    "characterMask": "characterMaskConfig",
    "cryptoHash": "cryptoHashConfig",
    "dateShift": "dateShiftConfig",
}
DEFAULT_MASK = "*"


class InfoTypeTransformation(NamedTuple):
    """``(info_types, kind, params)``; empty ``info_types`` makes it the default transformation."""

    info_types: frozenset[str]
    kind: str
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str, default: str = "") -> str:
        return dict(self.params).get(name, default) or default


@dataclass(frozen=True)
class TextRule:
    """The compiled form of a ``TextConfig``."""

    profile: Profile = "BASIC"
    transformations: tuple[InfoTypeTransformation, ...] = ()
    exclude: frozenset[str] = field(default_factory=frozenset)

    def choose(self, info_type: str) -> InfoTypeTransformation | None:
        """The transformation for ``info_type`` (``None``: leave the finding as it is)."""
        if info_type in self.exclude:
            return None
        for t in self.transformations:
            if info_type in t.info_types:
                return t
        for t in self.transformations:
            if not t.info_types:
                return t
        if self.profile == "EMPTY":
            return None
        return InfoTypeTransformation(frozenset(), "dateShift" if info_type == "DATE" else "replaceWithInfoType")

    def date_shift_key(self) -> bytes | None:
        """The ``cryptoKey`` of the transformation that handles DATE, if it is a dateShift with one."""
        t = self.choose("DATE")
        if t is None or t.kind != "dateShift" or not t.param("cryptoKey"):
            return None
        return base64.b64decode(t.param("cryptoKey"))


BASIC = TextRule()


# --- compile -----------------------------------------------------------------------


def compile_text_config(config: Mapping[str, Any] | None) -> TextRule:
    """``TextConfig`` JSON (v1 or v1beta1) -> :class:`TextRule`.  ``None``/``{}`` is BASIC.

    ``transformations`` (deprecated) is read like ``additionalTransformations``, after it.
    """
    config = config or {}
    profile: Profile
    given = config.get("profileType") or "BASIC"
    if given in ("BASIC", "PROFILE_TYPE_UNSPECIFIED"):
        profile = "BASIC"
    elif given == "EMPTY":
        profile = "EMPTY"
    else:
        raise ConfigError(f"text.profileType {given!r} is unknown; use BASIC or EMPTY")
    items = [*config.get("additionalTransformations", []), *config.get("transformations", [])]
    return TextRule(
        profile=profile,
        transformations=tuple(_compile_one(i, item) for i, item in enumerate(items)),
        exclude=frozenset(_info_type_names(config.get("excludeInfoTypes", []))),
    )


def _compile_one(index: int, item: Mapping[str, Any]) -> InfoTypeTransformation:
    where = f"text.additionalTransformations[{index}]"
    kinds = [kind for kind, key in KINDS.items() if key in item]
    if len(kinds) != 1:
        names = ", ".join(KINDS.values())
        raise ConfigError(f"{where} has {len(kinds)} transformation configs; give exactly one of {names}")
    body = item[KINDS[kinds[0]]] or {}
    if "kmsWrapped" in body:
        raise ConfigError(f"{where}: kmsWrapped keys need Cloud KMS; give cryptoKey (base64) instead")
    params = tuple((k, str(v)) for k, v in sorted(body.items()) if k in ("maskingCharacter", "cryptoKey"))
    if "cryptoKey" in body:
        _decode_key(str(body["cryptoKey"]), where)
    mask = body.get("maskingCharacter")
    if mask is not None and len(str(mask)) > 1:
        raise ConfigError(f"{where}: maskingCharacter {mask!r} must be one character")
    return InfoTypeTransformation(frozenset(_info_type_names(item.get("infoTypes", []))), kinds[0], params)


def _info_type_names(values: Iterable[Any]) -> list[str]:
    """InfoTypes are strings in the Healthcare API (DLP's ``{"name": ...}`` is accepted too)."""
    return [v["name"] if isinstance(v, Mapping) else str(v) for v in values]


def _decode_key(value: str, where: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"{where}: cryptoKey is not base64 ({exc})") from exc
    if len(key) not in (16, 24, 32):
        raise ConfigError(f"{where}: cryptoKey must be a 128, 192 or 256-bit key, got {len(key) * 8} bits")
    return key


# --- transform ---------------------------------------------------------------------


def transform(text: str, findings: list[Finding], rule: TextRule, *, key: bytes, shift_days: int) -> str:
    """``text`` with each finding replaced as ``rule`` says (as :func:`detect` returns them:
    disjoint; a finding that overlaps an earlier one is skipped)."""
    out: list[str] = []
    pos = 0
    for f in sorted(findings, key=lambda f: f.start):
        t = rule.choose(f.info_type)
        if t is None or f.start < pos:
            continue
        out.append(text[pos : f.start])
        out.append(_apply(t, f, key, shift_days))
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def _apply(t: InfoTypeTransformation, f: Finding, key: bytes, shift_days: int) -> str:
    if t.kind == "replaceWithInfoType":
        return f"[{f.info_type}]"
    if t.kind == "redact":
        return ""
    if t.kind == "characterMask":
        return t.param("maskingCharacter", DEFAULT_MASK) * len(f.text)
    if t.kind == "cryptoHash":
        own = t.param("cryptoKey")
        return crypto_hash(base64.b64decode(own) if own else key, f.text)
    if t.kind == "dateShift":
        written = parse_date(f.text)
        if written is None:
            return f"[{f.info_type}]"
        return render_date(written, written.date + dt.timedelta(days=shift_days))
    raise ConfigError(f"transformation kind {t.kind!r} is unknown; use one of {', '.join(KINDS)}")


def crypto_hash(key: bytes, value: str) -> str:
    """Base64 of HMAC-SHA256(``key``, UTF-8 ``value``): 44 characters."""
    return base64.b64encode(hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def clean_person_name(value: str) -> str:
    """A PN value cleaned as a whole: ``[PERSON_NAME]`` (the PatientName of Google's documentation example); empty stays empty."""
    return "[PERSON_NAME]" if value.strip(" ^=") else value


# --- dates -------------------------------------------------------------------------


def date_shift_days(key: bytes, patient_key: str, max_days: int = 100) -> int:
    """A shift in ``[-max_days, -1] ∪ [1, max_days]`` from HMAC-SHA256(key, patient_key).

    Deterministic: the same key and patient key always give the same shift, so dates
    of one patient keep their order and intervals.  Never 0, so a date always moves.
    """
    if max_days < 1:
        raise ValueError(f"max_days must be >= 1, got {max_days}")
    digest = hmac.new(key, patient_key.encode("utf-8"), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big") % (2 * max_days)
    return n - max_days if n < max_days else n - max_days + 1


_FULL_MONTHS = frozenset(m.lower() for m in MONTHS)
_ORDINAL = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}


def render_date(written: WrittenDate, new: dt.date) -> str:
    """``new`` written like ``written``: separators, year width, month name style and case,
    ordinal suffix; zero-padded if ``written`` has a leading zero or a two-digit day and month
    in a numeric or dashed (``12-Aug-1988``) date."""
    toks = list(written.tokens)
    roles = dict(written.roles)
    nums = [toks[roles[r]] for r in ("m", "d") if r in roles]
    two = all(len(t) == 2 for t in nums) and ("mon" not in roles or "-" in toks)
    pad = two or any(t.startswith("0") for t in nums)
    for role, i in written.roles:
        toks[i] = _render_token(role, toks[i], new, pad)
    return "".join(toks)


def _render_token(role: str, old: str, new: dt.date, pad: bool) -> str:
    if role == "ymd":
        return f"{new.year:04d}{new.month:02d}{new.day:02d}"
    if role == "y":
        return f"{new.year:04d}" if len(old) == 4 else f"{new.year % 100:02d}"
    if role in ("m", "d"):
        value = new.month if role == "m" else new.day
        return f"{value:02d}" if pad else str(value)
    if role == "ord":
        text = _ORDINAL.get(new.day, "th")
    else:  # "mon": a full name stays full (``May`` counts as full), an abbreviation abbreviated
        text = (MONTHS if old.lower() in _FULL_MONTHS else MONTH_ABBR)[new.month - 1]
    return text.upper() if old.isupper() else text.lower() if old.islower() else text


_DA = re.compile(r"(\d{4})(\d{2})?(\d{2})?")
_DT = re.compile(r"(\d{4}(?:\d{2}(?:\d{2})?)?)(.*)", re.DOTALL)


def shift_da(value: str, days: int) -> str:
    """Shift a DICOM DA.  ``YYYYMMDD`` moves by ``days``; a partial ``YYYYMM`` or ``YYYY``
    shifts the first day of its period and keeps its precision.  Raises ``ValueError``
    for anything else (including impossible dates such as ``20010229``)."""
    text = value.strip()
    m = _DA.fullmatch(text)
    if m is None or (m.group(2) is None and m.group(3) is not None):
        raise ValueError(f"{value!r} is not a DICOM DA (YYYYMMDD, YYYYMM or YYYY)")
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        new = dt.date(year, month, day) + dt.timedelta(days=days)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{value!r} is not a valid DICOM DA: {exc}") from exc
    return f"{new.year:04d}{new.month:02d}{new.day:02d}"[: len(text)]


def shift_dt(value: str, days: int) -> str:
    """Shift the date part of a DICOM DT (``YYYY[MM[DD]]`` then time, fraction and
    ``&ZZXX`` offset, which are kept as they are)."""
    text = value.strip()
    m = _DT.fullmatch(text)
    if m is None:
        raise ValueError(f"{value!r} is not a DICOM DT (YYYYMMDDHHMMSS.FFFFFF&ZZXX)")
    date_part, rest = m.group(1), m.group(2)
    if len(date_part) == 8 or not rest[:1].isdigit():
        return shift_da(date_part, days) + rest
    raise ValueError(f"{value!r} is not a DICOM DT: its date part is cut short")
