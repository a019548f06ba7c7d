"""No secret leaves the process: a whole campaign, run as a user runs it, scanned byte by byte.

The sandbox runs as a process of its own, with faults, and takes an API key and a JWT pair, all
recognisable canaries (see ``secretscan``). Every command then runs as ``python -m broadcaster``
with the secrets in its environment and no terminal: sends with each kind of credentials, in
console and JSON logs, ``--verbose`` and ``--log-file``; wrong credentials of each kind (the
sandbox answers 401), then ``resume`` with the right ones; ``report`` in every form;
``inboxes``; ``validate``; every ``--help``; a base URL that carries a password; credentials
set wrongly. Everything they wrote (stdout, stderr, and every file under the runs' folder, which
is also their HOME and TMPDIR: journals, logs, reports) must hold no secret in any form, and the
runs must have done what they were asked, so the scan cannot pass on nothing.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from secretscan import MARKER, Scanner, canary

from broadcaster.commands import COMMANDS
from broadcaster.commands.inboxes import BASE_URL_VARIABLE
from broadcaster.credentials import API_KEY, API_SECRET_ID, API_SECRET_KEY, SECRET_ID, SECRET_KEY
from broadcaster.tokens import make_token

ROWS = 300  # valid rows of each full send; each file adds one invalid row
RESUMED_ROWS = 100  # of the sends refused with 401, then resumed
OPTED_OUT = "+14155550007"  # in every file: the sandbox refuses it (400), so each has a failure
TEXT = "Hi {{first_name}}, see you {{appointment}} at {{clinic}}."
FAULTS = ["--fault-503", "0.05", "--fault-500", "0.03", "--fault-429", "0.02"]
FAULTS += ["--fault-drop-before", "0.02", "--fault-drop-after", "0.02"]
FAULTS += ["--fault-bad-json", "0.02", "--fault-slow", "0.01", "--slow-delay", "1.5"]
RUN_SECONDS = 60
STARTUP_SECONDS = 20
WORKERS = 4


@dataclass(frozen=True, slots=True)
class Canaries:
    api_key: str
    secret_id: str
    secret_key: str
    wrong_api_key: str
    wrong_secret_id: str
    wrong_secret_key: str
    url_password: str

    @classmethod
    def new(cls) -> Canaries:
        return cls(
            canary("sk"),
            canary("sid"),
            canary("skey"),
            canary("sk-wrong"),
            canary("sid-wrong"),
            canary("skey-wrong"),
            canary("pw"),
        )

    def scanner(self, issued: range) -> Scanner:
        scanner = Scanner()
        scanner.add_secret("the API key", self.api_key)
        scanner.add_secret("the wrong API key", self.wrong_api_key)
        scanner.add_secret("the password in a base URL", self.url_password)
        scanner.add_jwt_pair("the JWT pair", self.secret_id, self.secret_key, issued)
        wrong_key, wrong_id = "the JWT pair with a wrong key", "the JWT pair with a wrong id"
        scanner.add_jwt_pair(wrong_key, self.secret_id, self.wrong_secret_key, issued)
        scanner.add_jwt_pair(wrong_id, self.wrong_secret_id, self.secret_key, issued)
        return scanner


@dataclass(frozen=True, slots=True)
class Ran:
    """One run of ``python -m broadcaster``: what it was and what it wrote."""

    name: str
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode()

    @property
    def err(self) -> str:
        return self.stderr.decode()

    def __str__(self) -> str:
        return f"{self.name}: exit {self.returncode}\n{self.out}\n{self.err}"


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]


class Sandbox:
    """``broadcaster sandbox`` as its own process; ``stop()`` ends it and keeps what it wrote."""

    def __init__(self, argv: Sequence[str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "broadcaster", "sandbox", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.output, self.errors = b"", b""
        self._stopped = False
        self.url = self._listening()

    def _listening(self) -> str:
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], STARTUP_SECONDS)
        self.output = self._process.stdout.readline() if ready else b""
        match = re.match(rb"sandbox listening on (http://127\.0\.0\.1:\d+) ", self.output)
        if match is None:
            self.stop()
            pytest.fail(f"the sandbox did not start: {self.output!r} {self.errors!r}")
        return match.group(1).decode()

    @property
    def port(self) -> int:
        return int(self.url.rpartition(":")[2])

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._process.send_signal(signal.SIGTERM)
        try:
            out, err = self._process.communicate(timeout=STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            out, err = self._process.communicate()
        self.output, self.errors = self.output + out, self.errors + err

    def stats(self) -> dict[str, Any]:
        """What the sandbox counted, as it printed on its way out."""
        stats: dict[str, Any] = json.loads(self.output.split(b"sandbox stopped: ", 1)[1])
        return stats


@dataclass
class Campaign:
    """Everything the runs did, for the tests to check."""

    folder: Path
    runs: dict[str, Ran]
    sandbox: Sandbox
    scanner: Scanner

    def text(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="utf-8")

    def records(self, journal: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text(journal).splitlines()]

    def artifacts(self) -> Iterator[tuple[str, bytes]]:
        for run in self.runs.values():
            yield f"{run.name}: stdout", run.stdout
            yield f"{run.name}: stderr", run.stderr
        yield "the sandbox: stdout", self.sandbox.output
        yield "the sandbox: stderr", self.sandbox.errors
        for path in sorted(self.folder.rglob("*")):
            if path.is_file():
                yield str(path.relative_to(self.folder)), path.read_bytes()


def write_campaign(path: Path, rows: int) -> None:
    """``rows`` valid US numbers (one of them opted out) and one too short to be a number."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["phone_number", "first_name", "appointment", "clinic"])
        for n in range(rows):
            writer.writerow([f"+1 415 555 {n:04d}", f"Name{n}", "Tue 10:00", "Mission St"])
        writer.writerow(["555-01", "Short", "Tue 11:00", "Mission St"])


