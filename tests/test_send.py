"""``send`` end to end against the sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer
from structlog.testing import capture_logs

from broadcaster.campaign import send_campaign
from broadcaster.cli import main_parser
from broadcaster.errors import CredentialsError, JournalBusyError
from broadcaster.journal import Journal
from broadcaster.options import settings_from
from broadcaster.rate import Rate
from broadcaster.sandbox import STATE, SandboxConfig, SandboxState, create_app

KEY_ENV = {"HEYMARKET_API_KEY": "test-key"}


def campaign(tmp_path: Path, count: int, phone: str = "1415555{n:04d}") -> str:
    path = tmp_path / "spring.csv"
    lines = ["phone_number,name"] + [f"{phone.format(n=n)},Person {n}" for n in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


async def sandbox(aiohttp_server: AiohttpServer, **options: Any) -> tuple[TestServer, SandboxState]:
    options.setdefault("rate_limit", Rate(100_000, 60))
    app = create_app(SandboxConfig(**options))
    server = await aiohttp_server(app)
    return server, app[STATE]


async def send(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, str]:
    args = main_parser().parse_args(["send", *argv])
    env = KEY_ENV if environ is None else environ
    out = io.StringIO()
    code = await send_campaign(settings_from(args, env), env, out, handle_signals=False)
    return code, out.getvalue()


def fast(server: TestServer) -> list[str]:
    return [
        "--base-url", str(server.make_url("")), "--rate", "0", "--inbox-id", "101",
        "--creator-id", "55", "--text", "Hi {{name}}", "--timeout", "3", "--backoff-base", "0.005",
        "--backoff-cap", "0.02", "--max-attempts", "30",
    ]  # fmt: skip


def records(path: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines() if line.strip()]


def outcomes(path: str) -> list[dict[str, Any]]:
    return [r for r in records(path) if "status" in r]


class TestFaults:
    async def test_every_fault_at_once_every_row_sent_once(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        faults = {
            "500": 0.04, "503": 0.04, "429": 0.03, "drop_before": 0.04, "drop_after": 0.04,
            "slow": 0.02, "bad_json": 0.04,
        }  # fmt: skip
        server, state = await sandbox(aiohttp_server, faults=faults, seed=3, slow_delay=2.0)
        path = campaign(tmp_path, 300)
        # --fixed-rate: unpaced it stays, on the injected 429s (it would go on at 480/m)
        code, out = await send([path, *fast(server), "--timeout", "0.3", "--fixed-rate"])
        assert code == 0, out
        sent = outcomes(path + ".results.jsonl")
        assert Counter(r["status"] for r in sent) == {"sent": 300}
        assert len({r["key"] for r in sent}) == 300
        assert (state.committed, state.conflicts) == (300, 0)
        assert set(state.messages) == {r["key"] for r in sent}
        assert set(state.faults) == set(faults)  # every kind happened
        # Each answer lost after a commit was found in its conversation (or, when a lookup
        # page itself met a fault, answered from the idempotency store), never committed twice.
        found = sum(1 for r in sent if r.get("found_in_history"))
        assert found + state.duplicates >= state.faults["drop_after"]
        assert found > 0
        assert state.history_requests > 0
        assert all(r["request_id"] for r in sent)
        assert max(r["attempts"] for r in sent) > 1
        assert f"{found:,} committed (recorded sent, not sent again)" in out

    async def test_last_weeks_send_of_the_same_message_is_not_taken_for_this_one(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """The same file sent again a week later to a new journal has the same keys. A lookup
        after a 500 that was not committed must not find last week's message and record the
        row sent: every row is committed again this week."""
        week = [time.time() - 7 * 86_400]
        server, state = await sandbox(
            aiohttp_server, faults={"500": 0.3}, seed=11, dedupe="lists", wall_clock=lambda: week[0]
        )
        path = campaign(tmp_path, 100)
        options = [path, *fast(server), "--results", str(tmp_path / "week1.jsonl")]
        assert (await send(options))[0] == 0
        assert state.committed == 100
        week[0] = time.time()
        options = [path, *fast(server), "--results", str(tmp_path / "week2.jsonl")]
        code, out = await send(options)
        assert code == 0, out
        sent = outcomes(str(tmp_path / "week2.jsonl"))
        assert not [r for r in sent if r.get("found_in_history")]
        assert state.committed == 200  # each message committed again this week, once

    async def test_an_api_that_does_not_dedupe_single_sends_still_gets_each_message_once(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """The API promises de-duplication by local_id for list broadcasts only. A server
        that commits and then drops a fifth of the connections, and would commit a resent
        message again: every message is committed once, found by its local_id in its
        conversation's history rather than sent again."""
        server, state = await sandbox(
            aiohttp_server, faults={"drop_after": 0.2}, seed=5, dedupe="lists"
        )
        path = campaign(tmp_path, 200)
        code, out = await send([path, *fast(server)])
        assert code == 0, out
        sent = outcomes(path + ".results.jsonl")
        assert Counter(r["status"] for r in sent) == {"sent": 200}
        assert (state.committed, state.resent, state.duplicates) == (200, 0, 0)
        found = [r for r in sent if r.get("found_in_history")]
        assert len(found) == state.faults["drop_after"] > 20
        ids = {local_id: m.id for local_id, m in state.messages.items()}  # the one commit of each
        assert all(r["id"] == ids[r["key"]] for r in found)
        assert all(r["attempts"] == 1 for r in found)
        marked = [r["key"] for r in records(path + ".results.jsonl") if r.get("type") == "attempt"]
        assert sorted(marked) == sorted(r["key"] for r in sent)  # each first attempt, once

    async def test_refused_rows_fail_after_one_attempt(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server, opted_out=frozenset({"14155550001"}))
        path = campaign(tmp_path, 3)
        code, out = await send([path, *fast(server)])
        assert code == 1
        failed = [r for r in outcomes(path + ".results.jsonl") if r["status"] == "failed"]
        assert [(r["row"], r["attempts"], r["http_status"]) for r in failed] == [(3, 1, 400)]
        assert failed[0]["error"] == (
            "HTTP 400 bad_data: phone_number: the contact has opted out of messages"
        )
        assert state.requests == 3
        assert "rows      3: 2 sent, 1 failed" in out


