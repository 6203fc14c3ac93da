"""The architecture holds: the import contracts in pyproject.toml pass and can fail, no private
name crosses a package, and only store/ touches the catalog's own tables."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dicomlake"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package under ``root`` with this checkout's contracts (a real run)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept() -> None:
    p = _lint(ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"Contracts: (\d+) kept, 0 broken", p.stdout)


# A forbidden import added inside a function (where cycles used to hide), and the contracts it breaks.
BREAKS = [
    pytest.param(
        "deid/verify.py",
        "from ..api import Lake",
        ["Core code never imports the front doors", "Dependencies point one way"],
        id="core-imports-the-facade",
    ),
    pytest.param(
        "engines/spark.py",
        "from ..sources.ingest import convert_chunk",
        ["Dependencies point one way", "No import cycle"],
        id="engine-imports-a-source",
    ),
    pytest.param(
        "demo/sample.py",
        "from ..codec.reader import convert_file",
        ["Demo data generators stand apart"],
        id="demo-uses-a-stage",
    ),
]


@pytest.mark.parametrize(("module", "statement", "broken"), BREAKS)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, statement: str, broken: list[str]) -> None:
    copy = tmp_path / "dicomlake"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
    target = copy / module
    target.write_text(target.read_text() + f"\n\ndef _added_for_the_test() -> None:\n    {statement}  # noqa: F401\n")
    p = _lint(tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    text = " ".join(p.stdout.split())  # the report wraps long contract names
    for name in broken:
        assert re.search(re.escape(name) + r".*? BROKEN", text), text
    assert re.search(r"Contracts: \d+ kept, [1-9]\d* broken", text)
    importer = "dicomlake." + module.removesuffix(".py").replace("/", ".")
    assert importer in text


def _modules() -> list[tuple[str, Path, ast.Module]]:
    out = []
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = f.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, f, ast.parse(f.read_text(encoding="utf-8"))))
    return out


def _package(module: str) -> str:
    """The stage a module belongs to: ``dicomlake.deid.run`` → ``dicomlake.deid``."""
    return ".".join(module.split(".")[:2])


def _imported(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = here[: len(here) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_crossings() -> list[str]:
    """``from X import _name`` and ``X._name`` where X is a module of another package."""
    found = []
    modules = {m for m, _, _ in _modules()}
    for module, path, tree in _modules():
        aliases: dict[str, str] = {}  # local name → dicomlake module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _imported(module, path, node)
                if not source.startswith("dicomlake"):
                    continue
                for a in node.names:
                    full = f"{source}.{a.name}"
                    if full in modules:
                        aliases[a.asname or a.name] = full
                    elif _private(a.name) and _package(source) != _package(module):
                        found.append(f"{module} imports {source}.{a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("dicomlake.") and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                source = aliases.get(node.value.id)
                if source is not None and _package(source) != _package(module):
                    found.append(f"{module} uses {source}.{node.attr}")
    return found


def test_no_private_name_crosses_a_package() -> None:
    assert private_crossings() == []


def test_the_private_name_check_sees_a_crossing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a module that takes another package's private name is reported."""
    copy = tmp_path / "dicomlake"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
    (copy / "query" / "named.py").write_text(
        (copy / "query" / "named.py").read_text() + "\nfrom ..store.catalog import _sql_keywords  # noqa\n"
        "from ..engines import spark as _sp  # noqa\n_X = _sp._DIALECT\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", copy)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert sorted(private_crossings()) == [
        "dicomlake.query.named imports dicomlake.store.catalog._sql_keywords",
        "dicomlake.query.named uses dicomlake.engines.spark._DIALECT",
    ]


# The catalog's own tables and file: only store/ knows them (the catalog is behind one interface).
CATALOG_INSIDE = re.compile(r"\bdl_files\b|\bdl_file_sets\b|\bdl_lake\b|catalog\.duckdb|\.connect\(")


def test_only_store_reaches_into_the_catalog() -> None:
    outside = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in sorted(PACKAGE.rglob("*.py"))
        if f.parent.name != "store"
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1)
        if CATALOG_INSIDE.search(line)
    ]
    assert outside == []
    assert CATALOG_INSIDE.search((PACKAGE / "store" / "catalog.py").read_text())  # the pattern finds what it looks for
