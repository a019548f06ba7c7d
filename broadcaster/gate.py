"""The gate: whether a message may go now. Past ``--not-after`` none may; outside its send
window (``--window``) it waits for a later pass over the input.

The engine asks twice: of each row as the producer reads it (``at_read``), and of each message
as its turn comes, after the pacer (``past_deadline``, ``closed_for``): a queue holds a few
seconds of messages, and a window may close, or the deadline pass, in between.

Past the deadline, a message is withheld (recorded ``skipped``, reason ``deadline``), and so is
a twin row of a withheld one: the keys withheld are kept (compact: every message after the
deadline is one). Outside its window a message, and its twin rows, are ``Deferred``: counted
as read and recorded nowhere, so a stop or a crash leaves them to a resume; ``Waiting`` counts
them and keeps the first opening among them, which the engine waits for before the next pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from broadcaster.isotime import aware_time
from broadcaster.keytable import KeyTable
from broadcaster.outcome import DEADLINE
from broadcaster.plan import Message, Planned
from broadcaster.record import Record
from broadcaster.schedule import ZONE_COLUMN, NoZone, Opening, Schedule
from broadcaster.sendwindow import NEVER
from broadcaster.tally import Tally
from broadcaster.triage import Decision, Duplicate, Triage, too_late
from broadcaster.zones import zones_named

log = structlog.get_logger("broadcaster")


@dataclass(frozen=True, slots=True)
class Deferred:
    """A row outside its send window now: nothing recorded, a later pass takes it up."""

    line: int
    key: str
    opening: Opening


Row = Decision | Deferred  # what the producer makes of a row


@dataclass(slots=True)
class Waiting:
    """The rows a pass left for a later one, and the first opening among them."""

    rows: int = 0
    first: Opening | None = None
    first_rows: int = 0  # the rows that opening lets go

    def add(self, opening: Opening, rows: int) -> None:
        self.rows += rows
        if self.first is not None and opening.at == self.first.at:
            self.first_rows += rows
        elif self.first is None or _earlier(opening, self.first):
            self.first, self.first_rows = opening, rows


class Gate:
    def __init__(
        self,
        schedule: Schedule | None,
        not_after: str | None,
        wall_clock: Callable[[], float],
        tally: Tally,
        *,
        announce: bool = True,
    ) -> None:
        self.schedule = schedule
        self.too_late = too_late(not_after or "")  # a withheld row's record says it so
        self.waiting = Waiting()
        moment = aware_time(not_after)
        self.deadline = None if moment is None else moment.timestamp()  # on the wall clock
        self.active = schedule is not None or self.deadline is not None  # else: always open
        self._not_after = not_after
        self._wall_clock = wall_clock
        self._tally = tally
        self._announce = announce  # a run's gate says when the deadline passes; a report's not
        self._late_keys = KeyTable()
        self._zones: dict[str, tuple[str, ...]] = {}  # of each message queued (a few)
        self._closes: dict[tuple[str, ...], float] = {}  # each zone set's window closes then
        self._told_fixed = not announce  # a report's gate says nothing

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._wall_clock(), UTC)

    def past_deadline(self) -> bool:
        if self.deadline is None or self._wall_clock() < self.deadline:
            return False
        if not self._tally.deadline_passed:
            self._tally.deadline_passed = True
            if not self._announce:
                return True
            log.warning(
                "deadline passed",
                not_after=self._not_after,
                note="no request is made from now on: the rows left end skipped (deadline)",
            )
        return True

    def at_read(
        self, decision: Decision, planned: Planned, record: Record, triage: Triage, *, first: bool
    ) -> Row:
        """The row as the producer reads it (``first``: in the first pass over the input)."""
        if not isinstance(decision, Message | Duplicate):
            return decision
        if self.past_deadline():
            if isinstance(decision, Duplicate) and decision.key not in self._late_keys:
                return decision  # its message went before the deadline, or is on its way
            return self.withhold(decision.line, decision.key, triage)
        if self.schedule is None or not isinstance(planned, Message):
            return decision
        return self._windowed(decision, planned, record, triage, first=first)

    def withhold(self, line: int, key: str, triage: Triage) -> Decision:
        """A row of message ``key`` past the deadline."""
        self._late_keys.setdefault(key, 1)
        return triage.withhold(line, key, DEADLINE, self.too_late)

    def _fixed_zone_ignores(self, record: Record) -> None:
        """Said once: a tz column is not read when --tz gives every row one zone."""
        if self._told_fixed or self.schedule is None or self.schedule.zone is None:
            return
        if ZONE_COLUMN in record.fields:
            self._told_fixed = True
            log.warning(
                "tz column not read",
                note=f"--tz {self.schedule.zone} puts every row in one zone; --tz recipient "
                "reads each row's tz column",
            )

    def _windowed(
        self,
        decision: Message | Duplicate,
        planned: Message,
        record: Record,
        triage: Triage,
        *,
        first: bool,
    ) -> Row:
        """A message outside its window (and a twin row of one) waits; one whose zone
        cannot be told is invalid."""
        assert self.schedule is not None  # noqa: S101 - the caller's
        self._fixed_zone_ignores(record)
        try:
            zones = self.schedule.zones(planned.body, record.fields)
        except NoZone as exc:
            return triage.reject(decision.line, decision.key, str(exc))
        if isinstance(decision, Message) and first:
            self._tally.zones[zones] += 1
        opening = self.schedule.opening(zones, self.now())
        if opening is not None:
            return Deferred(decision.line, decision.key, opening)
        if isinstance(decision, Message):
            self._zones[decision.key] = zones
        return decision

    def closed_for(self, key: str) -> Opening | None:
        """When the window of a queued message opens next, if it is closed now."""
        zones = self._zones.get(key)
        if self.schedule is None or zones is None:
            return None
        return self.schedule.opening(zones, self.now())

    def closing(self, key: str) -> float | None:
        """When a queued message's chance ends (the deadline, or its window's close), on the
        wall clock; None when it has no end. A message waiting for its slot stops waiting
        then: it must not hold a slot, and the run, past it."""
        ends = [] if self.deadline is None else [self.deadline]
        zones = self._zones.get(key)
        if self.schedule is not None and zones is not None:
            closes = self._closes.get(zones)
            if closes is None or closes <= self._wall_clock():
                now = self.now()
                at = self.schedule.window.closes_at(zones_named(zones), now)
                closes = math.inf if at == NEVER else at.timestamp()
                if at > now:  # closed already: the check at its turn defers it; kept not
                    self._closes[zones] = closes
            ends.append(closes)
        return min(ends, default=None)

    def forget(self, key: str) -> None:
        """A message ended, or waits for a later pass."""
        self._zones.pop(key, None)

    def take_waiting(self) -> Waiting:
        """What this pass left waiting; the next pass starts afresh."""
        waiting, self.waiting = self.waiting, Waiting()
        return waiting


def _earlier(one: Opening, other: Opening) -> bool:
    if one.at is None:
        return False
    return other.at is None or one.at < other.at
