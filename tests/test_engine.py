"""The engine with a scripted sender on virtual time: no HTTP, no real waiting."""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
from collections.abc import Mapping
from typing import ClassVar

import pytest
import structlog
from structlog.testing import capture_logs

from broadcaster import engine as engine_module
from broadcaster import keytable
from broadcaster.engine import Engine, EngineSettings, Sender, Timing
from broadcaster.journal import JournalState, MemoryJournal
from broadcaster.keytable import Statuses
from broadcaster.lookup import Page
from broadcaster.outcome import Outcome, Reply, Status
from broadcaster.pacer import Pacer
from broadcaster.plan import Defaults, plan
from broadcaster.rate import Rate
from broadcaster.record import Record
from broadcaster.retry import RetryPolicy
from broadcaster.sandbox.state import RollingWindow
from broadcaster.tally import Tally
from broadcaster.testing import VirtualTime
from broadcaster.throttle import STUCK_AFTER, Pause

DEFAULTS = Defaults("test", inbox_id=101, creator_id=55)
UNPACED = Rate(0)
SENT = Reply("sent", 200, "req", id=1, date="2026-01-01T00:00:00+00:00")


class MaxRandom(random.Random):
    """Every jittered draw takes its ceiling, so backoffs are predictable."""

    def uniform(self, a: float, b: float) -> float:  # noqa: ARG002
        return b


