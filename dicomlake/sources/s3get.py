"""S3 listings and GET requests through obstore (Rust's ``object_store``), the fast path for
reading objects.

A GET through s3fs (aiobotocore) costs the client about 2 ms of CPU; through obstore about a
quarter of a millisecond, and a listing a tenth of s3fs's, so an ingest from S3 spends its CPU on
DICOM instead of on HTTP. HEAD requests, archives and writes stay with s3fs, and so does every
error: this path answers with a listing, with bytes, or with FileNotFoundError for a missing
object, and anything else it meets (access denied, a redirect to another region, an endpoint it
cannot reach, a key ``object_store`` refuses such as ``a//b``, obstore not installed) returns
None so that the caller asks s3fs, whose errors are the ones users see. After a failure other
than a refused key, the process stops using this path for that bucket and endpoint.

Credentials come from botocore's standard chain, the one s3fs reads: environment, ``AWS_PROFILE``
and the shared files, SSO, container and instance roles; they are asked for again every few
minutes, so refreshed role credentials are picked up.

obstore's requests run on a tokio runtime that does not survive ``fork``: a process forked after
its parent made a request through obstore would hang on its first one. Such a process (it sees
the parent's pid in :data:`_state`) never uses this path, and a listing made for a process
that will fork its workers runs in a forked child of its own (:func:`list_prefix`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from ..engines.local import CHILD_START

#: The bucket names S3 takes (botocore's check); any other is left to s3fs, which refuses it.
BUCKET = re.compile(r"[a-zA-Z0-9.\-_]{1,255}")
THREADS = 16  # GETs in flight at once per process (the requests release the GIL)
CREDENTIALS_TTL = dt.timedelta(minutes=5)

#: ``runtime_pid``: the process whose obstore runtime started; ``failed``: the (bucket, endpoint)
#: pairs this path failed with (here or in a child that listed for this process);
#: ``pid``: the process that made ``stores`` and ``pool`` (a forked child makes its own).
_state: dict[str, Any] = {"runtime_pid": None, "failed": set(), "pid": None, "stores": {}, "pool": None}


class _Failed(Exception):
    """A GET that failed other than with a missing object: s3fs is asked instead (``refused``:
    a key object_store does not take, the store itself may serve other keys)."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(exc)
        self.refused = _refused(exc)


def _refused(exc: BaseException) -> bool:
    """A key object_store does not take as a path (``a//b``, a control character), where S3
    takes any UTF-8: Python's ValueError for a key asked for, InvalidPathError for one listed."""
    return isinstance(exc, ValueError) or type(exc).__name__ == "InvalidPathError"


