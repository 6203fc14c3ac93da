"""Object stores (``s3://``, ``gs://``, ``az://``) through fsspec: listing a prefix, fetching
objects in parallel, writing objects.

Credentials come from each ecosystem's standard chain, read by its library and never printed:
S3 (s3fs/botocore): environment (``AWS_ACCESS_KEY_ID`` …), ``AWS_PROFILE`` and the shared
config files, instance and container roles; GCS (gcsfs): ``GOOGLE_APPLICATION_CREDENTIALS``,
gcloud's application-default login, the metadata server; Azure (adlfs):
``AZURE_STORAGE_CONNECTION_STRING`` / ``AZURE_STORAGE_ACCOUNT_NAME`` with a key, SAS or
``DefaultAzureCredential``. An S3-compatible server is named by :func:`configure`
(``--endpoint-url``) or the standard ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import re
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from ..errors import Param, SourceError
from . import s3get
from .s3get import VersionChanged

#: URL scheme → (fsspec protocol, package, dicomlake extra).
SCHEMES: dict[str, tuple[str, str, str]] = {
    "s3": ("s3", "s3fs", "s3"),
    "gs": ("gcs", "gcsfs", "gcs"),
    "gcs": ("gcs", "gcsfs", "gcs"),
    "az": ("abfs", "adlfs", "azure"),
    "abfs": ("abfs", "adlfs", "azure"),
    "abfss": ("abfs", "adlfs", "azure"),
}
#: Schemes of the chained URLs that name an archive member (``zip://member::container``).
MEMBER_SCHEMES = ("zip", "tar")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
FETCH_BATCH = 64  # objects requested at once (concurrently) by one task

_settings: dict[str, Any] = {"endpoint_url": None}


def configure(endpoint_url: str | None = None) -> None:
    """The S3-compatible endpoint to use instead of the environment's."""
    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://")):
        raise SourceError(Param("endpoint_url", endpoint_url), ": give an http:// or https:// URL")
    _settings["endpoint_url"] = endpoint_url


def endpoint_option() -> str | None:
    """The endpoint given to :func:`configure` (``--endpoint-url``), for tasks run elsewhere."""
    url: str | None = _settings["endpoint_url"]
    return url


def scheme_of(text: str | os.PathLike[str]) -> str | None:
    """The URL scheme of ``text`` (lower case), or None for a path."""
    m = _SCHEME.match(str(text))
    return m.group(1).lower() if m else None


def is_object_url(text: str | os.PathLike[str]) -> bool:
    return scheme_of(text) in SCHEMES


def check_url(text: str | os.PathLike[str], param: str | None = None) -> None:
    """Raise :class:`SourceError` for a URL whose scheme the tool does not handle (``param``: the
    parameter that gave it, a destination, named in the message; else it is a source)."""
    scheme = scheme_of(text)
    if scheme is None or scheme in SCHEMES or scheme in MEMBER_SCHEMES or scheme in ("http", "https", "file"):
        return
    if param:
        raise SourceError(
            Param(param, str(text)),
            f": the URL scheme {scheme}:// is not handled; write to a local path or an object store "
            "(s3://, gs://, az://), or to a DICOMweb server (dicomweb:https://…)",
        )
    raise SourceError(
        f"source {text}: the URL scheme {scheme}:// is not handled; use a local path, s3://, gs://, az://, "
        "an archive member (zip://MEMBER::ARCHIVE, tar://MEMBER::ARCHIVE) or a DICOMweb http(s):// URL"
    )