class ScriptedSender:
    """Answers each text with its script (the last reply repeats); remembers every send."""

    def __init__(
        self,
        clock: VirtualTime,
        script: Mapping[str, list[Reply]] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock
        self.script = {text: list(replies) for text, replies in (script or {}).items()}
        self.latency = latency
        self.sends: list[tuple[float, str]] = []

    async def send(self, body: Mapping[str, object]) -> Reply:
        text = str(body["text"])
        self.sends.append((self.clock.now, text))
        if self.latency:
            await self.clock.sleep(self.latency)
        replies = self.script.get(text, [SENT])
        return replies.pop(0) if len(replies) > 1 else replies[0]


def rows(*texts: str, start: int = 2) -> list[Record]:
    return [
        Record(line, {"phone_number": f"1415555{line:04d}", "text": text})
        for line, text in enumerate(texts, start)
    ]


def make_engine(
    clock: VirtualTime,
    sender: Sender,
    *,
    journal: MemoryJournal | None = None,
    rate: Rate = UNPACED,
    concurrency: int = 4,
    policy: RetryPolicy | None = None,
    retry_failed: bool = False,
    grace: float = 10.0,
    halt_on_errors: int = 0,
    halt_on_fail_rate: float = 0.0,
    adaptive: bool = True,
) -> tuple[Engine, MemoryJournal]:
    journal = journal or MemoryJournal()
    policy = policy or RetryPolicy(8, base=1.0, cap=8.0, rng=MaxRandom())
    settings = EngineSettings(
        DEFAULTS,
        concurrency,
        policy,
        retry_failed,
        grace,
        rate,
        halt_on_errors,
        halt_on_fail_rate,
        frozenset({"opted_out"}),
        adaptive,
    )
    pacer = Pacer(rate, clock=clock.clock, sleep=clock.sleep)
    timing = Timing(clock=clock.clock, sleep=clock.sleep, wall_clock=lambda: 1_780_000_000.0)
    return Engine(settings, sender, journal, pacer, timing), journal


def by_status(journal: MemoryJournal) -> dict[Status, list[int]]:
    found: dict[Status, list[int]] = {}
    for outcome in journal.outcomes:
        found.setdefault(outcome.status, []).append(outcome.row)
    return found


async def run_with_signals(
    clock: VirtualTime, engine: Engine, signals: list[tuple[float, str]]
) -> None:
    """Run 40 rows while ``engine.stop(name)`` is called at each (virtual) time given."""

    async def deliver() -> None:
        for when, name in signals:
            await clock.sleep(when - clock.now)
            engine.stop(name)

    stopper = asyncio.ensure_future(deliver())
    await engine.run(rows(*(f"t{i}" for i in range(40))))
    await stopper


class TestSettling:
    async def test_rows_that_need_no_request_get_none(self) -> None:
        """Invalid rows and duplicates are recorded without a request."""
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, journal = make_engine(clock, sender)
        records = [
            *rows("a", "b"),
            Record(4, {"text": "no target"}),
            Record(5, rows("a")[0].fields),
        ]
        tally = await clock.run(engine.run(records))
        assert sorted(text for _, text in sender.sends) == ["a", "b"]
        assert by_status(journal) == {"sent": [2, 3], "invalid": [4], "skipped": [5]}
        (skipped,) = [o for o in journal.outcomes if o.status == "skipped"]
        assert skipped.error == "duplicate of line 2: the same message, sent once (see that row)"
        assert (tally.rows, tally.sent, tally.invalid, tally.duplicates, tally.problems) == (
            4,
            2,
            1,
            1,
            1,
        )

    async def test_a_duplicate_is_recorded_even_when_its_original_was_sent_first(self) -> None:
        """The original may be sent and recorded before its twin is read: still this run's."""
        clock = VirtualTime()
        engine, journal = make_engine(clock, ScriptedSender(clock), rate=Rate(1))
        twin = rows("a")[0].fields
        filler = [Record(line, {"chat_id": line, "text": "x"}) for line in range(3, 30)]
        records = [*rows("a"), *filler, Record(30, twin)]  # more than the queue holds
        tally = await clock.run(engine.run(records))
        assert tally.duplicates == 1
        assert tally.earlier.total() == 0
        assert by_status(journal)["skipped"] == [30]

    async def test_outcomes_carry_what_the_api_said(self) -> None:
        clock = VirtualTime()
        engine, journal = make_engine(clock, ScriptedSender(clock, latency=0.25))
        await clock.run(engine.run(rows("a")))
        (outcome,) = journal.outcomes
        assert outcome == Outcome(
            "sent", outcome.key, 2, outcome.key, 1, "2026-01-01T00:00:00+00:00", None, "req", 200,
            None, 1, 250.0, "2026-05-28T20:26:40.000+00:00",
        )  # fmt: skip


class TestRetries:
    async def test_retryable_then_sent_keeps_the_same_body(self) -> None:
        clock = VirtualTime()
        script = {
            "flaky": [Reply("retry", 503, error="HTTP 503"), Reply("retry", error="dropped"), SENT]
        }
        sender = ScriptedSender(clock, script)
        engine, journal = make_engine(clock, sender)
        await clock.run(engine.run(rows("flaky")))
        (outcome,) = journal.outcomes
        assert (outcome.status, outcome.attempts) == ("sent", 3)
        assert [t for t, _ in sender.sends] == [0.0, 1.0, 3.0]  # backoff 1, then 2 (ceilings)

    async def test_refused_fails_after_one_attempt(self) -> None:
        clock = VirtualTime()
        refusal = Reply("failed", 400, "r", error="HTTP 400 bad_data: phone_number: opted out")
        sender = ScriptedSender(clock, {"x": [refusal]})
        engine, journal = make_engine(clock, sender)
        tally = await clock.run(engine.run(rows("x")))
        (outcome,) = journal.outcomes
        assert (outcome.status, outcome.attempts, outcome.http_status) == ("failed", 1, 400)
        assert outcome.error == "HTTP 400 bad_data: phone_number: opted out"
        assert tally.problems == 1

    async def test_gives_up_after_max_attempts(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, {"x": [Reply("retry", 500, error="HTTP 500")]})
        policy = RetryPolicy(3, base=1.0, cap=8.0, rng=MaxRandom())
        engine, journal = make_engine(clock, sender, policy=policy)
        await clock.run(engine.run(rows("x")))
        (outcome,) = journal.outcomes
        assert (outcome.status, outcome.attempts) == ("failed", 3)
        assert outcome.error == (
            "gave up after 3 attempts; last: HTTP 500; an attempt may have reached the API "
            "(a dropped connection, a timeout or a server error): --retry-failed looks it up "
            "first where it can, and sends it again with the same local_id"
        )
        assert outcome.in_doubt == "2026-05-28T20:26:40.000+00:00"  # the first attempt's
        assert outcome.record()["in_doubt"] == outcome.in_doubt
        assert len(sender.sends) == 3

    async def test_a_message_out_of_attempts_on_429s_while_nothing_gets_through_stops_the_run(
        self,
    ) -> None:
        """The run is stuck, not the row: stop, resumable, with nothing marked failed."""
        clock = VirtualTime()
        limited = Reply("retry", 429, error="HTTP 429")
        sender = ScriptedSender(clock, {f"t{i}": [limited] for i in range(20)})
        engine, journal = make_engine(clock, sender, policy=RetryPolicy(2, 1.0, 8.0, MaxRandom()))
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(20)))))
        assert engine.stuck == limited
        assert engine.stopped_by == "stuck"
        assert journal.outcomes == []
        assert STUCK_AFTER <= clock.now < STUCK_AFTER + 20  # two charged attempts after it

    async def test_no_connection_before_any_answer_costs_attempts_at_once(self) -> None:
        """A wrong --base-url stops in seconds, not after minutes of grace."""
        clock = VirtualTime()
        refused = Reply("retry", error="cannot connect: refused", connected=False)
        sender = ScriptedSender(clock, {f"t{i}": [refused] for i in range(5)})
        engine, journal = make_engine(clock, sender, policy=RetryPolicy(3, 1.0, 8.0, MaxRandom()))
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(5)))))
        assert engine.stuck == refused
        assert journal.outcomes == []
        assert clock.now < 10

    async def test_429s_cost_no_attempt_while_other_messages_get_through(self) -> None:
        """Unpaced into a limit: a message throttled more often than --max-attempts still goes."""
        clock = VirtualTime()
        limited = Reply("retry", 429, error="HTTP 429")
        script = {"x": [limited] * 5 + [SENT]}
        sender = ScriptedSender(clock, script, latency=0.01)
        policy = RetryPolicy(2, 0.01, 0.01, MaxRandom())
        engine, journal = make_engine(clock, sender, policy=policy, concurrency=2)
        await clock.run(engine.run(rows("x", *(f"t{i}" for i in range(40)))))
        (outcome,) = [o for o in journal.outcomes if o.row == 2]
        assert (outcome.status, outcome.attempts) == ("sent", 6)
        assert engine.stuck is None

    async def test_a_429_pauses_everyone_when_unpaced_then_paces_the_run(self) -> None:
        """Rate 0 obeys a 429 too: nobody sends while the pause lasts; after it the run goes
        at the documented limit (480/m, 8/s), not in bursts that meet the limit again."""
        clock = VirtualTime()
        sender = ScriptedSender(clock, {"t0": [Reply("retry", 429, error="HTTP 429"), SENT]})
        engine, _ = make_engine(clock, sender, rate=UNPACED, concurrency=4)
        with capture_logs() as logs:
            tally = await clock.run(engine.run(rows(*(f"t{i}" for i in range(8)))))
        times = sorted(t for t, _ in sender.sends)
        assert times[0] == 0.0  # unpaced: the 429 came back at once
        assert times[1:] == [1.0 + n / 8 for n in range(8)]  # the pause, then 8/s, no burst
        assert engine.tally.pauses == {"HTTP 429": 1}
        (warning,) = [e for e in logs if e["event"] == "429 unpaced"]
        assert "paced from now on at the documented limit" in warning["note"]
        assert tally.paced_after_429
        assert tally.rate_in_force == 8.0

    async def test_no_connection_pauses_everyone_and_never_claims_delivery(self) -> None:
        clock = VirtualTime()
        refused = Reply("retry", error="cannot connect: refused", connected=False)
        sender = ScriptedSender(clock, {"t0": [refused, SENT]})
        engine, journal = make_engine(clock, sender, rate=UNPACED, concurrency=1)
        await clock.run(engine.run(rows("t0", "t1")))
        assert [t for t, _ in sender.sends] == [0.0, 1.0, 1.0]
        assert engine.tally.pauses == {"no connection": 1}
        assert {o.status for o in journal.outcomes} == {"sent"}

    async def test_a_refusal_after_a_dropped_attempt_does_not_claim_it_may_have_been_sent(
        self,
    ) -> None:
        """The same body refused for good was refused the first time too."""
        clock = VirtualTime()
        dropped = Reply("retry", error="the server closed the connection without a response")
        refused = Reply("failed", 400, error="HTTP 400 bad_data: phone_number: opted out")
        engine, journal = make_engine(clock, ScriptedSender(clock, {"x": [dropped, refused]}))
        await clock.run(engine.run(rows("x")))
        assert journal.outcomes[0].error == "HTTP 400 bad_data: phone_number: opted out"

    async def test_429s_to_requests_already_in_flight_are_one_pause_not_a_streak(
        self,
    ) -> None:
        """Three in flight meet one full window: one pause of 1 s (not 1, 2 and 4 s); a 429 to
        a request sent after that pause grows the streak: 2 s."""
        clock = VirtualTime()
        limited = Reply("retry", 429, error="HTTP 429")
        script = {"t0": [limited, limited, SENT], "t1": [limited, SENT], "t2": [limited, SENT]}
        sender = ScriptedSender(clock, script, latency=0.05)
        engine, journal = make_engine(clock, sender, rate=Rate(100), concurrency=3)
        await clock.run(engine.run(rows("t0", "t1", "t2")))
        times = [round(t, 2) for t, _ in sender.sends]
        assert times == [0.0, 0.01, 0.02, 1.05, 1.06, 1.07, 3.1]
        assert [text for _, text in sender.sends][-1] == "t0"
        assert {o.status for o in journal.outcomes} == {"sent"}
        assert engine.tally.pauses == {"HTTP 429": 2}

    async def test_a_429_pauses_every_message(self) -> None:
        """Nobody sends during the pause; after it, the schedule goes on at the rate."""
        clock = VirtualTime()
        sender = ScriptedSender(
            clock, {"t3": [Reply("retry", 429, error="HTTP 429"), SENT]}, latency=0.05
        )
        engine, _ = make_engine(clock, sender, rate=Rate(10), concurrency=8)
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(30)))))
        times = [t for t, _ in sender.sends]
        hit = next(t for t, text in sender.sends if text == "t3") + 0.05  # when the 429 came back
        assert not [t for t in times if hit < t < hit + 1.0]  # paused for the backoff (1 s)
        assert min(t for t in times if t > hit) == pytest.approx(hit + 1.0)
        assert engine.tally.pauses == {"HTTP 429": 1}

    async def test_retry_after_is_honoured_by_everyone(self) -> None:
        clock = VirtualTime()
        busy = Reply("retry", 503, error="HTTP 503", retry_after=6.0)
        sender = ScriptedSender(clock, {"t0": [busy, SENT]})
        engine, _ = make_engine(clock, sender, rate=Rate(10), concurrency=8)
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(20)))))
        times = sorted(t for t, _ in sender.sends)
        assert times[1] == pytest.approx(6.0)  # the second request waited for Retry-After
        assert engine.tally.pauses == {"Retry-After on HTTP 503": 1}

    async def test_other_errors_back_off_only_their_own_message(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, {"t0": [Reply("retry", 503, error="HTTP 503"), SENT]})
        engine, _ = make_engine(clock, sender, rate=Rate(10), concurrency=8)
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(20)))))
        retried_at = [t for t, text in sender.sends if text == "t0"]
        others_meanwhile = [t for t, text in sender.sends if text != "t0" and 0 < t < retried_at[1]]
        assert retried_at[1] >= 1.0
        assert len(others_meanwhile) >= 9
        assert not engine.tally.pauses


