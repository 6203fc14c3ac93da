"""PHI detectors: the examples of Google's de-identification documentation, every written form of a context name/date, a non-PHI corpus."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomlake.deid.detect import (
    DEFAULT_INFO_TYPES,
    Context,
    Finding,
    detect,
    parse_date,
    variants_of_date,
    variants_of_name,
)
from dicomlake.deid.transform_text import render_date

ANN = Context(
    person_names=("JOHNSON^ANN^M",),
    identifiers=("S1214223-1", "ACC99812"),
    dates=("19880812",),
)
WITH_CTX = DEFAULT_INFO_TYPES | {"CTX"}


def found(text: str, ctx: Context | None = None, info_types: frozenset[str] | None = None) -> list[tuple[str, str]]:
    return [(f.info_type, f.text) for f in detect(text, ctx, info_types)]


# --- the documentation's examples ------------------------------------------------


def test_documented_patient_name_value_is_one_person_name():
    # PatientName "Ann Johnson" -> "[PERSON_NAME]" (one finding for the whole value)
    assert found("Ann Johnson") == [("PERSON_NAME", "Ann Johnson")]
    assert found("JOHNSON^ANN^M") == [("PERSON_NAME", "JOHNSON^ANN^M")]


def test_documented_clean_descriptors_wall():
    # the patient's last name is Wall; StudyDescription mentions "Wall"
    ctx = Context(ctx_phrases=("Wall^Ann",))
    assert found("CHEST WALL MASS", ctx, WITH_CTX) == [("CTX", "WALL")]
    assert found("CHEST WALL MASS", ctx) == []  # CTX only when asked for
    assert found("CHEST WALL MASS") == []


def test_documented_female_stays_with_clean_descriptors():
    # PatientSex "F" is a context value, but "Female" is not PHI and "F" is too short to search for
    ctx = Context(ctx_phrases=("F", "Wall^Ann"))
    assert found("Female", ctx, WITH_CTX) == []


def test_context_name_alone_is_a_name_only_for_its_patient():
    assert found("Chest wall", Context(person_names=("WALL^ANN",))) == [("PERSON_NAME", "wall")]
    assert found("Chest wall", Context(person_names=("JOHNSON^ANN",))) == []


# --- variants ---------------------------------------------------------------------


def test_variants_of_name():
    v = variants_of_name("JOHNSON^ANN^M")
    assert {"JOHNSON^ANN", "ANN JOHNSON", "JOHNSON, ANN", "JOHNSON ANN", "A. JOHNSON", "JOHNSON", "ANN"} <= v
    assert "M" not in v
    assert "AL" not in variants_of_name("LI^AL")  # parts alone only from 3 letters
    assert {"Ann Johnson", "Johnson, Ann", "Johnson^Ann", "A. Johnson"} <= variants_of_name("Ann Johnson")
    assert {"Johnson^Ann", "Ann Johnson"} <= variants_of_name("Johnson, Ann")


@pytest.mark.parametrize("variant", sorted(variants_of_name("JOHNSON^ANN^M")))
@pytest.mark.parametrize("case", [str, str.lower, str.title])
def test_every_name_variant_is_found_in_a_sentence(variant, case):
    v = case(variant)
    text = f"Images reviewed with {v} today."
    assert ("PERSON_NAME", v) in found(text, ANN)


def test_variants_of_date():
    v = variants_of_date("19880812")
    expected = {
        "19880812",
        "1988-08-12",
        "08/12/1988",
        "12/08/1988",
        "1988/08/12",
        "12.08.1988",
        "August 12, 1988",
        "12 August 1988",
        "08/12/88",
    }
    assert expected <= v
    assert variants_of_date("19880230") == set()
    assert variants_of_date("1988") == set()


@pytest.mark.parametrize("variant", sorted(variants_of_date("19880812")))
@pytest.mark.parametrize("ctx", [ANN, None], ids=["context", "generic"])
def test_every_date_variant_is_found_in_a_sentence(variant, ctx):
    assert found(f"DOB {variant}; seen again.", ctx) == [("DATE", variant)]


@given(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)))
def test_any_date_in_any_variant_is_found_whole_and_round_trips(d):
    for v in variants_of_date(d.strftime("%Y%m%d")):
        assert found(f"on {v} at", None, frozenset({"DATE"})) == [("DATE", v)]
        written = parse_date(v)
        assert written is not None
        assert render_date(written, written.date) == v
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", v):  # MM/DD or DD/MM: read as US first
            assert written.date in (d, dt.date(d.year, d.day, d.month) if d.day <= 12 else d)
        elif re.fullmatch(r"\d\d/\d\d/\d\d", v):  # two-digit year: century by pivot
            assert written.date.replace(year=d.year) == d and written.date.year % 100 == d.year % 100
        else:
            assert written.date == d


# --- info types -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("DOB 19880812", "19880812"),
        ("on 2011-09-09", "2011-09-09"),
        ("on 9/9/2011", "9/9/2011"),
        ("on 31/12/2011", "31/12/2011"),
        ("on 31.12.2011", "31.12.2011"),
        ("on Sept. 9th, 2011", "Sept. 9th, 2011"),
        ("on 9-SEP-2011", "9-SEP-2011"),
        ("in September 2011", "September 2011"),
        ("on 21000101", "21000101"),
    ],
)
def test_dates(text, expected):
    assert found(text) == [("DATE", expected)]


@pytest.mark.parametrize(
    "text",
    [
        "18991231",
        "21010101",
        "20011301",
        "20010229",
        "12345678",
        "02/30/2001",
        "2011-13-01",
        "1.2.19880812.3",
        "x19880812",
    ],
)
def test_not_dates(text):
    assert found(text) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a 45 years old woman", "45 years old"),
        ("a 45-year-old woman", "45-year-old"),
        ("female, 45 yo", "45 yo"),
        ("female, 45 y/o", "45 y/o"),
        ("PatientAge 045Y", "045Y"),
        ("45Y F", "45Y"),
        ("infant 003M", "003M"),
        ("age 45", "45"),
        ("Age: 45", "45"),
    ],
)
def test_ages(text, expected):
    assert found(text) == [("AGE", expected)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call (555) 123-4567", "(555) 123-4567"),
        ("call 555-123-4567.", "555-123-4567"),
        ("call 555.123.4567", "555.123.4567"),
        ("call +1 555 123 4567", "+1 555 123 4567"),
        ("call +44 20 7946 0958", "+44 20 7946 0958"),
        ("ext 555-1234", "555-1234"),
    ],
)
def test_phone_numbers(text, expected):
    assert found(text) == [("PHONE_NUMBER", expected)]


def test_email_and_ssn():
    assert found("mail ann.johnson+x@example-clinic.org now") == [("EMAIL_ADDRESS", "ann.johnson+x@example-clinic.org")]
    assert found("SSN 123-45-6789") == [("US_SOCIAL_SECURITY_NUMBER", "123-45-6789")]
    for bad in ("000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000"):
        assert found(bad) == [], bad


def test_identifiers_are_whole_tokens():
    assert found("MRN S1214223-1, acc ACC99812", ANN) == [
        ("MEDICAL_RECORD_NUMBER", "S1214223-1"),
        ("MEDICAL_RECORD_NUMBER", "ACC99812"),
    ]
    assert found("S1214223-12 XACC99812", ANN) == []
    assert found("id 12 here", Context(identifiers=("12",))) == []  # too short to search for


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ann Johnson", "Ann Johnson"),
        ("JOHNSON ANN", "JOHNSON ANN"),
        ("Johnson, Ann", "Johnson, Ann"),
        ("Mary Ann Johnson", "Mary Ann Johnson"),
        ("John A. Smith", "John A. Smith"),
        ("seen by Dr. Kowalczyk", "Dr. Kowalczyk"),
        ("BERRA^JAMES", "BERRA^JAMES"),
    ],
)
def test_generic_person_names(text, expected):
    assert ("PERSON_NAME", expected) in found(text)


def test_name_does_not_swallow_acronyms():
    assert found("Johnson, Ann MRN 1") == [("PERSON_NAME", "Johnson, Ann")]


# --- overlaps and selection -------------------------------------------------------


def test_longest_wins_then_earliest():
    # "Ann Johnson" (context variant) covers "Ann" and "Johnson" alone
    assert found("Ann Johnson", ANN) == [("PERSON_NAME", "Ann Johnson")]
    fs = detect("x Johnson, Ann y", ANN)
    assert fs == [Finding(2, 14, "PERSON_NAME", "Johnson, Ann")]


def test_same_span_uses_priority():
    ctx = Context(identifiers=("19880812",))
    assert found("ID 19880812", ctx) == [("MEDICAL_RECORD_NUMBER", "19880812")]


def test_info_types_select():
    text = "Ann Johnson 45 yo 08/12/1988"
    assert found(text, ANN, frozenset({"DATE"})) == [("DATE", "08/12/1988")]
    assert found(text, ANN, frozenset()) == []
    assert [t for t, _ in found(text, ANN)] == ["PERSON_NAME", "AGE", "DATE"]


def test_findings_are_sorted_and_disjoint():
    text = "Ann Johnson (S1214223-1) 19880812 ann@example.org 555-123-4567 Dr. Smith 45Y"
    fs = detect(text, ANN)
    assert [f.start for f in fs] == sorted(f.start for f in fs)
    assert all(a.end <= b.start for a, b in itertools.pairwise(fs))
    assert all(text[f.start : f.end] == f.text for f in fs)


# --- precision: non-PHI radiology strings ----------------------------------------

NON_PHI = [
    "AX T2 FLAIR", "CT CHEST W/O CONTRAST 5.0 mm", "Female", "Male", "AXIAL", "LOCALIZER", "CHEST", "HEAD", "WALL",
    "CHEST WALL", "Chest wall", "SAG T1 MPRAGE", "COR T2 STIR", "DWI b=1000", "ADC map", "MR BRAIN W/WO CONTRAST",
    "CT HEAD WO", "CTA CHEST PE PROTOCOL", "PET/CT WHOLE BODY", "Scout", "Topogram 0.6 T20s", "Body 5.0 B31f",
    "Abdomen^01_Abdomen", "Head^Routine", "abdomen^liver", "MAMMO SCREENING BILATERAL", "L CC", "R MLO",
    "US ABDOMEN COMPLETE", "XR CHEST PA AND LATERAL", "Left kidney", "512 x 512", "Slice thickness 5.0",
    "Window 400/40", "kVp 120 mAs 250", "1.2.840.10008.5.1.4.1.1.2", "ISO_IR 100", "Version 3.6.1", "SIEMENS",
    "GE MEDICAL SYSTEMS", "Philips Medical Systems", "Aquilion ONE", "SOMATOM Definition AS+", "DISCOVERY MR750",
    "Ingenia 3.0T", "Patient Position HFS", "RIGHT HAND 3 VIEWS", "HIP LEFT 2 VIEWS", "BRAIN STEM", "ROUTINE BRAIN",
    "T2* GRE", "3D TOF", "CINE 4CH", "LV Function", "Series 5 Image 120", "Dose Report", "Exam 3 of 5", "Phase 2/4",
    "May contain artifacts", "HEAD NECK CTA", "NECK SOFT TISSUE", "Lung 1.0 B70f", "Recon 2: 1.25 mm", "120 kV",
    "MRI KNEE RIGHT WITHOUT CONTRAST", "Brain Perfusion", "Echo Time 30", "Mark Position", "Grace Period",
    "PELVIS 2.5mm", "Dynamic 1 of 40", "SE 1 IM 25", "ECHO 4CH", "KNEE LAT", "WRIST PA", "Standard 3.75mm",
    "BONE PLUS", "Angle 15", "Delay 60 s", "TR 500 TE 15", "Matrix 256x256", "FOV 24 cm", "DFOV 36.0cm",
    "MS protocol", "MR Brain", "DR CHEST PA", "Long Bone Survey", "Doppler Echo", "10 Year CHD Risk",
    "4 months to 1 year ago", "BP 120/80", "HR 72 bpm", "Weight 70.5 kg",
    "3 PHASE CT", "2 PLANE LOC", "Scan time 08:48", "Delay 0130", "Scout, IN 2", "T1 3D AX", "T2W 2D",
    "Series 1200", "Acq time 084826", "ARTERIAL PHASE", "SCOUT", "DWI 1000", "K 2 WI",
]  # fmt: skip


@pytest.mark.parametrize("text", NON_PHI)
def test_non_phi_corpus_has_no_findings(text):
    assert found(text) == []
    assert found(text, ANN, WITH_CTX) == []


def test_empty_text():
    assert detect("", ANN) == []


# --- addresses, locations, times, the instance's places ------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "7536 Pine Street, Madison, WI 53703",
            [("STREET_ADDRESS", "7536 Pine Street"), ("LOCATION", "Madison, WI 53703")],
        ),
        ("Lives at 12B Elm Ave., Apt 4 since May", [("STREET_ADDRESS", "12B Elm Ave., Apt 4")]),
        (
            "221 W 42nd St, New York, NY 10036-1234",
            [("STREET_ADDRESS", "221 W 42nd St"), ("LOCATION", "New York, NY 10036-1234")],
        ),
        ("7536 PINE ST SUITE 200", [("STREET_ADDRESS", "7536 PINE ST SUITE 200")]),
        ("Send to PO Box 123.", [("STREET_ADDRESS", "PO Box 123")]),
        ("P.O. Box 77", [("STREET_ADDRESS", "P.O. Box 77")]),
        ("born in Madison, Wisconsin", [("LOCATION", "Madison, Wisconsin")]),
        ("zip 53703-1234", [("LOCATION", "53703-1234")]),
        ("WI 53703", [("LOCATION", "WI 53703")]),
        ("London SW1A 1AA", [("LOCATION", "SW1A 1AA")]),
        ("Ottawa ON K1A 0B1", [("LOCATION", "K1A 0B1")]),
    ],
)
def test_addresses_and_locations(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("Acquired 20200105 084826", "084826"),
        ("Jan 5, 2020 at 8:48:26 AM", "8:48:26 AM"),
        ("01/05/2020 08:48", "08:48"),
        ("08:48 01/05/2020", "08:48"),
        ("2020-01-05, 8:48 pm", "8:48 pm"),
    ],
)
def test_times_next_to_a_date(text, time):
    assert ("TIME", time) in found(text)
    assert [f for f in found(text) if f[0] == "TIME"] == [("TIME", time)]


def test_time_next_to_a_context_date():
    assert found("BIRTH 12.08.1988 0848", ANN) == [("DATE", "12.08.1988"), ("TIME", "0848")]


PLACES = Context(places=("Madison General Hospital", "7536 Pine Street, Madison, WI 53703", "Radiology", "CTAWP12345"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Scanned at MADISON GEN HOSP", ["MADISON GEN HOSP"]),
        ("madison general hospital radiology", ["madison general hospital"]),
        ("MGH follow-up", ["MGH"]),
        ("Read at Madison", ["Madison"]),
        ("station ctawp12345", ["ctawp12345"]),
        ("ZIP 53703", ["53703"]),
        ("General hospital, radiology dept", []),  # vocabulary words alone identify nothing
    ],
)
def test_the_instances_places_in_every_variant(text, expected):
    assert [t for k, t in found(text, PLACES) if k in ("LOCATION", "STREET_ADDRESS")] == expected


def test_saint_and_punctuation_variants():
    ctx = Context(places=("St. Mary's Hospital",))
    assert found("Saint Marys Hosp", ctx) == [("LOCATION", "Saint Marys Hosp")]
    assert found("ST MARY'S", ctx) == [("LOCATION", "ST MARY'S")]


def test_places_only_for_the_instance():
    assert found("Read at Madison") == []
    assert found("Read at Madison", PLACES, frozenset({"PERSON_NAME"})) == []


def test_a_short_station_code_is_no_place_alone():
    # StationName CT01 is also a procedure code value; a longer station name is searched for
    assert found("Procedure CT01", Context(places=("CT01",))) == []
    assert found("Station CTAWP12345", Context(places=("CTAWP12345",))) == [("LOCATION", "CTAWP12345")]
