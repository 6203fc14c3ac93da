"""Synthetic instances with text burned into their pixels, like the ultrasound sample of Google's
documentation of DICOM de-identification: the patient's name, birth date and ID, plus words that identify no one
(``Female``, ``AXIAL``), drawn with Pillow at known places.

:data:`FORMATS` covers the pixel encodings people meet: that sample's YBR_FULL_422 JPEG
baseline, MONOCHROME2 8 and 16 bit, MONOCHROME1, RGB and a multi-frame image. Each file's
planted strings are returned, so tests and ``bench/redact.py`` can check what OCR still
reads after redaction.

:data:`LAYOUTS` beyond ``simple`` draw screens laid out like real ones (800×600, DejaVu
fonts of 10-16 px, white or coloured text): ``ultrasound``, a speckled sector under a top
banner of name, ID, birth date, sex, institution, date and time, with probe, frequency,
depth, gain, TIS/MI and body-site labels around it; ``capture``, a workstation screenshot
(Secondary Capture) with the patient block top left, institution, department, date and
time top right, and window, series and slice labels below. Names have several words
(``DE LA CRUZ^MARIA JOSE``); each word, the ID, the dates, each word of the institution and
the time are returned as identifying, each label as text that identifies no one.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

from .screens import anatomy, draw_screen

FORMATS = ("ybr422_jpeg", "mono8", "mono16", "mono1", "rgb", "multiframe")
LAYOUTS = ("simple", "ultrasound", "capture")
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MULTIFRAME_SC = "1.2.840.10008.5.1.4.1.1.7.2"  # Multi-frame Grayscale Byte Secondary Capture

PEOPLE = (
    ("JOHNSON", "ANN", "F"),
    ("MARTINEZ", "CARLOS", "M"),
    ("OKAFOR", "GRACE", "F"),
    ("LINDQVIST", "ERIK", "M"),
    ("NAKAMURA", "YUKI", "F"),
    ("DUBOIS", "PIERRE", "M"),
)
#: Words burned in that identify no one: they stay in SENSITIVE modes.
KEPT_WORDS = ("AXIAL", "LIVER")


@dataclass(frozen=True)
class Planted:
    """One file written, and the strings burned into it."""

    path: Path
    sop_instance_uid: str
    identifying: tuple[str, ...]  # as drawn
    other: tuple[str, ...]  # words that identify no one
    layout: str = "simple"


def _text_mask(rows: int, cols: int, lines: list[tuple[int, int, str]], size: int) -> np.ndarray:
    mask = Image.new("L", (cols, rows), 0)
    draw = ImageDraw.Draw(mask)
    for x, y, text in lines:
        draw.text((x, y), text, fill=255, font=ImageFont.load_default(size=size))
    return np.asarray(mask, np.float32) / 255.0


def _layout(name: str, birth: str, pid: str, sex: str, rows: int) -> list[tuple[int, int, str]]:
    """Where the strings go: identifying ones top left and bottom, others top right."""
    return [
        (12, 12, name),
        (12, 36, f"DOB {birth}"),
        (12, 60, f"ID {pid}"),
        (330, 12, sex),
        (330, 36, KEPT_WORDS[0]),
        (12, rows - 34, KEPT_WORDS[1]),
    ]


def _dataset(
    fmt: str, seed: int, i: int, when: dt.date, phi: bool = True
) -> tuple[Dataset, tuple[str, ...], tuple[str, ...]]:
    rng = random.Random(seed * 1000 + i)
    family, given, sex = PEOPLE[i % len(PEOPLE)]
    birth = dt.date(1940 + rng.randrange(60), rng.randrange(1, 13), rng.randrange(1, 29))
    pid = f"{rng.randrange(10**7, 10**8)}"
    shown_name = f"{family}, {given}"
    shown_birth = birth.strftime("%m/%d/%Y")
    rows, cols = 512, 512
    layout = _layout(shown_name, shown_birth, pid, "Female" if sex == "F" else "Male", rows)
    text = _text_mask(rows, cols, layout if phi else layout[3:], 16)
    frames = 3 if fmt == "multiframe" else 1
    canvases = [np.maximum(anatomy(rows, cols, np.random.default_rng(seed + i + f)), text) for f in range(frames)]
    values = {
        "PatientName": f"{family}^{given}",
        "PatientID": pid,
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "PatientSex": sex,
        "AccessionNumber": f"A{rng.randrange(10**6, 10**7)}",
    }
    identifying = (family, given, shown_birth, pid) if phi else ()
    return _instance(fmt, seed, i, when, canvases, values), identifying, KEPT_WORDS


def _instance(
    fmt: str, seed: int, i: int, when: dt.date, canvases: list[np.ndarray], values: dict, layout: str = "simple"
) -> Dataset:
    """A valid instance of ``canvases`` (one per frame); ``values`` set or override attributes."""
    ds = Dataset()
    ds.SOPClassUID = {"ybr422_jpeg": US_IMAGE, "multiframe": MULTIFRAME_SC}.get(fmt, SECONDARY_CAPTURE)
    if values.get("Modality") == "US":
        ds.SOPClassUID = US_IMAGE
    kind = "burned" if layout == "simple" else f"burned-{layout}"
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[f"{kind}-{seed}-{i}-sop"])
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[f"{kind}-{seed}-{i % len(PEOPLE)}-study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[f"{kind}-{seed}-{i % len(PEOPLE)}-{fmt}-series"])
    ds.StudyDate = ds.ContentDate = when.strftime("%Y%m%d")
    ds.StudyTime = "101500"
    ds.InstitutionName = "ST. MARY HOSPITAL"
    ds.ReferringPhysicianName = "HOUSE^GREGORY"
    ds.StudyDescription = "ABDOMEN"
    ds.Modality = "US" if fmt == "ybr422_jpeg" else "OT"
    ds.SeriesNumber, ds.InstanceNumber = 1, i + 1
    ds.BurnedInAnnotation = "YES"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Manufacturer = "dicomlake sample"
    ds.StudyID = str(i % len(PEOPLE) + 1)
    ds.Laterality = ""
    ds.PatientOrientation = ""
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.Rows, ds.Columns = canvases[0].shape[:2]
    ds.PixelRepresentation = 0
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    _pixels(ds, fmt, canvases)
    if len(canvases) > 1:
        ds.NumberOfFrames = len(canvases)
        ds.FrameIncrementPointer = 0x00181063  # FrameTime
        ds.FrameTime = 100.0
        ds.PresentationLUTShape = "IDENTITY"
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    if ds.SOPClassUID != US_IMAGE:
        ds.ConversionType = "WSD"  # Secondary Capture: made on a workstation
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def _pixels(ds: Dataset, fmt: str, canvases: list[np.ndarray]) -> None:
    """Pixel data from grey canvases (values 0-1) or, for colour formats, 8-bit RGB ones."""
    if fmt in ("ybr422_jpeg", "rgb"):
        tint = np.array([1.0, 0.95, 0.85], np.float32)
        rgb = [
            c if c.ndim == 3 else (np.clip(c[..., None] * tint, 0, 1) * 255 + 0.5).astype(np.uint8) for c in canvases
        ]
        ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 3, 8, 8, 7
        ds.PlanarConfiguration = 0
        if fmt == "rgb":
            ds.PhotometricInterpretation = "RGB"
            ds.PixelData = b"".join(a.tobytes() for a in rgb)
            return
        out = []
        for a in rgb:  # JPEG baseline, 4:2:2 chroma subsampling, like the documentation's ultrasound
            buf = io.BytesIO()
            Image.fromarray(a).save(buf, "JPEG", quality=92, subsampling=1)
            out.append(buf.getvalue())
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.PixelData = encapsulate(out)
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        return
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if fmt == "mono1" else "MONOCHROME2"
    if fmt == "mono16":
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelData = b"".join((c * 4095 + 0.5).astype("<u2").tobytes() for c in canvases)
        return
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    shown = [1 - c if fmt == "mono1" else c for c in canvases]  # MONOCHROME1: low values are white
    ds.PixelData = b"".join((s * 255 + 0.5).astype(np.uint8).tobytes() for s in shown)


def make_burned_in(
    dest: str | Path,
    n: int = 12,
    *,
    seed: int = 0,
    formats: tuple[str, ...] = ("ybr422_jpeg",),
    phi_every: int = 1,
    layout: str = "simple",
) -> list[Planted]:
    """Write ``n`` instances with burned-in text (cycling through ``formats``) under ``dest``;
    every ``phi_every``-th one has identifying text (the others only words that identify no one).
    ``layout``: one of :data:`LAYOUTS` (screens are drawn single-frame, in the formats
    ``ybr422_jpeg``, ``mono8`` and ``rgb``)."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    out = []
    when = dt.date(2024, 3, 1)
    for i in range(n):
        fmt = formats[i % len(formats)]
        phi = i % phi_every == 0
        if layout == "simple":
            ds, identifying, other = _dataset(fmt, seed, i, when, phi)
        else:
            canvas, values, identifying, other = draw_screen(layout, fmt, seed * 1000 + i, when, phi)
            ds = _instance(fmt, seed, i, when, [canvas], values, layout)
        folder = fmt if layout == "simple" else f"{layout}-{fmt}"
        path = Path(dest) / folder / f"{ds.SOPInstanceUID}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        out.append(Planted(path, ds.SOPInstanceUID, identifying, other, layout))
    return out
