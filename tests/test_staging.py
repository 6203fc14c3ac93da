"""Each operation owns its staging folder: a harvest larger than one batch completes in one run,
dead operations' leftovers go when the next write starts and live ones' never, a second writer
waits (``--wait``) or fails with one line naming the first, and Ctrl-C at any moment ends a
command with one ``Interrupted:`` line and exit code 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

import dicomlake
from dicomlake.demo.orthanc import Orthanc
from dicomlake.sources.ingest import ingest
from dicomlake.store.catalog import Catalog

from .conftest import write_instance
from .helpers import CLI, assert_error, cli


def _studies(folder: Path, n: int) -> list[Path]:
    """``n`` one-instance studies: pydicom's rtplan.dcm under new UIDs."""
    folder.mkdir(parents=True)
    out = []
    for i in range(n):
        ds = pydicom.dcmread(get_testdata_file("rtplan.dcm", download=False))
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(folder / f"{i}.dcm")
        out.append(folder / f"{i}.dcm")
    return out


def _leftovers(lake: Path) -> list[Path]:
    """Staging, store files and DICOM file sets the catalog does not account for."""
    cat = Catalog.open(lake)
    live = {f for s in cat.stores().values() for f in s.files}
    with cat.connect(read_only=True) as con:
        sets = {lake / p for (p,) in con.execute("SELECT path FROM dl_file_sets").fetchall()}
    stray = [p for p in (lake / "stores").rglob("*.parquet") if str(p) not in live]
    return [*stray, *(p for p in lake.glob("files/*/*") if p not in sets), *(lake / "staging").glob("*")]


def test_harvest_of_more_studies_than_a_batch_completes_in_one_run(tmp_path: Path) -> None:
    with Orthanc() as server:
        assert server.load(_studies(tmp_path / "src", 30)) == 30
        lake = tmp_path / "lake"
        r = cli("ingest", server.url, "--lake", str(lake), "--store", "web", "--batch-studies", "5", "--workers", "2")
        assert r.returncode == 0, r.stderr
    n, studies = dicomlake.open(lake).sql('SELECT count(*), count(DISTINCT StudyInstanceUID) FROM "web"').fetchall()[0]
    assert n == studies == 30
    ops = dicomlake.open(lake).sql("SELECT count(*) FROM dl_operations WHERE store = 'web'").fetchall()[0][0]
    assert ops == 6  # one commit per batch of 5
    assert _leftovers(lake) == [] and not (lake / "staging").exists()


def test_a_commit_never_removes_a_live_operations_staging(tmp_path: Path) -> None:
    ingest(tmp_path / "lake", write_instance(tmp_path / "a.dcm"), "s", progress=False)
    cat = Catalog.open(tmp_path / "lake")
    with cat.write_lock():
        first, second = cat.staging(), cat.staging()
        (second / "part.parquet").write_bytes(b"being written")
        cat.create_store("t")  # commits its own staging folder and collects garbage
        assert first.is_dir() and not list(first.iterdir())
        assert (second / "part.parquet").read_bytes() == b"being written"
    assert not (tmp_path / "lake" / "staging").exists()  # the end of the operation aborts the rest


KEEP_ALIVE = """
import sys, time
from pathlib import Path
from dicomlake.store.catalog import Catalog
cat = Catalog.open(sys.argv[1])
with cat.write_lock():
    stage = cat.staging()
    (stage / "part.parquet").write_bytes(b"x")
    print(stage.name, flush=True)
    deadline = time.monotonic() + 60
    while not Path(sys.argv[2]).exists() and time.monotonic() < deadline:  # until the test says go
        time.sleep(0.05)
"""