class TestPacing:
    async def test_rate_at_the_engine(self) -> None:
        """With slow responses and 16 in flight: the asked rate ±1%, never rate+1 a second."""
        clock = VirtualTime()
        sender = ScriptedSender(clock, latency=0.8)
        engine, journal = make_engine(clock, sender, rate=Rate(8), concurrency=16)
        await clock.run(engine.run(rows(*(f"m{i}" for i in range(400)))))
        times = sorted(t for t, _ in sender.sends)
        assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(8, rel=0.01)
        assert max(bisect.bisect_right(times, t + 1.0) - i for i, t in enumerate(times)) <= 9
        assert len(journal.outcomes) == 400
        assert engine.tally.mean_rate == pytest.approx(8, rel=0.01)


class TestResume:
    def journal_with(self, statuses: dict[str, Status]) -> MemoryJournal:
        return MemoryJournal(JournalState(statuses=Statuses(statuses)))

    async def keys(self, texts: tuple[str, ...]) -> dict[str, str]:
        clock = VirtualTime()
        engine, journal = make_engine(clock, ScriptedSender(clock))
        await clock.run(engine.run(rows(*texts)))
        return {str(o.row): o.key for o in journal.outcomes}

    async def test_recorded_rows_are_not_sent_again(self) -> None:
        keys = await self.keys(("a", "b", "c", "d"))
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        earlier = self.journal_with({keys["2"]: "sent", keys["3"]: "failed", keys["4"]: "sent"})
        engine, journal = make_engine(clock, sender, journal=earlier)
        tally = await clock.run(engine.run(rows("a", "b", "c", "d")))
        assert [text for _, text in sender.sends] == ["d"]
        assert tally.earlier == {"sent": 2, "failed": 1}
        assert [outcome.row for outcome in journal.outcomes] == [5]
        assert tally.problems == 1  # the earlier failure still counts against the exit code

    async def test_retry_failed_sends_failed_rows_again(self) -> None:
        keys = await self.keys(("a", "b"))
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        earlier = self.journal_with({keys["2"]: "sent", keys["3"]: "failed"})
        engine, journal = make_engine(clock, sender, journal=earlier, retry_failed=True)
        tally = await clock.run(engine.run(rows("a", "b")))
        assert [text for _, text in sender.sends] == ["b"]
        assert journal.statuses[keys["3"]] == "sent"
        assert tally.problems == 0

    async def test_an_unchanged_invalid_row_is_not_recorded_twice(self) -> None:
        clock = VirtualTime()
        bad = [Record(2, {"text": "no target"})]
        engine, journal = make_engine(clock, ScriptedSender(clock))
        await clock.run(engine.run(bad))
        again, journal2 = make_engine(
            clock, ScriptedSender(clock), journal=MemoryJournal(journal.state)
        )
        tally = await clock.run(again.run(bad))
        assert journal2.outcomes == []
        assert tally.earlier == {"invalid": 1}
        assert tally.problems == 1


class TestStopping:
    async def test_unauthorized_stops_the_run_and_marks_nothing_failed(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(
            clock, {f"t{i}": [Reply("unauthorized", 401, error="HTTP 401")] for i in range(50)}
        )
        engine, journal = make_engine(clock, sender, rate=Rate(10))
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(50)))))
        assert engine.unauthorized is not None
        assert journal.outcomes == []
        assert len(sender.sends) < 50

    async def test_a_refused_request_is_marked_not_committed_for_the_next_run(self) -> None:
        """A 401 is an answer: the next run sent it at once, where it waited --timeout to look
        up a message "whose answer was lost" (a trial: 27 s)."""
        clock = VirtualTime()
        refused = ScriptedSender(clock, {"a": [Reply("unauthorized", 401, error="HTTP 401")]})
        engine, journal = make_engine(clock, refused, concurrency=1)
        await clock.run(engine.run(rows("a", "b")))
        keys = await TestResume().keys(("a",))
        marked = [m for m in journal.markers if m["type"] == "not_committed"]
        assert [(m["key"], m["row"]) for m in marked] == [(keys["2"], 2)]
        state = JournalState()
        for record in [{"type": "attempt", "key": keys["2"], "at": "x"}, *marked]:
            state.apply(record)
        assert state.in_doubt == {}

    async def test_a_refusal_leaves_an_earlier_runs_doubt_as_it_was(self) -> None:
        """In doubt from a run before (a list broadcast that timed out, never looked up): a
        401 now says nothing of that attempt (a review)."""
        keys = await TestResume().keys(("a",))
        state = JournalState()
        state.apply({"type": "attempt", "key": keys["2"], "at": "2026-11-27T08:00:00+00:00"})
        clock = VirtualTime()
        refused = ScriptedSender(clock, {"a": [Reply("unauthorized", 401, error="HTTP 401")]})
        engine, journal = make_engine(clock, refused, journal=MemoryJournal(state))
        await clock.run(engine.run(rows("a")))
        assert engine.unauthorized is not None
        assert not [m for m in journal.markers if m["type"] == "not_committed"]

    async def test_a_refusal_after_an_answer_that_may_have_gone_leaves_it_in_doubt(
        self,
    ) -> None:
        clock = VirtualTime()
        lost = Reply("retry", error="the server closed the connection without a response")
        refused = ScriptedSender(clock, {"a": [lost, Reply("unauthorized", 401, error="HTTP 401")]})
        engine, journal = make_engine(clock, refused, concurrency=1)
        await clock.run(engine.run(rows("a")))
        assert engine.unauthorized is not None
        assert not [m for m in journal.markers if m["type"] == "not_committed"]

    async def test_first_stop_lets_requests_in_flight_finish(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, latency=1.5)
        engine, journal = make_engine(clock, sender, rate=Rate(2), concurrency=8)
        await clock.run(run_with_signals(clock, engine, [(2.2, "SIGINT")]))
        started = [t for t, _ in sender.sends]
        assert started == [0.0, 0.5, 1.0, 1.5, 2.0]  # nothing left after the stop at 2.2
        assert len(journal.outcomes) == 5  # each request in flight finished and was recorded
        assert engine.stopped_by == "SIGINT"

    async def test_a_second_stop_cancels_at_once(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, latency=30.0)
        engine, journal = make_engine(clock, sender, rate=Rate(2), concurrency=8)
        await clock.run(run_with_signals(clock, engine, [(1.2, "SIGINT"), (1.7, "SIGINT")]))
        assert len(sender.sends) == 3
        assert journal.outcomes == []  # cancelled in flight: unrecorded, so resumable
        assert clock.now < 30

    async def test_the_grace_period_ends_in_an_abort(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, latency=60.0)
        engine, journal = make_engine(clock, sender, rate=Rate(2), concurrency=8, grace=4.0)
        await clock.run(run_with_signals(clock, engine, [(1.2, "SIGTERM")]))
        assert journal.outcomes == []
        assert clock.now == pytest.approx(5.2)


