"""The ``dicomlake`` command: thin, one library call per command.

Exit codes: 0 ok, 1 handled error (one ``Error: …`` line), 2 usage error or crash.
"""

from __future__ import annotations

from .interrupts import Interrupts, quiet_while_loading

_loaded = quiet_while_loading()  # Ctrl-C while the command line loads: one line, no traceback

import functools  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any, Optional, TypeVar  # noqa: E402

import typer  # noqa: E402

from . import api  # noqa: E402
from .engines.spark import ENGINES  # noqa: E402
from .errors import (  # noqa: E402
    Command,
    DicomlakeError,
    IngestIssuesError,
    LakeBusyError,
    LakeError,
    MissingParameterError,
    Param,
    QueryError,
    StoreError,
    render,
)
from .query.output import FORMATS, write_result  # noqa: E402
from .sources.dicomweb import is_url  # noqa: E402
from .sources.ingest import BATCH_FILES, IngestSummary  # noqa: E402
from .store.locks import lock_wait  # noqa: E402
from .store.publish import DISPOSITIONS  # noqa: E402

_loaded()

#: -h as well as --help on every command and group.
CONTEXT = {"help_option_names": ["-h", "--help"]}
#: The environment variable that gives --lake to every command (and the notebooks).
LAKE_ENV = "DICOMLAKE_LAKE"

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show [/series/UID] and the like verbatim
    context_settings=CONTEXT,
    help="Index DICOM stores into a local SQL lake, query them, cut cohorts, de-identify.",
)
store_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, context_settings=CONTEXT, help="Create, list and drop stores."
)
app.add_typer(store_app, name="store")

# Defaults are shown one way everywhere: typer's "[default: …]", with show_default naming what
# None means. A --format lists exactly the formats the command writes.
LakeOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--lake", envvar=LAKE_ENV, help="The lake folder (required unless DICOMLAKE_LAKE is set).", show_default=False
    ),
]
StoreOpt = Annotated[Optional[str], typer.Option("--store", help="The store.", show_default="the lake's only store")]
SUMMARY_FORMATS = ("table", "json")
PRINT_FORMATS = ("table", "json", "csv", "ndjson")  # what can go to stdout
FormatOpt = Annotated[
    Optional[str],
    typer.Option(
        "--format",
        "-f",
        help=f"Output format: {', '.join(FORMATS)}.",
        show_default="from --output's suffix, else table",
    ),
]
PrintFormatOpt = Annotated[str, typer.Option("--format", "-f", help=f"Output format: {', '.join(PRINT_FORMATS)}.")]
SummaryFormatOpt = Annotated[
    str, typer.Option("--format", "-f", help=f"Output format: {', '.join(SUMMARY_FORMATS)} (the summary as JSON).")
]
ParamOpt = Annotated[
    Optional[list[str]], typer.Option("--param", "-p", help="Query parameter NAME=VALUE (repeatable).")
]
EngineOpt = Annotated[str, typer.Option("--engine", help="duckdb (this machine) or spark.")]
SparkMasterOpt = Annotated[str, typer.Option("--spark-master", help="Spark master URL (with --engine spark).")]
WorkersOpt = Annotated[Optional[int], typer.Option("--workers", help="Processes.", show_default="all cores")]
# Read by ``handled``: a command that writes a lake takes ``wait: WaitOpt = 0.0``.
WaitOpt = Annotated[
    float,
    typer.Option(
        "--wait", help="Seconds to wait for another process writing to the lake.", show_default="0: fail at once"
    ),
]


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"dicomlake {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Index DICOM stores into a local SQL lake, query them, cut cohorts, de-identify."""


def _lake(lake: Path | None) -> Path:
    """The lake folder from --lake or DICOMLAKE_LAKE: required on every command that reads or writes one."""
    if lake is None:
        raise LakeError(f"no lake given: pass --lake DIR or set {LAKE_ENV} to the lake folder")
    return lake


