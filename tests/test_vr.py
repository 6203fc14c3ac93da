"""The one VR authority: its tables are pydicom's, the ambiguous VR has one rule, and no other
module of the package declares a VR table or resolves an ambiguous VR itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydicom import valuerep

import dicomlake
from dicomlake.codec import vr

PACKAGE = Path(dicomlake.__file__).parent
VR_NAMES = {str(v.value) for v in valuerep.VR}
#: Tables keyed by VR that are not facts of the standard: (module, name) → why they may stay.
ALLOWED = {
    ("deid/config.py", "OPERATION_VRS"): "the VRs each Cloud Healthcare API operation accepts (its documentation)",
}


def _is_vr_table(node: ast.AST) -> bool:
    """A literal set, list, tuple of VR names, or a dict keyed by VRs whose values are struct
    codes or numbers (sizes, lengths)."""
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        elts = node.elts
    elif isinstance(node, ast.Dict):
        elts = [k for k in node.keys if k is not None]
        values = [v for v in node.values if isinstance(v, ast.Constant)]
        if len(values) < len(node.values) or not all(
            isinstance(v.value, int) or (isinstance(v.value, str) and len(v.value) == 1) for v in values
        ):
            return False
    else:
        return False
    return len(elts) >= 2 and all(isinstance(e, ast.Constant) and e.value in VR_NAMES for e in elts)


def _resolves_ambiguity(node: ast.AST) -> bool:
    """``"US or SS"`` as a literal, ``" or " in vr``, ``vr.split(" or ")``, ``vr.startswith("US")``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return " or " in node.value and node.value in VR_NAMES
    if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and node.left.value == " or ":
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        args = [a.value for a in node.args if isinstance(a, ast.Constant)]
        return (node.func.attr == "split" and args == [" or "]) or (
            node.func.attr == "startswith" and bool(args) and str(args[0]).startswith("US")
        )
    return False


def redeclarations(source: str, module: str) -> list[str]:
    """Where ``source`` declares a VR table at module level or resolves an ambiguous VR."""
    tree = ast.parse(source)
    found = []
    for stmt in tree.body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if any((module, n) in ALLOWED for n in names):
            continue
        if targets and any(_is_vr_table(n) for n in ast.walk(stmt)):
            found.append(f"{module}:{stmt.lineno} {', '.join(names)} re-declares a VR table: use dicomlake.codec.vr")
    found += [
        f"{module}:{n.lineno} resolves an ambiguous VR: use dicomlake.codec.vr.resolve / possible"
        for n in ast.walk(tree)
        if _resolves_ambiguity(n)
    ]
    return found


def test_no_module_but_vr_declares_a_vr_table() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module != "codec/vr.py":
            found += redeclarations(path.read_text(encoding="utf-8"), module)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        '_LONG = frozenset(["OB", "OW", "SQ"])',
        '_NUM: dict[str, str] = {"US": "H", "SS": "h"}',
        '_MAX = {"AE": 16, "SH": 16}',
        'KIND = {**{v: "s" for v in ["AE", "CS"]}}',
        'def f(v):\n    return "US" if v.startswith("US") else v',
        'def f(v):\n    return v.split(" or ")[-1]',
        'def f(v):\n    return " or " in v',
        'def f(v):\n    return v == "OB or OW"',
    ],
)
def test_the_guard_finds_a_redeclaration(source: str) -> None:
    assert redeclarations(source, "x.py")


def test_the_guard_lets_other_tables_be() -> None:
    assert not redeclarations('_PARSE = {"DA": parse_da, "TM": parse_tm}\nNAMES = ("Rows", "Columns")', "x.py")


def test_tables_are_pydicoms() -> None:
    assert {str(v.value) for v in valuerep.STANDARD_VR} == vr.ALL and len(vr.ALL) == 34
    assert {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"} == vr.LENGTH_32
    assert {"OB", "OD", "OF", "OL", "OV", "OW", "UN"} == vr.BINARY
    assert {"LT", "ST", "UT"} == vr.TEXT_BLOCK and {"DS", "IS"} == vr.NUMBER_TEXT
    assert vr.STRUCT_CODE == {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d"} | {
        "SV": "q",
        "UV": "Q",
        "AT": "H",
    }
    assert vr.CODE_SIZE == {"H": 2, "h": 2, "L": 4, "l": 4, "f": 4, "d": 8, "q": 8, "Q": 8}
    assert vr.MAX_CHARS["PN"] == 64 and vr.MAX_CHARS["LO"] == valuerep.MAX_VALUE_LEN["LO"]
    assert {"OB or OW", "US or OW", "US or SS or OW"} == vr.MAYBE_BINARY - vr.BINARY


@pytest.mark.parametrize(
    ("dict_vr", "pixel_representation", "values", "expected"),
    [
        ("US", None, (), "US"),
        ("US or SS", None, (), "US"),
        ("US or SS", 0, (), "US"),
        ("US or SS", 1, (), "SS"),
        ("US or SS", None, (3, -1), "SS"),
        ("US or SS", 0, (3, 7), "US"),
        ("US or OW", 1, (), "US"),
        ("US or SS or OW", 1, (), "US"),
        ("OB or OW", None, (), "OB"),
    ],
)
def test_the_one_rule_for_ambiguous_vrs(
    dict_vr: str, pixel_representation: int | None, values: tuple[int, ...], expected: str
) -> None:
    assert vr.resolve(dict_vr, pixel_representation, values) == expected


def test_possible_vrs() -> None:
    assert vr.possible("US or SS or OW") == {"US", "SS", "OW"} and vr.possible("PN") == {"PN"}
