"""The engine: reader → plan → bounded queue → workers → journal, under one TaskGroup.

The producer plans each row and lets triage settle what needs no request (invalid rows, rows
an earlier run finished); a duplicate is recorded only once its message has ended. Workers, as
many as requests may be in flight, take messages from a bounded queue (so memory stays flat),
wait for the pacer, send, retry with the same body, and record the outcome.

Replies about the API rather than the message (a 429, a Retry-After, no connection) pause every
request, and cost a message no attempt while the run still makes progress; a message that runs
out of attempts on them while nothing else gets through stops the run instead (it is stuck, and
resuming later is the cure, not failing row after row). ``stop()`` (the first signal) stops
dispatching and lets requests in flight finish; ``abort()`` (the second, or the grace period's
end) cancels at once. Cancellation cannot tear the journal: records are written synchronously.

The ``gate`` says whether a message may go now, as it is read and again as its turn comes:
past ``--not-after`` it is withheld; outside its ``--window`` it waits for a later pass over the
input, which begins once every message of this pass has ended and the first window opens.

Each attempt is one ``attempt`` debug event (``--verbose``); whether the level lets it through is
read once a run, so below it the hot path builds nothing. Once a second, and once at the end, the
``tick`` given to ``run`` gets the tally and the pause in force, if any (for progress).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol

import structlog

from broadcaster.adaptive import AdaptiveRate
from broadcaster.breaker import OPTED_OUT, Breaker, failure_kind
from broadcaster.columns import REPLACES
from broadcaster.errors import BroadcasterError
from broadcaster.gate import Deferred, Gate, Row, Waiting
from broadcaster.isotime import JournalClock
from broadcaster.journal import HALT, NOT_COMMITTED, PAUSE, RATE, REPLACED, JournalState
from broadcaster.lookup import (
    Conversations,
    Found,
    NotFound,
    Paced,
    conversation_of,
    look_up_tries,
    settling_left,
)
from broadcaster.outcome import DEADLINE, Outcome, Reply, Status
from broadcaster.pacer import Pacer
from broadcaster.plan import Defaults, Message, plan
from broadcaster.rate import DOCUMENTED_PACE, Rate, format_duration
from broadcaster.record import Record
from broadcaster.retry import RetryPolicy
from broadcaster.schedule import Schedule
from broadcaster.settledlines import SettledLines
from broadcaster.summary import counted
from broadcaster.suppression import OptOutFile, Suppression
from broadcaster.tally import Tally
from broadcaster.testsend import Turns, to_test
from broadcaster.throttle import Pause, Throttle
from broadcaster.triage import (
    Duplicate,
    Rejected,
    Settled,
    Triage,
    Withheld,
)

log = structlog.get_logger("broadcaster")
_YIELD_EVERY = 256  # rows the producer settles between yields to the loop
_LATENCY_SAMPLES = 20  # replies seen before judging whether --concurrency can reach --rate
_RATE_SHORTFALL = 0.97
Tick = Callable[[Tally, Pause | None], None]  # once a second: the tally, and any pause in force
Reread = Callable[[], AbstractContextManager[Iterator[Record]]]  # the input, opened again
_NO_OPENING_RETRY = 3600.0  # no window opens in the days ahead: look again in an hour
LOOKUP_TRIES = 3  # a failed lookup is tried again before the message goes again
HALT_PROBE = 3  # after a halted run, the failures in a row that halt the next one at first
_IN_DOUBT = (
    "an attempt may have reached the API (a dropped connection, a timeout or a server error): "
    "--retry-failed looks it up first where it can, and sends it again with the same local_id"
)


class Sender(Protocol):
    async def send(self, body: Mapping[str, object]) -> Reply: ...


class Recorder(Protocol):
    """Where outcomes go: the journal, or a dry run's memory."""

    @property
    def state(self) -> JournalState: ...

    def record(self, outcome: Outcome) -> None: ...

    def current_state(self) -> JournalState: ...

    def mark(self, kind: str, fields: dict[str, Any]) -> None: ...

    def attempt(self, key: str, at: str) -> None: ...

    def sync_if_due(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Timing:
    """The engine's clocks, sleep and randomness, injectable so tests never wait."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    wall_clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    defaults: Defaults
    concurrency: int
    policy: RetryPolicy
    retry_failed: bool = False
    grace: float = 10.0
    rate: Rate = field(default_factory=lambda: Rate(0))
    halt_on_errors: int = 0  # the circuit breaker's settings (see breaker); 0: off
    halt_on_fail_rate: float = 0.0
    halt_ignore: frozenset[str] = frozenset()
    adaptive: bool = True  # lower a paced rate on 429s, and climb back (adaptive.py)
    timeout: float = 30.0  # per request: how long a timed-out attempt may still be worked on
    suppression: Suppression | None = None  # numbers never sent to (suppression.py)
    opt_outs: OptOutFile | None = None  # where numbers refused as opted out are appended
    not_after: str | None = None  # --not-after (ISO 8601 with its offset): no request after it
    limit: int | None = None  # --limit: messages this run sends at most
    schedule: Schedule | None = None  # --window: messages outside it wait for a later pass
    sample: frozenset[int] | None = None  # --sample: the positions of the rows to take
    test_to: str | None = None  # --test-to: every message goes to this number instead
    source: str | None = None  # the input's name, for the lines about its rows


class Engine:
    def __init__(  # noqa: PLR0913 - the settled lines apart: dropped after the first pass
        self,
        settings: EngineSettings,
        sender: Sender,
        recorder: Recorder,
        pacer: Pacer,
        timing: Timing | None = None,
        *,
        settled_lines: SettledLines | None = None,
    ) -> None:
        """``settled_lines``: the rows the journal settled, by line (settledlines), for the
        first pass not to plan them; dropped when it ends."""
        self.tally = Tally(recorded_before=recorder.state.holds_rows())
        self.unauthorized: Reply | None = None
        self.stuck: Reply | None = None  # the reply a message ran out of attempts on, run stuck
        self.stopped_by: str | None = None
        self.halted: str | None = None  # why the circuit breaker stopped the run
        self.halt_reply: Reply | None = None  # the failure that tripped it
        self._settings = settings
        self._breaker = Breaker(
            settings.halt_on_errors, settings.halt_on_fail_rate, settings.halt_ignore
        )
        if recorder.state.halted and self._breaker.in_a_row:
            self._breaker.probe(HALT_PROBE)
            log.info(
                "probing",
                note=f"the last run halted: this one halts again after {HALT_PROBE} messages "
                "fail in a row, until one gets through",
            )
        self._sender = sender
        self._recorder = recorder
        self._pacer = pacer
        self._timing = timing or Timing()
        # Where a message in doubt is looked up (lookup.py), when the sender can: each page
        # read waits its turn in the schedule.
        self._conversations = (
            Paced(sender, pacer.wait, self._lookup_left)
            if isinstance(sender, Conversations)
            else None
        )
        self._triage = Triage(
            settings.defaults.campaign, recorder.state, settings.retry_failed, settings.suppression
        )
        self._opt_outs = settings.opt_outs
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(settings.concurrency * 2)
        # Messages of this run not yet ended, with the duplicates that wait for their outcome.
        self._waiting: dict[str, list[Duplicate]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._group: asyncio.TaskGroup | None = None
        self._in_request: set[asyncio.Task[object]] = set()
        self._grace: asyncio.Task[None] | None = None
        paced = not settings.rate.unpaced and settings.adaptive
        self._throttle = Throttle(
            settings.policy,
            pacer,
            self._timing.clock,
            adaptive=AdaptiveRate(settings.rate.per_second) if paced else None,
        )
        self._throttle.on_rate = self._rate_changed
        self._latency = (0, 0.0)  # replies and their summed latency
        self._warned_concurrency = False
        self._warned_unpaced = False
        self._verbose = False  # whether each attempt is logged: read once, off the hot path
        self._journal_clock = JournalClock()
        self._turns = None if settings.sample is None else Turns(settings.sample)
        # --not-after and --window; and whether every message of this run has ended (a later
        # pass reads the journal afresh: none may be on its way).
        self._gate = Gate(
            settings.schedule, settings.not_after, self._timing.wall_clock, self.tally
        )
        # Messages in flight at a crash, each waiting for --timeout since its attempt before
        # it is looked up (key -> when, on the wall clock), and their tasks.
        self._settling: dict[str, float] = {}
        self._in_doubt_tasks: list[asyncio.Task[None]] = []
        self._window_until: float | None = None  # while rows wait for a window: its opening
        self._idle = asyncio.Event()
        self._idle.set()
        self._queued = 0
        self._settled_lines = settled_lines  # until the first pass ends
        self._run = datetime.fromtimestamp(self._timing.wall_clock(), UTC).isoformat()  # began

    async def run(
        self, records: Iterable[Record], tick: Tick | None = None, reread: Reread | None = None
    ) -> Tally:
        """Send the rows; ``reread`` opens the input again, for a pass over the rows that
        waited for their window (none without it: a dry run, stdin)."""
        self._throttle.start()
        self._verbose = log.is_enabled_for(logging.DEBUG)
        try:
            async with asyncio.TaskGroup() as group:
                producer = group.create_task(self._produce(records, reread))
                workers = [
                    group.create_task(self._work()) for _ in range(self._settings.concurrency)
                ]
                ticker = group.create_task(self._tick(tick))
                self._group = group
                self._tasks = [producer, *workers]
                await asyncio.wait(workers)
                while pending := [task for task in self._in_doubt_tasks if not task.done()]:
                    await asyncio.wait(pending)  # ticking on: progress says what they wait for
                producer.cancel()  # after a stop it may still be waiting to queue a message
                ticker.cancel()
                if self._grace is not None:
                    self._grace.cancel()
        except BaseExceptionGroup as group:
            # An input that turns unreadable mid-way is the user's error, not a crash; a bug
            # beside it must still surface whole.
            expected, rest = group.split(BroadcasterError)
            if expected is None or rest is not None:
                raise
            raise _first_leaf(expected) from None
        self.tally.stopped = self.stopped_by is not None or self.unauthorized is not None
        if tick is not None:
            self._note_waiting()  # nothing waits any more
            tick(self.tally, None)  # the final figures, also for a run shorter than a tick
        return self.tally

    @property
    def stuck_reason(self) -> str:
        return self._throttle.stuck_reason

    def stop(self, reason: str) -> None:
        """Stop dispatching; requests in flight finish within the grace period. Twice: abort."""
        if self.stopped_by is not None:
            self.abort()
            return
        self.stopped_by = reason
        for task in self._tasks:
            if task not in self._in_request:
                task.cancel()
        self._grace = asyncio.get_running_loop().create_task(self._abort_after_grace())

    async def _abort_after_grace(self) -> None:
        await self._timing.sleep(self._settings.grace)
        log.warning(
            "stopping now", note=f"requests still in flight after {self._settings.grace:g}s"
        )
        self.abort()

    def abort(self) -> None:
        cut = len(self._in_request)  # their requests may have gone: in doubt, looked up later
        self.tally.cut_off = max(self.tally.cut_off, cut)
        for task in self._tasks:
            task.cancel()

    async def _produce(self, records: Iterable[Record], reread: Reread | None) -> None:
        done = await self._read(records, first=True)
        self._settled_lines = None  # the first pass's only: its memory goes with it
        while done and reread is not None and self.stopped_by is None:
            await self._idle.wait()  # messages of this pass may yet find their window closed
            waiting = self._gate.take_waiting()
            if not waiting.rows:
                break
            await self._wait_for_window(waiting)
            state = self._recorder.current_state()  # this run's records too: none goes twice
            self._triage = Triage(
                self._settings.defaults.campaign,
                state,
                self._settings.retry_failed,
                self._settings.suppression,
            )
            with reread() as rows:
                done = await self._read(rows, first=False)
        self.tally.input_done = not self.tally.limit_reached  # every row read
        waiting = self._gate.waiting
        if waiting.rows:  # a dry run's: what waits, and for which window
            self.tally.deferred = waiting.rows
            self.tally.waiting = None if waiting.first is None else waiting.first.label
        for _ in range(self._settings.concurrency):
            await self._queue.put(None)

    async def _read(self, records: Iterable[Record], *, first: bool) -> bool:
        """One pass over the input (``first``: every row counts; after it, only the rows
        that waited); False when --limit cut it short. Rows --limit or --sample left
        unread: ``tally.limit_reached``."""
        rows, limit = iter(records), self._settings.limit
        cut = False
        for count, record in enumerate(self._sampled(rows, first=first)):
            message = self._row(record, first=first)
            if message is not None:
                await self._queue.put(message)
                self._queued += 1
                if self._queued == limit:
                    cut = True
                    break
            elif count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let signals, ticks and workers in
        if cut:  # the rest wait for a resume, if any
            self.tally.limit_reached |= next(rows, None) is not None
        return not cut

    def _row(self, record: Record, *, first: bool) -> Message | None:
        """A row read: settled, recorded or held as it needs to be; its message, to send."""
        if first and self._settled_by_journal(record):
            return None
        defaults = self._settings.defaults
        planned = plan(record, defaults)
        if self._settings.test_to is not None and isinstance(planned, Message):
            planned = to_test(planned, self._settings.test_to, defaults.campaign, self._run)
        decided = self._triage.decide(planned)
        decision = self._gate.at_read(decided, planned, record, self._triage, first=first)
        if isinstance(decision, Settled):
            if not first:
                return None  # settled in an earlier pass, and counted there
        elif first and self._turns is not None and not self._turns.takes(decision):
            self.tally.limit_reached = True  # --sample does not take it: it waits for a resume
            self.tally.passed_by += 1
            return None
        return self._settle(decision, first=first)

    def _settled_by_journal(self, record: Record) -> bool:
        """A row the journal settled, counted as such without planning it (settledlines);
        False for a row to plan: one it does not know, or whose own local_id or fix of a
        record (a column of its own) triage must see."""
        lines = self._settled_lines
        known = None if lines is None else lines.get(record.line)
        if known is None or "local_id" in record.fields or REPLACES in record.fields:
            return False
        settled = self._triage.settled_row(record.line, *known)
        if settled is None:
            return False
        self._settle(settled)
        return True

    def _sampled(self, rows: Iterator[Record], *, first: bool) -> Iterator[Record]:
        """The rows read (all of them, --sample's ``Turns`` telling which to take), and in a
        later pass the rows --sample took alone: those that waited are among them."""
        turns = self._turns
        if turns is None:
            yield from rows
        elif first:
            for position, record in enumerate(rows):
                turns.reach(position)
                yield record
        else:
            yield from (record for record in rows if record.line in turns.taken)

    async def _wait_for_window(self, waiting: Waiting) -> None:
        """Wait for the first window to open (never past --not-after: then the rows left
        end skipped)."""
        opening, rows, first = waiting.first, waiting.rows, waiting.first_rows
        assert opening is not None  # noqa: S101 - rows were deferred
        wall = self._timing.wall_clock()
        until = opening.at.timestamp() if opening.at is not None else wall + _NO_OPENING_RETRY
        if self._gate.deadline is not None:
            until = min(until, self._gate.deadline)
        of = "" if first == rows else f" of {rows:,}"
        self.tally.waiting = f"waiting for {opening.label} ({counted(first, 'row')}{of})"
        if self._gate.deadline is not None and until == self._gate.deadline:
            self.tally.waiting = (
                f"waiting for the --not-after deadline ({counted(rows, 'row')} outside their "
                "window then end skipped)"
            )
            self.tally.wait_ends_all = True
        log.info("waiting", until=opening.label, rows=rows, note="outside their send window")
        self._window_until = until
        try:
            await self._timing.sleep(max(0.0, until - wall))
        finally:
            self.tally.waiting, self.tally.wait_left, self._window_until = None, None, None
            self.tally.wait_ends_all = False

    def _settle(self, decision: Row, *, first: bool = True) -> Message | None:
        """Count and record a row that needs no request; return the message that does
        (``first``: a row of the first pass, counted; a later pass's were)."""
        self.tally.rows += first
        if isinstance(decision, Message):
            self._waiting[decision.key] = []
            self._idle.clear()
            return decision
        if isinstance(decision, Deferred):
            self._gate.waiting.add(decision.opening, 1)
            return None
        if isinstance(decision, Settled):
            self.tally.earlier[decision.status] += 1
            if decision.reason is not None:
                self.tally.earlier_withheld[decision.reason] += 1
            if decision.replaces is not None:  # a fix whose message has its record already
                fields = {"key": decision.replaces, "by": decision.key, "at": self._wall_time()}
                self._recorder.mark(REPLACED, fields)
        elif isinstance(decision, Withheld):
            self._record_withheld(decision)
        elif isinstance(decision, Rejected):
            invalid = Outcome("invalid", decision.key, decision.line, error=decision.reason)
            self._record(replace(invalid, replaces=decision.replaces))
            log.warning(
                "invalid", input=self._settings.source, row=decision.line, reason=decision.reason
            )
        elif decision.key in self._waiting:
            self._waiting[decision.key].append(decision)  # its message has not ended yet
        else:
            self._record_duplicate(decision)
        return None

    def _release(self, key: str) -> list[Duplicate]:
        """A message of this run ended (or waits for a later pass): its twin rows."""
        twins = self._waiting.pop(key, [])
        self._gate.forget(key)
        if not self._waiting:
            self._idle.set()
        return twins

    def _record_withheld(self, withheld: Withheld) -> None:
        skipped = Outcome("skipped", withheld.key, withheld.line, error=withheld.detail)
        self._record(replace(skipped, reason=withheld.reason))

    def _record_duplicate(self, duplicate: Duplicate) -> None:
        key = duplicate.key
        skipped = Outcome("skipped", key, duplicate.line, key, error=duplicate.reason)
        self._record(replace(skipped, replaces=duplicate.replaces))

    async def _work(self) -> None:
        task = asyncio.current_task()  # once a worker, not once a request
        assert task is not None  # noqa: S101 - a worker is a task
        while self.stopped_by is None:
            message = await self._queue.get()
            if message is None:
                return
            await self._deliver(message, task)

    async def _deliver(self, message: Message, task: asyncio.Task[Any]) -> None:
        # A single send can be looked up when an attempt may have been committed: its first
        # attempt is marked as it leaves, so that after a crash the next run looks it up.
        searchable = self._conversations is not None and conversation_of(message.body) is not None
        doubt = self._recorder.state.in_doubt
        go = _Delivery(message, searchable, doubt.get(message.key), doubted=message.key in doubt)
        if searchable and message.key in doubt:
            if self._unsettled(go.since) > 0 and self._group is not None:
                self._later(go)  # in flight at a crash a moment ago: no worker waits for it
                return
            if await self._found(go):
                return
        await self._send(go, task)

    def _later(self, go: _Delivery) -> None:
        """Deliver a message in doubt once --timeout has passed since its attempt, in a task of
        its own (stopped as a worker is)."""

        async def deliver() -> None:
            left = self._unsettled(go.since)
            self._settling[go.message.key] = self._timing.wall_clock() + left
            try:
                await self._timing.sleep(left)
            finally:
                del self._settling[go.message.key]
            if self.stopped_by is None and not await self._found(go):
                await self._send(go, later)

        assert self._group is not None  # noqa: S101 - the run's
        later = self._group.create_task(deliver())
        self._tasks.append(later)
        self._in_doubt_tasks.append(later)

    async def _send(self, go: _Delivery, task: asyncio.Task[Any]) -> None:
        """Attempt a message until it ends (``task``: the one its requests are made in)."""
        message, searchable = go.message, go.searchable
        last: tuple[Reply, float] | None = None  # the last attempt's reply and latency
        while True:
            started = await self._turn(go, last)
            if started is None:
                return
            self._leaving(go)  # no await from here until the request has left
            self.tally.note_request(started)
            reply = await self._attempt(message, task)
            latency = self._timing.clock() - started
            go.attempts += 1
            self._note_reply(message, reply, go.attempts, latency)
            if reply.verdict == "unauthorized":
                self.unauthorized = reply
                if not (go.maybe_committed or go.doubted):  # refused, and no attempt may
                    # have gone before, in this run or an earlier one
                    fields = {"key": message.key, "row": message.line, "at": self._wall_time()}
                    self._recorder.mark(NOT_COMMITTED, fields)  # not in doubt at a resume
                self.abort()
                return
            if reply.verdict != "retry":
                self._finish(go, reply, latency)
                return
            last = (reply, latency)
            go.maybe_committed = go.maybe_committed or reply.may_have_been_committed
            look = searchable and reply.may_have_been_committed
            if self._throttle.charges(reply):
                go.charged += 1
            if self._settings.policy.gives_up_after(go.charged):
                await self._give_up(go, reply, latency, look=look)
                return
            if not await self._back_off(go, reply, started, look=look):
                return
            if look and await self._found(go):
                return

    def _too_late_for(self, go: _Delivery, last: tuple[Reply, float] | None) -> None:
        """Its turn came after --not-after: withheld, with the rows that wait on it; or, when
        it was tried already, failed as its last attempt left it."""
        if last is not None:
            reply, latency = last
            error = f"{reply.error}; not tried again: the --not-after deadline passed"
            self._finish(go, replace(reply, error=error), latency, in_doubt=go.maybe_committed)
            return
        message = go.message
        rows = [message.line] + [twin.line for twin in self._release(message.key)]
        for line in rows:
            decision = self._gate.withhold(line, message.key, self._triage)
            if isinstance(decision, Withheld):
                self._record_withheld(decision)
            else:  # an earlier run recorded it so: counted as the producer counts one
                self.tally.earlier["skipped"] += 1
                self.tally.earlier_withheld[DEADLINE] += 1

    async def _turn(self, go: _Delivery, last: tuple[Reply, float] | None) -> float | None:
        """Wait for the message's slot in the schedule: the clock reading it leaves at, or
        None when it may not go now (no slot spent on one that cannot go, nor sent when its
        slot came too late)."""
        if not self._gate.active:
            return await self._pacer.wait()
        if self._not_now(go, last):
            return None
        closing = self._gate.closing(go.message.key)
        if closing is None:
            started: float | None = await self._pacer.wait()
        else:  # the slot may come after the deadline, or the window's close: no waiting past
            started = await self._before(closing)
        return None if self._not_now(go, last) else started

    async def _before(self, closing: float) -> float | None:
        """The pacer's slot, if it comes before ``closing`` (wall clock); else None."""
        slot = asyncio.ensure_future(self._pacer.wait())
        timer = asyncio.ensure_future(
            self._timing.sleep(max(0.0, closing - self._timing.wall_clock()))
        )
        try:
            await asyncio.wait({slot, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not slot.done():
                slot.cancel()
        return slot.result() if slot.done() and not slot.cancelled() else None

    def _not_now(self, go: _Delivery, last: tuple[Reply, float] | None) -> bool:
        """Whether its turn came too late (--not-after) or outside its window: it goes no
        further in this pass."""
        if self._gate.past_deadline():
            self._too_late_for(go, last)
            return True
        return self._outside_window(go.message)

    def _outside_window(self, message: Message) -> bool:
        """Its turn came as its window closed: it waits for a later pass, with its twins (a
        retry too: an attempt that may have been committed is looked up then)."""
        opening = self._gate.closed_for(message.key)
        if opening is None:
            return False
        self._gate.waiting.add(opening, 1 + len(self._release(message.key)))
        log.debug("waiting", row=message.line, until=opening.label, note="its window closed")
        return True

    def _lookup_left(self, at: float) -> None:
        self.tally.note_request(at, lookup=True)

    def _leaving(self, go: _Delivery) -> None:
        """An attempt leaves. The first one's time is kept (one in doubt keeps its first
        one), and marked in the journal when a lookup could use it."""
        if go.attempts:
            return
        go.since = go.since or self._wall_time()
        if go.searchable:
            self._recorder.attempt(go.message.key, go.since)

    async def _give_up(self, go: _Delivery, reply: Reply, latency: float, *, look: bool) -> None:
        """Out of attempts: a stuck run stops; a message whose last attempt may have been
        committed is looked up once it had time to be; else it failed (in doubt, when an
        attempt may have been committed: a lookup that finds nothing now cannot rule out a
        commit still on its way)."""
        if reply.pauses_everyone:
            self._stop_stuck(reply, go.attempts)
            return
        if look and self.stopped_by is None:  # stopping: in doubt as it stands
            await self._timing.sleep(self._settling_time(reply))
            if self.stopped_by is None and await self._found(go):
                return
        self._finish(go, reply, latency, in_doubt=go.maybe_committed)

    def _unsettled(self, since: str | None) -> float:
        """The seconds until an attempt made at ``since`` has had --timeout to be committed."""
        return settling_left(since, self._settings.timeout, self._timing.wall_clock())

    def _settling_time(self, reply: Reply) -> float:
        """How long an attempt that may have been committed is given to be, before a lookup:
        one that timed out, or met a gateway timeout, may still be worked on, for as long as
        it was waited for; one answered or dropped, the API is done with (a 20% drop rate at
        100/s with a wait after each drop held every worker, and sent at 46/s)."""
        if reply.timed_out or reply.http_status == HTTPStatus.GATEWAY_TIMEOUT:
            return self._settings.timeout
        return 0.0

    async def _found(self, go: _Delivery) -> bool:
        """Look a message in doubt up in its conversation: True when it was committed, and
        so recorded ``sent``; a failed lookup is tried again (a 429 pauses everyone) before
        the message goes again, with the same local_id."""
        assert self._conversations is not None  # noqa: S101 - searchable
        message = go.message
        where = {"row": message.line, "key": message.key}
        self.tally.looked_up += 1
        started = self._timing.clock()
        verdict = await look_up_tries(
            self._conversations,
            message.body,
            message.key,
            go.since,
            tries=LOOKUP_TRIES,
            before_again=functools.partial(self._before_lookup_again, message),
        )
        if isinstance(verdict, Found):
            self.tally.found += 1
            log.debug("found", **where, id=verdict.id, note="committed by an earlier attempt")
            reply = Reply("sent", None, verdict.request_id, id=verdict.id, date=verdict.date)
            self._finish(go, reply, self._timing.clock() - started, found=True)
            return True
        if isinstance(verdict, NotFound):
            self.tally.not_found += 1
            log.debug("not found", **where, note="not committed")
        elif self.stopped_by is None:
            self.tally.untold += 1
            log.warning(
                "lookup untold", **where, reason=verdict.why, note="same local_id if sent again"
            )
        return False

    async def _before_lookup_again(self, message: Message, failure: Reply, tried: int) -> bool:
        """After a failed lookup: a 429 pauses everyone, another failure backs off; False
        when the run is stopping."""
        assert self._conversations is not None  # noqa: S101 - a lookup's
        if failure.pauses_everyone:
            self._pause_everyone(message, failure, self._conversations.left_at)
        else:
            await self._timing.sleep(self._settings.policy.delay(tried, failure.retry_after))
        return self.stopped_by is None

    def _note_reply(self, message: Message, reply: Reply, attempt: int, latency: float) -> None:
        if self._verbose:
            _log_attempt(message, reply, attempt, latency)
        self._throttle.note(reply)
        count, total = self._latency
        self._latency = (count + 1, total + latency)

    def _stop_stuck(self, reply: Reply, attempts: int) -> None:
        """Nothing gets through: stop, resumable, rather than fail row after row."""
        if self.stopped_by is not None:
            return
        self.stuck = reply
        log.error(
            "stopping",
            reason=f"{attempts} attempts of one message met {reply.pause_cause}, and "
            f"{self._throttle.stuck_reason}",
            note="nothing was marked failed; resume later",
        )
        self.stop("stuck")

    async def _attempt(self, message: Message, task: asyncio.Task[Any]) -> Reply:
        """One request, its worker ``task`` marked as in a request meanwhile (a stop lets
        those finish, and cancels the others)."""
        self._in_request.add(task)
        try:
            return await self._sender.send(message.body)
        finally:
            self._in_request.discard(task)

    async def _back_off(self, go: _Delivery, reply: Reply, sent_at: float, *, look: bool) -> bool:
        """Wait before the next attempt (or the lookup before it: long enough for an attempt
        that may have been committed to be); False when the run is stopping instead."""
        if reply.pauses_everyone:
            self._pause_everyone(go.message, reply, sent_at)
        elif self.stopped_by is not None:
            return False  # stopping: no wait for an attempt that will not be made
        else:
            delay = self._settings.policy.delay(go.charged, reply.retry_after)
            if look:
                delay = max(delay, self._settling_time(reply))
            log.debug(
                "retrying",
                row=go.message.line,
                key=go.message.key,
                charged=go.charged,
                delay=round(delay, 3),
            )
            await self._timing.sleep(delay)
        return self.stopped_by is None

    def _pace_unpaced(self) -> None:
        """The API limits the rate, and an unpaced run would meet the limit again after each
        pause, in a burst of --concurrency requests (a trial: 1,758 requests for 200 messages
        against 5/s): from the first 429 on, it is paced at the documented limit, and lowered
        as a paced run is; with --fixed-rate it stays unpaced, said once."""
        if self.tally.paced_after_429 or self._warned_unpaced:
            return
        if not self._settings.adaptive:
            self._warned_unpaced = True
            log.warning(
                "429 unpaced",
                note="the API limits the rate, and this unpaced run (--rate 0 --fixed-rate) "
                "meets the limit again after each pause: give --rate",
            )
            return
        self.tally.paced_after_429 = True
        self._pacer.pace(DOCUMENTED_PACE)
        self.tally.rate_in_force = DOCUMENTED_PACE.per_second
        self._throttle.adaptive = AdaptiveRate(DOCUMENTED_PACE.per_second)
        log.warning(
            "429 unpaced",
            rate=str(DOCUMENTED_PACE),
            note="the API limits the rate: this unpaced run (--rate 0) is paced from now on at "
            "the documented limit, lowered further if 429s keep coming (--fixed-rate: not)",
        )

    def _rate_changed(self, per_second: float, lowered: bool) -> None:
        """The adaptive rate moved: count it, and mark a decrease in the journal."""
        self.tally.rate_in_force = per_second
        asked = DOCUMENTED_PACE if self.tally.paced_after_429 else self._settings.rate
        shown = asked.shown(per_second)
        if not lowered:
            log.debug("rate raised", rate=shown, asked=str(asked))
            return
        self.tally.rate_lowered += 1
        self._recorder.mark(
            RATE, {"per_second": round(per_second, 4), "cause": "HTTP 429", "at": self._wall_time()}
        )
        log.warning(
            "rate lowered",
            rate=shown,
            asked=str(asked),
            note="429s keep coming at this rate: it climbs back while answers are clean",
        )

    def _pause_everyone(self, message: Message, reply: Reply, sent_at: float) -> None:
        paused = self._throttle.pause(reply, sent_at)
        if paused is None:  # a longer pause already in force covers it
            return
        self.tally.pauses[reply.pause_cause] += 1
        if reply.http_status == HTTPStatus.TOO_MANY_REQUESTS and self._settings.rate.unpaced:
            self._pace_unpaced()
        self._recorder.mark(
            PAUSE,
            {
                "cause": reply.pause_cause,
                "seconds": round(self._throttle.added, 3),
                "row": message.line,
                "at": self._wall_time(),
            },
        )
        log.warning("paused", seconds=round(paused, 3), cause=reply.pause_cause, row=message.line)

    def _finish(
        self,
        go: _Delivery,
        reply: Reply,
        latency: float,
        *,
        in_doubt: bool = False,
        found: bool = False,
    ) -> None:
        message, attempts = go.message, go.attempts
        if found and not attempts and self._recorder.state.statuses.get(message.key) is None:
            attempts = 1  # in flight at a crash: the attempt that sent it was that run's (a
            # failure in doubt's record counted its attempts already)
        status: Status = "sent" if reply.verdict == "sent" else "failed"
        error = reply.error
        if reply.verdict == "retry":
            error = f"gave up after {counted(attempts, 'attempt')}; last: {reply.error}"
        in_doubt = status == "failed" and in_doubt
        if in_doubt:
            error = f"{error}; {_IN_DOUBT}"
            self.tally.failed_in_doubt += 1
        outcome = Outcome(
            status=status,
            key=message.key,
            row=message.line,
            local_id=message.key,
            id=reply.id,
            date=reply.date,
            gallery_url=reply.gallery_url,
            request_id=reply.request_id,
            http_status=reply.http_status,
            error=error,
            attempts=attempts,
            latency_ms=round(latency * 1000, 1),
            at=self._wall_time(),
            digest=message.digest,
            replaces=message.replaces,
            in_doubt=(go.since or True) if in_doubt else None,
            found_in_history=found,
        )
        self._record(outcome)
        if status == "failed":
            log.warning("failed", row=message.line, key=message.key, error=error)
            self._note_opt_out(message, reply)
        for duplicate in self._release(message.key):
            self._record_duplicate(duplicate)
        if self._breaker.enabled:
            self._halt(self._breaker.note(status == "failed", reply.error), message, reply)

    def _note_opt_out(self, message: Message, reply: Reply) -> None:
        """--record-opt-outs: a number the API refused as opted out goes to the file."""
        phone = message.body.get("phone_number")
        if self._opt_outs is None or not isinstance(phone, str):
            return
        if failure_kind(reply.error) == OPTED_OUT and self._opt_outs.add(phone):
            self.tally.opt_outs_recorded += 1

    def _halt(self, reason: str | None, message: Message, reply: Reply) -> None:
        """The circuit breaker tripped: stop as a first Ctrl-C does, and say why."""
        if reason is None or self.stopped_by is not None:
            return
        self.halted, self.halt_reply = reason, reply
        self._recorder.mark(HALT, {"reason": reason, "row": message.line, "at": self._wall_time()})
        log.error(
            "halting",
            reason=reason,
            note="the circuit breaker stops the run: requests in flight finish, and the rest "
            "of the rows wait for a resume",
        )
        self.stop("halt")

    def _record(self, outcome: Outcome) -> None:
        if outcome.at is None:
            outcome = replace(outcome, at=self._wall_time())
        self._recorder.record(outcome)
        self.tally.add(outcome)

    def _wall_time(self) -> str:
        """Now, to the millisecond, as the journal writes it."""
        return self._journal_clock.text(self._timing.wall_clock())

    async def _tick(self, tick: Tick | None) -> None:
        while True:
            await self._timing.sleep(1.0)
            self._note_waiting()
            self._recorder.sync_if_due()
            self._check_concurrency()
            if tick is not None:
                tick(self.tally, self._throttle.pause_in_force())

    def _note_waiting(self) -> None:
        """What the rows wait for, and how long yet (for progress and its ETA)."""
        wall = self._timing.wall_clock()
        self.tally.awaiting_lookup = 0
        if self._window_until is not None:
            self.tally.wait_left = max(0.0, self._window_until - wall)
        elif self._settling:
            left = max(0.0, max(self._settling.values()) - wall)
            count = counted(len(self._settling), "message")
            self.tally.waiting = (
                f"{count} in flight at the crash: looked up in {format_duration(left)}"
            )
            self.tally.wait_left, self.tally.awaiting_lookup = left, len(self._settling)
        elif self.tally.wait_left is not None:
            self.tally.waiting, self.tally.wait_left = None, None

    def _check_concurrency(self) -> None:
        """Warn once when the requests in flight cannot reach the rate at the latency seen."""
        count, total = self._latency
        rate = self._settings.rate
        if self._warned_concurrency or rate.unpaced or count < _LATENCY_SAMPLES or total <= 0:
            return
        mean = total / count
        ceiling = self._settings.concurrency / mean
        if ceiling >= rate.per_second * _RATE_SHORTFALL:
            return
        self._warned_concurrency = True
        needed = math.ceil(rate.per_second * mean * 1.25)
        log.warning(
            "concurrency too low",
            note=f"--concurrency {self._settings.concurrency} at {mean * 1000:.0f} ms mean "
            f"latency sends at most {ceiling:.2f}/s, below --rate {rate}: raise --concurrency "
            f"to {needed} or more",
        )


@dataclass(slots=True)
class _Delivery:
    """One message on its way, and what its attempts so far have told."""

    message: Message
    searchable: bool  # its conversation's history can show whether it was committed
    since: str | None = None  # its first attempt's time: nothing older found is it
    attempts: int = 0
    charged: int = 0
    maybe_committed: bool = False
    doubted: bool = False  # an earlier run's attempt may have been committed


def _log_attempt(message: Message, reply: Reply, attempt: int, latency: float) -> None:
    """One attempt's canonical line (--verbose): what was asked, what came back, how fast."""
    error = {} if reply.error is None else {"error": reply.error}
    log.debug(
        "attempt",
        key=message.key,
        row=message.line,
        attempt=attempt,
        http_status=reply.http_status,
        verdict=reply.verdict,
        latency_ms=round(latency * 1000, 1),
        request_id=reply.request_id,
        **error,
    )


def _first_leaf(group: BaseExceptionGroup[BroadcasterError]) -> BroadcasterError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
