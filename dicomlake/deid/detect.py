"""Offline PHI detectors for free text (metadata values, OCR text of burned-in pixels).

``detect(text, ctx, info_types)`` returns non-overlapping :class:`Finding` spans named
with Google DLP's infoTypes: regular expressions plus one word list
(``dicomlake/data/names.txt``, made by ``scripts/make_name_list.py``), nothing learned
or downloaded.  Callers run it once per distinct value.  :data:`DEFAULT_INFO_TYPES`:

``PERSON_NAME``  the context's names in every form of :func:`variants_of_name` (case
    insensitive, whole words); a PN string ``FAMILY^GIVEN[^...]`` unless its parts are
    vocabulary words (``Head^Routine``); a title (``Dr``, ``Mr``, ``Mrs``, ``Ms``, ``Miss``,
    ``Prof``) and a capitalized word; a census given name next to a capitalized word of
    the same case that is not a DICOM/radiology vocabulary word (``Ann Johnson``,
    ``JOHNSON ANN``, ``Johnson, Ann``, ``John A. Smith``).  A lone word ("Female", "AXIAL",
    "WALL") is a name only when it is one of the context's names.
``DATE``  valid dates 1900-2100: ``YYYYMMDD``, ``YYYY-MM-DD`` (also ``/`` ``.``),
    ``MM/DD/YYYY`` (also ``-``), ``DD/MM/YYYY`` when not a valid US date, ``DD.MM.YYYY``,
    ``MM/DD/YY``, ``Month D, YYYY``, ``D Month YYYY``, ``D-Mon-YYYY``, ``Month YYYY``;
    and the context's dates in every form of :func:`variants_of_date`.
``AGE``  ``45 years old``, ``45-year-old``, ``45 yo``, ``45 y/o``, DICOM AS ``045Y``,
    ``45Y``, ``003M``, and the number in ``age 45`` / ``aged 45``.
``PHONE_NUMBER``  ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``,
    ``+44 20 7946 0958``, ``555-1234``: at least 7 digits, with separators.
``EMAIL_ADDRESS``  ``local@domain.tld``.
``US_SOCIAL_SECURITY_NUMBER``  ``123-45-6789``, area not 000, 666 or 9xx.
``MEDICAL_RECORD_NUMBER``  the context's identifiers (PatientID, AccessionNumber, ...),
    whole tokens, case insensitive.
``STREET_ADDRESS``  a house number, a street name of 1-4 words, a suffix (``Street``, ``Ave.``,
    ``ST``...), an optional direction and unit: ``7536 Pine Street``, ``12B Elm Ave., Apt 4``,
    ``221 W 42nd St``; and ``PO Box 123`` (:mod:`.places`).
``LOCATION``  ``Madison, WI 53703`` (city, US state code or name, ZIP or ZIP+4), ``Madison, WI``,
    ``WI 53703``, a lone ZIP+4, UK (``SW1A 1AA``) and Canadian (``K1A 0B1``) postcodes; and the
    context's places (InstitutionName, InstitutionAddress, InstitutionalDepartmentName,
    StationName, PatientAddress values): each value, each comma-separated part and each word
    that is not a vocabulary word (``Hospital``, ``General``, ``Street`` alone are not; a word of
    letters and digits from 5 characters, so station ``CT01`` is not, a code value), in every
    written variant (case, punctuation, ``St``/``Saint``, ``Hosp``/``Hospital``, initials ``MGH``)
    (:func:`.places.place_phrases`).
``TIME``  ``8:48:26 AM``, ``08:48``, ``084826``, ``0848`` right before or after a date
    (``20200105 084826``, ``Jan 5, 2020 at 8:48 AM``); a time alone (a duration) is not one.

The API does not publish its "default DICOM infoTypes" (spec B5/B7: UNCONFIRMED); Google DLP's
``LOCATION``, ``STREET_ADDRESS`` and ``TIME`` are PHI under HIPAA Safe Harbor (geographic
subdivisions smaller than a state, times of dates), so they are default infoTypes here, and a
TextConfig that lists them in ``excludeInfoTypes`` keeps them.

``CTX`` (only when in ``info_types``)  the context's Clean Descriptors phrases (values of
    other elements coded D, Z, X or U that the plan removes or replaces), whole words, case
    insensitive, PN phrases also in their name variants and DA phrases in their date variants;
    a phrase that is a single vocabulary word (``Radiology``) is not searched for.

Context identifiers and phrases shorter than :data:`MIN_CONTEXT_LEN` are not searched for
(so PatientSex ``F`` never hides ``Female``, as in Google's example).  Overlaps: the
longest candidate wins, then the earliest, then the first type in :data:`PRIORITY`; a
partly covered candidate keeps its uncovered rest, so no piece of PHI is left in clear.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.resources import files

from .places import (
    ADDRESS_HINT,
    ADDRESS_RE,
    LOCATION_HINTS,
    LOCATION_RES,
    TIME_GAP,
    TIME_RE,
    address_ok,
    location_ok,
    place_phrases,
    place_regex,
)
from .places import place_forms as _place_forms

__all__ = ["DEFAULT_INFO_TYPES", "PRIORITY", "Context", "Finding", "WrittenDate", "detect", "parse_date"]
__all__ += ["next_to_date", "place_forms", "variants_of_date", "variants_of_name"]

#: Tie-break for findings with the same span (earlier wins).
PRIORITY = (
    "MEDICAL_RECORD_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "STREET_ADDRESS",
    "LOCATION",
    "PERSON_NAME",
    "DATE",
    "AGE",
    "TIME",
    "CTX",
)
#: Every infoType but CTX (documented above).
DEFAULT_INFO_TYPES = frozenset(PRIORITY) - {"CTX"}
_RANK = {t: i for i, t in enumerate(PRIORITY)}
#: Context identifiers and CTX phrases shorter than this are not searched for.
MIN_CONTEXT_LEN = 3
MIN_NAME_PART = 3  # a family/given name alone is a variant only from this length

MONTHS = tuple(calendar.month_name)[1:]
MONTH_ABBR = tuple(calendar.month_abbr)[1:]
_MONTH_NUM = {m.lower(): i % 12 + 1 for i, m in enumerate(MONTHS + MONTH_ABBR)} | {"sept": 9}


@dataclass(frozen=True, slots=True)
class Finding:
    start: int
    end: int
    info_type: str
    text: str


@dataclass(frozen=True)
class Context:
    """Identifying values of one instance or patient, searched for wherever they appear."""

    person_names: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    ctx_phrases: tuple[str, ...] = ()
    places: tuple[str, ...] = ()  # institution, department, station names and addresses


# --- variants -----------------------------------------------------------------


def variants_of_name(pn: str) -> set[str]:
    """Written forms of a DICOM PN (``FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX``) or a plain ``Given Family``.

    ``JOHNSON^ANN^M`` gives ``JOHNSON^ANN^M``, ``JOHNSON^ANN``, ``ANN JOHNSON``,
    ``ANN M JOHNSON``, ``JOHNSON, ANN``, ``JOHNSON ANN``, ``A. JOHNSON``, ``A JOHNSON``,
    ``JOHNSON`` and ``ANN`` (parts alone only when >= 3 letters).  Match them case-insensitively.
    """
    alphabetic = pn.split("=")[0].strip()
    if "^" in alphabetic:
        parts = [p.strip() for p in alphabetic.split("^")]
        family, given, middle = [*parts, "", "", ""][:3]
    else:
        words = alphabetic.replace(",", " ").split()
        if "," in alphabetic and len(words) >= 2:
            family, given, middle = words[0], words[1], " ".join(words[2:])
        else:
            given, family, middle = " ".join(words[:1]), " ".join(words[-1:]), " ".join(words[1:-1])
    out = {v for v in (alphabetic, alphabetic.rstrip("^")) if v}
    if family and given:
        out |= {f"{family}^{given}", f"{given} {family}", f"{family}, {given}", f"{family},{given}"}
        out |= {f"{family} {given}", f"{given[0]}. {family}", f"{given[0]} {family}"}
        if middle:
            out |= {f"{given} {middle} {family}", f"{given} {middle[0]}. {family}", f"{family}, {given} {middle}"}
    out |= {p for p in (family, given) if sum(c.isalpha() for c in p) >= MIN_NAME_PART}
    return {v for v in out if v.strip()}


def variants_of_date(da: str) -> set[str]:
    """Written forms of a DICOM DA (empty if not a valid ``YYYYMMDD``): ``19880812``, ``1988-08-12``,
    ``08/12/1988``, ``12/08/1988``, ``1988/08/12``, ``12.08.1988``, ``August 12, 1988``,
    ``12 August 1988``, ``Aug 12, 1988``, ``12 Aug 1988``, ``12-Aug-1988``, ``08/12/88``, ``8/12/1988``."""
    written = parse_date(da.strip()) if re.fullmatch(r"\d{8}", da.strip()) else None
    if written is None:
        return set()
    d = written.date
    y, m, dd, yy = f"{d.year:04d}", f"{d.month:02d}", f"{d.day:02d}", f"{d.year % 100:02d}"
    month, mon = MONTHS[d.month - 1], MONTH_ABBR[d.month - 1]
    out = {f"{y}{m}{dd}", f"{y}-{m}-{dd}", f"{m}/{dd}/{y}", f"{dd}/{m}/{y}", f"{y}/{m}/{dd}", f"{dd}.{m}.{y}"}
    out |= {f"{month} {d.day}, {y}", f"{d.day} {month} {y}", f"{mon} {d.day}, {y}", f"{d.day} {mon} {y}"}
    out |= {f"{dd}-{mon}-{y}", f"{m}/{dd}/{yy}", f"{d.month}/{d.day}/{y}", f"{d.day}/{d.month}/{y}"}
    return out


# --- written dates -----------------------------------------------------------------

_TOKEN = re.compile(r"\d+|[A-Za-z]+|[^\dA-Za-z]+")
_ORDINALS = {"st", "nd", "rd", "th"}
TWO_DIGIT_YEAR_PIVOT = 50  # ``yy < 50`` is 20yy, else 19yy


@dataclass(frozen=True)
class WrittenDate:
    """A date as written in text: its value, its tokens and what each token is
    (``transform_text.render_date`` writes another date the same way)."""

    date: dt.date
    tokens: tuple[str, ...]
    roles: tuple[tuple[str, int], ...]  # (role, token index); roles: ymd y m d mon ord


def parse_date(text: str) -> WrittenDate | None:
    """Parse one written date (any form :func:`detect` finds as DATE); ``None`` if invalid.

    Numeric ``a/b/YYYY`` is read as US ``MM/DD`` first, then as ``DD/MM``; with dots,
    as ``DD.MM``.  A date without a day (``August 1988``) stands for the 1st."""
    toks = tuple(_TOKEN.findall(text))
    nums = [i for i, t in enumerate(toks) if t.isdigit()]
    months = [i for i, t in enumerate(toks) if t.isalpha() and t.lower() in _MONTH_NUM]
    for roles in _role_candidates(toks, nums, months):
        date = _date_of(toks, roles)
        if date is not None:
            ords = tuple(("ord", i) for i, t in enumerate(toks) if t.lower() in _ORDINALS)
            return WrittenDate(date, toks, tuple(roles.items()) + ords)
    return None


def _role_candidates(toks: tuple[str, ...], nums: list[int], months: list[int]) -> list[dict[str, int]]:
    if months:  # Month D, YYYY / D Month YYYY / Month YYYY
        years = [i for i in nums if len(toks[i]) == 4]
        days = [i for i in nums if len(toks[i]) <= 2]
        ok = len(months) == 1 and len(years) == 1 and len(days) == len(nums) - 1 <= 1
        return [{"mon": months[0], "y": years[0], **({"d": days[0]} if days else {})}] if ok else []
    if len(nums) != 3:
        return [{"ymd": nums[0]}] if len(nums) == 1 and len(toks[nums[0]]) == 8 else []
    a, b, c = nums
    if len(toks[a]) == 4:
        return [{"y": a, "m": b, "d": c}]
    if "." in toks[a + 1]:
        return [{"d": a, "m": b, "y": c}]
    return [{"m": a, "d": b, "y": c}, {"d": a, "m": b, "y": c}]


def _date_of(toks: tuple[str, ...], roles: dict[str, int]) -> dt.date | None:
    try:
        if "ymd" in roles:
            t = toks[roles["ymd"]]
            return dt.date(int(t[:4]), int(t[4:6]), int(t[6:]))
        y = toks[roles["y"]]
        year = int(y) if len(y) == 4 else int(y) + (2000 if int(y) < TWO_DIGIT_YEAR_PIVOT else 1900)
        if len(y) not in (2, 4) or any(len(toks[roles[r]]) > 2 for r in ("m", "d") if r in roles):
            return None
        month = _MONTH_NUM[toks[roles["mon"]].lower()] if "mon" in roles else int(toks[roles["m"]])
        return dt.date(year, month, int(toks[roles["d"]]) if "d" in roles else 1)
    except ValueError:
        return None


# --- generic patterns ------------------------------------------------------------

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|" + _MON + r"\.?)"
_D, _M, _Y = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])", r"(?:19\d\d|20\d\d|2100)"
_NUM_END = r"(?![\w/-]|\.\d)"
_DATE_PATTERNS = [
    rf"(?<![\w.]){_Y}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\w|\.\d)",
    rf"(?<![\w./-]){_Y}(?P<s1>[-/.]){_M}(?P=s1){_D}{_NUM_END}",
    rf"(?<![\w./-]){_D}(?P<s2>[-/.]){_M}(?P=s2){_Y}{_NUM_END}",
    rf"(?<![\w./-]){_M}(?P<s3>[-/]){_D}(?P=s3){_Y}{_NUM_END}",
    rf"(?<![\w./-]){_M}/{_D}/\d\d{_NUM_END}",
    rf"(?<!\w){_MONTH}\s+{_D}(?:st|nd|rd|th)?,?\s+{_Y}(?!\w)",
    rf"(?<!\w){_D}(?:st|nd|rd|th)?(?:\s+|-){_MONTH}(?:,?\s+|-){_Y}(?!\w)",
    rf"(?<!\w)(?:January|February|March|April|June|July|August|September|October|November|December)\s+{_Y}(?!\w)",
]
_NUM_DATE_RE = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS[:5]))
_NAMED_DATE_RE = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS[5:]), re.IGNORECASE)
_MONTH_HINT = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", re.IGNORECASE)
_AGE_RE = re.compile(
    r"(?<![\w.])\d{1,3}(?:\s*-?\s*(?i:years?|yrs?)\s*-?\s*(?i:old|of\s+age)(?!\w)|\s*(?i:yo|y\.o\.|y/o)(?![\w/])"
    r"|(?<=\d{3})[DWM](?!\w)|Y(?!\w))"  # DICOM AS: 045Y, 45Y, 003M
    r"|(?i:(?<=\bage\s)|(?<=\bage:\s)|(?<=\baged\s))\d{1,3}(?![\w.])"
)
_PHONE_RE = re.compile(
    r"(?<![\w.+-])(?:"
    r"(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[.-])\d{3}[.-]\d{4}"  # US
    r"|\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}"  # international (digit count checked below)
    r"|\d{3}-\d{4}"  # local 7-digit
    r")(?![\w-]|\.\d)"
)
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_SSN_RE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_PN_RE = re.compile(r"(?<![\w^])[A-Za-z][A-Za-z'-]+\^[A-Za-z][A-Za-z'-]*(?:\^[A-Za-z.'-]*){0,3}(?![\w^])")
_TITLES = r"(?:Dr|Mr|Mrs|Ms|Miss|Prof)"
_TITLE_RE = re.compile(rf"(?<!\w){_TITLES}\.?\s+([A-Z][A-Za-z'-]+)(?:\s+(?!{_TITLES}\b)([A-Z][A-Za-z'-]+))?(?!\w)")
_CAP_WORD = re.compile(r"[A-Z][A-Za-z'-]*[A-Za-z]")
_PAIR_GAP = re.compile(r" {1,2}(?:[A-Z]\.? {1,2})?|, ?")


def _pn_ok(m: re.Match[str]) -> bool:
    """``FAMILY^GIVEN``: a census given name second, or no part a vocabulary word (not ``Head^Routine``)."""
    given, notname = word_lists()
    parts = [p.lower().rstrip(".") for p in m.group().split("^") if p]
    return parts[1] in given or not any(p in notname for p in parts)


# --- name list -------------------------------------------------------------------


@functools.cache
def word_lists() -> tuple[frozenset[str], frozenset[str]]:
    """``(given names, non-name words)`` from ``dicomlake/data/names.txt``, lower case: the name
    detector's word lists, which :mod:`dicomlake.deid.verify` also counts as vocabulary."""
    text = files("dicomlake").joinpath("data/names.txt").read_text(encoding="utf-8")
    parts = re.split(r"^\[(\w+)\]$", text, flags=re.MULTILINE)
    sections = {name: frozenset(body.split()) for name, body in zip(parts[1::2], parts[2::2], strict=True)}
    return sections["given"], sections["notname"]


