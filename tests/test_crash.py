"""Crash consistency: SIGKILL at 20 seeded moments spread over ingest, append, a DICOMweb harvest,
store-level de-identification and export (the moments drawn over each operation's measured
duration). After each kill the lakes open and every store equals its state before or after the
operation (a harvest: whole studies, as it commits them); running the command again completes,
and then no file is orphaned: no staging, every Parquet file and DICOM folder in the catalog, no
temporary file in an export folder."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app
from dicomlake.demo.orthanc import Orthanc
from dicomlake.demo.sample import make_sample
from dicomlake.sources.ingest import ingest
from dicomlake.store.catalog import Catalog

from .helpers import CLI, cli_process
from .test_staging import _studies

KILLS_PER_OPERATION = 4
SEED = 14

State = dict[str, frozenset[tuple[str | None, ...]]]


@dataclass
class World:
    root: Path
    a: Path  # the store's instances
    b: Path  # instances an ingest or an append brings
    url: str
    config: Path
    key: Path
    startup: float  # seconds before a command starts working (Python loading it)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("crash")
    make_sample(root / "a", 12, seed=1, workers=1)
    make_sample(root / "b", 12, seed=2, workers=1)
    (root / "config.json").write_text(json.dumps({"dicomTagConfig": {}}))
    started = time.monotonic()
    (root / "key").write_text(cli_process("keygen").stdout)  # a real process: its start-up is measured
    startup = time.monotonic() - started
    base = root / "base"
    ingest(base / "lake", root / "a", "s", workers=1, progress=False)
    dicomlake.open(base / "dest", create=True).create_store("out")
    with Orthanc() as server:
        server.load([*(root / "a").rglob("*.dcm"), *_studies(root / "web", 4)])
        yield World(root, root / "a", root / "b", server.url, root / "config.json", root / "key", startup)


def _commands(w: World, case: Path) -> dict[str, list[str]]:
    lake, dest = str(case / "lake"), str(case / "dest")
    return {
        "ingest": ["ingest", str(w.b), "--lake", lake, "--store", "s", "--write-disposition", "WRITE_TRUNCATE"],
        "append": ["ingest", str(w.b), "--lake", lake, "--store", "s", "--write-disposition", "WRITE_APPEND"],
        "harvest": ["ingest", w.url, "--lake", lake, "--store", "web", "--batch-studies", "1"],
        "deidentify": [
            *("deidentify", "--lake", lake, "--config", str(w.config), "--store", "s"),
            *("--dest-lake", dest, "--dest-store", "out", "--key-file", str(w.key)),
        ],
        "export": ["export", "--lake", lake, "--store", "s", "--to", f"dicom:{case / 'out'}"],
    }


def _state(case: Path) -> State:
    """Every store of both lakes, as its set of instances."""
    out: State = {}
    for name in ("lake", "dest"):
        lake = dicomlake.open(case / name)
        for store in lake.stores:
            rows = lake.sql(f'SELECT SOPInstanceUID, StudyInstanceUID, SeriesInstanceUID FROM "{store}"').fetchall()
            out[f"{name}/{store}"] = frozenset(rows)
    return out


def _whole_studies(got: State, before: State, after: State) -> bool:
    """A harvest commits whole studies: each store is before's, plus whole studies of after's."""
    for key, rows in after.items():
        have = got.get(key, frozenset())
        if not have >= before.get(key, frozenset()) or not have <= rows:
            return False
        studies = {r[1] for r in have}
        if {r for r in rows if r[1] in studies} != have:
            return False
    return True


def _no_orphans(case: Path) -> None:
    for name in ("lake", "dest"):
        root = case / name
        cat = Catalog.open(root)
        with cat.connect(read_only=True) as con:
            files = {root / p for (p,) in con.execute("SELECT path FROM dl_files").fetchall()}
            sets = {root / p for (p,) in con.execute("SELECT path FROM dl_file_sets").fetchall()}
        assert not (root / "staging").exists()
        assert set(root.glob("stores/*/*.parquet")) == files
        assert set(root.glob("files/*/*")) <= sets
    out = case / "out"
    if out.exists():
        assert not list(out.rglob(".*.tmp"))
        n = dicomlake.open(case / "lake").sql('SELECT count(*) FROM "s"').fetchall()[0][0]
        assert len(list(out.rglob("*.dcm"))) == n


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    """The command as a real process, to be killed."""
    return subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _fresh(w: World, name: str) -> Path:
    case = w.root / name
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(w.root / "base", case)
    return case


def _complete(args: list[str]) -> None:
    """The command run to its end, in this process (no second start-up to pay)."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


