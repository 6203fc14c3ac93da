"""One CLI vocabulary: every command and group answers -h and --help alike, --version works,
--lake comes from DICOMLAKE_LAKE on every command that takes one (and is never guessed), a
--format lists exactly the formats the command writes and each of them is honoured, defaults
are written one way, notes are true, and progress bars never reach a pipe.

The test walks the commands registered on the typer app, so a new command is checked too."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import LAKE_ENV, app
from dicomlake.demo.sample import make_sample

CLI = [sys.executable, "-c", "from dicomlake.cli import main; main()"]
ROOT = typer.main.get_command(app)
FORMATS_HELP = re.compile(r"Output format: ([a-z, ]+)[.( ]")
_unique = itertools.count()


# typer builds click-style commands (its own copy of click): read them by their attributes.
Command = Any


def is_group(cmd: Command) -> bool:
    return hasattr(cmd, "commands")


def commands(group: Command = ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every command and group of the app, as (path of names, command)."""
    for name, cmd in group.commands.items():
        yield (*path, name), cmd
        if is_group(cmd):
            yield from commands(cmd, (*path, name))


ALL = list(commands())
LEAVES = [(p, c) for p, c in ALL if not is_group(c)]


def is_option(p: Any) -> bool:
    return bool(p.param_type_name == "option")


def option(cmd: Command, flag: str) -> Any:
    return next((p for p in cmd.params if is_option(p) and flag in p.opts), None)