def _name_spans(text: str) -> list[tuple[int, int]]:
    """Census given name next to a capitalized non-vocabulary word (chains merged), and titles."""
    given, notname = word_lists()
    spans: list[tuple[int, int]] = []
    words = list(_CAP_WORD.finditer(text))
    for a, b in itertools.pairwise(words):
        if not _PAIR_GAP.fullmatch(text, a.end(), b.start()):
            continue
        wa, wb = a.group().lower(), b.group().lower()
        named = (wa in given and wb not in notname) or (wb in given and wa not in notname)
        same_case = a.group().isupper() == b.group().isupper()
        if named and same_case and _boundary(text, a.start() - 1) and _boundary(text, b.end()):
            spans.append((a.start(), b.end()))
    merged: list[tuple[int, int]] = []
    for start, end in spans:  # already in text order
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    for m in _TITLE_RE.finditer(text):
        if m.group(1).lower() not in notname:
            second = m.group(2)
            merged.append((m.start(), m.end(2) if second and second.lower() not in notname else m.end(1)))
    return merged


def _boundary(text: str, i: int) -> bool:
    return i < 0 or i >= len(text) or not (text[i].isalnum() or text[i] in "^_")


# --- context patterns ------------------------------------------------------------


def _phrase_regex(phrases: Iterable[str]) -> re.Pattern[str] | None:
    alts = sorted({p for p in phrases if len(p.strip()) >= MIN_CONTEXT_LEN}, key=len, reverse=True)
    if not alts:
        return None
    body = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in alts)
    return re.compile(rf"(?<![\w^])(?:{body})(?![\w^])", re.IGNORECASE)


