"""Places in free text: street addresses, city/state/postal codes, times, and an instance's own places.

The patterns behind :mod:`.detect`'s ``STREET_ADDRESS``, ``LOCATION`` and ``TIME`` infoTypes, and
the written forms of an institution, department, station or address value
(:func:`place_phrases`), shared with :mod:`dicomlake.deid.verify`.  Regular expressions and word lists
only, nothing learned or downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "ADDRESS_HINT",
    "ADDRESS_RE",
    "LOCATION_HINTS",
    "LOCATION_RES",
    "PLACE_WORDS",
    "TIME_GAP",
    "TIME_RE",
    "address_ok",
    "location_ok",
]
__all__ += ["place_forms", "place_phrases", "place_regex"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: Street suffixes: full words (any case) and abbreviations (written ``St``, ``St.`` or ``ST``).
STREET_WORDS = _words(
    "street avenue road boulevard lane drive court place terrace parkway highway circle square trail way "
    "alley crescent close gardens grove plaza row walk expressway freeway pike turnpike"
)
STREET_ABBR = _words("st ave av rd blvd ln dr ct pl ter pkwy hwy cir sq trl aly cres plz expy fwy")
#: Upper-case abbreviations that are also radiology words (``3 PHASE CT``): need a non-vocabulary street name.
AMBIGUOUS_ABBR = frozenset({"CT", "DR", "PL", "SQ", "CIR", "TER", "ROW"})
UNIT_WORDS = _words("apt apartment suite ste unit room rm floor fl bldg building")
DIRECTIONS = _words("north south east west n s e w ne nw se sw")
#: Words of institution and address values that identify nothing alone (besides the non-name words).
PLACE_WORDS = frozenset(
    STREET_WORDS
    + STREET_ABBR
    + UNIT_WORDS
    + DIRECTIONS
    + _words("memorial regional community county city saint mount hosp med ctr univ dept inc llc ltd")
    + _words("services service ward campus children childrens women womens clinics hospitals centers")
)
#: Abbreviations written for the same word in institution names and addresses.
ABBREVIATIONS = {
    "saint": "st",
    "hospital": "hosp",
    "medical": "med",
    "center": "ctr",
    "centre": "ctr",
    "university": "univ",
    "department": "dept",
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "mount": "mt",
    "general": "gen",
    "fort": "ft",
    "suite": "ste",
    "apartment": "apt",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}
_ALT: dict[str, set[str]] = {}
for _full, _abbr in ABBREVIATIONS.items():
    _ALT.setdefault(_full, {_full}).add(_abbr)
    _ALT.setdefault(_abbr, {_abbr}).add(_full)

US_STATES = _words(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR VI GU AS MP"
)
US_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|"
    "Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|"
    "Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|"
    "North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|"
    "Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming"
)

_ABBR_RX = "|".join(STREET_ABBR)
_NAME_WORD = r"(?:[A-Z][A-Za-z'-]*|\d{1,3}(?:st|nd|rd|th|ST|ND|RD|TH))"
_UNIT = r"(?:,?\s+(?:(?i:apt|apartment|suite|ste|unit|room|rm|floor|fl|bldg|building)\.?\s*#?|#\s?)[A-Za-z0-9-]{1,6})"
_DIR = r"(?:[NSEW]|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST|WEST)\.?"
#: ``7536 Pine Street``, ``12B Elm Ave., Apt 4``, ``221 W 42nd St``, ``PO Box 123``.
ADDRESS_RE = re.compile(
    rf"(?<![\w./-])\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?\s+(?:{_DIR}\s+)?(?P<name>{_NAME_WORD}(?:\s{_NAME_WORD}){{0,3}})"
    rf"\s+(?P<suffix>(?i:{'|'.join(STREET_WORDS)})\b|(?:{_ABBR_RX.title()}|{_ABBR_RX.upper()})\b\.?)"
    rf"(?:\s+{_DIR}(?!\w))?{_UNIT}?(?![\w-])"
    r"|(?<!\w)(?i:P\.?\s?O\.?\s?Box|Post\s+Office\s+Box)\s+\d{1,6}(?!\w)"
)
_CITY = r"(?:[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}|[A-Z]{3,}(?: [A-Z]{3,}){0,2})"
_ZIP = r"\d{5}(?:-\d{4})?"
_STATE = rf"(?:{'|'.join(US_STATES)}|{US_STATE_NAMES})"
#: ``Madison, WI 53703``, ``Madison, Wisconsin``, ``WI 53703-1234``, ``53703-1234``, ``SW1A 1AA``, ``K1A 0B1``.
LOCATION_RES = (
    re.compile(rf"(?<![\w-])(?:(?P<city>{_CITY}),?\s+)?{_STATE}\s+{_ZIP}(?![\w-])"),
    re.compile(rf"(?<![\w-])(?P<city>{_CITY}),\s+{_STATE}(?![\w-])"),
    re.compile(r"(?<![\w-])\d{5}-\d{4}(?![\w-])"),
    re.compile(r"(?<![\w-])[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s\d[ABD-HJLNP-UW-Z]{2}(?![\w-])"),  # UK
    re.compile(r"(?<![\w-])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ -]?\d[ABCEGHJ-NPRSTV-Z]\d(?![\w-])"),  # CA
)
#: Cheap tests that skip a pattern on text that cannot hold a match (most text).
ADDRESS_HINT = re.compile(r"\d[A-Za-z]?\s+\S+\s+\S|(?i:box)")
LOCATION_HINTS = (
    re.compile(r"\d{5}"),
    re.compile(r",\s+[A-Z]"),
    re.compile(r"\d{5}-\d{4}"),
    re.compile(r"\s\d[A-Z]{2}(?![\w-])"),
    re.compile(r"[A-Z]\d[A-Z][ -]?\d"),
)
#: ``8:48:26 AM``, ``08:48``, ``084826`` (DICOM TM), ``0848``: a TIME only next to a date.
TIME_RE = re.compile(
    r"(?<![\w:.])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:\s?(?i:[ap]\.?m\.?)(?!\w))?(?![\w:])"
    r"|(?<![\w:.])(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d(?:\.\d{1,6})?)?(?![\w:.])"
)
#: What may stand between a date and its time: ``20200101 084826``, ``Jan 5, 2020 at 8:48 AM``, ``2020-01-05T08:48``.
TIME_GAP = re.compile(r"[\s,;@T-]{0,3}(?i:at\s+)?|\s+(?i:at)\s+")


def address_ok(m: re.Match[str], vocabulary: frozenset[str]) -> bool:
    """An upper-case suffix that is also a radiology word (``3 PHASE CT``) needs a street name
    with a word that is not vocabulary."""
    suffix = (m.group("suffix") or "").rstrip(".")
    if suffix not in AMBIGUOUS_ABBR:
        return True
    return any(w.lower() not in vocabulary for w in m.group("name").split() if not w[0].isdigit())


def location_ok(m: re.Match[str], vocabulary: frozenset[str]) -> bool:
    """``City, ST`` without a ZIP code: the city is not vocabulary alone (not ``Scout, IN``)."""
    city = m.group("city")
    words = [w.lower() for w in re.split(r"[ -]", city)]
    return any(w not in vocabulary and w not in PLACE_WORDS for w in words)


# --- an instance's own places ------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+")  # letters (any script) and digits
_STOP = frozenset({"of", "the", "and", "for", "at", "de", "la", "du", "der"})
MIN_PLACE_WORD = 3  # a word of a place value alone is searched for from this length
MIN_PLACE_NUMBER = 4  # a number alone (ZIP code, house number) from this many digits
MIN_PLACE_CODE = 5  # letters and digits (a station name, a unit) alone from this length
MAX_INITIALS = 5  # the initials of a value of 3 to 5 words (``MGH``) are a written form of it


def _generic(word: str, vocabulary: frozenset[str]) -> bool:
    w = word.lower()
    if w.isdigit():
        return len(w) < MIN_PLACE_NUMBER
    if any(c.isdigit() for c in w):  # a station ``CT01`` is also a code value: from 5 characters
        return len(w) < MIN_PLACE_CODE
    return len(w) < MIN_PLACE_WORD or w in vocabulary or w in PLACE_WORDS or w in _STOP


def place_phrases(value: str, vocabulary: frozenset[str]) -> set[str]:
    """What of one place value (InstitutionName, InstitutionAddress, a department, a station)
    identifies it: the whole value, each comma-separated part and each word that is not a
    vocabulary word (``Hospital``, ``General``, ``Street`` alone are not), each of these parts
    without one or more of its trailing vocabulary words (``Madison General``, ``St. Mary's``),
    and the initials of a
    value of three words or more (``MGH``).  Each phrase is matched by :func:`place_regex` in every
    written variant (case, punctuation, ``St``/``Saint``, ``Hosp``/``Hospital``, ...)."""
    value = " ".join(value.replace("^", " ").split())
    out: set[str] = set()
    for part in [value, *value.split(",")]:
        words = _TOKEN.findall(part)
        if len(words) > 1 or (words and not _generic(words[0], vocabulary)):
            out.add(part.strip())
        out |= {w for w in words if not _generic(w, vocabulary)}
        spans = list(_TOKEN.finditer(part))
        while len(spans) > 1 and len(spans[-1][0]) >= MIN_PLACE_WORD and _generic(spans[-1][0], vocabulary):
            spans.pop()  # Madison General Hospital: also Madison General; St. Mary's Hospital: St. Mary's
            if len(spans) > 1:
                out.add(part[spans[0].start() : spans[-1].end()])
    words = [w for w in _TOKEN.findall(value) if w.lower() not in _STOP]
    initials = "".join(w[0] for w in words)
    if MIN_PLACE_WORD <= len(words) <= MAX_INITIALS and initials.isalpha() and not _generic(initials, vocabulary):
        out.add(initials)
    return {p for p in out if p}


def _token_rx(token: str) -> str:
    alts = sorted(_ALT.get(token.lower(), {token.lower()}), key=len, reverse=True)
    return "(?:" + "|".join(re.escape(a) for a in alts) + ")" if len(alts) > 1 else re.escape(token)


def place_regex(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive regex for ``phrases``: words in order, any punctuation or spaces
    (up to 3 characters) between them, whole words only."""
    alts = set()
    for p in phrases:
        tokens = _TOKEN.findall(p)
        if tokens:
            alts.add(r"[\W_]{0,3}".join(_token_rx(t) for t in tokens))
    if not alts:
        return None
    body = "|".join(sorted(alts, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])", re.IGNORECASE)


_HOUSE = re.compile(r"^\s*\d{1,6}[A-Za-z]?(?:-\d{1,4})?\s+(?=\S+\s+\S)")


def _spellings(phrase: str) -> set[str]:
    """A phrase as written, in words separated by spaces, and with every word abbreviated or spelled out."""
    tokens = _TOKEN.findall(phrase)
    short = [ABBREVIATIONS.get(t.lower(), t) for t in tokens]
    long = [next((f for f, a in ABBREVIATIONS.items() if a == t.lower()), t) for t in tokens]
    return {phrase, " ".join(tokens), " ".join(short), " ".join(long)}


def place_forms(value: str, vocabulary: frozenset[str]) -> set[str]:
    """Literal written forms of a place value, for a search without these regexes (``verify``):
    each :func:`place_phrases` phrase but a house number alone, and each comma-separated part of
    an address without its house number (the street name ``Pine Street`` of ``7536 Pine Street``),
    in its usual spellings."""
    phrases = place_phrases(value, vocabulary)
    streets = [part for part in value.split(",") if _HOUSE.match(part)]
    phrases |= {_HOUSE.sub("", part).strip() for part in streets}
    phrases -= {_TOKEN.findall(part)[0] for part in streets}  # a house number alone is any number
    return {form for p in phrases for form in _spellings(p)}
