"""Words burned into pixels, read by Tesseract (``pytesseract`` over Debian's ``tesseract-ocr``).

Each frame is prepared for the engine first (:func:`prepare`): colour to luminance, the
data's own range stretched to 8 bits (16-bit and signed data included), MONOCHROME1
inverted, and the whole frame inverted when it is mostly dark, so the engine sees dark
text on a light ground; then the contrast is raised by :data:`CONTRAST`, so the darker
part of the image (most anatomy and its noise) becomes background while the anti-aliased
strokes of 10-12 px fonts stay whole (doubling it thinned them past reading). Frames up to 1024 pixels are scaled up
twice (overlay fonts of 8 to 14 pixels are the usual case). Tesseract reads the frame in
sparse-text mode (page segmentation 11: text anywhere, in no order); :func:`lines` groups
the words into lines by their geometry. Tesseract runs single-threaded
(``OMP_THREAD_LIMIT=1``): callers run one process per core.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import DicomlakeError
from .frames import Box

#: Tesseract's options: sparse text (page segmentation mode 11), no second inverted pass.
FRAME_CONFIG = "--psm 11 -c tessedit_do_invert=0"
#: Frames whose shorter side is at most SCALE_BELOW pixels are read scaled up SCALE times:
#: overlay fonts of 8 to 14 pixels are read far better at twice their size.
SCALE, SCALE_BELOW = 2, 1024
#: Contrast gain after inversion: values above 255 / CONTRAST (the darker ~23 % of the
#: displayed range: background, most anatomy and speckle) become white.
CONTRAST = 1.3


class OcrError(DicomlakeError):
    """Tesseract is missing or failed."""


@dataclass(frozen=True, slots=True)
class Word:
    frame: int
    text: str
    conf: float
    left: int
    top: int
    width: int
    height: int

    @property
    def box(self) -> Box:
        return Box(self.frame, self.left, self.top, self.left + self.width, self.top + self.height)


@functools.cache
def check_tesseract() -> str:
    """Tesseract's version; a clear error when the engine is not installed."""
    import pytesseract

    try:
        return str(pytesseract.get_tesseract_version())
    except (pytesseract.TesseractNotFoundError, OSError):
        raise OcrError(
            "Tesseract is not installed, and finding burned-in text needs it: run './dev.sh setup' "
            "(or 'apt-get install tesseract-ocr tesseract-ocr-eng')"
        ) from None


def prepare(frame: np.ndarray, photometric: str = "MONOCHROME2") -> np.ndarray | None:
    """An 8-bit grey image with dark text on a light ground; None for a blank frame."""
    g = frame.astype(np.float32)
    if g.ndim == 3:
        g = g[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    lo, hi = float(g.min()), float(g.max())
    if hi <= lo:
        return None
    g = (g - lo) * (255.0 / (hi - lo))
    if photometric == "MONOCHROME1":
        g = 255.0 - g
    if g.mean() < 128:
        g = 255.0 - g
    # Burned-in text is drawn in the brightest (here: darkest) values; the darkest part of the
    # image becomes background, which also saves Tesseract time.
    return np.clip(g * CONTRAST + 0.5, 0, 255).astype(np.uint8)


def _data(img: np.ndarray, config: str) -> list[tuple[str, float, int, int, int, int]]:
    import pytesseract
    from PIL import Image

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        d = pytesseract.image_to_data(Image.fromarray(img), config=config, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError:
        check_tesseract.cache_clear()
        check_tesseract()
        raise
    except pytesseract.TesseractError as exc:
        raise OcrError(f"Tesseract failed: {exc}") from None
    return [
        (t.strip(), float(c), int(x), int(y), int(w), int(h))
        for t, c, x, y, w, h in zip(d["text"], d["conf"], d["left"], d["top"], d["width"], d["height"], strict=True)
        if t.strip()
    ]


def lines(words: Iterable[Word]) -> list[list[Word]]:
    """Words grouped into lines: the same frame, overlapping vertically, close horizontally."""
    out: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.frame, w.left)):
        for line in out:
            last = line[-1]
            mid = w.top + w.height / 2
            if (
                last.frame == w.frame
                and last.top - 2 <= mid <= last.top + last.height + 2
                and w.left - (last.left + last.width) <= 2.5 * max(last.height, w.height)
            ):
                line.append(w)
                break
        else:
            out.append([w])
    return sorted(out, key=lambda line: (line[0].frame, line[0].top, line[0].left))


def read_frame(frame: np.ndarray, index: int = 0, photometric: str = "MONOCHROME2") -> list[Word]:
    """The words Tesseract reads in one frame (display values, grey or RGB)."""
    img = prepare(frame, photometric)
    if img is None:
        return []
    s = SCALE if min(img.shape) <= SCALE_BELOW else 1
    if s != 1:
        from PIL import Image

        img = np.asarray(Image.fromarray(img).resize((img.shape[1] * s, img.shape[0] * s), Image.Resampling.LANCZOS))
    return [Word(index, t, c, x // s, y // s, -(-w // s), -(-h // s)) for t, c, x, y, w, h in _data(img, FRAME_CONFIG)]


def read_frames(ds: Any) -> Iterator[tuple[int, list[Word], bool]]:
    """(index, words, repeat) for every frame of a dataset's pixel data; a frame identical to an
    earlier one is not read again (``repeat``: its words are the earlier frame's, on this one)."""
    from .frames import display_frames, frame_digest

    photometric = str(ds.get("PhotometricInterpretation") or "MONOCHROME2")
    seen: dict[str, list[Word]] = {}
    for i, frame in display_frames(ds):
        digest = frame_digest(frame)
        if digest in seen:
            yield i, [replace(w, frame=i) for w in seen[digest]], True
        else:
            seen[digest] = read_frame(frame, i, photometric)
            yield i, seen[digest], False
