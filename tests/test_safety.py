"""The mistakes users make, from the command line: changed sources, wrong destinations, secrets
overwritten, instances no store could hold, runs that did nothing. Each is refused with one
``Error:`` line (or listed as a failure) and leaves the lake as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import dicomlake

from .test_cli import assert_error, run


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("safety")
    assert run("sample", str(root / "files"), "--n", "8").returncode == 0
    return root / "files"


def _lake(files: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """A copy of the sample files ingested into a fresh lake (the tests change the copies)."""
    src = tmp_path / "src"
    shutil.copytree(files, src)
    p = run("ingest", str(src), "--lake", str(tmp_path / "lake"), "--store", "s")
    assert p.returncode == 0, p.stderr
    rows = dicomlake.open(tmp_path / "lake").sql("SELECT dl_source FROM s ORDER BY dl_source").fetchall()
    return tmp_path / "lake", [Path(r[0]) for r in rows]


def _config(tmp_path: Path, body: dict | None = None) -> str:
    p = tmp_path / "request.json"
    p.write_text(json.dumps(body or {"dicomTagConfig": {}}))
    return str(p)


def _state(lake: Path) -> tuple[dict[str, int], list[str]]:
    """What a user sees of a lake: row count per store and every file below it."""
    lk = dicomlake.open(lake)
    rows = {s: lk.table(s).count("*").fetchall()[0][0] for s in lk.stores}
    return rows, sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file() and "catalog" not in p.name)


def _changed(paths: list[Path]) -> dict[str, str]:
    """Replace one source with another patient's file, cut one short, delete one: their paths."""
    paths[0].write_bytes(paths[-1].read_bytes())
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) - 1000])
    paths[2].unlink()
    return {"replaced": str(paths[0]), "malformed": str(paths[1]), "vanished": str(paths[2])}


def test_deidentify_lists_changed_sources_and_writes_the_rest(files: Path, tmp_path: Path) -> None:
    lake, paths = _lake(files, tmp_path)
    changed = _changed(paths)
    dest = tmp_path / "dest"
    p = run("deidentify", "--lake", str(lake), "--config", _config(tmp_path), "--dest-lake", str(dest))
    assert p.returncode == 1
    assert "success 5, failure 3" in p.stdout
    failed = [ln for ln in p.stderr.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == 3
    for what in ("replaced", "malformed"):
        (line,) = [ln for ln in failed if changed[what] in ln]
        assert "source file changed since ingest" in line and "re-ingest it" in line
    (line,) = [ln for ln in failed if changed["vanished"] in ln]
    assert "vanished since ingest" in line
    assert p.stderr.strip().splitlines()[-1].startswith("Error: 3 instances failed")
    out = dicomlake.open(dest)
    (store,) = out.stores
    assert out.table(store).count("*").fetchall()[0][0] == 5
    assert len(list((dest / "files").rglob("*.dcm"))) == 5
    issues = out.issues().filter("severity = 'error'").fetchall()
    assert len(issues) == 3


def test_export_verify_and_preview_check_their_sources(files: Path, tmp_path: Path) -> None:
    lake, paths = _lake(files, tmp_path)
    dest = tmp_path / "dest"
    p = run("deidentify", "--lake", str(lake), "--config", _config(tmp_path), "--dest-lake", str(dest))
    assert p.returncode == 0, p.stderr
    changed = _changed(paths)
    p = run("export", "--lake", str(lake), "--store", "s", "--to", f"dicom:{tmp_path / 'out'}")
    assert p.returncode == 1 and "exported 5 of 8" in p.stdout
    assert sum("source file changed since ingest" in ln for ln in p.stderr.splitlines()) == 2
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 5
    written = sorted((dest / "files").rglob("*.dcm"))
    written[0].write_bytes(written[0].read_bytes() + b"\0\0")  # a de-identified file changed afterwards
    p = run("verify", "--lake", str(dest), "--against", f"{lake}:s")
    assert p.returncode == 1
    assert f"warning: {written[0]}: not read: source file changed since ingest" in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("Error: 1 of 8 files")
    uid = dicomlake.open(lake).sql("SELECT SOPInstanceUID FROM s WHERE dl_source = $p", {"p": changed["replaced"]})
    args = ["--lake", str(lake), "--store", "s", "--instance", uid.fetchall()[0][0], "--out", str(tmp_path / "x.png")]
    assert_error(run("redact-preview", *args), "source file changed since ingest", changed["replaced"])
    assert not (tmp_path / "x.png").exists()
