"""Real processes killed and signalled mid-campaign, then resumed; the sandbox counts commits.

The sandbox runs in the test's event loop; its ``on_commit`` hook sends the signal at an exact
commit count, so nothing here sleeps or polls.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpServer
from test_send import fast, sandbox

from broadcaster import campaign as campaign_module
from broadcaster import finished as finished_module
from broadcaster.campaign import send_campaign
from broadcaster.cli import main_parser
from broadcaster.options import settings_from
from broadcaster.rate import Rate
from broadcaster.sandbox import STATE, SandboxConfig, SandboxState, create_app
from broadcaster.tally import Tally

ROWS = 400


class Trigger:
    """Sends ``signum`` to the current client process when commits reach ``at``."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.at: int | None = None
        self.signum = signal.SIGKILL

    def __call__(self, committed: int) -> None:
        if self.pid is not None and self.at is not None and committed >= self.at:
            os.kill(self.pid, self.signum)
            self.at = None


async def start(aiohttp_server: AiohttpServer, trigger: Trigger) -> tuple[str, SandboxState]:
    config = SandboxConfig(
        rate_limit=Rate(100_000, 60), on_commit=trigger, faults={"503": 0.03, "drop_after": 0.02}
    )
    app = create_app(config)
    server = await aiohttp_server(app)
    return str(server.make_url("")), app[STATE]


def campaign(tmp_path: Path) -> str:
    path = tmp_path / "big.csv"
    body = "".join(f"1415{2_000_000 + n:07d},P{n}\n" for n in range(ROWS))
    path.write_text("phone_number,name\n" + body, encoding="utf-8")
    return str(path)


async def run(trigger: Trigger, *argv: str, key: str = "k") -> tuple[int, str, str]:
    env = {**os.environ, "HEYMARKET_API_KEY": key}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "broadcaster", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    trigger.pid = process.pid
    out, err = await process.communicate()
    trigger.pid = None
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def send_args(path: str, url: str) -> list[str]:
    return [
        "send", path, "--base-url", url, "--rate", "0", "--concurrency", "8",
        "--inbox-id", "101", "--creator-id", "55", "--text", "Hi {{name}}",
        "--backoff-base", "0.005", "--backoff-cap", "0.02", "--grace", "20", "--timeout", "2",
    ]  # fmt: skip


def journal(path: str) -> list[dict[str, Any]]:
    return [
        record
        for line in Path(path + ".results.jsonl").read_bytes().splitlines()
        if line.strip()
        for record in [_load(line)]
        if record is not None
    ]