def _format(fmt: str | None, allowed: tuple[str, ...]) -> str | None:
    if fmt is not None and fmt not in allowed:
        raise QueryError(f"unknown format {fmt!r}: use one of {', '.join(allowed)}")
    return fmt


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise QueryError(f"--engine {engine!r}: use duckdb or spark")


def _spark(engine: str, master: str) -> Any:
    """A SparkSession for --engine spark, None for duckdb."""
    _check_engine(engine)
    if engine == "duckdb":
        return None
    from .engines.spark import session

    return session(master)


F = TypeVar("F", bound=Callable[..., Any])

# ---- the library's advice in the CLI's words ------------------------------------------------
#: Library parameters whose option is not ``--`` + the name with dashes.
OPTION_OF = {
    "spec": "--filter",
    "filter_spec": "--filter",
    "confirm": "--yes",
    "fmt": "--format",
    "root": "--lake",
    "batch": "--batch-studies",
    "spark": "--engine spark",
}


def option_words(part: Param | Command) -> str:
    """A parameter as the option that gives it (``dest_lake=DIR`` → ``--dest-lake DIR``), a step as
    the command that takes it (``'dicomlake store create NAME --lake LAKE'``)."""
    if isinstance(part, Command):
        return "'" + " ".join(["dicomlake", part.name, *part.args, *map(option_words, part.options)]) + "'"
    if part.name == "verify_tls" and part.value is False:
        return "--no-verify-tls"
    option = OPTION_OF.get(part.name, "--" + part.name.replace("_", "-"))
    if part.has_value:
        return option if part.value is True else f"{option} {part.value}"
    return f"{option} {part.metavar}" if part.metavar else option


#: Errors whose advice the CLI words from their fields rather than from their parts.
CLI_WORDING: dict[type[DicomlakeError], Callable[[Any], str]] = {
    MissingParameterError: lambda e: (
        f"query {e.query!r} needs parameter {e.param} ({e.description}): pass --param {e.param}=VALUE"
    ),
    LakeBusyError: lambda e: (
        f"another dicomlake process ({e.holder}) is writing to {e.lake}: wait for it to finish, "
        "or pass --wait SECONDS to wait for it"
    ),
}


def cli_message(exc: DicomlakeError) -> str:
    """An error's message as the CLI prints it: the library's, with its advice in option words."""
    for kind, words in CLI_WORDING.items():
        if isinstance(exc, kind):
            return words(exc)
    return exc.render(option_words)


def cli_note(note: Any) -> str:
    """A note (of a request or a run) in the CLI's words."""
    parts = getattr(note, "parts", None)
    return render(parts, option_words) if parts else str(note)


def _interrupted(interrupt: Interrupts) -> typer.Exit:
    text = interrupt.report()
    if text is not None:
        typer.echo(text, err=True)
    return typer.Exit(130)


