"""The de-identification SQL: golden files per representative config, for DuckDB and Spark, over
a fixed store (pydicom's test files and a small generated sample, ingested here); the Spark SQL
is the DuckDB tree rewritten, never SQL text parsed again; each Spark rule on its own.

A rule change shows as a diff of the golden files: ``pytest tests/test_deid_sql.py
--update-golden`` rewrites them (then read the diff before committing it)."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pydicom.data import get_testdata_file
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.on_spark import (
    SPARK_RULES,
    Rewrite,
    per_value_lookups,
    row_ids,
    shift_dates,
    slices,
    spark_trees,
)
from dicomlake.deid.plan import Planner
from dicomlake.deid.run import explain, plan_steps, transform
from dicomlake.deid.sqltree import column, dot, duckdb_sql, each, empty_list, lit, own, udf
from dicomlake.deid.udfs import ValueMaps, text_rule
from dicomlake.demo.sample import make_sample
from dicomlake.engines.spark import dialect

GOLDEN = Path(__file__).parent / "golden" / "deid"
KEY16 = "MDEyMzQ1Njc4OWFiY2RlZg=="  # base64 of 16 bytes: a fixed crypto key
#: One config per family of rules; the SQL of each is kept in GOLDEN/NAME.{duckdb,spark}.sql.
CONFIGS: dict[str, dict[str, Any]] = {
    "basic": {"dicomTagConfig": {}},
    "keep_all_regen_uid": {
        "dicomTagConfig": {
            "profileType": "KEEP_ALL_PROFILE",
            "actions": [
                {"queries": ["StudyInstanceUID", "SOPInstanceUID", "ReferencedSOPInstanceUID"], "regenUidTag": {}}
            ],
        }
    },
    "clean_descriptors": {
        "dicomTagConfig": {"options": {"cleanDescriptors": {}}},
        "text": {"additionalTransformations": [{"infoTypes": [], "dateShiftConfig": {}}]},
    },
    "tag_contents_transforms": {
        "dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"},
        "text": {
            "additionalTransformations": [
                {"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}},
                {"infoTypes": [], "dateShiftConfig": {"cryptoKey": KEY16}},
                {"infoTypes": ["US_SOCIAL_SECURITY_NUMBER"], "cryptoHashConfig": {"cryptoKey": KEY16}},
                {"infoTypes": ["PHONE_NUMBER"], "characterMaskConfig": {"maskingCharacter": "#"}},
            ]
        },
    },
    "keep_all_clean_names": {
        "dicomTagConfig": {
            "profileType": "KEEP_ALL_PROFILE",
            "actions": [
                {"queries": ["PatientName", "StudyDescription", "StudyDate"], "cleanTextTag": {}},
                {"queries": ["PatientID"], "resetTag": {}},
                {"queries": ["ReferringPhysicianName", "StudyTime"], "removeTag": {}},
            ],
        },
        "text": {"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "characterMaskConfig": {}}]},
    },
    "tag_lists_with_sequences": {
        "dicomTagConfig": {
            "profileType": "KEEP_ALL_PROFILE",
            "actions": [
                {
                    "queries": ["RequestAttributesSequence", "PatientBirthDate", "OtherPatientIDs", "PatientName"],
                    "removeTag": {},
                },
                {"queries": ["ReferencedImageSequence", "PatientID", "BeamSequence", "OverlayRows"], "resetTag": {}},
                {"queries": ["ProcedureCodeSequence", "InstitutionName", "OverlayOrigin"], "deleteTag": {}},
                {"queries": ["ScheduledProtocolCodeSequence", "CodeValue"], "keepTag": {}},
                {"queries": ["StudyDate", "TM"], "resetTag": {}},
                {"queries": ["00091001"], "removeTag": {}},
            ],
        }
    },
    "clean_image": {
        "dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"}}}
    },
    "skip_id_redaction": {"dicom": {"skipIdRedaction": True}},
}
#: pydicom's test files in the fixed store: deep sequences, a private sequence, overlays (50xx/60xx).
PYDICOM_FILES = ("rtplan.dcm", "nested_priv_SQ.dcm", "examples_overlay.dcm")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed store ``s``: its schema (all the SQL depends on) is the same on every run."""
    root = tmp_path_factory.mktemp("sql")
    files = [str(p) for p in make_sample(root / "files", 8, seed=5)]
    files += [str(get_testdata_file(n, download=False)) for n in PYDICOM_FILES]
    dicomlake.ingest(root / "lake", files, "s", progress=False)
    return root / "lake"


def _schema(lake: Path) -> pa.Schema:
    return dicomlake.open(lake).table("s").limit(0).to_arrow_table().schema


def _tree(lake: Path, name: str) -> exp.Select:
    config = load_config(CONFIGS[name]).config
    planner = Planner(config)
    maps = ValueMaps(b"golden", planner, text_rule(config.text))
    schema = _schema(lake)
    return transform(planner, maps, schema, "s", plan_steps(planner, schema))


def _header(name: str, engine: str) -> str:
    return (
        f"-- The de-identification transform on {engine} of store 's' (tests/test_deid_sql.py's fixed store)\n"
        f"-- config: {json.dumps(CONFIGS[name], sort_keys=True)}\n"
        "-- regenerate: pytest tests/test_deid_sql.py --update-golden\n"
    )


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_golden_sql(lake: Path, name: str, engine: str, request: pytest.FixtureRequest) -> None:
    """The SQL ``--explain`` prints equals its golden file (``--update-golden`` rewrites the file)."""
    summary = explain(lake, load_config(CONFIGS[name]), "s", spark=engine == "spark")
    text = _header(name, engine) + summary.sql["s"] + ";\n"
    golden = GOLDEN / f"{name}.{engine}.sql"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing: run pytest {__file__} --update-golden"
    want = golden.read_text()
    diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), str(golden), "generated", n=2))
    assert text == want, f"the SQL of config {name!r} changed (rerun with --update-golden if intended):\n{diff[:6000]}"