def _ctx_phrase_variants(phrase: str) -> set[str]:
    phrase = phrase.strip()
    if "^" in phrase:
        return variants_of_name(phrase)
    return {phrase} | variants_of_date(phrase)


def place_forms(value: str) -> set[str]:
    """Literal written forms of an instance's place value (:func:`.places.place_forms`)."""
    return _place_forms(value, word_lists()[1])


def _vocabulary_word(phrase: str) -> bool:
    """A single DICOM/radiology vocabulary word (``Radiology``, ``Routine``) identifies nobody alone."""
    return phrase.strip().lower() in word_lists()[1]


@functools.lru_cache(maxsize=4096)
def _context_patterns(ctx: Context) -> tuple[tuple[str, re.Pattern[str]], ...]:
    groups = {
        "PERSON_NAME": {v for pn in ctx.person_names for v in variants_of_name(pn)},
        "MEDICAL_RECORD_NUMBER": {i.strip() for i in ctx.identifiers},
        "DATE": {v for da in ctx.dates for v in variants_of_date(da)},
        "CTX": {v for p in ctx.ctx_phrases for v in _ctx_phrase_variants(p) if not _vocabulary_word(v)},
    }
    out = [(t, rx) for t, phrases in groups.items() if (rx := _phrase_regex(phrases)) is not None]
    notname = word_lists()[1]
    places = place_regex(p for value in ctx.places for p in place_phrases(value, notname))
    return tuple(out + ([("LOCATION", places)] if places is not None else []))


