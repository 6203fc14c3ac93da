"""Pixel data as images: decode every frame for display, and fill boxes in place.

What is read is the stored pixel data, native or encapsulated (JPEG, JPEG-LS, JPEG 2000 and
RLE through pydicom's decoders and the pylibjpeg plugins). :func:`display_frames` gives
each frame as people see it: colour converted to RGB (YBR, palette), so text burned into the
pixels can be read. :func:`fill_boxes` writes boxes into the pixel data:

- native pixel data is changed in place, sample by sample, so every byte outside the boxes
  is the source's byte (the transfer syntax and all pixel attributes stay as they were);
- encapsulated pixel data is decoded, filled and written native in Explicit VR Little
  Endian: a lossless syntax, so the redaction is not blurred by a second lossy coding. The
  attributes that change with it (TransferSyntaxUID, PhotometricInterpretation for colour
  decoded to RGB, PlanarConfiguration, LossyImageCompression for a lossy source) are
  returned, so the store's row can say what the file says.

The fill value is the image's minimum stored value (its maximum for MONOCHROME1, where the
maximum is shown black), in every sample of every frame a box covers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian

from ..errors import DicomlakeError

#: Lossy transfer syntaxes: their images were lossy compressed once (LossyImageCompression 01).
LOSSY = frozenset(
    [
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.203",
    ]
)


class PixelError(DicomlakeError):
    """Pixel data that cannot be decoded or redacted."""


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle of one frame, in pixel coordinates (right and bottom exclusive)."""

    frame: int
    left: int
    top: int
    right: int
    bottom: int

    def grown(self, margin: int, rows: int, cols: int) -> Box:
        return Box(
            self.frame,
            max(0, self.left - margin),
            max(0, self.top - margin),
            min(cols, self.right + margin),
            min(rows, self.bottom + margin),
        )


def has_pixels(ds: Dataset) -> bool:
    return "PixelData" in ds and bool(ds.get("Rows")) and bool(ds.get("Columns"))


def number_of_frames(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def pixel_hash(ds: Dataset) -> str:
    """A digest of the stored pixel data (and the attributes that say how to read it)."""
    h = hashlib.sha256()
    for kw in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "PhotometricInterpretation"):
        h.update(f"{kw}={ds.get(kw)};".encode())
    h.update(bytes(ds.PixelData))
    return h.hexdigest()


_DECODE_HINT = "decompress the file first (e.g. dcmtk's 'dcmdjpeg in.dcm out.dcm'), or check that it is not damaged"


def _have_decoders() -> bool:
    try:
        import pylibjpeg  # noqa: F401
    except ImportError:
        return False
    return True


def _as_frames(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """(frames, rows, cols, samples) from what pydicom returns for one or many frames."""
    spp = int(ds.get("SamplesPerPixel") or 1)
    if spp == 1:
        arr = arr[..., np.newaxis]
    if arr.ndim == 3:
        arr = arr[np.newaxis]
    return arr


def stored_frames(ds: Dataset) -> np.ndarray:
    """Every frame as decoded values, colour converted to RGB: (frames, rows, cols, samples)."""
    from pydicom.pixels import pixel_array

    try:
        arr = pixel_array(ds)
    except Exception as exc:
        ts = ds.file_meta.get("TransferSyntaxUID", "?") if hasattr(ds, "file_meta") else "?"
        first = " ".join(line.strip() for line in str(exc).splitlines())
        raise PixelError(
            f"pixel data could not be decoded ({type(exc).__name__}: {first}; transfer syntax {ts}); "
            f"{_DECODE_HINT if _have_decoders() else './dev.sh setup installs the decoders (pylibjpeg and its plugins)'}"
        ) from None
    return _as_frames(arr, ds)


def display_frames(ds: Dataset) -> Iterator[tuple[int, np.ndarray]]:
    """(index, frame) for each frame as shown: (rows, cols) grey or (rows, cols, 3) RGB values."""
    from pydicom.pixels import apply_color_lut

    frames = stored_frames(ds)
    palette = ds.get("PhotometricInterpretation") == "PALETTE COLOR"
    for i, f in enumerate(frames):
        frame = f[..., 0] if f.shape[-1] == 1 else f
        if palette:
            frame = apply_color_lut(frame, ds)
        yield i, frame


def frame_digest(frame: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frame).tobytes()).hexdigest()


