"""The ``dicomlake`` command: thin, one library call per command.

Exit codes: 0 ok, 1 handled error (one ``Error: …`` line), 2 usage error or crash.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from . import api
from .errors import DicomlakeError, IngestIssuesError, QueryError
from .ingest import DISPOSITIONS, IngestSummary
from .output import FORMATS, write_result

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Index DICOM stores into a local SQL lake, query them, cut cohorts, de-identify.",
)
store_app = typer.Typer(no_args_is_help=True, help="Create, list and drop stores.")
app.add_typer(store_app, name="store")

LakeOpt = Annotated[Path, typer.Option("--lake", help="The lake folder.", show_default=False)]
StoreOpt = Annotated[Optional[str], typer.Option("--store", help="The store (default: the lake's only store).")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help=f"Output format: {', '.join(FORMATS)}.")]
ParamOpt = Annotated[
    Optional[list[str]], typer.Option("--param", "-p", help="Query parameter NAME=VALUE (repeatable).")
]


F = TypeVar("F", bound=Callable[..., Any])


def handled(fn: F) -> F:
    """Turn a DicomlakeError into one ``Error: …`` line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DicomlakeError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None

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
        f"ingested {s.ingested} instances from {s.files} files into store '{s.store}' "
        f"(replaced {s.replaced}, duplicates {s.duplicates}, excluded by filter {s.excluded_by_filter})"
    )
    if s.skipped_reasons:
        reasons = ", ".join(f"{k} {n}" for k, n in s.skipped_reasons.most_common())
        echo(f"not ingested: {sum(s.skipped_reasons.values())} files ({reasons})")
    if s.warnings:
        echo(f"warnings: {s.warnings}")
    if s.issues:
        echo(f"details: dicomlake query ingest_issues --lake {lake}")
    echo(f"store '{s.store}' now has {s.rows_in_store} rows")


@app.command()
@handled
def ingest(
    source: Annotated[
        str, typer.Argument(help="A folder (walked recursively), a DICOM file, or a text file of paths.")
    ],
    lake: LakeOpt,
    store: Annotated[str, typer.Option("--store", help="The store to write.")],
    write_disposition: Annotated[
        str,
        typer.Option(
            "--write-disposition",
            help=f"{' | '.join(DISPOSITIONS)}: fail if the store has rows, replace it, or add to it.",
        ),
    ] = "WRITE_EMPTY",
    workers: Annotated[Optional[int], typer.Option("--workers", help="Processes (default: all cores).")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any file was skipped or read with warnings.")
    ] = False,
    filter_file: Annotated[
        Optional[Path], typer.Option("--filter", help="Filter file: ingest only the studies/series/instances it lists.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Ingest DICOM files into a store of the lake (the lake is created if needed)."""
    spec = None
    if filter_file is not None:
        from .filterfile import read_filter

        spec = read_filter(filter_file)
    summary = api.ingest(
        lake, source, store, write_disposition=write_disposition.upper(), workers=workers, filter_spec=spec
    )
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        _print_summary(summary, lake)
    if strict and (summary.skipped or summary.warnings):
        raise IngestIssuesError(
            f"--strict: {summary.skipped} files skipped and {summary.warnings} warnings; "
            f"see 'dicomlake query ingest_issues --lake {lake}'"
        )


@app.command()
@handled
def query(
    name: Annotated[Optional[str], typer.Argument(help="A named query (see --list).")] = None,
    lake: Annotated[Optional[Path], typer.Option("--lake", help="The lake folder.")] = None,
    sql_file: Annotated[Optional[Path], typer.Option("--sql", help="Run the SQL in this file.")] = None,
    expr: Annotated[Optional[str], typer.Option("-e", "--execute", help="Run this SQL.")] = None,
    param: ParamOpt = None,
    store: StoreOpt = None,
    fmt: FormatOpt = "table",
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the named queries and exit.")] = False,
) -> None:
    """Run SQL over a lake: a named query, a .sql file, or -e "SQL". Tables are named after stores."""
    if list_:
        for q in api.Lake.named_queries().values():
            signature = ", ".join(p.name + ("" if p.default is None else f"={p.default}") for p in q.params)
            typer.echo(f"{q.name}({signature})\n    {q.description}")
        return
    chosen = [x for x in (name, sql_file, expr) if x is not None]
    if len(chosen) != 1:
        raise QueryError("give exactly one of: a query NAME, --sql FILE, -e \"SQL\" (see 'dicomlake query --list')")
    if lake is None:
        raise QueryError("--lake DIR is required")
    the_lake = api.open(lake)
    params = _params(param)
    if name is not None:
        rel = the_lake.query(name, store=store, **params)
    elif sql_file is not None:
        rel = the_lake.query_file(sql_file, store=store, **params)
    else:
        rel = the_lake.sql(expr or "", params or None, store=store, source="-e SQL")
    write_result(rel, fmt, str(output) if output else None)


@store_app.command("list")
@handled
def store_list(lake: LakeOpt, fmt: FormatOpt = "table") -> None:
    """List the stores of a lake with their row counts."""
    the_lake = api.open(lake)
    write_result(the_lake.sql("SELECT name, row_count, created_at, updated_at FROM dl_stores ORDER BY name"), fmt)


@store_app.command("create")
@handled
def store_create(name: str, lake: LakeOpt) -> None:
    """Create an empty store (a destination for de-identify or export)."""
    api.open(lake, create=True).create_store(name)
    typer.echo(f"created empty store '{name}' in {lake}")


@store_app.command("drop")
@handled
def store_drop(name: str, lake: LakeOpt) -> None:
    """Drop a store and its files."""
    api.open(lake).drop_store(name)
    typer.echo(f"dropped store '{name}' from {lake}")


@app.command()
@handled
def sample(
    dest: Annotated[Path, typer.Argument(help="Folder to write the sample DICOM files into.")],
    n: Annotated[int, typer.Option("--n", help="Number of instances.")] = 120,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 0,
) -> None:
    """Write a synthetic sample store (from pydicom's CT and MR samples, with PHI) as DICOM files."""
    from .sample import make_sample

    paths = make_sample(dest, n, seed=seed)
    typer.echo(f"wrote {len(paths)} DICOM files under {dest}")


def main() -> None:
    """Entry point of the ``dicomlake`` command."""
    app()