def _freeze_in_forks() -> None:
    """A forked worker (ingest, de-identification, verify) must never garbage-collect the
    object-store clients it inherits: they belong to an event loop in a thread the fork does not
    copy, and collecting them crashes the worker. Freezing what exists at the fork keeps them
    out of the collector (the worker makes its own clients)."""
    if not _settings.get("fork_hook"):
        os.register_at_fork(after_in_child=gc.freeze)
        _settings["fork_hook"] = True


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for an object URL. fsspec keeps one instance per
    process and options, so forked workers make their own connections."""
    scheme = scheme_of(url) or ""
    protocol, package, extra = SCHEMES[scheme]
    try:
        import fsspec
    except ImportError:
        raise SourceError(f"{url}: {scheme}:// needs {package}: pip install 'dicomlake[{extra}]'") from None
    options: dict[str, Any] = {"use_listings_cache": False}  # sources change between commands and in tests
    if protocol == "s3":
        endpoint = _endpoint()
        if endpoint:
            options["endpoint_url"] = endpoint
        options["config_kwargs"] = {"connect_timeout": 10, "read_timeout": 60, "retries": {"max_attempts": 3}}
    _freeze_in_forks()
    try:
        fs = fsspec.filesystem(protocol, **options)
    except ImportError:
        raise SourceError(f"{url}: {scheme}:// needs {package}: pip install 'dicomlake[{extra}]'") from None
    return fs, url[len(scheme) + 3 :]


def _endpoint() -> str | None:
    """The S3-compatible endpoint: ``--endpoint-url``, else the standard environment variables."""
    url: str | None = (
        _settings["endpoint_url"] or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    )
    return url


#: Object stores found unreachable (by scheme and endpoint), with when and why: for
#: :data:`UNREACHABLE_FOR` seconds a request to one fails at once with the same error, instead of
#: paying the connection retries again for every object a command reads.
UNREACHABLE_FOR = 30.0
_unreachable_since: dict[str, tuple[float, str]] = {}


def _store_key(url: str) -> str:
    scheme = scheme_of(url) or ""
    return f"s3 {_endpoint() or ''}" if scheme == "s3" else scheme


def _unreachable_error(url: str, why: str) -> SourceError:
    return SourceError(
        f"cannot reach the object store for {url} ({why}): check the endpoint (",
        Param("endpoint_url"),
        ", AWS_ENDPOINT_URL) and the network",
    )


@contextlib.contextmanager
def translated(url: str, writing: bool = False) -> Iterator[None]:
    """Access denied, an unreachable endpoint and a missing bucket become one clear SourceError;
    a missing object stays FileNotFoundError (the caller knows whether that is a vanished
    source), unless ``writing`` (then it is the bucket that is missing). A store found
    unreachable moments ago is not asked again."""
    key = _store_key(url)
    seen = _unreachable_since.get(key)
    if seen is not None and time.monotonic() - seen[0] < UNREACHABLE_FOR:
        raise _unreachable_error(url, seen[1])
    try:
        yield
    except FileNotFoundError as exc:
        if writing:
            raise SourceError(f"cannot write {url}: {_first_line(exc)}; create the bucket or check the URL") from None
        raise
    except PermissionError as exc:
        raise SourceError(
            f"access denied to {url} ({_first_line(exc)}): check the credentials "
            "(environment, profile or role) and the bucket's policy"
        ) from None
    except SourceError:
        raise
    except Exception as exc:
        if "NoCredentialsError" in {type(e).__name__ for e in _chain(exc)}:
            raise SourceError(
                f"no credentials for {url}: set them the way the store's own tools read them "
                "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role)"
            ) from None
        if "ParamValidationError" in {type(e).__name__ for e in _chain(exc)}:  # e.g. an invalid bucket name
            lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()] or [_first_line(exc)]
            raise SourceError(f"cannot use {url}: {lines[0].split(': Bucket name must')[0]}; check the URL") from None
        if _unreachable(exc):
            _unreachable_since[key] = (time.monotonic(), _first_line(exc))
            raise _unreachable_error(url, _first_line(exc)) from None
        if isinstance(exc, OSError | ValueError):
            raise SourceError(f"cannot use {url}: {_first_line(exc)}") from None
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _unreachable(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(
        names
        & {
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ClientConnectorError",
            "ServerDisconnectedError",
            "ConnectionError",
            "ConnectionRefusedError",
            "ClientOSError",
            "ConnectTimeout",
        }
    )


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc = exc.__cause__ or exc.__context__
        seen += 1


def list_objects(url: str) -> list[str]:
    """Every object at or below ``url`` (a prefix, or one object), as URLs, in a stable order."""
    scheme = scheme_of(url)
    fs, path = filesystem(url)
    path = path.rstrip("/")
    if not path.partition("/")[0]:
        raise SourceError(f"{url} names no bucket: write {scheme}://BUCKET/PREFIX")
    urls: dict[str, str | None] = {}
    modified: dict[str, dt.datetime | None] = {}
    if scheme == "s3":
        bucket, _, prefix = path.partition("/")
        fast = s3get.list_prefix(bucket, prefix, _endpoint())
        urls = {f"s3://{bucket}/{key}": tag or None for key, (tag, _) in (fast or {}).items()}
        modified = {f"s3://{bucket}/{key}": when for key, (_, when) in (fast or {}).items()}
    if not urls:
        with translated(url):
            try:
                found = fs.find(path, withdirs=False, detail=True)
            except FileNotFoundError:
                found = {}
            if not found:
                try:
                    info = fs.info(path)
                    found = {path: info} if info.get("type") != "directory" else {}
                except FileNotFoundError:
                    found = {}
        found = {p: i for p, i in found.items() if not p.endswith("/")}  # folder markers are not objects to read
        if not found:
            raise SourceError(f"{url} does not exist or holds no objects: check the bucket and the prefix")
        urls = {f"{scheme}://{p}": version_of(info) for p, info in found.items()}
        modified = {f"{scheme}://{p}": modified_of(info) for p, info in found.items()}
    _listed_versions.update((u, v) for u, v in urls.items() if v is not None)
    _listed_modified.update((u, _utc(m)) for u, m in modified.items() if m is not None)
    return sorted(urls)


#: The version of each object listed by this process (kept for the ingest tasks that read them),
#: and when it was last modified (naive UTC, as the catalog's times; for resuming an ingest).
_listed_versions: dict[str, str] = {}
_listed_modified: dict[str, dt.datetime] = {}


def version_of(info: dict[str, Any]) -> str | None:
    """An object's version from its listing or HEAD: the generation on GCS (which changes with the
    bytes only, not with metadata as its etag does), else the ETag (S3 ``ETag``, Azure ``etag``)."""
    tag = info.get("generation") or info.get("ETag") or info.get("etag")
    return str(tag) if tag else None


def modified_of(info: dict[str, Any]) -> dt.datetime | None:
    """When an object was last modified, from its listing: s3fs ``LastModified``, adlfs
    ``last_modified`` (datetimes), gcsfs ``updated`` (ISO text)."""
    when = info.get("LastModified") or info.get("last_modified") or info.get("updated")
    if isinstance(when, str):
        with contextlib.suppress(ValueError):
            when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    return when if isinstance(when, dt.datetime) else None


def _utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo is not None else when


def listed_modified(url: str) -> dt.datetime | None:
    """When the object ``url`` (or the object holding the archive member ``url``) was last
    modified, as this process listed it (naive UTC)."""
    return _listed_modified.get(url.rpartition("::")[2])


def listed_versions(urls: Sequence[str]) -> dict[str, str]:
    """The versions the listing found of those of ``urls`` that this process listed."""
    return {u: _listed_versions[u] for u in urls if u in _listed_versions}


def forget_listed() -> None:
    _listed_versions.clear()
    _listed_modified.clear()


def current_version(url: str) -> str | None:
    """The object's version now (one HEAD request); FileNotFoundError when it is gone."""
    fs, path = filesystem(url)
    with translated(url):
        info = fs.info(path)
    return version_of(info)