DROPPED = Reply("retry", error="the server closed the connection without a response")
THROTTLED = Reply("retry", 429, error="HTTP 429 rate_limited")


class LookingSender(ScriptedSender):
    """Commits every message it answers ``sent`` or ``DROPPED`` (after committing), and shows
    each phone's committed messages as the API's history does; ``lookups`` answers the
    history's requests in turn (the last repeats), None meaning the history itself."""

    def __init__(
        self,
        clock: VirtualTime,
        script: Mapping[str, list[Reply]] | None = None,
        lookups: list[Page | None] | None = None,
    ) -> None:
        super().__init__(clock, script)
        self.committed: dict[str, list[dict[str, object]]] = {}
        self.lookups = lookups or [None]
        self.asked: list[str] = []
        self.asked_at: list[float] = []  # when each page was asked for

    async def send(self, body: Mapping[str, object]) -> Reply:
        reply = await super().send(body)
        if (reply.verdict == "sent" or reply is DROPPED) and "phone_number" in body:
            n = sum(len(m) for m in self.committed.values()) + 1
            date = "2026-05-28T20:26:40+00:00"  # make_engine's wall clock
            message = {"id": 9000 + n, "local_id": body["local_id"], "date": date}
            self.committed.setdefault(str(body["phone_number"]), []).insert(0, message)
        return reply

    async def messages(self, phone: str, inbox: int, before: int | None) -> Page:
        assert inbox == 101
        assert before is None
        self.asked.append(phone)
        self.asked_at.append(self.clock.now)
        answer = self.lookups.pop(0) if len(self.lookups) > 1 else self.lookups[0]
        return answer or Page(self.committed.get(phone, []), request_id="history")


class LimitedSender:
    """An API whose limit is a sliding window of 300 a minute: 429 beyond it."""

    def __init__(self, clock: VirtualTime, limit: Rate) -> None:
        self.window = RollingWindow(limit, clock.clock)
        self.clock = clock
        self.answers: list[tuple[float, int]] = []

    async def send(self, body: Mapping[str, object]) -> Reply:  # noqa: ARG002 - any body
        await self.clock.sleep(0.05)
        status = 429 if self.window.admit() is not None else 200
        self.answers.append((self.clock.now, status))
        return THROTTLED if status == 429 else SENT


class TestAdaptiveRate:
    async def run_against_a_lower_limit(self, *, adaptive: bool) -> tuple[Engine, LimitedSender]:
        clock = VirtualTime()
        sender = LimitedSender(clock, Rate(300, 60))
        policy = RetryPolicy(8, base=0.5, cap=30.0, rng=random.Random(7))
        engine, _ = make_engine(clock, sender, rate=Rate(480, 60), policy=policy, adaptive=adaptive)
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(2000)))))
        return engine, sender

    async def test_a_limit_below_the_rate_settles_near_it_with_a_handful_of_429s(self) -> None:
        """480/m asked, 300/m allowed: the rate comes down and climbs back; over the last
        minutes it holds just under the limit, and 429s are a few a run, not hundreds."""
        engine, sender = await self.run_against_a_lower_limit(adaptive=True)
        throttled = [at for at, status in sender.answers if status == 429]
        sent = [at for at, status in sender.answers if status == 200]
        assert len(sent) == 2000
        end = sent[-1]
        last = [at for at in sent if at > end - 300]  # the last five minutes
        per_minute = len(last) / 5
        assert 260 <= per_minute <= 300
        assert len(throttled) < 20
        assert engine.tally.rate_lowered >= 3
        assert engine.tally.rate_in_force is not None
        assert engine.tally.rate_in_force < 300 / 60

    async def test_a_fixed_rate_keeps_bumping_into_the_limit(self) -> None:
        """The comparison: the same run at a fixed 480/m (the pauses alone) meets more
        than twice as many 429s (three times, on longer runs)."""
        adapted, _ = await self.run_against_a_lower_limit(adaptive=True)
        engine, sender = await self.run_against_a_lower_limit(adaptive=False)
        throttled = [at for at, status in sender.answers if status == 429]
        assert len(throttled) > 2 * adapted.tally.pauses["HTTP 429"]
        assert engine.tally.rate_lowered == 0
        assert engine.tally.rate_in_force is None


