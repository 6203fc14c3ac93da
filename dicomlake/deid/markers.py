"""The de-identification markers, derived from what the plan does (PS3.15 E.1, PS3.3 C.7.1.1).

``PatientIdentityRemoved`` is ``YES`` only when no attribute that Table E.1-1's basic column
changes (code other than K) keeps its original value in the output, unless one of PS3.15's named
options keeps it: kept by an action (``keepTag``), by ``KEEP_ALL_PROFILE``, by a text cleaning
that leaves what its detectors do not find (``DEIDENTIFY_TAG_CONTENTS``, ``cleanTextTag``) or
by a TextConfig that changes nothing, a sequence kept whole, private elements kept.

``DeidentificationMethodCodeSequence`` lists the CID 7050 codes whose rules were applied:

- 113100 Basic Profile: when the marker is YES (every basic rule applied, or a stricter one);
- 113101 Clean Pixel Data: added per instance whose pixels were read by OCR (:func:`pixel_markers`);
- 113105 Clean Descriptors: ``cleanDescriptors`` cleaned an attribute its column marks C;
- 113106 / 113107 Retain Longitudinal Temporal Information with Full / Modified Dates: a date
  kept whose full-dates column is K (when no date is shifted: the options are alternatives) / a
  date shifted;
- 113108, 113109, 113112 Retain Patient Characteristics, Device Identity, Institution
  Identity: an attribute kept (or cleaned) as that option's column says;
- 113110 Retain UIDs: only when every UID the basic profile replaces is kept (none changed).

Retain Safe Private (113111) is never claimed: the plan has no list of safe private attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..codec.vr import MAX_CHARS
from ..errors import Command, Param, Part
from .plan import Planner, Step
from .profile_table import ProfileRow, lookup
from .transform_text import TextRule
from .vr_values import fit

#: CID 7050 code → code meaning (PS3.16).
CODES = {
    "113100": "Basic Application Confidentiality Profile",
    "113101": "Clean Pixel Data Option",
    "113105": "Clean Descriptors Option",
    "113106": "Retain Longitudinal Temporal Information Full Dates Option",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
    "113109": "Retain Device Identity Option",
    "113110": "Retain UIDs Option",
    "113112": "Retain Institution Identity Option",
}
#: Table E.1-1 option columns that may keep (K) or clean (C) an attribute, and their codes.
OPTION_CODES = {
    "retain_patient_chars": "113108",
    "retain_device_id": "113109",
    "retain_institution_id": "113112",
    "retain_long_full_dates": "113106",
    "clean_descriptors": "113105",
}
PIXELS_CLEANED = "burned-in text cleaned from the pixels (OCR)"


@dataclass(frozen=True)
class Markers:
    """The markers of one store's plan, and why."""

    removed: bool  # PatientIdentityRemoved YES
    codes: tuple[str, ...]  # CID 7050 code values, sorted
    method: tuple[str, ...]  # DeidentificationMethod values (LO, 64 characters each)
    kept: tuple[tuple[str, str], ...] = ()  # (path, why) of identifying attributes kept
    why: tuple[str, ...] = field(default_factory=tuple)  # one line per code and per decision
    written: bool = True  # False: the plan changes nothing, so no marker is written (the source's stay)

    def code_items(self) -> list[tuple[str, str]]:
        return [(c, CODES[c]) for c in self.codes]

    def warning(self, store: str, limit: int = 30) -> str:
        """The one-line warning naming the kept identifying attributes (when the marker is NO)."""
        from .config import Note

        names = list(dict.fromkeys(path for path, _ in self.kept))
        kept = f"{_kept(len(names))}: {', '.join(names[:limit])}"
        more: tuple[Part, ...] = ()
        if len(names) > limit:
            explain = Command("lake.explain_deidentify(config)", "deidentify", (), (Param("explain", True),))
            more = (f" and {len(names) - limit} more (", explain, " lists them)")
        if not self.written:
            return Note.of(
                f"store '{store}': the plan changes nothing, so no de-identification marker is written "
                f"(the files keep any the source had); {kept}",
                *more,
            )
        return Note.of(f"store '{store}': PatientIdentityRemoved is NO: {kept}", *more)


def _kept(n: int) -> str:
    return (
        f"{n} identifying attribute keeps its original value"
        if n == 1
        else f"{n} identifying attributes keep their original values"
    )


def text_changes(rule: TextRule) -> bool:
    """Does cleaning text change anything (a TextConfig that transforms what it finds)?"""
    return rule.profile != "EMPTY" or bool(rule.transformations)


def date_outcome(rule: TextRule) -> str:
    """What cleaning does to a DA/DT value: "shift", "remove" (redact), "dummy" (a token, mask or
    hash does not fit a DA/DT: the VR's dummy is written) or "keep"."""
    date = rule.choose("DATE")
    if date is None:
        return "keep"
    return {"dateShift": "shift", "redact": "remove"}.get(date.kind, "dummy")


