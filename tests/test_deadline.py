"""--not-after and --limit: a run that ends as asked, with the rows it did not send said."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer
from test_engine import DEFAULTS, MaxRandom, ScriptedSender, by_status, rows
from test_send import campaign, fast, outcomes, sandbox, send

from broadcaster.engine import Engine, EngineSettings, Timing
from broadcaster.journal import JournalState, MemoryJournal
from broadcaster.outcome import Reply
from broadcaster.pacer import Pacer
from broadcaster.rate import Rate
from broadcaster.record import Record
from broadcaster.retry import RetryPolicy
from broadcaster.testing import VirtualTime

START = 1_780_000_000.0  # the wall clock when the virtual one reads 0


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat()


RETRY = Reply("retry", 503, "req", error="HTTP 503")


def make_engine(
    clock: VirtualTime,
    sender: ScriptedSender,
    *,
    rate: Rate,
    deadline: float | None = None,
    limit: int | None = None,
    journal: MemoryJournal | None = None,
    concurrency: int = 1,
) -> tuple[Engine, MemoryJournal]:
    journal = journal or MemoryJournal()
    settings = EngineSettings(
        DEFAULTS,
        concurrency,
        RetryPolicy(8, base=1.0, cap=8.0, rng=MaxRandom()),
        rate=rate,
        not_after=None if deadline is None else iso(deadline),
        limit=limit,
    )
    pacer = Pacer(rate, clock=clock.clock, sleep=clock.sleep)
    timing = Timing(clock=clock.clock, sleep=clock.sleep, wall_clock=lambda: START + clock.now)
    return Engine(settings, sender, journal, pacer, timing), journal


class TestDeadline:
    async def test_no_request_leaves_after_it_and_the_rest_end_skipped(self) -> None:
        """At 1/s with the deadline 4.5 s in: five requests (0 s to 4 s), then none."""
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, journal = make_engine(clock, sender, rate=Rate(1), deadline=START + 4.5)
        texts = [f"m{n}" for n in range(20)]
        tally = await clock.run(engine.run(rows(*texts)))
        assert [at for at, _ in sender.sends] == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert clock.now < 5.5  # the queued messages did not wait a slot each to be withheld
        assert tally.deadline_passed
        assert tally.withheld["deadline"] == 15
        assert tally.settled == 20
        late = [o for o in journal.outcomes if o.status == "skipped"]
        assert {o.reason for o in late} == {"deadline"}
        assert late[0].error == (
            "not sent: the --not-after deadline (2026-05-28T20:26:44.500000+00:00) had passed"
        )

    async def test_messages_waiting_for_their_slot_stop_waiting_at_it(self) -> None:
        """Sixteen workers each hold a slot ahead at 1/s: the run ends at the deadline, not
        sixteen seconds past it (a trial saw 15 s, and minutes at a slow rate)."""
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, _ = make_engine(clock, sender, rate=Rate(1), deadline=START + 4.5, concurrency=16)
        tally = await clock.run(engine.run(rows(*(f"m{n}" for n in range(40)))))
        assert [at for at, _ in sender.sends] == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert clock.now == pytest.approx(4.5)
        assert tally.withheld["deadline"] == 35

    async def test_a_message_being_retried_is_not_tried_again_after_it(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, {"a": [RETRY]})
        engine, journal = make_engine(clock, sender, rate=Rate(0), deadline=START + 2.5)
        await clock.run(engine.run(rows("a")))
        assert [at for at, _ in sender.sends] == [0.0, 1.0]  # the next retry: at 3 s
        (outcome,) = journal.outcomes
        assert outcome.status == "failed"
        assert outcome.error is not None
        assert "last: HTTP 503; not tried again: the --not-after deadline passed" in outcome.error
        assert outcome.in_doubt  # a 503 may have been committed

    async def test_a_twin_row_of_a_withheld_message_is_withheld_too(self) -> None:
        """Not "a duplicate of a message sent once": its message was never sent."""
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, journal = make_engine(clock, sender, rate=Rate(1), deadline=START + 1.5)
        twin = rows("c", start=4)[0].fields
        records = [*rows("a", "b", "c", "d"), Record(6, twin), Record(7, rows("a")[0].fields)]
        await clock.run(engine.run(records))
        reasons = {o.row: o.reason for o in journal.outcomes if o.status == "skipped"}
        assert reasons == {4: "deadline", 5: "deadline", 6: "deadline", 7: None}
        assert by_status(journal)["sent"] == [2, 3]

    async def test_a_run_after_it_sends_nothing_and_records_each_row_once(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, journal = make_engine(clock, sender, rate=Rate(1), deadline=START - 60)
        tally = await clock.run(engine.run(rows("a", "b")))
        assert sender.sends == []
        assert tally.withheld["deadline"] == 2
        state = JournalState()
        for outcome in journal.outcomes:
            state.apply(outcome.record())
        again, journal2 = make_engine(
            clock, sender, rate=Rate(1), deadline=START - 60, journal=MemoryJournal(state)
        )
        tally = await clock.run(again.run(rows("a", "b")))
        assert journal2.outcomes == []
        assert tally.earlier_withheld["deadline"] == 2
        later, _ = make_engine(clock, sender, rate=Rate(1), journal=MemoryJournal(state))
        await clock.run(later.run(rows("a", "b")))
        assert len(sender.sends) == 2  # no deadline now: the withheld rows go


class TestLimit:
    async def test_stops_taking_rows_after_n_messages(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, journal = make_engine(clock, sender, rate=Rate(0), limit=3)
        records = [*rows("a", "b"), Record(4, {"text": "no target"}), *rows("c", "d", start=5)]
        tally = await clock.run(engine.run(records))
        assert [text for _, text in sender.sends] == ["a", "b", "c"]
        assert tally.limit_reached
        assert not tally.input_done
        assert by_status(journal) == {"sent": [2, 3, 5], "invalid": [4]}

    async def test_a_limit_the_input_does_not_reach_is_not_reached(self) -> None:
        clock = VirtualTime()
        engine, _ = make_engine(clock, ScriptedSender(clock), rate=Rate(0), limit=2)
        tally = await clock.run(engine.run(rows("a", "b")))
        assert tally.input_done
        assert not tally.limit_reached


class TestCommand:
    async def test_limit_then_resume_sends_the_rest_with_exit_3_then_0(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 5)
        code, out = await send([source, *fast(server), "--limit", "2"])
        assert code == 3
        assert "limit     --limit 2 reached: the rows left wait. To send them:" in out
        assert "left      3 rows not ended: 3 not taken" in out
        assert state.committed == 2
        code, out = await send([source, *fast(server)])
        assert code == 0
        assert state.committed == 5

    async def test_a_deadline_already_passed_sends_nothing_and_exits_3(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 3)
        code, out = await send([source, *fast(server), "--not-after", "2020-01-01T09:00-05:00"])
        assert code == 3
        assert state.requests == 0
        assert out.startswith("rows      3: 0 sent, 0 failed, 0 invalid, 0 duplicate (skipped), ")
        assert "3 deadline (skipped)" in out
        assert (
            "deadline  --not-after 2020-01-01T09:00:00-05:00 passed: 3 rows skipped, not sent. "
            f"To send them: broadcaster resume {source}.results.jsonl --not-after LATER" in out
        )
        assert [r["reason"] for r in outcomes(source + ".results.jsonl")] == ["deadline"] * 3
        code, out = await send([source, *fast(server), "--not-after", "2099-01-01T00:00Z"])
        assert code == 0
        assert state.committed == 3