def handled(fn: F) -> F:
    """Turn a DicomlakeError into one ``Error: …`` line on stderr and exit code 1, and an
    interrupt (Ctrl-C) at any moment into one ``Interrupted: …`` line and exit code 130.
    Applies ``--wait`` (a ``wait`` argument) to the command's writes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with Interrupts() as interrupt:
            try:
                with lock_wait(kwargs.get("wait") or 0.0):
                    return fn(*args, **kwargs)
            except KeyboardInterrupt:
                raise _interrupted(interrupt) from None
            except DicomlakeError as exc:
                if interrupt.seen:
                    raise _interrupted(interrupt) from None
                typer.echo(f"Error: {cli_message(exc)}", err=True)
                raise typer.Exit(1) from None
            except OSError as exc:  # a path the user gave cannot be read or written
                if interrupt.seen:
                    raise _interrupted(interrupt) from None
                where = f" {exc.filename}" if exc.filename else ""
                typer.echo(f"Error: cannot use{where}: {exc.strerror or exc}; check the path", err=True)
                raise typer.Exit(1) from None
            except Exception:
                if interrupt.seen:  # e.g. DuckDB's RuntimeError('Query interrupted'), a broken worker pool
                    raise _interrupted(interrupt) from None
                raise

    return wrapper  # type: ignore[return-value]


def _params(values: list[str] | None) -> dict[str, str]:
    out = {}
    for v in values or []:
        name, sep, value = v.partition("=")
        if not sep or not name:
            raise QueryError(f"--param {v!r} is not NAME=VALUE")
        out[name.strip()] = value
    return out


def _print_summary(s: IngestSummary, lake: Path) -> None:
    echo = typer.echo
    echo(
        f"ingested {s.ingested} instances from {s.files} {s.unit} into store '{s.store}' "
        f"(replaced {s.replaced}, duplicates {s.duplicates}"
        + (f", excluded by filter {s.excluded_by_filter})" if s.excluded_by_filter else ")")
    )
    if s.skipped_reasons:
        reasons = ", ".join(f"{k} {n}" for k, n in s.skipped_reasons.most_common())
        echo(
            f"not ingested: {sum(s.skipped_reasons.values())} {'instances' if s.unit == 'studies' else 'files'} ({reasons})"
        )
    if s.warnings:
        echo(f"warnings: {s.warnings}")
    if s.issues:
        echo(f"details: dicomlake query -e \"SELECT * FROM dl_issues WHERE store = '{s.store}'\" --lake {lake}")
    echo(f"store '{s.store}' now has {s.rows_in_store} rows")


@app.command()
@handled
def ingest(
    source: Annotated[
        str,
        typer.Argument(
            help="A folder (walked recursively), a DICOM file, an archive (.zip, .tar, .tar.gz, .tgz, .tar.bz2, "
            ".tar.xz), a text file of paths, an object-store prefix (s3://, gs://, az://) or a DICOMweb root URL."
        ),
    ],
    store: Annotated[str, typer.Option("--store", help="The store to write.")],
    lake: LakeOpt = None,
    write_disposition: Annotated[
        str,
        typer.Option(
            "--write-disposition",
            help=f"{' | '.join(DISPOSITIONS)}: fail if the store has rows, replace it, or add to it.",
        ),
    ] = "WRITE_EMPTY",
    workers: WorkersOpt = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any file was skipped or read with warnings.")
    ] = False,
    filter_file: Annotated[
        Optional[Path], typer.Option("--filter", help="Filter file: ingest only the studies/series/instances it lists.")
    ] = None,
    fmt: SummaryFormatOpt = "table",
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Deprecated: --format json.")] = False,
    token: Annotated[
        Optional[str], typer.Option("--token", help="DICOMweb: bearer token (or DICOMLAKE_DICOMWEB_TOKEN).")
    ] = None,
    user: Annotated[
        Optional[str],
        typer.Option("--user", help="DICOMweb: basic-auth user (password from DICOMLAKE_DICOMWEB_PASSWORD)."),
    ] = None,
    no_verify_tls: Annotated[
        bool, typer.Option("--no-verify-tls", help="DICOMweb: accept any TLS certificate.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="DICOMweb: seconds per request.")] = 60.0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="DICOMweb: requests in flight.")] = 4,
    batch_studies: Annotated[
        int, typer.Option("--batch-studies", help="DICOMweb: studies per commit (a killed harvest keeps them).")
    ] = 200,
    exact: Annotated[
        bool,
        typer.Option(
            "--exact",
            help="DICOMweb: fetch each instance (pixels too) and read it as a file, keeping DS/IS text and "
            "file meta, which DICOM JSON loses.",
        ),
    ] = False,
    endpoint_url: Annotated[
        Optional[str],
        typer.Option(
            "--endpoint-url", help="S3-compatible server; when not given, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL."
        ),
    ] = None,
    batch_files: Annotated[
        int, typer.Option("--batch-files", help="Object store: files per commit (a killed ingest keeps them).")
    ] = BATCH_FILES,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = "local[*]",
    wait: WaitOpt = 0.0,
) -> None:
    """Ingest DICOM files (a folder, archives, an object-store prefix), or a DICOMweb server
    (http[s]://host/dicom-web), into a store of the lake."""
    lake = _lake(lake)
    fmt = "json" if as_json else _format(fmt, SUMMARY_FORMATS) or "table"
    web = is_url(source)
    spec = None
    if filter_file is not None:
        from .store.filterfile import read_filter

        spec = read_filter(filter_file)
    try:
        summary = api.ingest(
            lake,
            source,
            store,
            write_disposition=write_disposition.upper(),
            workers=workers,
            filter_spec=spec,
            strict=strict,
            dicomweb={
                "token": token,
                "user": user,
                "verify_tls": not no_verify_tls,
                "timeout": timeout,
                "concurrency": concurrency,
            },
            batch=batch_studies if web else None,
            exact=exact,
            spark=None if web else _spark(engine, spark_master),
            batch_files=None if web else batch_files,
            endpoint_url=None if web else endpoint_url,
        )
    except IngestIssuesError as exc:
        if isinstance(exc.summary, IngestSummary):
            _print_issues(exc.summary)
        raise
    if fmt == "json":
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        _print_summary(summary, lake)
    _print_unmatched(summary.unmatched, "matched no file")


def _print_unmatched(unmatched: list[tuple[int, str]], what: str) -> None:
    if unmatched:
        shown = "; ".join(f"line {n}: {p}" for n, p in unmatched)
        typer.echo(f"{len(unmatched)} filter lines {what}: {shown}", err=True)


def _print_failures(failures: list[dict[str, Any]]) -> None:
    """Every failure, one line each (a summary that says "listed above" lists them all)."""
    for f in failures:
        typer.echo(f"failed: {f['sop_instance_uid']} ({f['path']}): {f['reason']}", err=True)


def _print_issues(s: IngestSummary) -> None:
    for i in [i for i in s.issues if i["severity"] in ("error", "warning")]:
        typer.echo(f"{i['severity']}: {i['path']}: {i['reason']}", err=True)


@app.command()
@handled
def query(
    name: Annotated[Optional[str], typer.Argument(help="A named query (see --list).")] = None,
    lake: LakeOpt = None,
    sql_file: Annotated[Optional[Path], typer.Option("--sql", help="Run the SQL in this file.")] = None,
    expr: Annotated[Optional[str], typer.Option("-e", "--execute", help="Run this SQL.")] = None,
    param: ParamOpt = None,
    store: StoreOpt = None,
    fmt: FormatOpt = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the named queries and exit.")] = False,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = "local[*]",
) -> None:
    """Run SQL over a lake: a named query, a .sql file, or -e "SQL". Tables are named after stores."""
    if list_:
        for q in api.Lake.named_queries().values():
            signature = ", ".join(p.name + ("" if p.default is None else f"={p.default}") for p in q.params)
            typer.echo(f"{q.name}({signature})\n    {q.description}")
        return
    rel = _relation(
        api.open(_lake(lake), spark=_spark(engine, spark_master)), name, sql_file, expr, _params(param), store
    )
    write_result(rel, _format(fmt, FORMATS), str(output) if output else None, words=option_words)


def _relation(
    the_lake: api.Lake,
    name: str | None,
    sql_file: Path | None,
    expr: str | None,
    params: dict[str, str],
    store: str | None,
) -> Any:
    chosen = [x for x in (name, sql_file, expr) if x is not None]
    if len(chosen) != 1:
        raise QueryError("give exactly one of: a query NAME, --sql FILE, -e \"SQL\" (see 'dicomlake query --list')")
    if name is not None:
        rel = the_lake.query(name, store=store, **params)
    elif sql_file is not None:
        rel = the_lake.query_file(sql_file, store=store, **params)
    else:
        rel = the_lake.sql(expr or "", params or None, store=store, source="-e SQL")
    for note in the_lake.notes:
        typer.echo(f"note: {note}", err=True)
    return rel


@app.command("filter")
@handled
def filter_(
    name: Annotated[Optional[str], typer.Argument(help="A named query giving paths or UID columns.")] = None,
    lake: LakeOpt = None,
    sql_file: Annotated[Optional[Path], typer.Option("--sql", help="Run the SQL in this file.")] = None,
    expr: Annotated[Optional[str], typer.Option("-e", "--execute", help="Run this SQL.")] = None,
    param: ParamOpt = None,
    store: StoreOpt = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write the filter file here, not stdout.")
    ] = None,
    check: Annotated[
        Optional[Path], typer.Option("--check", help="Report what this filter file selects in --store.")
    ] = None,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = "local[*]",
) -> None:
    """Write a filter file (/studies/UID[/series/UID[/instances/UID]] per line) from a query, or --check one."""
    from .store.filterfile import read_filter, write_filter

    the_lake = api.open(_lake(lake), spark=_spark(engine, spark_master))
    if check is not None:
        spec = read_filter(check)
        chosen = store or (the_lake.stores[0] if len(the_lake.stores) == 1 else None)
        if chosen is None:
            raise QueryError(f"--check needs --store NAME (stores: {', '.join(the_lake.stores)})")
        typer.echo(the_lake.check_filter(spec, chosen).summary())
        return
    paths = the_lake.filter_paths(_relation(the_lake, name, sql_file, expr, _params(param), store))
    if output is not None:
        with open(output, "w", encoding="utf-8", newline="\n") as fh:
            write_filter(paths, fh)
        typer.echo(f"wrote {len(paths)} resource paths to {output}", err=True)
    else:
        write_filter(paths, sys.stdout)


