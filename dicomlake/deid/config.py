"""Load a de-identification request (Cloud Healthcare API JSON) into frozen dataclasses.

:func:`load_config` takes a whole ``datasets.deidentify`` / ``dicomStores.deidentify`` request
body (``destinationDataset`` / ``destinationStore``, ``config`` or ``gcsConfigUri``,
``filterConfig``) or just its ``config`` (a ``DeidentifyConfig``), as a JSON file or a parsed dict.
The field tables and their checks (unknown fields, types, enums, one-ofs, queries resolved
against the DICOM dictionary, keys, regexes) are in :mod:`.config_schema`; this module adds the
operation/VR constraints of actions and builds the dataclasses.

Enum values are kept as written, ``*_UNSPECIFIED`` included; the ``profile`` / ``mode``
properties give the value in force. Nothing is dropped silently: what the local tool does not
use (resource names, FHIR settings, regional processing) comes back in ``DeidRequest.notes``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from ..codec.dictionary import PIXEL_DATA
from ..codec.vr import possible
from ..errors import ConfigError, Part, render
from .config_schema import MESSAGES, OPERATIONS, TRANSFORMATIONS, VRS, Query, camel, check, parse_query, where

__all__ = [
    "OPERATION_VRS",
    "VRS",
    "Action",
    "CharacterMask",
    "CryptoHash",
    "CustomRegex",
    "DateShift",
    "DeidConfig",
    "DeidRequest",
    "DicomConfig",
    "DicomTagConfig",
    "ImageConfig",
    "InfoTypeTransformation",
    "Options",
    "Query",
    "Redact",
    "ReplaceWithInfoType",
    "TextConfig",
    "load_config",
    "parse_query",
]

Operation = Literal[
    "keepTag", "removeTag", "deleteTag", "resetTag", "cleanTextTag", "regenUidTag", "recurseTag", "cleanImageTag"
]
#: The VRs an operation supports (operations not listed take any VR; cleanImageTag takes PixelData only).
OPERATION_VRS: dict[str, frozenset[str]] = {
    "cleanTextTag": frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "DA", "DT", "AS"}),
    "regenUidTag": frozenset({"UI"}),
    "recurseTag": frozenset({"SQ"}),
}


@dataclass(frozen=True, slots=True)
class CustomRegex:
    pattern: str
    group_indexes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageConfig:
    text_redaction_mode: str = "TEXT_REDACTION_MODE_UNSPECIFIED"
    additional_info_types: tuple[str, ...] = ()
    exclude_info_types: tuple[str, ...] = ()
    custom_regexes: tuple[CustomRegex, ...] = ()

    @property
    def mode(self) -> str:
        """The mode in force: unspecified is ``REDACT_NO_TEXT``."""
        unspecified = self.text_redaction_mode == "TEXT_REDACTION_MODE_UNSPECIFIED"
        return "REDACT_NO_TEXT" if unspecified else self.text_redaction_mode


@dataclass(frozen=True, slots=True)
class Action:
    """One operation (JSON name, e.g. ``keepTag``) on the tags its queries select."""

    queries: tuple[Query, ...]
    operation: Operation
    image: ImageConfig | None = None  # cleanImageTag's ImageConfig


@dataclass(frozen=True, slots=True)
class Options:
    primary_ids: str = "PRIMARY_IDS_OPTION_UNSPECIFIED"  # or KEEP, REGEN
    clean_image: ImageConfig | None = None
    clean_descriptors: bool = False


@dataclass(frozen=True, slots=True)
class DicomTagConfig:
    """v1beta1 ``DicomTagConfig``: profile, options, then actions in the order given."""

    profile_type: str = "PROFILE_TYPE_UNSPECIFIED"
    options: Options = field(default_factory=Options)
    actions: tuple[Action, ...] = ()

    @property
    def profile(self) -> str:
        """The profile in force: unspecified is the Basic Profile (unlike v1's DicomConfig)."""
        unspecified = self.profile_type == "PROFILE_TYPE_UNSPECIFIED"
        return "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE" if unspecified else self.profile_type


@dataclass(frozen=True, slots=True)
class DicomConfig:
    """Legacy v1 ``DicomConfig``. A keep or remove list, when set, takes the profile's place."""

    filter_profile: str = "TAG_FILTER_PROFILE_UNSPECIFIED"
    keep_list: tuple[Query, ...] | None = None
    remove_list: tuple[Query, ...] | None = None
    skip_id_redaction: bool = False

    @property
    def profile(self) -> str:
        """The filter profile in force: unspecified is ``KEEP_ALL_PROFILE``."""
        unspecified = self.filter_profile == "TAG_FILTER_PROFILE_UNSPECIFIED"
        return "KEEP_ALL_PROFILE" if unspecified else self.filter_profile


@dataclass(frozen=True, slots=True)
class ReplaceWithInfoType:
    """Replace each finding with ``[INFO_TYPE_NAME]``."""


@dataclass(frozen=True, slots=True)
class Redact:
    """Erase each finding."""


@dataclass(frozen=True, slots=True)
class CharacterMask:
    masking_character: str = "*"


@dataclass(frozen=True, slots=True)
class CryptoHash:
    crypto_key: bytes | None = None  # None: a random key per operation


@dataclass(frozen=True, slots=True)
class DateShift:
    crypto_key: bytes | None = None  # None: a random key per operation


Transformation = ReplaceWithInfoType | Redact | CharacterMask | CryptoHash | DateShift


@dataclass(frozen=True, slots=True)
class InfoTypeTransformation:
    info_types: tuple[str, ...]  # empty: the default transformation
    transformation: Transformation


@dataclass(frozen=True, slots=True)
class TextConfig:
    profile_type: str = "PROFILE_TYPE_UNSPECIFIED"
    additional_transformations: tuple[InfoTypeTransformation, ...] = ()
    transformations: tuple[InfoTypeTransformation, ...] = ()  # deprecated field, same meaning
    exclude_info_types: tuple[str, ...] = ()

    @property
    def profile(self) -> str:
        """The text profile in force: unspecified is ``BASIC``."""
        return "BASIC" if self.profile_type == "PROFILE_TYPE_UNSPECIFIED" else self.profile_type

    @property
    def all_transformations(self) -> tuple[InfoTypeTransformation, ...]:
        return self.additional_transformations + self.transformations


@dataclass(frozen=True, slots=True)
class DeidConfig:
    """A ``DeidentifyConfig``. After :func:`load_config` exactly one of dicom / dicom_tag_config is set."""

    dicom: DicomConfig | None = None
    dicom_tag_config: DicomTagConfig | None = None
    image: ImageConfig | None = None  # legacy DeidentifyConfig.image
    text: TextConfig | None = None
    use_regional_data_processing: bool = False

    @property
    def api(self) -> Literal["v1", "v1beta1"]:
        return "v1beta1" if self.dicom_tag_config is not None else "v1"

    @property
    def profile(self) -> str:
        """The tag profile in force (for v1 with a keep/remove list the list applies instead)."""
        if self.dicom_tag_config is not None:
            return self.dicom_tag_config.profile
        return (self.dicom or DicomConfig()).profile

    @property
    def primary_ids(self) -> str:
        """KEEP, REGEN, or PRIMARY_IDS_OPTION_UNSPECIFIED (v1beta1: as the profile says)."""
        if self.dicom_tag_config is not None:
            return self.dicom_tag_config.options.primary_ids
        return "KEEP" if (self.dicom or DicomConfig()).skip_id_redaction else "REGEN"

    @property
    def clean_image(self) -> ImageConfig | None:
        """The ImageConfig applied to PixelData: ``options.cleanImage`` or the legacy ``image``."""
        tag = self.dicom_tag_config
        own = tag.options.clean_image if tag is not None else None
        return own if own is not None else self.image


class Note(str):
    """A note on a request or a run: its text, with what it is about for front ends that word it
    their own way (the CLI names its options): the request ``field`` it is about and its
    ``value``, or the message ``parts`` (see :mod:`dicomlake.errors`)."""

    field: str | None
    value: str | None
    parts: tuple[Part, ...]

    def __new__(cls, text: str, field: str | None = None, value: str | None = None) -> Note:
        note = super().__new__(cls, text)
        note.field, note.value, note.parts = field, value, (text,)
        return note

    @classmethod
    def of(cls, *parts: Part) -> Note:
        """A note made of parts (text, :class:`~dicomlake.errors.Param`, :class:`~dicomlake.errors.Command`)."""
        note = cls(render(parts))
        note.parts = parts
        return note


#: Request fields that name a place in Google Cloud, which a local run takes from its arguments:
#: field → the argument of :func:`dicomlake.deid.run.deidentify` that gives it.
IGNORED_FIELDS = {
    "destinationDataset": "dest_lake",
    "destinationStore": "dest_store",
    "filterConfig": "spec",
}


@dataclass(frozen=True, slots=True)
class DeidRequest:
    config: DeidConfig
    notes: list[str] = field(default_factory=list)
    filter_uri: str | None = None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(q: Query) -> str:
    if q.kind == "vr":
        return f"VR {q.text!r}"
    name = q.keyword if q.keyword and q.keyword != q.text else f"{q.tag:08X}"
    return f"{q.text!r} ({name})"


def _check_target(op: str, q: Query, path: str, notes: list[str]) -> None:
    """Operation/VR constraints, checked now rather than per instance."""
    if op == "cleanImageTag":
        if q.kind != "tag" or q.tag != PIXEL_DATA:
            raise ConfigError(f"{path}: cleanImageTag applies only to PixelData (7FE00010), not to {_describe(q)}")
        return
    allowed = OPERATION_VRS.get(op)
    if allowed is None:
        return
    valid = " ".join(sorted(allowed))
    if q.vr is None:
        notes.append(
            f"{path}: {q.text!r} is not in the DICOM dictionary; {op} applies to it only where its VR is {valid}"
        )
    elif not allowed & possible(q.vr):
        what = f"the query selects VR {q.vr}" if q.kind == "vr" else f"{_describe(q)} has VR {q.vr}"
        raise ConfigError(f"{path}: {op} supports only VR {valid}, but {what}")


def _build_action(d: Mapping[str, Any], path: str, notes: list[str]) -> Action:
    op = next(name for name in OPERATIONS if name in d)  # the schema made it exactly one
    queries = tuple(d["queries"])  # resolved and non-empty: the schema saw to it
    for j, q in enumerate(queries):
        _check_target(op, q, f"{path}.queries[{j}]", notes)
    image = _build_image(d[op]) if op == "cleanImageTag" else None
    return Action(queries, cast(Operation, op), image)


def _build_image(d: Mapping[str, Any]) -> ImageConfig:
    regexes = tuple(CustomRegex(r["pattern"], tuple(r.get("groupIndexes", []))) for r in d.get("customRegexes", []))
    extra, exclude = tuple(d.get("additionalInfoTypes", [])), tuple(d.get("excludeInfoTypes", []))
    return ImageConfig(d.get("textRedactionMode", "TEXT_REDACTION_MODE_UNSPECIFIED"), extra, exclude, regexes)


_TRANSFORMS: dict[str, Callable[[Mapping[str, Any]], Transformation]] = {
    "replaceWithInfoTypeConfig": lambda d: ReplaceWithInfoType(),
    "redactConfig": lambda d: Redact(),
    "characterMaskConfig": lambda d: CharacterMask(d.get("maskingCharacter") or "*"),
    "cryptoHashConfig": lambda d: CryptoHash(d.get("cryptoKey")),  # bytes: the schema decoded the base64
    "dateShiftConfig": lambda d: DateShift(d.get("cryptoKey")),
}


def _build_transformation(d: Mapping[str, Any]) -> InfoTypeTransformation:
    name = next(n for n in TRANSFORMATIONS if n in d)  # the schema made it exactly one
    return InfoTypeTransformation(tuple(d.get("infoTypes", [])), _TRANSFORMS[name](d[name]))


def _build_text(d: Mapping[str, Any], path: str, notes: list[str]) -> TextConfig:
    def each(name: str) -> tuple[InfoTypeTransformation, ...]:
        return tuple(_build_transformation(t) for t in d.get(name, []))

    if "transformations" in d:
        notes.append(f"{path}.transformations is deprecated; applied like additionalTransformations, after them")
    profile, exclude = d.get("profileType", "PROFILE_TYPE_UNSPECIFIED"), tuple(d.get("excludeInfoTypes", []))
    return TextConfig(profile, each("additionalTransformations"), each("transformations"), exclude)


def _build_dicom(d: Mapping[str, Any]) -> DicomConfig:
    keep = tuple(d["keepList"]["tags"]) if "keepList" in d else None
    remove = tuple(d["removeList"]["tags"]) if "removeList" in d else None
    profile = d.get("filterProfile", "TAG_FILTER_PROFILE_UNSPECIFIED")
    return DicomConfig(profile, keep, remove, d.get("skipIdRedaction", False))


def _build_tag_config(d: Mapping[str, Any], path: str, notes: list[str]) -> DicomTagConfig:
    o = d.get("options", {})
    image = _build_image(o["cleanImage"]) if "cleanImage" in o else None
    options = Options(o.get("primaryIds", "PRIMARY_IDS_OPTION_UNSPECIFIED"), image, "cleanDescriptors" in o)
    actions = tuple(_build_action(a, f"{path}.actions[{i}]", notes) for i, a in enumerate(d.get("actions", [])))
    return DicomTagConfig(d.get("profileType", "PROFILE_TYPE_UNSPECIFIED"), options, actions)


def _config_notes(d: Mapping[str, Any], path: str, notes: list[str]) -> None:
    for name in ("fhir", "fhirFieldConfig", "operationMetadata"):
        if name in d:
            notes.append(f"{_join(path, name)} does not apply to DICOM and is not used")
    if "useRegionalDataProcessing" in d:
        notes.append(f"{_join(path, 'useRegionalDataProcessing')} changes nothing locally: all data stays here")
    if "dicom" not in d and "dicomTagConfig" not in d:
        notes.append(
            f"{where(path)} has neither dicom nor dicomTagConfig: using DicomConfig defaults "
            "(KEEP_ALL_PROFILE, primary IDs regenerated)"
        )


def _build_config(d: Mapping[str, Any], path: str, notes: list[str]) -> DeidConfig:
    """A checked ``DeidentifyConfig`` (see :func:`check`) as a :class:`DeidConfig`."""
    _config_notes(d, path, notes)
    tag = (
        _build_tag_config(d["dicomTagConfig"], _join(path, "dicomTagConfig"), notes) if "dicomTagConfig" in d else None
    )
    dicom = _build_dicom(d["dicom"]) if "dicom" in d else None
    image = _build_image(d["image"]) if "image" in d else None
    if image is not None and tag is not None:
        if tag.options.clean_image is not None:
            raise ConfigError(
                f"{_join(path, 'image')} and {_join(path, 'dicomTagConfig.options.cleanImage')} are both set; "
                "image is deprecated: keep only options.cleanImage"
            )
        notes.append(f"{_join(path, 'image')} is deprecated; applied as dicomTagConfig.options.cleanImage")
    text = _build_text(d["text"], _join(path, "text"), notes) if "text" in d else None
    dicom = dicom if dicom is not None or tag is not None else DicomConfig()
    return DeidConfig(dicom, tag, image, text, d.get("useRegionalDataProcessing", False))


def _filter_uri(body: Mapping[str, Any], notes: list[str]) -> str | None:
    if "filterConfig" not in body:
        return None
    if "destinationDataset" in body:
        raise ConfigError("filterConfig belongs to dicomStores.deidentify (destinationStore), not destinationDataset")
    f = body["filterConfig"]
    if "resourcePathGcsUri" in f:
        notes.append("filterConfig.resourcePathGcsUri is read as resourcePathsGcsUri (the API's name)")
    uri: str | None = f.get("resourcePathsGcsUri", f.get("resourcePathGcsUri"))
    if uri and uri.startswith("gs://"):
        notes.append(
            Note(f"filterConfig {uri!r} is in Cloud Storage: copy it here and give it as a filter", "filterConfig", uri)
        )
    return uri


def _build_request(data: Mapping[str, Any]) -> DeidRequest:
    body, notes = check(data, "DeidentifyRequest"), list[str]()
    for name in ("destinationDataset", "destinationStore"):
        if name in body:
            notes.append(
                Note(f"{name} {body[name]!r} is ignored: the destination is {IGNORED_FIELDS[name]}", name, body[name])
            )
    filter_uri = _filter_uri(body, notes)
    if "gcsConfigUri" in body:
        uri = body["gcsConfigUri"]
        raise ConfigError(
            f"gcsConfigUri {uri!r} cannot be read here: copy the object (gcloud storage cp {uri} config.json) "
            "and pass that file, or put the config in the request as config"
        )
    config = _build_config(body.get("config", {}), "config", notes)
    return DeidRequest(config, _notes(notes), filter_uri)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ConfigError(f"key {key!r} appears twice in one JSON object; keep one")
        out[key] = value
    return out


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def _from_json(data: Any) -> DeidRequest:
    if not isinstance(data, Mapping):
        raise ConfigError("the top level must be a JSON object: a deidentify request or its DeidentifyConfig")
    request_fields = MESSAGES["DeidentifyRequest"].fields
    if any(camel(str(key)) in request_fields for key in data):
        return _build_request(data)
    notes: list[str] = []
    config = _build_config(check(data, "DeidentifyConfig"), "", notes)
    return DeidRequest(config, _notes(notes))


def _notes(notes: list[str]) -> list[str]:
    """Every note as a :class:`Note` (the field it is about, if any)."""
    return [n if isinstance(n, Note) else Note(n) for n in notes]


def load_config(source: str | Path | Mapping[str, Any]) -> DeidRequest:
    """A de-identification request from a JSON file (path) or a parsed dict; ConfigError if invalid.

    ``source`` is a whole request body (``destinationDataset`` / ``destinationStore`` / ``config`` /
    ``gcsConfigUri`` / ``filterConfig``) or just a ``DeidentifyConfig``. Error messages name the
    JSON path (``config.dicomTagConfig.actions[0].queries[1]``) and the valid choices.
    """
    if isinstance(source, Mapping):
        return _from_json(source)
    path = Path(source)
    data = _read_json(path)
    try:
        return _from_json(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e