def fetch_many(urls: list[str]) -> Iterator[tuple[str, bytes | Exception]]:
    """Each object's bytes (or the exception reading it gave), fetched concurrently a batch at a
    time, the next batch in flight while the caller works on this one."""
    batches = [urls[i : i + FETCH_BATCH] for i in range(0, len(urls), FETCH_BATCH)]
    with ThreadPoolExecutor(1) as ahead:
        future = ahead.submit(_fetch, batches[0]) if batches else None
        for i in range(len(batches)):
            assert future is not None
            got = future.result()
            future = ahead.submit(_fetch, batches[i + 1]) if i + 1 < len(batches) else None
            yield from got


def _fetch(batch: list[str]) -> list[tuple[str, bytes | Exception]]:
    if all(u.startswith("s3://") for u in batch):
        fast = s3get.get_many(batch, _endpoint())
        if fast is not None:
            return list(zip(batch, fast, strict=True))
    fs, _ = filesystem(batch[0])
    scheme = scheme_of(batch[0]) or ""
    paths = [u[len(scheme) + 3 :] for u in batch]
    with translated(batch[0]):
        got = fs.cat(paths, on_error="return")
    out: list[tuple[str, bytes | Exception]] = []
    for u, p in zip(batch, paths, strict=True):
        data = got.get(p, FileNotFoundError(p))
        out.append((u, data if isinstance(data, bytes | Exception) else bytes(data)))
    return out