@app.command()
@handled
def export(
    store: Annotated[str, typer.Option("--store", help="The store to export.")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="lake:DIR/STORE, parquet:PATH, ndjson:PATH, csv:PATH, dicom:DIR or dicomweb:URL; PATH and DIR "
            "may be s3://, gs:// or az:// URLs.",
        ),
    ],
    lake: LakeOpt = None,
    filter_file: Annotated[
        Optional[Path], typer.Option("--filter", help="Export only what this filter file selects.")
    ] = None,
    write_disposition: Annotated[
        Optional[str],
        typer.Option("--write-disposition", help=f"{' | '.join(DISPOSITIONS)}.", show_default="WRITE_EMPTY"),
    ] = None,
    force: Annotated[
        Optional[bool],
        typer.Option("--force/--no-force", help="Legacy: overwrite an existing destination (--no-force: refuse any)."),
    ] = None,
    endpoint_url: Annotated[
        Optional[str],
        typer.Option(
            "--endpoint-url", help="S3-compatible server; when not given, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL."
        ),
    ] = None,
    wait: WaitOpt = 0.0,
) -> None:
    """Export a store's metadata (another store, Parquet, NDJSON for bq load, CSV) or its DICOM files."""
    from .rematerialize.export import export as run_export
    from .store.filterfile import read_filter

    spec = read_filter(filter_file) if filter_file is not None else None
    the_lake = api.open(_lake(lake))
    s = run_export(
        the_lake,
        store,
        to,
        spec=spec,
        write_disposition=write_disposition.upper() if write_disposition else None,
        force=force,
        endpoint_url=endpoint_url,
    )
    verb = {"create": "created", "truncate": "wrote", "append": "appended to"}.get(s.action, "wrote")
    typer.echo(
        f"exported {s.written} of {s.selected} selected instances: {verb} {to}"
        + (f" (replaced {s.replaced})" if s.replaced else "")
    )
    _print_unmatched(s.unmatched, f"match nothing in store '{store}'")
    _print_failures(s.failures)
    if s.failures:
        raise StoreError(f"{len(s.failures)} of {s.selected} instances could not be exported (listed above)")