def test_every_golden_file_has_a_config() -> None:
    assert sorted(p.name for p in GOLDEN.glob("*.sql")) == sorted(
        f"{n}.{e}.sql" for n in CONFIGS for e in ("duckdb", "spark")
    )


def test_golden_duckdb_sql_runs(lake: Path) -> None:
    """Each golden DuckDB SQL is what runs: it selects every row of the store with the UDFs."""
    from dicomlake.store.catalog import new_connection

    table = dicomlake.open(lake).table("s").to_arrow_table()
    for name in sorted(CONFIGS):
        config = load_config(CONFIGS[name]).config
        con = new_connection()
        ValueMaps(b"golden", Planner(config), text_rule(config.text)).register(con)
        con.register("s", table)
        assert con.sql((GOLDEN / f"{name}.duckdb.sql").read_text()).to_arrow_table().num_rows == table.num_rows


def test_spark_sql_is_derived_from_the_tree(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No SQL text is read back on the way: building the tree and deriving and rendering the
    Spark SQL tokenize nothing but bare type names (sqlglot's generators look types up by name;
    every parse of SQL text starts by tokenizing it), and the DuckDB tree is left as it is."""
    trees = {name: _tree(lake, name) for name in CONFIGS}
    before = {name: duckdb_sql(t) for name, t in trees.items()}
    tokenize = Dialect.tokenize

    def only_type_names(self: Dialect, sql: str, **kwargs: Any) -> Any:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ]*", sql):
            raise AssertionError(f"SQL text was parsed: {sql[:80]!r}")
        return tokenize(self, sql, **kwargs)

    monkeypatch.setattr(Dialect, "tokenize", only_type_names)
    with pytest.raises(AssertionError, match="parsed"):
        exp.maybe_parse("SELECT dl_uid(x) FROM s", dialect="duckdb")  # the guard catches a parse
    for name in CONFIGS:
        _tree(lake, name)
        spark, listing = spark_trees(trees[name])
        assert duckdb_sql(trees[name]) == before[name], name  # the rules rewrite a copy
        assert spark.sql(dialect=dialect()) and listing.sql(dialect=dialect())
    monkeypatch.undo()
    # The same columns in the same order; a projection no rule touches is the DuckDB node itself.
    touched = untouched = 0
    for name, tree in trees.items():
        spark, _ = spark_trees(tree)
        assert isinstance(spark, exp.Select)
        assert [e.alias_or_name for e in spark.expressions] == [e.alias_or_name for e in tree.expressions], name
        for d, s in zip(tree.expressions, spark.expressions, strict=True):
            if any(rule(n, Rewrite()) is not n for n in d.walk() for rule in SPARK_RULES):
                assert d != s, (name, d.sql())
                touched += 1
            else:
                assert d == s, (name, d.sql())
                untouched += 1
    assert touched > 50 and untouched > 50


# ---- each Spark rule: DuckDB tree in, Spark SQL out ---------------------------------------------


def _apply(rule: Any, tree: exp.Expr) -> tuple[str, Rewrite]:
    found = Rewrite()
    return tree.transform(rule, found).sql(dialect=dialect()), found


def test_rule_shift_dates() -> None:
    sql, found = _apply(shift_dates, udf("dl_shift_date", column("StudyDate"), own("dl_patient")))
    assert (sql, found.shifts) == ("DATE_ADD(`StudyDate`, dl_shift_days)", True)
    sql, _ = _apply(shift_dates, each(column("Dates"), "d", udf("dl_shift_ts", own("d"), own("dl_patient"))))
    assert sql == "TRANSFORM(`Dates`, d -> TIMESTAMPADD(DAY, dl_shift_days, d))"
    assert _apply(shift_dates, udf("dl_uid", column("X")))[1].shifts is False


def test_rule_per_value_lookups() -> None:
    tree = each(column("Seq"), "it0", udf("dl_uid", dot(own("it0"), "U")))
    sql, found = _apply(per_value_lookups, tree)
    assert sql == "TRANSFORM(`Seq`, it0 -> TRY_ELEMENT_AT(dl_m_uid, it0.`U`))"
    (gather,) = found.gathered["dl_m_uid"]
    assert gather.sql(dialect=dialect()) == "COALESCE(FLATTEN(TRANSFORM(`Seq`, it0 -> ARRAY(it0.`U`))), ARRAY())"
    sql, found = _apply(per_value_lookups, udf("dl_clean", column("StudyDescription"), own("dl_context"), lit("LO")))
    assert sql == "TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `StudyDescription`))"
    assert [g.sql(dialect=dialect()) for g in found.gathered["dl_m_clean"]] == [
        "ARRAY(CONCAT('LO', `StudyDescription`))"
    ]


def test_rule_slices_and_row_ids() -> None:
    assert _apply(slices, empty_list(column("ImageType")))[0] == "SLICE(`ImageType`, 1, 0)"
    window = exp.Window(this=exp.RowNumber(), over="OVER")
    assert _apply(row_ids, window)[0] == "MONOTONICALLY_INCREASING_ID()"
