"""nginx as the bench's server: a fixed 200 for every send, in a few microseconds, from C.

Against it, a run's time is broadcaster's and the HTTP stack's, not a Python stand-in's
sharing the same two cores. It runs from a temporary prefix with a generated configuration
(nothing of the system's nginx is read or written), in the foreground, one worker.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from broadcaster.bench.servers import ServerError, accepts, free_port, stop

# The API's success body: what client.classify needs to count a send as sent (an integer id).
RESPONSE = '{"id":1,"date":"2026-01-01T00:00:00Z","gallery_url":null}'
# Where nginx is installed, though an ordinary user's PATH often leaves sbin out.
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/nginx/sbin")
_ATTEMPTS = 5  # ports tried: one picked free may be taken before nginx binds it
_STARTUP = 15.0  # seconds; nginx retries a busy port for 2.5 s before giving up
_POLL = 0.05
_VERSION = re.compile(r"nginx/(\d+(?:\.\d+)*)")
_ERROR_LOG_FLAG = (1, 19, 5)  # nginx -e: where to log before the configuration is read


def find_nginx(path: str | None = None) -> str | None:
    """nginx on PATH, else in the usual sbin directories."""
    given = (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep)
    search = [directory for directory in given if directory]  # "" would be the current one
    return shutil.which("nginx", path=os.pathsep.join([*search, *_SBIN]))


def nginx_version(binary: str) -> str | None:
    """``1.22.1``, from ``nginx -v`` (which says it on stderr)."""
    try:
        said = subprocess.run(  # noqa: S603 - the nginx found above
            [binary, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(said.stderr + said.stdout)
    return match.group(1) if match else None


def nginx_config(prefix: Path, port: int, connections: int = 4096) -> str:
    """The whole configuration: every path under ``prefix``, one location answering sends."""
    at = f'"{prefix}'  # quoted: a temporary directory may hold spaces
    return f"""daemon off;
master_process on;
worker_processes 1;
error_log {at}/error.log";
pid {at}/nginx.pid";
events {{
    worker_connections {connections};
}}
http {{
    access_log off;
    client_body_temp_path {at}/client_body";
    proxy_temp_path {at}/proxy";
    fastcgi_temp_path {at}/fastcgi";
    uwsgi_temp_path {at}/uwsgi";
    scgi_temp_path {at}/scgi";
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location /v1/message/send {{
            default_type application/json;
            add_header X-Request-Id $request_id;
            return 200 '{RESPONSE}';
        }}
    }}
}}
"""


def start_command(binary: str, prefix: Path, version: str | None) -> list[str]:
    """``nginx -p PREFIX -c PREFIX/nginx.conf``, and ``-e`` where nginx has it (1.19.5+), so
    that not even its start-up tries the system's log."""
    command = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    if version and tuple(int(part) for part in version.split(".")) >= _ERROR_LOG_FLAG:
        command += ["-e", str(prefix / "error.log")]
    return command


@contextlib.contextmanager
def serving_nginx(binary: str, workdir: Path, version: str | None) -> Iterator[str]:
    """nginx listening on 127.0.0.1; yields its URL, and stops it whatever happens."""
    for attempt in range(1, _ATTEMPTS + 1):
        prefix = workdir / f"nginx-{attempt}"
        prefix.mkdir()
        port = free_port()
        (prefix / "nginx.conf").write_text(nginx_config(prefix, port), encoding="utf-8")
        server = _start(start_command(binary, prefix, version), prefix)
        try:
            if _ready(server, prefix, port):
                yield f"http://127.0.0.1:{port}"
                return
        finally:
            stop(server)
        if not _port_taken(prefix):
            raise ServerError(f"nginx exited {server.returncode}{_log_tail(prefix)}")
    raise ServerError(f"nginx found no free port in {_ATTEMPTS} tries{_log_tail(prefix)}")


def _start(command: list[str], prefix: Path) -> subprocess.Popen[bytes]:
    with (prefix / "stderr.log").open("wb") as errors:
        return subprocess.Popen(  # noqa: S603 - the nginx found above, our configuration
            command, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, process_group=0
        )


def _ready(server: subprocess.Popen[bytes], prefix: Path, port: int) -> bool:
    """True once nginx wrote its pid (it has bound the port) and takes connections; False if
    it exited; ServerError if it did neither in time."""
    deadline = time.monotonic() + _STARTUP
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        if (prefix / "nginx.pid").exists() and accepts("127.0.0.1", port):
            return True
        time.sleep(_POLL)
    raise ServerError(f"nginx did not listen within {_STARTUP:g}s{_log_tail(prefix)}")


def _logged(prefix: Path) -> str:
    return "".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in (prefix / "stderr.log", prefix / "error.log")
        if path.exists()
    )


def _port_taken(prefix: Path) -> bool:
    return "Address already in use" in _logged(prefix)


def _log_tail(prefix: Path) -> str:
    lines = _logged(prefix).strip().splitlines()[-5:]
    return "; it says:\n  " + "\n  ".join(lines) if lines else ""