class TestRowsInDoubt:
    async def test_an_answer_lost_after_a_commit_is_found_not_sent_again(self) -> None:
        clock = VirtualTime()
        sender = LookingSender(clock, {"b": [DROPPED, SENT]})
        engine, journal = make_engine(clock, sender)
        tally = await clock.run(engine.run(rows("a", "b", "c")))
        assert sorted(text for _, text in sender.sends) == ["a", "b", "c"]  # b once
        (found,) = [o for o in journal.outcomes if o.found_in_history]
        assert (found.row, found.status, found.id, found.attempts) == (3, "sent", 9002, 1)
        assert (found.request_id, found.error) == ("history", None)
        assert found.record()["found_in_history"] is True
        assert (tally.sent, tally.looked_up, tally.found, tally.untold) == (3, 1, 1, 0)
        marked = [m["key"] for m in journal.markers if m["type"] == "attempt"]
        assert sorted(marked) == sorted(o.key for o in journal.outcomes)

    async def test_a_request_refused_before_it_was_processed_is_not_looked_up(self) -> None:
        """A 429 or a connection never made cannot have been committed: no lookup."""
        clock = VirtualTime()
        refused = Reply("retry", error="cannot connect", connected=False)
        sender = LookingSender(clock, {"a": [THROTTLED, refused, SENT]})
        engine, _ = make_engine(clock, sender)
        tally = await clock.run(engine.run(rows("a")))
        assert (tally.sent, tally.looked_up, len(sender.sends)) == (1, 0, 3)

    async def test_not_found_is_sent_again_with_the_same_local_id(self) -> None:
        clock = VirtualTime()
        lost = Reply("retry", 502, error="HTTP 502")  # not committed by this sender
        sender = LookingSender(clock, {"a": [lost, SENT]})
        engine, journal = make_engine(clock, sender)
        tally = await clock.run(engine.run(rows("a")))
        assert (tally.sent, tally.looked_up, tally.found, len(sender.sends)) == (1, 1, 0, 2)
        (outcome,) = journal.outcomes
        assert not outcome.found_in_history
        assert outcome.attempts == 2

    async def test_a_lookup_met_by_a_429_pauses_everyone_and_is_tried_again(self) -> None:
        """The answer was lost after a commit; the first lookup meets a 429: everyone pauses,
        the lookup goes again and finds the message, which is not sent a second time."""
        clock = VirtualTime()
        sender = LookingSender(clock, {"a": [DROPPED, SENT]}, [Page(failure=THROTTLED), None])
        engine, journal = make_engine(clock, sender)
        tally = await clock.run(engine.run(rows("a")))
        assert (tally.looked_up, tally.found, tally.pauses["HTTP 429"]) == (1, 1, 1)
        assert len(sender.asked) == 2  # the page met by the 429, then the one that found it
        assert len(sender.sends) == 1
        assert [m["type"] for m in journal.markers] == ["attempt", "pause"]

    async def test_a_lookup_that_keeps_failing_is_untold_and_the_message_goes_again(
        self,
    ) -> None:
        clock = VirtualTime()
        lost = Reply("retry", 500, error="HTTP 500")
        failing = Page(failure=Reply("retry", 503, error="HTTP 503"))
        sender = LookingSender(clock, {"a": [lost, SENT]}, [failing])
        engine, _ = make_engine(clock, sender)
        with capture_logs() as logs:
            tally = await clock.run(engine.run(rows("a")))
        assert (tally.looked_up, tally.untold, len(sender.sends)) == (1, 1, 2)
        assert len(sender.asked) == 3  # tried three times
        (untold,) = [e for e in logs if e["event"] == "lookup untold"]
        assert untold["reason"] == "the lookup failed: HTTP 503"

    async def test_a_timed_out_attempt_is_given_its_timeout_again_before_the_lookup(
        self,
    ) -> None:
        """The API may still be working on a request that timed out: the lookup waits as
        long again (30 s); after a dropped connection only the backoff."""
        clock = VirtualTime()
        timed_out = Reply("retry", error="no response within 30s", timed_out=True)
        sender = LookingSender(clock, {"a": [timed_out, SENT], "b": [DROPPED, SENT]})
        engine, _ = make_engine(clock, sender, concurrency=1)
        await clock.run(engine.run(rows("a", "b")))
        seen = sender.asked_at
        assert seen[0] >= 30.0
        assert seen[1] - seen[0] < 2.0

    async def test_the_last_attempt_in_doubt_is_looked_up_before_it_fails(self) -> None:
        clock = VirtualTime()
        sender = LookingSender(clock, {"a": [DROPPED]})
        policy = RetryPolicy(1, base=1.0, cap=8.0, rng=MaxRandom())
        engine, journal = make_engine(clock, sender, policy=policy)
        tally = await clock.run(engine.run(rows("a")))
        (outcome,) = journal.outcomes
        assert (outcome.status, outcome.attempts, outcome.found_in_history) == ("sent", 1, True)
        assert (tally.looked_up, tally.found, len(sender.sends)) == (1, 1, 1)

    async def test_out_of_attempts_and_not_found_fails_still_in_doubt(self) -> None:
        clock = VirtualTime()
        sender = LookingSender(clock, {"a": [Reply("retry", 502, error="HTTP 502")]})
        policy = RetryPolicy(1, base=1.0, cap=8.0, rng=MaxRandom())
        engine, journal = make_engine(clock, sender, policy=policy)
        tally = await clock.run(engine.run(rows("a")))
        (outcome,) = journal.outcomes
        # Nothing found now cannot rule out a commit still on its way: it stays in doubt.
        assert (outcome.status, tally.looked_up) == ("failed", 1)
        assert outcome.in_doubt == "2026-05-28T20:26:40.000+00:00"

    async def test_a_row_in_doubt_from_the_journal_is_looked_up_before_it_is_sent(self) -> None:
        """After a crash with a request in flight: found, it is recorded with no request; not
        found, it is sent."""
        clock = VirtualTime()
        first = LookingSender(clock)
        engine, journal = make_engine(clock, first)
        await clock.run(engine.run(rows("a", "b")))
        keys = [o.key for o in journal.outcomes]
        state = JournalState()
        state.in_doubt.update(dict.fromkeys(keys, "2026-05-28T20:26:40.000+00:00"))
        first.committed["14155550003"] = []  # b's commit never happened: only a's did
        again = LookingSender(clock)
        again.committed = first.committed
        engine, journal = make_engine(clock, again, journal=MemoryJournal(state))
        tally = await clock.run(engine.run(rows("a", "b")))
        assert [text for _, text in again.sends] == ["b"]
        assert (tally.sent, tally.looked_up, tally.found) == (2, 2, 1)
        found, sent = sorted(journal.outcomes, key=lambda o: o.row)
        assert (found.found_in_history, found.attempts, found.id) == (True, 1, 9001)
        assert (sent.found_in_history, sent.attempts) == (False, 1)
        assert [m["key"] for m in journal.markers if m["type"] == "attempt"] == [keys[1]]

    async def test_progress_says_what_the_rows_in_flight_at_a_crash_wait_for(self) -> None:
        """They wait --timeout since their attempt before the lookup: the ticks go on, saying
        so, and the ETA counts the wait (a trial saw 21 s of silence at "ETA 3s")."""
        clock = VirtualTime()
        state = JournalState()
        planned = [plan(record, DEFAULTS) for record in rows("a", "b")]
        state.in_doubt.update({p.key: "2026-05-28T20:26:40.000+00:00" for p in planned})
        engine, _ = make_engine(clock, LookingSender(clock), journal=MemoryJournal(state))
        seen: list[tuple[str | None, float | None, int]] = []
        tally = await clock.run(
            engine.run(
                rows("a", "b"),
                lambda t, _: seen.append((t.waiting, t.wait_left, t.awaiting_lookup)),
            )
        )
        assert ("2 messages in flight at the crash: looked up in 30s", 30.0, 2) in seen
        assert len(seen) >= 30  # a tick a second all along
        assert tally.sent == 2
        assert seen[-1] == (None, None, 0)

    def test_the_lookups_awaited_are_counted_only_while_they_are(self) -> None:
        """A window's wait that follows them gets none of their count (its ETA is the wait
        plus the rows, none going meanwhile), nor does the rest of the run."""
        clock = VirtualTime()
        engine, _ = make_engine(clock, LookingSender(clock))
        wall = 1_780_000_000.0  # make_engine's wall clock
        engine._settling = {"a": wall + 20, "b": wall + 25}
        engine._note_waiting()
        assert (engine.tally.wait_left, engine.tally.awaiting_lookup) == (25, 2)
        engine._settling = {}
        engine._window_until = wall + 3600
        engine._note_waiting()
        assert (engine.tally.wait_left, engine.tally.awaiting_lookup) == (3600, 0)

    async def test_a_request_that_never_left_is_not_marked(self) -> None:
        """Stopped while workers wait their turn in the schedule: only the requests that left
        are marked, so nothing that never left is in doubt afterwards."""
        clock = VirtualTime()
        sender = LookingSender(clock)
        engine, journal = make_engine(clock, sender, rate=Rate(1), concurrency=4)
        await clock.run(run_with_signals(clock, engine, [(2.5, "SIGTERM")]))
        marked = [m["key"] for m in journal.markers if m["type"] == "attempt"]
        assert len(sender.sends) == len(marked) == 3
        assert sorted(marked) == sorted(o.key for o in journal.outcomes)

    async def test_a_send_with_no_conversation_is_neither_marked_nor_looked_up(self) -> None:
        clock = VirtualTime()
        sender = LookingSender(clock, {"a": [DROPPED, SENT]})
        engine, journal = make_engine(clock, sender)
        chat = [Record(2, {"chat_id": "77", "text": "a"})]
        tally = await clock.run(engine.run(chat))
        assert (tally.sent, tally.looked_up, len(sender.sends)) == (1, 0, 2)
        assert journal.markers == []


