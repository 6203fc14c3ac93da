"""Screens laid out like real ultrasound and secondary-capture screens, drawn with Pillow.

:func:`draw_screen` draws one 800×600 frame and returns it with the attribute values of its
instance and the strings burned in: identifying (each word of a multi-word family and given
name, the ID, birth date, accession number, each word of the institution and department, the
date and the time printed next to it) and text that identifies no one (probe, frequency,
depth, gain, TIS/MI, body site, view, vendor label; window, series, slice labels).
Fonts are Debian's DejaVu faces at 10-16 px (Pillow's own font where DejaVu is missing);
banner text is white or, on colour screens, yellow or cyan.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROWS, COLS = 600, 800
FACES = ("DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf", "DejaVuSans-Bold.ttf")
PEOPLE = (
    ("DE LA CRUZ", "MARIA JOSE", "F"),
    ("VAN DER BERG", "JAN PIETER", "M"),
    ("GARCIA LOPEZ", "ANA SOFIA", "F"),
    ("DOS SANTOS", "JOAO PEDRO", "M"),
    ("AL HASSAN", "OMAR", "M"),
    ("NGUYEN", "THI MAI", "F"),
    ("MC KENZIE", "SARAH ANNE", "F"),
)
#: (InstitutionName, InstitutionalDepartmentName, StationName)
PLACES = (
    ("ST. MARY'S REGIONAL MEDICAL CENTER", "RADIOLOGY", "USROOM3"),
    ("RIVERSIDE COMMUNITY HOSPITAL", "WOMENS IMAGING", "RCHUS2"),
    ("LAKEVIEW HEART INSTITUTE", "CARDIOLOGY", "ECHO1"),
    ("NORTHGATE FAMILY CLINIC", "OUTPATIENT SERVICES", "NGUS01"),
    ("MERCY GENERAL HOSPITAL", "EMERGENCY", "EDPOCUS"),
)
PROBES = (("C5-1", "5.0MHz"), ("L12-5", "9.0MHz"), ("C1-6", "3.5MHz"), ("9L-D", "8.0MHz"), ("S5-1", "2.5MHz"))
SITES = ("LIVER", "RT KIDNEY", "LT KIDNEY", "GALLBLADDER", "THYROID", "SPLEEN", "PANCREAS", "BLADDER")
VIEWS = ("SAG", "TRANS", "LONG", "OBLIQUE")
VENDORS = ("LOGIQ E9", "EPIQ 7G", "ACUSON S2000", "Aplio i800")
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%d-%b-%Y", "%d.%m.%Y", "%Y/%m/%d")
TIME_FORMATS = ("%H:%M:%S", "%I:%M:%S %p", "%H:%M")
WHITE, YELLOW, CYAN = (255, 255, 255), (255, 230, 40), (90, 230, 230)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Text = tuple[int, int, str, tuple[int, int, int]]  # x, y, string, colour


def font(size: int, face: str = FACES[0]) -> Font:
    try:
        return ImageFont.truetype(face, size)
    except OSError:  # DejaVu not installed: Pillow's own scalable font
        return ImageFont.load_default(size=size)


def anatomy(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A grey 'anatomy' ellipse with noise on black, values 0-1."""
    yy, xx = np.mgrid[:rows, :cols]
    body = ((yy - rows / 2) / (rows * 0.33)) ** 2 + ((xx - cols / 2) / (cols * 0.3)) ** 2 < 1
    img = np.where(body, 0.35, 0.02) + rng.normal(0, 0.04, (rows, cols))
    return np.clip(img, 0, 1)


def _sector(top: int, rng: np.random.Generator) -> np.ndarray:
    """An ultrasound sector (apex at the top centre) of speckle fading with depth, values 0-1."""
    yy, xx = np.mgrid[:ROWS, :COLS].astype(np.float32)
    dy, dx = yy - top, xx - COLS / 2
    r, angle = np.hypot(dx, dy), np.degrees(np.arctan2(dx, np.maximum(dy, 1e-3)))
    inside = (dy > 0) & (np.abs(angle) < 38) & (r < ROWS - top - 40)
    speckle = rng.rayleigh(0.16, (ROWS, COLS)) * (1 - 0.5 * r / ROWS)
    return np.clip(np.where(inside, speckle, 0.0), 0, 0.6)