def _load(line: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # a line torn by a kill
    return value if isinstance(value, dict) else None


def assert_exactly_once(path: str, state: SandboxState) -> None:
    outcomes = [r for r in journal(path) if "status" in r]
    sent = Counter(r["key"] for r in outcomes if r["status"] == "sent")
    assert len(sent) == ROWS
    assert set(sent.values()) == {1}, "a key was recorded sent twice"
    assert {r["status"] for r in outcomes} == {"sent"}
    assert (state.committed, state.conflicts) == (ROWS, 0)
    assert set(state.messages) == set(sent)


async def test_killed_three_times_then_resumed(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    trigger = Trigger()
    url, state = await start(aiohttp_server, trigger)
    path = campaign(tmp_path)
    for kill_at in (60, 170, 290):
        trigger.at = kill_at
        code, _, err = await run(trigger, *send_args(path, url))
        assert code == -signal.SIGKILL
        assert "Traceback" not in err
    code, _, err = await run(trigger, *send_args(path, url))
    assert code == 0, err
    assert "resuming" in err
    assert_exactly_once(path, state)
    headers = [r for r in journal(path) if r.get("type") == "run"]
    assert len(headers) == 4


async def test_sigint_sigterm_and_sighup_stop_cleanly_and_resume(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    trigger = Trigger()
    url, state = await start(aiohttp_server, trigger)
    path = campaign(tmp_path)
    # SIGHUP: the terminal closed (an SSH drop, tmux kill-session); it ended the run at once,
    # 129 with no summary, its requests in flight then looked up at the resume.
    for signum, expected in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)):
        trigger.signum, trigger.at = signum, state.committed + 80
        code, out, err = await run(trigger, *send_args(path, url))
        assert code == expected, err
        assert "Traceback" not in err
        assert f"stopped   by {signum.name}" in out
        assert f"broadcaster resume {path}.results.jsonl" in out
        recorded = [r for r in journal(path) if r.get("status") == "sent"]
        assert state.committed - len(recorded) <= 8  # at most the requests in flight
    code, out, err = await run(trigger, "resume", f"{path}.results.jsonl")
    assert code == 0, err
    assert_exactly_once(path, state)


def campaign_with_duplicates(tmp_path: Path, seed: int) -> tuple[str, int]:
    """300 rows of 100 messages, each written three times at random places."""
    order = [n % 100 for n in range(300)]
    random.Random(seed).shuffle(order)
    path = tmp_path / "twins.csv"
    body = "".join(f"1415{2_000_000 + n:07d},P{n}\n" for n in order)
    path.write_text("phone_number,name\n" + body, encoding="utf-8")
    return str(path), 100


async def test_duplicates_never_lose_their_message_across_a_wrong_key_and_kills(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """A wrong key, then SIGKILLs at random commit counts: each message committed once, and
    every row ends with exactly one record."""
    trigger = Trigger()
    config = SandboxConfig(
        api_key="right", rate_limit=Rate(100_000, 60), on_commit=trigger,
        faults={"503": 0.03, "drop_after": 0.02},
    )  # fmt: skip
    app = create_app(config)
    server = await aiohttp_server(app)
    url, state = str(server.make_url("")), app[STATE]
    path, messages = campaign_with_duplicates(tmp_path, seed=7)
    code, _, err = await run(trigger, *send_args(path, url), key="wrong")
    assert code == 2, err
    assert state.committed == 0
    for kill_at in sorted(random.Random(11).sample(range(5, messages - 5), 3)):
        trigger.at = kill_at
        code, _, err = await run(trigger, *send_args(path, url), key="right")
        assert code == -signal.SIGKILL, err
    code, out, err = await run(trigger, *send_args(path, url), key="right")
    assert code == 0, err
    assert (state.committed, state.conflicts) == (messages, 0)
    outcomes = [r for r in journal(path) if "status" in r]
    assert sorted(r["row"] for r in outcomes) == list(range(2, 302))
    assert Counter(r["status"] for r in outcomes) == {"sent": messages, "skipped": 200}
    assert "left" not in out


async def test_requests_in_flight_at_a_kill_are_looked_up_not_sent_again(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """An API that does not de-duplicate single sends by local_id (it promises that only for
    list broadcasts): the message committed as the client died, and any other in flight, is
    found in its conversation by the resumed run, not sent a second time."""
    trigger = Trigger()
    config = SandboxConfig(rate_limit=Rate(100_000, 60), on_commit=trigger, dedupe="lists")
    app = create_app(config)
    server = await aiohttp_server(app)
    url, state = str(server.make_url("")), app[STATE]
    path = campaign(tmp_path)
    trigger.at = 150
    code, _, err = await run(trigger, *send_args(path, url))
    assert code == -signal.SIGKILL
    records = journal(path)
    ended = {r["key"] for r in records if "status" in r}
    in_doubt = {r["key"] for r in records if r.get("type") == "attempt"} - ended
    assert in_doubt  # the kill came with the 150th commit's answer still on its way
    code, out, err = await run(trigger, *send_args(path, url))
    assert code == 0, err
    assert (state.committed, state.resent) == (ROWS, 0)
    outcomes = [r for r in journal(path) if "status" in r]
    found = {r["key"] for r in outcomes if r.get("found_in_history")}
    assert found
    assert found <= in_doubt
    assert f"{len(found):,} committed (recorded sent, not sent again)" in out
    assert Counter(r["status"] for r in outcomes) == {"sent": ROWS}


@pytest.mark.parametrize(
    ("batch", "ran", "advice"),
    [
        (
            ["--limit", "500"],
            Tally(sent=160, failed=1),
            " --limit 339 (what this run's --limit 500",
        ),
        (["--sample", "40"], Tally(sent=20, invalid=3, duplicates=5), " --sample 17 (what this"),
        (["--limit", "5"], Tally(sent=5), " (this run's --limit 5 is used up; it sends every row"),
        ([], Tally(sent=5), ""),
        (
            ["--limit", "100", "--sample", "300"],
            Tally(sent=100),
            " (this run's --limit 100 --sample 300 is used up",
        ),
    ],
)
def test_a_stopped_batch_resumes_with_what_it_left_of_itself(
    batch: list[str], ran: Tally, advice: str
) -> None:
    """A trial's Ctrl-C of a --limit 500 test batch after 161 messages advised --limit 500
    again, and following it sent 661 in all. A twin takes no turn of a sample."""
    args = main_parser().parse_args(["send", "in.csv", "--results", "j.jsonl", *batch])
    command = campaign_module._resume(settings_from(args, {}), ran=ran)
    prefix = "          broadcaster resume j.jsonl"
    assert command.startswith(prefix)
    assert command.removeprefix(prefix).startswith(advice)
    assert (command == prefix) == (not advice)


@pytest.mark.parametrize(
    ("batch", "advice"),
    [
        ([], ""),
        (
            ["--sample", "2"],
            " --sample 2 (what this run's --sample 2 left; without it, every row left)",
        ),
        (
            ["--limit", "5"],
            " --limit 5 (what this run's --limit 5 left; without it, every row left)",
        ),
    ],
)
async def test_a_signal_before_the_run_sends_stops_it_with_its_summary(
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batch: list[str],
    advice: str,
) -> None:
    """Ctrl-C while a large journal is read (seconds, before the engine exists): the event
    loop's own handling cancelled the run, which ended 130 with no summary. Now the signal
    waits for the engine, which stops before sending anything, and says so."""
    server, state = await sandbox(aiohttp_server)
    path = campaign(tmp_path)
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _: received.append(signum))
    opened = campaign_module._recorder

    def recorder(*args: Any) -> Any:
        journal = opened(*args)
        os.kill(os.getpid(), signal.SIGTERM)  # while the journal is read
        return journal

    monkeypatch.setattr(campaign_module, "_recorder", recorder)
    args = main_parser().parse_args(["send", path, *fast(server), *batch])
    env = {"HEYMARKET_API_KEY": "k"}
    out = io.StringIO()
    try:
        code = await send_campaign(settings_from(args, env), env, out, handle_signals=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == []  # the run's handler had it, not the fallback
    assert (code, state.requests) == (143, 0)
    assert "stopped   by SIGTERM" in out.getvalue()
    # A test batch cut short goes on as one: a plain resume sends every row left.
    assert f"broadcaster resume {path}.results.jsonl{advice}\n" in out.getvalue()


class Stoppable:
    """As much of an engine as a stop reaches."""

    def __init__(self) -> None:
        self.stopped_by: str | None = None
        self.stops: list[str] = []

    def stop(self, reason: str) -> None:
        self.stops.append(reason)
        self.stopped_by = reason


async def test_a_signal_reaches_the_engine_once_each_time_it_comes() -> None:
    """Noted before the engine is made, it stops it as it is; then each one is handed to it
    once (uvloop had a noted one in its wakeup pipe too, and handed it on again)."""
    stopper = campaign_module._Stopper(enabled=False)
    stopper._received(signal.SIGINT, None)
    engine = Stoppable()
    stopper.attach(engine)  # type: ignore[arg-type]
    assert engine.stops == ["SIGINT"]
    stopper._received(signal.SIGINT, None)  # a second Ctrl-C, in the loop
    await asyncio.sleep(0)
    assert engine.stops == ["SIGINT", "SIGINT"]


def test_before_the_engine_a_second_signal_stops_now_and_after_it_one_is_let_pass() -> None:
    """A read that blocks (the confirmation's question, stdin) must not keep a Ctrl-C out;
    after the run, the summary is a moment away."""
    stopper = campaign_module._Stopper(enabled=False)
    stopper._received(signal.SIGINT, None)
    assert stopper.pending == "SIGINT"
    with pytest.raises(KeyboardInterrupt):
        stopper._received(signal.SIGINT, None)
    with pytest.raises(SystemExit) as ended:
        stopper._received(signal.SIGTERM, None)
    assert ended.value.code == 143
    after = campaign_module._Stopper(enabled=False)
    after.detach()
    after._received(signal.SIGINT, None)  # let pass
    with pytest.raises(KeyboardInterrupt):
        after._received(signal.SIGINT, None)


async def test_a_signal_while_a_finished_campaign_is_told_ends_it_unrecorded(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was noted, then the run wrote its header and read marker and exited 0."""
    server, _ = await sandbox(aiohttp_server)
    path = campaign(tmp_path)
    args = main_parser().parse_args(["send", path, *fast(server)])
    env = {"HEYMARKET_API_KEY": "k"}
    settings = settings_from(args, env)
    assert await send_campaign(settings, env, io.StringIO(), handle_signals=False) == 0
    before = Path(f"{path}.results.jsonl").read_bytes()
    told = finished_module.read_finished

    def read_finished(*args: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)  # while the journal is read
        return told(*args)

    monkeypatch.setattr(campaign_module, "read_finished", read_finished)
    code = await send_campaign(settings, env, io.StringIO(), handle_signals=True)
    assert code == 143
    assert Path(f"{path}.results.jsonl").read_bytes() == before


def test_a_run_started_under_nohup_keeps_ignoring_a_hangup() -> None:
    """``nohup broadcaster send … &`` then logging out: the campaign goes on (a review)."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with campaign_module._Stopper(enabled=True):
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with campaign_module._Stopper(enabled=True):
            assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_IGN, signal.SIG_DFL)
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_requests_a_stop_cut_off_are_said_to_be_in_doubt() -> None:
    """Past --grace, a stop cancels requests in flight: the summary said the journal was
    complete, and nothing of the requests whose answers never came (a trial: 16)."""
    args = main_parser().parse_args(["send", "in.csv", "--results", "j.jsonl", "--grace", "1"])
    settings = settings_from(args, {})
    assert campaign_module._cut_off_lines(settings, Tally()) == []
    said = (
        "cut off   16 requests in flight (past --grace 1s, or a second signal): in doubt; "
        "a resume looks each up first"
    )
    assert campaign_module._cut_off_lines(settings, Tally(cut_off=16)) == [said]
