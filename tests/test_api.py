"""The Python API keeps the rules the CLI keeps: the same refusals, worded in each one's terms
(the API names its parameters, the CLI its options)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app, cli_message
from dicomlake.errors import SourceError, StoreError
from dicomlake.store.filterfile import read_filter

from .conftest import write_instance

DATASET_FILTER = "--dest-store and --filter are for store-level de-identification: add --store NAME"


@pytest.fixture
def lake(tmp_path: Path) -> dicomlake.Lake:
    write_instance(tmp_path / "files" / "a.dcm")
    dicomlake.ingest(tmp_path / "lake", tmp_path / "files", "s", progress=False, workers=1)
    return dicomlake.open(tmp_path / "lake")


def _filter(tmp_path: Path, lake: dicomlake.Lake) -> Path:
    ((study,),) = lake.table("s").select("StudyInstanceUID").fetchall()
    path = tmp_path / "filter.txt"
    path.write_text(f"/studies/{study}\n")
    return path


def test_a_dataset_level_filter_is_refused_by_the_api_as_by_the_cli(lake: dicomlake.Lake, tmp_path: Path) -> None:
    filter_file = _filter(tmp_path, lake)
    config = {"dicomTagConfig": {}}
    with pytest.raises(StoreError) as api_error:
        lake.deidentify(config, dest_lake=tmp_path / "out", spec=read_filter(filter_file))
    assert str(api_error.value) == "dest_store and spec are for store-level de-identification: add store=NAME"
    assert cli_message(api_error.value) == DATASET_FILTER
    with pytest.raises(StoreError, match="add store=NAME"):
        lake.deidentify(config, dest_lake=tmp_path / "out", dest_store="t")
    config_file = tmp_path / "config.json"
    config_file.write_text('{"dicomTagConfig": {}}')
    args = ["deidentify", "--lake", str(lake.root), "--config", str(config_file), "--dest-lake", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--filter", str(filter_file)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {DATASET_FILTER}"
    assert not (tmp_path / "out").exists()  # nothing was written by either


def test_ingest_options_of_the_other_kind_of_source_are_errors(lake: dicomlake.Lake, tmp_path: Path) -> None:
    files = tmp_path / "files"
    url = "http://127.0.0.1:9/dicom-web"  # refused before any request is made
    cases = [
        (lambda: lake.ingest(files, "t", exact=True), "exact is for a DICOMweb source", "--exact is"),
        (lambda: dicomlake.ingest(lake.root, files, "t", batch=10), "batch is for a DICOMweb", "--batch-studies is"),
        (lambda: dicomlake.ingest(lake.root, url, "t", strict=True), "strict is for file ingest", "--strict is"),
        (
            lambda: dicomlake.ingest(lake.root, url, "t", spark=object()),
            "spark is for file ingest",
            "--engine spark is",
        ),
    ]
    for call, python, cli in cases:
        with pytest.raises(SourceError, match=python) as error:
            call()
        assert cli_message(error.value).startswith(cli)
    assert lake.stores == ["s"]
    result = CliRunner().invoke(app, ["ingest", str(files), "--lake", str(lake.root), "--store", "t", "--exact"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: --exact is for a DICOMweb source; files are always read exactly"


def test_the_lake_is_the_read_model_with_the_writes(lake: dicomlake.Lake) -> None:
    from dicomlake.store.views import LakeView

    view = LakeView(lake.root)
    assert isinstance(lake, LakeView) and view.stores == lake.stores == ["s"]
    assert view.table("s").fetchall() == lake.table("s").fetchall()
    assert repr(lake).startswith("Lake(") and repr(view).startswith("LakeView(")
