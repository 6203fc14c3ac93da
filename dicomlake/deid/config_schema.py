"""The fields of a de-identification request, as tables, and the one validator that walks them.

Each message type of the Cloud Healthcare API request (``DeidentifyConfig``, ``DicomTagConfig``,
``Action``, ``ImageConfig`` …) is a :class:`Message` written like its proto: ``"name: Kind"``,
``[]`` for a repeated field, ``!`` for one that must be set (and, if repeated, non-empty); plus its
one-of groups and an optional rule over the checked fields. A kind is a message, an enum of
:data:`ENUMS` or a scalar kind of :data:`SCALARS`; scalar kinds check and decode values (queries
against the DICOM dictionary, infoType names, regexes, base64 AES keys; ``object`` is opaque).

:func:`check` walks a parsed JSON value against a message and returns plain dicts with camelCase
keys (proto3 JSON: snake_case names are accepted too, and ``null`` means "not set"). Anything it
does not know is a :class:`ConfigError` naming the JSON path and the valid choices.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from pydicom.datadict import keyword_dict

from ..codec.dictionary import entry, keyword_entry
from ..codec.vr import ALL
from ..errors import ConfigError, Param

VRS = ALL  # the 34 VRs, not "US or SS"
SENSITIVE_MODES = frozenset({"REDACT_SENSITIVE_TEXT", "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"})
_TAG_ID = re.compile(r"[0-9A-Fa-f]{8}")
_INFO_TYPE = re.compile(r"[A-Za-z0-9$_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Query:
    """One entry of ``Action.queries`` (or of a keep/remove list): a tag (by id or keyword) or a VR."""

    kind: Literal["tag", "vr"]
    tag: int | None
    keyword: str | None
    vr: str | None  # a tag's dictionary VR ("OB or OW" when ambiguous; None when not in the dictionary)
    text: str  # as written


@dataclass(frozen=True, slots=True)
class Field:
    """A field: its kind (a message, an enum or a scalar kind), repeated, required."""

    kind: str
    repeated: bool = False
    required: bool = False


@dataclass(frozen=True, slots=True)
class OneOf:
    """Fields of which at most one (``required``: exactly one) may be set; ``hint`` says what to do."""

    members: tuple[str, ...]
    required: bool = False
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """A message type: its fields, one-of groups and a rule over the checked fields."""

    fields: Mapping[str, Field]
    oneofs: tuple[OneOf, ...] = ()
    rule: Callable[[Mapping[str, Any], str], None] | None = None


def _msg(spec: str, *oneofs: OneOf, rule: Callable[[Mapping[str, Any], str], None] | None = None) -> Message:
    """``"name: Kind, other: Kind[]!"`` as a :class:`Message`."""
    fields = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, kind = (s.strip() for s in item.split(":"))
        fields[name] = Field(kind.rstrip("[]!"), repeated="[]" in kind, required=kind.endswith("!"))
    return Message(fields, oneofs, rule)


_PROFILES = ("MINIMAL_KEEP_LIST_PROFILE", "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE", "KEEP_ALL_PROFILE")
ENUMS: dict[str, tuple[str, ...]] = {
    "TagFilterProfile": ("TAG_FILTER_PROFILE_UNSPECIFIED", *_PROFILES, "DEIDENTIFY_TAG_CONTENTS"),
    "DicomTagConfig.ProfileType": ("PROFILE_TYPE_UNSPECIFIED", *_PROFILES, "DEIDENTIFY_TAG_CONTENTS"),
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
_EMPTY = "KeepTag RemoveTag DeleteTag ResetTag CleanTextTag RegenUidTag RecurseTag CleanDescriptorsOption"
_EMPTY += " ReplaceWithInfoTypeConfig RedactConfig"
_MIGRATE = (
    "a request may not contain both DicomConfig and DicomTagConfig; migrate dicom to dicomTagConfig "
    "(filterProfile -> profileType, keepList -> keepTag actions, skipIdRedaction -> options.primaryIds)"
)


def _image_modes(d: Mapping[str, Any], path: str) -> None:
    mode = d.get("textRedactionMode", "TEXT_REDACTION_MODE_UNSPECIFIED")
    allowed = {
        "additionalInfoTypes": (*sorted(SENSITIVE_MODES), "TEXT_REDACTION_MODE_UNSPECIFIED"),
        "excludeInfoTypes": tuple(sorted(SENSITIVE_MODES)),
    }
    for name, modes in allowed.items():
        if d.get(name) and mode not in modes:
            raise ConfigError(
                f"{_join(path, name)} is allowed only with textRedactionMode {' or '.join(modes)}, not {mode}"
            )


def _regex_groups(d: Mapping[str, Any], path: str) -> None:
    groups = re.compile(d["pattern"]).groups
    for i, g in enumerate(d.get("groupIndexes", [])):
        if not 0 <= g <= groups:
            raise ConfigError(f"{_join(path, 'groupIndexes')}[{i}]: {g} is not a group of the pattern (0 to {groups})")


_KEYED = "cryptoKey: aesKey, kmsWrapped: kms"
MESSAGES: dict[str, Message] = {
    "DeidentifyRequest": _msg(
        "destinationDataset: string, destinationStore: string, config: DeidentifyConfig, gcsConfigUri: string, "
        "filterConfig: DicomFilterConfig",
        OneOf(("config", "gcsConfigUri")),
        OneOf(
            ("destinationDataset", "destinationStore"),
            hint="destinationDataset belongs to datasets.deidentify, destinationStore to dicomStores.deidentify",
        ),
    ),
    "DicomFilterConfig": _msg(
        "resourcePathsGcsUri: string, resourcePathGcsUri: string", OneOf(("resourcePathsGcsUri", "resourcePathGcsUri"))
    ),
    "DeidentifyConfig": _msg(
        "dicom: DicomConfig, dicomTagConfig: DicomTagConfig, image: ImageConfig, text: TextConfig, fhir: object, "
        "fhirFieldConfig: object, useRegionalDataProcessing: bool, operationMetadata: object",
        OneOf(("dicom", "dicomTagConfig"), hint=_MIGRATE),
    ),
    "DicomConfig": _msg(
        "filterProfile: TagFilterProfile, keepList: TagFilterList, removeList: TagFilterList, skipIdRedaction: bool",
        OneOf(("filterProfile", "keepList", "removeList")),
    ),
    "TagFilterList": _msg("tags: tagQuery[]!"),
    "DicomTagConfig": _msg("profileType: DicomTagConfig.ProfileType, options: Options, actions: Action[]"),
    "Options": _msg("primaryIds: PrimaryIdsOption, cleanImage: ImageConfig, cleanDescriptors: CleanDescriptorsOption"),
    "Action": _msg(
        "queries: query[]!, keepTag: KeepTag, removeTag: RemoveTag, deleteTag: DeleteTag, resetTag: ResetTag, "
        "cleanTextTag: CleanTextTag, regenUidTag: RegenUidTag, recurseTag: RecurseTag, cleanImageTag: ImageConfig",
        OneOf(OPERATIONS, required=True, hint="one Action has one operation; use several Actions"),
    ),
    "ImageConfig": _msg(
        "textRedactionMode: TextRedactionMode, additionalInfoTypes: infoType[], excludeInfoTypes: infoType[], "
        "customRegexes: CustomRegex[]",
        rule=_image_modes,
    ),
    "CustomRegex": _msg("pattern: regex!, groupIndexes: int[]", rule=_regex_groups),
    "TextConfig": _msg(
        "profileType: TextConfig.ProfileType, additionalTransformations: InfoTypeTransformation[], "
        "transformations: InfoTypeTransformation[], excludeInfoTypes: infoType[]"
    ),
    "InfoTypeTransformation": _msg(
        "infoTypes: infoType[], replaceWithInfoTypeConfig: ReplaceWithInfoTypeConfig, redactConfig: RedactConfig, "
        "characterMaskConfig: CharacterMaskConfig, cryptoHashConfig: CryptoHashConfig, dateShiftConfig: DateShiftConfig",
        OneOf(TRANSFORMATIONS, required=True),
    ),
    "CharacterMaskConfig": _msg("maskingCharacter: char"),
    "CryptoHashConfig": _msg(_KEYED, OneOf(("cryptoKey", "kmsWrapped"))),
    "DateShiftConfig": _msg(_KEYED, OneOf(("cryptoKey", "kmsWrapped"))),
} | {name: _msg("") for name in _EMPTY.split()}


def where(path: str) -> str:
    """A JSON path as messages show it (the root is "the top level")."""
    return path or "the top level"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'X'?)`` for the closest choice (case-insensitive first), or ``""``."""
    folded = {c.casefold(): c for c in choices}
    close = [folded[word.casefold()]] if word.casefold() in folded else []
    close = close or difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_query(text: str, path: str = "query") -> Query:
    """A tag id (``00100010``), a keyword (``PatientName``) or a VR (``PN``); else ConfigError at ``path``."""
    if _TAG_ID.fullmatch(text):
        tag = int(text, 16)
        found = entry(tag)
        return Query("tag", tag, found.keyword if found else None, found.vr if found else None, text)
    if text in VRS:
        return Query("vr", None, None, text, text)
    found = keyword_entry(text)
    if found is not None:
        return Query("tag", found.tag, found.keyword, found.vr, text)
    hint = suggest(text, [*keyword_dict, *sorted(VRS)])  # dictionary.py has no keyword list of its own
    raise ConfigError(
        f"{where(path)}: {text!r} is not a tag id (8 hex digits, e.g. 00100010), a DICOM keyword (PatientName) "
        f"or a VR (PN){hint}"
    )


