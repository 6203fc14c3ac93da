"""DICOMweb servers: QIDO-RS listing, WADO-RS metadata and instances, STOW-RS storing.

Requests go through ``dicomweb-client`` on a ``requests`` session that carries the
credentials (a bearer token, or basic auth; from options or the environment variables
``DICOMLAKE_DICOMWEB_TOKEN``, ``DICOMLAKE_DICOMWEB_USER``, ``DICOMLAKE_DICOMWEB_PASSWORD``;
never printed), verifies TLS unless told not to, times out, and retries with exponential
backoff on connection errors, 429 and 5xx. Errors users meet (unreachable server, refused
credentials, a URL that is not a DICOMweb root) become one clear :class:`DicomWebError`.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import DicomlakeError, Param

ENV_TOKEN, ENV_USER, ENV_PASSWORD = "DICOMLAKE_DICOMWEB_TOKEN", "DICOMLAKE_DICOMWEB_USER", "DICOMLAKE_DICOMWEB_PASSWORD"
PAGE = 1000  # QIDO-RS page size
FIRST_PAGE = 50


class DicomWebError(DicomlakeError):
    """A DICOMweb request failed (``response``: the HTTP response, when there was one)."""

    response: Any = None


def is_url(text: str | os.PathLike[str]) -> bool:
    return str(text).startswith(("http://", "https://"))


@dataclass(frozen=True)
class Server:
    """A DICOMweb root URL and how to talk to it."""

    url: str
    token: str | None = None
    user: str | None = None
    password: str | None = None
    verify_tls: bool = True
    timeout: float = 60.0
    retries: int = 4
    concurrency: int = 4

    @classmethod
    def from_env(cls, url: str, **options: Any) -> Server:
        """Options given win; missing credentials come from the environment."""
        options = {k: v for k, v in options.items() if v is not None}
        options.setdefault("token", os.environ.get(ENV_TOKEN) or None)
        options.setdefault("user", os.environ.get(ENV_USER) or None)
        options.setdefault("password", os.environ.get(ENV_PASSWORD) or None)
        return cls(url.rstrip("/"), **options)

    def path(self, study: str, series: str | None = None, sop: str | None = None) -> str:
        """The DICOMweb URL of a study, series or instance on this server."""
        out = f"{self.url}/studies/{study}"
        if series:
            out += f"/series/{series}"
            if sop:
                out += f"/instances/{sop}"
        return out

    @functools.cached_property
    def client(self) -> Any:
        import requests
        from dicomweb_client.api import DICOMwebClient
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        retry = Retry(
            total=self.retries,
            backoff_factor=0.5,  # 0.5 s, 1 s, 2 s, ...
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,  # STOW-RS (POST) of the same instances is safe to repeat
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=max(4, self.concurrency * 2))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.verify = self.verify_tls
        if self.token:
            session.headers["Authorization"] = f"Bearer {self.token}"
        elif self.user:
            session.auth = (self.user, self.password or "")
        client = DICOMwebClient(self.url, session=session, timeout=self.timeout)
        client.set_http_retry_params(retry=False)  # the session's adapter retries (one policy, not two)
        return client

    # ---- requests ----------------------------------------------------------------------
    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args)``, with failures turned into one clear error."""
        import requests

        try:
            return fn(*args, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise DicomWebError(
                f"{self.url}: TLS certificate not accepted ({exc.__class__.__name__}); fix the certificate, or pass ",
                Param("verify_tls", False),
                " if you trust this server",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            reason = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "cannot connect"
            raise DicomWebError(
                f"{self.url}: {reason} while {what}; check the URL and that the server is running"
            ) from None
        except requests.exceptions.HTTPError as exc:
            raise self._http_error(what, exc.response) from None
        except ValueError as exc:  # a body that is not DICOM JSON / multipart
            raise DicomWebError(
                f"{self.url}: the answer to {what} is not DICOMweb ({exc}); give the server's DICOMweb root, "
                "e.g. http://host:8042/dicom-web"
            ) from None

    def _http_error(self, what: str, response: Any) -> DicomWebError:
        err = self._http_message(what, getattr(response, "status_code", None))
        err.response = response
        return err

    def _http_message(self, what: str, status: int | None) -> DicomWebError:
        if status in (401, 403):
            return DicomWebError(
                f"{self.url}: the server refused the credentials (HTTP {status}) while {what}; set "
                f"{ENV_TOKEN} (bearer token) or {ENV_USER} and {ENV_PASSWORD}, or pass ",
                Param("token"),
                " / ",
                Param("user"),
            )
        if status in (400, 404, 405, 406) and "listing studies" in what:
            return DicomWebError(
                f"{self.url}: not a DICOMweb endpoint (HTTP {status} on QIDO-RS /studies); give the DICOMweb root, "
                "e.g. http://host:8042/dicom-web"
            )
        return DicomWebError(f"{self.url}: HTTP {status} while {what}")

    def studies(self) -> Iterator[str]:
        """StudyInstanceUIDs on the server, page by page as they are consumed (a small first page,
        so the work can start while the rest is listed). Listing ends at an empty page, or at a
        page shorter than both the limit asked and the longest page so far: a server that caps
        pages below our limit is still listed to the end."""
        offset, longest, seen = 0, 0, set()
        for limit in itertools.chain([FIRST_PAGE], itertools.repeat(PAGE)):
            page = self.call(
                "listing studies (QIDO-RS)",
                self.client.search_for_studies,
                fields=["StudyInstanceUID"],
                limit=limit,
                offset=offset,
            )
            uids = [str(u) for u in (((st.get("0020000D") or {}).get("Value") or [None])[0] for st in page) if u]
            new = [u for u in uids if u not in seen]
            if not new:  # empty, or a server that ignores offset
                return
            seen.update(new)
            yield from new
            if len(page) < limit and len(page) < longest:
                return
            longest = max(longest, len(page))
            offset += len(page)

    def study_metadata(self, study: str) -> list[dict[str, Any]] | None:
        """Every instance of a study as DICOM JSON (one WADO-RS request); None if it is gone."""
        what = f"fetching the metadata of study {study}"
        try:
            return self.call(what, lambda: list(self.client.retrieve_study_metadata(study)))
        except DicomWebError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return None
            raise

    def instance(self, study: str, series: str, sop: str) -> bytes:
        """One instance's bytes as the server keeps them (WADO-RS, application/dicom in any
        transfer syntax), taken from the multipart answer without parsing the DICOM."""
        what = f"fetching instance {sop}"
        session = self.client._session  # the client's session: auth, TLS and retries

        def get() -> Any:
            r = session.get(
                self.path(study, series, sop),
                headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
                timeout=self.timeout,
            )
            r.raise_for_status()
            return r

        r = self.call(what, get)
        ctype = r.headers.get("Content-Type", "")
        boundary = next(
            (p.split("=", 1)[1].strip('"') for p in ctype.split(";") if p.strip().startswith("boundary=")), None
        )
        if not boundary:
            raise DicomWebError(f"{self.url}: the answer to {what} is not multipart ({ctype or 'no content type'})")
        for part in r.content.split(b"--" + boundary.encode())[1:]:
            head, sep, body = part.partition(b"\r\n\r\n")
            if sep and b"application/dicom" in head.lower():
                return body[:-2] if body.endswith(b"\r\n") else body
        raise DicomWebError(f"{self.url}: the answer to {what} holds no application/dicom part")

    def store(self, datasets: list[Any]) -> Any:
        """STOW-RS a batch; returns the server's response dataset (per-instance results)."""
        return self.call(f"storing {len(datasets)} instances (STOW-RS)", self.client.store_instances, datasets)


def parse_path(source: str) -> tuple[Server, str, str, str]:
    """A ``dl_source`` DICOMweb URL → (server, study, series, instance)."""
    base, _, rest = source.partition("/studies/")
    parts = rest.split("/")
    if len(parts) != 5 or parts[1] != "series" or parts[3] != "instances":
        raise DicomWebError(f"{source}: not a DICOMweb instance URL (…/studies/S/series/S/instances/I)")
    return server_for(base), parts[0], parts[2], parts[4]


@functools.cache
def server_for(base: str) -> Server:
    """The server of a stored DICOMweb URL, with credentials from the environment."""
    return Server.from_env(base)


def fetch(source: str) -> bytes:
    """The Part 10 bytes of a DICOMweb-sourced row's instance."""
    server, study, series, sop = parse_path(source)
    return server.instance(study, series, sop)
