"""``broadcaster sandbox`` as a user runs it: a real process on an ephemeral port."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from broadcaster.cli import main, main_parser
from broadcaster.commands.sandbox import config_from
from broadcaster.sandbox.config import DEDUPE_MODES

# The example from the API reference page, as documented (only the host differs).
DOCUMENTED_BODY = """{
"inbox_id": 101,
"creator_id": 55,
"phone_number": "14155551234",
"text": "Hi! Your appointment is confirmed for tomorrow at 10am."
}"""


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broadcaster",
            "sandbox",
            "--port",
            "0",
            "--api-key",
            "YOUR_API_KEY",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(
            r"sandbox listening on (http://127\.0\.0\.1:\d+) \(rate limit 500/m\)", first
        )
        assert match, first + (process.stderr.read() if process.stderr else "")
        yield match.group(1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        stats = json.loads(out.split("sandbox stopped: ", 1)[1])
        assert stats["committed"] >= 1
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_documented_curl_example_works(sandbox_url: str) -> None:
    result = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--include",
            "--request",
            "POST",
            "--url",
            f"{sandbox_url}/v1/message/send",
            "--header",
            "Authorization: Bearer YOUR_API_KEY",
            "--header",
            "Content-Type: application/json",
            "--data",
            DOCUMENTED_BODY,
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    head, _, body = result.stdout.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200")
    assert re.search(r"(?im)^x-request-id: [0-9a-f]{32}\r?$", head)
    assert set(json.loads(body)) == {"id", "date", "gallery_url"}


def test_sandbox_refuses_impossible_faults(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sandbox", "--fault-500", "0.7", "--fault-503", "0.7"])
    assert code == 2
    assert "add up to at most 1" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli_and_prints_its_version() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "broadcaster", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("broadcaster ")


def test_a_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--port", "99999"]) == 2
    assert "'99999' is not a port: expected 0 to 65535" in capsys.readouterr().err


def test_opt_out_numbers_are_read_as_the_inputs_are() -> None:
    """``4155550200`` matched nothing: the sends carry ``14155550200``."""
    args = main_parser().parse_args(
        ["sandbox", "--opt-out", "4155550200", "--opt-out", "+1 (415) 555-0201"]
    )
    assert config_from(args).opted_out == frozenset({"14155550200", "14155550201"})


def test_an_opt_out_that_is_no_number_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--opt-out", "12"]) == 2
    assert "--opt-out: " in capsys.readouterr().err


@pytest.mark.parametrize("mode", DEDUPE_MODES)
def test_each_dedupe_mode_reaches_the_config(mode: str) -> None:
    args = main_parser().parse_args(["sandbox", "--dedupe", mode])
    assert config_from(args).dedupe == mode


def test_sandbox_dedupes_every_send_unless_told(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_from(main_parser().parse_args(["sandbox"])).dedupe == "all"
    assert main(["sandbox", "--dedupe", "none"]) == 2
    assert "--dedupe: invalid choice: 'none'" in capsys.readouterr().err
