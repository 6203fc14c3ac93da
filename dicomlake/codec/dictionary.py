"""The one place that knows the DICOM data dictionary (from pydicom), loaded once per process.

Lookups are memoised by tag: ingest asks about the same few hundred tags millions of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pydicom.datadict import (
    DicomDictionary,
    RepeatersDictionary,
    get_private_entry,
    keyword_dict,
    mask_match,
)

#: File meta keywords (group 0002) that a row carries as columns, besides the two
#: MediaStorage UIDs (which always follow SOPClassUID and SOPInstanceUID when writing).
FILE_META_KEYWORDS = (
    "TransferSyntaxUID",
    "ImplementationClassUID",
    "ImplementationVersionName",
    "SourceApplicationEntityTitle",
    "SendingApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "PrivateInformationCreatorUID",
)
PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True, slots=True)
class Entry:
    """A public data element: its keyword, dictionary VR (ambiguities resolved later) and mode."""

    tag: int
    keyword: str
    vr: str
    multi: bool
    repeater: bool = False


def _multi(vm: str) -> bool:
    return vm != "1"


_ENTRIES: dict[int, Entry | None] = {}


def entry(tag: int) -> Entry | None:
    """The dictionary entry for a public tag, repeating groups (50xx, 60xx) included."""
    try:
        return _ENTRIES[tag]
    except KeyError:
        pass
    found: Entry | None = None
    raw = DicomDictionary.get(tag)
    if raw is not None and raw[4]:
        found = Entry(tag, raw[4], raw[0], _multi(raw[1]))
    elif raw is None:
        mask = mask_match(tag)
        if mask is not None:
            r = RepeatersDictionary[mask]
            if r[4]:
                found = Entry(tag, r[4], r[0], _multi(r[1]), repeater=True)
    _ENTRIES[tag] = found
    return found


@cache
def tag_for_keyword(keyword: str) -> int | None:
    """The tag of a public keyword, or None."""
    return keyword_dict.get(keyword)


@cache
def keyword_entry(keyword: str) -> Entry | None:
    """The entry for a keyword (repeating-group keywords map to their base group)."""
    tag = keyword_dict.get(keyword)
    if tag is not None:
        return entry(tag)
    for mask, raw in RepeatersDictionary.items():
        if raw[4] == keyword:
            return Entry(int(mask.replace("x", "0"), 16), keyword, raw[0], _multi(raw[1]), True)
    return None


_PRIVATE: dict[tuple[str, int], str | None] = {}


def private_vr(creator: str | None, tag: int) -> str | None:
    """The VR a private dictionary gives an element of ``creator``'s block, or None."""
    if not creator:
        return None
    key = (creator, tag & 0xFFFF00FF)
    try:
        return _PRIVATE[key]
    except KeyError:
        pass
    try:
        vr: str | None = get_private_entry(tag, creator)[0]
    except KeyError:
        vr = None
    _PRIVATE[key] = vr
    return vr


_TAG_NAMES: dict[int, str] = {}


def tag_name(tag: int) -> str:
    """``Tag_GGGGEEEE``: the column or OtherElements name of a private or unknown element."""
    name = _TAG_NAMES.get(tag)
    if name is None:
        name = _TAG_NAMES[tag] = f"Tag_{tag:08X}"
    return name


def repeater_id(tag: int) -> str:
    """The ``Id`` of a repeating-group value: its group, e.g. ``6002``."""
    return f"{tag >> 16:04X}"