def outcome(step: Step, rule: TextRule) -> str:
    """What happens to the value at ``step``: changed, shifted, cleaned (what detectors find) or kept."""
    if step.action in ("delete", "remove", "reset", "regen_uid"):
        return "changed"
    if step.action != "clean_text":
        return "kept"
    if step.vr == "PN":  # a PN is a PERSON_NAME as a whole
        return "changed" if rule.choose("PERSON_NAME") is not None else "kept"
    if step.vr in ("DA", "DT"):
        return {"shift": "shifted", "keep": "kept"}.get(date_outcome(rule), "changed")
    return "cleaned" if text_changes(rule) else "kept"


def _option(row: ProfileRow, result: str, planner: Planner) -> str | None:
    """The code of the named option that keeps (K) or cleans (C) this row as it was done, if any."""
    want = "K" if result == "kept" else "C"
    for column, code in OPTION_CODES.items():
        if getattr(row, column) == want and (column != "clean_descriptors" or planner.clean_descriptors):
            return code
    return None


def _identifying(step: Step) -> ProfileRow | None:
    row = lookup(int(step.tag, 16))
    return row if row is not None and row.basic != "K" and step.action not in ("clean_image", "set") else None


def decide(planner: Planner, rule: TextRule, steps: list[Step], private: bool) -> Markers:
    """The markers of a plan; ``private``: the store has private (non-sequence) elements."""
    uids = [s for s in steps if s.vr == "UI" and _identifying(s) is not None]
    retain_uids = bool(uids) and all(outcome(s, rule) == "kept" for s in uids)
    codes: dict[str, str] = {"113110": "every UID the basic profile replaces is kept"} if retain_uids else {}
    kept: list[tuple[str, str]] = []
    # Full Dates (113106) and Modified Dates (113107) are alternatives: with dates shifted, a date
    # or time kept as the Full Dates column says is simply kept.
    shifted = any(outcome(s, rule) == "shifted" for s in steps if _identifying(s) is not None)
    for s in steps:
        row = _identifying(s)
        if row is None or (s.vr == "SQ" and s.action == "recurse" and row.basic in ("X/Z/U*", "K")):
            continue  # not identifying, or a sequence whose items are judged one by one
        result = "kept" if s.vr == "SQ" and s.action == "recurse" else outcome(s, rule)
        if result == "changed":
            continue
        code = (
            "113107"
            if result == "shifted"
            else "113110"
            if retain_uids and s.vr == "UI"
            else _option(row, result, planner)
        )
        if code is not None and not (code == "113106" and shifted):
            codes.setdefault(code, f"{s.path} {result}")
        else:
            how = "cleaned only where a detector finds something" if result == "cleaned" else "kept"
            kept.append((s.path, f"{s.why}: {how}"))
    probe = planner.decide(0x00091001, "LO")  # any private element: the profile's private rule
    if private and probe.action in ("keep", "recurse", "clean_text"):
        kept.append(("private elements", f"{probe.why}: {probe.action.replace('_', ' ')}"))
    if not kept:
        codes["113100"] = "every attribute the basic profile changes was changed, or kept by a named option"
    why = [f"{c} {CODES[c]}: {codes[c]}" for c in sorted(codes)]
    why.append(
        f"PatientIdentityRemoved {'NO' if kept else 'YES'}: "
        + (_kept(len(kept)) if kept else "no identifying attribute keeps its original value")
    )
    return Markers(not kept, tuple(sorted(codes)), _method(planner, set(codes), kept), tuple(kept), tuple(why))


def _method(planner: Planner, codes: set[str], kept: list[tuple[str, str]]) -> tuple[str, ...]:
    """DeidentificationMethod in words, one LO value per statement."""
    words = [f"dicomlake {planner.profile}"]
    if planner.actions:
        words.append(
            f"{len(planner.actions)} actions: " + ", ".join(dict.fromkeys(a.operation for a in planner.actions))
        )
    words += [CODES[c] for c in sorted(codes)]
    if kept:
        names = ", ".join(dict.fromkeys(p for p, _ in kept))
        words.append(f"kept: {names}" if len(names) <= 58 else f"{len(kept)} identifying attributes kept")
    return tuple(fit("LO", w[: MAX_CHARS["LO"]]) for w in words)


def pixel_markers(row: dict[str, object]) -> dict[str, object]:
    """What a row whose pixels were read by OCR and cleaned adds to its markers (113101)."""
    if row.get("PatientIdentityRemoved") is None:
        return {}
    items = list(row.get("DeidentificationMethodCodeSequence") or [])  # type: ignore[call-overload]
    item = {"CodeValue": "113101", "CodingSchemeDesignator": "DCM", "CodeMeaning": CODES["113101"]}
    method = list(row.get("DeidentificationMethod") or [])  # type: ignore[call-overload]
    return {"DeidentificationMethodCodeSequence": [*items, item], "DeidentificationMethod": [*method, PIXELS_CLEANED]}
