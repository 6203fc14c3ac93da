"""One error hierarchy. Errors are data.

Every error says what failed, where, and what to do next, and carries what it is about as
fields (the store asked for and the stores there are, the parameter missing, the counts of a
filter that selects nothing), so a program can act on it without reading the text.

The library words its advice in its own terms: the parameters of its calls. A message is a
sequence of parts, text and :class:`Param` (a parameter of a library call, with the value given
or what to give) or :class:`Command` (a step to take); ``str(error)`` renders them as Python
(``dest_lake=DIR``, ``overwrite=True``), and a front end renders them its own way: the CLI names
its options (``--dest-lake DIR``, ``--overwrite``; see ``cli_message`` in ``dicomlake/cli.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class _NoValue:
    """No value given (pickled by name, so it stays the one sentinel across processes)."""

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __reduce__(self) -> str:
        return "_NO_VALUE"


_NO_VALUE: Any = _NoValue()


@dataclass(frozen=True)
class Param:
    """A parameter of a library call, named in a message: ``name`` is its Python keyword;
    ``value`` the value given (a flag: True or False), or ``metavar``, what to give."""

    name: str
    value: Any = _NO_VALUE
    metavar: str | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not _NO_VALUE

    def python(self) -> str:
        if self.has_value:
            return f"{self.name}={self.value!r}"
        return f"{self.name}={self.metavar}" if self.metavar else self.name


@dataclass(frozen=True)
class Command:
    """A step to take, named in a message: the library call (``python``), and the command that
    does the same (``name``, its ``args`` and its ``options``, by the parameter they give)."""

    python: str
    name: str
    args: tuple[str, ...] = ()
    options: tuple[Param, ...] = ()


Part = str | Param | Command
Words = Callable[[Param | Command], str]


def python_words(part: Param | Command) -> str:
    return part.python() if isinstance(part, Param) else part.python


def render(parts: tuple[Part, ...], words: Words = python_words) -> str:
    """The text of a message's parts, with parameters and steps in ``words``."""
    return "".join(p if isinstance(p, str) else words(p) for p in parts)


class DicomlakeError(Exception):
    """Base class: a handled error. The CLI prints ``Error: <message>`` and exits 1.

    ``DicomlakeError("text")``, or parts: ``StoreError("needs ", Param("dest_lake", metavar="DIR"))``."""

    def __init__(self, *parts: Part) -> None:
        self.parts: tuple[Part, ...] = parts
        super().__init__(render(parts))

    def render(self, words: Words = python_words) -> str:
        return render(self.parts, words)

    def __reduce__(self) -> tuple[Any, ...]:  # across processes, with its parts and fields
        return (_restore, (type(self), self.parts, self.__dict__))


def _restore(cls: type[DicomlakeError], parts: tuple[Part, ...], state: dict[str, Any]) -> DicomlakeError:
    err = cls.__new__(cls)
    DicomlakeError.__init__(err, *parts)
    err.__dict__.update(state)
    return err


class LakeError(DicomlakeError):
    """The lake folder or its catalog is missing, busy or not a lake."""


class LakeNotFoundError(LakeError):
    """``path`` is not a lake (no catalog)."""

    def __init__(self, path: str, catalog: str, given: str) -> None:
        self.path, self.catalog = path, catalog
        super().__init__(
            f"{path} is not a dicomlake lake (no {catalog}): create one with ",
            Command(
                "dicomlake.ingest(LAKE, SOURCE, STORE)",
                "ingest",
                ("SOURCE",),
                (Param("lake", given), Param("store", metavar="NAME")),
            ),
        )


class LakeBusyError(LakeError):
    """Another process (``holder``: pid, command, operation) is writing to the lake ``lake``."""

    def __init__(self, holder: str, lake: str) -> None:
        self.holder, self.lake = holder, lake
        super().__init__(
            f"another dicomlake process ({holder}) is writing to {lake}: wait for it to finish, "
            "or write inside dicomlake.store.locks.lock_wait(SECONDS) to wait for it"
        )


