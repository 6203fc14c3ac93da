"""Tests for dicomlake.deid.config: de-identification requests parsed into frozen dataclasses."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.datadict import keyword_dict

from dicomlake.codec.dictionary import keyword_entry
from dicomlake.deid.config import (
    CharacterMask,
    CryptoHash,
    DateShift,
    DeidConfig,
    DicomConfig,
    DicomTagConfig,
    ReplaceWithInfoType,
    load_config,
    parse_query,
)
from dicomlake.deid.config_schema import MESSAGES, VRS
from dicomlake.errors import ConfigError

# Every request JSON body of Google's documentation of DICOM de-identification (DicomTagConfig), verbatim
# (the "请求 JSON 正文" blocks; the curl / PowerShell copies of each are identical).
DOCUMENTED_BODIES = {
    "redact_all_text": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "options": { "cleanImage": { "textRedactionMode": "REDACT_ALL_TEXT" } } } } }',
    "redact_sensitive_clean_descriptors": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "options": { "cleanImage": { "textRedactionMode": "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS" } } } } }',
    "keep_tag": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "actions": [ { "queries": [ "PatientName" ], "keepTag": {} } ] } } }',
    "remove_tag": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "actions": [ { "queries": [ "PatientName" ], "removeTag": {} } ] } } }',
    "delete_tag": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "actions": [ { "queries": [ "PatientName" ], "deleteTag": {} } ] } } }',
    "reset_tag": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "actions": [ { "queries": [ "PatientName" ], "resetTag": {} } ] } } }',
    "clean_text_tag": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "actions": [ { "queries": [ "PatientName" ], "cleanTextTag": {} } ] }, "text": { "additionalTransformations": [ { "infoTypes": [ "PERSON_NAME" ], "replaceWithInfoTypeConfig": {} } ] } } }',
    "regen_uid_tag": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "options": { "primaryIds": "KEEP" }, "actions": [ { "queries": [ "00080018" ], "regenUidTag": {} } ], "profileType": "KEEP_ALL_PROFILE" } } }',
    "recurse_tag": '{ "destinationDataset": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID", "config": { "dicomTagConfig": { "actions": [ { "queries": [ "PhysiciansReadingStudyIdentificationSequence" ], "recurseTag": {} } ] } } }',
    "store_level_keep_tag": '{ "destinationStore": "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID/dicomStores/DESTINATION_DICOM_STORE_ID", "config": { "dicomTagConfig": { "actions": [ { "queries": [ "PatientName" ], "keepTag": {} } ] } } }',
    "filter_legacy_dicom": '{ "destinationStore": "projects/PROJECT_ID/locations/LOCATION/datasets/DESTINATION_DATASET_ID/dicomStores/DESTINATION_DICOM_STORE_ID", "config": { "dicom": { "filterProfile": "DEIDENTIFY_TAG_CONTENTS" }, "image": { "textRedactionMode": "REDACT_ALL_TEXT" } }, "filterConfig": { "resourcePathGcsUri": "gs://BUCKET/PATH/TO/FILE" } }',
}

DATASET = "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID"


def documented(name: str) -> dict[str, Any]:
    return json.loads(DOCUMENTED_BODIES[name])


def tag_config(request_name: str) -> DicomTagConfig:
    tag = load_config(documented(request_name)).config.dicom_tag_config
    assert tag is not None
    return tag


def test_every_documented_body_parses() -> None:
    assert len(DOCUMENTED_BODIES) == 11
    for name, body in DOCUMENTED_BODIES.items():
        request = load_config(json.loads(body))
        assert isinstance(request.config, DeidConfig), name
        ignored = [n for n in request.notes if n.field in ("destinationDataset", "destinationStore")]
        assert ignored and all(n.value == json.loads(body)[n.field] for n in ignored), name
        assert not any("--" in n for n in request.notes), name  # CLI wording is the CLI's


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("redact_all_text", "REDACT_ALL_TEXT"),
        ("redact_sensitive_clean_descriptors", "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"),
    ],
)
def test_documented_clean_image(name: str, mode: str) -> None:
    request = load_config(documented(name))
    config = request.config
    assert config.api == "v1beta1"
    assert config.profile == "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"
    assert config.clean_image is not None and config.clean_image.mode == mode
    assert config.dicom_tag_config is not None and config.dicom_tag_config.actions == ()
    assert request.notes == [f"destinationDataset {DATASET!r} is ignored: the destination is dest_lake"]
    assert (request.notes[0].field, request.notes[0].value) == ("destinationDataset", DATASET)


@pytest.mark.parametrize(
    ("name", "operation"),
    [
        ("keep_tag", "keepTag"),
        ("remove_tag", "removeTag"),
        ("delete_tag", "deleteTag"),
        ("reset_tag", "resetTag"),
        ("clean_text_tag", "cleanTextTag"),
        ("store_level_keep_tag", "keepTag"),
    ],
)
def test_documented_patient_name_actions(name: str, operation: str) -> None:
    tag = tag_config(name)
    assert tag.profile_type == "PROFILE_TYPE_UNSPECIFIED"
    assert tag.profile == "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"
    assert tag.options.primary_ids == "PRIMARY_IDS_OPTION_UNSPECIFIED"
    (action,) = tag.actions
    assert action.operation == operation
    (query,) = action.queries
    assert (query.kind, query.tag, query.keyword, query.vr, query.text) == (
        "tag",
        0x00100010,
        "PatientName",
        "PN",
        "PatientName",
    )


def test_documented_clean_text_tag_text_config() -> None:
    text = load_config(documented("clean_text_tag")).config.text
    assert text is not None and text.profile == "BASIC"
    (transformation,) = text.additional_transformations
    assert transformation.info_types == ("PERSON_NAME",)
    assert transformation.transformation == ReplaceWithInfoType()


def test_documented_regen_uid_tag() -> None:
    request = load_config(documented("regen_uid_tag"))
    tag = request.config.dicom_tag_config
    assert tag is not None
    assert (tag.profile_type, tag.profile) == ("KEEP_ALL_PROFILE", "KEEP_ALL_PROFILE")
    assert request.config.primary_ids == "KEEP"
    (action,) = tag.actions
    assert action.operation == "regenUidTag"
    assert action.queries[0].tag == 0x00080018 and action.queries[0].keyword == "SOPInstanceUID"
    assert action.queries[0].text == "00080018"


def test_documented_recurse_tag() -> None:
    (action,) = tag_config("recurse_tag").actions
    assert action.operation == "recurseTag"
    assert action.queries[0].tag == 0x00081062 and action.queries[0].vr == "SQ"


def test_documented_store_level_request() -> None:
    request = load_config(documented("store_level_keep_tag"))
    assert request.filter_uri is None
    assert request.notes[0].startswith("destinationStore 'projects/PROJECT_ID/")


def test_documented_filter_request_with_legacy_dicom_config() -> None:
    request = load_config(documented("filter_legacy_dicom"))
    config = request.config
    assert config.api == "v1"
    assert config.dicom == DicomConfig(filter_profile="DEIDENTIFY_TAG_CONTENTS")
    assert config.profile == "DEIDENTIFY_TAG_CONTENTS"
    assert config.primary_ids == "REGEN"
    assert config.image is not None and config.clean_image == config.image
    assert config.image.mode == "REDACT_ALL_TEXT"
    assert request.filter_uri == "gs://BUCKET/PATH/TO/FILE"
    assert any("resourcePathGcsUri is read as resourcePathsGcsUri" in n for n in request.notes)
    assert [n.value for n in request.notes if n.field == "filterConfig"] == ["gs://BUCKET/PATH/TO/FILE"]
    assert not any("--" in n for n in request.notes)  # the CLI words its options itself


def test_bare_config_equals_request_config() -> None:
    for name, body in DOCUMENTED_BODIES.items():
        data = json.loads(body)
        assert load_config(data["config"]).config == load_config(data).config, name


# --- defaults ---------------------------------------------------------------------------------


def test_dicom_tag_config_unspecified_is_basic_profile() -> None:
    config = load_config({"dicomTagConfig": {}}).config
    assert config.dicom_tag_config == DicomTagConfig()
    assert config.profile == "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"
    assert config.primary_ids == "PRIMARY_IDS_OPTION_UNSPECIFIED"
    assert config.clean_image is None and config.text is None


def test_dicom_config_unspecified_is_keep_all() -> None:
    config = load_config({"dicom": {}}).config
    assert config.dicom == DicomConfig()
    assert (config.api, config.profile, config.primary_ids) == ("v1", "KEEP_ALL_PROFILE", "REGEN")
    skip = load_config({"dicom": {"skipIdRedaction": True}}).config
    assert skip.primary_ids == "KEEP"


@pytest.mark.parametrize("body", [{}, {"config": {}}, {"destinationDataset": "d"}, {"text": {}}])
def test_neither_dicom_nor_dicom_tag_config_means_dicom_defaults(body: dict[str, Any]) -> None:
    request = load_config(body)
    assert request.config.dicom == DicomConfig() and request.config.dicom_tag_config is None
    assert request.config.profile == "KEEP_ALL_PROFILE" and request.config.primary_ids == "REGEN"
    assert any("neither dicom nor dicomTagConfig" in note for note in request.notes)


def test_image_and_text_defaults() -> None:
    config = load_config({"dicomTagConfig": {"options": {"cleanImage": {}}}, "text": {}}).config
    assert config.clean_image is not None and config.clean_image.mode == "REDACT_NO_TEXT"
    assert config.text is not None and config.text.profile == "BASIC"


def test_legacy_keep_and_remove_lists() -> None:
    keep = load_config({"dicom": {"keepList": {"tags": ["PatientID", "00100010"]}}}).config.dicom
    assert keep is not None and keep.keep_list is not None
    assert [q.tag for q in keep.keep_list] == [0x00100020, 0x00100010]
    remove = load_config({"dicom": {"removeList": {"tags": ["StudyDate"]}}}).config.dicom
    assert remove is not None and remove.remove_list is not None and remove.keep_list is None


def test_options_and_transformations() -> None:
    key16 = base64.b64encode(b"k" * 16).decode()
    key32 = base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("=")
    config = {
        "dicomTagConfig": {"options": {"primaryIds": "REGEN", "cleanDescriptors": {}}},
        "text": {
            "profileType": "EMPTY",
            "additionalTransformations": [
                {"infoTypes": [], "characterMaskConfig": {}},
                {"infoTypes": ["EMAIL_ADDRESS"], "characterMaskConfig": {"maskingCharacter": "#"}},
                {"infoTypes": ["US_SOCIAL_SECURITY_NUMBER"], "cryptoHashConfig": {"cryptoKey": key16}},
                {"infoTypes": ["DATE"], "dateShiftConfig": {"cryptoKey": key32}},
                {"infoTypes": ["DATE_OF_BIRTH"], "dateShiftConfig": {}},
            ],
            "excludeInfoTypes": ["AGE"],
        },
    }
    parsed = load_config(config).config
    assert parsed.dicom_tag_config is not None
    assert parsed.dicom_tag_config.options.clean_descriptors is True
    assert parsed.primary_ids == "REGEN"
    assert parsed.text is not None and parsed.text.profile == "EMPTY"
    kinds = [t.transformation for t in parsed.text.additional_transformations]
    assert kinds == [
        CharacterMask("*"),
        CharacterMask("#"),
        CryptoHash(b"k" * 16),
        DateShift(b"\xfb" * 32),
        DateShift(None),
    ]
    assert parsed.text.exclude_info_types == ("AGE",)


def test_image_config_fields() -> None:
    image = {
        "textRedactionMode": "REDACT_SENSITIVE_TEXT",
        "additionalInfoTypes": ["PERSON_NAME"],
        "excludeInfoTypes": ["LOCATION"],
        "customRegexes": [{"pattern": r"ID-(\d+)-(\w+)", "groupIndexes": [1, "2"]}],
    }
    parsed = load_config({"dicomTagConfig": {"actions": [{"queries": ["7FE00010"], "cleanImageTag": image}]}})
    tag = parsed.config.dicom_tag_config
    assert tag is not None
    action = tag.actions[0]
    assert action.operation == "cleanImageTag" and action.image is not None
    assert action.image.additional_info_types == ("PERSON_NAME",)
    assert action.image.custom_regexes[0].group_indexes == (1, 2)


def test_vr_queries_and_dictionary_lookups() -> None:
    actions = [
        {"queries": ["PN", "LO", "PatientName"], "cleanTextTag": {}},
        {"queries": ["UI", "StudyInstanceUID", "0020000d"], "regenUidTag": {}},
        {"queries": ["SQ"], "recurseTag": {}},
        {"queries": ["OB", "00091001", "CodeValue"], "deleteTag": {}},
        {"queries": ["PixelData"], "cleanImageTag": {}},
    ]
    tag = load_config({"dicomTagConfig": {"actions": actions}}).config.dicom_tag_config
    assert tag is not None
    assert [a.operation for a in tag.actions] == [
        "cleanTextTag",
        "regenUidTag",
        "recurseTag",
        "deleteTag",
        "cleanImageTag",
    ]
    assert tag.actions[0].queries[0] == parse_query("PN")
    assert parse_query("PN").kind == "vr" and parse_query("PN").tag is None
    assert tag.actions[1].queries[2].tag == 0x0020000D
    private = tag.actions[3].queries[1]
    assert (private.kind, private.tag, private.keyword, private.vr) == ("tag", 0x00091001, None, None)


# --- notes ------------------------------------------------------------------------------------


def test_notes_for_what_does_not_apply_locally() -> None:
    request = load_config(
        {
            "dicomTagConfig": {"actions": [{"queries": ["00091010"], "regenUidTag": {}}]},
            "useRegionalDataProcessing": True,
            "fhir": {"fieldMetadataList": []},
            "fhirFieldConfig": {},
            "operationMetadata": {"fhirOutput": {}},
            "image": {"textRedactionMode": "REDACT_ALL_TEXT"},
            "text": {"transformations": [{"redactConfig": {}}]},
        }
    )
    notes = "\n".join(request.notes)
    assert request.config.use_regional_data_processing is True
    for expected in [
        "useRegionalDataProcessing changes nothing locally",
        "fhir does not apply to DICOM",
        "fhirFieldConfig does not apply to DICOM",
        "operationMetadata does not apply to DICOM",
        "image is deprecated; applied as dicomTagConfig.options.cleanImage",
        "text.transformations is deprecated",
        "dicomTagConfig.actions[0].queries[0]: '00091010' is not in the DICOM dictionary",
    ]:
        assert expected in notes
    assert request.config.clean_image is not None and request.config.clean_image.mode == "REDACT_ALL_TEXT"
    assert request.config.text is not None and len(request.config.text.all_transformations) == 1


def test_snake_case_and_null_fields() -> None:
    config = load_config({"dicom_tag_config": {"profile_type": "KEEP_ALL_PROFILE", "options": None}, "text": None})
    assert config.config.profile == "KEEP_ALL_PROFILE" and config.config.text is None


# --- errors -----------------------------------------------------------------------------------

ERRORS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "both dicom configs",
        {"config": {"dicom": {}, "dicomTagConfig": {}}},
        ["config sets dicom and dicomTagConfig", "not contain both"],
    ),
    (
        "unknown field",
        {"config": {"dicomTagConfig": {"options": {"cleanImag": {}}}}},
        [
            "unknown field 'cleanImag' at config.dicomTagConfig.options",
            "valid fields: primaryIds, cleanImage, cleanDescriptors",
            "did you mean 'cleanImage'",
        ],
    ),
    (
        "unknown top field",
        {"config": {}, "dicomTagConfig": {}},
        ["unknown field 'dicomTagConfig' at the top level", "valid fields: destinationDataset"],
    ),
    (
        "unknown config field",
        {"dicomTagConfg": {}},
        ["unknown field 'dicomTagConfg' at the top level (DeidentifyConfig)", "did you mean 'dicomTagConfig'"],
    ),
    (
        "field in empty message",
        {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "keepTag": {"x": 1}}]}},
        ["unknown field 'x' at dicomTagConfig.actions[0].keepTag", "KeepTag is an empty message"],
    ),
    (
        "enum value",
        {"config": {"dicomTagConfig": {"profileType": "KEEP_ALL"}}},
        [
            "config.dicomTagConfig.profileType: 'KEEP_ALL' is not a valid",
            "KEEP_ALL_PROFILE, DEIDENTIFY_TAG_CONTENTS",
            "did you mean 'KEEP_ALL_PROFILE'",
        ],
    ),
    (
        "enum case",
        {"config": {"dicomTagConfig": {"options": {"primaryIds": "keep"}}}},
        [
            "config.dicomTagConfig.options.primaryIds: 'keep'",
            "valid values: PRIMARY_IDS_OPTION_UNSPECIFIED, KEEP, REGEN",
            "did you mean 'KEEP'",
        ],
    ),
    (
        "enum type",
        {"dicom": {"filterProfile": 2}},
        ["dicom.filterProfile must be a TagFilterProfile name", "got number 2"],
    ),
    (
        "v1 profile name in v1beta1 field",
        {"dicom": {"filterProfile": "PROFILE_TYPE_UNSPECIFIED"}},
        ["dicom.filterProfile", "TAG_FILTER_PROFILE_UNSPECIFIED"],
    ),
    (
        "object expected",
        {"config": {"dicomTagConfig": "BASIC"}},
        ["config.dicomTagConfig must be an object (DicomTagConfig), got string 'BASIC'"],
    ),
    (
        "list expected",
        {"dicomTagConfig": {"actions": {"queries": []}}},
        ["dicomTagConfig.actions must be a list of Action objects, got object"],
    ),
    (
        "string list expected",
        {"dicomTagConfig": {"actions": [{"queries": "PatientName", "keepTag": {}}]}},
        ["dicomTagConfig.actions[0].queries must be a list of strings, got string"],
    ),
    (
        "bool expected",
        {"useRegionalDataProcessing": "yes"},
        ["useRegionalDataProcessing must be true or false, got string 'yes'"],
    ),
    (
        "bool expected v1",
        {"dicom": {"skipIdRedaction": 1}},
        ["dicom.skipIdRedaction must be true or false, got number 1"],
    ),
    ("top level not object", {"config": []}, ["config must be an object (DeidentifyConfig), got array"]),
    (
        "legacy union",
        {"dicom": {"filterProfile": "KEEP_ALL_PROFILE", "keepList": {"tags": ["PatientID"]}}},
        ["dicom sets filterProfile and keepList", "set only one of filterProfile, keepList, removeList"],
    ),
    (
        "legacy list union",
        {"dicom": {"keepList": {"tags": ["PatientID"]}, "removeList": {"tags": ["PatientID"]}}},
        ["dicom sets keepList and removeList"],
    ),
    (
        "legacy list VR",
        {"config": {"dicom": {"keepList": {"tags": ["PatientID", "PN"]}}}},
        ["config.dicom.keepList.tags[1]: 'PN' is a VR"],
    ),
    (
        "legacy list unknown",
        {"dicom": {"removeList": {"tags": ["PatientNme"]}}},
        ["dicom.removeList.tags[0]: 'PatientNme' is not", "did you mean 'PatientName'"],
    ),
    ("legacy list empty", {"dicom": {"keepList": {}}}, ["dicom.keepList.tags is missing or empty"]),
    (
        "action without operation",
        {"config": {"dicomTagConfig": {"actions": [{"queries": ["PatientName"]}]}}},
        ["config.dicomTagConfig.actions[0] needs exactly one of keepTag, removeTag", "use several Actions"],
    ),
    (
        "action with two operations",
        {
            "config": {
                "dicomTagConfig": {
                    "actions": [
                        {"queries": ["PatientName"], "keepTag": {}},
                        {"queries": ["PatientID"], "keepTag": {}, "deleteTag": {}},
                    ]
                }
            }
        },
        ["config.dicomTagConfig.actions[1] sets keepTag and deleteTag", "set only one of"],
    ),
    (
        "action without queries",
        {"dicomTagConfig": {"actions": [{"keepTag": {}}]}},
        ["dicomTagConfig.actions[0].queries is missing or empty", "PatientName"],
    ),
    (
        "action with empty queries",
        {"dicomTagConfig": {"actions": [{"queries": [], "keepTag": {}}]}},
        ["dicomTagConfig.actions[0].queries is missing or empty"],
    ),
    (
        "unknown keyword",
        {"config": {"dicomTagConfig": {"actions": [{"queries": ["PatientName", "PatientNmae"], "keepTag": {}}]}}},
        ["config.dicomTagConfig.actions[0].queries[1]: 'PatientNmae' is not a tag id", "did you mean 'PatientName'"],
    ),
    (
        "keyword case",
        {"dicomTagConfig": {"actions": [{"queries": ["patientname"], "keepTag": {}}]}},
        ["actions[0].queries[0]: 'patientname'", "did you mean 'PatientName'"],
    ),
    (
        "tag id with comma",
        {"dicomTagConfig": {"actions": [{"queries": ["(0010,0010)"], "keepTag": {}}]}},
        ["actions[0].queries[0]: '(0010,0010)' is not a tag id (8 hex digits"],
    ),
    (
        "query not string",
        {"dicomTagConfig": {"actions": [{"queries": [16], "keepTag": {}}]}},
        ["dicomTagConfig.actions[0].queries[0] must be a string, got number 16"],
    ),
    (
        "clean text on UI",
        {"config": {"dicomTagConfig": {"actions": [{"queries": ["SOPInstanceUID"], "cleanTextTag": {}}]}}},
        [
            "config.dicomTagConfig.actions[0].queries[0]: cleanTextTag supports only VR AE AS DA DT LO LT PN SH ST UC UT",
            "'SOPInstanceUID' (00080018) has VR UI",
        ],
    ),
    (
        "clean text on VR query",
        {"dicomTagConfig": {"actions": [{"queries": ["CS"], "cleanTextTag": {}}]}},
        ["dicomTagConfig.actions[0].queries[0]: cleanTextTag supports only", "the query selects VR CS"],
    ),
    (
        "regen uid on PN",
        {"dicomTagConfig": {"actions": [{"queries": ["00100010"], "regenUidTag": {}}]}},
        ["actions[0].queries[0]: regenUidTag supports only VR UI", "'00100010' (PatientName) has VR PN"],
    ),
    (
        "regen uid on VR",
        {"dicomTagConfig": {"actions": [{"queries": ["UI", "DA"], "regenUidTag": {}}]}},
        ["actions[0].queries[1]: regenUidTag supports only VR UI", "the query selects VR DA"],
    ),
    (
        "recurse on non-SQ",
        {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "recurseTag": {}}]}},
        ["actions[0].queries[0]: recurseTag supports only VR SQ"],
    ),
    (
        "clean image on other tag",
        {"dicomTagConfig": {"actions": [{"queries": ["PixelData", "Rows"], "cleanImageTag": {}}]}},
        ["actions[0].queries[1]: cleanImageTag applies only to PixelData (7FE00010), not to 'Rows' (00280010)"],
    ),
    (
        "clean image on VR",
        {"dicomTagConfig": {"actions": [{"queries": ["OB"], "cleanImageTag": {}}]}},
        ["actions[0].queries[0]: cleanImageTag applies only to PixelData", "VR 'OB'"],
    ),
    (
        "excludeInfoTypes with ALL",
        {"config": {"image": {"textRedactionMode": "REDACT_ALL_TEXT", "excludeInfoTypes": ["X"]}}},
        ["config.image.excludeInfoTypes is allowed only with textRedactionMode", "not REDACT_ALL_TEXT"],
    ),
    (
        "excludeInfoTypes unspecified",
        {"dicomTagConfig": {"options": {"cleanImage": {"excludeInfoTypes": ["X"]}}}},
        ["dicomTagConfig.options.cleanImage.excludeInfoTypes is allowed only", "not TEXT_REDACTION_MODE_UNSPECIFIED"],
    ),
    (
        "additionalInfoTypes with NO_TEXT",
        {
            "dicomTagConfig": {
                "actions": [
                    {
                        "queries": ["PixelData"],
                        "cleanImageTag": {"textRedactionMode": "REDACT_NO_TEXT", "additionalInfoTypes": ["X"]},
                    }
                ]
            }
        },
        ["dicomTagConfig.actions[0].cleanImageTag.additionalInfoTypes is allowed only", "not REDACT_NO_TEXT"],
    ),
    (
        "bad infoType",
        {"image": {"textRedactionMode": "REDACT_SENSITIVE_TEXT", "additionalInfoTypes": ["PERSON NAME"]}},
        ["image.additionalInfoTypes[0]: 'PERSON NAME' is not an infoType name"],
    ),
    (
        "bad regex",
        {"image": {"customRegexes": [{"pattern": "(a"}]}},
        ["image.customRegexes[0].pattern: '(a' does not compile"],
    ),
    (
        "missing regex",
        {"image": {"customRegexes": [{"groupIndexes": [0]}]}},
        ["image.customRegexes[0].pattern is missing or empty"],
    ),
    (
        "regex group out of range",
        {"image": {"customRegexes": [{"pattern": "(a)", "groupIndexes": [0, 2]}]}},
        ["image.customRegexes[0].groupIndexes[1]: 2 is not a group of the pattern (0 to 1)"],
    ),
    (
        "regex group not int",
        {"image": {"customRegexes": [{"pattern": "(a)", "groupIndexes": [True]}]}},
        ["image.customRegexes[0].groupIndexes[0] must be an integer, got true"],
    ),
    (
        "image twice",
        {"image": {}, "dicomTagConfig": {"options": {"cleanImage": {}}}},
        ["image and dicomTagConfig.options.cleanImage are both set"],
    ),
    (
        "text profile",
        {"text": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}},
        ["text.profileType", "valid values: PROFILE_TYPE_UNSPECIFIED, BASIC, EMPTY"],
    ),
    (
        "transformation without config",
        {"text": {"additionalTransformations": [{"infoTypes": ["DATE"]}]}},
        ["text.additionalTransformations[0] needs exactly one of replaceWithInfoTypeConfig, redactConfig"],
    ),
    (
        "transformation with two configs",
        {"text": {"transformations": [{"redactConfig": {}, "replaceWithInfoTypeConfig": {}}]}},
        ["text.transformations[0] sets replaceWithInfoTypeConfig and redactConfig"],
    ),
    (
        "mask of two chars",
        {"text": {"additionalTransformations": [{"characterMaskConfig": {"maskingCharacter": "ab"}}]}},
        ["text.additionalTransformations[0].characterMaskConfig.maskingCharacter must be one character"],
    ),
    (
        "kms hash",
        {
            "config": {
                "text": {
                    "additionalTransformations": [
                        {"cryptoHashConfig": {"kmsWrapped": {"cryptoKey": "k", "wrappedKey": "w"}}}
                    ]
                }
            }
        },
        [
            "config.text.additionalTransformations[0].cryptoHashConfig.kmsWrapped: Cloud KMS is not available locally",
            "pass key_file",
        ],
    ),
    (
        "kms date shift",
        {"text": {"additionalTransformations": [{"dateShiftConfig": {"kmsWrapped": {}}}]}},
        ["text.additionalTransformations[0].dateShiftConfig.kmsWrapped: Cloud KMS", "pass key_file"],
    ),
    (
        "short key",
        {"text": {"additionalTransformations": [{"cryptoHashConfig": {"cryptoKey": "AAAA"}}]}},
        ["text.additionalTransformations[0].cryptoHashConfig.cryptoKey is 3 bytes", "16, 24 or 32 bytes"],
    ),
    (
        "not base64 key",
        {"text": {"additionalTransformations": [{"dateShiftConfig": {"cryptoKey": "not base64!"}}]}},
        ["text.additionalTransformations[0].dateShiftConfig.cryptoKey is not valid base64"],
    ),
    (
        "gcsConfigUri",
        {"destinationDataset": "d", "gcsConfigUri": "gs://bucket/config.json"},
        ["gcsConfigUri 'gs://bucket/config.json' cannot be read here", "gcloud storage cp"],
    ),
    (
        "config and gcsConfigUri",
        {"config": {}, "gcsConfigUri": "gs://b/c"},
        ["the top level sets config and gcsConfigUri"],
    ),
    (
        "both destinations",
        {"destinationDataset": "d", "destinationStore": "s"},
        ["sets destinationDataset and destinationStore", "datasets.deidentify"],
    ),
    (
        "filter with dataset",
        {"destinationDataset": "d", "filterConfig": {"resourcePathsGcsUri": "gs://b/f"}},
        ["filterConfig belongs to dicomStores.deidentify"],
    ),
    (
        "filter unknown field",
        {"destinationStore": "s", "filterConfig": {"resourcePaths": "gs://b/f"}},
        ["unknown field 'resourcePaths' at filterConfig", "resourcePathsGcsUri"],
    ),
    ("snake and camel", {"dicomTagConfig": {}, "dicom_tag_config": {}}, ["sets dicomTagConfig twice"]),
]


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in ERRORS], ids=[name for name, _, _ in ERRORS])
def test_errors_name_the_json_path(body: dict[str, Any], expected: list[str]) -> None:
    before = copy.deepcopy(body)
    with pytest.raises(ConfigError) as info:
        load_config(body)
    for part in expected:
        assert part in str(info.value)
    assert body == before  # inputs are never mutated


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(ConfigError, match=r"list\.json: the top level must be a JSON object"):
        load_config(path)


# --- files ------------------------------------------------------------------------------------


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(DOCUMENTED_BODIES["regen_uid_tag"], encoding="utf-8")
    assert load_config(path) == load_config(str(path)) == load_config(documented("regen_uid_tag"))


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "dicomTagConfig": {"profileType": "BASIC",}\n}')
    with pytest.raises(ConfigError, match=r"bad\.json:2:45: not valid JSON"):
        load_config(bad)
    dup = tmp_path / "dup.json"
    dup.write_text(
        '{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "profileType": "MINIMAL_KEEP_LIST_PROFILE"}}'
    )
    with pytest.raises(ConfigError, match=r"dup\.json: key 'profileType' appears twice"):
        load_config(dup)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"dicomTagConfig": {"profileType": "BASIC"}}')
    with pytest.raises(ConfigError, match=r"wrong\.json: dicomTagConfig\.profileType: 'BASIC' is not a valid"):
        load_config(wrong)
    with pytest.raises(ConfigError, match=r"cannot read config file .*missing\.json"):
        load_config(tmp_path / "missing.json")


def test_dataclasses_are_frozen_with_slots() -> None:
    config = load_config(documented("keep_tag")).config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.text = None  # type: ignore[misc]
    assert not hasattr(config, "__dict__")
    assert config.dicom_tag_config is not None and not hasattr(config.dicom_tag_config.actions[0], "__dict__")


# --- properties -------------------------------------------------------------------------------

KEYWORDS = sorted(k for k in keyword_dict if k)


@given(st.sampled_from(KEYWORDS))
def test_every_dictionary_keyword_is_a_query(keyword: str) -> None:
    query = parse_query(keyword)
    assert query.kind == "tag" and query.keyword == keyword and query.tag is not None


@given(st.integers(min_value=0, max_value=0xFFFFFFFF), st.booleans())
def test_every_tag_id_is_a_query(tag: int, lower: bool) -> None:
    text = f"{tag:08x}" if lower else f"{tag:08X}"
    query = parse_query(text)
    assert (query.kind, query.tag, query.text) == ("tag", tag, text)


@given(st.text(min_size=1, max_size=30))
def test_other_strings_are_rejected_with_their_path(text: str) -> None:
    if text in VRS or keyword_entry(text) is not None or re.fullmatch(r"[0-9A-Fa-f]{8}", text):
        return
    with pytest.raises(ConfigError, match=r"^dicomTagConfig\.actions\[0\]\.queries\[0\]: "):
        load_config({"dicomTagConfig": {"actions": [{"queries": [text], "keepTag": {}}]}})


MESSAGE_PATHS = {
    "DeidentifyConfig": ({}, ""),
    "DicomTagConfig": ({"dicomTagConfig": {}}, "dicomTagConfig"),
    "Options": ({"dicomTagConfig": {"options": {}}}, "dicomTagConfig.options"),
    "ImageConfig": ({"image": {}}, "image"),
    "TextConfig": ({"text": {}}, "text"),
    "DicomConfig": ({"dicom": {}}, "dicom"),
}


@given(st.sampled_from(sorted(MESSAGE_PATHS)), st.from_regex(r"[a-z][A-Za-z]{0,20}", fullmatch=True))
def test_unknown_fields_are_never_ignored(message: str, name: str) -> None:
    body, path = MESSAGE_PATHS[message]
    request_field = message == "DeidentifyConfig" and name in MESSAGES["DeidentifyRequest"].fields
    if name in MESSAGES[message].fields or request_field:
        return
    target = copy.deepcopy(body)
    node = target
    for part in filter(None, path.split(".")):
        node = node[part]
    node[name] = {}
    with pytest.raises(ConfigError, match=re.escape(f"unknown field {name!r} at {path or 'the top level'}")):
        load_config(target)