def _json_type(value: Any) -> str:
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return f"number {value!r}"
    return "array" if isinstance(value, list) else "object" if isinstance(value, Mapping) else type(value).__name__


def _wrong(path: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{where(path)} must be {expected}, got {_json_type(value)}")


def _typed(kind: type, expected: str) -> Callable[[Any, str], Any]:
    def checker(value: Any, path: str) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _wrong(path, expected, value)
        return value

    return checker


_string = _typed(str, "a string")


def _int(value: Any, path: str) -> int:
    """proto3 JSON takes an integer as a number or a decimal string."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return int(_typed(int, "an integer")(value, path))


def _info_type(value: Any, path: str) -> str:
    if not _INFO_TYPE.fullmatch(_string(value, path)):
        raise ConfigError(f"{where(path)}: {value!r} is not an infoType name (letters, digits, _; e.g. PERSON_NAME)")
    return str(value)


def _regex(value: Any, path: str) -> str:
    """A pattern Python's re compiles (Google uses RE2, whose syntax is close to a subset)."""
    try:
        re.compile(_string(value, path))
    except re.error as e:
        raise ConfigError(f"{where(path)}: {value!r} does not compile: {e}") from None
    return str(value)


def _char(value: Any, path: str) -> str:
    if len(_string(value, path)) > 1:
        raise ConfigError(f"{where(path)} must be one character, got {value!r}")
    return str(value)


def _aes_key(value: Any, path: str) -> bytes:
    """proto3 JSON bytes (standard or URL-safe base64, padding optional) holding an AES key."""
    text = _string(value, path).strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where(path)} is not valid base64") from None
    if len(key) not in (16, 24, 32):
        raise ConfigError(f"{where(path)} is {len(key)} bytes; an AES key has 16, 24 or 32 bytes (base64 encoded)")
    return key


