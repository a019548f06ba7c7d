"""``reconcile``: the rows a journal has in doubt, looked up in the sandbox's history."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpServer
from test_send import send

from broadcaster.cli import main
from broadcaster.credentials import ApiKey
from broadcaster.journal import Journal
from broadcaster.rate import Rate
from broadcaster.reconcile import Reconciled, reconcile, reconcile_journal, write_summary
from broadcaster.report import build_report, read_figures
from broadcaster.sandbox import STATE, SandboxConfig, create_app
from broadcaster.settings import Settings

IDS = ["--inbox-id", "101", "--creator-id", "55"]
ROWS = ["+14155550102", "+14155550103", "+14155550104", "+14155550105", "+14155550106"]


def write_campaign(path: Path, numbers: list[str]) -> str:
    path.write_text("phone_number,name\n" + "".join(f"{n},P{n[-2:]}\n" for n in numbers))
    return str(path)


async def sandbox_url(aiohttp_server: AiohttpServer) -> tuple[str, Any]:
    app = create_app(SandboxConfig(rate_limit=Rate(100_000, 60), dedupe="lists"))
    server = await aiohttp_server(app)
    return str(server.make_url("")), app[STATE]


def options(url: str) -> list[str]:
    return ["--base-url", url, "--rate", "0", "--inbox-id", "101", "--creator-id", "55",
            "--text", "Hi {{name}}", "--campaign", "spring", "--quiet"]  # fmt: skip


def lines(path: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines()]


async def reconciled(
    path: Path, records: list[dict[str, Any]], api: str, said: list[str] | None = None
) -> Reconciled:
    """Reconcile a journal of these ``records`` (the first a run header) against ``api``."""
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    recorded = Settings.from_record(records[0]["settings"])
    settings = dataclasses.replace(recorded, base_url=api, results=str(path))
    journal = Journal.open(str(path))
    say = (lambda _: None) if said is None else said.append
    try:
        return await reconcile(settings, journal, ApiKey("k"), say=say)
    finally:
        journal.close()


async def test_found_rows_are_recorded_sent_and_the_rest_said(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """Rows 2 and 3 were in flight at a crash, 4 and 5 failed in doubt; the API committed
    2 and 4 only. Reconcile records 2 and 4 sent with the API's ids, records 5 not committed
    (so --retry-failed sends it), marks 3 not committed (a resume sends it), and sends
    nothing."""
    first, _ = await sandbox_url(aiohttp_server)
    path = write_campaign(tmp_path / "spring.csv", ROWS)
    assert (await send([path, *options(first)]))[0] == 0
    ran = lines(path + ".results.jsonl")
    key = {r["row"]: r["key"] for r in ran if "status" in r}
    # The API that committed only rows 2 and 4 (same campaign, same messages, same keys).
    api, state = await sandbox_url(aiohttp_server)
    some = write_campaign(tmp_path / "some.csv", [ROWS[0], ROWS[2]])
    assert (await send([some, *options(api), "--results", str(tmp_path / "some.jsonl")]))[0] == 0
    committed = {m.body["local_id"]: m.id for m in state.messages.values()}
    assert set(committed) == {key[2], key[4]}
    # The journal of a run that crashed: a header, two attempts in flight, two in doubt.
    doubt = {"error": "gave up after 8 attempts; last: HTTP 503", "in_doubt": True, "attempts": 8}
    journal_path = tmp_path / "crashed.jsonl"
    records = [
        ran[0],
        {"type": "attempt", "key": key[2]},
        {"type": "attempt", "key": key[3]},
        {"status": "failed", "key": key[4], "row": 4, **doubt},
        {"status": "failed", "key": key[5], "row": 5, **doubt},
        {"status": "sent", "key": key[6], "row": 6, "id": 1, "attempts": 1},
    ]
    said: list[str] = []
    result = await reconciled(journal_path, records, api, said)
    assert result.in_doubt == 4
    assert result.found == [(2, committed[key[2]]), (4, committed[key[4]])]
    assert result.not_committed == [3, 5]
    assert result.settled
    assert state.committed == 2  # nothing sent
    added = lines(str(journal_path))[len(records) :]
    assert [(r["row"], r.get("status") or r["type"], r.get("found_in_history")) for r in added] == [
        (2, "sent", True),
        (3, "not_committed", None),  # in flight at the crash, not committed: a resume sends it
        (4, "sent", True),
        (5, "failed", None),
    ]
    assert "not committed" in added[3]["error"]
    assert "in_doubt" not in added[3]
    # Row 2's attempt marker proves the crashed run made one, which no record counted; row 4's
    # failed record counted its attempts already.
    assert [added[0]["attempts"], added[2]["attempts"]] == [1, 0]
    assert Journal.open(str(journal_path)).state.in_doubt == {}
    assert said == [  # each row as it is told
        f"  line 2: sent, message {committed[key[2]]}",
        "  line 3: not committed (a resume sends it)",
        f"  line 4: sent, message {committed[key[4]]}",
        "  line 5: not committed (recorded failed; --retry-failed sends it)",
    ]
    out = io.StringIO()
    write_summary(result, str(journal_path), out)
    assert out.getvalue().splitlines() == [
        (
            "looked up 4 messages: 2 found committed (recorded sent), 2 not committed, 0 the "
            "history could not tell"
        ),
        (
            f"then      broadcaster resume {journal_path} --retry-failed  (sends the 1 failed "
            "row not committed and the 1 row in flight at a crash; it sends every other failed "
            "row again too)"
        ),
    ]
    # Rows 2, 4, 5, 6 reached the API (3 did not: a resume sends it).
    requests = build_report([read_figures(str(journal_path))], [])["requests"]
    assert requests == {"messages": 4, "attempts": 8 + 8 + 1 + 1, "retries": 7 + 7 + 0 + 0}


async def test_a_list_broadcast_cannot_be_told(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    api, _ = await sandbox_url(aiohttp_server)
    path = tmp_path / "lists.csv"
    path.write_text("list_id,text\n7,Hello list\n")
    assert (await send([str(path), *options(api)]))[0] == 0
    ran = lines(str(path) + ".results.jsonl")
    (sent,) = [r for r in ran if "status" in r]
    journal_path = tmp_path / "crashed.jsonl"
    crashed = [ran[0], {"type": "attempt", "key": sent["key"]}]
    result = await reconciled(journal_path, crashed, api)
    assert not result.settled
    ((line, why),) = result.untold
    assert line == 2
    assert "list broadcast" in why


def real_journal(tmp_path: Path, base_url: str) -> str:
    """A journal of two rows sent to ``base_url`` (made from a sandbox run's, re-addressed)."""
    path = write_campaign(tmp_path / "c.csv", ROWS[:2])
    assert main(["send", path, "--sandbox", "--rate", "0", "--text", "Hi", "--quiet", *IDS]) == 0
    records = lines(path + ".sandbox.results.jsonl")
    records[0]["settings"] |= {"sandbox": False, "base_url": base_url}
    journal = path + ".results.jsonl"
    Path(journal).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return journal


def test_the_command_with_nothing_in_doubt_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = real_journal(tmp_path, "http://127.0.0.1:9")
    capsys.readouterr()
    monkeypatch.setenv("HEYMARKET_API_KEY", "k")
    assert main(["reconcile", journal]) == 0
    assert capsys.readouterr().out == (
        "reconcile nothing in doubt: every message's attempts have their answer\n"
    )


def test_the_command_refuses_plain_http_to_another_machine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = real_journal(tmp_path, "http://10.9.8.7")
    monkeypatch.setenv("HEYMARKET_API_KEY", "k")
    assert main(["reconcile", journal]) == 2
    assert "--allow-insecure-http" in capsys.readouterr().err


def test_the_command_refuses_another_destination_and_a_sandbox_trial(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = real_journal(tmp_path, "http://127.0.0.1:9")
    monkeypatch.setenv("HEYMARKET_API_KEY", "k")
    capsys.readouterr()
    assert main(["reconcile", journal, "--base-url", "http://127.0.0.1:10"]) == 2
    said = capsys.readouterr().err
    assert said == (
        f"error: {journal} records messages sent to http://127.0.0.1:9, so they can only be "
        "looked up there, and --base-url gives http://127.0.0.1:10: leave --base-url out (the "
        "journal's is used), or give http://127.0.0.1:9\n"
    )
    assert "--results" not in said  # a send's advice: reconcile has no such option
    assert main(["reconcile", journal.replace(".results", ".sandbox.results")]) == 2
    assert "records a --sandbox trial" in capsys.readouterr().err


def test_the_report_counts_the_rows_in_doubt_and_says_how_to_settle_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_campaign(tmp_path / "c.csv", ROWS[:2])
    assert main(["send", path, "--sandbox", "--rate", "0", "--text", "Hi", "--quiet", *IDS]) == 0
    journal = path + ".sandbox.results.jsonl"
    ran = lines(journal)
    crashed = [r for r in ran if r.get("type") != "read" and r.get("row") != 3]
    Path(journal).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in crashed))
    capsys.readouterr()
    assert main(["report", journal, "--format", "json"]) == 1
    (left,) = orjson.loads(capsys.readouterr().out)["left"]
    assert left["in_doubt"] == 1  # row 3's attempt, with no outcome after it
    assert f"broadcaster reconcile {journal} looks them up" in left["note"]
    assert main(["report", journal]) == 1
    assert "1 message in doubt" in capsys.readouterr().out


