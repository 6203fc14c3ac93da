"""Printing a de-identification plan (``--explain``): the element-level plan, then the SQL."""

from __future__ import annotations

import dataclasses
import sys

import pyarrow as pa

from ..errors import Words, python_words
from ..query.output import write_result
from ..store.catalog import new_connection
from .run import DeidSummary


def plan_table(summary: DeidSummary) -> pa.Table:
    rows = [{"store": store, **dataclasses.asdict(step)} for store, steps in summary.plan.items() for step in steps]
    return pa.Table.from_pylist(
        rows, schema=pa.schema([(n, pa.string()) for n in ("store", "path", "keyword", "tag", "vr", "action", "why")])
    )


def print_explain(summary: DeidSummary, fmt: str, words: Words = python_words) -> None:
    rel = new_connection().from_arrow(plan_table(summary))
    write_result(rel, fmt, whole=True, words=words)  # a report: nothing of the plan is cut
    if fmt == "table":
        for store, sql in summary.sql.items():
            sys.stdout.write(f"\n-- SQL of the transform of store '{store}'\n{sql};\n")
    for store, m in summary.markers.items():
        out = sys.stdout if fmt == "table" else sys.stderr
        if not m.written:
            out.write(f"\n-- markers of store '{store}': none written (the plan changes nothing)\n")
        else:
            out.write(f"\n-- markers of store '{store}': PatientIdentityRemoved {'YES' if m.removed else 'NO'}, ")
            out.write(f"DeidentificationMethodCodeSequence {' '.join(m.codes) or '(none)'}\n")
        out.writelines(f"--   {line}\n" for line in m.why)
        out.writelines(f"--   kept: {path} ({why})\n" for path, why in m.kept)
    for store, (mode, uids) in summary.ocr.items():
        out = sys.stdout if fmt == "table" else sys.stderr
        out.write(f"\n-- store '{store}': {len(uids)} instances will be read by OCR for burned-in text ({mode})\n")
        out.writelines(f"{uid}\n" for uid in uids)