def offered_formats(cmd: Command) -> list[str]:
    fmt = option(cmd, "--format")
    assert fmt is not None and fmt.help
    m = FORMATS_HELP.search(fmt.help)
    assert m, f"--format of {cmd.name} does not list its formats: {fmt.help!r}"
    return [f.strip() for f in m.group(1).split(",")]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small sample lake (store 'sample'), its files, a request config, and a de-identified copy."""
    root = tmp_path_factory.mktemp("vocabulary")
    make_sample(root / "files", 6, seed=3)
    summary = dicomlake.ingest(root / "lake", root / "files", "sample")
    assert summary.ingested == 6
    config = root / "request.json"
    config.write_text(
        json.dumps({"destinationDataset": "projects/p/locations/l/datasets/d", "config": {"dicomTagConfig": {}}})
    )
    lake = dicomlake.open(root / "lake")
    lake.deidentify(config, dest_lake=root / "deid", key_file=None)
    return {"root": root, "lake": root / "lake", "files": root / "files", "config": config, "deid": root / "deid"}


def recipe(path: tuple[str, ...], cmd: Command, lakes: dict[str, Path]) -> tuple[list[str], Path]:
    """Arguments that make the command do its work on the test lakes (without --lake), and the lake."""
    root, n = lakes["root"], next(_unique)
    lake = lakes["lake"]
    uid = dicomlake.open(lake).sql("SELECT min(SOPInstanceUID) FROM sample").fetchall()[0][0]
    known: dict[tuple[str, ...], list[str]] = {
        ("ingest",): [str(lakes["files"]), "--store", f"more{n}"],
        ("query",): ["-e", "SELECT Modality, count(*) AS n FROM sample GROUP BY 1"],
        ("filter",): ["-e", "SELECT StudyInstanceUID FROM sample"],
        ("export",): ["--store", "sample", "--to", f"parquet:{root / f'export{n}.parquet'}"],
        ("deidentify",): ["--config", str(lakes["config"]), "--dest-lake", str(root / f"deid{n}")],
        ("verify",): ["--store", "sample", "--against", f"{lake}:sample"],
        ("redact-preview",): ["--store", "sample", "--instance", uid, "--out", str(root / f"p{n}.png")],
        ("store", "list"): [],
        ("store", "create"): [f"new{n}"],
        ("store", "drop"): [f"new{n}", "--yes"],
    }
    if path == ("store", "drop"):
        dicomlake.open(root / "stores", create=True).create_store(f"new{n}")
    if path in (("store", "create"), ("store", "drop")):  # in a lake of their own
        return known[path], root / "stores"
    if path == ("ingest",):  # into a lake of its own, so the others keep one store
        return known[path], root / "ingested"
    if path == ("verify",):  # the source against itself: every identifying value is a hit, listed
        return known[path], lake
    if path in known:
        return known[path], lake
    # a command this test does not know yet: its required parameters from their names
    values = {"store": "sample", "name": "sample", "instance": uid, "config": str(lakes["config"])}
    args: list[str] = []
    for p in cmd.params:
        if p.required:
            assert p.name in values, f"add a recipe for 'dicomlake {' '.join(path)}' (its {p.name})"
            args += [values[p.name]] if not is_option(p) else [p.opts[-1], values[p.name]]
    return args, lake


def invoke(runner: CliRunner, args: list[str], lake: Path | None = None) -> Any:
    env = {LAKE_ENV: str(lake) if lake else ""}
    return runner.invoke(app, args, env=env)


# ---- --version, -h ------------------------------------------------------------------------
def test_version(runner: CliRunner) -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout == f"dicomlake {dicomlake.__version__}\n"
    p = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == f"dicomlake {dicomlake.__version__}"


def test_short_help_on_every_command_and_group(runner: CliRunner) -> None:
    top = runner.invoke(app, ["-h"])
    assert top.exit_code == 0 and "Commands:" in top.stdout and "--version" in top.stdout
    assert len(ALL) >= 12
    for path, _cmd in ALL:
        short, long = runner.invoke(app, [*path, "-h"]), runner.invoke(app, [*path, "--help"])
        assert short.exit_code == 0 and long.exit_code == 0, path
        assert short.stdout == long.stdout and "-h, --help" in short.stdout, path


def test_defaults_are_written_one_way() -> None:
    for path, cmd in LEAVES:
        for p in cmd.params:
            if is_option(p) and p.help:
                assert "(default" not in p.help and "default:" not in p.help, (path, p.opts, p.help)


# ---- --lake and DICOMLAKE_LAKE ------------------------------------------------------------
def test_every_lake_option_reads_the_environment() -> None:
    with_lake = [(p, c) for p, c in LEAVES if option(c, "--lake")]
    assert {p for p, _ in with_lake} >= {("ingest",), ("query",), ("filter",), ("store", "list"), ("verify",)}
    for path, cmd in with_lake:
        lake = option(cmd, "--lake")
        assert lake is not None and lake.envvar == LAKE_ENV and not lake.required and lake.default is None, path


def test_lake_from_the_environment_on_every_command(runner: CliRunner, lakes: dict[str, Path]) -> None:
    for path, cmd in LEAVES:
        if not option(cmd, "--lake"):
            continue
        args, lake = recipe(path, cmd, lakes)
        r = invoke(runner, [*path, *args], lake)
        assert "no lake given" not in r.stderr, path
        if path == ("verify",):  # exit 1: identifying values found; the same as with --lake
            explicit = invoke(runner, [*path, *args, "--lake", str(lake)])
            assert r.exit_code == explicit.exit_code and r.stdout == explicit.stdout, (path, r.stderr)
        else:
            assert r.exit_code == 0, (path, r.stderr, r.exception)


def test_no_lake_is_an_error_naming_both(runner: CliRunner, lakes: dict[str, Path], tmp_path: Path) -> None:
    for path, cmd in LEAVES:
        if not option(cmd, "--lake"):
            continue
        args, _ = recipe(path, cmd, lakes)
        before = set(os.listdir(tmp_path))
        r = runner.invoke(app, [*path, *args], env={LAKE_ENV: ""}, catch_exceptions=False)
        assert r.exit_code == 1, (path, r.stderr)
        assert r.stderr == f"Error: no lake given: pass --lake DIR or set {LAKE_ENV} to the lake folder\n", path
        assert set(os.listdir(tmp_path)) == before  # never the current folder


# ---- --format -----------------------------------------------------------------------------
def _parses_as(fmt: str, text: str) -> bool:
    try:
        if fmt == "json":
            json.loads(text)
        elif fmt == "ndjson":
            return bool(text.strip()) and all(json.loads(line) is not None for line in text.splitlines())
        elif fmt == "csv":
            rows = list(csv.reader(io.StringIO(text)))
            return len(rows) >= 1 and len({len(r) for r in rows}) == 1 and len(rows[0]) >= 1
        else:  # table: for people, not JSON
            json.loads(text)
            return False
    except ValueError:
        return fmt == "table" and bool(text.strip())
    return True


def test_every_offered_format_is_honoured(runner: CliRunner, lakes: dict[str, Path], tmp_path: Path) -> None:
    with_format = [(p, c) for p, c in LEAVES if option(c, "--format")]
    assert {p for p, _ in with_format} >= {("ingest",), ("query",), ("deidentify",), ("verify",), ("store", "list")}
    for path, cmd in LEAVES:
        if option(cmd, "-f") and not option(cmd, "--format"):
            pytest.fail(f"{path}: -f means --format")
    for path, cmd in with_format:
        formats = offered_formats(cmd)
        assert "table" in formats, path
        if "parquet" in formats:  # a file format is offered only where there is a file to write
            assert option(cmd, "--output"), path
        for fmt in formats:
            args, lake = recipe(path, cmd, lakes)
            if fmt == "parquet":
                out = tmp_path / f"{'-'.join(path)}.parquet"
                r = invoke(runner, [*path, *args, "-f", fmt, "--output", str(out)], lake)
                assert r.exit_code == 0 and pq.read_table(out).num_rows > 0, (path, r.stderr)
                continue
            r = invoke(runner, [*path, *args, "-f", fmt], lake)
            assert r.exit_code in ((0, 1) if path == ("verify",) else (0,)), (path, fmt, r.stderr)
            assert _parses_as(fmt, r.stdout), (path, fmt, r.stdout[:500], r.stderr)
        args, lake = recipe(path, cmd, lakes)
        r = invoke(runner, [*path, *args, "-f", "yaml"], lake)
        assert r.exit_code == 1 and r.stderr.startswith("Error: unknown format 'yaml'"), (path, r.stderr)


def test_summary_formats_say_what_was_done(runner: CliRunner, lakes: dict[str, Path]) -> None:
    ingest, _ = recipe(("ingest",), ROOT, lakes)
    r = invoke(runner, ["ingest", *ingest, "-f", "json"], lakes["root"] / "ingested")
    assert json.loads(r.stdout)["ingested"] == 6
    old = invoke(runner, ["ingest", *recipe(("ingest",), ROOT, lakes)[0], "--json"], lakes["root"] / "ingested")
    assert json.loads(old.stdout)["ingested"] == 6  # the old spelling still works, hidden
    assert "--json" not in invoke(runner, ["ingest", "-h"]).stdout
    deid, _ = recipe(("deidentify",), ROOT, lakes)
    r = invoke(runner, ["deidentify", *deid, "-f", "json"], lakes["lake"])
    summary = json.loads(r.stdout)
    assert summary["failed"] == 0 and [s["source"] for s in summary["stores"]] == ["sample"], r.stdout
    assert summary["stores"][0]["success"] == 6 and summary["stores"][0]["failures"] == []


# ---- notes that are true ------------------------------------------------------------------
def test_ignored_destination_note_is_true(runner: CliRunner, lakes: dict[str, Path]) -> None:
    dest = lakes["root"] / f"deid-note{next(_unique)}"
    r = invoke(runner, ["deidentify", "--config", str(lakes["config"]), "--dest-lake", str(dest)], lakes["lake"])
    assert r.exit_code == 0, r.stderr
    assert (
        f"note: destinationDataset 'projects/p/locations/l/datasets/d' is ignored: writing to --dest-lake {dest}"
        in (r.stderr)
    )
    assert "pass --dest-lake" not in r.stderr
    r = invoke(runner, ["deidentify", "--config", str(lakes["config"]), "--explain"], lakes["lake"])
    assert "note: destinationDataset 'projects/p/locations/l/datasets/d' is ignored: pass --dest-lake" in r.stderr
    assert "no key_file" not in r.stderr


def test_run_notes_name_options(runner: CliRunner, lakes: dict[str, Path]) -> None:
    dest = lakes["root"] / f"deid-key{next(_unique)}"
    r = invoke(runner, ["deidentify", "--config", str(lakes["config"]), "--dest-lake", str(dest)], lakes["lake"])
    assert "warning: no --key-file: a random key was made" in r.stderr
    assert "(make a key with 'dicomlake keygen > key' to repeat them)" in r.stderr


# ---- progress -----------------------------------------------------------------------------
BAR = re.compile(r"\x1b\[|\r|━")


def _steps(lakes: dict[str, Path]) -> list[list[str]]:
    root, n = lakes["root"], next(_unique)
    lake = str(lakes["lake"])
    return [
        ["deidentify", "--lake", lake, "--config", str(lakes["config"]), "--dest-lake", str(root / f"pipe{n}")],
        ["verify", "--lake", str(lakes["deid"]), "--against", f"{lake}:sample"],
        ["export", "--lake", lake, "--store", "sample", "--to", f"dicom:{root / f'pipe-dicom{n}'}"],
    ]


def test_no_progress_in_pipes(lakes: dict[str, Path]) -> None:
    for args in _steps(lakes):
        p = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)
        assert p.returncode in (0, 1), p.stderr
        assert not BAR.search(p.stdout) and not BAR.search(p.stderr), (args[0], p.stderr)


def test_progress_on_a_terminal_goes_to_stderr(lakes: dict[str, Path]) -> None:
    """With stderr a terminal the bars are drawn there; stdout (a pipe) gets none of them."""
    labels = {"deidentify": "de-identify sample", "verify": "verify", "export": "export"}
    for args in _steps(lakes):
        main, tty = pty.openpty()
        proc = subprocess.Popen(
            [*CLI, *args], stdout=subprocess.PIPE, stderr=tty, env={**os.environ, "COLUMNS": "100", "TERM": "xterm"}
        )
        os.close(tty)
        seen = _read_all(main)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode in (0, 1), seen
        assert labels[args[0]] in seen, (args[0], seen)
        assert not BAR.search(out.decode()), args[0]


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def test_errors_name_options(runner: CliRunner, lakes: dict[str, Path]) -> None:
    """The library's advice in the CLI's words (the library's own words: tests/test_errors.py)."""
    r = invoke(runner, ["query", "instances_by_patient"], lakes["lake"])
    assert r.stderr.startswith("Error: query 'instances_by_patient' needs parameter PatientID")
    assert r.stderr.rstrip().endswith("pass --param PatientID=VALUE")
    r = invoke(runner, ["query", "-e", "SELECT * FROM store"], lakes["root"] / "deid")
    assert r.exit_code == 0  # one store: 'store' is it
    r = invoke(runner, ["deidentify", "--config", str(lakes["config"])], lakes["lake"])
    assert r.stderr.endswith(
        "Error: dataset-level de-identification needs --dest-lake DIR (a lake that does not exist yet)\n"
    )
    r = invoke(runner, ["store", "list"], lakes["root"] / "nolake")
    assert f"create one with 'dicomlake ingest SOURCE --lake {lakes['root'] / 'nolake'} --store NAME'" in r.stderr
