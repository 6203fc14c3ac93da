"""Markers from the plan (one test per CID 7050 code written), values valid for their VR, and
verify never reporting the plan's own dummies."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.plan import Planner
from dicomlake.deid.run import deidentify
from dicomlake.deid.transform_text import compile_text_config
from dicomlake.deid.udfs import ValueMaps
from dicomlake.deid.vr_values import dummy, fit, fits

from .helpers import cli
from .test_deid_basic import DCIODVFY
from .test_deid_documented import DEST
from .test_deid_documented import run as run_seed


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("markers")
    make_sample(root / "files", 6, seed=5)
    dicomlake.ingest(root / "lake", root / "files", "s", progress=False)
    return root / "lake"


def outputs(lake: Path, tmp_path: Path, tag_config: dict, **config: object) -> list[pydicom.Dataset]:
    """De-identify ``lake`` with no Python warning printed; the written files."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deidentify(lake, load_config({"dicomTagConfig": tag_config, **config}), dest_lake=tmp_path / "d", workers=1)
    files = dicomlake.open(tmp_path / "d").sql("SELECT dl_source FROM s").fetchall()
    assert files, "the run wrote no file: the checks over its outputs would check nothing"
    return [pydicom.dcmread(f) for (f,) in files]


def codes(ds: pydicom.Dataset) -> set[str]:
    return {item.CodeValue for item in ds.get("DeidentificationMethodCodeSequence", [])}


def keep(*queries: str) -> dict:
    return {"actions": [{"queries": list(queries), "keepTag": {}}]}


def test_basic_profile_is_yes_with_113100(lake: Path, tmp_path: Path) -> None:
    for ds in outputs(lake, tmp_path, {}):
        assert ds.PatientIdentityRemoved == "YES" and codes(ds) == {"113100"}
        assert "dicomlake ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE" in ds.DeidentificationMethod


def test_documented_keep_tag_is_no_with_one_warning_line(lake: Path, tmp_path: Path) -> None:
    body = {"destinationDataset": DEST, "config": {"dicomTagConfig": keep("PatientName")}}
    assert str(run_seed(tmp_path / "seed", body).PatientIdentityRemoved) == "NO"
    request = tmp_path / "keep.json"
    request.write_text(json.dumps(body))
    p = cli("deidentify", "--lake", str(lake), "--config", str(request), "--dest-lake", str(tmp_path / "d"))
    assert p.returncode == 0, p.stderr
    warned = [ln for ln in p.stderr.splitlines() if ln.startswith("warning: ") and "PatientIdentityRemoved" in ln]
    assert len(warned) == 1 and warned[0].endswith("1 identifying attribute keeps its original value: PatientName"), (
        p.stderr
    )
    for (f,) in dicomlake.open(tmp_path / "d").sql("SELECT dl_source FROM s").fetchall():
        ds = pydicom.dcmread(f)
        assert ds.PatientIdentityRemoved == "NO" and "113100" not in codes(ds) and str(ds.PatientName)
    explained = cli("deidentify", "--lake", str(lake), "--config", str(request), "--explain")
    assert (
        "PatientIdentityRemoved NO" in explained.stdout and "kept: PatientName (actions[0] keepTag" in explained.stdout
    )