@app.command()
@handled
def deidentify(
    config: Annotated[Path, typer.Option("--config", help="The API's request JSON (whole body or just its config).")],
    lake: LakeOpt = None,
    store: Annotated[Optional[str], typer.Option("--store", help="Store level: the source store.")] = None,
    dest_lake: Annotated[
        Optional[Path], typer.Option("--dest-lake", help="Destination lake (dataset level: must not exist).")
    ] = None,
    dest_store: Annotated[
        Optional[str], typer.Option("--dest-store", help="Store level: the destination store (must exist).")
    ] = None,
    filter_file: Annotated[
        Optional[Path], typer.Option("--filter", help="Store level: only what this filter file selects.")
    ] = None,
    key_file: Annotated[
        Optional[Path], typer.Option("--key-file", help="Secret for UIDs, date shifts, hashes (dicomlake keygen).")
    ] = None,
    crosswalk: Annotated[
        Optional[Path],
        typer.Option("--crosswalk", help="Write original → new values here (outside the destination lake)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing --crosswalk file (refused otherwise).")
    ] = False,
    uid_root: Annotated[str, typer.Option("--uid-root", help="Root of regenerated UIDs.")] = "2.25",
    workers: WorkersOpt = None,
    explain_: Annotated[
        bool, typer.Option("--explain", help="Print the element-level plan and the SQL; run nothing.")
    ] = False,
    dest_dicomweb: Annotated[
        Optional[str],
        typer.Option(
            "--dest-dicomweb", help="Also send the de-identified instances to this DICOMweb server (STOW-RS)."
        ),
    ] = None,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = "local[*]",
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help=f"Output format: {', '.join(SUMMARY_FORMATS)} (the summary, or the --explain plan)."
        ),
    ] = "table",
    wait: WaitOpt = 0.0,
) -> None:
    """De-identify a lake (dataset level) or one store (store level) with the API's DeidentifyConfig."""
    from .deid.config import load_config
    from .deid.run import check_level, explain
    from .deid.run import deidentify as run_deid
    from .store.filterfile import read_filter

    lake = _lake(lake)
    fmt = _format(fmt, SUMMARY_FORMATS) or "table"
    request = load_config(config)
    spec = read_filter(filter_file) if filter_file is not None else None
    _check_engine(engine)
    given = {"dest_lake": dest_lake, "dest_store": dest_store, "spec": filter_file}
    for note in request.notes:
        typer.echo(f"note: {_request_note(note, given)}", err=True)
    if explain_:
        from .deid.report import print_explain

        print_explain(explain(lake, request, store, spec, spark=engine == "spark"), fmt, option_words)
        return
    check_level(store, dest_store, spec)  # before Spark starts
    summary = run_deid(
        lake,
        request,
        store=store,
        dest_lake=dest_lake,
        dest_store=dest_store,
        key_file=str(key_file) if key_file else None,
        spec=spec,
        workers=workers,
        uid_root=uid_root,
        crosswalk=str(crosswalk) if crosswalk else None,
        overwrite=overwrite,
        dest_dicomweb=dest_dicomweb,
        spark=_spark(engine, spark_master),
    )
    for note in summary.notes[len(request.notes) :]:
        typer.echo(f"warning: {cli_note(note)}", err=True)
    if fmt == "json":
        typer.echo(json.dumps(_deid_json(summary), indent=2, default=str))
    else:
        _print_deid(summary, dest_dicomweb)
    for r in summary.stores:
        _print_failures(r.failures)
    if summary.failed:
        raise StoreError(f"{summary.failed} instances failed (listed above; also in dl_issues of the destination lake)")


