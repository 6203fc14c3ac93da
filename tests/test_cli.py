"""The command line as a user runs it: real processes, one Error line and exit 1 on handled errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write_instance

CLI = [sys.executable, "-c", "from dicomlake.cli import main; main()"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_error(p: subprocess.CompletedProcess[str], *words: str) -> None:
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
    assert "Traceback" not in p.stderr
    for w in words:
        assert w in lines[0]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    assert run("sample", str(root / "files"), "--n", "40").returncode == 0
    p = run("ingest", str(root / "files"), "--lake", str(root / "lake"), "--store", "sample")
    assert p.returncode == 0, p.stderr
    assert "ingested 40 instances" in p.stdout
    return root / "lake"


def test_query_formats(lake: Path, tmp_path: Path) -> None:
    p = run("query", "latest_studies", "--lake", str(lake), "--format", "json", "--param", "limit=2")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert len(rows) == 2 and set(rows[0]) == {"StudyDateTime", "PatientID", "StudyInstanceUID", "InstanceCount"}
    p = run("query", "-e", "SELECT count(*) AS n FROM sample", "--lake", str(lake), "--format", "csv")
    assert p.stdout.splitlines() == ['"n"', "40"]
    out = tmp_path / "x.parquet"
    assert run("query", "modality_counts", "--lake", str(lake), "-f", "parquet", "-o", str(out)).returncode == 0
    assert out.stat().st_size > 0
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT PatientID FROM store WHERE PatientID = $pid")
    assert run("query", "--sql", str(sql), "--lake", str(lake), "-p", "pid=none", "-f", "ndjson").stdout == ""
    assert "latest_studies" in run("query", "--list").stdout


def test_handled_errors(lake: Path, tmp_path: Path) -> None:
    assert_error(run("query", "nope", "--lake", str(lake)), "no named query", "--list")
    assert_error(run("query", "instances_by_patient", "--lake", str(lake)), "--param PatientID=VALUE")
    assert_error(run("query", "-e", "SELECT * FROM missing", "--lake", str(lake)), "missing")
    assert_error(run("query", "-e", "SELECT 1", "--lake", str(tmp_path)), "not a dicomlake lake")
    assert_error(run("ingest", str(tmp_path / "none"), "--lake", str(lake), "--store", "sample"), "does not exist")
    src = write_instance(tmp_path / "a.dcm")
    assert_error(run("ingest", str(src), "--lake", str(lake), "--store", "sample"), "WRITE_APPEND", "WRITE_TRUNCATE")
    assert_error(
        run("ingest", str(src), "--lake", str(lake), "--store", "s", "--write-disposition", "X"), "WRITE_EMPTY"
    )


def test_strict_publishes_nothing_on_issues(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    write_instance(tmp_path / "src" / "ok.dcm")
    (tmp_path / "src" / "junk.txt").write_text("not dicom")
    p = run("ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--store", "s", "--strict")
    assert p.returncode == 1
    assert "junk.txt: not a DICOM file" in p.stderr and p.stderr.strip().splitlines()[-1].startswith("Error: --strict")
    assert "nothing was written" in p.stderr
    assert_error(run("query", "-e", "SELECT * FROM s", "--lake", str(tmp_path / "lake")), "s")
    p = run("ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--store", "s")
    assert "not a DICOM file 1" in p.stdout
    p = run("query", "ingest_issues", "--lake", str(tmp_path / "lake"), "-f", "json")
    assert json.loads(p.stdout)[0]["path"].endswith("junk.txt")


def test_help_screens(tmp_path: Path) -> None:
    for args in (
        [],
        ["--help"],
        ["filter", "--help"],
        ["export", "--help"],
        ["deidentify", "--help"],
        ["ingest", "--help"],
        ["query", "--help"],
        ["store", "--help"],
    ):
        p = run(*args)
        assert "Usage" in p.stdout + p.stderr and "Traceback" not in p.stderr, (args, p.stderr)


def test_bad_output_paths_are_errors(lake: Path, tmp_path: Path) -> None:
    assert_error(
        run("query", "modality_counts", "--lake", str(lake), "-o", str(tmp_path / "no" / "x.json")), "check the path"
    )
    (tmp_path / "afile").write_text("x")
    assert_error(run("ingest", str(tmp_path), "--lake", str(tmp_path / "afile" / "sub"), "--store", "s"))
    out = tmp_path / "o.csv"
    assert (
        run(
            "query", "-e", "SELECT ImageType, PatientName FROM sample LIMIT 2", "--lake", str(lake), "-o", str(out)
        ).returncode
        == 0
    )
    assert out.read_text().splitlines()[0] == '"ImageType","PatientName"'  # format from the suffix, JSON cells


def test_store_names_ignore_case(lake: Path, tmp_path: Path) -> None:
    src = write_instance(tmp_path / "a.dcm")
    assert_error(run("ingest", str(src), "--lake", str(lake), "--store", "Sample"), "clashes", "'sample'")
    assert_error(run("ingest", str(src), "--lake", str(lake), "--store", "select"), "reserved SQL word")


def test_store_commands(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    assert run("store", "create", "dest", "--lake", lake).returncode == 0
    assert_error(run("store", "create", "dest", "--lake", lake), "already exists")
    assert "dest" in run("store", "list", "--lake", lake).stdout
    assert run("store", "drop", "dest", "--lake", lake, "--yes").returncode == 0
    assert_error(run("store", "drop", "dest", "--lake", lake, "--yes"), "no store")
