"""The fields of a de-identification request, as tables, and the one validator that walks them.

Each message type of the Cloud Healthcare API request (``DeidentifyConfig``, ``DicomTagConfig``,
``Action``, ``ImageConfig``, ``TextConfig`` …) is a :class:`Message`: its fields with their kinds,
and its one-of groups. :func:`check` walks a parsed JSON value against a message and returns it
with camelCase keys and ``null`` fields dropped (proto3 JSON: ``null`` means "default", and the
proto's snake_case names are accepted too). Anything it does not know is a :class:`ConfigError`
naming the JSON path and the valid choices. Rules that tables cannot say (VR constraints,
key lengths, regexes) live in :mod:`dicomlake.deid.config`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["ENUMS", "MESSAGES", "Field", "Message", "OneOf", "check", "suggest", "where"]


@dataclass(frozen=True, slots=True)
class Field:
    """A field's kind: a scalar (``bool``, ``string``, ``int``, ``object`` = opaque), an enum or a message."""

    kind: str
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class OneOf:
    """Fields of which at most one (``required``: exactly one) may be set; ``hint`` says what to do."""

    members: tuple[str, ...]
    required: bool = False
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    fields: Mapping[str, Field]
    oneofs: tuple[OneOf, ...] = ()
    doc: str = ""


ENUMS: dict[str, tuple[str, ...]] = {
    "TagFilterProfile": (
        "TAG_FILTER_PROFILE_UNSPECIFIED",
        "MINIMAL_KEEP_LIST_PROFILE",
        "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
        "KEEP_ALL_PROFILE",
        "DEIDENTIFY_TAG_CONTENTS",
    ),
    "DicomTagConfig.ProfileType": (
        "PROFILE_TYPE_UNSPECIFIED",
        "MINIMAL_KEEP_LIST_PROFILE",
        "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
        "KEEP_ALL_PROFILE",
        "DEIDENTIFY_TAG_CONTENTS",
    ),
    "PrimaryIdsOption": ("PRIMARY_IDS_OPTION_UNSPECIFIED", "KEEP", "REGEN"),
    "TextRedactionMode": (
        "TEXT_REDACTION_MODE_UNSPECIFIED",
        "REDACT_ALL_TEXT",
        "REDACT_SENSITIVE_TEXT",
        "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS",
        "REDACT_NO_TEXT",
    ),
    "TextConfig.ProfileType": ("PROFILE_TYPE_UNSPECIFIED", "BASIC", "EMPTY"),
}

OPERATIONS = (
    "keepTag",
    "removeTag",
    "deleteTag",
    "resetTag",
    "cleanTextTag",
    "regenUidTag",
    "recurseTag",
    "cleanImageTag",
)
TRANSFORMATIONS = (
    "replaceWithInfoTypeConfig",
    "redactConfig",
    "characterMaskConfig",
    "cryptoHashConfig",
    "dateShiftConfig",
)
_KEYED = {"cryptoKey": Field("string"), "kmsWrapped": Field("object")}
_KEY_ONEOF = (OneOf(("cryptoKey", "kmsWrapped")),)
_EMPTY = ("KeepTag", "RemoveTag", "DeleteTag", "ResetTag", "CleanTextTag", "RegenUidTag", "RecurseTag")
_EMPTY += ("CleanDescriptorsOption", "ReplaceWithInfoTypeConfig", "RedactConfig")

MESSAGES: dict[str, Message] = {
    "DeidentifyRequest": Message(
        {
            "destinationDataset": Field("string"),
            "destinationStore": Field("string"),
            "config": Field("DeidentifyConfig"),
            "gcsConfigUri": Field("string"),
            "filterConfig": Field("DicomFilterConfig"),
        },
        (
            OneOf(("config", "gcsConfigUri")),
            OneOf(
                ("destinationDataset", "destinationStore"),
                hint="destinationDataset belongs to datasets.deidentify, destinationStore to dicomStores.deidentify",
            ),
        ),
    ),
    "DicomFilterConfig": Message(
        {"resourcePathsGcsUri": Field("string"), "resourcePathGcsUri": Field("string")},
        (OneOf(("resourcePathsGcsUri", "resourcePathGcsUri")),),
    ),
    "DeidentifyConfig": Message(
        {
            "dicom": Field("DicomConfig"),
            "dicomTagConfig": Field("DicomTagConfig"),
            "image": Field("ImageConfig"),
            "text": Field("TextConfig"),
            "fhir": Field("object"),
            "fhirFieldConfig": Field("object"),
            "useRegionalDataProcessing": Field("bool"),
            "operationMetadata": Field("object"),
        },
        (
            OneOf(
                ("dicom", "dicomTagConfig"),
                hint="a request may not contain both DicomConfig and DicomTagConfig; "
                "migrate dicom to dicomTagConfig (filterProfile -> profileType, keepList -> keepTag actions, "
                "skipIdRedaction -> options.primaryIds)",
            ),
        ),
    ),
    "DicomConfig": Message(
        {
            "filterProfile": Field("TagFilterProfile"),
            "keepList": Field("TagFilterList"),
            "removeList": Field("TagFilterList"),
            "skipIdRedaction": Field("bool"),
        },
        (OneOf(("filterProfile", "keepList", "removeList")),),
    ),
    "TagFilterList": Message({"tags": Field("string", repeated=True)}),
    "DicomTagConfig": Message(
        {
            "profileType": Field("DicomTagConfig.ProfileType"),
            "options": Field("Options"),
            "actions": Field("Action", repeated=True),
        }
    ),
    "Options": Message(
        {
            "primaryIds": Field("PrimaryIdsOption"),
            "cleanImage": Field("ImageConfig"),
            "cleanDescriptors": Field("CleanDescriptorsOption"),
        }
    ),
    "Action": Message(
        {"queries": Field("string", repeated=True)}
        | {op: Field(op[0].upper() + op[1:]) for op in OPERATIONS if op != "cleanImageTag"}
        | {"cleanImageTag": Field("ImageConfig")},
        (OneOf(OPERATIONS, required=True, hint="one Action has one operation; use several Actions"),),
    ),
    "ImageConfig": Message(
        {
            "textRedactionMode": Field("TextRedactionMode"),
            "additionalInfoTypes": Field("string", repeated=True),
            "excludeInfoTypes": Field("string", repeated=True),
            "customRegexes": Field("CustomRegex", repeated=True),
        }
    ),
    "CustomRegex": Message({"pattern": Field("string"), "groupIndexes": Field("int", repeated=True)}),
    "TextConfig": Message(
        {
            "profileType": Field("TextConfig.ProfileType"),
            "additionalTransformations": Field("InfoTypeTransformation", repeated=True),
            "transformations": Field("InfoTypeTransformation", repeated=True),
            "excludeInfoTypes": Field("string", repeated=True),
        }
    ),
    "InfoTypeTransformation": Message(
        {"infoTypes": Field("string", repeated=True)}
        | {name: Field(name[0].upper() + name[1:]) for name in TRANSFORMATIONS},
        (OneOf(TRANSFORMATIONS, required=True),),
    ),
    "CharacterMaskConfig": Message({"maskingCharacter": Field("string")}),
    "CryptoHashConfig": Message(_KEYED, _KEY_ONEOF),
    "DateShiftConfig": Message(_KEYED, _KEY_ONEOF),
} | {name: Message({}, doc="an empty message: write {}") for name in _EMPTY}