def _print_deid(summary: Any, dest_dicomweb: str | None) -> None:
    for r in summary.stores:
        typer.echo(
            f"store '{r.source}' → '{r.destination}': success {r.success}, failure {len(r.failures)}, "
            f"replaced {r.replaced} (of {r.selected} selected)"
        )
        if dest_dicomweb:
            typer.echo(f"  sent {r.sent} of {len(r.written)} instances to {dest_dicomweb} (STOW-RS)")
        if r.inspected:
            typer.echo(f"  burned-in text: {r.inspected} images read by OCR, text redacted in {r.redacted}")


def _request_note(note: Any, given: dict[str, Any]) -> str:
    """A request's note in the CLI's words: a field of the request that names a place in Google
    Cloud is ignored, and the note says which option gives it instead (or that it was given)."""
    from .deid.config import IGNORED_FIELDS

    param = IGNORED_FIELDS.get(getattr(note, "field", None) or "")
    if param is None:
        return cli_note(note)
    option = option_words(Param(param))
    value = given.get(param)
    if note.field == "filterConfig":
        where = f"{note.value!r} is in Cloud Storage"
        return (
            f"filterConfig {where}: reading {option} {value} instead"
            if value
            else f"filterConfig {where}: copy it here and pass {option}"
        )
    return f"{note.field} {note.value!r} is ignored: " + (f"writing to {option} {value}" if value else f"pass {option}")


