"""De-identification from the command line: errors, --explain, and a killed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import dicomlake

from .helpers import CLI, assert_error, cli


@pytest.fixture
def lake(sample_lake: Path) -> Path:
    """The session's sample lake, read only: its store is ``sample``."""
    return sample_lake


def config(tmp_path: Path, body: dict) -> str:
    p = tmp_path / "request.json"
    p.write_text(json.dumps(body))
    return str(p)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"dicom": {}, "dicomTagConfig": {}}, ["dicom", "dicomTagConfig"]),
        (
            {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "keepTag": {}, "deleteTag": {}}]}},
            ["actions[0]"],
        ),
        (
            {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "regenUidTag": {}}]}},
            ["actions[0]", "regenUidTag", "PatientName"],
        ),
        (
            {"dicomTagConfig": {"actions": [{"queries": ["PatientNam"], "keepTag": {}}]}},
            ["actions[0].queries[0]", "PatientName"],
        ),
    ],
)
def test_config_errors_write_nothing(lake: Path, tmp_path: Path, body: dict, words: list[str]) -> None:
    dest = tmp_path / "dest"
    assert_error(
        cli("deidentify", "--lake", str(lake), "--config", config(tmp_path, body), "--dest-lake", str(dest)), *words
    )
    assert not dest.exists()


def test_existing_dataset_destination_and_missing_store(lake: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, {"dicomTagConfig": {}})
    (tmp_path / "exists").mkdir()
    assert_error(
        cli("deidentify", "--lake", str(lake), "--config", cfg, "--dest-lake", str(tmp_path / "exists")),
        "already exists",
    )
    assert list((tmp_path / "exists").iterdir()) == []
    assert_error(
        cli(
            "deidentify",
            "--lake",
            str(lake),
            "--config",
            cfg,
            "--store",
            "sample",
            "--dest-lake",
            str(tmp_path / "d2"),
            "--dest-store",
            "out",
        ),
        "dicomlake store create out",
    )
    assert not (tmp_path / "d2").exists()


def test_store_level_into_existing_store_with_filter(lake: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, {"dicomTagConfig": {}})
    dest = tmp_path / "dest"
    assert cli("store", "create", "out", "--lake", str(dest)).returncode == 0
    study = dicomlake.open(lake).sql("SELECT StudyInstanceUID FROM sample LIMIT 1").fetchall()[0][0]
    (tmp_path / "f.txt").write_text(f"/studies/{study}\n")
    key = tmp_path / "key"
    key.write_text(cli("keygen").stdout)
    args = [
        "deidentify",
        "--lake",
        str(lake),
        "--config",
        cfg,
        "--store",
        "sample",
        "--dest-lake",
        str(dest),
        "--dest-store",
        "out",
        "--filter",
        str(tmp_path / "f.txt"),
        "--key-file",
        str(key),
    ]
    p = cli(*args)
    assert p.returncode == 0, p.stderr
    n = (
        dicomlake.open(lake)
        .sql("SELECT count(*) FROM sample WHERE StudyInstanceUID = $s", {"s": study})
        .fetchall()[0][0]
    )
    assert f"success {n}" in p.stdout
    p = cli(*args)  # the same instances again: overwritten, as the API does
    assert f"replaced {n}" in p.stdout
    assert dicomlake.open(dest).table("out").count("*").fetchall()[0][0] == n


def test_explain_prints_plan_and_sql_and_runs_nothing(lake: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "keepTag": {}}]}})
    p = cli(
        "deidentify",
        "--lake",
        str(lake),
        "--config",
        cfg,
        "--dest-lake",
        str(tmp_path / "d"),
        "--explain",
        "--format",
        "json",
    )
    assert p.returncode == 0, p.stderr
    plan = {r["path"]: r for r in json.loads(p.stdout)}
    assert plan["PatientName"]["action"] == "keep" and "actions[0]" in plan["PatientName"]["why"]
    assert plan["PatientBirthDate"]["action"] == "remove"
    assert plan["SOPInstanceUID"]["action"] == "regen_uid"
    assert plan["RequestAttributesSequence"]["action"] == "delete"
    assert plan["ReferencedImageSequence"]["action"] == "recurse"
    assert plan["ReferencedImageSequence.ReferencedSOPInstanceUID"]["action"] == "regen_uid"
    assert not (tmp_path / "d").exists()
    p = cli("deidentify", "--lake", str(lake), "--config", cfg, "--dest-lake", str(tmp_path / "d"), "--explain")
    assert "SELECT" in p.stdout and "dl_uid(" in p.stdout


def test_killed_dataset_run_leaves_no_destination(lake: Path, tmp_path: Path) -> None:
    from dicomlake.demo.sample import make_sample

    make_sample(tmp_path / "many", 400, seed=9)
    assert cli("ingest", str(tmp_path / "many"), "--lake", str(tmp_path / "big"), "--store", "s").returncode == 0
    cfg = config(tmp_path, {"dicomTagConfig": {}})
    dest = tmp_path / "dest"
    # a real process: it is killed
    proc = subprocess.Popen(
        [
            *CLI,
            "deidentify",
            "--lake",
            str(tmp_path / "big"),
            "--config",
            cfg,
            "--dest-lake",
            str(dest),
        ],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not dest.exists() or dicomlake.open(dest).table("s").count("*").fetchall()[0][0] == 400
    if not dest.exists():  # a retry works: the partial build does not count as an existing destination
        p = cli("deidentify", "--lake", str(tmp_path / "big"), "--config", cfg, "--dest-lake", str(dest))
        assert p.returncode == 0, p.stderr
