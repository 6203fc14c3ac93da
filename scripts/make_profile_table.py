"""Regenerate ``dicomlake/data/confidentiality_profile.csv``.

DICOM PS3.15 Table E.1-1 ("Application Level Confidentiality Profile
Attributes") is assembled from two pinned PyPI wheels:

* ``dicom-anonymizer`` ships the *basic profile* codes of the most recent
  edition (``dicomfields_2026c.py``) but no option columns and no private row.
* ``idiscore`` ships the basic profile *and every option column* as separate
  rule sets, scraped from the NEMA "current" chapter E on 2025-06-24.

Basic codes come from dicom-anonymizer 2026c; idiscore is the cross-check and
the source of all option columns and of the private-attributes row.  Both
files are read with ``ast``/``tokenize`` -- nothing from the downloaded wheels
is imported or executed (idiscore also needs Python >= 3.12).

Usage (from the repository root)::

    python scripts/make_profile_table.py                 # download with pip
    python scripts/make_profile_table.py --wheel-dir DIR # use wheels in DIR

The script writes ``confidentiality_profile.csv`` and
``confidentiality_profile.PROVENANCE.md`` next to each other in ``--out-dir``
(default ``dicomlake/data``).
"""

from __future__ import annotations

import argparse
import ast
import collections
import csv
import hashlib
import io
import re
import subprocess
import sys
import tempfile
import tokenize
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom import datadict
from pydicom._dicom_dict import RepeatersDictionary

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "dicomlake" / "data"
CSV_NAME = "confidentiality_profile.csv"
PROVENANCE_NAME = "confidentiality_profile.PROVENANCE.md"

# --- pinned sources -------------------------------------------------------
ANON_DIST, ANON_VERSION = "dicom-anonymizer", "2.1.0"
ANON_EDITION = "2026c"
ANON_FILE = f"dicomanonymizer/dicom_anonymization_databases/dicomfields_{ANON_EDITION}.py"

IDISCORE_DIST, IDISCORE_VERSION = "idiscore", "1.6.0"
IDISCORE_RULES_FILE = "idiscore/_public_dicom.py"
IDISCORE_CODES_FILE = "idiscore/dicom.py"
# idiscore 1.6.0 declares Requires-Python >= 3.12; its wheel is pure Python,
# so we ask pip for the 3.12 wheel regardless of the interpreter running us.
IDISCORE_PYTHON = "3.12"

# sha256 of the pinned wheels as published on PyPI; a mismatch aborts the run.
WHEEL_SHA256 = {
    ANON_DIST: "bf642a6b43afd362faa2c7d2b101a3d4765cf85cf0d7590795e3ee556e636b8b",
    IDISCORE_DIST: "c2b8dbb252390ea3072ed3a069fd21c0814c40dd2a7f344d9ffe15e1e6afe14a",
}

# --- table vocabulary -----------------------------------------------------
VALID_CODES = ("D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*")

# dicomfields_*.py list name -> action code
ANON_LISTS = {
    "D_TAGS": "D",
    "Z_TAGS": "Z",
    "X_TAGS": "X",
    "U_TAGS": "U",
    "Z_D_TAGS": "Z/D",
    "X_Z_TAGS": "X/Z",
    "X_D_TAGS": "X/D",
    "X_Z_D_TAGS": "X/Z/D",
    "X_Z_U_STAR_TAGS": "X/Z/U*",
}

# CSV option column -> idiscore rule-set variable in _public_dicom.py
OPTION_SETS = {
    "retain_safe_private": "retain_safe_private",
    "retain_uids": "retain_uid",
    "retain_device_id": "retain_device_id",
    "retain_institution_id": "retain_institution_id",
    "retain_patient_chars": "retain_patient_characteristics",
    "retain_long_full_dates": "retain_full_dates",
    "retain_long_modified_dates": "retain_modified_dates",
    "clean_descriptors": "clean_descriptors",
    "clean_structured_content": "clean_structured_content",
    "clean_graphics": "clean_graphics",
}
BASIC_SET = "basic_profile"

# Token used in the ``tag`` column for "(gggg,eeee) where gggg is odd".
PRIVATE_TOKEN = "ggggeeee-where-gggg-is-odd"
PRIVATE_NAME = "Private Attributes"

COLUMNS = ("tag", "keyword", "name", "basic", *OPTION_SETS, "source")