def read_object(url: str, version: str | None = None) -> bytes:
    """One object's bytes; FileNotFoundError when it is gone. With ``version`` (as ingest
    recorded it), an object with another version raises :class:`VersionChanged` (naming the
    version it has) without its bytes being downloaded: one conditional GET (``If-Match``) on
    the fast path, else a HEAD request first."""
    if url.startswith("s3://"):
        fast = s3get.get_many([url], _endpoint(), [version])
        if fast is not None:
            got = fast[0]
            if not isinstance(got, Exception):
                return got
            if not isinstance(got, VersionChanged) or got.now is not None:
                raise got
            # If-Match refused: the HEAD below names the version (and a server that compared
            # the ETag in another form than it sends gets the plain read)
    if version is not None:
        now = current_version(url)
        if now is not None and not s3get.same_version(now, version):
            raise VersionChanged(url, now)
    fs, path = filesystem(url)
    with translated(url):
        data: bytes = fs.cat_file(path)
    return data


def open_object(url: str) -> BinaryIO:
    """A seekable file object over an object (ranged reads), for archives."""
    fs, path = filesystem(url)
    with translated(url):
        f: BinaryIO = fs.open(path, "rb", block_size=8 << 20)
    return f


def write_object(url: str, data: bytes) -> None:
    fs, path = filesystem(url)
    with translated(url, writing=True):
        fs.pipe_file(path, data)


def upload(local: str, url: str) -> None:
    fs, path = filesystem(url)
    with translated(url, writing=True):
        fs.put_file(local, path)


def download(url: str, local: str) -> bool:
    """Copy an object to ``local``; False if there is no such object."""
    fs, path = filesystem(url)
    with translated(url):
        try:
            fs.get_file(path, local)
        except FileNotFoundError:
            return False
    return True


def object_size(url: str) -> int | None:
    """The object's size, or None when there is none."""
    fs, path = filesystem(url)
    with translated(url):
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return None
    return None if info.get("type") == "directory" else int(info["size"])


def remove_object(url: str) -> None:
    fs, path = filesystem(url)
    with translated(url):
        fs.rm_file(path)


def children(url: str) -> list[str]:
    """The objects directly under the prefix ``url`` (none when there is no such prefix)."""
    scheme = scheme_of(url)
    fs, path = filesystem(url)
    with translated(url):
        try:
            found = fs.ls(path.rstrip("/"), detail=True, refresh=True)
        except FileNotFoundError:
            return []
    return sorted(f"{scheme}://{f['name']}" for f in found if f.get("type") == "file")


def object_version(url: str) -> tuple[object, ...]:
    """(size, ETag or generation) of an object; FileNotFoundError when it is gone."""
    fs, path = filesystem(url)
    with translated(url):
        info = fs.info(path)
    tag = info.get("ETag") or info.get("etag") or info.get("generation") or info.get("last_modified")
    return (info.get("size"), str(tag))