def _native_view(ds: Dataset, buf: bytearray) -> np.ndarray:
    """The native pixel data in ``buf`` as a writable (frames, rows, cols, samples) view."""
    bits = int(ds.BitsAllocated)
    if bits not in (8, 16, 32):
        raise PixelError(f"BitsAllocated {bits}: only 8, 16 and 32 bit pixel data can be redacted in place")
    ts = ds.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian)
    order = ">" if ts == ExplicitVRBigEndian else "<"
    kind = "i" if int(ds.get("PixelRepresentation") or 0) else "u"
    dtype = np.dtype(f"{order}{kind}{bits // 8}")
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp, frames = int(ds.get("SamplesPerPixel") or 1), number_of_frames(ds)
    count = frames * rows * cols * spp
    if len(buf) < count * dtype.itemsize:
        raise PixelError(f"pixel data has {len(buf)} bytes, {count * dtype.itemsize} expected")
    arr = np.frombuffer(buf, dtype, count=count)
    if spp > 1 and int(ds.get("PlanarConfiguration") or 0) == 1:
        return arr.reshape(frames, spp, rows, cols).transpose(0, 2, 3, 1)
    return arr.reshape(frames, rows, cols, spp)


def _fill(arr: np.ndarray, boxes: list[Box], margin: int, inverted: bool) -> None:
    value = arr.max() if inverted else arr.min()
    rows, cols = arr.shape[1], arr.shape[2]
    for b in boxes:
        g = b.grown(margin, rows, cols)
        if 0 <= g.frame < arr.shape[0]:
            arr[g.frame, g.top : g.bottom, g.left : g.right, :] = value


def fill_boxes(ds: Dataset, boxes: list[Box], margin: int = 2) -> dict[str, Any]:
    """Fill ``boxes`` in ``ds``'s pixel data; returns the attributes that changed with it."""
    ts = UID(ds.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian))
    photometric = str(ds.get("PhotometricInterpretation") or "")
    if not ts.is_compressed and not photometric.endswith("_422") and int(ds.get("BitsAllocated") or 0) != 1:
        buf = bytearray(ds.PixelData)
        _fill(_native_view(ds, buf), boxes, margin, photometric == "MONOCHROME1")
        ds.PixelData = bytes(buf)
        return {}
    arr = np.array(stored_frames(ds))  # a writable copy, RGB for colour
    _fill(arr, boxes, margin, photometric == "MONOCHROME1")
    bits = int(ds.BitsAllocated)
    if bits == 1:
        raise PixelError("1-bit pixel data cannot be redacted")
    kind = "i" if int(ds.get("PixelRepresentation") or 0) else "u"
    data = arr.astype(f"<{kind}{bits // 8}").tobytes()
    ds.PixelData = data + (b"\0" if len(data) % 2 else b"")
    elem = ds["PixelData"]
    elem.VR = "OB" if bits == 8 else "OW"
    elem.is_undefined_length = False
    changes: dict[str, Any] = {"TransferSyntaxUID": ExplicitVRLittleEndian}
    if arr.shape[-1] == 3 and photometric != "RGB":
        changes["PhotometricInterpretation"] = "RGB"
    if arr.shape[-1] > 1:
        changes["PlanarConfiguration"] = 0
    if ts in LOSSY:
        changes["LossyImageCompression"] = "01"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    for kw, v in changes.items():
        if kw != "TransferSyntaxUID":
            setattr(ds, kw, v)
    return changes