# --- detection -------------------------------------------------------------------


def _date_ok(m: re.Match[str]) -> bool:
    return parse_date(m.group()) is not None  # a valid day of its month


def _hint(rx: re.Pattern[str], text: str, digits: int = 1) -> bool:
    return digits > 0 and rx.search(text) is not None


# (info type, pattern, check of a match or None, gate on (text, number of digits) that skips the pattern)
_Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool] | None, Callable[[str, int], bool]]
_RULES: tuple[_Rule, ...] = (
    ("DATE", _NUM_DATE_RE, _date_ok, lambda t, n: n >= 4),
    ("DATE", _NAMED_DATE_RE, _date_ok, lambda t, n: n >= 4 and _MONTH_HINT.search(t) is not None),
    ("AGE", _AGE_RE, None, lambda t, n: n >= 1),
    ("PHONE_NUMBER", _PHONE_RE, lambda m: sum(c.isdigit() for c in m.group()) >= 7, lambda t, n: n >= 7),
    ("EMAIL_ADDRESS", _EMAIL_RE, None, lambda t, n: "@" in t),
    ("US_SOCIAL_SECURITY_NUMBER", _SSN_RE, None, lambda t, n: n >= 9),
    ("PERSON_NAME", _PN_RE, _pn_ok, lambda t, n: "^" in t),
    ("STREET_ADDRESS", ADDRESS_RE, lambda m: address_ok(m, word_lists()[1]), lambda t, n: _hint(ADDRESS_HINT, t, n)),
    ("LOCATION", LOCATION_RES[0], None, lambda t, n: _hint(LOCATION_HINTS[0], t, n)),
    ("LOCATION", LOCATION_RES[1], lambda m: location_ok(m, word_lists()[1]), lambda t, n: _hint(LOCATION_HINTS[1], t)),
    ("LOCATION", LOCATION_RES[2], None, lambda t, n: _hint(LOCATION_HINTS[2], t, n)),
    ("LOCATION", LOCATION_RES[3], None, lambda t, n: _hint(LOCATION_HINTS[3], t, n)),
    ("LOCATION", LOCATION_RES[4], None, lambda t, n: _hint(LOCATION_HINTS[4], t, n)),
)