def _flow(fields: list[str], f: Font, x: int, y: int, step: int) -> tuple[list[str], int]:
    """``fields`` laid left to right from (x, y), two spaces apart, wrapped at the right edge:
    the lines drawn and the y below them."""
    out, line = [], ""
    for field in fields:
        wider = f"{line}   {field}" if line else field
        if line and x + f.getlength(wider) > COLS - 140:
            out.append(line)
            line = field
        else:
            line = wider
    return [*out, line], y + step * (len(out) + 1)


def _people(rng: random.Random) -> tuple[str, str, str, dt.date, str]:
    family, given, sex = rng.choice(PEOPLE)
    birth = dt.date(1935 + rng.randrange(70), rng.randrange(1, 13), rng.randrange(1, 29))
    return family, given, sex, birth, f"{rng.randrange(10**7, 10**8)}"


def _shown_name(family: str, given: str, rng: random.Random) -> str:
    return rng.choice((f"{family}, {given}", f"{family} {given}", f"{given} {family}", f"{family}^{given}"))


def _date_time(when: dt.datetime, rng: random.Random, stacked: bool) -> tuple[str, str, list[str]]:
    date, time = when.strftime(rng.choice(DATE_FORMATS)), when.strftime(rng.choice(TIME_FORMATS))
    return date, time.split()[0], [date, time] if stacked else [f"{date}  {time}"]


@dataclass
class Screen:
    """What one screen shows: text drawn, attribute values, strings planted."""

    text: list[Text]
    values: dict[str, str]
    identifying: list[str]
    other: list[str]


def _ultrasound(rng: random.Random, when: dt.datetime, f: Font, size: int, phi: bool) -> Screen:
    """A two-line top banner (name, ID, DOB, sex; institution; date and time at the right),
    scan parameters down the right, vendor label, body site and view at the left."""
    family, given, sex, birth, pid = _people(rng)
    place = rng.choice(PLACES)
    step = size + size // 2
    colour = rng.choice((WHITE, YELLOW))
    dob = birth.strftime(rng.choice(DATE_FORMATS))
    date, time, stamp = _date_time(when, rng, stacked=rng.random() < 0.4)
    text: list[Text] = []
    y = 6
    if phi:
        first, y = _flow([_shown_name(family, given, rng), f"ID: {pid}", f"DOB: {dob}", sex], f, 8, y, step)
        second, _ = _flow([place[0]], f, 8, y, step)
        text += [(8, 6 + n * step, s, colour) for n, s in enumerate(first + second)]
        right = COLS - 8 - max(int(f.getlength(s)) for s in stamp)
        text += [(right, y + n * step, s, colour) for n, s in enumerate(stamp)]
        y += step * max(len(second), len(stamp))
    probe, freq = rng.choice(PROBES)
    labels = [probe, freq, f"D {rng.randrange(4, 21)}cm", f"Gn {rng.randrange(30, 80)}", f"DR {rng.randrange(50, 80)}"]
    labels += [
        f"FR {rng.randrange(12, 60)}Hz",
        f"TIS {rng.randrange(1, 15) / 10:.1f}",
        f"MI {rng.randrange(4, 16) / 10:.1f}",
    ]
    text += [(COLS - 118, y + 40 + n * step, s, CYAN if colour == YELLOW else WHITE) for n, s in enumerate(labels)]
    site, view, vendor = rng.choice(SITES), rng.choice(VIEWS), rng.choice(VENDORS)
    text += [(12, y + 40, vendor, WHITE), (12, ROWS - 24 - 2 * step, site, WHITE), (12, ROWS - 24 - step, view, WHITE)]
    values = _values(family, given, sex, birth, pid, place, when) | {"Modality": "US", "StudyDescription": "US ABDOMEN"}
    values["AccessionNumber"] = f"A{rng.randrange(10**6, 10**7)}"  # not shown
    identifying = [*family.split(), *given.split(), pid, dob, *place[0].split(), date, time] if phi else []
    return Screen(text, values, identifying, [*labels, site, view, vendor])