def test_keep_all_with_new_sop_uid_has_no_113110(lake: Path, tmp_path: Path) -> None:
    tags = {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP"}}
    tags["actions"] = [{"queries": ["00080018"], "regenUidTag": {}}]
    for ds in outputs(lake, tmp_path, tags):
        assert ds.PatientIdentityRemoved == "NO" and not codes(ds) & {"113100", "113110"}


def test_keep_all_that_changes_nothing_writes_no_marker_and_says_so(tmp_path: Path) -> None:
    """KEEP_ALL + primaryIds KEEP gives the source's files back: no marker of ours is written (a
    source's own, here PatientIdentityRemoved YES from an earlier tool, stays as it was), and the
    run says that no marker was written rather than claiming NO."""
    from .conftest import write_instance

    write_instance(tmp_path / "src" / "a.dcm", PatientIdentityRemoved="YES")
    dicomlake.ingest(tmp_path / "lake", tmp_path / "src", "s", progress=False)
    config = tmp_path / "keep_all.json"
    config.write_text(
        json.dumps({"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP"}}})
    )
    p = cli("deidentify", "--lake", str(tmp_path / "lake"), "--config", str(config), "--dest-lake", str(tmp_path / "d"))
    assert p.returncode == 0, p.stderr
    warned = [ln for ln in p.stderr.splitlines() if "marker" in ln]
    assert len(warned) == 1 and "the plan changes nothing, so no de-identification marker is written" in warned[0]
    assert "PatientIdentityRemoved is NO" not in p.stderr
    (out,) = dicomlake.open(tmp_path / "d").sql("SELECT dl_source FROM s").fetchall()
    assert Path(out[0]).read_bytes()[132:] == (tmp_path / "src" / "a.dcm").read_bytes()[132:]
    explained = cli("deidentify", "--lake", str(tmp_path / "lake"), "--config", str(config), "--explain")
    assert "markers of store 's': none written (the plan changes nothing)" in explained.stdout


def test_113110_every_uid_kept(lake: Path, tmp_path: Path) -> None:
    src = {ds.SOPInstanceUID for ds in outputs(lake, tmp_path / "a", {})}  # regenerated
    out = outputs(lake, tmp_path / "b", {"options": {"primaryIds": "KEEP"}, **keep("UI")})
    for ds in out:
        assert ds.PatientIdentityRemoved == "YES" and codes(ds) == {"113100", "113110"}
    assert not src & {ds.SOPInstanceUID for ds in out}
    # primary UIDs kept while other UIDs are replaced: not the option, so the kept UIDs count
    for ds in outputs(lake, tmp_path / "c", {"options": {"primaryIds": "KEEP"}}):
        assert ds.PatientIdentityRemoved == "NO" and "113110" not in codes(ds)


def test_113105_clean_descriptors(lake: Path, tmp_path: Path) -> None:
    for ds in outputs(lake, tmp_path, {"options": {"cleanDescriptors": {}}}):
        assert ds.PatientIdentityRemoved == "YES" and codes(ds) == {"113100", "113105"}


def test_113107_dates_shifted(lake: Path, tmp_path: Path) -> None:
    tags = {"actions": [{"queries": ["StudyDate", "SeriesDate"], "cleanTextTag": {}}]}
    for ds in outputs(lake, tmp_path, tags):
        assert ds.PatientIdentityRemoved == "YES" and codes(ds) == {"113100", "113107"}
        assert len(ds.StudyDate) == 8 and ds.StudyDate != "19000101"


def test_shifted_dates_are_never_full_dates(lake: Path, tmp_path: Path) -> None:
    """DEIDENTIFY_TAG_CONTENTS shifts dates and keeps times: the Modified Dates option (113107), never
    also Full Dates (113106, its alternative in PS3.15 E.3.6); the kept times make it NO."""
    for ds in outputs(lake, tmp_path, {"profileType": "DEIDENTIFY_TAG_CONTENTS"}):
        assert "113107" in codes(ds) and "113106" not in codes(ds), codes(ds)
        assert "Full Dates" not in " ".join(ds.DeidentificationMethod) and ds.PatientIdentityRemoved == "NO"


@pytest.mark.parametrize(
    ("queries", "code"),
    [
        (["PatientSex", "PatientAge", "PatientWeight"], "113108"),
        (["StationName"], "113109"),
        (["InstitutionName"], "113112"),
        (["StudyDate"], "113106"),
    ],
)
def test_retain_options(lake: Path, tmp_path: Path, queries: list[str], code: str) -> None:
    src = {
        q: v for q in queries for (v,) in dicomlake.open(lake).sql(f"SELECT DISTINCT {q}::VARCHAR FROM s").fetchall()
    }
    assert any(src.values()), "the sample must hold these attributes"
    for ds in outputs(lake, tmp_path, keep(*queries)):
        assert ds.PatientIdentityRemoved == "YES" and codes(ds) == {"113100", code}