def _deid_json(summary: Any) -> dict[str, Any]:
    """The de-identification summary as JSON (``--format json``)."""
    keys = ("source", "destination", "selected", "success", "replaced", "inspected", "redacted", "sent")
    stores = [{**{k: getattr(r, k) for k in keys}, "failures": r.failures} for r in summary.stores]
    return {"stores": stores, "failed": summary.failed, "notes": [str(n) for n in summary.notes]}


@app.command()
@handled
def verify(
    against: Annotated[
        str, typer.Option("--against", help="The source it was made from: LAKE:STORE (LAKE alone: its only store).")
    ],
    lake: LakeOpt = None,
    store: StoreOpt = None,
    workers: WorkersOpt = None,
    fmt: PrintFormatOpt = "table",
    ocr: Annotated[
        bool, typer.Option("--ocr", help="Also read the text burned into the pixels (Tesseract) and search it.")
    ] = False,
) -> None:
    """Search every file of a de-identified store for the source store's identifying values; exit 1 on any."""
    from .deid.verify import FORMATS as VERIFY_FORMATS
    from .deid.verify import VerifyError, parse_against
    from .deid.verify import verify as run_verify

    if fmt not in VERIFY_FORMATS:
        raise VerifyError(f"unknown format {fmt!r}: use one of {', '.join(VERIFY_FORMATS)}")
    lake = _lake(lake)
    src_lake, src_store = parse_against(against)
    report = run_verify(lake, store, src_lake, src_store, workers=workers, ocr=ocr)
    for problem in report.problems:
        typer.echo(f"warning: {problem}", err=True)
    if report.hits or fmt != "table":
        write_result(report.relation(), fmt, words=option_words)
    typer.echo(report.check(f"{lake}:{report.store}", f"{src_lake}:{report.against}"), err=fmt != "table")


@app.command("redact-preview")
@handled
def redact_preview(
    store: Annotated[str, typer.Option("--store", help="The store the instance is in.")],
    instance: Annotated[str, typer.Option("--instance", help="Its SOPInstanceUID.")],
    out: Annotated[Path, typer.Option("--out", help="The PNG to write.")],
    lake: LakeOpt = None,
    mode: Annotated[
        str, typer.Option("--mode", help="A textRedactionMode, e.g. REDACT_SENSITIVE_TEXT.")
    ] = "REDACT_SENSITIVE_TEXT",
    frame: Annotated[int, typer.Option("--frame", help="Which frame (from 0).")] = 0,
) -> None:
    """Draw one frame with the words OCR reads: red boxes are redacted by --mode, green ones kept."""
    from .deid.preview import redact_preview as run_preview

    p = run_preview(_lake(lake), store, instance, mode, out, frame)
    typer.echo(f"wrote {p.out}: {p.words} words read in frame {frame} of {p.frames}, {p.redacted} redacted by {mode}")


@app.command()
@handled
def keygen() -> None:
    """Print a new random key (base64) for --key-file."""
    import base64
    import secrets

    typer.echo(base64.b64encode(secrets.token_bytes(32)).decode())


