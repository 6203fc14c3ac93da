"""``redact-preview``: one frame with the words OCR read, boxed in two colours, so a person can
look at what a mode would redact (red) and keep (green) before running it on a store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlglot import exp

from ..errors import Command, Param, SourceChangedError, StoreError
from ..pixels.frames import display_frames
from ..pixels.ocr import check_tesseract, read_frame
from ..sources.files import Source
from ..store.views import LakeView
from .burned import read_dataset, redaction_boxes
from .config import ImageConfig
from .sqlgen import context_expr
from .udfs import context_from_json

MODES = ("REDACT_ALL_TEXT", "REDACT_SENSITIVE_TEXT", "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS", "REDACT_NO_TEXT")
REDACTED, KEPT = (255, 40, 40), (40, 220, 40)


@dataclass
class Preview:
    words: int
    redacted: int
    frames: int
    out: Path


def redact_preview(
    lake: str | os.PathLike[str], store: str, instance: str, mode: str, out: str | os.PathLike[str], frame: int = 0
) -> Preview:
    """Draw ``frame`` of ``instance`` with the words read and what ``mode`` would redact."""
    from PIL import Image, ImageDraw

    from .run import descriptor_columns

    if mode not in MODES:
        raise StoreError(Param("mode", mode), f": use one of {', '.join(MODES)}")
    check_tesseract()
    lk = LakeView(lake)
    schema = lk.table(store).limit(0).to_arrow_table().schema
    query = (
        exp.select(
            *map(exp.column, ("dl_source", "dl_source_size", "dl_source_sha256")),
            exp.column("dl_source_version") if "dl_source_version" in schema.names else exp.null(),
            context_expr(schema, descriptor_columns(schema)),
        )
        .from_(exp.table_(store, quoted=True))
        .where(exp.column("SOPInstanceUID").eq(exp.Placeholder(this="uid")))
        .limit(1)
    )
    rows = lk.sql(query.sql(dialect="duckdb"), {"uid": instance}).fetchall()
    if not rows:
        raise StoreError(
            f"no instance {instance} in store '{store}'; list them with ",
            Command("lake.query('instances_by_patient', PatientID=...)", "query", ("instances_by_patient",)),
        )
    path, size, sha256, version, ctx_json = rows[0]
    try:
        ds = read_dataset(Source(str(path), size, sha256, version))
    except SourceChangedError as exc:
        raise SourceChangedError(f"{path}: {exc}") from None
    photometric = str(ds.get("PhotometricInterpretation") or "MONOCHROME2")
    frames = dict(display_frames(ds))
    if frame not in frames:
        raise StoreError(Param("frame", frame), f": the instance has frames 0 to {len(frames) - 1}")
    words = read_frame(frames[frame], frame, photometric)
    boxes = set(redaction_boxes(words, ImageConfig(mode), context_from_json(ctx_json)))
    base = Image.fromarray(_eight_bit(frames[frame], photometric)).convert("RGB")
    draw = ImageDraw.Draw(base)
    for w in words:
        b = w.box
        draw.rectangle((b.left - 1, b.top - 1, b.right, b.bottom), outline=REDACTED if b in boxes else KEPT, width=2)
    target = Path(out)
    base.save(target)
    return Preview(len(words), sum(1 for w in words if w.box in boxes), len(frames), target)


def _eight_bit(frame: np.ndarray, photometric: str) -> np.ndarray:
    """The frame as shown, stretched to 8 bits."""
    f = frame.astype(np.float32)
    lo, hi = float(f.min()), float(f.max())
    f = (f - lo) * (255.0 / (hi - lo)) if hi > lo else f * 0
    if photometric == "MONOCHROME1":
        f = 255.0 - f
    return np.clip(f + 0.5, 0, 255).astype(np.uint8)