def where(path: str) -> str:
    """A JSON path as the messages show it (the root is "the top level")."""
    return path or "the top level"


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'X'?)`` for the closest choice (case-insensitive first), or ``""``."""
    folded = {c.casefold(): c for c in choices}
    close = [folded[word.casefold()]] if word.casefold() in folded else []
    close = close or difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    return "array" if isinstance(value, list) else "object" if isinstance(value, Mapping) else type(value).__name__


def _wrong(path: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{where(path)} must be {expected}, got {_json_type(value)}")


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(path, "true or false", value)
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _wrong(path, "a string", value)
    return value


def _int(value: Any, path: str) -> int:
    """proto3 JSON takes an integer as a number or a decimal string."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(path, "an integer", value)
    return value


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong(path, "an object", value)
    return value


_SCALARS: dict[str, Callable[[Any, str], Any]] = {"bool": _bool, "string": _string, "int": _int, "object": _object}


def _enum(value: Any, name: str, path: str) -> str:
    valid = ENUMS[name]
    if not isinstance(value, str):
        raise _wrong(path, f"a {name} name (one of {', '.join(valid)})", value)
    if value not in valid:
        raise ConfigError(
            f"{where(path)}: {value!r} is not a valid {name}; valid values: {', '.join(valid)}{suggest(value, valid)}"
        )
    return value


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _field_name(key: str, message: str, path: str) -> str:
    fields = MESSAGES[message].fields
    name = key if key in fields else _camel(key)
    if name in fields:
        return name
    valid = ", ".join(fields) or f"none ({message} is {MESSAGES[message].doc})"
    raise ConfigError(
        f"unknown field {key!r} at {where(path)} ({message}); valid fields: {valid}{suggest(key, list(fields))}"
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _value(value: Any, kind: str, path: str) -> Any:
    if kind in MESSAGES:
        if not isinstance(value, Mapping):
            raise _wrong(path, f"an object ({kind})", value)
        return check(value, kind, path)
    if kind in ENUMS:
        return _enum(value, kind, path)
    return _SCALARS[kind](value, path)


def _field(value: Any, spec: Field, path: str) -> Any:
    if not spec.repeated:
        return _value(value, spec.kind, path)
    if not isinstance(value, list):
        what = f"{spec.kind} objects" if spec.kind in MESSAGES else f"{spec.kind} values"
        raise _wrong(path, f"a list of {what}", value)
    return [_value(item, spec.kind, f"{path}[{i}]") for i, item in enumerate(value)]


def _check_oneofs(found: Mapping[str, Any], message: str, path: str) -> None:
    for group in MESSAGES[message].oneofs:
        present = [m for m in group.members if m in found]
        hint = f": {group.hint}" if group.hint else ""
        if len(present) > 1:
            raise ConfigError(
                f"{where(path)} sets {' and '.join(present)}; set only one of {', '.join(group.members)}{hint}"
            )
        if group.required and not present:
            raise ConfigError(f"{where(path)} needs exactly one of {', '.join(group.members)}{hint}")


def check(value: Any, message: str, path: str = "") -> dict[str, Any]:
    """``value`` checked against ``message``: camelCase keys, nulls dropped, nested messages checked."""
    if not isinstance(value, Mapping):
        raise _wrong(path, f"an object ({message})", value)
    out: dict[str, Any] = {}
    spec = MESSAGES[message]
    for key, raw in value.items():
        name = _field_name(str(key), message, path)
        if name in out or (raw is not None and name in _seen(value, name, key)):
            raise ConfigError(f"{where(path)} sets {name} twice (as {name!r} and as its snake_case name)")
        if raw is not None:
            out[name] = _field(raw, spec.fields[name], _join(path, name))
    _check_oneofs(out, message, path)
    return out


def _seen(value: Mapping[str, Any], name: str, key: str) -> set[str]:
    """The field names other keys of ``value`` (not ``key``) already spell as ``name``."""
    return {name for other in value if other != key and _camel(str(other)) == name and value[other] is not None}


field  # noqa: B018 - re-exported for table authors who need defaults
