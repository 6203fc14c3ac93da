"""The fast byte writer gives the same instance as the pydicom writer wherever it applies."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pytest

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.plan import Planner
from dicomlake.deid.run import transform_store
from dicomlake.deid.udfs import ValueMaps, text_rule
from dicomlake.rematerialize.build import _fast, _with_pydicom

from .test_deid_roundtrip import compare

CONFIGS = {
    "basic": {"dicomTagConfig": {}},
    "keep_all": {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP"}}},
    "contents": {"dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"}},
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, testfiles_dir: Path) -> dicomlake.Lake:
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("encode")
    make_sample(root / "files", 40, seed=2)
    dicomlake.ingest(root / "lake", root / "files", "sample", progress=False)
    dicomlake.ingest(root / "lake", testfiles_dir, "testfiles", progress=False)
    return dicomlake.open(root / "lake")


def _rows(lake: dicomlake.Lake, config: str, store: str) -> list[tuple[dict[str, Any], str]]:
    """The store's transformed rows that make a Part 10 file, with their sources."""
    request = load_config(CONFIGS[config])
    planner = Planner(request.config)
    _, _, table = transform_store(
        lake, store, planner, ValueMaps(b"k" * 16, planner, text_rule(request.config.text)), None
    )
    out = []
    for row in table.to_pylist():
        source = row.pop("dl_src")
        row.pop("dl_row")
        if row.get("SOPInstanceUID") and row.get("SOPClassUID"):
            out.append((row, source))
    return out


# the sample store keeps private sequences under these configs: its rows take the pydicom writer (below)
CASES = [(c, s) for c in CONFIGS for s in ("sample", "testfiles") if s == "testfiles" or c == "basic"]


@pytest.mark.parametrize(("config", "store"), CASES)
def test_fast_writer_equals_pydicom_writer(lake: dicomlake.Lake, config: str, store: str) -> None:
    fast = 0
    for row, source in _rows(lake, config, store):
        data = _fast(row, source)
        if data is None:
            continue
        fast += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = pydicom.dcmread(io.BytesIO(_with_pydicom(row, source)))
            b = pydicom.dcmread(io.BytesIO(data))
        diffs: list[str] = []
        compare(a, b, "", diffs)
        compare(b, a, "", diffs)
        compare(a.file_meta, b.file_meta, "meta", diffs)
        compare(b.file_meta, a.file_meta, "meta", diffs)
        assert not diffs, (Path(source).name, diffs[:5])
    assert fast >= 40, "every case compares the two writers on many instances"


@pytest.mark.parametrize("config", [c for c in CONFIGS if ("sample", c) not in {(s, c) for c, s in CASES}])
def test_kept_private_sequences_take_the_pydicom_writer(lake: dicomlake.Lake, config: str) -> None:
    rows = _rows(lake, config, "sample")
    assert len(rows) == 40 and all(any(k.startswith("Tag_") and v for k, v in row.items()) for row, _ in rows)
    assert all(_fast(row, source) is None for row, source in rows)
