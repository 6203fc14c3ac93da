"""Filter files: the grammar, strict errors with file and line, and what a filter selects."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomlake.errors import FilterFileError
from dicomlake.store.filterfile import format_path, parse_filter, paths_from_table, read_filter

from .conftest import UID_RE, uids


def test_grammar_endings_blank_lines_and_duplicates(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_bytes(b"/studies/1.2\r\n\r\n/studies/1.3/series/4.5\n/studies/1.3/series/4.5/instances/6.7\n/studies/1.2\n")
    spec = read_filter(f)
    assert spec.studies == {"1.2"} and spec.series == {("1.3", "4.5")} and spec.instances == {("1.3", "4.5", "6.7")}
    assert [n for n, *_ in spec.lines] == [1, 3, 4, 5]


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("/dicomWeb/studies/1.2", "remove the /dicomWeb prefix"),
        ('"/studies/1.2"', "remove the quotes"),
        ("studies/1.2", "start with /studies/"),
        ("/studies/1.2/series", ""),
        ("/studies/1.2/instances/3", ""),
        ("/studies/1.x", ""),
        ("/studies/1.2 /series/3", "no spaces"),
    ],
)
def test_invalid_line_names_file_line_and_text(tmp_path: Path, line: str, hint: str) -> None:
    f = tmp_path / "filter.txt"
    f.write_text(f"/studies/1.2\n\n{line}\n")
    with pytest.raises(FilterFileError) as err:
        read_filter(f)
    msg = str(err.value)
    assert f"{f}:3:" in msg and repr(line) in msg and "/studies/STUDY_UID" in msg and hint in msg


def test_unreadable_filter_files(tmp_path: Path) -> None:
    with pytest.raises(FilterFileError, match="cannot read"):
        read_filter(tmp_path / "missing.txt")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FilterFileError, match="not a text file"):
        read_filter(tmp_path / "bin")


@given(uids())
def test_uid_strategy_gives_only_valid_uids(uid: str) -> None:
    assert len(uid) <= 64 and re.fullmatch(UID_RE, uid), uid


def test_property_tests_are_derandomized_under_ci() -> None:
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.deadline is None and ci.print_blob
    assert settings.default.derandomize == bool(os.environ.get("CI"))


@given(st.lists(st.tuples(uids(), st.none() | uids(), st.none() | uids()), max_size=20))
def test_format_then_parse_round_trips(items: list[tuple[str, str | None, str | None]]) -> None:
    paths = [format_path(a, b, c if b else None) for a, b, c in items]
    spec = parse_filter(paths, "mem")
    assert [p for _, p, *_ in spec.lines] == paths


def test_paths_from_query_shapes() -> None:
    t = pa.table({"StudyInstanceUID": ["1.2", "1.2"], "SeriesInstanceUID": ["3.4", "3.4"]})
    assert paths_from_table(t) == ["/studies/1.2/series/3.4"]
    assert paths_from_table(pa.table({"x": ["/studies/9"]})) == ["/studies/9"]
    with pytest.raises(FilterFileError, match="StudyInstanceUID"):
        paths_from_table(pa.table({"a": ["x"], "b": ["y"]}))
    with pytest.raises(FilterFileError, match="StudyInstanceUID"):
        paths_from_table(pa.table({"SeriesInstanceUID": ["3.4"]}))
    with pytest.raises(FilterFileError, match="row 1"):
        paths_from_table(pa.table({"p": ["not a path"]}))