def test_113101_only_on_pixels_read(tmp_path: Path) -> None:
    from dicomlake.demo.burned import make_burned_in

    make_burned_in(tmp_path / "files", 1)
    dicomlake.ingest(tmp_path / "lake", tmp_path / "files", "s", progress=False)
    image = {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT"}}}
    (ds,) = outputs(tmp_path / "lake", tmp_path, image)
    assert ds.PatientIdentityRemoved == "YES" and codes(ds) == {"113100", "113101"}
    assert ds.BurnedInAnnotation == "NO" and any("burned-in" in m for m in ds.DeidentificationMethod)
    (plain,) = outputs(tmp_path / "lake", tmp_path / "plain", {})
    assert "113101" not in codes(plain)


def test_deidentify_tag_contents_ages_are_valid(lake: Path, tmp_path: Path) -> None:
    ages = []
    for ds in outputs(lake, tmp_path, {"profileType": "DEIDENTIFY_TAG_CONTENTS"}):
        assert ds.PatientIdentityRemoved == "NO"  # what the detectors do not find stays
        if "PatientAge" in ds:
            assert fits("AS", ds.PatientAge), ds.PatientAge
            ages.append(ds.PatientAge)
    assert ages, "no output holds a PatientAge: nothing was checked"


VRS = ("AE", "AS", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VRS), st.text(max_size=80))
def test_fit_always_fits(vr: str, text: str) -> None:
    out = fit(vr, text)
    assert fits(vr, out) and out in (text, dummy(vr))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(VRS),
    st.sampled_from(["replaceWithInfoTypeConfig", "characterMaskConfig", "cryptoHashConfig", "redactConfig"]),
    st.lists(st.sampled_from(["Ann Johnson", "45 years", "12/03/1988", "555-123-4567", "045Y", "CT HEAD"]), max_size=4),
)
def test_transformed_text_fits_its_vr(vr: str, kind: str, words: list[str]) -> None:
    text = " ".join(words)
    rule = compile_text_config({"additionalTransformations": [{"infoTypes": [], kind: {}}]})
    maps = ValueMaps(b"k" * 32, Planner(load_config({"dicomTagConfig": {}}).config), rule)
    context = json.dumps({"n": ["JOHNSON^ANN"], "i": [], "d": ["19880312"], "c": []})
    out = maps.clean(text, context, vr)
    assert out == text or fits(vr, out), (vr, text, out)


def test_verify_ignores_the_plans_dummies(tmp_path: Path) -> None:
    """A source holding 19000101 (the dummy date written for D dates): a clean output exits 0."""
    from dicomlake.demo.sample import make_sample

    paths = make_sample(tmp_path / "files", 8, seed=2)
    ds = pydicom.dcmread(paths[0])
    ds.AcquisitionDate = "19000101"
    ds.save_as(paths[0])
    assert cli("ingest", str(tmp_path / "files"), "--lake", str(tmp_path / "lake"), "--store", "s").returncode == 0
    request = tmp_path / "basic.json"
    request.write_text(json.dumps({"dicomTagConfig": {}}))
    p = cli(
        "deidentify", "--lake", str(tmp_path / "lake"), "--config", str(request), "--dest-lake", str(tmp_path / "d")
    )
    assert p.returncode == 0, p.stderr
    dates = dicomlake.open(tmp_path / "d").sql("SELECT count(*) FROM s WHERE ContentDate = DATE '1900-01-01'")
    assert dates.fetchall()[0][0] > 0  # the plan wrote the dummy the source also held
    p = cli("verify", "--lake", str(tmp_path / "d"), "--against", f"{tmp_path / 'lake'}:s")
    assert p.returncode == 0, p.stdout + p.stderr


REQUESTS = {
    "contents": {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}},
    "descriptors": {"dicomTagConfig": {"options": {"cleanDescriptors": {}}}},
    "info_types": {
        "dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"},
        "text": {"additionalTransformations": [{"infoTypes": [], "replaceWithInfoTypeConfig": {}}]},
    },
}
TEST_FILES = ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "waveform_ecg.dcm", "JPEG2000.dcm")


