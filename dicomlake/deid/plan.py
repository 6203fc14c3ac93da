"""Compile a de-identification config × a store schema into an element-level plan.

One :class:`Step` per column path (nested sequence fields included): what happens to it and
why (which profile row, option or ``actions[i]`` decided). :class:`Planner.decide` is the one
rule book; the SQL transform and rematerialization (for elements the table cannot carry:
pixel data, other binary and private elements) both ask it.

Action codes of Table E.1-1 map to operations as: K keep (sequences recursed), X delete,
Z remove (empty), D reset (dummy; on a sequence every leaf beneath is reset), U regen_uid,
C clean_text. Compound codes take the first choice that keeps any IOD valid without knowing
the attribute's Type there: X/Z → Z, Z/D → D, X/D → D, X/Z/D → D, X/Z/U* → recurse (its UIDs
are U by their own rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..codec.dictionary import PIXEL_DATA, keyword_entry
from ..codec.vr import resolve
from .config import OPERATION_VRS, Action, DeidConfig, ImageConfig
from .profile_table import lookup

ACTIONS = ("keep", "remove", "delete", "reset", "regen_uid", "clean_text", "recurse", "clean_image", "set")
CLEAN_TEXT_VRS = OPERATION_VRS["cleanTextTag"]
PRIMARY_IDS = {
    0x0020000D: "StudyInstanceUID",
    0x0020000E: "SeriesInstanceUID",
    0x00080018: "SOPInstanceUID",
    0x00020003: "MediaStorageSOPInstanceUID",
}
#: MINIMAL_KEEP_LIST_PROFILE: the API's 31 tags, plus SOPClassUID (needed for a valid instance).
MINIMAL_KEEP = frozenset(
    keyword_entry(k).tag  # type: ignore[union-attr]
    for k in [
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "TransferSyntaxUID",
        "MediaStorageSOPInstanceUID",
        "MediaStorageSOPClassUID",
        "PixelData",
        "Rows",
        "Columns",
        "SamplesPerPixel",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PhotometricInterpretation",
        "PixelRepresentation",
        "NumberOfFrames",
        "PlanarConfiguration",
        "PixelAspectRatio",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "RedPaletteColorLookupTableDescriptor",
        "GreenPaletteColorLookupTableDescriptor",
        "BluePaletteColorLookupTableDescriptor",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "ICCProfile",
        "ColorSpace",
        "WindowCenter",
        "WindowWidth",
        "VOILUTFunction",
        "SOPClassUID",
    ]
)
_CODE_ACTION = {
    "K": "keep",
    "X": "delete",
    "Z": "remove",
    "D": "reset",
    "U": "regen_uid",
    "C": "clean_text",
    "X/Z": "remove",
    "Z/D": "reset",
    "X/D": "reset",
    "X/Z/D": "reset",
    "X/Z/U*": "recurse",
}
_OPERATION_ACTION = {
    "keepTag": "keep",
    "removeTag": "remove",
    "deleteTag": "delete",
    "resetTag": "reset",
    "cleanTextTag": "clean_text",
    "regenUidTag": "regen_uid",
    "recurseTag": "recurse",
    "cleanImageTag": "clean_image",
}


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    why: str


@dataclass(frozen=True, slots=True)
class Step:
    """One row of the plan."""

    path: str  # keywords (Tag_GGGGEEEE for private) joined with '.'
    keyword: str
    tag: str  # GGGGEEEE
    vr: str
    action: str
    why: str


class Planner:
    """The rule book: profile, then options, then actions in order (the last match wins)."""

    def __init__(self, config: DeidConfig) -> None:
        self.config = config
        tc, legacy = config.dicom_tag_config, config.dicom
        if tc is not None:
            self.profile = tc.profile
            self.actions: tuple[Action, ...] = tc.actions
            self.primary = "keep" if tc.options.primary_ids == "KEEP" else "regen_uid"
            self.clean_descriptors = tc.options.clean_descriptors
            self.image: ImageConfig | None = tc.options.clean_image or config.image
            self.listed: frozenset[int] = frozenset()
        else:
            assert legacy is not None
            self.profile = legacy.profile
            self.actions = ()
            self.primary = "keep" if legacy.skip_id_redaction else "regen_uid"
            self.clean_descriptors = False
            self.image = config.image
            if legacy.keep_list is not None:
                self.profile, self.listed = "KEEP_LIST", frozenset(q.tag for q in legacy.keep_list if q.tag)
            elif legacy.remove_list is not None:
                self.profile, self.listed = "REMOVE_LIST", frozenset(q.tag for q in legacy.remove_list if q.tag)
            else:
                self.listed = frozenset()

    def decide(self, tag: int, vr: str, parent: str | None = None) -> Decision:
        """What happens to an element; ``parent`` is the action of the enclosing sequence, if any."""
        if parent == "reset":
            return Decision("reset", "inside a sequence that is reset (D)")
        if parent == "keep_all":
            return Decision("keep", "inside a sequence kept whole")
        d = self._profile(tag, vr)
        d = self._options(tag, vr, d, nested=parent is not None)
        for i, a in enumerate(self.actions):
            if any(q.tag == tag if q.kind == "tag" else q.vr == vr for q in a.queries):
                act = _OPERATION_ACTION[a.operation]
                if act == "clean_image" and parent is not None:
                    act = "keep"  # cleanImageTag does not apply inside sequences
                d = Decision(act, f"actions[{i}] {a.operation} ({', '.join(q.text for q in a.queries)})")
        if vr == "SQ" and d.action == "keep":
            d = Decision("recurse", d.why)
        if d.action == "regen_uid" and vr != "UI":
            d = Decision("reset", d.why + "; not a UI: reset")
        if d.action == "reset" and vr == "UI":
            d = Decision("regen_uid", d.why + "; a UI dummy is a regenerated UID")
        return d

    def pixel_image(self) -> ImageConfig | None:
        """The ImageConfig applied to top-level PixelData (``options.cleanImage``, the legacy
        ``image``, or the last ``cleanImageTag`` action on it); None when no text is redacted."""
        if self.decide(PIXEL_DATA, "OB").action != "clean_image":
            return None
        image = self.image
        for a in self.actions:
            if any(q.kind == "tag" and q.tag == PIXEL_DATA for q in a.queries):
                image = a.image if a.operation == "cleanImageTag" else None
        if image is None or image.mode == "REDACT_NO_TEXT":
            return None
        return image

    def _profile(self, tag: int, vr: str) -> Decision:
        p = self.profile
        if p == "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE":
            row = lookup(tag)
            if row is None:
                return Decision("keep", "BASIC: not in Table E.1-1")
            return Decision(_CODE_ACTION.get(row.basic, "delete"), f"BASIC: {row.name or row.tag} {row.basic}")
        if p == "KEEP_ALL_PROFILE":
            return Decision("keep", "KEEP_ALL")
        if p == "MINIMAL_KEEP_LIST_PROFILE":
            keep = tag in MINIMAL_KEEP or tag >> 16 == 0x0002
            return Decision("keep" if keep else "delete", "MINIMAL_KEEP_LIST")
        if p == "DEIDENTIFY_TAG_CONTENTS":
            return Decision("clean_text" if vr in CLEAN_TEXT_VRS else "keep", "DEIDENTIFY_TAG_CONTENTS")
        if p == "KEEP_LIST":  # what a valid instance needs is kept too, as with MINIMAL_KEEP_LIST
            keep = tag in self.listed or tag in MINIMAL_KEEP or tag >> 16 == 0x0002
            return Decision("keep" if keep else "delete", "dicom.keepList")
        if p == "REMOVE_LIST":
            return Decision("delete" if tag in self.listed else "keep", "dicom.removeList")
        raise AssertionError(p)

    def _options(self, tag: int, vr: str, d: Decision, nested: bool) -> Decision:
        if tag in PRIMARY_IDS and not nested:
            why = "primary IDs kept" if self.primary == "keep" else "primary IDs regenerated"
            return Decision(self.primary, why)
        if self.clean_descriptors and vr in CLEAN_TEXT_VRS:
            row = lookup(tag)
            if row is not None and row.clean_descriptors == "C":
                return Decision("clean_text", "options.cleanDescriptors")
        if tag == PIXEL_DATA and not nested and self.image is not None and self.image.mode != "REDACT_NO_TEXT":
            return Decision("clean_image", f"cleanImage {self.image.mode}")
        return d


def field_tag_vr(name: str) -> tuple[int, str]:
    """Tag and dictionary VR of a column name (keyword or Tag_GGGGEEEE)."""
    if name.startswith("Tag_"):
        tag = int(name[4:], 16)
        return tag, "SQ"
    e = keyword_entry(name)
    if e is None:
        return 0, "UN"
    return e.tag, resolve(e.vr)


def compile_plan(planner: Planner, schema: pa.Schema) -> list[Step]:
    """The element-level plan for every DICOM column path of ``schema``."""
    steps: list[Step] = []

    def walk(fields: list[pa.Field], prefix: str, parent: str | None) -> None:
        for f in fields:
            if f.name.startswith("dl_") or f.name in ("DroppedTags", "OtherElements"):
                continue
            tag, vr = field_tag_vr(f.name)
            d = planner.decide(tag, vr, parent)
            path = f"{prefix}.{f.name}" if prefix else f.name
            steps.append(Step(path, f.name, f"{tag:08X}", vr, d.action, d.why))
            is_seq = pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type) and vr == "SQ"
            if is_seq and d.action in ("recurse", "reset", "keep"):
                walk(list(f.type.value_type), path, "reset" if d.action == "reset" else "recurse")

    walk(list(schema), "", None)
    return steps
