"""Burned-in text: which instances are read, and which words are redacted in each mode.

OCR is the costly step, so it runs only where the plan cleans PixelData, once per distinct
pixel content (a hash of the stored pixel data; inside a multi-frame image, once per distinct
frame), in a process per core, with a progress bar. Deciding what to redact is cheap and
runs per instance, because it depends on the instance's own identifying values:

``REDACT_ALL_TEXT``  every word with a letter or a digit on a line that has one read with
    confidence at least :data:`MIN_CONF_ALL` (Tesseract often reads a date right with a low
    confidence; noise in the anatomy is read as short words, all with low confidence).
``REDACT_SENSITIVE_TEXT``  words that are part of a finding of the default infoTypes
    (:data:`~dicomlake.deid.detect.DEFAULT_INFO_TYPES`: names, dates, times next to a date,
    ages, IDs, phone numbers, e-mail addresses, SSNs, addresses, locations), plus
    ``additionalInfoTypes`` minus ``excludeInfoTypes`` and the ``customRegexes``, or that
    match the instance's own names, IDs, birth date and places in any written form
    (``JOHNSON^ANN``, ``Ann Johnson``, ``08/12/1988``). Detection runs on whole lines, so a
    name split over two words is one finding. On top of that, every word of every component
    of the instance's person names and of its places (InstitutionName,
    InstitutionalDepartmentName, StationName, addresses) is redacted wherever it stands:
    from 3 characters alone (``CRUZ`` of ``DE LA CRUZ^MARIA JOSE``, ``MERCY`` and
    ``HOSPITAL`` of ``MERCY GENERAL HOSPITAL``), shorter ones (``DE``, ``LA``, ``ST.``) next
    to a redacted word. OCR misreads characters, so words one or two edits from those words
    and the instance's IDs count too, as do two of them read as one (``CRUZ*MARIA``), pieces
    of one read as two (``CLI ic``) or two edits off (``KOSPITA!``) next to a redacted word,
    and any run of digits as long as an ID (``58121621`` read for ``58121821``). Letters read
    for digits are put back before detection (``O1-Mar-2024``). A time printed under or over
    a date (``03/01/2024`` over ``10:47``), or beside it without its colon (``11 46``), goes
    with it.
``REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS``  as SENSITIVE, plus phrases equal to the values
    of the instance's elements coded D, Z, X or U in Table E.1-1 (the ``[CTX]`` rule).
    ``Female`` stays: PatientSex is not a default infoType and its value ``F`` is too short
    to be a phrase.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field

import pydicom

from ..engines.local import fork_pool
from ..pixels.frames import Box, has_pixels, pixel_hash
from ..pixels.ocr import Word, check_tesseract, lines, read_frames
from ..sources.files import Source, read_checked
from .config import ImageConfig
from .detect import DEFAULT_INFO_TYPES, PRIORITY, Context, detect
from .places import TIME_RE

#: REDACT_ALL_TEXT redacts words read with at least this confidence (Tesseract's 0-100).
MIN_CONF_ALL = 30.0
#: The margin (pixels) added around each redacted word.
MARGIN = 2
_KNOWN = frozenset(PRIORITY)


@dataclass
class Reading:
    """What OCR read in one pixel content: words of every frame, or why it could not."""

    words: list[Word] = field(default_factory=list)
    frames: int = 0
    error: str | None = None


def info_types(image: ImageConfig) -> frozenset[str]:
    """The infoTypes searched for in SENSITIVE modes."""
    types = (DEFAULT_INFO_TYPES | set(image.additional_info_types)) - set(image.exclude_info_types)
    if image.mode == "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS":
        types |= {"CTX"}
    return frozenset(types)


def unsupported_info_types(image: ImageConfig) -> list[str]:
    """additionalInfoTypes that no offline detector finds (reported, not silently dropped)."""
    return sorted(set(image.additional_info_types) - _KNOWN)


def _regex_spans(text: str, image: ImageConfig) -> list[tuple[int, int]]:
    spans = []
    for r in image.custom_regexes:
        for m in re.finditer(r.pattern, text):
            groups = r.group_indexes or (0,)
            spans += [m.span(g) for g in groups if m.start(g) >= 0 and m.end(g) > m.start(g)]
    return spans


def sensitive_words(words: list[Word], image: ImageConfig, ctx: Context) -> list[Word]:
    """The words of findings (infoTypes, custom regexes, the instance's own values), the
    instance's own words (:func:`_own_words`), and times printed under or over a date."""
    wanted = info_types(image)
    own = _own_words(ctx)
    out: list[Word] = []
    dates: list[Word] = []
    rows = lines(words)
    for line in rows:
        found = _findings(line, image, ctx, wanted)
        hit = [bool(t) or _misread(w, ctx) or _is_own(w, own) for t, w in zip(found, line, strict=True)]
        _split_times(line, hit, ["DATE" in t for t in found])
        _chain(line, hit, own)
        out += [w for w, h in zip(line, hit, strict=True) if h]
        dates += [w for w, t in zip(line, found, strict=True) if "DATE" in t]
    return out + [w for line in rows for w in _stacked_times(line, dates) if w not in out]


def _findings(line: list[Word], image: ImageConfig, ctx: Context, wanted: frozenset[str]) -> list[set[str]]:
    """For each word of a line, the infoTypes of the findings it is part of ("" for a custom
    regex); detection runs on the whole line, so a name split over two words is one finding."""
    text, spans = "", []
    for w in line:
        start = len(text) + (1 if text else 0)
        text = f"{text} {w.text}" if text else w.text
        spans.append((start, start + len(w.text)))
    found = [(f.start, f.end, f.info_type) for f in detect(_digits(text), ctx, wanted)]
    found += [(a, b, "") for a, b in _regex_spans(text, image)]
    return [{t for s, e, t in found if s < b and a < e} for a, b in spans]


_O_FOR_0 = re.compile(r"(?<![A-Za-z])[Oo](?=\d)|(?<=\d)[Oo](?![A-Za-z])")
_I_FOR_1 = re.compile(r"(?<![A-Za-z])[Il](?=\d)|(?<=\d)[Il](?![A-Za-z])")


def _digits(text: str) -> str:
    """OCR's letters for digits put back where they touch a digit and no other letter
    (``O1-Mar-2024``, ``l2/13/1942``); the length stays, so word offsets hold."""
    return _I_FOR_1.sub("1", _O_FOR_0.sub("0", text))


#: Words of the instance's values that are redacted only next to another redacted word.
_GLUE = frozenset({"THE", "AND", "FOR"})


def _own_words(ctx: Context) -> frozenset[str]:
    """Every word of every component of the instance's person names (``DE LA CRUZ^MARIA JOSE``
    gives DE, LA, CRUZ, MARIA, JOSE) and of its places (institution, department, station,
    addresses: ``ST. MARY'S REGIONAL MEDICAL CENTER``), letters and digits only, upper case."""
    values = (*ctx.person_names, *ctx.places)
    return frozenset(_alnum(p) for v in values for p in re.split(r"[\^=,\s]+", v) if _alnum(p))


def _is_own(word: Word, own: frozenset[str]) -> bool:
    """One of the instance's own words of 3 or more characters (from 5, read with an OCR error
    or two: ``NORTKGATE``), or two or more of them read as one (``CRUZ^MARIA`` read ``CRUZ*MARIA``)."""
    w = _alnum(word.text)
    if len(w) >= 3 and w in own and w not in _GLUE:
        return True
    return (len(w) >= 5 and any(_near(w, o) for o in own if len(o) >= 5)) or _joined(w, own, 0)


def _joined(w: str, own: frozenset[str], parts: int) -> bool:
    if not w:
        return parts >= 2
    return any(w.startswith(o) and _joined(w[len(o) :], own, parts + 1) for o in own if len(o) >= 2)


def _chain(line: list[Word], hit: list[bool], own: frozenset[str]) -> None:
    """Words next to a redacted word of the line that are like one of the instance's own words
    (:func:`_like_own`: ``DE``, ``LA``, ``ST.``, ``CLI ic`` for a split ``CLINIC``, ``KOSPITA!``)
    are redacted too."""
    changed = True
    while changed:
        changed = False
        for i, w in enumerate(line):
            near = (i > 0 and hit[i - 1]) or (i + 1 < len(line) and hit[i + 1])
            if not hit[i] and near and _like_own(_alnum(w.text), own):
                hit[i] = changed = True


def _like_own(w: str, own: frozenset[str]) -> bool:
    """An own word, a piece of one of 5 characters or more (OCR split it), or one two edits from it."""
    if w in own:
        return True
    return len(w) >= 2 and any(w in o or (len(w) >= 5 and _near(w, o, 2)) for o in own if len(o) >= 5)


def _split_times(line: list[Word], hit: list[bool], is_date: list[bool]) -> None:
    """A time whose separators OCR dropped (``11 46`` after ``2024-03-01``) goes with its date."""
    for i in (i for i, d in enumerate(is_date) if d):
        for j in range(i + 2, min(i + 4, len(line)) + 1):
            pieces = [w.text for w in line[i + 1 : j]]
            if all(p.isdigit() and len(p) <= 2 for p in pieces) and TIME_RE.fullmatch(":".join(pieces)):
                hit[i + 1 : j] = [True] * (j - i - 1)


def _stacked_times(line: list[Word], dates: list[Word]) -> list[Word]:
    """A time printed right under or over a date (overlapping columns, at most 1.5 lines apart),
    with its AM/PM; a time beside a date on its line is detect's ``TIME``."""
    out: list[Word] = []
    for i, w in enumerate(line):
        if TIME_RE.fullmatch(w.text) and any(_stacked(w, d) for d in dates):
            out.append(w)
            if i + 1 < len(line) and TIME_RE.fullmatch(f"{w.text} {line[i + 1].text}"):
                out.append(line[i + 1])
    return out


def _stacked(a: Word, b: Word) -> bool:
    overlap = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    gap = max(a.top, b.top) - min(a.top + a.height, b.top + b.height)
    return a.frame == b.frame and overlap > 0 and gap <= 1.5 * max(a.height, b.height)


def _alnum(text: str) -> str:
    return "".join(c for c in text.upper() if c.isalnum())


def _near(a: str, b: str, limit: int | None = None) -> bool:
    """At most one edit apart (two from 8 characters, or ``limit``): OCR misreads a character or two."""
    if abs(len(a) - len(b)) > 2:
        return False
    limit = limit if limit is not None else 2 if min(len(a), len(b)) >= 8 else 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def _misread(word: Word, ctx: Context) -> bool:
    """A word that is one of the instance's IDs read with an OCR error, or a run of digits as
    long as an ID (6 characters, 5 digits or more; times and dates aside; letters inside it
    only those OCR reads for digits, so ``W1749L195``, window and level run together, is none)."""
    w = _alnum(word.text)
    inner = re.sub(r"^[^\d]+|[^\d]+$", "", "".join(c for c in word.text if c.isalnum()))
    digit_run = all(c.isdigit() or c in _DIGIT_LOOKALIKES for c in inner)
    if (
        len(w) >= 6
        and sum(c.isdigit() for c in w) >= 5
        and digit_run
        and not _TIME_OR_DATE.fullmatch(word.text.strip(".,;"))
    ):
        return True
    return len(w) >= 5 and any(_near(w, v) for v in {_alnum(i) for i in ctx.identifiers} if len(v) >= 5)


_DIGIT_LOOKALIKES = frozenset("OoDQIlizSsGbBgq")
_TIME_OR_DATE = re.compile(r"\d{1,2}[:/.-]\d{1,2}([:/.-]\d{2,4})?")


def redaction_boxes(words: list[Word], image: ImageConfig, ctx: Context) -> list[Box]:
    """The boxes to fill for this instance's words under ``image``'s mode."""
    if image.mode == "REDACT_ALL_TEXT":  # words on a line that has a surely read word
        chosen = [
            w
            for line in lines(words)
            if any(w.conf >= MIN_CONF_ALL and _alnum(w.text) for w in line)
            for w in line
            if _alnum(w.text)
        ]
    elif image.mode in ("REDACT_SENSITIVE_TEXT", "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"):
        chosen = sensitive_words(words, image, ctx)
    else:
        chosen = []
    return [w.box for w in chosen]


# --- reading pixel data, in worker processes ---------------------------------------------


def read_dataset(source: Source) -> pydicom.Dataset:
    """The source's dataset, its bytes checked against what ingest recorded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(read_checked(source)), force=True)


def pixel_key(path: Source) -> str | None:
    """A digest of the file's stored pixel data; None when it has none."""
    ds = read_dataset(path)
    return pixel_hash(ds) if has_pixels(ds) else None


def read_file(path: Source) -> Reading:
    """OCR of every frame of one file (identical frames read once)."""
    try:
        ds = read_dataset(path)
        words: list[Word] = []
        frames = 0
        for _, found, _ in read_frames(ds):
            frames += 1
            words += found
        return Reading(words, frames)
    except Exception as exc:  # one unreadable image must not stop the run
        return Reading(error=f"{type(exc).__name__}: {exc}")


def _keys(paths: list[Source]) -> list[str | None]:
    out: list[str | None] = []
    for p in paths:
        try:
            out.append(pixel_key(p))
        except Exception:
            out.append(None)
    return out


def read_all(
    paths: list[Source], workers: int | None = None, progress: Callable[[int, int], None] | None = None
) -> tuple[list[str | None], dict[str, Reading]]:
    """Pixel keys of ``paths`` and one :class:`Reading` per distinct key."""
    check_tesseract()
    workers = workers or os.cpu_count() or 1
    chunks = [paths[i : i + 64] for i in range(0, len(paths), 64)]
    pool = fork_pool(workers, len(paths))
    try:
        if pool is None:
            keys = [k for c in chunks for k in _keys(c)]
        else:
            keys = [k for part in pool.map(_keys, chunks) for k in part]
        first: dict[str, Source] = {}
        for p, k in zip(paths, keys, strict=True):
            if k is not None:
                first.setdefault(k, p)
        readings: dict[str, Reading] = {}
        todo = list(first.items())
        if pool is None:
            for n, (k, p) in enumerate(todo, 1):
                readings[k] = read_file(p)
                if progress:
                    progress(n, len(todo))
        else:
            futures = {pool.submit(read_file, p): k for k, p in todo}
            for n, fut in enumerate(as_completed(futures), 1):
                readings[futures[fut]] = fut.result()
                if progress:
                    progress(n, len(todo))
    finally:
        if pool is not None:
            pool.shutdown()
    return keys, readings
