"""The machine and the versions a bench ran with, for the results page: a figure from a
2-core VM and one from a 32-core workstation are different facts."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from broadcaster.eventloop import loop_name

UNKNOWN = "unknown"


def cpu_model(cpuinfo: str) -> str:
    """The ``model name`` of ``/proc/cpuinfo``'s first processor."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or UNKNOWN


def os_name(os_release: str) -> str:
    """``Debian GNU/Linux 12 (bookworm), Linux 6.1.0``: the distribution and the kernel."""
    pretty = next(
        (
            line.partition("=")[2].strip().strip('"')
            for line in os_release.splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        "",
    )
    kernel = f"{platform.system()} {platform.release()}"
    return f"{pretty}, {kernel}" if pretty else kernel


def this_machine() -> dict[str, object]:
    return {
        "cpu": cpu_model(_read("/proc/cpuinfo")),
        "cores": os.cpu_count() or 0,
        "os": os_name(_read("/etc/os-release")),
    }


def event_loop(environ: Mapping[str, str]) -> str:
    """The loop the measured commands run on, with its version: ``uvloop 0.23.0``, ``asyncio``."""
    name = loop_name(environ)
    return name if name == "asyncio" else f"{name} {_version(name)}"


def versions(nginx: str | None) -> dict[str, str]:
    found = {
        "python": platform.python_version(),
        "broadcaster": _version("broadcaster"),
        "aiohttp": _version("aiohttp"),
    }
    return found | ({"nginx": nginx} if nginx else {})


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return UNKNOWN


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
