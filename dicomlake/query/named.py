"""Named queries: ``.sql`` files with a ``--`` header (name, description, params, columns).

Header lines::

    -- name: latest_studies
    -- description: What it returns.
    -- param: PatientID VARCHAR: the patient to look up          (required)
    -- param: limit INTEGER = 20: how many rows                  (optional, with a default)
    -- column: StudyDateTime: earliest StudyDate + StudyTime of the study

Values are bound as DuckDB ``$name`` parameters, never formatted into the SQL. Queries read
the table ``store``, a view of the store chosen with ``--store`` (or the lake's only store).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..errors import Command, MissingParameterError, QueryError
from ..errors import Param as CallParam

_HEADER = re.compile(r"^--\s*(name|description|param|column)\s*:\s*(.*)$")
_PARAM = re.compile(r"^(\w+)(?:\s+([A-Z]+))?(?:\s*=\s*([^:]*?))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str | None
    default: str | None
    description: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    path: Path
    params: tuple[Param, ...] = ()
    columns: tuple[tuple[str, str], ...] = field(default=())

    def bind(self, given: dict[str, Any]) -> dict[str, Any]:
        """Parameter values for DuckDB: defaults filled, types cast, unknown names refused."""
        known = {p.name: p for p in self.params}
        unknown = set(given) - set(known)
        if unknown:
            raise QueryError(
                f"query {self.name!r} has no parameter {', '.join(sorted(unknown))}; "
                f"its parameters: {', '.join(known) or 'none'}"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.name, p.default)
            if value is None:
                raise MissingParameterError(self.name, p.name, p.description)
            out[p.name] = _cast(value, p)
        return out


def _cast(value: Any, p: Param) -> Any:
    if p.type in ("INTEGER", "BIGINT") and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise QueryError(f"parameter {p.name} must be an integer, got {value!r}") from None
    return value


def parse_sql_file(path: Path) -> NamedQuery:
    """Read a query file and its header."""
    text = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = {"name": path.stem, "description": "", "param": [], "column": []}
    for line in text.splitlines():
        m = _HEADER.match(line.strip())
        if not m:
            if line.strip() and not line.strip().startswith("--"):
                break
            continue
        key, value = m.groups()
        if key == "param":
            pm = _PARAM.match(value)
            if not pm:
                raise QueryError(
                    f"{path}: bad param header {value!r}: use '-- param: NAME [TYPE] [= DEFAULT]: description'"
                )
            n, t, d, desc = pm.groups()
            meta["param"].append(Param(n, t, d.strip() if d is not None else None, desc))
        elif key == "column":
            col, _, desc = value.partition(":")
            meta["column"].append((col.strip(), desc.strip()))
        else:
            meta[key] = value.strip()
    return NamedQuery(meta["name"], meta["description"], text, path, tuple(meta["param"]), tuple(meta["column"]))


def sql_dir() -> Path:
    """The shipped ``sql/`` folder: inside the wheel, or beside the package in a checkout."""
    packaged = Path(str(files("dicomlake"))) / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


@cache
def named_queries() -> dict[str, NamedQuery]:
    """All shipped named queries, loaded once."""
    out = {}
    for p in sorted(sql_dir().glob("*.sql")):
        q = parse_sql_file(p)
        out[q.name] = q
    return out


def get_named(name: str) -> NamedQuery:
    queries = named_queries()
    if name not in queries:
        raise QueryError(
            f"no named query {name!r}; available: {', '.join(queries)} (see ",
            Command("Lake.named_queries()", "query", (), (CallParam("list", True),)),
            ")",
        )
    return queries[name]
