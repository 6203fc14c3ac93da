"""Tests for the shipped DICOM PS3.15 Table E.1-1 (dicomlake.deid.profile_table)."""

import collections
import dataclasses

import pytest

from dicomlake.deid import profile_table as pt

EXPECTED_ROWS = 656  # 655 dicom-anonymizer 2026c rows + the private-attributes row


def test_row_count():
    assert pt.count() == EXPECTED_ROWS
    assert len(pt.rows()) == EXPECTED_ROWS
    assert len({r.tag for r in pt.rows()}) == EXPECTED_ROWS


def test_loaded_once():
    assert pt.rows() is pt.rows()


@pytest.mark.parametrize(
    ("tag", "keyword", "basic"),
    [
        (0x0008103E, "SeriesDescription", "X"),
        (0x001021B0, "AdditionalPatientHistory", "X"),
        (0x0008002A, "AcquisitionDateTime", "X/Z/D"),
        (0x00100010, "PatientName", "Z"),
        (0x00100020, "PatientID", "Z/D"),
        (0x0020000D, "StudyInstanceUID", "U"),
        (0x00100030, "PatientBirthDate", "Z"),
    ],
)
def test_known_rows(tag, keyword, basic):
    row = pt.lookup(tag)
    assert row is not None
    assert row.tag == f"{tag:08X}"
    assert row.keyword == keyword
    assert row.basic == basic


def test_option_columns_spot_checks():
    assert pt.lookup(0x0008103E).clean_descriptors == "C"
    assert pt.lookup(0x0020000D).retain_uids == "K"
    assert pt.lookup(0x0008002A).retain_long_full_dates == "K"
    assert pt.lookup(0x0008002A).retain_long_modified_dates == "C"
    assert pt.lookup(0x00100010).options() == {}


def test_repeating_groups():
    overlay_comments = pt.lookup(0x60004000)
    assert overlay_comments is not None and overlay_comments.tag == "60xx4000"
    assert overlay_comments.basic == "X" and overlay_comments.clean_graphics == "C"
    overlay_data = pt.lookup(0x60023000)
    assert overlay_data is not None and overlay_data.tag == "60xx3000"
    assert pt.lookup(0x601E3000).tag == "60xx3000"
    assert pt.lookup(0x50100005).tag == "50xxxxxx"
    assert pt.lookup(0x60203000) is None  # outside the 00-1E repeating range
    assert pt.lookup(0x60000010) is None  # Overlay Rows: not in the table


def test_private_attributes():
    row = pt.lookup(0x00091010)
    assert row is not None and row.tag == pt.PRIVATE_TAG
    assert row.basic == "X" and row.retain_safe_private == "C"
    assert pt.lookup(0x60013000) is row  # odd group: private, not overlay data
    assert pt.lookup(0x00080016) is None  # SOP Class UID is kept: not in the table


def test_all_codes_valid():
    for row in pt.rows():
        assert row.basic in pt.VALID_CODES, row
        for column in pt.OPTION_COLUMNS:
            value = getattr(row, column)
            assert value is None or value in pt.VALID_CODES, (row.tag, column, value)


def test_basic_code_breakdown():
    counts = collections.Counter(r.basic for r in pt.rows())
    assert counts == {
        "X": 416, "D": 93, "U": 55, "Z": 42, "X/D": 23,
        "X/Z": 11, "X/Z/D": 8, "Z/D": 6, "X/Z/U*": 2,
    }  # fmt: skip


def test_option_column_sizes():
    sizes = {c: sum(getattr(r, c) is not None for r in pt.rows()) for c in pt.OPTION_COLUMNS}
    assert sizes["clean_descriptors"] == 134
    assert sizes["retain_uids"] == 60
    assert sizes["retain_long_full_dates"] == sizes["retain_long_modified_dates"] == 169
    assert sizes["clean_graphics"] == 4


def test_rows_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        pt.rows()[0].basic = "K"  # type: ignore[misc]


def test_lookup_rejects_non_tags():
    with pytest.raises(ValueError):
        pt.lookup(0x1_0000_0000)