NOT_FOUND = Reply("failed", 404, "req", error="HTTP 404 not_found: inbox 999")
OPTED_OUT = Reply("failed", 400, "req", error="HTTP 400 bad_data: the contact has opted out")


class TestCircuitBreaker:
    async def test_a_run_whose_every_message_fails_stops_after_n_in_a_row(self) -> None:
        """A wrong inbox: 5 failures in a row stop it; requests in flight finish and are
        recorded; the rest are neither sent nor recorded, so a resume sends them."""
        clock = VirtualTime()
        texts = [f"t{i}" for i in range(40)]
        sender = ScriptedSender(clock, {t: [NOT_FOUND] for t in texts}, latency=0.5)
        engine, journal = make_engine(clock, sender, rate=Rate(10), concurrency=3, halt_on_errors=5)
        with capture_logs() as logs:
            tally = await clock.run(engine.run(rows(*texts)))
        assert engine.halted == "5 messages failed in a row (last: HTTP 404 not_found: inbox 999)"
        assert engine.stopped_by == "halt"
        # Three in flight, 0.5 s each: the 5th failure ends at 1.1 s, when the requests sent
        # at 0.7 s and 1.0 s are in flight; they finish and are recorded, and nothing else.
        assert len(sender.sends) == 7
        assert by_status(journal) == {"failed": list(range(2, 9))}
        assert tally.failed == 7
        (mark,) = [m for m in journal.markers if m["type"] == "halt"]
        assert mark["reason"] == engine.halted
        assert mark["row"] == 6
        assert [e["event"] for e in logs if e["log_level"] == "error"] == ["halting"]

    async def test_a_message_sent_between_failures_keeps_it_closed(self) -> None:
        clock = VirtualTime()
        script = {f"t{i}": [NOT_FOUND] for i in range(40) if i % 4}
        engine, journal = make_engine(clock, ScriptedSender(clock, script), halt_on_errors=4)
        await clock.run(engine.run(rows(*(f"t{i}" for i in range(40)))))
        assert engine.halted is None
        assert engine.stopped_by is None
        assert len(journal.outcomes) == 40

    async def test_opt_outs_ignored_do_not_trip_it(self) -> None:
        clock = VirtualTime()
        texts = [f"t{i}" for i in range(30)]
        sender = ScriptedSender(clock, {t: [OPTED_OUT] for t in texts})
        engine, journal = make_engine(clock, sender, halt_on_errors=3, halt_on_fail_rate=10)
        await clock.run(engine.run(rows(*texts)))
        assert engine.halted is None
        assert by_status(journal) == {"failed": list(range(2, 32))}

    async def test_a_fail_rate_over_the_window_stops_it(self) -> None:
        """One message in three failing: 30% trips at the 30th failure, the 88th message."""
        clock = VirtualTime()
        texts = [f"t{i}" for i in range(300)]
        script = {t: [NOT_FOUND] for i, t in enumerate(texts) if i % 3 == 0}
        engine, journal = make_engine(
            clock, ScriptedSender(clock, script), concurrency=1, halt_on_fail_rate=30
        )
        await clock.run(engine.run(rows(*texts)))
        assert engine.halted is not None
        assert engine.halted.startswith("30 of the last 88 messages failed, 30% of 100")
        assert len(journal.outcomes) == 88