@store_app.command("list")
@handled
def store_list(lake: LakeOpt = None, fmt: PrintFormatOpt = "table") -> None:
    """List the stores of a lake: patients, studies, series, instances, Parquet files and bytes,
    source bytes."""
    write_result(api.open(_lake(lake)).store_stats(), _format(fmt, PRINT_FORMATS), words=option_words)


DESCRIBE_FORMATS = ("table", "json")


@app.command()
@handled
def describe(
    store: Annotated[str, typer.Argument(help="The store whose schema to show.")],
    lake: LakeOpt = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="Output format: table, json (table: a tree that fits the terminal; json: every field, whole).",
        ),
    ] = "table",
) -> None:
    """Show a store's schema as a tree (nested sequences too): type, VR, share of instances that
    have each field, an example value."""
    from .query.describe import as_json, as_text
    from .query.output import terminal_width

    _format(fmt, DESCRIBE_FORMATS)
    the_lake = api.open(_lake(lake))
    fields = the_lake.describe(store)
    if fmt == "json":
        typer.echo(as_json(fields), nl=False)
    else:
        typer.echo(
            as_text(store, the_lake.store_info(store).row_count, fields, terminal_width(), option_words), nl=False
        )


@store_app.command("create")
@handled
def store_create(name: str, lake: LakeOpt = None, wait: WaitOpt = 0.0) -> None:
    """Create an empty store (a destination for de-identify or export)."""
    lake = _lake(lake)
    api.open(lake, create=True).create_store(name)
    typer.echo(f"created empty store '{name}' in {lake}")


@store_app.command("drop")
@handled
def store_drop(
    name: str,
    lake: LakeOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Drop without asking (needed off a terminal).")] = False,
    wait: WaitOpt = 0.0,
) -> None:
    """Drop a store and its files (asks first on a terminal; --yes otherwise)."""
    lake = _lake(lake)
    the_lake = api.open(lake)
    rows = the_lake.catalog.store(name).row_count
    if not yes:
        what = f"store '{name}' of {lake} ({rows} rows) and its files"
        if not sys.stdin.isatty():
            raise StoreError(f"not dropped: dropping deletes {what}; pass --yes to drop it without a terminal")
        if not typer.confirm(f"Drop {what}?", default=False):
            raise StoreError(f"not dropped: you answered no; {what} are unchanged")
    the_lake.drop_store(name, confirm=True)
    typer.echo(f"dropped store '{name}' from {lake}")


@app.command()
@handled
def sample(
    dest: Annotated[Path, typer.Argument(help="Folder to write the sample DICOM files into.")],
    n: Annotated[int, typer.Option("--n", help="Number of instances.")] = 120,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 0,
    burned_in: Annotated[
        bool,
        typer.Option(
            "--burned-in",
            help="Instead: images with names, birth dates and IDs burned into the pixels "
            "(the YBR_FULL_422 JPEG ultrasound of Google's de-identification documentation and other pixel formats).",
        ),
    ] = False,
) -> None:
    """Write a synthetic sample store (from pydicom's CT and MR samples, with PHI) as DICOM files."""
    if burned_in:
        from .demo.burned import FORMATS, make_burned_in

        planted = make_burned_in(dest, n, seed=seed, formats=FORMATS)
        typer.echo(f"wrote {len(planted)} DICOM files with burned-in text under {dest}")
        return
    from .demo.sample import make_sample

    paths = make_sample(dest, n, seed=seed)
    typer.echo(f"wrote {len(paths)} DICOM files under {dest}")


def main() -> None:
    """Entry point of the ``dicomlake`` command."""
    quiet_while_loading()  # until a command's own handler (``handled``) takes over
    try:
        app()
    finally:  # the command is over (or never started): a Ctrl-C while Python shuts down changes nothing
        signal.signal(signal.SIGINT, signal.SIG_IGN)