def test_dead_operations_leftovers_go_when_the_next_write_starts(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, write_instance(tmp_path / "a.dcm"), "s", progress=False)
    go = tmp_path / "never"
    proc = subprocess.Popen([sys.executable, "-c", KEEP_ALIVE, str(lake), str(go)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    op = proc.stdout.readline().strip()
    dead_files = lake / "files" / "s" / op
    dead_files.mkdir(parents=True)  # a de-identification's output folder, not yet published
    proc.kill()
    proc.wait()
    assert (lake / "staging" / op / "part.parquet").exists()
    ingest(lake, write_instance(tmp_path / "b.dcm"), "s", write_disposition="WRITE_APPEND", progress=False)
    assert not (lake / "staging").exists() and not dead_files.exists()
    assert _leftovers(lake) == []


def test_second_writer_fails_naming_the_first_or_waits_for_it(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, write_instance(tmp_path / "a.dcm"), "s", progress=False)
    go = tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", KEEP_ALIVE, str(lake), str(go)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    op = proc.stdout.readline().strip()
    src = str(write_instance(tmp_path / "b.dcm"))
    args = ["ingest", src, "--lake", str(lake), "--store", "s", "--write-disposition", "WRITE_APPEND"]
    r = cli(*args)
    assert_error(r, "another dicomlake process", f"pid {proc.pid}", op, "--wait")
    # a real process: it waits for the first one while this test goes on
    waiter = subprocess.Popen([*CLI, *args, "--wait", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert waiter.stderr is not None
    said = waiter.stderr.readline()  # it says for whom it waits, then waits
    assert f"waiting for pid {proc.pid}" in said and op in said
    go.touch()
    _, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert proc.wait() == 0
    assert dicomlake.open(lake).store_info("s").row_count == 2
    assert _leftovers(lake) == []


def _interrupt(args: list[str], delay: float) -> subprocess.CompletedProcess[str]:
    """The command as a real process, sent Ctrl-C (SIGINT) after ``delay`` seconds. A signal that
    lands while Python itself starts, before the first line of dicomlake runs (a loaded machine
    can take that long), proves nothing about dicomlake: it is sent again, later."""
    for attempt in range(4):
        proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay + 0.3 * attempt)
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()  # it should be gone; a hung one is not left behind
        if any(w in err for w in ("Interrupted: ", "Error: ", "dicomlake")) or proc.returncode not in (
            1,
            -signal.SIGINT,
        ):
            break  # dicomlake's code ran (or the command ended): this is the result to check
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _assert_interrupted(r: subprocess.CompletedProcess[str]) -> None:
    assert r.returncode == 130, r.stderr
    assert "Traceback" not in r.stderr and "Error" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("Interrupted: "), r.stderr


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("many")
    make_sample(root, 400, seed=3)
    return root


@pytest.mark.parametrize("delay", [0.2, 0.9, 2.0])
def test_ctrl_c_during_ingest_publishes_nothing_and_exits_130(tmp_path: Path, many: Path, delay: float) -> None:
    lake = tmp_path / "lake"
    ingest(lake, write_instance(tmp_path / "a.dcm"), "s", progress=False)
    before = dicomlake.open(lake).sql("SELECT SOPInstanceUID FROM s").fetchall()
    args = ["ingest", str(many), "--lake", str(lake), "--store", "s", "--write-disposition", "WRITE_TRUNCATE"]
    r = _interrupt([*args, "--workers", "2"], delay)
    rows = dicomlake.open(lake).sql("SELECT SOPInstanceUID FROM s").fetchall()
    if r.returncode == 0:  # it was over before the signal (a late Ctrl-C is ignored): the after state
        assert len(rows) == 400 and "Interrupted" not in r.stderr and not (lake / "staging").exists()
        return
    _assert_interrupted(r)
    if "Interrupted: nothing was published" in r.stderr:
        assert rows == before
    else:  # the signal came after the commit, while the summary was being made: it says so
        assert "1 commit(s) to store 's' were published before it" in r.stderr and len(rows) == 400
    assert not (lake / "staging").exists()
    assert not [p for p in os.listdir(lake / "stores" / "s") if not p.endswith(".parquet")]


def test_ctrl_c_in_a_duckdb_query_is_one_line(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, write_instance(tmp_path / "a.dcm"), "s", progress=False)
    r = _interrupt(
        ["query", "--lake", str(lake), "-e", "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3"], 1.5
    )
    _assert_interrupted(r)
    assert "Interrupted: nothing was published" in r.stderr