SOURCE_BOTH = "both"
SOURCE_ANON = f"{ANON_DIST}-{ANON_EDITION}"
SOURCE_IDISCORE = f"{IDISCORE_DIST}-{IDISCORE_VERSION}"

_SEE_NOTE = re.compile(r"\s*\(see Note \d+\)\s*$", re.IGNORECASE)


# --- fetching -------------------------------------------------------------
def download_wheels(dest: Path) -> None:
    """``pip download --no-deps`` both pinned wheels into *dest*."""
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    base += ["--disable-pip-version-check", "-d", str(dest)]
    subprocess.run([*base, f"{ANON_DIST}=={ANON_VERSION}"], check=True)
    subprocess.run(
        [
            *base,
            "--python-version",
            IDISCORE_PYTHON,
            f"{IDISCORE_DIST}=={IDISCORE_VERSION}",
        ],
        check=True,
    )


def find_wheel(wheel_dir: Path, dist: str, version: str) -> Path:
    stem = dist.replace("-", "_")
    found = sorted(wheel_dir.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"no {dist} {version} wheel in {wheel_dir}")
    return found[0]


@dataclass
class Wheel:
    path: Path
    sha256: str
    members: dict[str, str] = field(default_factory=dict)  # path in wheel -> text


def read_wheel(path: Path, dist: str, members: list[str]) -> Wheel:
    wheel = Wheel(path, hashlib.sha256(path.read_bytes()).hexdigest())
    if wheel.sha256 != WHEEL_SHA256[dist]:
        raise SystemExit(f"{path.name}: sha256 {wheel.sha256} != pinned {WHEEL_SHA256[dist]}")
    with zipfile.ZipFile(path) as zf:
        for name in members:
            wheel.members[name] = zf.read(name).decode("utf-8")
    return wheel


# --- parsing (AST only, nothing is executed) ------------------------------
def _comments(source: str) -> dict[int, str]:
    """Line number -> text of the comment on that line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


def _anon_key(values: list[int]) -> str:
    """(g, e) -> 'GGGGEEEE'; (g, e, gmask, emask) -> pattern with 'x' digits."""
    if len(values) == 2:
        return f"{values[0]:04X}{values[1]:04X}"
    g, e, gmask, emask = values
    digits = f"{g:04X}{e:04X}"
    mask = f"{gmask:04X}{emask:04X}"
    if set(mask) - {"F", "0"}:
        raise ValueError(f"unsupported mask {mask}")
    return "".join(d if m == "F" else "x" for d, m in zip(digits, mask, strict=True))


def parse_anonymizer(source: str) -> dict[str, tuple[str, str]]:
    """tag -> (basic code, attribute name) from a dicomfields_*.py file."""
    comments = _comments(source)
    rows: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.List)):
            continue
        list_name = node.targets[0].id  # type: ignore[attr-defined]
        if list_name not in ANON_LISTS:
            if node.value.elts:
                raise ValueError(f"unexpected non-empty list {list_name}")
            continue
        for elt in node.value.elts:
            key = _anon_key([ast.literal_eval(v) for v in elt.elts])  # type: ignore[attr-defined]
            if key in rows:
                raise ValueError(f"{key} listed twice ({rows[key][0]}, {list_name})")
            rows[key] = (ANON_LISTS[list_name], comments.get(elt.end_lineno or 0, ""))
    return rows


def parse_idiscore_codes(source: str) -> dict[str, str]:
    """ActionCodes attribute name -> code string, from idiscore/dicom.py."""
    codes = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "ActionCode"
        ):
            codes[node.targets[0].id] = node.value.args[0].value  # type: ignore[attr-defined]
    return codes


@dataclass
class RuleSet:
    var: str
    name: str
    code: str  # DICOM CID 7050 code of the option
    rules: dict[str, tuple[str, str]]  # tag -> (action code, comment)


def _idiscore_key(call: ast.Call) -> str:
    kind = call.func.id  # type: ignore[attr-defined]
    if kind == "PrivateTags":
        return PRIVATE_TOKEN
    (arg,) = call.args
    text = arg.value  # type: ignore[attr-defined]
    if kind == "SingleTag":
        return text.upper()
    if kind == "RepeatingGroup":
        return text.upper().replace("X", "x")
    raise ValueError(f"unknown identifier {kind}")


def parse_idiscore_rules(source: str, codes: dict[str, str]) -> dict[str, RuleSet]:
    comments = _comments(source)
    sets: dict[str, RuleSet] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        kw = {k.arg: k.value for k in node.value.keywords}
        rules: dict[str, tuple[str, str]] = {}
        for elt in kw["rules"].elts:  # type: ignore[attr-defined]
            ident, action = elt.elts
            key = _idiscore_key(ident)
            if key in rules:
                raise ValueError(f"{key} twice in {node.targets[0].id}")  # type: ignore[attr-defined]
            rules[key] = (codes[action.attr], comments.get(elt.end_lineno, ""))
        var = node.targets[0].id  # type: ignore[attr-defined]
        sets[var] = RuleSet(var, kw["name"].value, kw["code"].value, rules)  # type: ignore[attr-defined]
    return sets


def scrape_date(source: str) -> str:
    match = re.search(r"scrape date:\s*(\S+)", source)
    return match.group(1) if match else "unknown"


# --- pydicom --------------------------------------------------------------
def keyword_for(tag: str) -> str:
    if tag == PRIVATE_TOKEN:
        return ""
    if "x" in tag:
        entry = RepeatersDictionary.get(tag)
        return entry[4] if entry else ""
    value = int(tag, 16)
    return datadict.keyword_for_tag(value) if value in datadict.DicomDictionary else ""


def name_for(tag: str, anon_name: str, idiscore_comment: str) -> str:
    """The table's attribute name (dicom-anonymizer comment), else pydicom, else idiscore."""
    name = _SEE_NOTE.sub("", anon_name).strip()
    if name:
        return name
    if tag == PRIVATE_TOKEN:
        return PRIVATE_NAME
    if "x" not in tag and int(tag, 16) in datadict.DicomDictionary:
        return datadict.dictionary_description(int(tag, 16))
    return idiscore_comment