def _vr_problems(path: str) -> set[str]:
    """dciodvfy's VR errors and warnings of a file (the element, not where it is)."""
    import re
    import subprocess

    p = subprocess.run(["dciodvfy", path], capture_output=True, text=True, timeout=60)
    lines = (p.stdout + p.stderr).splitlines()
    return {re.sub(r"\s+", " ", ln) for ln in lines if "for this VR" in ln or "invalid data values" in ln}


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (Debian dicom3tools) is installed by ./dev.sh")
@pytest.mark.parametrize("name", list(REQUESTS))
def test_dciodvfy_finds_no_new_vr_problem(tmp_path: Path, name: str) -> None:
    import shutil

    from pydicom.data import get_testdata_file

    from dicomlake.demo.sample import make_sample

    make_sample(tmp_path / "files", 4, seed=7)
    for f in TEST_FILES:
        shutil.copy(str(get_testdata_file(f, download=False)), tmp_path / "files" / f)
    dicomlake.ingest(tmp_path / "lake", tmp_path / "files", "s", progress=False)
    walk = tmp_path / "crosswalk.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deidentify(
            tmp_path / "lake", load_config(REQUESTS[name]), dest_lake=tmp_path / "d", workers=1, crosswalk=str(walk)
        )
    src, dest = dicomlake.open(tmp_path / "lake"), dicomlake.open(tmp_path / "d")
    pairs = src.sql(
        f"SELECT s.dl_source, d.dl_source FROM s JOIN read_parquet('{walk}') w ON w.original = s.SOPInstanceUID "
        f"JOIN read_parquet('{dest.store_info('s').files[0]}') d ON d.SOPInstanceUID = w.new"
    ).fetchall()
    assert len(pairs) == 4 + len(TEST_FILES)
    for a, b in pairs:
        assert _vr_problems(b) <= _vr_problems(a), (a, b)


def test_dates_get_the_dummy_where_a_token_cannot_fit(lake: Path, tmp_path: Path) -> None:
    text = {"additionalTransformations": [{"infoTypes": [], "replaceWithInfoTypeConfig": {}}]}
    for ds in outputs(lake, tmp_path / "a", {"profileType": "DEIDENTIFY_TAG_CONTENTS"}, text=text):
        assert ds.StudyDate == "19000101" and fits("DA", ds.StudyDate)
    redact = {"additionalTransformations": [{"infoTypes": ["DATE"], "redactConfig": {}}]}
    for ds in outputs(lake, tmp_path / "b", {"profileType": "DEIDENTIFY_TAG_CONTENTS"}, text=redact):
        assert "StudyDate" in ds and ds.StudyDate == ""  # present (Type 2), empty


def test_readme_lists_the_dummies() -> None:
    from dicomlake.deid.vr_values import DUMMY, PLACEHOLDER

    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    for vr in ("DA", "TM", "DT", "AS"):
        assert f"{vr} `{DUMMY[vr]}`" in readme, vr
    assert f"text `{PLACEHOLDER}`, PN `{PLACEHOLDER}^`" in readme


@pytest.mark.parametrize(
    "tag_config",
    [
        {"profileType": "DEIDENTIFY_TAG_CONTENTS"},  # dates shifted
        {"profileType": "KEEP_ALL_PROFILE", "actions": [{"queries": ["PatientBirthDate"], "resetTag": {}}]},
    ],
)
def test_an_empty_date_stays_present_and_empty(tmp_path: Path, tag_config: dict) -> None:
    """A Type 2 date the source wrote empty is not dropped by an action that rewrites values."""
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientBirthDate = ""
    (tmp_path / "files").mkdir()
    ds.save_as(tmp_path / "files" / "empty_birth_date.dcm")
    dicomlake.ingest(tmp_path / "lake", tmp_path / "files", "s", progress=False)
    (out,) = outputs(tmp_path / "lake", tmp_path, tag_config)
    assert "PatientBirthDate" in out and out.PatientBirthDate == ""
