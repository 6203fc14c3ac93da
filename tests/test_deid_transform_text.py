"""TextConfig transformations: the example of Google's de-identification documentation, the API's precedence, date shifts, properties."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dicomlake.deid.detect import Context, Finding, detect, variants_of_date
from dicomlake.deid.transform_text import (
    BASIC,
    InfoTypeTransformation,
    TextRule,
    clean_person_name,
    compile_text_config,
    crypto_hash,
    date_shift_days,
    shift_da,
    shift_dt,
    transform,
)
from dicomlake.errors import ConfigError

KEY = bytes(range(32))
JANE = [Finding(11, 15, "PERSON_NAME", "Jane")]


def run(text: str, rule: TextRule, ctx: Context | None = None, shift: int = -10) -> str:
    return transform(text, detect(text, ctx), rule, key=KEY, shift_days=shift)


def rule_of(*transformations: dict, **config) -> TextRule:
    return compile_text_config({"additionalTransformations": list(transformations), **config})


# --- the documentation's examples ----------------------------------------------------


def test_documented_clean_text_patient_name():
    # cleanTextTag on PatientName with PERSON_NAME -> replaceWithInfoTypeConfig
    rule = rule_of({"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}})
    assert run("Ann Johnson", rule) == "[PERSON_NAME]"
    assert clean_person_name("Ann Johnson") == "[PERSON_NAME]"
    assert clean_person_name("JOHNSON^ANN^M") == "[PERSON_NAME]"
    assert clean_person_name("") == ""


def test_api_examples_replace_and_redact():
    text = "My name is Jane."
    assert transform(text, JANE, BASIC, key=KEY, shift_days=1) == "My name is [PERSON_NAME]."
    redact = rule_of({"redactConfig": {}})
    assert transform(text, JANE, redact, key=KEY, shift_days=1) == "My name is ."


def test_clean_descriptors_ctx_token():
    ctx = Context(ctx_phrases=("Wall^Ann",))
    text = "CHEST WALL MASS"
    findings = detect(text, ctx, frozenset({"CTX"}))
    assert transform(text, findings, BASIC, key=KEY, shift_days=1) == "CHEST [CTX] MASS"


def test_character_mask():
    assert transform("My name is Jane.", JANE, rule_of({"characterMaskConfig": {}}), key=KEY, shift_days=1) == (
        "My name is ****."
    )
    masked = rule_of({"characterMaskConfig": {"maskingCharacter": "#"}})
    assert transform("My name is Jane.", JANE, masked, key=KEY, shift_days=1) == "My name is ####."


def test_crypto_hash_is_base64_hmac_sha256():
    rule = rule_of({"cryptoHashConfig": {}})
    out = transform("My name is Jane.", JANE, rule, key=KEY, shift_days=1)
    digest = base64.b64encode(hmac.new(KEY, b"Jane", hashlib.sha256).digest()).decode()
    assert out == f"My name is {digest}."
    assert len(digest) == 44
    assert crypto_hash(KEY, "Jane") == digest != crypto_hash(b"other key", "Jane")


def test_crypto_hash_uses_its_own_key():
    own = bytes(16)
    rule = rule_of({"cryptoHashConfig": {"cryptoKey": base64.b64encode(own).decode()}})
    assert transform("My name is Jane.", JANE, rule, key=KEY, shift_days=1) == (
        f"My name is {crypto_hash(own, 'Jane')}."
    )


# --- BASIC profile ----------------------------------------------------------------


def test_basic_shifts_dates_in_their_format_and_replaces_the_rest():
    text = "Ann Johnson, DOB 08/12/1988, seen 2011-09-09 and Sept. 9th, 2011; tel 555-123-4567"
    assert run(text, BASIC, shift=-10) == (
        "[PERSON_NAME], DOB 08/02/1988, seen 2011-08-30 and Aug. 30th, 2011; tel [PHONE_NUMBER]"
    )


def test_unparseable_date_becomes_token():
    f = [Finding(0, 9, "DATE", "yesterday")]
    assert transform("yesterday", f, BASIC, key=KEY, shift_days=3) == "[DATE]"


def test_date_shift_on_a_non_date_type_becomes_its_token():
    rule = rule_of({"infoTypes": ["PERSON_NAME"], "dateShiftConfig": {}})
    assert transform("My name is Jane.", JANE, rule, key=KEY, shift_days=1) == "My name is [PERSON_NAME]."


# --- precedence -------------------------------------------------------------------

TEXT = "Ann Johnson 08/12/1988 ann@example.org"


def test_profile_default_config():
    assert compile_text_config(None) == BASIC
    assert compile_text_config({"profileType": "PROFILE_TYPE_UNSPECIFIED"}) == BASIC


def test_exclude_skips_and_overrides_additional_transformations():
    rule = rule_of({"infoTypes": ["PERSON_NAME"], "redactConfig": {}}, excludeInfoTypes=["PERSON_NAME"])
    assert run(TEXT, rule) == "Ann Johnson 08/02/1988 [EMAIL_ADDRESS]"


def test_specific_transformation_beats_default_transformation():
    rule = rule_of({"redactConfig": {}}, {"infoTypes": ["EMAIL_ADDRESS"], "characterMaskConfig": {}})
    assert run(TEXT, rule) == "  " + "*" * len("ann@example.org")


def test_default_transformation_beats_profile_including_dates():
    rule = rule_of({"replaceWithInfoTypeConfig": {}})
    assert run(TEXT, rule) == "[PERSON_NAME] [DATE] [EMAIL_ADDRESS]"


def test_first_listed_transformation_wins():
    rule = rule_of(
        {"infoTypes": ["EMAIL_ADDRESS"], "redactConfig": {}},
        {"infoTypes": ["EMAIL_ADDRESS"], "characterMaskConfig": {}},
    )
    assert run("x ann@example.org", rule) == "x "


def test_empty_profile_changes_only_what_transformations_name():
    assert run(TEXT, compile_text_config({"profileType": "EMPTY"})) == TEXT
    rule = rule_of({"infoTypes": ["DATE"], "dateShiftConfig": {}}, profileType="EMPTY")
    assert run(TEXT, rule, shift=1) == "Ann Johnson 08/13/1988 ann@example.org"
    every = rule_of({"redactConfig": {}}, profileType="EMPTY")
    assert run(TEXT, every) == "  "


def test_choose_matches_the_documented_order():
    rule = TextRule(
        "BASIC",
        (
            InfoTypeTransformation(frozenset({"AGE"}), "redact"),
            InfoTypeTransformation(frozenset(), "characterMask"),
        ),
        frozenset({"EMAIL_ADDRESS"}),
    )
    assert rule.choose("EMAIL_ADDRESS") is None
    assert rule.choose("AGE").kind == "redact"
    assert rule.choose("DATE").kind == "characterMask"
    assert BASIC.choose("DATE").kind == "dateShift"
    assert BASIC.choose("AGE").kind == "replaceWithInfoType"


def test_date_shift_key():
    key = base64.b64encode(bytes(16)).decode()
    assert rule_of({"infoTypes": ["DATE"], "dateShiftConfig": {"cryptoKey": key}}).date_shift_key() == bytes(16)
    assert BASIC.date_shift_key() is None


@pytest.mark.parametrize(
    "config, message",
    [
        ({"profileType": "FULL"}, "profileType"),
        ({"additionalTransformations": [{"infoTypes": ["DATE"]}]}, "exactly one"),
        ({"additionalTransformations": [{"redactConfig": {}, "replaceWithInfoTypeConfig": {}}]}, "exactly one"),
        ({"additionalTransformations": [{"cryptoHashConfig": {"kmsWrapped": {}}}]}, "kmsWrapped"),
        ({"additionalTransformations": [{"cryptoHashConfig": {"cryptoKey": "not base64!"}}]}, "base64"),
        ({"additionalTransformations": [{"cryptoHashConfig": {"cryptoKey": "AAAA"}}]}, "bit"),
        ({"additionalTransformations": [{"characterMaskConfig": {"maskingCharacter": "ab"}}]}, "one character"),
    ],
)
def test_config_errors(config, message):
    with pytest.raises(ConfigError, match=message):
        compile_text_config(config)


# --- dates ------------------------------------------------------------------------


def test_date_shift_days_range_and_determinism():
    shifts = {date_shift_days(KEY, f"P{i}") for i in range(2000)}
    assert 0 not in shifts
    assert min(shifts) == -100 and max(shifts) == 100
    assert date_shift_days(KEY, "P1") == date_shift_days(KEY, "P1")
    assert date_shift_days(b"k", "P1", max_days=1) in (-1, 1)
    with pytest.raises(ValueError):
        date_shift_days(KEY, "P1", max_days=0)


def test_shift_da():
    assert shift_da("19880812", 30) == "19880911"
    assert shift_da("19880812 ", -1) == "19880811"
    assert shift_da("198808", 45) == "198809"  # 1988-08-01 + 45 days, month precision
    assert shift_da("1988", -1) == "1987"
    for bad in ("", "1988081", "19880230", "abcd", "1988-08-12", "00000101"):
        with pytest.raises(ValueError):
            shift_da(bad, 1)


def test_shift_dt_keeps_time_and_offset():
    assert shift_dt("20110909110032.123456+0100", -10) == "20110830110032.123456+0100"
    assert shift_dt("20110909", 1) == "20110910"
    assert shift_dt("201109", 30) == "201110"
    assert shift_dt("2011+0100", 400) == "2012+0100"
    with pytest.raises(ValueError):
        shift_dt("2011091", 1)


DA = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))


@given(key=st.binary(min_size=1, max_size=32), patient=st.text(max_size=20), a=DA, b=DA)
def test_shift_keeps_order_within_a_patient(key, patient, a, b):
    days = date_shift_days(key, patient)
    assert days == date_shift_days(key, patient) and 1 <= abs(days) <= 100
    sa, sb = shift_da(a, days), shift_da(b, days)
    assert (a < b) == (sa < sb) and (a == b) == (sa == sb)
    gap = dt.date.fromisoformat(b) - dt.date.fromisoformat(a)
    assert dt.date.fromisoformat(sb) - dt.date.fromisoformat(sa) == gap


@given(a=DA, days=st.integers(-100, 100), cut=st.sampled_from([4, 6, 8]))
def test_shifted_da_is_a_valid_da_of_the_same_precision(a, days, cut):
    out = shift_da(a[:cut], days)
    assert len(out) == cut and out.isdigit()
    dt.date(int(out[:4]), int(out[4:6] or 1), int(out[6:8] or 1))


# --- output never holds a detected value -------------------------------------------

PHI = [
    "Ann Johnson",
    "JOHNSON^ANN^M",
    "Dr. Kowalczyk",
    "S1214223-1",
    "ann@example.org",
    "555-123-4567",
    "123-45-6789",
    "45 years old",
    "045Y",
    *sorted(v for v in variants_of_date("19880812") if len(v) >= 10),
]
FILLER = ["CT", "CHEST", "seen", "by", "with", "contrast", "5.0", "mm", "and", ";", "AXIAL", "Female"]
CTX = Context(person_names=("JOHNSON^ANN^M",), identifiers=("S1214223-1",), dates=("19880812",))
KINDS = ["replaceWithInfoTypeConfig", "redactConfig", "characterMaskConfig", "cryptoHashConfig"]


def contains_token(haystack: str, needle: str) -> bool:
    return re.search(rf"(?<![\w/.-]){re.escape(needle)}(?![\w/-]|\.\d)", haystack, re.IGNORECASE) is not None


@given(
    parts=st.lists(st.sampled_from(PHI + FILLER), min_size=1, max_size=8),
    kind=st.sampled_from([*KINDS, "BASIC"]),
    shift=st.integers(-100, 100).filter(bool),
)
def test_output_never_contains_a_detected_value(parts, kind, shift):
    rule = BASIC if kind == "BASIC" else rule_of({kind: {}})
    text = " ".join(parts)
    findings = detect(text, CTX)
    dates = [f for f in findings if f.info_type == "DATE"]
    assume(kind != "BASIC" or len(dates) <= 1)  # two dates may shift onto each other
    out = transform(text, findings, rule, key=KEY, shift_days=shift)
    for f in findings:
        assert not contains_token(out, f.text), (text, out, f)
    for phi in set(parts) & set(PHI):
        assert not contains_token(out, phi), (text, out, phi)