def _candidates(text: str, ctx: Context | None, wanted: frozenset[str]) -> Iterator[tuple[int, int, str]]:
    digits = sum(map(str.isdigit, text))
    for info_type, rx, ok, gate in _RULES:
        if info_type in wanted and gate(text, digits):
            for m in rx.finditer(text):
                if ok is None or ok(m):
                    yield m.start(), m.end(), info_type
    if "PERSON_NAME" in wanted:
        for start, end in _name_spans(text):
            yield start, end, "PERSON_NAME"
    if ctx is not None:
        for info_type, rx in _context_patterns(ctx):
            if info_type in wanted:
                for m in rx.finditer(text):
                    yield m.start(), m.end(), info_type


def _times(text: str, dates: list[tuple[int, int]]) -> Iterator[tuple[int, int, str]]:
    """Times right before or after one of ``dates`` (spans of any DATE the rules or the context find)."""
    if dates:
        for m in TIME_RE.finditer(text):
            if _next_to(text, m.start(), m.end(), dates):
                yield m.start(), m.end(), "TIME"


def _date_spans(text: str, ctx: Context | None) -> list[tuple[int, int]]:
    return [(a, b) for a, b, t in _candidates(text, ctx, frozenset({"DATE"})) if t == "DATE"]


def _next_to(text: str, start: int, end: int, dates: list[tuple[int, int]]) -> bool:
    return any(
        TIME_GAP.fullmatch(text, b, start) or TIME_GAP.fullmatch(text, end, a)
        for a, b in dates
        if b <= start or a >= end
    )


