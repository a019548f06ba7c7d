"""``broadcaster bench`` end to end, at tiny sizes: every step runs, every target gets its
verdict line, the outputs parse, the servers it starts are gone when it ends, and the user's
own ``--base-url`` is used as given (or refused in one line). No timing is asserted."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.bench.nginx import find_nginx
from broadcaster.bench.servers import free_port
from broadcaster.cli import main

TINY = ["--sizes", "100,300", "--rows", "200", "--repeat", "1", "--pacing-seconds", "0.5"]
# One line per target: throughput 1; pacing 2 a rate and the steady CPU (the bare loop's
# figure beside it, not a line of its own); memory 1 a size; validate, dryrun and resume 2 each;
# walk and halfway none (figures, no target); help 1.
VERDICTS = {"throughput": 1, "pacing": 7, "memory": 2, "validate": 2, "dryrun": 2, "resume": 2}
VERDICTS |= {"walk": 0, "halfway": 0, "help": 1}
VERDICT_LINE = re.compile(r"(PASS|FAIL|SKIP)  (.+): (.+) \(target (.+)\)")


def bench(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``broadcaster bench`` as a user runs it, in a session of its own, checked to leave no
    process of that session (a server, a send) behind."""
    process = subprocess.Popen(
        [sys.executable, "-m", "broadcaster", "bench", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert left_in_session(process.pid) == [], err
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def left_in_session(session: int) -> list[str]:
    """The processes still in ``session``: what the bench left running."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        if int(text.rpartition(")")[2].split()[3]) == session:
            left.append(text.partition(")")[0] + ")")
    return left


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="no /proc: what is left cannot be checked"
)


@needs_proc
def test_every_step_runs_against_the_sandbox(tmp_path: Path) -> None:
    page = tmp_path / "RESULTS.md"
    ran = bench([*TINY, "--server", "sandbox", "--markdown", str(page)])
    assert ran.returncode == 0, ran.stderr
    for step in VERDICTS:
        assert re.search(rf"^{step}: ", ran.stdout, re.MULTILINE), step
    verdicts = ran.stdout.split("\nverdicts\n", 1)[1].splitlines()
    assert all(VERDICT_LINE.fullmatch(line) for line in verdicts), verdicts
    assert len(verdicts) == sum(VERDICTS.values())
    assert "SKIP  validate wall time at 300 rows: " in ran.stdout  # the target is for 1M
    assert "bench: halfway 1/1: broadcaster resume --limit 1 (stopped halfway" in ran.stderr
    assert "bench: walk 1/1: broadcaster resume (nothing left to send; its journal walked)" in (
        ran.stderr
    )
    assert "bench: memory: sending 300 rows unpaced to the sandbox…" in ran.stderr
    # 0.5 s of messages at 480/m is 4, from the engine and then from the bare loop.
    assert "bench: pacing: posting the same 4 bodies at 480/m from a bare loop…" in ran.stderr
    assert re.search(r"^  480/m bare aiohttp +4 ", ran.stdout, re.MULTILINE)
    cpu = next(line for line in verdicts if "  pacing 480/m steady CPU: " in line)
    assert "target <= 0.50% of a core; bare aiohttp paced alike: " in cpu
    text = page.read_text()
    assert text.startswith("# Benchmark results\n")
    assert all(f"\n## {step}\n" in text for step in VERDICTS)
    assert "\n- command: `broadcaster bench --sizes 100,300 " in text
    assert "\n| 480/m bare aiohttp | 4 | - |" in text


@needs_proc
@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (make bench installs it)")
def test_nginx_serves_and_json_says_the_same() -> None:
    steps = ["throughput", "memory", "resume"]
    argv = [*TINY, "--sizes", "100", "--server", "nginx", "--steps", ",".join(steps)]
    ran = bench([*argv, "--json"])
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert list(data["steps"]) == steps
    assert data["server"].startswith("nginx ")
    assert set(data["versions"]) == {"python", "broadcaster", "aiohttp", "nginx"}
    assert set(data["machine"]) == {"cpu", "cores", "os"}
    assert data["steps"]["throughput"]["send"]["requests_per_second"] > 0
    assert len(data["verdicts"]) == 1 + 1 + 2  # throughput, memory at one size, resume
    assert "bench: starting nginx" in ran.stderr


@needs_proc
def test_json_without_a_server_has_the_report_keys() -> None:
    ran = bench(["--steps", "validate", "--sizes", "50", "--repeat", "1", "--json"])
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert set(data) == {
        "bench_version", "date", "machine", "versions", "event_loop", "server", "command",
        "options", "steps", "verdicts",
    }  # fmt: skip
    assert data["steps"]["validate"]["rows"] == 50
    assert data["options"]["steps"] == ["validate"]
    assert [verdict["status"] for verdict in data["verdicts"]] == ["SKIP", "SKIP"]
    assert "starting" not in ran.stderr  # validate needs no server: none was started


@needs_proc
def test_json_has_the_bare_loop_beside_the_engine_at_480_per_minute() -> None:
    ran = bench(["--steps", "pacing", "--pacing-seconds", "0.5", "--server", "sandbox", "--json"])
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    figures = data["steps"]["pacing"]
    assert set(figures["480/m"]["bare"]) == {
        "requests", "wall_seconds", "cpu_seconds", "peak_rss_mb", "cpu_seconds_per_1000",
        "steady_cpu_percent",
    }  # fmt: skip
    assert figures["480/m"]["bare"]["requests"] == figures["480/m"]["requests"] == 4
    assert "steady_cpu_vs_bare" in figures["480/m"]
    assert not {"bare", "steady_cpu_vs_bare"} & (set(figures["100/s"]) | set(figures["1000/s"]))
    besides = {verdict["subject"]: verdict["beside"] for verdict in data["verdicts"]}
    assert besides["pacing 480/m steady CPU"].startswith("bare aiohttp paced alike: ")
    assert {subject for subject, beside in besides.items() if beside} == {"pacing 480/m steady CPU"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    """The user's "staging endpoint": a sandbox that takes only the key ``staging-key``."""
    server = subprocess.Popen(
        [sys.executable, "-m", "broadcaster", "sandbox", "--port", "0", "--rate-limit", "0",
         "--api-key", "staging-key"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert server.stdout is not None
    try:
        yield server.stdout.readline().split(" on ", 1)[1].split()[0]
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def committed(sandbox: str) -> int:
    """The messages the sandbox has committed so far."""
    with urllib.request.urlopen(sandbox + "/_sandbox/stats", timeout=10) as answer:  # noqa: S310
        count: int = json.load(answer)["committed"]
        return count


class TestBaseUrl:
    def test_every_request_goes_to_the_url_given(
        self, sandbox: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The sandbox counts them: 50 from the engine and 50 from the bare loop."""
        monkeypatch.setenv("HEYMARKET_API_KEY", "staging-key")
        argv = ["bench", "--base-url", sandbox, "--inbox-id", "101", "--creator-id", "55"]
        before = committed(sandbox)
        assert main([*argv, "--steps", "throughput", "--rows", "50", "--repeat", "1"]) == 0
        out = capsys.readouterr().out
        assert f"against the endpoint {sandbox}\n" in out
        assert "staging-key" not in out
        assert committed(sandbox) - before == 100

    def test_credentials_it_refuses_are_an_error_naming_the_command(
        self, sandbox: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "wrong-secret")
        argv = ["bench", "--base-url", sandbox, "--inbox-id", "101", "--creator-id", "55"]
        assert main([*argv, "--steps", "throughput", "--rows", "5", "--repeat", "1"]) == 2
        err = capsys.readouterr().err
        assert re.search(r"error: python -m broadcaster send \S+ .* exited 2; its stderr", err)
        assert "Traceback" not in err
        assert "wrong-secret" not in err

    def test_an_unreachable_url_is_one_line(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")
        url = f"http://127.0.0.1:{free_port()}"
        assert main(["bench", "--base-url", url, "--inbox-id", "1", "--creator-id", "2"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: cannot reach {url} (127.0.0.1:")
        assert "Connection refused" in err
        assert len(err.splitlines()) == 1

    @pytest.mark.parametrize(
        ("url", "said"),
        [
            ("ftp://example.com", "expected an http(s) URL"),
            ("http://example.com/v1", "takes a scheme, a host and a port only"),
            ("http://me:hunter2@example.com", "must not carry a user name or password"),
        ],
    )
    def test_a_bad_url_is_refused_before_anything_runs(
        self,
        url: str,
        said: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")
        assert main(["bench", "--base-url", url, "--inbox-id", "1", "--creator-id", "2"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ")
        assert said in err
        assert "hunter2" not in err

    def test_the_ids_of_the_users_account_are_needed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["bench", "--base-url", "http://127.0.0.1:9"]) == 2
        assert "--base-url needs --inbox-id and --creator-id" in capsys.readouterr().err

    def test_credentials_are_needed(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        for name in ("HEYMARKET_API_KEY", "HEYMARKET_SECRET_ID", "HEYMARKET_SECRET_KEY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("HEYMARKET_API_SECRET_ID", raising=False)
        monkeypatch.delenv("HEYMARKET_API_SECRET_KEY", raising=False)
        argv = ["bench", "--base-url", "http://127.0.0.1:9", "--inbox-id", "1", "--creator-id", "2"]
        assert main(argv) == 2
        assert "HEYMARKET_API_KEY" in capsys.readouterr().err


def test_nginx_asked_for_and_missing_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("broadcaster.bench.runner.find_nginx", lambda _: None)
    assert main(["bench", "--server", "nginx", "--steps", "help"]) == 2
    assert "error: --server nginx: nginx is not installed" in capsys.readouterr().err


def test_server_and_base_url_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--server", "nginx", "--base-url", "http://127.0.0.1:9"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_page_that_cannot_be_written_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--steps", "help", "--markdown", str(tmp_path / "no" / "R.md")]) == 2
    assert "error: --markdown" in capsys.readouterr().err


def test_nginx_is_found_in_sbin_off_path() -> None:
    """An ordinary user's PATH often leaves /usr/sbin out, where Debian puts nginx."""
    installed = shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/sbin")
    assert find_nginx(path="") == installed