class TestThrottling:
    async def test_unpaced_into_a_limit_no_row_fails_on_429(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """--rate 0 --fixed-rate against 100/s with two attempts a message: 429s pause, never
        fail a row (without --fixed-rate the run would be paced at 480/m from the first 429)."""
        server, state = await sandbox(aiohttp_server, rate_limit=Rate(100, 1))
        path = campaign(tmp_path, 300)
        options = [*fast(server), "--max-attempts", "2", "--concurrency", "16", "--fixed-rate"]
        code, out = await send([path, *options])
        assert code == 0, out
        assert Counter(r["status"] for r in outcomes(path + ".results.jsonl")) == {"sent": 300}
        assert state.rate_limited > 0
        assert "for HTTP 429" in out

    async def test_no_connection_stops_the_run_without_failing_rows(self, tmp_path: Path) -> None:
        path = campaign(tmp_path, 20)
        options = ["--base-url", "http://127.0.0.1:1", "--rate", "0", "--inbox-id", "101"]
        options += ["--creator-id", "55", "--text", "Hi", "--max-attempts", "3"]
        options += ["--backoff-base", "0.001", "--backoff-cap", "0.002"]
        code, out = await send([path, *options])
        assert code == 1
        assert "stopped   the API could not be reached: cannot connect" in out
        assert "(no row was marked failed)" in out
        assert "left      20 rows not ended" in out
        assert outcomes(path + ".results.jsonl") == []


class TestCredentials:
    async def test_jwt_credentials_are_accepted(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server, secret_id="team-9", secret_key="k" * 40)
        env = {"HEYMARKET_SECRET_ID": "team-9", "HEYMARKET_SECRET_KEY": "k" * 40}
        code, _ = await send([campaign(tmp_path, 5), *fast(server)], env)
        assert (code, state.committed) == (0, 5)

    async def test_wrong_credentials_stop_the_run_and_fail_no_row(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server, api_key="right-key")
        path = campaign(tmp_path, 50)
        with pytest.raises(CredentialsError, match="refused the credentials") as caught:
            await send([path, *fast(server)], {"HEYMARKET_API_KEY": "wrong-key"})
        assert "wrong-key" not in str(caught.value)
        assert outcomes(path + ".results.jsonl") == []
        assert state.committed == 0
        code, _ = await send([path, *fast(server)], {"HEYMARKET_API_KEY": "right-key"})
        assert (code, state.committed) == (0, 50)

    async def test_no_credentials_is_a_usage_error_before_anything(self, tmp_path: Path) -> None:
        path = campaign(tmp_path, 1)
        with pytest.raises(Exception, match="no credentials"):
            await send([path], {})
        assert not Path(path + ".results.jsonl").exists()


class TestResumeAndModes:
    async def test_a_second_run_sends_nothing_and_retry_failed_resends(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server, opted_out=frozenset({"14155550002"}))
        path = campaign(tmp_path, 4)
        assert (await send([path, *fast(server)]))[0] == 1
        code, out = await send([path, *fast(server)])
        assert (code, state.requests) == (1, 4)
        assert "rows      4: 0 sent, 0 failed, 0 invalid, 0 duplicate (skipped) in this run" in out
        assert "earlier   4 settled by earlier runs: 3 sent, 1 failed" in out
        assert "--retry-failed sends them again" in out
        code, _ = await send([path, *fast(server), "--retry-failed"])
        assert (code, state.requests) == (1, 5)  # only the failed row was tried again

    async def test_dry_run_sends_nothing_and_writes_nothing(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        path = campaign(tmp_path, 20)
        code, out = await send([path, *fast(server), "--dry-run", "--rate", "1/h"])
        assert (code, state.requests) == (0, 0)
        lines = out.splitlines()
        assert lines[0].startswith("preview   line 2: phone_number 14155550000 · 1 SMS segment")
        assert lines[1:6:2] == [f"            text: 'Hi Person {n}'" for n in (0, 1, 2)]
        assert lines[6:] == [
            "rows      20: 20 would be sent, 0 failed, 0 invalid, 0 duplicate (skipped)",
            "time      20 requests at 1/h: about 20h 00m 00s",
            "dry run   nothing was sent and the results journal was not written",
        ]
        assert not Path(path + ".results.jsonl").exists()

    async def test_sandbox_sends_to_an_in_process_sandbox_without_credentials(
        self, tmp_path: Path
    ) -> None:
        path = campaign(tmp_path, 12)
        code, out = await send(
            [
                path,
                "--sandbox",
                "--rate",
                "0",
                "--text",
                "x",
                "--inbox-id",
                "101",
                "--creator-id",
                "55",
            ],
            {},
        )
        assert code == 0
        assert "sandbox   12 messages committed, 0 repeated requests" in out

    async def test_a_locked_journal_is_refused(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        path = campaign(tmp_path, 2)
        holder = Journal.open(path + ".results.jsonl")
        try:
            with pytest.raises(JournalBusyError):
                await send([path, *fast(server)])
        finally:
            holder.close()
        assert state.requests == 0

    async def test_header_records_input_and_settings_never_secrets(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, _ = await sandbox(aiohttp_server)
        path = campaign(tmp_path, 1)
        await send([path, *fast(server)])
        raw = Path(path + ".results.jsonl").read_text()
        header = records(path + ".results.jsonl")[0]
        assert header["type"] == "run"
        assert header["campaign"] == "spring"
        assert header["input"] == str(Path(path).resolve())
        assert len(header["input_sha256"]) == 64
        assert header["settings"]["rate"] == "0/s"
        assert "test-key" not in raw


class TestOutput:
    async def test_a_stdout_that_cannot_be_written_keeps_the_runs_exit_code(
        self, tmp_path: Path
    ) -> None:
        """A full disk under stdout: one error line on stderr, the campaign's code, no crash."""

        class Full(io.StringIO):
            def write(self, _: str) -> int:
                raise OSError(28, "No space left on device")

        path = campaign(tmp_path, 3)
        options = ["--sandbox", "--rate", "0", "--text", "x", "--inbox-id", "101"]
        options += ["--creator-id", "55"]
        args = main_parser().parse_args(["send", path, *options])
        structlog.reset_defaults()
        with capture_logs() as logs:
            code = await send_campaign(settings_from(args, {}), {}, Full(), handle_signals=False)
        assert code == 0
        (error,) = [e for e in logs if e["event"] == "summary not written"]
        assert error["reason"] == "stdout: No space left on device"


async def test_a_merge_field_that_names_no_column_is_said_before_anything_goes(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """``{{Name|friend}}`` against a ``name`` column: every row got "Hi friend", unsaid."""
    server, _ = await sandbox(aiohttp_server)
    path = campaign(tmp_path, 2)
    structlog.reset_defaults()
    with capture_logs() as logs:
        code, _ = await send([path, *fast(server), "--text", "Hi {{Name|friend}}"])
    assert code == 0
    warned = [log for log in logs if log["event"] == "merge field"]
    said = (
        "{{Name}} names no column of the input: every row gets its default 'friend' "
        "(did you mean {{name}}? names are matched exactly)"
    )
    assert [log["note"] for log in warned] == [said]
