"""Library errors are data: typed exceptions with fields, messages in the Python API's words
(no CLI option in them), and the CLI's wording derived from them (its options, its commands)."""

from __future__ import annotations

import ast
import json
import pickle
import re
from pathlib import Path

import pytest

import dicomlake
from dicomlake.cli import cli_message, cli_note
from dicomlake.demo.sample import make_sample
from dicomlake.errors import (
    Command,
    ConfigError,
    DicomlakeError,
    EmptySelectionError,
    FilterFileError,
    LakeBusyError,
    LakeError,
    LakeNotFoundError,
    MissingParameterError,
    Param,
    QueryError,
    StoreError,
    StoreNotChosenError,
    StoreNotFoundError,
)
from dicomlake.rematerialize.export import export
from dicomlake.store.filterfile import read_filter

PACKAGE = Path(dicomlake.__file__).parent
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
#: Strings outside the CLI that spell an option of another program.
NOT_OURS = {"--psm 11 -c tessedit_do_invert=0"}  # Tesseract's


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> dicomlake.Lake:
    root = tmp_path_factory.mktemp("errors")
    make_sample(root / "files", 4, seed=5)
    dicomlake.ingest(root / "lake", root / "files", "sample", progress=False)
    return dicomlake.open(root / "lake")


def _strings(tree: ast.AST) -> list[ast.Constant]:
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_no_cli_option_in_library_messages() -> None:
    """Only cli.py spells options; the library names its parameters (Param) and steps (Command)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "cli.py":
            continue
        for node in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if node.value not in NOT_OURS and OPTION.search(node.value):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
            if "'dicomlake " in node.value:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)


def test_missing_parameter(lake: dicomlake.Lake) -> None:
    with pytest.raises(MissingParameterError) as info:
        lake.query("instances_by_patient")
    e = info.value
    assert isinstance(e, QueryError)
    assert (e.query, e.param) == ("instances_by_patient", "PatientID") and e.description
    assert str(e).endswith("pass PatientID=VALUE") and "--" not in str(e)
    assert cli_message(e) == (
        f"query 'instances_by_patient' needs parameter PatientID ({e.description}): pass --param PatientID=VALUE"
    )


def test_store_not_found_lists_the_stores(lake: dicomlake.Lake) -> None:
    with pytest.raises(StoreNotFoundError) as info:
        lake.table("nope")
    e = info.value
    assert isinstance(e, StoreError)
    assert (e.store, e.stores, e.lake) == ("nope", ["sample"], str(lake.root))
    assert "(stores: sample)" in str(e) and "lake.create_store('nope')" in str(e) and "dicomlake " not in str(e)
    assert cli_message(e) == (
        f"no store 'nope' in lake {lake.root} (stores: sample); create it with "
        f"'dicomlake ingest SOURCE --lake {lake.root} --store nope' or 'dicomlake store create'"
    )


def test_store_not_chosen(tmp_path: Path) -> None:
    two = dicomlake.open(tmp_path / "two", create=True)
    two.create_store("a")
    two.create_store("b")
    with pytest.raises(StoreNotChosenError) as info:
        two.query("modality_counts")
    assert info.value.stores == ["a", "b"]
    assert str(info.value) == "this query reads the table 'store': pass store=NAME (stores: a, b)"
    assert cli_message(info.value) == "this query reads the table 'store': pass --store NAME (stores: a, b)"


def test_lake_not_found(tmp_path: Path) -> None:
    with pytest.raises(LakeNotFoundError) as info:
        dicomlake.open(tmp_path / "none")
    e = info.value
    assert isinstance(e, LakeError) and e.path == str(tmp_path / "none") and e.catalog == "catalog.duckdb"
    assert "dicomlake.ingest(LAKE, SOURCE, STORE)" in str(e)
    assert cli_message(e).endswith(f"create one with 'dicomlake ingest SOURCE --lake {tmp_path / 'none'} --store NAME'")


def test_filter_that_selects_nothing_has_counts(lake: dicomlake.Lake, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("/studies/1.2.3\n/studies/1.2.4/series/5.6\n")
    with pytest.raises(EmptySelectionError) as info:
        export(lake, "sample", f"parquet:{tmp_path / 'x.parquet'}", spec=read_filter(other))
    e = info.value
    assert isinstance(e, FilterFileError)
    assert (e.store, e.lines, e.unmatched) == ("sample", 2, [(1, "/studies/1.2.3"), (2, "/studies/1.2.4/series/5.6")])
    assert "none of its 2 lines matches an instance (line 1: /studies/1.2.3)" in str(e)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(EmptySelectionError) as info:
        export(lake, "sample", f"parquet:{tmp_path / 'y.parquet'}", spec=read_filter(empty))
    assert (info.value.lines, info.value.unmatched) == (0, [])
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "y.parquet").exists()


def test_parameters_are_named_in_each_front_ends_words(lake: dicomlake.Lake, tmp_path: Path) -> None:
    config = {"dicomTagConfig": {}}
    with pytest.raises(StoreError) as info:
        lake.deidentify(config)
    assert str(info.value) == "dataset-level de-identification needs dest_lake=DIR (a lake that does not exist yet)"
    assert Param("dest_lake", metavar="DIR") in info.value.parts
    assert cli_message(info.value) == (
        "dataset-level de-identification needs --dest-lake DIR (a lake that does not exist yet)"
    )
    crosswalk = tmp_path / "crosswalk.parquet"
    crosswalk.write_bytes(b"earlier")
    with pytest.raises(ConfigError) as info:
        lake.deidentify(config, dest_lake=tmp_path / "d", crosswalk=str(crosswalk))
    assert f"crosswalk={str(crosswalk)!r} already exists" in str(info.value) and "pass overwrite=True" in str(
        info.value
    )
    assert cli_message(info.value).startswith(f"--crosswalk {crosswalk} already exists")
    assert cli_message(info.value).endswith("choose a new file, or pass --overwrite to replace it")
    export(lake, "sample", f"parquet:{tmp_path / 'z.parquet'}")
    with pytest.raises(StoreError) as info:
        export(lake, "sample", f"parquet:{tmp_path / 'z.parquet'}", force=False)
    assert str(info.value).endswith("already exists: pass force=True to overwrite it, or use write_disposition")
    assert cli_message(info.value).endswith("already exists: pass --force to overwrite it, or use --write-disposition")


def test_notes_are_worded_by_the_front_end(lake: dicomlake.Lake, tmp_path: Path) -> None:
    summary = lake.deidentify({"dicomTagConfig": {}}, dest_lake=tmp_path / "d")
    (note,) = [n for n in summary.notes if "random key" in n]
    assert note.startswith("no key_file: a random key") and "base64.b64encode(secrets.token_bytes(32))" in note
    assert cli_note(note).startswith("no --key-file: a random key")
    assert "(make a key with 'dicomlake keygen > key' to repeat them)" in cli_note(note)


def test_busy_lake_and_errors_cross_processes() -> None:
    e = LakeBusyError("pid 7, dicomlake ingest, ingest", "/data/lake")
    assert (e.holder, e.lake) == ("pid 7, dicomlake ingest, ingest", "/data/lake") and "--" not in str(e)
    assert cli_message(e).endswith("wait for it to finish, or pass --wait SECONDS to wait for it")
    for err in (
        e,
        StoreNotFoundError("x", ["a"], "/l"),
        StoreError("needs ", Param("dest_store", metavar="NAME")),
        DicomlakeError("plain text"),
    ):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.parts == err.parts
        assert cli_message(back) == cli_message(err)
    assert json.dumps(StoreNotFoundError("x", ["a"], "/l").stores) == '["a"]'


def test_option_words() -> None:
    from dicomlake.cli import option_words

    assert option_words(Param("verify_tls", False)) == "--no-verify-tls"
    assert option_words(Param("spec")) == "--filter"
    assert option_words(Param("confirm", True)) == "--yes"
    assert option_words(Param("write_disposition", "WRITE_TRUNCATE")) == "--write-disposition WRITE_TRUNCATE"
    assert option_words(Command("x()", "store drop", ("ct",), (Param("lake", "/l"),))) == (
        "'dicomlake store drop ct --lake /l'"
    )