async def test_an_attempt_made_a_moment_ago_is_not_told_yet(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """Reconcile run right after a crash: the API may still be working on the request, so a
    lookup that finds nothing could not end its doubt."""
    api, _ = await sandbox_url(aiohttp_server)
    path = write_campaign(tmp_path / "spring.csv", ROWS[:1])
    assert (await send([path, *options(api)]))[0] == 0
    ran = lines(path + ".results.jsonl")
    (sent,) = [r for r in ran if "status" in r]
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    result = await reconciled(
        tmp_path / "j.jsonl", [ran[0], {"type": "attempt", "key": sent["key"], "at": now}], api
    )
    ((line, why),) = result.untold
    assert line == 2
    assert "the API may still be working on it: run reconcile again in a minute" in why


async def journal_in_doubt(
    aiohttp_server: AiohttpServer, tmp_path: Path, base_url: str, *, failed: int, crashed: int
) -> str:
    """A journal of a run to ``base_url`` whose first ``failed`` rows failed in doubt and whose
    next ``crashed`` rows were in flight at a crash (made from a run to another sandbox's)."""
    elsewhere, _ = await sandbox_url(aiohttp_server)
    path = write_campaign(tmp_path / "c.csv", ROWS[: failed + crashed])
    made = str(tmp_path / "made.jsonl")
    assert (await send([path, *options(elsewhere), "--results", made]))[0] == 0
    ran = lines(made)
    header = ran[0] | {"settings": ran[0]["settings"] | {"sandbox": False, "base_url": base_url}}
    rows = sorted((r["row"], r["key"]) for r in ran if "status" in r)
    before = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds")
    doubt = {"error": "gave up; last: HTTP 503", "in_doubt": before, "attempts": 2}
    records = [header]
    records += [{"status": "failed", "key": k, "row": r, **doubt} for r, k in rows[:failed]]
    records += [{"type": "attempt", "key": k, "at": before} for _, k in rows[failed:]]
    journal = path + ".results.jsonl"
    Path(journal).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return journal


class Waits:
    """The clock and sleep a reconcile is given: a wait moves the clock, and takes no time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.now += seconds
        await asyncio.sleep(0)


def closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port: int = free.getsockname()[1]
    return port


async def test_an_api_that_cannot_be_reached_ends_the_lookups_after_one_rows_tries(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """Three rows in doubt, no server at the address: the first lookup's tries meet no
    connection (said as they begin), and the command stops there, not row after row; it
    records nothing and exits 1."""
    port = closed_port()
    api = f"http://127.0.0.1:{port}"
    journal = await journal_in_doubt(aiohttp_server, tmp_path, api, failed=1, crashed=2)
    before = Path(journal).read_bytes()
    settings = dataclasses.replace(
        Settings.from_record(lines(journal)[0]["settings"]), results=journal
    )
    waits, out = Waits(), io.StringIO()
    code = await asyncio.to_thread(  # the command runs its own loop
        reconcile_journal,
        settings,
        {"HEYMARKET_API_KEY": "k"},
        out,
        clock=waits.clock,
        sleep=waits.sleep,
    )
    assert code == 1
    assert len(waits.slept) == settings.max_attempts - 1  # one lookup's tries, not each row's
    first, trying, stopped = out.getvalue().splitlines()
    assert first == f"reconcile 3 messages in doubt: looking each up at {api}, sending nothing"
    assert trying.startswith(f"  line 2: no connection (cannot connect to 127.0.0.1:{port}:")
    assert trying.endswith("trying again, 7 more times over 1m 02s at most")
    assert stopped.startswith(f"stopped   the API could not be reached at {api} (cannot connect")
    assert stopped.endswith("): nothing was looked up; try again when it answers")
    assert Path(journal).read_bytes() == before


def test_the_stop_says_what_was_settled_before_it() -> None:
    result = Reconciled(in_doubt=5, api="https://api.example", found=[(2, 7)])
    result.not_committed, result.unreachable = [3], "cannot connect to api.example:443"
    out = io.StringIO()
    write_summary(result, "j.jsonl", out)
    assert out.getvalue() == (
        "stopped   the API could not be reached at https://api.example (cannot connect to "
        "api.example:443): 2 messages settled before (recorded as said above), 3 still in "
        "doubt; try again when it answers\n"
    )
    assert not result.settled


@pytest.mark.parametrize(
    "case",
    [
        (2, 0, (" --retry-failed  (sends the 2 failed rows not committed; it sends every other "
                "failed row again too)")),
        (0, 2, ("  (sends the 2 rows in flight at a crash not committed, and any row not sent "
                "yet)")),
        (1, 1, (" --retry-failed  (sends the 1 failed row not committed and the 1 row in flight "
                "at a crash; it sends every other failed row again too)")),
    ],
)  # fmt: skip
async def test_the_command_prints_the_resume_that_sends_what_is_left(
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[int, int, str],
) -> None:
    """Failures not committed are sent by --retry-failed alone; a crash's rows by a resume."""
    failed, crashed, then = case
    api, state = await sandbox_url(aiohttp_server)
    journal = await journal_in_doubt(aiohttp_server, tmp_path, api, failed=failed, crashed=crashed)
    monkeypatch.setenv("HEYMARKET_API_KEY", "k")
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["reconcile", journal]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("reconcile 2 messages in doubt: looking each up at http://127.0.0.1")
    assert said[-1] == f"then      broadcaster resume {journal}{then}"
    assert state.committed == 0


async def test_a_401_ends_the_command_with_exit_2(
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = await aiohttp_server(create_app(SandboxConfig(api_key="right")))
    api = str(server.make_url(""))
    journal = await journal_in_doubt(aiohttp_server, tmp_path, api, failed=0, crashed=1)
    before = Path(journal).read_bytes()
    monkeypatch.setenv("HEYMARKET_API_KEY", "wrong")
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["reconcile", journal]) == 2
    assert "the API refused the credentials" in capsys.readouterr().err
    assert Path(journal).read_bytes() == before


def test_the_timeout_option_shows_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", "--help"]) == 0
    assert "the run's --timeout, 30 s unless it gave" in " ".join(capsys.readouterr().out.split())