def _capture(rng: random.Random, when: dt.datetime, f: Font, size: int, phi: bool) -> Screen:
    """A workstation screenshot: patient block top left, institution, department, date and
    time top right, window/series/zoom bottom left, plane, thickness and kV bottom right."""
    family, given, sex, birth, pid = _people(rng)
    place = rng.choice(PLACES)
    step = size + size // 2
    dob, acc = birth.strftime(rng.choice(DATE_FORMATS)), f"A{rng.randrange(10**6, 10**7)}"
    date, time, stamp = _date_time(when, rng, stacked=rng.random() < 0.5)
    colour = rng.choice((WHITE, YELLOW))
    text: list[Text] = []
    if phi:
        left = [_shown_name(family, given, rng), f"MRN: {pid}", f"DOB: {dob}  {sex}", f"Acc: {acc}"]
        text += [(10, 8 + n * step, s, colour) for n, s in enumerate(left)]
        for n, s in enumerate([place[0], place[1], *stamp]):
            text.append((COLS - 10 - int(f.getlength(s)), 8 + n * step, s, colour))
    low = [
        f"W {rng.randrange(300, 2000)} L {rng.randrange(30, 400)}",
        f"Se {rng.randrange(2, 9)} Im {rng.randrange(1, 200)}",
    ]
    low += [f"Zoom {rng.randrange(80, 250) / 100:.2f}"]
    high = [
        rng.choice(("AXIAL", "CORONAL", "SAGITTAL")),
        f"{rng.choice((1.0, 2.5, 5.0))}mm",
        f"{rng.choice((100, 120))}kV",
    ]
    bottom = ROWS - 12 - 3 * step
    text += [(10, bottom + n * step, s, WHITE) for n, s in enumerate(low)]
    text += [(COLS - 10 - int(f.getlength(s)), bottom + n * step, s, WHITE) for n, s in enumerate(high)]
    values = _values(family, given, sex, birth, pid, place, when) | {
        "AccessionNumber": acc,
        "StudyDescription": "CT ABDOMEN",
    }
    words = [*family.split(), *given.split(), pid, dob, acc, *place[0].split(), *place[1].split(), date, time]
    return Screen(text, values, words if phi else [], [*low, *high])


def draw_screen(
    layout: str, fmt: str, seed: int, day: dt.date, phi: bool = True
) -> tuple[np.ndarray, dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """One screen of ``layout`` (``ultrasound`` or ``capture``): the frame (grey values 0-1,
    or 8-bit RGB for the colour formats ``rgb`` and ``ybr422_jpeg``), the instance's attribute
    values, and the identifying and other strings drawn."""
    rng = random.Random(seed)
    when = dt.datetime.combine(day, dt.time(rng.randrange(7, 19), rng.randrange(60), rng.randrange(60)))
    size = rng.randrange(10, 17)
    face = font(size, rng.choice(FACES))
    screen = (_ultrasound if layout == "ultrasound" else _capture)(rng, when, face, size, phi)
    noise = np.random.default_rng(seed)
    grey = _sector(6 + 3 * (size + size // 2), noise) if layout == "ultrasound" else anatomy(ROWS, COLS, noise)
    img = Image.fromarray((grey * 255 + 0.5).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(img)
    for x, y, s, colour in screen.text:
        draw.text((x, y), s, fill=colour, font=face)
    rgb = np.asarray(img)
    frame = rgb if fmt in ("rgb", "ybr422_jpeg") else rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114]) / 255
    return frame, screen.values, tuple(screen.identifying), tuple(screen.other)


def _values(
    family: str, given: str, sex: str, birth: dt.date, pid: str, place: tuple[str, str, str], when: dt.datetime
) -> dict[str, str]:
    return {
        "PatientName": f"{family}^{given}",
        "PatientID": pid,
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "PatientSex": sex,
        "InstitutionName": place[0],
        "InstitutionalDepartmentName": place[1],
        "StationName": place[2],
        "StudyDate": when.strftime("%Y%m%d"),
        "ContentDate": when.strftime("%Y%m%d"),
        "StudyTime": when.strftime("%H%M%S"),
        "ContentTime": when.strftime("%H%M%S"),
    }