def _kms(value: Any, path: str) -> NoReturn:
    raise ConfigError(
        f"{where(path)}: Cloud KMS is not available locally; put the key in a file and pass ",
        Param("key_file"),
        ", or set cryptoKey (base64)",
    )


def _tag_query(value: Any, path: str) -> Query:
    query = parse_query(_string(value, path), path)
    if query.kind == "vr":
        raise ConfigError(f"{where(path)}: {query.text!r} is a VR; a tag list takes keywords or tag ids")
    return query


#: Scalar kinds: each checks (and may decode) a JSON value at a path.
SCALARS: dict[str, Callable[[Any, str], Any]] = {
    "bool": _typed(bool, "true or false"),
    "string": _string,
    "int": _int,
    "object": _typed(Mapping, "an object"),
    "infoType": _info_type,
    "regex": _regex,
    "char": _char,
    "aesKey": _aes_key,
    "kms": _kms,
    "query": lambda value, path: parse_query(_string(value, path), path),
    "tagQuery": _tag_query,
}
_PLURAL = {"int": "integers", "bool": "booleans", "object": "objects"}
_HELP = {
    "query": "list tag ids (00100010), keywords (PatientName) or VRs (PN)",
    "tagQuery": "list keywords (PatientID) or tag ids (00100020)",
    "regex": "give a regular expression",
}


def _enum(value: Any, name: str, path: str) -> str:
    valid = ENUMS[name]
    if not isinstance(value, str):
        raise _wrong(path, f"a {name} name (one of {', '.join(valid)})", value)
    if value not in valid:
        raise ConfigError(
            f"{where(path)}: {value!r} is not a valid {name}; valid values: {', '.join(valid)}{suggest(value, valid)}"
        )
    return value


def camel(key: str) -> str:
    """A proto field name in lowerCamelCase (``dicom_tag_config`` -> ``dicomTagConfig``)."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _field_name(key: str, message: str, path: str) -> str:
    fields = MESSAGES[message].fields
    name = key if key in fields else camel(key)
    if name in fields:
        return name
    valid = ", ".join(fields) or f"none ({message} is an empty message: write {{}})"
    raise ConfigError(
        f"unknown field {key!r} at {where(path)} ({message}); valid fields: {valid}{suggest(key, list(fields))}"
    )


def _value(value: Any, kind: str, path: str) -> Any:
    if kind in MESSAGES:
        return check(value, kind, path)
    if kind in ENUMS:
        return _enum(value, kind, path)
    return SCALARS[kind](value, path)


def _field(value: Any, spec: Field, path: str) -> Any:
    if not spec.repeated:
        return _value(value, spec.kind, path)
    if not isinstance(value, list):
        what = f"{spec.kind} objects" if spec.kind in MESSAGES else _PLURAL.get(spec.kind, "strings")
        raise _wrong(path, f"a list of {what}", value)
    return [_value(item, spec.kind, f"{path}[{i}]") for i, item in enumerate(value)]


def _check_set(found: Mapping[str, Any], message: str, path: str) -> None:
    """Required fields and one-of groups."""
    for name, spec in MESSAGES[message].fields.items():
        if spec.required and not found.get(name):
            raise ConfigError(f"{_join(path, name)} is missing or empty: {_HELP.get(spec.kind, 'set it')}")
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
    seen: set[str] = set()
    for key, raw in value.items():
        name = _field_name(str(key), message, path)
        if name in seen:
            raise ConfigError(f"{where(path)} sets {name} twice (once by its snake_case name)")
        seen.add(name)
        if raw is not None:
            out[name] = _field(raw, MESSAGES[message].fields[name], _join(path, name))
    _check_set(out, message, path)
    rule = MESSAGES[message].rule
    if rule is not None:
        rule(out, path)
    return out