def base_env(folder: Path) -> dict[str, str]:
    """The test's environment without any Heymarket setting; HOME and TMPDIR in ``folder``, so
    that any file a run writes there is scanned too."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("HEYMARKET")}
    home, tmp = folder / "home", folder / "tmp"
    home.mkdir()
    tmp.mkdir()
    env.update(HOME=str(home), TMPDIR=str(tmp), XDG_CACHE_HOME=str(home / ".cache"))
    env.update(XDG_CONFIG_HOME=str(home / ".config"), XDG_STATE_HOME=str(home / ".state"))
    return env


def run_all(runs: Sequence[Run], folder: Path) -> dict[str, Ran]:
    """Each run as a subprocess in ``folder``, a few at a time, without a terminal."""

    def one(run: Run) -> Ran:
        done = subprocess.run(
            [sys.executable, "-m", "broadcaster", *run.argv],
            cwd=folder,
            env=run.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=RUN_SECONDS,
            check=False,
        )
        return Ran(run.name, run.argv, done.returncode, done.stdout, done.stderr)

    assert len({run.name for run in runs}) == len(runs)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return {ran.name: ran for ran in pool.map(one, runs)}


class Runs:
    """The runs of the campaign, in three waves: each wave reads what the one before wrote."""

    def __init__(self, folder: Path, canaries: Canaries, sandbox: Sandbox) -> None:
        self.env = base_env(folder)
        self.keys = canaries
        self.url = sandbox.url
        self.port = sandbox.port
        # --fixed-rate: an unpaced run stays unpaced on the injected 429s (it would go at 480/m)
        self.options = ["--base-url", self.url, "--rate", "0", "--fixed-rate", "--inbox-id", "101"]
        self.options += ["--creator-id", "55", "--text", TEXT, "--progress-interval", "0.2"]
        self.options += ["--backoff-base", "0.01", "--backoff-cap", "0.05", "--timeout", "1"]

    def with_(self, **variables: str) -> dict[str, str]:
        return {**self.env, **variables}

    def everything(self) -> dict[str, str]:
        """Every credential variable set (the pair under both names), and a base URL with a
        password: for the commands that should read none of it."""
        pair = {SECRET_ID: self.keys.secret_id, SECRET_KEY: self.keys.secret_key}
        pair |= {API_SECRET_ID: self.keys.secret_id, API_SECRET_KEY: self.keys.secret_key}
        return self.with_(**pair, **{API_KEY: self.keys.api_key}, **self.password_url_env())

    def password_url(self) -> str:
        return f"http://user:{self.keys.url_password}@127.0.0.1:{self.port}"

    def password_url_env(self) -> dict[str, str]:
        return {BASE_URL_VARIABLE: self.password_url()}

    def send(self, name: str, csv_name: str, env: Mapping[str, str], *extra: str) -> Run:
        return Run(name, ("send", csv_name, *self.options, *extra), env)

    def first(self) -> list[Run]:
        return [*self.sends(), *self.inboxes(), *self.refusals(), *self.helps(), self.validate()]

    def sends(self) -> list[Run]:
        keys, verbose = self.keys, ("--verbose", "--log-file")
        jwt = {SECRET_ID: keys.secret_id, SECRET_KEY: keys.secret_key}
        wrong_key = {API_SECRET_ID: keys.secret_id, API_SECRET_KEY: keys.wrong_secret_key}
        wrong_id = {SECRET_ID: keys.wrong_secret_id, SECRET_KEY: keys.secret_key}
        return [
            self.send("send, API key", "a.csv", self.with_(**{API_KEY: keys.api_key}), *verbose,
                      "a.log"),
            self.send("send, JWT pair, JSON logs", "b.csv", self.with_(**jwt), *verbose, "b.log",
                      "--log-format", "json"),
            self.send("send, wrong API key", "c.csv", self.with_(**{API_KEY: keys.wrong_api_key}),
                      *verbose, "c.log", "--log-format", "json"),
            self.send("send, wrong JWT key", "d.csv", self.with_(**wrong_key), *verbose, "d.log"),
            self.send("send, wrong JWT id over a right API key", "e.csv",
                      self.with_(**wrong_id, **{API_KEY: keys.api_key}), "--log-format", "json"),
        ]  # fmt: skip

    def inboxes(self) -> list[Run]:
        keys, url = self.keys, ("inboxes", "--base-url", self.url)
        jwt = {SECRET_ID: keys.secret_id, API_SECRET_KEY: keys.secret_key}
        wrong_key = {SECRET_ID: keys.secret_id, SECRET_KEY: keys.wrong_secret_key}
        return [
            Run("inboxes, API key", url, self.with_(**{API_KEY: keys.api_key})),
            Run("inboxes, JWT pair, JSON", (*url, "--json"), self.with_(**jwt)),
            Run("inboxes, wrong API key", url, self.with_(**{API_KEY: keys.wrong_api_key})),
            Run("inboxes, wrong JWT key", url, self.with_(**wrong_key)),
        ]

    def refusals(self) -> list[Run]:
        """Runs refused before anything is sent: a base URL with a password, and credentials
        set wrongly. Each would have a reason to quote a secret."""
        keys, url = self.keys, ("--base-url", self.password_url())
        return [
            Run("send, password in --base-url", ("send", "u.csv", *self.options, *url),
                self.everything()),
            Run("inboxes, password in --base-url", ("inboxes", *url), self.everything()),
            Run("send, password in HEYMARKET_BASE_URL",
                ("send", "u.csv", "--inbox-id", "101", "--creator-id", "55", "--text", TEXT),
                self.everything()),
            Run("inboxes, password in HEYMARKET_BASE_URL", ("inboxes",), self.everything()),
            self.send("send, half a JWT pair", "u.csv",
                      self.with_(**{SECRET_KEY: keys.secret_key, API_KEY: keys.api_key})),
            self.send("send, two secret ids", "u.csv",
                      self.with_(**{SECRET_ID: keys.secret_id, API_SECRET_ID: keys.wrong_secret_id,
                                    SECRET_KEY: keys.secret_key})),
            self.send("send, a control character in the API key", "u.csv",
                      self.with_(**{API_KEY: f"{keys.api_key}\x01{keys.api_key}"})),
        ]  # fmt: skip

    def helps(self) -> list[Run]:
        commands = [(), *((command,) for command in COMMANDS)]
        return [
            Run(f"help {' '.join(command)}".strip(), (*command, "--help"), self.everything())
            for command in commands
        ]

    def validate(self) -> Run:
        argv = ("validate", "v.csv", "--inbox-id", "101", "--creator-id", "55", "--text", TEXT)
        return Run("validate", argv, self.everything())

    def second(self) -> list[Run]:
        keys = self.keys
        jwt = {API_SECRET_ID: keys.secret_id, SECRET_KEY: keys.secret_key}
        return [
            Run("resume after the wrong API key",
                ("resume", "c.csv.results.jsonl", "--verbose", "--log-format", "json",
                 "--log-file", "c.log"), self.with_(**jwt)),
            Run("resume after the wrong JWT key",
                ("resume", "d.csv.results.jsonl", "--verbose", "--log-file", "d.log"),
                self.with_(**{API_KEY: keys.api_key})),
            self.send("send again, finished", "a.csv", self.with_(**{API_KEY: keys.api_key}),
                      "--verbose"),
        ]  # fmt: skip

    def third(self) -> list[Run]:
        journals = [f"{name}.csv.results.jsonl" for name in "abcd"]
        every = self.everything()
        return [
            Run("report", ("report", journals[0]), every),
            Run("report, JSON", ("report", journals[1], "--format", "json"), every),
            Run("report, HTML and failed CSV",
                ("report", journals[2], "--html", "c.html", "--failed-csv", "c-fix.csv"), every),
            Run("report, four journals", ("report", *journals), every),
        ]  # fmt: skip


@pytest.fixture(scope="module")
def canaries() -> Canaries:
    return Canaries.new()


@pytest.fixture(scope="module")
def sandbox(canaries: Canaries) -> Iterator[Sandbox]:
    server = Sandbox(
        [
            "--host", "127.0.0.1", "--port", "0", "--rate-limit", "0", "--seed", "10",
            "--api-key", canaries.api_key,
            "--secret-id", canaries.secret_id, "--secret-key", canaries.secret_key,
            "--opt-out", OPTED_OUT, *FAULTS,
        ]
    )  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def campaign(
    tmp_path_factory: pytest.TempPathFactory, canaries: Canaries, sandbox: Sandbox
) -> Campaign:
    folder = tmp_path_factory.mktemp("campaign")
    for name, rows in (("a", ROWS), ("b", ROWS), ("c", RESUMED_ROWS), ("d", RESUMED_ROWS)):
        write_campaign(folder / f"{name}.csv", rows)
    for name in ("e", "u", "v"):
        write_campaign(folder / f"{name}.csv", 20)
    runs = Runs(folder, canaries, sandbox)
    started = int(time.time()) - 2
    ran: dict[str, Ran] = {}
    for wave in (runs.first, runs.second, runs.third):
        ran |= run_all(wave(), folder)
    sandbox.stop()
    issued = range(started, int(time.time()) + 2)
    return Campaign(folder, ran, sandbox, canaries.scanner(issued))


def attempts(log: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in log.splitlines()]
    return [event for event in events if event["event"] == "attempt"]


def sent_keys(records: list[dict[str, Any]]) -> set[str]:
    return {record["key"] for record in records if record.get("status") == "sent"}


class TestTheRunsDidTheirWork:
    """So that a clean scan means something: each run did what it was there to do."""

    def test_faulty_sends_with_each_kind_of_credentials_got_every_message_through(
        self, campaign: Campaign
    ) -> None:
        summary = f"rows      {ROWS + 1}: {ROWS - 1} sent, 1 failed, 1 invalid"
        for name in ("send, API key", "send, JWT pair, JSON logs"):
            ran = campaign.runs[name]
            assert ran.returncode == 1, ran
            assert ran.out.startswith(summary), ran
        for journal in ("a.csv.results.jsonl", "b.csv.results.jsonl"):
            assert len(sent_keys(campaign.records(journal))) == ROWS - 1

    def test_the_faults_and_the_verbose_logs_happened(self, campaign: Campaign) -> None:
        for log in ("a.log", "b.log"):
            verdicts = {event["verdict"] for event in attempts(campaign.text(log))}
            assert verdicts == {"sent", "retry", "failed"}, log
        assert " attempt " in campaign.runs["send, API key"].err  # console
        json_err = campaign.runs["send, JWT pair, JSON logs"].err.splitlines()
        assert {json.loads(line)["event"] for line in json_err} >= {"attempt", "finished"}
        faults = campaign.sandbox.stats()["faults"]
        assert set(faults) == {"500", "503", "429", "drop_before", "drop_after", "bad_json", "slow"}

    @pytest.mark.parametrize(
        ("name", "variables"),
        [
            ("send, wrong API key", "HEYMARKET_API_KEY."),
            ("send, wrong JWT key", "HEYMARKET_API_SECRET_ID and HEYMARKET_API_SECRET_KEY."),
            (
                "send, wrong JWT id over a right API key",
                (
                    "HEYMARKET_SECRET_ID and HEYMARKET_SECRET_KEY (used instead of "
                    "HEYMARKET_API_KEY, which is set too)."
                ),
            ),
        ],
    )
    def test_wrong_credentials_stop_the_run_on_the_401(
        self, campaign: Campaign, name: str, variables: str
    ) -> None:
        ran = campaign.runs[name]
        assert ran.returncode == 2, ran
        assert (
            "error: the API refused the credentials (HTTP 401 unauthorized: invalid or expired "
            f"token): check {variables}"
        ) in ran.err

    def test_the_401_was_logged_and_resume_with_the_right_credentials_sent_the_rest(
        self, campaign: Campaign
    ) -> None:
        for name in ("c", "d"):
            verdicts = [event["verdict"] for event in attempts(campaign.text(f"{name}.log"))]
            assert "unauthorized" in verdicts
            assert len(sent_keys(campaign.records(f"{name}.csv.results.jsonl"))) == RESUMED_ROWS - 1
        for name in ("resume after the wrong API key", "resume after the wrong JWT key"):
            assert campaign.runs[name].returncode == 1, campaign.runs[name]
        assert campaign.runs["send again, finished"].returncode == 1
        stats = campaign.sandbox.stats()
        assert stats["committed"] == 2 * (ROWS - 1) + 2 * (RESUMED_ROWS - 1)
        assert stats["unauthorized"] >= 5  # three sends, two inbox lists

    def test_inboxes_listed_with_each_kind_and_refused_wrong_ones(self, campaign: Campaign) -> None:
        assert "Support" in campaign.runs["inboxes, API key"].out
        listed = json.loads(campaign.runs["inboxes, JWT pair, JSON"].out)
        assert [inbox["id"] for inbox in listed] == [101, 102]
        for name in ("inboxes, wrong API key", "inboxes, wrong JWT key"):
            ran = campaign.runs[name]
            assert ran.returncode == 2, ran
            assert ran.err.startswith("error: the API refused the credentials (HTTP 401"), ran

    @pytest.mark.parametrize(
        ("name", "said"),
        [
            ("send, password in --base-url", "must not carry a user name or password"),
            ("inboxes, password in --base-url", "must not carry a user name or password"),
            ("send, password in HEYMARKET_BASE_URL", "must not carry a user name or password"),
            ("inboxes, password in HEYMARKET_BASE_URL", "must not carry a user name or password"),
            ("send, half a JWT pair", "HEYMARKET_SECRET_ID is not set"),
            ("send, two secret ids", "are both set, to different values"),
            ("send, a control character in the API key", "holds a control character"),
        ],
    )
    def test_refusals_say_why_in_one_line(self, campaign: Campaign, name: str, said: str) -> None:
        ran = campaign.runs[name]
        assert ran.returncode == 2, ran
        assert ran.err.startswith("error: "), ran
        assert said in ran.err
        assert len(ran.err.splitlines()) == 1

    def test_reports_validate_and_help_ran(self, campaign: Campaign) -> None:
        assert campaign.runs["report"].out.startswith("report    a.csv.results.jsonl")
        report = json.loads(campaign.runs["report, JSON"].out)
        assert report["rows"]["sent"] == ROWS - 1
        assert campaign.runs["report, HTML and failed CSV"].returncode == 1
        assert campaign.text("c.html").lower().startswith("<!doctype html>")
        assert len(campaign.text("c-fix.csv").splitlines()) == 3  # the header, two to fix
        assert (
            f"rows      {2 * ROWS + 2 * RESUMED_ROWS + 4}: "
            in campaign.runs["report, four journals"].out
        )
        assert campaign.runs["validate"].returncode == 1  # the short number
        helps = [ran for name, ran in campaign.runs.items() if name.startswith("help")]
        assert len(helps) == len(COMMANDS) + 1
        assert all(ran.returncode == 0 and ran.out.startswith("usage: ") for ran in helps)


def test_no_secret_in_anything_the_runs_wrote(campaign: Campaign) -> None:
    artifacts = list(campaign.artifacts())
    written = {where for where, _ in artifacts}
    assert {"a.log", "b.log", "c.log", "c.html", "c-fix.csv", "a.csv.results.jsonl"} <= written
    assert sum(len(data) for _, data in artifacts) > 500_000  # a campaign's worth, not nothing
    leaks = campaign.scanner.scan_all(artifacts)
    assert leaks == [], "\n".join(map(str, leaks))


class TestTheScanner:
    """The scan finds a secret in each form it looks for: a clean scan is not a blind one."""

    @pytest.mark.parametrize(
        "written",
        [
            b"key=%(key)s",
            b"KEY=%(upper)s",
            b"the key %(tail)s, cut",
            b'{"auth": "%(b64)s"}',
            b"Authorization: Bearer xyz",
            b"token %(token)s",
            b"signed with %(id)s||%(key)s",
            b"MARKER %(marker)s",
        ],
    )
    def test_finds_a_secret_written(self, written: bytes) -> None:
        secret_id, key = canary("sid"), canary("skey")
        scanner = Scanner()
        now = int(time.time())
        scanner.add_jwt_pair("pair", secret_id, key, range(now, now + 1))
        values = {
            b"key": key.encode(),
            b"upper": key.upper().encode(),
            b"tail": key.rpartition("-")[2].encode(),
            b"b64": base64.b64encode(b"x:" + key.encode()),
            b"token": make_token(secret_id, key, now).encode(),
            b"id": secret_id.encode(),
            b"marker": MARKER.encode(),
        }
        assert scanner.scan("here", written % values) != []

    def test_finds_nothing_in_ordinary_output(self) -> None:
        scanner = Scanner()
        scanner.add_secret("key", canary("sk"))
        said = b"error: the API refused the credentials: check HEYMARKET_API_KEY; a bearer token"
        assert scanner.scan("here", said) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://user:{password}@api.example.com",
        "http://127.0.0.1:8080/?api_key={password}",
        "http://user:{password}@127.0.0.1:80800",  # a port mistyped
        "http://user:{password}@127.0.0.1:8o80",
        "ftp://api.example.com/?api_key={password}",
    ],
)
def test_a_base_url_with_a_secret_is_refused_without_saying_it(
    tmp_path: Path, canaries: Canaries, url: str
) -> None:
    """Through ``--base-url`` to ``send``, and ``HEYMARKET_BASE_URL`` to ``inboxes``."""
    write_campaign(tmp_path / "u.csv", 5)
    given = url.format(password=canaries.url_password)
    env = {**base_env(tmp_path), API_KEY: canaries.api_key}
    argv = ("send", "u.csv", "--inbox-id", "101", "--creator-id", "55", "--text", TEXT)
    ran = run_all(
        [
            Run("send", (*argv, "--base-url", given), env),
            Run("inboxes", ("inboxes",), {**env, BASE_URL_VARIABLE: given}),
        ],
        tmp_path,
    )
    for each in ran.values():
        assert each.returncode == 2, each
        assert each.err.startswith("error: the base URL (--base-url or HEYMARKET_BASE_URL) ")
    scanner = Scanner()
    scanner.add_secret("the password in a base URL", canaries.url_password)
    scanner.add_secret("the API key", canaries.api_key)
    artifacts = [(f"{name}: {which}", data) for name, each in ran.items()
                 for which, data in (("stdout", each.stdout), ("stderr", each.stderr))]  # fmt: skip
    leaks = scanner.scan_all(artifacts)
    assert leaks == [], "\n".join(map(str, leaks))