def next_to_date(text: str, start: int, end: int) -> bool:
    """Does ``text[start:end]`` (a time) stand right before or after a date (``TIME``'s rule)?"""
    return _next_to(text, start, end, _date_spans(text, None))


def detect(text: str, ctx: Context | None = None, info_types: frozenset[str] | None = None) -> list[Finding]:
    """Non-overlapping findings in ``text``, in text order.

    ``info_types=None`` means :data:`DEFAULT_INFO_TYPES`; pass a set containing
    ``"CTX"`` (e.g. ``DEFAULT_INFO_TYPES | {"CTX"}``) for Clean Descriptors.
    """
    if not text:
        return []
    wanted = DEFAULT_INFO_TYPES if info_types is None else info_types
    found = set(_candidates(text, ctx, wanted))
    if "TIME" in wanted:
        dates = [(a, b) for a, b, t in found if t == "DATE"] if "DATE" in wanted else _date_spans(text, ctx)
        found.update(_times(text, dates))
    cands = sorted(found, key=lambda c: (c[0] - c[1], c[0], _RANK.get(c[2], 99)))
    taken: list[tuple[int, int, str]] = []
    for start, end, info_type in cands:
        taken.extend((a, b, info_type) for a, b in _uncovered(text, start, end, taken))
    return [Finding(a, b, t, text[a:b]) for a, b, t in sorted(taken)]


def _uncovered(text: str, start: int, end: int, taken: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Parts of ``[start, end)`` not yet taken; a partly covered candidate keeps its uncovered
    rest (cut edges trimmed to letters and digits), so no piece of it is left in clear."""
    pieces = [(start, end)]
    for s, e, _ in taken:
        pieces = [p for a, b in pieces for p in ((a, min(b, s)), (max(a, e), b)) if p[0] < p[1]]
    out = []
    for a, b in pieces:
        while a > start and a < b and not text[a].isalnum():
            a += 1
        while b < end and b > a and not text[b - 1].isalnum():
            b -= 1
        if a < b and any(c.isalnum() for c in text[a:b]):
            out.append((a, b))
    return out
