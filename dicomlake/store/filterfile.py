"""Filter files: ``/studies/UID[/series/UID[/instances/UID]]``, one per line (the API's grammar).

Reading is strict: ``\\n`` or ``\\r\\n`` endings, blank lines ignored, duplicates harmless, any
other line an error naming the file, the line number and the text. Applying a filter to a store
is a join (see :func:`selection_sql`), never a loop over instances.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
from sqlglot import exp

from ..errors import FilterFileError

GRAMMAR = "/studies/STUDY_UID[/series/SERIES_UID[/instances/INSTANCE_UID]]"
_UID = r"[0-9]+(?:\.[0-9]+)*"
_LINE = re.compile(rf"^/studies/({_UID})(?:/series/({_UID})(?:/instances/({_UID}))?)?$")
UID_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@dataclass(frozen=True)
class FilterSpec:
    """A parsed filter: its lines (level 1 study, 2 series, 3 instance) and fast lookup sets."""

    source: str
    lines: tuple[tuple[int, str, str, str | None, str | None], ...]  # (line no, path, study, series, sop)
    studies: frozenset[str]
    series: frozenset[tuple[str, str]]
    instances: frozenset[tuple[str, str, str]]

    def matches(self, study: str | None, series: str | None, sop: str | None) -> bool:
        """Does the filter select this instance? (Used while ingesting, before rows exist.)"""
        if study is None:
            return False
        return (
            study in self.studies
            or (series is not None and (study, series) in self.series)
            or (series is not None and sop is not None and (study, series, sop) in self.instances)
        )

    def unmatched(self, keys: Iterable[tuple[str | None, str | None, str | None]]) -> list[tuple[int, str]]:
        """Lines that match none of the given (study, series, instance) keys: (line number, path)."""
        studies, series, instances = set(), set(), set()
        for st, se, sop in keys:
            studies.add(st)
            series.add((st, se))
            instances.add((st, se, sop))
        return [
            (n, p)
            for n, p, st, se, sop in self.lines
            if not (st in studies if se is None else (st, se) in series if sop is None else (st, se, sop) in instances)
        ]

    def table(self) -> pa.Table:
        """The filter as a table (line, path, level, key) to join against a store."""
        levels = [1 if s is None else 2 if i is None else 3 for _, _, _, s, i in self.lines]
        keys = ["/".join(x for x in (st, s, i) if x is not None) for _, _, st, s, i in self.lines]
        return pa.table(
            {
                "line": pa.array([n for n, *_ in self.lines], pa.int32()),
                "path": pa.array([p for _, p, *_ in self.lines], pa.string()),
                "level": pa.array(levels, pa.int8()),
                "key": pa.array(keys, pa.string()),
            }
        )


def parse_line(text: str) -> tuple[str, str | None, str | None] | None:
    m = _LINE.match(text)
    if m is None or any(u is not None and len(u) > 64 for u in m.groups()):
        return None
    return m.group(1), m.group(2), m.group(3)


def _hint(text: str) -> str:
    if text.startswith(("/dicomWeb/", "dicomWeb/")):
        return " (remove the /dicomWeb prefix)"
    if text[:1] in "\"'":
        return " (remove the quotes)"
    if text.startswith("studies/"):
        return " (start with /studies/)"
    if " " in text or "\t" in text:
        return " (no spaces inside a line)"
    return ""


def parse_filter(lines: Iterable[str], source: str) -> FilterSpec:
    parsed: list[tuple[int, str, str, str | None, str | None]] = []
    bad: list[tuple[int, str]] = []
    for n, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n").rstrip("\r")
        if not text.strip():
            continue
        text = text.strip()
        uids = parse_line(text)
        if uids is None:
            bad.append((n, text))
            continue
        parsed.append((n, text, *uids))
    if bad:
        n, text = bad[0]
        more = f" (and {len(bad) - 1} more invalid lines)" if len(bad) > 1 else ""
        raise FilterFileError(f"{source}:{n}: invalid line {text[:200]!r}{_hint(text)}; expected {GRAMMAR}{more}")
    return FilterSpec(
        source,
        tuple(parsed),
        frozenset(st for _, _, st, s, _ in parsed if s is None),
        frozenset((st, s) for _, _, st, s, i in parsed if s is not None and i is None),
        frozenset((st, s, i) for _, _, st, s, i in parsed if s is not None and i is not None),
    )


def read_filter(path: str | os.PathLike[str]) -> FilterSpec:
    """Read and validate a filter file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FilterFileError(f"cannot read filter file {p}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FilterFileError(f"{p} is not a text file: a filter file lists {GRAMMAR}, one per line") from None
    return parse_filter(text.split("\n"), str(p))


def format_path(study: str, series: str | None = None, sop: str | None = None) -> str:
    out = f"/studies/{study}"
    if series is not None:
        out += f"/series/{series}"
        if sop is not None:
            out += f"/instances/{sop}"
    return out


def paths_from_table(table: pa.Table) -> list[str]:
    """Resource paths from a query result: one path column, or the UID columns."""
    names = table.column_names
    if set(names) & set(UID_COLUMNS):
        uid_cols = [c for c in UID_COLUMNS if c in names]
        if uid_cols != list(UID_COLUMNS[: len(uid_cols)]):
            raise FilterFileError(_shape_error(names))
        cols = [table.column(c).to_pylist() for c in uid_cols]
        paths = [format_path(*vals) for vals in zip(*cols, strict=True) if vals[0] is not None]
    elif len(names) == 1:  # a DICOMweb path (Google's /dicomWeb/studies/…) names the same resource
        paths = [
            p.removeprefix("/dicomWeb") if isinstance(p, str) else p
            for p in table.column(0).to_pylist()
            if p is not None
        ]
    else:
        raise FilterFileError(_shape_error(names))
    for i, p in enumerate(paths):
        if not isinstance(p, str) or parse_line(p) is None:
            raise FilterFileError(f"query row {i + 1} gives {p!r}, which is not a resource path {GRAMMAR}")
    return list(dict.fromkeys(paths))


def _shape_error(names: Sequence[str]) -> str:
    return (
        f"a filter query must return one column of resource paths ({GRAMMAR}), or the columns "
        f"StudyInstanceUID[, SeriesInstanceUID[, SOPInstanceUID]]; it returned {list(names)}"
    )


def write_filter(paths: Iterable[str], out: IO[str]) -> int:
    n = 0
    for p in paths:
        out.write(p + "\n")
        n += 1
    return n


# ---- set-based selection ---------------------------------------------------------------------
def _key(level: int) -> exp.Expr:
    """The key of a row at a filter level: its study UID, or the UIDs down to the level joined by '/'."""
    cols = [exp.column(c) for c in UID_COLUMNS[:level]]
    return cols[0] if level == 1 else exp.func("concat_ws", exp.Literal.string("/"), *cols, dialect="duckdb")


_KEY = {lv: _key(lv).sql(dialect="duckdb") for lv in (1, 2, 3)}


def selection_tree(store: str, filter_table: str) -> exp.Select:
    """The rows of the table ``store`` that the filter table selects (hash semi-joins), as a sqlglot
    tree: DuckDB and Spark (de-identification's source on Spark) render the same selection."""
    conds = [
        _key(lv).isin(
            query=exp.select(exp.column("key"))
            .from_(exp.table_(filter_table))
            .where(exp.column("level").eq(exp.Literal.number(lv)))
        )
        for lv in (1, 2, 3)
    ]
    return exp.select(exp.Star()).from_(exp.table_(store, quoted=True)).where(exp.or_(*conds))


def selection_sql(store: str, filter_table: str) -> str:
    """SQL selecting the rows of the table ``store`` that the filter table selects (:func:`selection_tree`)."""
    return selection_tree(store, filter_table).sql(dialect="duckdb")


def unmatched_sql(store_sql: str, filter_table: str) -> str:
    """SQL listing the filter lines that match nothing in the store."""
    keys = ", ".join(f"{_KEY[lv]} AS k{lv}" for lv in (1, 2, 3))
    conds = " OR ".join(
        f"(level = {lv} AND key NOT IN (SELECT k{lv} FROM keys WHERE k{lv} IS NOT NULL))" for lv in (1, 2, 3)
    )
    return f"WITH keys AS (SELECT {keys} FROM {store_sql}) SELECT line, path FROM {filter_table} WHERE {conds} ORDER BY line"
