"""De-identification in batches: a store transformed and rematerialized a few rows at a time gives
the rows and files that one batch gives."""

from __future__ import annotations

import base64
from pathlib import Path

import duckdb
import pytest

import dicomlake
from dicomlake.deid import run
from dicomlake.deid.config import load_config
from dicomlake.demo.sample import make_sample


def _deidentify(src: Path, dest: Path, key: Path) -> dicomlake.Lake:
    summary = run.deidentify(src, load_config({"dicomTagConfig": {}}), dest_lake=dest, key_file=str(key), workers=2)
    assert summary.failed == 0 and summary.stores[0].selected == summary.stores[0].success == 30
    return dicomlake.open(dest)


def test_batches_give_the_rows_and_files_of_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_sample(tmp_path / "files", 30, seed=3)
    dicomlake.ingest(tmp_path / "lake", tmp_path / "files", "s", progress=False, workers=2)
    assert len(dicomlake.open(tmp_path / "lake").store_info("s").files) > 2  # one file per ingest task
    key = tmp_path / "key"
    key.write_text(base64.b64encode(bytes(range(32))).decode())
    one = _deidentify(tmp_path / "lake", tmp_path / "one", key)
    monkeypatch.setattr(run, "BATCH_ROWS", 7)
    many = _deidentify(tmp_path / "lake", tmp_path / "many", key)
    assert len(one.store_info("s").files) == 1 and len(many.store_info("s").files) > 2
    con = duckdb.connect()
    a, b = (
        con.from_arrow(x.sql("SELECT * EXCLUDE (dl_source, dl_ingested_at) FROM s").to_arrow_table())
        for x in (one, many)
    )
    assert a.count("*").fetchall() == b.count("*").fetchall() == [(30,)]
    assert a.except_(b).fetchall() == [] and b.except_(a).fetchall() == []  # dl_source_sha256: same file bytes