_measured: dict[tuple[Path, str], tuple[float, State, State]] = {}


def _measure(w: World, op: str) -> tuple[float, State, State]:
    """The command run whole: how long it takes, the stores before and after (measured once per
    operation, for both the SIGKILL and the Ctrl-C test)."""
    if (w.root, op) not in _measured:
        _measured[w.root, op] = _run_whole(w, op)
    return _measured[w.root, op]


def _run_whole(w: World, op: str) -> tuple[float, State, State]:
    case = _fresh(w, f"{op}-whole")
    before = _state(case)
    started = time.monotonic()
    proc = _start(_commands(w, case)[op])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    return time.monotonic() - started, before, _state(case)


def _moment(w: World, rng: random.Random, duration: float) -> float:
    """A moment of the command's work (after its start-up, which the keygen command measured)."""
    return rng.uniform(min(w.startup, duration / 2), duration)


@pytest.mark.parametrize("op", ["ingest", "append", "harvest", "deidentify", "export"])
def test_sigkill_at_any_moment_leaves_before_or_after(world: World, op: str) -> None:
    duration, before, after = _measure(world, op)
    assert before != after or op == "export"
    same: Callable[[State], bool] = (
        (lambda got: _whole_studies(got, before, after)) if op == "harvest" else (lambda got: got in (before, after))
    )
    rng = random.Random(f"{SEED}-{op}")
    for k in range(KILLS_PER_OPERATION):
        case = _fresh(world, f"{op}-{k}")
        proc = _start(_commands(world, case)[op])
        time.sleep(_moment(world, rng, duration))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        got = _state(case)
        assert same(got), f"{op} killed: stores mixed\n{got}"
        _complete(_commands(world, case)[op])  # run again, it completes
        assert _state(case) == after
        _no_orphans(case)


@pytest.mark.parametrize("op", ["ingest", "append", "harvest", "deidentify", "export"])
def test_ctrl_c_at_any_moment_says_what_was_published(world: World, op: str) -> None:
    duration, before, after = _measure(world, op)
    case = _fresh(world, f"{op}-interrupted")
    proc = subprocess.Popen(  # a real process: Ctrl-C is sent to it
        [*CLI, *_commands(world, case)[op]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(_moment(world, random.Random(f"{SEED}-{op}-sigint"), duration))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    got = _state(case)
    if proc.returncode in (0, -signal.SIGINT):  # it had finished (or was exiting: no handler left)
        assert got == after and "Error" not in err and "Traceback" not in err, err
    else:
        assert proc.returncode == 130, err
        assert "Traceback" not in err and err.strip().splitlines() == [err.strip().splitlines()[-1]], err
        if "Interrupted: nothing was published" in err:
            assert got == before
        else:
            assert err.startswith("Interrupted: ") and "commit(s) to store" in err, err
            assert got != before and (_whole_studies(got, before, after) if op == "harvest" else got == after)
    _complete(_commands(world, case)[op])
    assert _state(case) == after
    _no_orphans(case)


def test_ctrl_c_after_a_harvest_commit_says_what_it_kept(world: World) -> None:
    case = _fresh(world, "harvest-kept")
    args = [*_commands(world, case)["harvest"], "--concurrency", "1", "--workers", "1"]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # Ctrl-C'd
    deadline = time.monotonic() + 60
    # a second file of the store is moved in only after the first batch's commit is done
    while time.monotonic() < deadline and len(list((case / "lake" / "stores" / "web").glob("*.parquet"))) < 2:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the harvest finished before the interrupt")
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.startswith("Interrupted: ") and "commit(s) to store 'web'" in err and "again" in err, err
    kept = _state(case)["lake/web"]
    assert kept
    _complete(args)  # the same command resumes
    assert len(_state(case)["lake/web"]) > len(kept)
    _no_orphans(case)