class _BotocoreCredentials:
    """obstore's credential callback, answered by botocore's credential chain."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def __call__(self) -> dict[str, Any]:
        frozen = self.credentials.get_frozen_credentials()
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": dt.datetime.now(dt.UTC) + CREDENTIALS_TTL,
        }


def usable() -> bool:
    """Whether this process may fetch through obstore."""
    pid = os.getpid()
    if _state["runtime_pid"] not in (None, pid):
        return False
    if _state["pid"] != pid:
        _state.update(pid=pid, stores={}, pool=None)
    return True


def _store(bucket: str, endpoint: str | None) -> Any:
    """The obstore S3Store of ``bucket`` (None when obstore or credentials are missing, or the
    bucket's name is not one S3 takes: s3fs says so, where object_store would panic)."""
    key = (bucket, endpoint)
    if key in _state["failed"] or not BUCKET.fullmatch(bucket):
        return None
    if key in _state["stores"]:
        return _state["stores"][key]
    store = None
    try:
        import botocore.session
        from obstore.store import S3Store
    except ImportError:
        pass
    else:
        session = botocore.session.Session()
        credentials = session.get_credentials()
        if credentials is not None:
            options: dict[str, Any] = {"region": session.get_config_variable("region") or "us-east-1"}
            if endpoint:
                options["endpoint"] = endpoint
            store = S3Store(
                bucket,
                config=options,  # type: ignore[arg-type]
                client_options={"allow_http": True, "connect_timeout": "10s", "timeout": "60s"},
                retry_config={
                    "max_retries": 2,
                    "retry_timeout": dt.timedelta(seconds=30),
                    "backoff": {
                        "init_backoff": dt.timedelta(milliseconds=100),
                        "max_backoff": dt.timedelta(seconds=2),
                        "base": 2,
                    },
                },
                credential_provider=_BotocoreCredentials(credentials),  # type: ignore[arg-type]
            )
    _state["stores"][key] = store
    return store


class VersionChanged(Exception):
    """An object whose version is no longer the one asked for (``now``: its version, when the
    answer gave it)."""

    def __init__(self, url: str, now: str | None) -> None:
        super().__init__(url, now)
        self.now = now


def quoted(tag: str) -> str:
    """An ETag in the form S3 sends it (and s3fs gives it): in double quotes."""
    return tag if tag.startswith('"') or not tag else f'"{tag}"'


def same_version(a: str, b: str) -> bool:
    """Whether two ETags name the same version, however each was quoted (``"x"``, ``x``,
    ``W/"x"``)."""
    return a.removeprefix("W/").strip('"') == b.removeprefix("W/").strip('"')


def _get(item: tuple[Any, str, str, str | None]) -> bytes | Exception:
    import obstore

    store, key, url, version = item
    try:
        if version is None:
            return bytes(obstore.get(store, key).bytes())
        got = obstore.get(store, key, options={"if_match": version})
        now = got.meta["e_tag"]
        if now is not None and not same_version(now, version):  # a server that ignores If-Match
            return VersionChanged(url, quoted(now))
        return bytes(got.bytes())
    except FileNotFoundError:  # obstore's NotFoundError is one
        return FileNotFoundError(url)
    except Exception as exc:
        if type(exc).__name__ == "PreconditionError":  # If-Match refused: not sent (the version is asked)
            return VersionChanged(url, None)
        return _Failed(exc)


def get_many(
    urls: Sequence[str], endpoint: str | None, versions: Sequence[str | None] | None = None
) -> list[bytes | Exception] | None:
    """Each ``s3://BUCKET/KEY`` object's bytes (FileNotFoundError for one that is missing),
    fetched concurrently; None when this path cannot serve all of them (ask s3fs). With
    ``versions`` (an ETag or None for each URL), an object whose ETag is not the one given is
    :class:`VersionChanged`, asked for with ``If-Match`` so that its bytes are not sent."""
    if not urls or not usable():
        return None
    items = []
    for url, version in zip(urls, versions or [None] * len(urls), strict=True):
        bucket, _, key = url[len("s3://") :].partition("/")
        store = _store(bucket, endpoint)
        if store is None or not key:
            return None
        items.append((store, key, url, version))
    if _state["pool"] is None:
        _state["pool"] = ThreadPoolExecutor(THREADS, thread_name_prefix="dicomlake-s3get")
    _state["runtime_pid"] = os.getpid()
    got: list[bytes | Exception] = list(_state["pool"].map(_get, items))
    failed = [g for g in got if isinstance(g, _Failed)]
    if failed:
        if not all(g.refused for g in failed):
            _state["failed"].update((url[len("s3://") :].partition("/")[0], endpoint) for url in urls)
        return None
    return got


def list_prefix(bucket: str, prefix: str, endpoint: str | None) -> dict[str, tuple[str, dt.datetime]] | None:
    """Every object of ``bucket`` under the folder ``prefix`` ('' for all), as ``{key: (ETag,
    last modified)}`` with the ETag quoted as S3 sends it (the form s3fs gives); empty or None when this path
    cannot list them (ask s3fs; None: it failed, and is not used again for this bucket). The
    listing runs in a forked child unless this process already started obstore's runtime, so
    that the workers it forks later can still use obstore."""
    if not usable():
        return None
    if _state["runtime_pid"] == os.getpid():
        return _list(bucket, prefix, endpoint)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"), initializer=CHILD_START) as one:
        try:
            found: dict[str, tuple[str, dt.datetime]] | None = one.submit(_list, bucket, prefix, endpoint).result()
        except Exception:  # the child could not run (a broken pool): s3fs lists
            found = None
    if found is None:
        _state["failed"].add((bucket, endpoint))
    return found


def _list(bucket: str, prefix: str, endpoint: str | None) -> dict[str, tuple[str, dt.datetime]] | None:
    """The listing of :func:`list_prefix`, in this process: ``{}`` where s3fs must list instead
    (it sees what object_store's paths cannot: a key ending in ``/``, a folder marker, comes out
    of object_store without its slash, as if it were an empty object of that name), None after a
    failure."""
    import obstore

    store = _store(bucket, endpoint)
    if store is None:
        return None
    _state["runtime_pid"] = os.getpid()
    found: dict[str, tuple[str, dt.datetime]] = {}
    try:
        for page in obstore.list(store, prefix or None, chunk_size=1000):
            for meta in page:
                if meta["size"] == 0:  # a folder marker, or an empty object: s3fs tells them apart
                    return {}
                found[meta["path"]] = (quoted(meta["e_tag"] or ""), meta["last_modified"])
    except Exception as exc:
        if _refused(exc):  # a key object_store refuses (``a//b``)
            return {}
        _state["failed"].add((bucket, endpoint))
        return None
    return found
