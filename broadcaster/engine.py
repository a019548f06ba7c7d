"""The engine: reader → plan → bounded queue → workers → journal, under one TaskGroup.

The producer plans each row and settles what needs no request (invalid rows, duplicates, rows
an earlier run finished); workers, as many as requests may be in flight, take messages from a
bounded queue (so memory stays flat), wait for the pacer, send, retry with the same body, and
record the outcome. ``stop()`` (the first signal) stops dispatching and lets requests in flight
finish; ``abort()`` (the second, or the grace period's end) cancels at once. Cancellation
cannot tear the journal: records are written synchronously.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

import structlog

from broadcaster.errors import BroadcasterError
from broadcaster.outcome import Outcome, Reply, Status
from broadcaster.pacer import Pacer
from broadcaster.plan import Defaults, Invalid, Message, plan
from broadcaster.reader import Record
from broadcaster.retry import RetryPolicy

log = structlog.get_logger("broadcaster")
_YIELD_EVERY = 256
_NOT_PROCESSED = (408, 429)  # rows the producer settles between yields to the loop


class Sender(Protocol):
    async def send(self, body: Mapping[str, object]) -> Reply: ...


class Recorder(Protocol):
    """Where outcomes go: the journal, or a dry run's memory."""

    @property
    def statuses(self) -> Mapping[str, Status]: ...

    def record(self, outcome: Outcome) -> None: ...

    def sync_if_due(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Timing:
    """The engine's clocks, sleep and randomness, injectable so tests never wait."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    wall_clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)


@dataclass(slots=True)
class Tally:
    """Every row of the input, by how it stands after this run."""

    rows: int = 0
    sent: int = 0
    failed: int = 0
    invalid: int = 0
    duplicates: int = 0
    earlier: Counter[Status] = field(default_factory=Counter)
    attempts: int = 0
    pauses: int = 0
    latency_total: float = 0.0
    latency_max: float = 0.0
    first_request: float | None = None
    last_request: float | None = None

    def note_request(self, at: float) -> None:
        self.attempts += 1
        if self.first_request is None:
            self.first_request = at
        self.last_request = at

    @property
    def mean_rate(self) -> float | None:
        """Requests a second between the first and the last (None under two requests)."""
        if self.first_request is None or self.last_request is None:
            return None
        span = self.last_request - self.first_request
        return (self.attempts - 1) / span if span > 0 else None

    @property
    def problems(self) -> int:
        """Rows that ended failed or invalid, now or in an earlier run."""
        return self.failed + self.invalid + self.earlier["failed"] + self.earlier["invalid"]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    defaults: Defaults
    concurrency: int
    policy: RetryPolicy
    retry_failed: bool = False
    grace: float = 10.0


class Engine:
    def __init__(
        self,
        settings: EngineSettings,
        sender: Sender,
        recorder: Recorder,
        pacer: Pacer,
        timing: Timing | None = None,
    ) -> None:
        self.tally = Tally()
        self.unauthorized: Reply | None = None
        self.stopped_by: str | None = None
        self._settings = settings
        self._sender = sender
        self._recorder = recorder
        self._pacer = pacer
        self._timing = timing or Timing()
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(settings.concurrency * 2)
        self._first_seen: dict[str, tuple[int, Status | None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._in_request: set[asyncio.Task[object]] = set()
        self._grace: asyncio.Task[None] | None = None
        self._throttled = 0  # 429s in a row, run-wide: each pause is longer than the last

    async def run(
        self, records: Iterable[Record], tick: Callable[[Tally], None] | None = None
    ) -> Tally:
        try:
            async with asyncio.TaskGroup() as group:
                producer = group.create_task(self._produce(records))
                workers = [
                    group.create_task(self._work()) for _ in range(self._settings.concurrency)
                ]
                ticker = group.create_task(self._tick(tick))
                self._tasks = [producer, *workers]
                await asyncio.wait(workers)
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
        return self.tally

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
        for task in self._tasks:
            task.cancel()

    async def _produce(self, records: Iterable[Record]) -> None:
        for record in records:
            message = self._triage(plan(record, self._settings.defaults))
            if message is not None:
                await self._queue.put(message)
            elif self.tally.rows % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let signals, ticks and workers in
        for _ in range(self._settings.concurrency):
            await self._queue.put(None)

    def _triage(self, planned: Message | Invalid) -> Message | None:
        """Settle a row that needs no request; return the message that does."""
        self.tally.rows += 1
        earlier = self._recorder.statuses.get(planned.key)
        if isinstance(planned, Invalid):
            if earlier == "invalid":
                self.tally.earlier["invalid"] += 1
            else:
                self.tally.invalid += 1
                self._record(Outcome("invalid", planned.key, planned.line, error=planned.reason))
            return None
        first, before = self._first_seen.setdefault(planned.key, (planned.line, earlier))
        if first != planned.line:
            # What the journal said before this run: the first row may have been sent since.
            self._duplicate(planned, first, before)
            return None
        if earlier in ("sent", "skipped") or (
            earlier == "failed" and not self._settings.retry_failed
        ):
            self.tally.earlier[earlier] += 1
            return None
        return planned

    def _duplicate(self, message: Message, first: int, earlier: Status | None) -> None:
        if earlier is not None:  # recorded by an earlier run
            self.tally.earlier["skipped"] += 1
            return
        self.tally.duplicates += 1
        error = f"duplicate of line {first} (the same message, sent once)"
        self._record(Outcome("skipped", message.key, message.line, message.key, error=error))

    async def _work(self) -> None:
        while self.stopped_by is None:
            message = await self._queue.get()
            if message is None:
                return
            await self._deliver(message)

    async def _deliver(self, message: Message) -> None:
        policy, attempt, maybe_delivered = self._settings.policy, 0, False
        while True:
            attempt += 1
            started = await self._pacer.wait()
            self.tally.note_request(started)
            reply = await self._attempt(message)
            latency = self._timing.clock() - started
            if reply.verdict == "unauthorized":
                self.unauthorized = reply
                self.abort()
                return
            self._throttled = self._throttled + 1 if reply.http_status == 429 else 0  # noqa: PLR2004
            maybe_delivered = maybe_delivered or _ambiguous(reply)
            if reply.verdict != "retry" or policy.gives_up_after(attempt):
                self._finish(message, reply, attempt, latency, maybe_delivered)
                return
            if not await self._back_off(message, reply, attempt):
                return

    async def _attempt(self, message: Message) -> Reply:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always inside a worker task
        self._in_request.add(task)
        try:
            return await self._sender.send(message.body)
        finally:
            self._in_request.discard(task)

    async def _back_off(self, message: Message, reply: Reply, attempt: int) -> bool:
        """Wait before the next attempt; False when the run is stopping instead."""
        # A 429 is about the key, not the message: its pause grows with the run's 429 streak.
        streak = self._throttled if reply.http_status == 429 else attempt  # noqa: PLR2004
        delay = self._settings.policy.delay(max(streak, 1), reply.retry_after)
        if reply.pauses_everyone:
            self.tally.pauses += 1
            self._pacer.pause(delay)
            log.warning(
                "paused", seconds=round(delay, 3), http_status=reply.http_status, row=message.line
            )
        else:
            log.debug(
                "retrying",
                row=message.line,
                attempt=attempt,
                delay=round(delay, 3),
                error=reply.error,
            )
            await self._timing.sleep(delay)
        return self.stopped_by is None

    def _finish(
        self, message: Message, reply: Reply, attempts: int, latency: float, maybe_delivered: bool
    ) -> None:
        status: Status = "sent" if reply.verdict == "sent" else "failed"
        error = reply.error
        if reply.verdict == "retry":
            error = f"gave up after {attempts} attempts; last: {reply.error}"
        if status == "failed" and maybe_delivered:
            error = (
                f"{error}; an attempt may have reached the API (a dropped connection, a timeout "
                "or a server error): --retry-failed settles it safely, with the same local_id"
            )
        outcome = Outcome(
            status, message.key, message.line, message.key, reply.id, reply.date,
            reply.gallery_url, reply.request_id, reply.http_status, error, attempts,
            round(latency * 1000, 1),
        )  # fmt: skip
        self._record(outcome)
        if status == "sent":
            self.tally.sent += 1
        else:
            self.tally.failed += 1
            log.warning("failed", row=message.line, key=message.key, error=error)
        self.tally.latency_total += latency
        self.tally.latency_max = max(self.tally.latency_max, latency)

    def _record(self, outcome: Outcome) -> None:
        at = datetime.fromtimestamp(self._timing.wall_clock(), UTC).isoformat(
            timespec="milliseconds"
        )
        self._recorder.record(replace(outcome, at=at))

    async def _tick(self, tick: Callable[[Tally], None] | None) -> None:
        while True:
            await self._timing.sleep(1.0)
            self._recorder.sync_if_due()
            if tick is not None:
                tick(self.tally)


def _ambiguous(reply: Reply) -> bool:
    """An attempt the API may have committed unbeknown to us: anything retried but a 408 or
    429, which say the request was not processed."""
    return reply.verdict == "retry" and reply.http_status not in _NOT_PROCESSED


def _first_leaf(group: BaseExceptionGroup[BroadcasterError]) -> BroadcasterError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
