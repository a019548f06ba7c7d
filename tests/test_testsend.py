"""--test-to and --sample: a campaign tried on one phone, or on a few rows, before the real run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer
from test_engine import DEFAULTS, MaxRandom, ScriptedSender
from test_quiet_hours import MORNING, again, people
from test_send import campaign, fast, outcomes, sandbox, send

from broadcaster.engine import Engine, EngineSettings, Timing
from broadcaster.errors import UsageError
from broadcaster.journal import JournalState, MemoryJournal
from broadcaster.pacer import Pacer
from broadcaster.plan import Defaults, Message, plan
from broadcaster.rate import Rate
from broadcaster.record import Record
from broadcaster.retry import RetryPolicy
from broadcaster.schedule import Schedule
from broadcaster.testing import VirtualTime
from broadcaster.testsend import sample, to_test


def _message(fields: dict[str, object]) -> Message:
    planned = plan(Record(2, fields), Defaults("spring", inbox_id=1, creator_id=2))
    assert isinstance(planned, Message)
    return planned


class TestToTest:
    def test_puts_the_phone_in_place_of_any_target_and_keys_it_anew(self) -> None:
        real = _message({"targets": "4155550100;4155550101", "text": "Hi"})
        test = to_test(real, "14155559999", "spring", "2026-11-26T23:00:00+00:00")
        assert test.body == {
            "inbox_id": 1, "creator_id": 2, "phone_number": "14155559999", "text": "Hi",
            "local_id": test.key,
        }  # fmt: skip
        assert test.key != real.key
        same_phone = _message({"phone_number": "4155559999", "text": "Hi"})
        again = to_test(same_phone, "14155559999", "spring", "2026-11-26T23:00:00+00:00")
        assert again.key != same_phone.key
        later = to_test(same_phone, "14155559999", "spring", "2026-11-26T23:05:00+00:00")
        assert later.key != again.key  # a test asked again is sent again


class TestSample:
    @pytest.mark.parametrize(
        ("total", "count", "positions"),
        [(100, 5, {0, 20, 40, 60, 80}), (10, 3, {0, 3, 6}), (3, 5, {0, 1, 2}), (7, 1, {0})],
    )
    def test_spreads_the_rows_through_the_file(
        self, total: int, count: int, positions: set[int]
    ) -> None:
        assert sample(total, count) == positions


class TestCommand:
    async def test_a_test_send_goes_to_the_phone_alone_and_settles_no_row(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 10)
        code, out = await send([source, *fast(server), "--test-to", "(415) 555-9999"])
        assert code == 0
        assert out.startswith("requests  1 attempt for 1 message")
        assert "test      line 2's message to +14155559999: sent, id 1\n" in out
        assert [m.body["phone_number"] for m in state.messages.values()] == ["14155559999"]
        assert [m.body["text"] for m in state.messages.values()] == ["Hi Person 0"]
        assert not Path(source + ".results.jsonl").exists()
        code, out = await send([source, *fast(server)])  # the real run: every row goes
        assert code == 0
        assert state.committed == 11

    async def test_a_test_of_sampled_rows_sends_each_of_their_messages(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 10)
        argv = [source, *fast(server), "--test-to", "4155559999", "--sample", "2", "--quiet"]
        code, _ = await send(argv)
        assert code == 0
        assert [m.body["text"] for m in state.messages.values()] == ["Hi Person 0", "Hi Person 5"]

    async def test_a_sample_of_every_row_is_a_run(
        self, aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No positions kept, no rows remembered: a million of each cost about 120 MB."""

        def no_turns(positions: frozenset[int]) -> None:
            raise AssertionError(f"{len(positions)} positions kept")

        monkeypatch.setattr("broadcaster.engine.Turns", no_turns)
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 10)
        code, out = await send([source, *fast(server), "--sample", "10", "--quiet"])
        assert (code, state.committed) == (0, 10)
        assert "sample" not in out

    async def test_a_test_says_which_rows_it_did_not_send_and_why(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """A twin, or an invalid row, among the rows taken: the trial saw 4 lines of 8, the
        rest said only in the log."""
        server, state = await sandbox(aiohttp_server)
        source = tmp_path / "c.csv"
        source.write_text("phone_number,name\n14155550100,Ann\n14155550100,Ann\n1415555,Bob\n")
        code, out = await send([str(source), *fast(server), "--test-to", "4155559999",
                                "--sample", "3", "--quiet"])  # fmt: skip
        assert code == 1  # the invalid row
        assert state.committed == 1
        assert "test      line 2's message to +14155559999: sent, id 1" in out
        assert "test      line 3: skipped, duplicate of line 2: the same message" in out
        assert "test      line 4: invalid, phone_number: '1415555' is not a valid" in out

    async def test_a_sample_is_sent_for_real_and_a_resume_sends_the_rest(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 10)
        code, out = await send([source, *fast(server), "--sample", "3", "--quiet"])
        assert code == 3
        assert "sample    --sample 3 took rows spread through the file" in out
        assert sorted(r["row"] for r in outcomes(source + ".results.jsonl")) == [2, 5, 8]
        code, out = await send([source, *fast(server)])
        assert code == 0
        assert state.committed == 10
        assert state.resent == 0

    async def test_a_sample_of_a_resumed_campaign_takes_rows_not_settled(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """A row due that an earlier run settled hands its turn to the next one not settled:
        each ``resume --sample N`` sends N rows that still need it, so a loop of them ends."""
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 10)
        code, _ = await send([source, *fast(server), "--limit", "4", "--quiet"])  # lines 2-5
        assert code == 3
        code, out = await send([source, *fast(server), "--sample", "3", "--quiet"])
        assert code == 3
        assert "rows      10: 3 sent, 0 failed, 0 invalid" in out
        assert "earlier   4 settled by earlier runs: 4 sent" in out
        assert "left      3 rows not ended: 3 not taken (a resumed run takes them up)" in out
        assert [r["row"] for r in outcomes(source + ".results.jsonl")] == [2, 3, 4, 5, 6, 7, 8]
        code, out = await send([source, *fast(server), "--limit", "1", "--quiet"])
        assert "left      up to 2 rows not ended: 2 not taken" in out  # an earlier run's, maybe
        code, out = await send([source, *fast(server), "--sample", "3", "--quiet"])
        assert code == 0  # the last two: nothing left
        assert "earlier   8 settled by earlier runs: 8 sent" in out
        assert (state.committed, state.resent) == (10, 0)

    async def test_a_sample_passing_hundreds_of_settled_rows_counts_each(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 600)
        assert (await send([source, *fast(server), "--limit", "400", "--quiet"]))[0] == 3
        code, out = await send([source, *fast(server), "--sample", "2", "--quiet"])
        assert code == 3
        assert "earlier   400 settled by earlier runs: 400 sent" in out
        assert "left      198 rows not ended: 198 not taken" in out
        rows = [r["row"] for r in outcomes(source + ".results.jsonl")][400:]
        assert rows == [402, 403]  # the first due row's turn went to the first not settled
        assert state.committed == 402

    async def test_a_sample_of_a_finished_campaign_leaves_no_row(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """A row withheld keeps the campaign off the fast path (its reason may have gone):
        every row is still settled, none "not taken"."""
        server, _ = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 10)
        stop = tmp_path / "stop.txt"
        stop.write_text("+1 415 555 0003\n")
        argv = [source, *fast(server), "--suppress", str(stop), "--quiet"]
        code, _ = await send(argv)
        assert code == 0
        code, out = await send([*argv, "--sample", "3"])
        assert code == 0
        assert "not taken" not in out
        assert "earlier   9 settled by earlier runs: 9 sent" in out
        assert "1 held back again, as recorded (1 suppressed)" in out

    @pytest.mark.parametrize(
        ("people", "count", "first_limit"),
        [
            ([0, 1, 9, 9, 4, 5], 2, 1),  # a twin due, its first row passed by
            ([0, 9, 9, 3], 2, 0),  # a fresh sample due at a twin
            (["x", 1, "x", 3, "x", 5, 6], 3, 0),  # identical invalid rows
            ([0, 1, 2, 2, "x", 2, "x", 7, 8, 0], 3, 2),
            ([0, 0, 0, 1, 1, "x", "x"], 4, 0),
        ],
    )
    async def test_samples_then_a_resume_give_every_row_one_record(
        self,
        aiohttp_server: AiohttpServer,
        tmp_path: Path,
        people: list[int | str],
        count: int,
        first_limit: int,
    ) -> None:
        """Twins go with their first row, taken or left together: a duplicate's record never
        comes before its message's, nor an invalid row's before its first twin's, so each row
        ends with its own record, by line (found in review)."""
        server, state = await sandbox(aiohttp_server)
        source = tmp_path / "c.csv"
        phones = ["1415555" if n == "x" else f"141555500{n:02d}" for n in people]
        source.write_text("phone_number,name\n" + "".join(f"{p},P\n" for p in phones))
        argv = [str(source), *fast(server), "--quiet"]
        if first_limit:
            assert (await send([*argv, "--limit", str(first_limit)]))[0] == 3
        for _ in range(len(people)):
            code, _ = await send([*argv, "--sample", str(count)])
            if code != 3:
                break
        code, _ = await send(argv)
        rows = sorted(r["row"] for r in outcomes(str(source) + ".results.jsonl"))
        assert rows == list(range(2, len(people) + 2))
        assert state.committed == len({n for n in people if n != "x"})
        assert state.resent == 0

    async def test_a_test_phone_that_is_no_number_is_refused(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        with pytest.raises(UsageError, match="--test-to 'call me'"):
            await send([campaign(tmp_path, 2), *fast(server), "--test-to", "call me"])
        assert state.requests == 0

    async def test_a_test_goes_now_whatever_the_window_and_deadline_say(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """It is asked for, seen and done: no waiting for a window, no deadline, no resume."""
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 3)
        closed = ["--window", "03:00-03:01", "--days", "sun", "--tz", "Pacific/Kiritimati"]
        past = ["--not-after", "2020-01-01T00:00Z"]
        argv = [source, *fast(server), "--test-to", "4155559999", *closed, *past]
        code, out = await send(argv)
        assert code == 0
        assert state.committed == 1
        assert "broadcaster resume" not in out

    async def test_a_suppressed_test_phone_is_said(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 3)
        stop = tmp_path / "stop.txt"
        stop.write_text("+1 415 555 9999\n")
        argv = [source, *fast(server), "--test-to", "4155559999", "--suppress", str(stop)]
        with pytest.raises(UsageError, match=r"--test-to \+14155559999 is suppressed"):
            await send(argv)
        assert state.requests == 0

    async def test_a_dry_run_of_a_sample_previews_the_sampled_rows(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 9)
        argv = [source, *fast(server), "--dry-run", "--sample", "3", "--preview", "3"]
        code, out = await send(argv)
        shown = re.findall(r"line (\d+): phone_number", out)
        assert shown == ["2", "5", "8"]  # the sample's rows, not the first three
        assert code == 3
        assert state.requests == 0
        # No journal was written: no resume to advise.
        assert "sample    --sample 3 took rows spread through the file: a run would leave" in out
        assert "broadcaster resume" not in out


async def test_a_turn_handed_on_to_a_row_outside_its_window_goes_when_it_opens() -> None:
    """A resume's sample: row 0 was sent, so its turn goes to the LA row, outside its window
    now; the later pass reads the rows the sample took, and sends it (found in review: it
    read the rows due alone, and the LA row was never sent)."""
    clock = VirtualTime()
    sender = ScriptedSender(clock)
    records = people("NY", "LA")
    state = JournalState()
    state.note(plan(records[0], DEFAULTS).key, "sent")
    settings = EngineSettings(
        DEFAULTS, 2, RetryPolicy(8, base=1.0, cap=8.0, rng=MaxRandom()), rate=Rate(1),
        schedule=Schedule.parse("09:00-20:00", None, "recipient", None),
        sample=frozenset({0}),
    )  # fmt: skip
    pacer = Pacer(Rate(1), clock=clock.clock, sleep=clock.sleep)
    timing = Timing(clock=clock.clock, sleep=clock.sleep, wall_clock=lambda: MORNING + clock.now)
    engine = Engine(settings, sender, MemoryJournal(state), pacer, timing)
    tally = await clock.run(engine.run(records, reread=again(records)))
    (sent_at, _text), *more = sender.sends
    assert not more
    assert sent_at == 4.5 * 3600  # LA's 09:00, 4 h 30 min after the NY morning's start
    assert (tally.sent, tally.earlier["sent"], tally.limit_reached) == (1, 1, False)
