"""A real DICOMweb server for tests and benchmarks: Debian's Orthanc with its DICOMweb plugin,
started on a free loopback port with a temporary storage folder and a generated configuration,
and stopped afterwards (``./dev.sh`` installs the ``orthanc`` and ``orthanc-dicomweb`` packages).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from ..errors import DicomlakeError

ORTHANC = "/usr/sbin/Orthanc"
PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the process that started it dies, however it dies."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Orthanc:
    """``with Orthanc() as o: o.url`` is a DICOMweb root; ``users`` turns basic auth on."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        if not (Path(ORTHANC).exists() and Path(PLUGIN).exists()):
            raise DicomlakeError(
                "Orthanc is not installed: run './dev.sh setup' (Debian packages orthanc, orthanc-dicomweb)"
            )
        self.users = users or {}
        self.root = Path(tempfile.mkdtemp(prefix="dicomlake-orthanc-"))
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/dicom-web"

    def _config(self) -> Path:
        config = {
            "Name": "dicomlake-test",
            "StorageDirectory": str(self.root / "storage"),
            "IndexDirectory": str(self.root / "index"),
            "HttpPort": self.port,
            "RemoteAccessAllowed": False,
            "DicomServerEnabled": False,
            "DicomPort": _free_port(),
            "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": self.users,
            "StorageCompression": False,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
            "Plugins": [PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full", "SeriesMetadata": "Full"},
        }
        path = self.root / "orthanc.json"
        path.write_text(json.dumps(config))
        return path

    def _request(self, method: str, path: str, data: bytes | None = None) -> bytes:
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if self.users:
            import base64

            user, password = next(iter(self.users.items()))
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        with urllib.request.urlopen(req, timeout=60) as r:
            return bytes(r.read())

    def start(self) -> Orthanc:
        log = open(self.root / "orthanc.log", "wb")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [ORTHANC, str(self._config())], stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DicomlakeError(f"Orthanc exited: {(self.root / 'orthanc.log').read_text()[-2000:]}")
            try:
                self._request("GET", "/system")
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise DicomlakeError("Orthanc did not answer within 30 s")

    def load(self, files: Iterable[str | Path]) -> int:
        """Store files through Orthanc's REST API; returns how many it accepted."""
        n = 0
        for f in files:
            self._request("POST", "/instances", Path(f).read_bytes())
            n += 1
        return n

    def delete_study(self, study_uid: str) -> None:
        ids = json.loads(self._request("POST", "/tools/lookup", study_uid.encode()))
        for item in ids:
            if item.get("Type") == "Study":
                self._request("DELETE", item["Path"])

    def count(self) -> int:
        return int(json.loads(self._request("GET", "/statistics"))["CountInstances"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Orthanc:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