class StoreError(DicomlakeError):
    """A store is unknown, already exists, or its write disposition forbids the write."""


class StoreNotFoundError(StoreError):
    """No store ``store`` in the lake ``lake``, whose stores are ``stores``."""

    def __init__(self, store: str, stores: list[str], lake: str) -> None:
        self.store, self.stores, self.lake = store, list(stores), lake
        known = ", ".join(stores) or "none yet"
        super().__init__(
            f"no store {store!r} in lake {lake} (stores: {known}); create it with ",
            Command(
                f"lake.ingest(SOURCE, {store!r})",
                "ingest",
                ("SOURCE",),
                (Param("lake", lake), Param("store", store)),
            ),
            " or ",
            Command(f"lake.create_store({store!r})", "store create"),
        )


class StoreDamagedError(StoreError):
    """Data files of store ``store`` are missing (``missing``)."""

    def __init__(self, store: str, missing: list[str]) -> None:
        self.store, self.missing = store, list(missing)
        super().__init__(
            f"store {store!r} is damaged: {len(missing)} of its data files are missing (e.g. {missing[0]}); "
            "re-ingest it with ",
            Param("write_disposition", "WRITE_TRUNCATE"),
            ", or ",
            Command(f"lake.drop_store({store!r}, confirm=True)", "store drop", (store,)),
        )


class QueryError(DicomlakeError):
    """A query is unknown, misses a parameter, or fails in the engine."""


class MissingParameterError(QueryError):
    """Query ``query`` needs parameter ``param`` (described by ``description``)."""

    def __init__(self, query: str, param: str, description: str) -> None:
        self.query, self.param, self.description = query, param, description
        super().__init__(
            f"query {query!r} needs parameter {param} ({description}): pass ", Param(param, metavar="VALUE")
        )


class StoreNotChosenError(QueryError):
    """A query reads the table ``store`` and the lake has more or fewer than one store (``stores``)."""

    def __init__(self, stores: list[str]) -> None:
        self.stores = list(stores)
        super().__init__(
            "this query reads the table 'store': pass ",
            Param("store", metavar="NAME"),
            f" (stores: {', '.join(stores) or 'none'})",
        )


class FilterFileError(DicomlakeError):
    """A filter file line is not a valid resource path."""


class EmptySelectionError(FilterFileError):
    """Filter file ``source`` (``lines`` lines) selects no instance of store ``store``;
    ``unmatched``: (line number, path) of its lines that match nothing."""

    def __init__(self, source: str, store: str, lines: int, unmatched: list[tuple[int, str]]) -> None:
        self.source, self.store, self.lines, self.unmatched = source, store, lines, list(unmatched)
        if not lines:
            super().__init__(
                f"filter file {source} is empty, so it selects nothing and nothing was written (a failed ",
                Command("writing lake.filter_paths(...) to FILE", "filter", ("...", ">", "FILE")),
                " leaves an empty file): write it again",
            )
            return
        first = f" (line {unmatched[0][0]}: {unmatched[0][1]})" if unmatched else ""
        super().__init__(
            f"filter file {source} selects nothing in store '{store}': none of its "
            f"{lines} line{'' if lines == 1 else 's'} matches an instance{first}, so nothing was written"
        )


class ConfigError(DicomlakeError):
    """A de-identification config is invalid."""


class SourceError(DicomlakeError):
    """An ingest source (folder, file, list, server) cannot be read."""


class SourceChangedError(DicomlakeError):
    """A row's source file vanished or no longer has the size and SHA-256 ingest recorded."""


class DicomReadError(DicomlakeError):
    """One file cannot be read as DICOM; ingest records it as an issue and goes on."""


class IngestIssuesError(DicomlakeError):
    """``strict`` was given and the ingest met issues: nothing was published."""

    def __init__(self, *parts: Part, summary: object = None) -> None:
        super().__init__(*parts)
        self.summary = summary