class TestKeysPastMemory:
    async def test_twins_and_a_resume_tell_keys_apart_when_most_are_in_the_file(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Memory holds one key, the file the rest: the triage's keys and the journal's alike."""
        monkeypatch.setattr(keytable, "MEMORY_KEYS", 1)
        clock = VirtualTime()
        texts = ("a", "b", "c", "d")
        twins = [Record(6, {"phone_number": "14155550004", "text": "c"})]
        refused = ScriptedSender(clock, {"c": [Reply("unauthorized", 401, error="HTTP 401")]})
        first, journal = make_engine(clock, refused, concurrency=1)
        await clock.run(first.run([*rows(*texts), *twins]))
        assert by_status(journal) == {"sent": [2, 3]}  # the 401 stopped it at c: no twin yet
        sender = ScriptedSender(clock)
        again, journal2 = make_engine(clock, sender, journal=MemoryJournal(journal.state))
        more = [Record(7, {"phone_number": "14155550005", "text": "d"})]
        tally = await clock.run(again.run([*rows(*texts), *twins, *more]))
        assert sorted(text for _, text in sender.sends) == ["c", "d"]
        assert by_status(journal2) == {"sent": [4, 5], "skipped": [6, 7]}
        assert (tally.sent, tally.duplicates, tally.earlier.total()) == (2, 2, 2)


class TestDuplicates:
    async def test_a_duplicate_is_not_recorded_while_its_message_has_not_ended(self) -> None:
        """A wrong key stops the first run: the twin must not settle the unsent message."""
        clock = VirtualTime()
        refused = ScriptedSender(clock, {"a": [Reply("unauthorized", 401, error="HTTP 401")]})
        engine, journal = make_engine(clock, refused, concurrency=1)
        twin = rows("a")[0].fields
        records = [*rows("a"), Record(3, twin)]
        await clock.run(engine.run(records))
        assert journal.outcomes == []
        sender = ScriptedSender(clock)
        again, journal2 = make_engine(clock, sender, journal=MemoryJournal(journal.state))
        tally = await clock.run(again.run(records))
        assert [text for _, text in sender.sends] == ["a"]
        assert by_status(journal2) == {"sent": [2], "skipped": [3]}
        assert (tally.sent, tally.duplicates, tally.earlier.total()) == (1, 1, 0)

    async def test_a_duplicate_is_recorded_right_after_its_message_ends(self) -> None:
        clock = VirtualTime()
        refusal = Reply("failed", 400, error="HTTP 400 bad_data")
        engine, journal = make_engine(clock, ScriptedSender(clock, {"a": [refusal]}, latency=1.0))
        await clock.run(engine.run([*rows("a"), Record(3, rows("a")[0].fields)]))
        assert [(o.status, o.row) for o in journal.outcomes] == [("failed", 2), ("skipped", 3)]

    async def test_a_stop_leaves_waiting_duplicates_unrecorded_and_counted_as_left(self) -> None:
        clock = VirtualTime()
        engine, journal = make_engine(clock, ScriptedSender(clock, latency=30.0), rate=Rate(2))
        twins = [Record(line, rows("t0")[0].fields) for line in range(50, 53)]

        async def stop_soon() -> None:
            await clock.sleep(0.2)
            engine.stop("SIGINT")
            await clock.sleep(0.1)
            engine.stop("SIGINT")  # the second stop aborts the request in flight

        stopper = asyncio.ensure_future(stop_soon())
        await clock.run(engine.run([*rows("t0"), *twins]))
        await stopper
        assert journal.outcomes == []
        assert engine.tally.unsettled == engine.tally.rows == 4
        assert engine.tally.cut_off == 1  # t0's request: the summary says it is in doubt

    async def test_a_resumed_run_records_only_the_duplicates_beyond_those_recorded(self) -> None:
        """Told apart by count: three twins, one already recorded, two recorded now."""
        clock = VirtualTime()
        first, journal = make_engine(clock, ScriptedSender(clock))
        twin = rows("a")[0].fields
        await clock.run(first.run([*rows("a"), Record(3, twin)]))
        sender = ScriptedSender(clock)
        again, journal2 = make_engine(clock, sender, journal=MemoryJournal(journal.state))
        tally = await clock.run(again.run([*rows("a"), *(Record(n, twin) for n in (3, 4, 5))]))
        assert sender.sends == []
        assert by_status(journal2) == {"skipped": [4, 5]}
        assert tally.earlier == {"sent": 1, "skipped": 1}

    async def test_a_skipped_record_alone_never_settles_its_message(self) -> None:
        """A journal written before this rule (the twin recorded first) still sends it."""
        keys = await TestResume().keys(("a",))
        clock = VirtualTime()
        state = JournalState()
        state.note(keys["2"], "skipped")
        sender = ScriptedSender(clock)
        engine, _ = make_engine(clock, sender, journal=MemoryJournal(state))
        await clock.run(engine.run(rows("a")))
        assert [text for _, text in sender.sends] == ["a"]

    async def test_identical_invalid_rows_are_each_recorded_once_and_never_called_earlier(
        self,
    ) -> None:
        clock = VirtualTime()
        bad = [Record(2, {"text": "no target"}), Record(3, {"text": "no target"})]
        engine, journal = make_engine(clock, ScriptedSender(clock))
        tally = await clock.run(engine.run(bad))
        assert by_status(journal) == {"invalid": [2, 3]}
        assert (tally.invalid, tally.earlier.total()) == (2, 0)
        again, journal2 = make_engine(
            clock, ScriptedSender(clock), journal=MemoryJournal(journal.state)
        )
        tally = await clock.run(again.run(bad))
        assert journal2.outcomes == []
        assert tally.earlier == {"invalid": 2}

    async def test_a_reused_local_id_for_another_message_is_invalid(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, journal = make_engine(clock, sender)
        own = {"phone_number": "14155550100", "local_id": "order-1"}
        records = [
            Record(2, {**own, "text": "a"}),
            Record(3, {**own, "text": "b"}),
            Record(4, {**own, "text": "a"}),
        ]
        await clock.run(engine.run(records))
        assert [text for _, text in sender.sends] == ["a"]
        assert by_status(journal) == {"sent": [2], "invalid": [3], "skipped": [4]}
        (invalid,) = [o for o in journal.outcomes if o.status == "invalid"]
        assert invalid.error == "local_id: order-1 is already used by line 2 for another message"

    async def test_every_row_ends_with_exactly_one_record(self) -> None:
        clock = VirtualTime()
        messages = [rows(f"t{i}")[0].fields for i in range(7)]
        twins = [Record(line, messages[line % 7]) for line in range(2, 62)]  # 53 duplicates
        engine, journal = make_engine(clock, ScriptedSender(clock, latency=0.3), rate=Rate(20))
        records = [*twins, Record(99, {"text": "no target"})]
        tally = await clock.run(engine.run(records))
        assert sorted(o.row for o in journal.outcomes) == [r.line for r in records]
        assert (tally.sent, tally.duplicates, tally.invalid, tally.unsettled) == (7, 53, 1, 0)


class TestVerbose:
    async def test_each_attempt_is_one_debug_event_with_what_came_back(self) -> None:
        clock = VirtualTime()
        busy = Reply("retry", 503, "req-1", error="HTTP 503")
        sender = ScriptedSender(clock, {"x": [busy, Reply("sent", 200, "req-2", id=7)]}, 0.25)
        engine, journal = make_engine(clock, sender)
        structlog.reset_defaults()
        with capture_logs() as logs:
            await clock.run(engine.run(rows("x")))
        key = journal.outcomes[0].key
        attempts = [entry for entry in logs if entry["event"] == "attempt"]
        assert attempts == [
            {
                "event": "attempt",
                "log_level": "debug",
                "key": key,
                "row": 2,
                "attempt": 1,
                "http_status": 503,
                "verdict": "retry",
                "latency_ms": 250.0,
                "request_id": "req-1",
                "error": "HTTP 503",
            },
            {
                "event": "attempt",
                "log_level": "debug",
                "key": key,
                "row": 2,
                "attempt": 2,
                "http_status": 200,
                "verdict": "sent",
                "latency_ms": 250.0,
                "request_id": "req-2",
            },
        ]

    async def test_free_attempts_are_numbered_too(self) -> None:
        """A 429 costs no attempt while others get through, but it is an attempt made."""
        clock = VirtualTime()
        sender = ScriptedSender(clock, {"x": [Reply("retry", 429, error="HTTP 429"), SENT]})
        engine, _ = make_engine(clock, sender, concurrency=1)
        structlog.reset_defaults()
        with capture_logs() as logs:
            await clock.run(engine.run(rows("t0", "x")))
        numbers = [(e["row"], e["attempt"]) for e in logs if e["event"] == "attempt"]
        assert numbers == [(2, 1), (3, 1), (3, 2)]

    async def test_at_info_no_attempt_event_is_even_built(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The level is read once a run: below it, the hot path builds nothing."""

        def never(*_: object) -> None:
            raise AssertionError("an attempt event built at INFO")

        monkeypatch.setattr(engine_module, "_log_attempt", never)
        clock = VirtualTime()
        engine, journal = make_engine(clock, ScriptedSender(clock))
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        with capture_logs() as logs:
            await clock.run(engine.run(rows("a", "b", "c")))
        assert len(journal.outcomes) == 3
        assert not [entry for entry in logs if entry["log_level"] == "debug"]


class TestTicks:
    async def test_each_tick_says_the_pause_in_force_and_the_last_one_ends_the_run(
        self,
    ) -> None:
        """t3 leaves at 0.3 s and meets a 429: a 4 s pause, seen by the ticks at 1 to 4 s."""
        clock = VirtualTime()
        sender = ScriptedSender(clock, {"t3": [Reply("retry", 429, error="HTTP 429"), SENT]})
        policy = RetryPolicy(8, base=4.0, cap=8.0, rng=MaxRandom())
        engine, _ = make_engine(clock, sender, rate=Rate(10), concurrency=2, policy=policy)
        ticks: list[tuple[float, int, Pause | None]] = []

        def tick(tally: Tally, pause: Pause | None) -> None:
            ticks.append((clock.now, tally.settled, pause))

        await clock.run(engine.run(rows(*(f"t{i}" for i in range(10))), tick))
        paused = [(now, pause) for now, _, pause in ticks if pause is not None]
        assert [now for now, _ in paused] == [1.0, 2.0, 3.0, 4.0]
        assert [round(pause.left, 6) for _, pause in paused] == [3.3, 2.3, 1.3, 0.3]
        assert {pause.cause for _, pause in paused} == {"HTTP 429"}
        assert ticks[-1][1:] == (10, None)  # the final figures, after the last tick of time


class TestConcurrencyWarning:
    async def test_too_few_requests_in_flight_for_the_rate_are_warned_of_once(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, latency=1.0)
        engine, _ = make_engine(clock, sender, rate=Rate(10), concurrency=2)
        structlog.reset_defaults()
        with capture_logs() as logs:
            await clock.run(engine.run(rows(*(f"t{i}" for i in range(60)))))
        (warning,) = [entry for entry in logs if entry["event"] == "concurrency too low"]
        assert warning["note"] == (
            "--concurrency 2 at 1000 ms mean latency sends at most 2.00/s, below --rate 10/s: "
            "raise --concurrency to 13 or more"
        )

    async def test_enough_requests_in_flight_are_not_warned_of(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock, latency=1.0)
        engine, _ = make_engine(clock, sender, rate=Rate(10), concurrency=16)
        structlog.reset_defaults()
        with capture_logs() as logs:
            await clock.run(engine.run(rows(*(f"t{i}" for i in range(60)))))
        assert not [entry for entry in logs if entry["event"] == "concurrency too low"]

    async def test_a_local_id_keeps_the_message_it_was_sent_for_when_rows_move(self) -> None:
        """Swapped rows: the message sent under order-1 stays settled, the other is invalid."""
        clock = VirtualTime()
        own = {"phone_number": "14155550100", "local_id": "order-1"}
        first, second = {**own, "text": "first"}, {**own, "text": "second"}
        engine, journal = make_engine(clock, ScriptedSender(clock))
        await clock.run(engine.run([Record(2, first), Record(3, second)]))
        assert by_status(journal) == {"sent": [2], "invalid": [3]}
        sender = ScriptedSender(clock)
        again, journal2 = make_engine(clock, sender, journal=MemoryJournal(journal.state))
        tally = await clock.run(again.run([Record(2, second), Record(3, first)]))
        assert sender.sends == []
        assert tally.earlier == {"sent": 1, "invalid": 1}
        assert journal2.outcomes == []


class TestOwnAndDerivedKeys:
    """A row with its own local_id and a row without one can render the same message."""

    own: ClassVar[dict[str, str]] = {
        "phone_number": "14155550170",
        "text": "same",
        "local_id": "my-key-1",
    }
    derived: ClassVar[dict[str, str]] = {"phone_number": "14155550170", "text": "same"}

    async def test_the_message_goes_once_whichever_row_comes_first(self) -> None:
        for first, second in ((self.own, self.derived), (self.derived, self.own)):
            clock = VirtualTime()
            sender = ScriptedSender(clock)
            engine, journal = make_engine(clock, sender)
            await clock.run(engine.run([Record(2, first), Record(3, second)]))
            assert len(sender.sends) == 1
            assert by_status(journal) == {"sent": [2], "skipped": [3]}

    async def test_a_resumed_run_in_the_other_order_sends_nothing(self) -> None:
        clock = VirtualTime()
        engine, journal = make_engine(clock, ScriptedSender(clock))
        await clock.run(engine.run([Record(2, self.own), Record(3, self.derived)]))
        sender = ScriptedSender(clock)
        again, journal2 = make_engine(clock, sender, journal=MemoryJournal(journal.state))
        tally = await clock.run(again.run([Record(2, self.derived), Record(3, self.own)]))
        assert sender.sends == []
        assert journal2.outcomes == []
        assert tally.earlier == {"sent": 1, "skipped": 1}

    async def test_two_own_local_ids_for_one_message_send_it_once(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        engine, journal = make_engine(clock, sender)
        other = {**self.own, "local_id": "my-key-2"}
        await clock.run(engine.run([Record(2, self.own), Record(3, other), Record(4, other)]))
        assert len(sender.sends) == 1
        assert by_status(journal) == {"sent": [2], "skipped": [3, 4]}


def test_the_wall_time_is_formatted_as_datetime_writes_it_once_a_millisecond() -> None:
    now = [1_780_000_000.1234]
    timing = Timing(wall_clock=lambda: now[0])
    settings = EngineSettings(DEFAULTS, 1, RetryPolicy(8), False, 10.0, UNPACED)
    engine = Engine(
        settings,
        ScriptedSender(VirtualTime()),
        MemoryJournal(),
        Pacer(UNPACED, clock=lambda: 0.0),
        timing,
    )
    first = engine._wall_time()
    assert first == "2026-05-28T20:26:40.123+00:00"
    now[0] = 1_780_000_000.1239
    assert engine._wall_time() is first  # the same millisecond: the text made once
    now[0] = 1_780_000_000.9999996  # rounds to the next second, as datetime rounds
    assert engine._wall_time() == "2026-05-28T20:26:41.000+00:00"


async def test_a_stop_during_the_wait_before_a_lookup_does_not_hold_the_run() -> None:
    """A request that timed out as the run was stopping: no --timeout wait for its lookup;
    it ends in doubt through its marker, and the run stops at once, not after the grace."""
    clock = VirtualTime()
    timed_out = Reply("retry", error="no response within 30s", timed_out=True)
    sender = LookingSender(clock, {"t0": [timed_out]})
    sender.latency = 1.0
    engine, _ = make_engine(clock, sender, rate=Rate(1), concurrency=1, grace=60.0)

    async def stop_soon() -> None:
        await clock.sleep(0.5)
        engine.stop("SIGINT")

    async def both() -> None:
        stopper = asyncio.ensure_future(stop_soon())
        await engine.run(rows("t0"))
        await stopper

    await clock.run(both())
    assert clock.now < 5.0  # neither the 30 s settle nor the 60 s grace


async def test_a_row_in_flight_at_a_crash_a_moment_ago_is_looked_up_once_it_had_its_timeout() -> (
    None
):
    """Its attempt left 5 s before this run began: the API may still be working on it, so the
    lookup waits until --timeout (30 s) has passed since, then finds it; the other rows are
    sent meanwhile, by the one worker."""
    clock = VirtualTime()
    first = LookingSender(clock)
    engine, journal = make_engine(clock, first)
    await clock.run(engine.run(rows("a")))
    (outcome,) = journal.outcomes
    state = JournalState()
    state.in_doubt[outcome.key] = "2026-05-28T20:26:35+00:00"  # 5 s before the wall clock
    again = LookingSender(clock)
    again.committed = first.committed
    start = clock.now
    engine, journal = make_engine(clock, again, journal=MemoryJournal(state), concurrency=1)
    tally = await clock.run(engine.run(rows("a", "b", "c")))
    assert again.asked_at[0] - start >= 25.0
    assert (tally.found, sorted(text for _, text in again.sends)) == (1, ["b", "c"])
    assert all(at - start < 1.0 for at, _ in again.sends)  # no worker waited for a's lookup
