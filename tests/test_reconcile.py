"""``reconcile``: the rows a journal has in doubt, looked up in the sandbox's history."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime
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
from broadcaster.reconcile import Reconciled, reconcile, write_summary
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


async def reconciled(path: Path, records: list[dict[str, Any]], api: str) -> Reconciled:
    """Reconcile a journal of these ``records`` (the first a run header) against ``api``."""
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    recorded = Settings.from_record(records[0]["settings"])
    settings = dataclasses.replace(recorded, base_url=api, results=str(path))
    journal = Journal.open(str(path))
    try:
        return await reconcile(settings, journal, ApiKey("k"))
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
    doubt = {"error": "gave up after 8 attempts; last: HTTP 503", "in_doubt": True}
    journal_path = tmp_path / "crashed.jsonl"
    records = [
        ran[0],
        {"type": "attempt", "key": key[2]},
        {"type": "attempt", "key": key[3]},
        {"status": "failed", "key": key[4], "row": 4, **doubt},
        {"status": "failed", "key": key[5], "row": 5, **doubt},
        {"status": "sent", "key": key[6], "row": 6, "id": 1},
    ]
    result = await reconciled(journal_path, records, api)
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
    assert Journal.open(str(journal_path)).state.in_doubt == {}
    out = io.StringIO()
    write_summary(result, str(journal_path), out)
    assert out.getvalue().splitlines()[:3] == [
        (
            "reconcile 4 messages in doubt: 2 found committed (recorded sent), 2 not committed, 0 "
            "the history could not tell"
        ),
        f"  line 2: sent, message {committed[key[2]]}",
        f"  line 4: sent, message {committed[key[4]]}",
    ]


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
    assert "records messages sent to http://127.0.0.1:9, and this run sends to" in (
        capsys.readouterr().err
    )
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
