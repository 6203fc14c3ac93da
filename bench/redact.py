"""Burned-in text benchmark: OCR and redaction of generated frames, speed and recall.

    python bench/redact.py [--n 200] [--workers N]

Writes ``--n`` single-frame 512×512 MONOCHROME2 images (``dicomlake.sample_burned``); half carry
identifying text (a name, a birth date, an ID) and all carry words that identify no one
(``Female``/``Male``, ``AXIAL``, ``LIVER``). They are ingested into a lake (not timed). Then:

(a) baseline, in this run: plain Tesseract (``pytesseract.image_to_data``, default options) on
    each frame as stored, one process per core: frames/s;
(b) for each mode, ``dicomlake deidentify`` of the lake end to end (OCR on all cores, the
    decisions, redaction, writing the files): frames/s, seconds per frame per core, and the
    ratio of (b)'s time per frame to (a)'s.

Then the outputs are read again by OCR (not timed) and scored: **recall** = identifying
strings made illegible / strings planted; for SENSITIVE modes, **kept-text rate** = words that
identify no one still legible / those legible in the source. Targets: recall ≥ 99 %,
kept-text ≥ 90 %, ≤ 0.3 s per 512² frame per core.
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
from dicomlake.ocr import lines, read_frame
from dicomlake.pixels import display_frames
from dicomlake.sample_burned import make_burned_in

MODES = ("REDACT_ALL_TEXT", "REDACT_SENSITIVE_TEXT", "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS")


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
        out += [
            " ".join(w.text for w in line).upper() for line in lines(read_frame(f, i, ds.PhotometricInterpretation))
        ]
    return out


def _legible(texts: list[str], s: str) -> bool:
    return any(s.upper() in t for t in texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dicomlake-bench-redact-"))
    planted = make_burned_in(root / "files", args.n, seed=11, formats=("mono8",), phi_every=2)
    dicomlake.ingest(root / "lake", root / "files", "s")
    paths = [str(p.path) for p in planted]
    print(
        f"{args.n} frames of 512x512, {sum(1 for p in planted if p.identifying)} with identifying text; "
        f"{args.workers} workers"
    )

    t = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(_plain_tesseract, paths, chunksize=4))
    base = time.perf_counter() - t
    print(f"(a) plain Tesseract: {args.n / base:.2f} frames/s, {base * args.workers / args.n:.3f} s per frame per core")

    with ProcessPoolExecutor(args.workers) as pool:
        source_texts = dict(zip(paths, pool.map(_texts, paths), strict=True))
    for mode in MODES:
        request = load_config({"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": mode}}}})
        dest = root / mode.lower()
        t = time.perf_counter()
        deidentify(root / "lake", request, dest_lake=dest, workers=args.workers, key_file=None)
        elapsed = time.perf_counter() - t
        lake = dicomlake.open(dest)
        out = {str(n): p for n, p in lake.sql('SELECT "InstanceNumber", dl_source FROM "s"').fetchall()}
        with ProcessPoolExecutor(args.workers) as pool:
            out_texts = dict(zip(out, pool.map(_texts, [str(out[k]) for k in out]), strict=True))
        planted_n = gone = kept_src = kept_out = 0
        for i, p in enumerate(planted):
            texts = out_texts[str(i + 1)]
            for s in p.identifying:
                planted_n += 1
                gone += not _legible(texts, s)
            for s in p.other:
                if _legible(source_texts[str(p.path)], s):
                    kept_src += 1
                    kept_out += _legible(texts, s)
        per_frame = elapsed * args.workers / args.n
        line = (
            f"(b) {mode}: {args.n / elapsed:.2f} frames/s, {per_frame:.3f} s per frame per core "
            f"({per_frame / (base * args.workers / args.n):.2f}x plain Tesseract); "
            f"recall {100 * gone / max(1, planted_n):.1f}% ({gone}/{planted_n})"
        )
        if mode != "REDACT_ALL_TEXT":
            line += f"; kept-text {100 * kept_out / max(1, kept_src):.1f}% ({kept_out}/{kept_src})"
        print(line, flush=True)
    print(json.dumps({"root": str(root)}))


if __name__ == "__main__":
    main()
