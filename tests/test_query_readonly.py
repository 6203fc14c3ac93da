"""Queries are read-only: a statement that would change the lake is an Error, exit 1, and the
lake's files and catalog are byte for byte as before."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app
from dicomlake.errors import QueryError

from .conftest import write_instance

runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ro")
    for i in range(3):
        write_instance(root / "files" / f"{i}.dcm", PatientID=f"P{i}")
    dicomlake.ingest(root / "lake", root / "files", "ct", progress=False)
    return root / "lake"


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DROP VIEW ct", "DROP"),
        ("CREATE TABLE t AS SELECT 1 AS a", "CREATE"),
        ("INSERT INTO dl_issues (store) VALUES ('ct')", "INSERT"),
        ("COPY (SELECT * FROM ct) TO '{out}' (FORMAT parquet)", "COPY"),
        ("ATTACH '{lake}/catalog.duckdb' AS cat", "ATTACH"),
        ("UPDATE dl_stores SET row_count = 0", "UPDATE"),
        ("DELETE FROM dl_issues", "DELETE"),
        ("ALTER VIEW ct RENAME TO x", "ALTER"),
        ("EXPORT DATABASE '{out}'", "EXPORT"),
        ("SET threads = 1", "SET"),
        ("INSTALL json", "INSTALL/LOAD"),
        ("CHECKPOINT", "CALL"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("SELECT 1; DROP VIEW ct", "DROP"),
    ],
)
def test_a_statement_that_writes_is_an_error_and_changes_nothing(
    lake: Path, tmp_path: Path, sql: str, kind: str
) -> None:
    before = snapshot(lake)
    out = tmp_path / "out.parquet"
    r = runner.invoke(app, ["query", "-e", sql.format(out=out, lake=lake), "--lake", str(lake)])
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: -e SQL: queries are read-only") and f"is a {kind} statement" in r.stderr
    assert r.stdout == "" and "Success" not in r.output and "Count" not in r.output
    assert snapshot(lake) == before
    assert not out.exists()
    r = runner.invoke(app, ["query", "-e", "SELECT count(*) AS n FROM ct", "--lake", str(lake), "-f", "csv"])
    assert r.stdout == '"n"\n3\n'


def test_the_api_refuses_too_and_the_views_stay(lake: Path) -> None:
    the_lake = dicomlake.open(lake)
    with pytest.raises(QueryError, match="read-only"):
        the_lake.sql("DROP VIEW ct")
    with pytest.raises(QueryError, match="read-only"):
        the_lake.sql("CREATE TABLE t AS SELECT 1")
    assert the_lake.sql("SELECT count(*) FROM ct").fetchall() == [(3,)]
    assert "t" not in {r[0] for r in the_lake.sql("SHOW TABLES").fetchall()}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT PatientID FROM ct",
        "DESCRIBE ct",
        "SHOW TABLES",
        "SUMMARIZE ct",
        "EXPLAIN SELECT * FROM ct",
        "PRAGMA table_info('ct')",
        "CALL pragma_table_info('ct')",
        "PIVOT ct ON Modality USING count(*)",
        "WITH x AS (SELECT * FROM ct) SELECT count(*) FROM x",
        "FROM ct LIMIT 1",
    ],
)
def test_reading_statements_run(lake: Path, sql: str) -> None:
    r = runner.invoke(app, ["query", "-e", sql, "--lake", str(lake), "-f", "json"])
    assert r.exit_code == 0, r.stderr


def test_several_statements_are_refused_not_cut_to_the_last(lake: Path) -> None:
    """DuckDB would run them all and show the last one's result: the others' would be lost unseen."""
    r = runner.invoke(app, ["query", "--lake", str(lake), "-e", "SELECT 1 a; SELECT 2 b"])
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: -e SQL: 2 statements") and "one at a time" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("name", ["query", "self", "source", "params"])
def test_an_unknown_table_is_never_read_from_a_python_variable(lake: Path, name: str) -> None:
    """A table the lake lacks is unknown, even where the code running the query has a variable of
    that name (DuckDB's replacement scans are off on the lake's connection)."""
    r = runner.invoke(app, ["query", "--lake", str(lake), "-e", f"SELECT * FROM {name}"])
    assert r.exit_code == 1
    assert f"Table with name {name} does not exist" in r.stderr and "(stores: ct)" in r.stderr
    with pytest.raises(QueryError, match=r"\(stores: ct\)"):
        dicomlake.open(lake).sql(f"SELECT * FROM {name}")


def test_statements_sqlglot_keeps_as_text_print_nothing_of_its_own(lake: Path) -> None:
    """EXPLAIN runs, LOAD is refused in one line: no parser warning reaches the user's stderr."""
    r = runner.invoke(app, ["query", "--lake", str(lake), "-e", "EXPLAIN SELECT 1"])
    assert r.exit_code == 0 and r.stderr == ""
    r = runner.invoke(app, ["query", "--lake", str(lake), "-e", "LOAD httpfs"])
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("Error:")
