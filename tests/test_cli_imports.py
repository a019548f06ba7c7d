"""What ``broadcaster --help`` imports: the parsers, not what the commands run.

Every command module is imported to build the parser, so whatever one imports at its top
(aiohttp, libphonenumber, the engine) is paid by every ``--help``. Each check runs in a fresh
interpreter, since this one has imported everything already.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import broadcaster
from broadcaster.cli import main
from broadcaster.commands import COMMANDS

# What only running a command needs: slow to import, and so never imported for its parser.
HEAVY = (
    "aiohttp",
    "asyncio",
    "broadcaster.engine",
    "broadcaster.sandbox",
    "importlib.metadata",
    "orjson",
    "phonenumbers",
    "structlog",
    "yarl",
)


def heavy_modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds once it has run ``code``."""
    script = f"{code}\nimport sys\nprint(*sys.modules, sep='\\n', file=sys.stderr)"
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = ran.stderr.splitlines()
    return sorted(
        name for name in loaded for heavy in HEAVY if name == heavy or name.startswith(heavy + ".")
    )


class TestImports:
    def test_building_the_parser_imports_nothing_heavy(self) -> None:
        assert heavy_modules_after("from broadcaster.cli import main_parser; main_parser()") == []

    @pytest.mark.parametrize("command", ["", *COMMANDS])
    def test_help_imports_nothing_heavy(self, command: str) -> None:
        argv = [command, "--help"] if command else ["--help"]
        code = f"from broadcaster.cli import main; assert main({argv!r}) == 0"
        assert heavy_modules_after(code) == []

    def test_running_a_command_imports_what_it_needs(self) -> None:
        """The check above can see an import: running ``inboxes`` loads the sandbox."""
        code = "from broadcaster.cli import main; assert main(['inboxes', '--sandbox']) == 0"
        assert {"aiohttp", "asyncio", "broadcaster.sandbox"} <= set(heavy_modules_after(code))


class TestADryRun:
    def test_imports_no_http_client(self, tmp_path: Path) -> None:
        """A dry run sends nothing: aiohttp and its TLS set-up would be 15 MB for nothing."""
        source = tmp_path / "c.csv"
        source.write_text("phone_number\n+14155550100\n")
        argv = ["send", str(source), "--dry-run", "--text", "hi", "--inbox-id", "1",
                "--creator-id", "2", "--quiet"]  # fmt: skip
        code = f"from broadcaster.cli import main; assert main({argv!r}) == 0"
        loaded = heavy_modules_after(code)
        assert "broadcaster.engine" in loaded  # it ran
        assert [name for name in loaded if name.startswith("aiohttp")] == []


class TestVersion:
    def test_version_prints_the_installed_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--version"]) == 0
        assert capsys.readouterr().out == f"broadcaster {version('broadcaster')}\n"

    def test_the_package_still_offers_its_version(self) -> None:
        assert broadcaster.__version__ == version("broadcaster")

    def test_other_names_are_still_missing(self) -> None:
        with pytest.raises(AttributeError, match="no attribute 'nothing'"):
            _ = broadcaster.nothing  # type: ignore[attr-defined]
