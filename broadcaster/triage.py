"""Triage: settle every row that needs no request; hand on the messages that do.

A planned row is one of four things here:

- a ``Message`` to send: the first row of its key, not settled by an earlier run;
- ``Settled``: its record is already in the journal (an earlier run's), so nothing is written;
- ``Rejected``: an invalid row to record now, with its reason;
- a ``Duplicate`` of an earlier row's message, recorded ``skipped``, but only once that message
  has ended (the engine holds it until then): a duplicate's record never settles a message.

Rows that share a key are told apart by count, not by line (lines move when a file is edited):
the n-th duplicate of a key in this input already has its record when the journal holds n
``skipped`` records for that key; the same goes for identical invalid rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from broadcaster.idempotency import derive_key
from broadcaster.journal import JournalState
from broadcaster.outcome import Status
from broadcaster.plan import Invalid, Message, Planned


@dataclass(frozen=True, slots=True)
class Settled:
    """The row's record is in the journal already: count it, write nothing."""

    status: Status


@dataclass(frozen=True, slots=True)
class Rejected:
    """An invalid row, to record now."""

    line: int
    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A later row with the same message as line ``first``."""

    line: int
    key: str
    first: int

    @property
    def reason(self) -> str:
        return f"duplicate of line {self.first}: the same message, sent once (see that row)"


Decision = Message | Settled | Rejected | Duplicate


class Triage:
    """Decides, row by row, in input order; remembers the first row of every key."""

    def __init__(self, campaign: str, journal: JournalState, retry_failed: bool = False) -> None:
        self._campaign = campaign
        self._journal = journal
        self._retry_failed = retry_failed
        # key -> (first line, the message's own digest when the key is the row's local_id)
        self._first: dict[str, tuple[int, str | None]] = {}
        self._duplicates: Counter[str] = Counter()
        self._invalid: Counter[str] = Counter()

    def decide(self, planned: Planned) -> Decision:
        if isinstance(planned, Invalid):
            return self._reject(planned.line, planned.key, planned.reason)
        digest = planned.digest
        recorded = self._journal.digests.get(planned.key) if digest is not None else None
        if recorded not in (None, digest):  # an earlier run sent another message under it
            return self._reused_local_id(planned, None)
        seen = self._first.get(planned.key)
        if seen is None:
            self._first[planned.key] = (planned.line, digest)
            return self._first_row(planned)
        first, first_digest = seen
        if first_digest != digest:
            return self._reused_local_id(planned, first)
        self._duplicates[planned.key] += 1
        if self._duplicates[planned.key] <= self._journal.skipped[planned.key]:
            return Settled("skipped")
        return Duplicate(planned.line, planned.key, first)

    def _first_row(self, message: Message) -> Message | Settled:
        earlier = self._journal.statuses.get(message.key)
        if earlier == "sent" or (earlier == "failed" and not self._retry_failed):
            return Settled(earlier)
        return message

    def _reject(self, line: int, key: str, reason: str) -> Rejected | Settled:
        self._invalid[key] += 1
        if self._invalid[key] <= self._journal.invalid[key]:
            return Settled("invalid")
        return Rejected(line, key, reason)

    def _reused_local_id(self, message: Message, first: int | None) -> Rejected | Settled:
        # Keyed by what the row says, so an unchanged row is recorded once across runs.
        key = derive_key(self._campaign, {"reused-local-id": message.key, **message.body})
        where = f"line {first}" if first is not None else "an earlier run"
        reason = f"local_id: {message.key} is already used by {where} for another message"
        return self._reject(message.line, key, reason)
