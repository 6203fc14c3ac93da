"""Burned-in text benchmark: OCR and redaction of generated frames, speed, recall and kept text.

    python bench/redact.py [--n 200] [--screens 48] [--workers N]

Three sets of images (``dicomlake.demo.burned``), each ingested into a lake of its own (not
timed):

``simple``  ``--n`` single-frame 512×512 MONOCHROME2 images; half carry identifying text (a
    name, a birth date, an ID) and all carry words that identify no one (``Female``/``Male``,
    ``AXIAL``, ``LIVER``).
``ultrasound``  ``--screens`` 800×600 screens laid out like vendor ultrasound screens
    (``dicomlake.demo.screens``), greyscale, RGB and YBR_FULL_422 JPEG in turn, DejaVu fonts
    of 10-16 px: a top banner of a multi-word name, ID, DOB, sex, institution, date and time;
    probe, frequency, depth, gain, DR, FR, TIS, MI, vendor, body site and view labels.
``capture``  ``--screens`` workstation screenshots (Secondary Capture): name, MRN, DOB, sex,
    accession, institution, department, date and time; window, series, zoom, plane,
    thickness and kV labels.

For each set: (a) baseline, plain Tesseract (``pytesseract.image_to_data``, default options) on
each frame as stored, one process per core: frames/s; (b) for each mode, ``dicomlake
deidentify`` of the lake end to end (OCR on all cores, the decisions, redaction, writing the
files): frames/s, seconds per frame per core, and the ratio of (b)'s time per frame to (a)'s.

Then the outputs are read again by OCR (not timed) and scored. **Recall** = identifying strings
(each word of a name or institution, an ID, a date, a time) no longer legible / strings planted;
a word is legible when an OCR word equals it (letters and digits, case aside) or, from 4
characters, contains it; a word of 1-2 characters (``DE`` of ``DE LA CRUZ``, ``ST.``) only
when read together with its neighbour in the name or institution. The same figure over the strings OCR could read in the source is
printed beside it. For SENSITIVE modes, **kept-text** = labels that identify no one still
legible (their letters and digits within one OCR line) / those legible in the source.
Targets: recall ≥ 99 %, kept-text ≥ 90 %, ≤ 0.3 s per 512² frame per core.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pydicom

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify
from dicomlake.demo.burned import Planted, make_burned_in
from dicomlake.pixels.frames import display_frames
from dicomlake.pixels.ocr import lines, read_frame

MODES = ("REDACT_ALL_TEXT", "REDACT_SENSITIVE_TEXT", "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS")
SCREEN_FORMATS = ("mono8", "rgb", "ybr422_jpeg")


def _plain_tesseract(path: str) -> int:
    import pytesseract
    from PIL import Image

    ds = pydicom.dcmread(path)
    frame = next(display_frames(ds))[1]
    img = (frame.astype(np.float32) * (255.0 / max(1, frame.max()))).astype(np.uint8)
    return len(pytesseract.image_to_data(Image.fromarray(img)))


def _texts(path: str) -> list[str]:
    ds = pydicom.dcmread(path)
    out = []
    for i, f in display_frames(ds):
        out += [" ".join(w.text for w in line) for line in lines(read_frame(f, i, ds.PhotometricInterpretation))]
    return out


def _alnum(text: str) -> str:
    return "".join(c for c in text.upper() if c.isalnum())


def _word_legible(texts: list[str], s: str, beside: tuple[str, ...] = ()) -> bool:
    """An identifying string: an OCR word equal to it, or (from 4 characters) containing it; one
    of 1-2 characters (``DE``, ``ST.``) only together with a word ``beside`` it in the name or
    institution (``DE LA``, ``ST. MARY'S``): alone it names no one, and noise reads as such."""
    a = _alnum(s)
    if len(a) <= 2:
        pairs = [_alnum(x) for b in beside for x in (s + b, b + s)]
        return any(p in _alnum(t) for t in texts for p in pairs)
    return any(_alnum(w) == a or (len(a) >= 4 and a in _alnum(w)) for t in texts for w in t.split())


def _label_legible(texts: list[str], s: str) -> bool:
    """A label that identifies no one: its letters and digits within one OCR line."""
    return any(_alnum(s) in _alnum(t) for t in texts)


def _sets(root: Path, n: int, screens: int) -> dict[str, list[Planted]]:
    out = {"simple": make_burned_in(root / "simple", n, seed=11, formats=("mono8",), phi_every=2)}
    for layout in ("ultrasound", "capture"):
        out[layout] = make_burned_in(root / layout, screens, seed=11, formats=SCREEN_FORMATS, layout=layout)
    return {k: v for k, v in out.items() if v}


def _score(planted: list[Planted], source: dict[str, list[str]], out: dict[str, list[str]]) -> tuple[str, str]:
    planted_n = gone = read = read_gone = kept_src = kept_out = 0
    for i, p in enumerate(planted):
        texts, src = out[str(i + 1)], source[str(p.path)]
        for k, s in enumerate(p.identifying):
            beside = p.identifying[max(0, k - 1) : k] + p.identifying[k + 1 : k + 2]
            legible, was = _word_legible(texts, s, beside), _word_legible(src, s, beside)
            planted_n, gone, read, read_gone = (
                planted_n + 1,
                gone + (not legible),
                read + was,
                read_gone + (was and not legible),
            )
        for s in p.other:
            if _label_legible(src, s):
                kept_src += 1
                kept_out += _label_legible(texts, s)
    return (
        f"recall {100 * gone / max(1, planted_n):.1f}% ({gone}/{planted_n}; of those read in the source "
        f"{100 * read_gone / max(1, read):.1f}%, {read_gone}/{read})",
        f"kept-text {100 * kept_out / max(1, kept_src):.1f}% ({kept_out}/{kept_src})",
    )


def run_set(name: str, planted: list[Planted], root: Path, workers: int) -> None:
    dicomlake.ingest(root / "lake", [str(p.path) for p in planted], "s")
    paths = [str(p.path) for p in planted]
    print(f"[{name}] {len(paths)} frames, {sum(1 for p in planted if p.identifying)} with identifying text")
    t = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_plain_tesseract, paths, chunksize=4))
    base = (time.perf_counter() - t) * workers / len(paths)
    print(f"[{name}] (a) plain Tesseract: {workers / base:.2f} frames/s, {base:.3f} s per frame per core")
    with ProcessPoolExecutor(workers) as pool:
        source = dict(zip(paths, pool.map(_texts, paths), strict=True))
    for mode in MODES:
        request = load_config({"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": mode}}}})
        dest = root / mode.lower()
        t = time.perf_counter()
        deidentify(root / "lake", request, dest_lake=dest, workers=workers, key_file=None)
        per_frame = (time.perf_counter() - t) * workers / len(paths)
        rows = dicomlake.open(dest).sql('SELECT "InstanceNumber", dl_source FROM "s"').fetchall()
        out = {str(n): str(p) for n, p in rows}
        with ProcessPoolExecutor(workers) as pool:
            texts = dict(zip(out, pool.map(_texts, list(out.values())), strict=True))
        recall, kept = _score(planted, source, texts)
        line = (
            f"[{name}] (b) {mode}: {workers / per_frame:.2f} frames/s, {per_frame:.3f} s per frame per core "
            f"({per_frame / base:.2f}x plain Tesseract); {recall}"
        )
        print(line + ("" if mode == "REDACT_ALL_TEXT" else f"; {kept}"), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="simple 512x512 frames")
    ap.add_argument("--screens", type=int, default=48, help="ultrasound screens, and as many screen captures")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dicomlake-bench-redact-"))
    print(f"{args.workers} workers")
    for name, planted in _sets(root / "files", args.n, args.screens).items():
        run_set(name, planted, root / name, args.workers)
    print(json.dumps({"root": str(root)}))


if __name__ == "__main__":
    main()
