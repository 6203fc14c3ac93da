"""Burned-in text: which instances are read, and which words are redacted in each mode.

OCR is the costly step, so it runs only where the plan cleans PixelData, once per distinct
pixel content (a hash of the stored pixel data; inside a multi-frame image, once per distinct
frame), in a process per core, with a progress bar. Deciding what to redact is cheap and
runs per instance, because it depends on the instance's own identifying values:

``REDACT_ALL_TEXT``  every word with a letter or a digit on a line that has one read with
    confidence at least :data:`MIN_CONF_ALL` (Tesseract often reads a date right with a low
    confidence; noise in the anatomy is read as short words, all with low confidence).
``REDACT_SENSITIVE_TEXT``  words that are part of a finding of the default infoTypes
    (:data:`~dicomlake.deid.detect.DEFAULT_INFO_TYPES`: names, dates, ages, IDs, phone
    numbers, e-mail addresses, SSNs), plus ``additionalInfoTypes`` minus ``excludeInfoTypes``
    and the ``customRegexes``, or that match the instance's own names, IDs and birth date in
    any written form (``JOHNSON^ANN``, ``Ann Johnson``, ``08/12/1988``). Detection runs
    on whole lines, so a name split over two words is one finding. OCR misreads characters,
    so words one or two edits from the instance's IDs and name parts count too, and so does
    any run of digits as long as an ID (``58121621`` read for ``58121821``).
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

from ..ocr import Word, check_tesseract, lines, read_frames
from ..pixels import Box, has_pixels, pixel_hash
from ..sources import read_source
from ..workers import fork_pool
from .config import ImageConfig
from .detect import DEFAULT_INFO_TYPES, PRIORITY, Context, detect

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
    """The words of findings (infoTypes, custom regexes, the instance's own values), every word
    of the instance's own names (:func:`_own_words`), and times beside a date (:func:`_times`)."""
    wanted = info_types(image)
    own = _own_words(ctx)
    out: list[Word] = []
    dates: list[Word] = []
    for line in lines(words):
        text, spans = "", []
        for w in line:
            start = len(text) + (1 if text else 0)
            text = f"{text} {w.text}" if text else w.text
            spans.append((start, start + len(w.text)))
        found = [(f.start, f.end, f.info_type) for f in detect(text, ctx, wanted)]
        found += [(a, b, "") for a, b in _regex_spans(text, image)]
        hit = [any(s < b and a < e for s, e, _ in found) for a, b in spans]
        hit = [h or _misread(w, ctx) or _is_own(w, own) for h, w in zip(hit, line, strict=True)]
        is_date = [any(s < b and a < e and t == "DATE" for s, e, t in found) for a, b in spans]
        _chain(line, hit, own)
        _times(line, hit, is_date)
        out += [w for w, h in zip(line, hit, strict=True) if h]
        dates += [w for w, d in zip(line, is_date, strict=True) if d]
    return out + [w for w in words if w not in out and _time_under_date(w, dates)]


def _own_words(ctx: Context) -> frozenset[str]:
    """Every word of every component of the instance's person names (``DE LA CRUZ^MARIA JOSE``
    gives DE, LA, CRUZ, MARIA, JOSE), letters and digits only, upper case."""
    return frozenset(_alnum(p) for n in ctx.person_names for p in re.split(r"[\^=,\s]+", n) if _alnum(p))


def _is_own(word: Word, own: frozenset[str]) -> bool:
    """One of the instance's own words of 3 or more characters, or two or more of them read as
    one (``CRUZ^MARIA`` read ``CRUZ*MARIA``)."""
    w = _alnum(word.text)
    return (len(w) >= 3 and w in own) or _joined(w, own, 0)


def _joined(w: str, own: frozenset[str], parts: int) -> bool:
    if not w:
        return parts >= 2
    return any(w.startswith(o) and _joined(w[len(o) :], own, parts + 1) for o in own if len(o) >= 2)


def _chain(line: list[Word], hit: list[bool], own: frozenset[str]) -> None:
    """Short own words (``DE``, ``LA``, ``MC``) next to a redacted word of the line are redacted too."""
    changed = True
    while changed:
        changed = False
        for i, w in enumerate(line):
            near = (i > 0 and hit[i - 1]) or (i + 1 < len(line) and hit[i + 1])
            if not hit[i] and near and _alnum(w.text) in own:
                hit[i] = changed = True


_TIME = re.compile(r"(?:[01]?\d|2[0-3])[:.][0-5]\d(?:[:.][0-5]\d)?|(?:[01]\d|2[0-3])[0-5]\d[0-5]\d")
_AM_PM = re.compile(r"[AaPp]\.?[Mm]\.?")


def _times(line: list[Word], hit: list[bool], is_date: list[bool]) -> None:
    """A time (``08:48:26``, ``8.48``, ``084826``, and AM/PM after it) at most two words from a
    date of the line is redacted with it."""
    for i, w in enumerate(line):
        if _TIME.fullmatch(w.text.strip(",;")) and any(is_date[max(0, i - 2) : i + 3]):
            hit[i] = True
            if i + 1 < len(line) and _AM_PM.fullmatch(line[i + 1].text):
                hit[i + 1] = True


def _time_under_date(word: Word, dates: list[Word]) -> bool:
    """A time printed right under or above a date (overlapping columns, at most 1.5 lines apart)."""
    if not _TIME.fullmatch(word.text.strip(",;")):
        return False
    for d in dates:
        overlap = min(d.left + d.width, word.left + word.width) - max(d.left, word.left)
        gap = max(d.top, word.top) - min(d.top + d.height, word.top + word.height)
        if d.frame == word.frame and overlap > 0 and gap <= 1.5 * max(d.height, word.height):
            return True
    return False


def _alnum(text: str) -> str:
    return "".join(c for c in text.upper() if c.isalnum())


def _near(a: str, b: str) -> bool:
    """At most one edit apart (two from 8 characters): OCR misreads a character or two."""
    if abs(len(a) - len(b)) > 2:
        return False
    limit = 2 if min(len(a), len(b)) >= 8 else 1
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
    """A word that is one of the instance's IDs or name parts read with an OCR error, or a run
    of digits as long as an ID (6 characters, 5 digits or more; times and dates aside)."""
    w = _alnum(word.text)
    if len(w) >= 6 and sum(c.isdigit() for c in w) >= 5 and not _TIME_OR_DATE.fullmatch(word.text.strip(".,;")):
        return True
    if len(w) < 5:
        return False
    values = {_alnum(v) for v in ctx.identifiers}
    values |= {_alnum(p) for n in ctx.person_names for p in re.split(r"[\^ ,]+", n) if len(p) >= 5}
    return any(_near(w, v) for v in values if len(v) >= 5)


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


def read_dataset(path: str) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(read_source(path)), force=True)


def pixel_key(path: str) -> str | None:
    """A digest of the file's stored pixel data; None when it has none."""
    ds = read_dataset(path)
    return pixel_hash(ds) if has_pixels(ds) else None


def read_file(path: str) -> Reading:
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


def _keys(paths: list[str]) -> list[str | None]:
    out: list[str | None] = []
    for p in paths:
        try:
            out.append(pixel_key(p))
        except Exception:
            out.append(None)
    return out


def read_all(
    paths: list[str], workers: int | None = None, progress: Callable[[int, int], None] | None = None
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
        first: dict[str, str] = {}
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
