"""Output that fits: the table format fits the terminal and says what it left out; machine
formats are never cut."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app
from dicomlake.query.output import TABLE_ROWS, table_text

runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("out")
    make_sample(root / "files", 50, seed=2)
    dicomlake.ingest(root / "lake", root / "files", "ct", progress=False)
    return root / "lake"


def query(lake: Path, sql: str, *args: str, columns: int = 100) -> str:
    r = runner.invoke(app, ["query", "-e", sql, "--lake", str(lake), *args], env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.stderr
    return r.stdout


def test_select_star_fits_100_columns_and_says_what_it_left_out(lake: Path) -> None:
    out = query(lake, "SELECT * FROM ct")
    n_cols = len(dicomlake.open(lake).table("ct").columns)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    shown = len([c for c in lines[1].strip("│").split("│") if c.strip() != "…"])
    assert 0 < shown < n_cols
    assert lines[-2] == f"50 rows (40 shown), {n_cols} columns ({shown} shown)"
    assert lines[-1] == (
        f"left out: 10 rows and {n_cols - shown} columns; all of them: --format csv or json, or --output FILE"
    )
    assert "…" in out  # long UIDs are cut


@pytest.mark.parametrize("width", [40, 60, 100, 160])
def test_describe_fits_any_width(lake: Path, width: int) -> None:
    out = query(lake, "DESCRIBE ct", columns=width)
    assert max(len(line) for line in out.splitlines()) <= width
    assert "rows (40 shown)" in out


def test_more_than_10000_rows_are_counted_never_a_question_mark(lake: Path, tmp_path: Path) -> None:
    sql = "SELECT range AS i FROM range(25000)"
    out = query(lake, sql)
    assert "25000 rows (40 shown), 1 column" in out and "?" not in out
    assert "left out: 24960 rows" in out
    assert len(out.splitlines()) == 4 + TABLE_ROWS + 1 + 2
    # the machine formats are never cut
    assert query(lake, sql, "-f", "csv").splitlines() == ['"i"', *map(str, range(25000))]
    assert len(json.loads(query(lake, sql, "-f", "json"))) == 25000
    assert len(query(lake, sql, "-f", "ndjson").splitlines()) == 25000
    query(lake, sql, "--output", str(tmp_path / "r.parquet"))
    assert pq.read_table(tmp_path / "r.parquet").num_rows == 25000


def test_wide_values_are_cut_in_the_table_only(lake: Path) -> None:
    sql = "SELECT repeat('x', 500) AS long, [1, 2, 3] AS l"
    out = query(lake, sql)
    assert "x" * 39 + "…" in out and "x" * 41 not in out
    assert out.splitlines()[-1] == "long values are cut (…); whole values: --format csv or json, or --output FILE"
    assert json.loads(query(lake, sql, "-f", "json")) == [{"long": "x" * 500, "l": [1, 2, 3]}]


def test_a_result_that_fits_is_drawn_whole_with_its_count(lake: Path) -> None:
    out = query(lake, "SELECT 1 AS a, 'b' AS b")
    assert out.splitlines() == [
        "┌─────────┬─────────┐",
        "│    a    │    b    │",
        "│ integer │ varchar │",
        "├─────────┼─────────┤",
        "│       1 │ b       │",
        "└─────────┴─────────┘",
        "1 row, 2 columns",
    ]


@pytest.mark.parametrize("width", [40, 41, 55, 80, 100, 200])
def test_table_text_never_passes_the_width(width: int) -> None:
    table = pa.table({f"c{i}": [("v" * (i * 7)) or None, "\n" * i] for i in range(30)})
    lines = table_text(table, width=width).splitlines()
    assert max(len(line) for line in lines) <= width
    assert any(line.startswith("2 rows, 30 columns (") for line in lines)


def test_a_column_wider_than_the_terminal_is_narrowed() -> None:
    lines = table_text(pa.table({"a" * 60: ["x"]}), width=40).splitlines()
    assert max(len(line) for line in lines) <= 40 and "long values are cut" in " ".join(lines)


def test_newlines_in_values_do_not_break_the_box() -> None:
    lines = table_text(pa.table({"t": ["a\nb"]}), width=80).splitlines()
    assert lines[4] == "│ a\\nb    │" and len(lines) == 7


def test_columns_narrow_before_any_is_left_out(lake: Path) -> None:
    r = runner.invoke(app, ["query", "latest_studies", "--lake", str(lake)], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [c.strip() for c in lines[1].strip("│").split("│")] == [
        "StudyDateTime",
        "PatientID",
        "StudyInstanceUID",
        "InstanceCount",
    ]
    assert max(len(line) for line in lines) <= 80 and "…" in lines[4]  # the UIDs are cut instead


def test_a_table_written_to_a_file_is_whole(lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    query(lake, "SELECT range AS i, repeat('x', 100) AS long FROM range(50)", "--output", str(out))
    lines = out.read_text().splitlines()
    assert len(lines) == 4 + 50 + 1 + 1 and lines[-1] == "50 rows, 2 columns"
    assert "x" * 100 in lines[4] and "…" not in out.read_text()