def sort_key(tag: str) -> tuple[int, str]:
    if tag == PRIVATE_TOKEN:
        return (1, tag)
    return (0, tag.replace("x", "0") + tag)


# --- assembly -------------------------------------------------------------
@dataclass
class Result:
    rows: list[dict[str, str]]
    anon: dict[str, tuple[str, str]]
    sets: dict[str, RuleSet]
    disagreements: list[tuple[str, str, str, str]]  # tag, name, anon code, idiscore code
    only_anon: list[str]
    only_idiscore: list[str]


def build(anon: dict[str, tuple[str, str]], sets: dict[str, RuleSet]) -> Result:
    basic = sets[BASIC_SET].rules
    for column, var in OPTION_SETS.items():
        stray = set(sets[var].rules) - set(basic) - set(anon)
        if stray:
            raise ValueError(f"{column} has rows that are in no basic profile: {sorted(stray)}")

    rows, disagreements = [], []
    for tag in sorted(set(anon) | set(basic), key=sort_key):
        anon_code, anon_name = anon.get(tag, ("", ""))
        idi_code, idi_comment = basic.get(tag, ("", ""))
        if anon_code and idi_code and anon_code != idi_code:
            disagreements.append((tag, anon_name, anon_code, idi_code))
        row = {
            "tag": tag,
            "keyword": keyword_for(tag),
            "name": name_for(tag, anon_name, idi_comment),
            "basic": anon_code or idi_code,  # prefer the newer edition
            "source": SOURCE_BOTH if anon_code and idi_code else (SOURCE_ANON if anon_code else SOURCE_IDISCORE),
        }
        for column, var in OPTION_SETS.items():
            row[column] = sets[var].rules.get(tag, ("", ""))[0]
        for column in ("basic", *OPTION_SETS):
            if row[column] and row[column] not in VALID_CODES:
                raise ValueError(f"{tag}: invalid code {row[column]!r} in {column}")
        if not row["basic"] or not row["name"]:
            raise ValueError(f"{tag}: missing basic code or name")
        rows.append(row)

    return Result(
        rows=rows,
        anon=anon,
        sets=sets,
        disagreements=disagreements,
        only_anon=sorted(set(anon) - set(basic), key=sort_key),
        only_idiscore=sorted(set(basic) - set(anon), key=sort_key),
    )


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _md_table(header: tuple[str, ...], body: Sequence[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


PROVENANCE_TEMPLATE = """\
# Provenance: `confidentiality_profile.csv`

DICOM PS3.15 Annex E, **Table E.1-1 "Application Level Confidentiality Profile
Attributes"**: the basic profile plus every option column. Generated file - do
not edit by hand; regenerate it (below).

## Editions

* `basic` column: DICOM **{anon_edition}** (the `dicomfields_{anon_edition}` database of
  {anon_dist} {anon_version}), the newest edition shipped by any package found.
* Option columns and the private-attributes row: the NEMA *current* edition as
  scraped by idiscore on **{scraped}** (the package does not name the edition; it
  is whichever edition NEMA published as current on that date).
* Google's de-identification documentation cites edition **2018e** of the table;
  no package examined on PyPI ships a 2018e table, so that edition is not
  represented here.
* Examined and *not* used: `dicom-standard` 0.1.0
  (`confidentiality_profile_attributes.json`, 433 rows, April 2020) - too old
  (lacks e.g. SeriesDescription, AdditionalPatientHistory, AcquisitionDateTime).

## Sources

{sources_table}

idiscore rule sets in `{idiscore_rules_file}` (scrape date {scraped}, from
<http://dicom.nema.org/medical/dicom/current/output/chtml/part15/chapter_E.html>):

{sets_table}

Keywords are pydicom {pydicom_version} keywords (`datadict.keyword_for_tag`, and the
repeaters dictionary for `60xx` patterns); empty when pydicom does not know the
tag. Names are the table's attribute names as carried in the dicom-anonymizer
comments (a trailing "(see Note N)" is dropped), else pydicom's name, else
idiscore's comment. Nothing from the wheels is imported or executed: the files
are read with `ast`, and the wheels' sha256 must match the pins in the script.

## Regenerate

```sh
python scripts/make_profile_table.py                  # pip-downloads the pinned wheels
python scripts/make_profile_table.py --wheel-dir DIR  # or use wheels already in DIR
```

The output depends only on the pinned wheels and the installed pydicom
({pydicom_version} here, for the `keyword` column), so regenerating and diffing is a
valid check.

## CSV format

Columns: {columns}.

* `tag`: 8 upper-case hex digits (`00100010`); repeating groups keep a lower-case
  `x` per wildcard digit (`50xxxxxx` curve data, `60xx4000` overlay comments,
  `60xx3000` overlay data); the row "(gggg,eeee) where gggg is odd" is
  `{private_token}`.
* `basic` and each option column hold a Table E.1-1 action code ({codes}); an
  empty option cell means the option does not change the row.
* `source`: `{source_both}` (row in both packages), `{source_anon}` (only in
  the {anon_edition} basic list), `{source_idiscore}` (only in idiscore). **Option cells of
  `{source_anon}` rows are unknown, not "untouched"**: no package ships
  option columns newer than idiscore's scrape.

## Row counts

Total rows: **{n_rows}** ({anon_dist} {anon_edition}: {n_anon} rows; idiscore basic
profile: {n_idiscore} rules).

Basic profile codes:

{basic_table}

Option columns (non-empty cells):

{options_table}

## Differences between the sources

Basic-code disagreements on rows present in both: **{n_disagreements}**.

{disagreements_table}

Rows only in {anon_dist} {anon_edition} ({n_only_anon}; also absent from its 2023 and 2024b
lists, so presumably added to the table after idiscore's {scraped} scrape - option
columns empty/unknown):

{only_anon_table}

Rows only in idiscore {idiscore_version} ({n_only_idiscore}; dicom-anonymizer handles
private tags outside its tables):

{only_idiscore_table}
"""


def provenance(res: Result, anon_whl: Wheel, idi_whl: Wheel, scraped: str) -> str:
    rows = res.rows
    by_tag = {r["tag"]: r for r in rows}
    basic_counts = collections.Counter(r["basic"] for r in rows)
    sources = [
        (ANON_DIST, ANON_VERSION, f"`{ANON_FILE}`", "basic codes, names"),
        (
            IDISCORE_DIST,
            IDISCORE_VERSION,
            f"`{IDISCORE_RULES_FILE}`, `{IDISCORE_CODES_FILE}`",
            "basic cross-check, option columns, private row",
        ),
    ]
    hashes = (anon_whl.sha256, idi_whl.sha256)
    sets = [(BASIC_SET, "basic"), *((v, c) for c, v in OPTION_SETS.items())]
    options = []
    for column in OPTION_SETS:
        cnt = collections.Counter(r[column] for r in rows if r[column])
        detail = ", ".join(f"{c}: {cnt[c]}" for c in VALID_CODES if cnt[c])
        options.append((f"`{column}`", cnt.total(), detail))

    def row_cells(tag: str) -> tuple[str, ...]:
        r = by_tag[tag]
        return (f"`{tag}`", r["keyword"], r["name"], f"`{r['basic']}`")

    return PROVENANCE_TEMPLATE.format(
        anon_dist=ANON_DIST,
        anon_version=ANON_VERSION,
        anon_edition=ANON_EDITION,
        idiscore_version=IDISCORE_VERSION,
        idiscore_rules_file=IDISCORE_RULES_FILE,
        scraped=scraped,
        pydicom_version=pydicom.__version__,
        private_token=PRIVATE_TOKEN,
        source_both=SOURCE_BOTH,
        source_anon=SOURCE_ANON,
        source_idiscore=SOURCE_IDISCORE,
        columns=", ".join(f"`{c}`" for c in COLUMNS),
        codes=", ".join(f"`{c}`" for c in VALID_CODES),
        sources_table=_md_table(
            (
                "package",
                "version",
                "file(s) inside the wheel",
                "used for",
                "wheel sha256",
            ),
            [(*s, f"`{h}`") for s, h in zip(sources, hashes, strict=True)],
        ),
        sets_table=_md_table(
            ("rule set", "CSV column", "name", "CID 7050 code", "rules"),
            [
                (
                    f"`{v}`",
                    f"`{c}`",
                    res.sets[v].name,
                    res.sets[v].code,
                    len(res.sets[v].rules),
                )
                for v, c in sets
            ],
        ),
        n_rows=len(rows),
        n_anon=len(res.anon),
        n_idiscore=len(res.sets[BASIC_SET].rules),
        basic_table=_md_table(
            ("code", "rows"),
            [(f"`{c}`", basic_counts[c]) for c in VALID_CODES if basic_counts[c]],
        ),
        options_table=_md_table(("column", "rows", "by code"), options),
        n_disagreements=len(res.disagreements),
        disagreements_table=_md_table(
            ("tag", "name", f"{ANON_EDITION} (used)", "idiscore"),
            [(f"`{t}`", n, f"`{a}`", f"`{i}`") for t, n, a, i in res.disagreements],
        )
        if res.disagreements
        else "(none)",
        n_only_anon=len(res.only_anon),
        only_anon_table=_md_table(("tag", "keyword", "name", "basic"), [row_cells(t) for t in res.only_anon]),
        n_only_idiscore=len(res.only_idiscore),
        only_idiscore_table=_md_table(
            ("tag", "keyword", "name", "basic"),
            [row_cells(t) for t in res.only_idiscore],
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--wheel-dir", type=Path, help="use wheels already downloaded here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="profile-table-") as tmp:
        wheel_dir = args.wheel_dir or Path(tmp)
        if args.wheel_dir is None:
            download_wheels(wheel_dir)
        anon_whl = read_wheel(find_wheel(wheel_dir, ANON_DIST, ANON_VERSION), ANON_DIST, [ANON_FILE])
        idi_whl = read_wheel(
            find_wheel(wheel_dir, IDISCORE_DIST, IDISCORE_VERSION),
            IDISCORE_DIST,
            [IDISCORE_RULES_FILE, IDISCORE_CODES_FILE],
        )

    anon = parse_anonymizer(anon_whl.members[ANON_FILE])
    codes = parse_idiscore_codes(idi_whl.members[IDISCORE_CODES_FILE])
    rules_src = idi_whl.members[IDISCORE_RULES_FILE]
    sets = parse_idiscore_rules(rules_src, codes)
    missing = {BASIC_SET, *OPTION_SETS.values()} - set(sets)
    if missing:
        raise SystemExit(f"idiscore rule sets missing: {sorted(missing)}")

    res = build(anon, sets)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(res.rows, args.out_dir / CSV_NAME)
    (args.out_dir / PROVENANCE_NAME).write_text(
        provenance(res, anon_whl, idi_whl, scrape_date(rules_src)), encoding="utf-8"
    )
    counts = collections.Counter(r["basic"] for r in res.rows)
    print(f"wrote {len(res.rows)} rows to {args.out_dir / CSV_NAME}")
    print("basic codes:", ", ".join(f"{c}={counts[c]}" for c in VALID_CODES if counts[c]))
    print(
        f"disagreements: {len(res.disagreements)}; only {ANON_EDITION}: {len(res.only_anon)}; "
        f"only idiscore: {len(res.only_idiscore)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
