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

from dataclasses import dataclass, replace
from typing import Literal

from broadcaster.idempotency import derive_key
from broadcaster.journal import JournalState
from broadcaster.keytable import KeyCounts, KeyTable
from broadcaster.outcome import SUPPRESSED, Status
from broadcaster.plan import Invalid, Message, Planned
from broadcaster.suppression import Suppression

# What a row of the journal's was (settledlines): its message's first row, or a twin.
RowKind = Literal["message", "duplicate"]


@dataclass(frozen=True, slots=True)
class Settled:
    """The row's record is in the journal already: count it, write nothing (but a ``replaced``
    marker, for a --failed-csv row whose fixed message has its record already)."""

    status: Status
    key: str | None = None
    replaces: str | None = None
    reason: str | None = None  # a withheld row's (outcome.WITHHELD)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An invalid row, to record now."""

    line: int
    key: str
    reason: str
    replaces: str | None = None  # the key of the record the row fixes


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A later row with the same message as line ``first``."""

    line: int
    key: str  # the key of the message that is sent
    first: int | None  # that message's first row, or None when an earlier run sent it
    replaces: str | None = None  # the key of the record the row fixes

    @property
    def reason(self) -> str:
        if self.first is None:
            return "duplicate of a message an earlier run sent: the same message, sent once"
        return f"duplicate of line {self.first}: the same message, sent once (see that row)"


@dataclass(frozen=True, slots=True)
class Withheld:
    """A message not to send, for ``reason`` (outcome.WITHHELD): recorded ``skipped``, its
    record settling nothing (a later run sends it once the reason no longer holds)."""

    line: int
    key: str
    reason: str
    detail: str  # what a person reads: which number is suppressed, which deadline passed


Decision = Message | Settled | Rejected | Duplicate | Withheld


def too_late(not_after: str) -> str:
    """A row withheld by the deadline, as its record says it."""
    return f"not sent: the --not-after deadline ({not_after}) had passed"


SENT_OR_TRIED = ("sent", "failed")


class Triage:
    """Decides, row by row, in input order; remembers the first row of every key."""

    def __init__(
        self,
        campaign: str,
        journal: JournalState,
        retry_failed: bool = False,
        suppression: Suppression | None = None,
    ) -> None:
        self._campaign = campaign
        self._journal = journal
        self._retry_failed = retry_failed
        self._suppression = suppression or Suppression()
        self._withheld: dict[str, KeyCounts] = {}
        # key -> its first line, compact (every key of the input is in it); and the message's
        # digest for the keys that are a row's own local_id (a rarer kind of row)
        self._first = KeyTable(len(journal.statuses))  # a resume meets those keys again
        self._first_digest: dict[str, str] = {}
        self._duplicates = KeyCounts()
        self._invalid = KeyCounts()
        # Rows with their own local_id: the first key sending each message's content, and the
        # keys whose message another key sends (their rows are that key's duplicates).
        self._content: dict[str, str] = {}
        self._alias: dict[str, str] = {}
        self._recorded_content = {digest: key for key, digest in journal.digests.items()}

    def decide(self, planned: Planned) -> Decision:
        if isinstance(planned, Message):
            suppressed = self._suppressed(planned)
            if suppressed is not None:
                return suppressed
        decision = self._decide(planned)
        replaces = planned.replaces
        if replaces is None or replaces == planned.key or replaces in self._journal.replacements:
            return decision  # a Message or a Rejected carries its row's replaces itself
        if isinstance(decision, Duplicate):
            return replace(decision, replaces=replaces)
        if isinstance(decision, Settled):
            return replace(decision, key=planned.key, replaces=replaces)
        return decision

    def _decide(self, planned: Planned) -> Decision:
        if isinstance(planned, Invalid):
            return self.reject(planned.line, planned.key, planned.reason, planned.replaces)
        digest = planned.digest
        recorded = self._journal.digests.get(planned.key) if digest is not None else None
        if recorded not in (None, digest):  # an earlier run sent another message under it
            return self._reused_local_id(planned, None)
        first = self._first.setdefault(planned.key, planned.line)
        if first is None:
            if digest is not None:
                self._first_digest[planned.key] = digest
            owner = self._owner(planned)
            if owner is None:
                return self._first_row(planned)
            self._alias[planned.key] = owner[0]
            return self._duplicate(planned.line, *owner)
        if self._first_digest.get(planned.key) != digest:
            return self._reused_local_id(planned, first)
        key = self._alias.get(planned.key, planned.key)
        return self._duplicate(planned.line, key, self._first.get(key))

    def settled_row(self, line: int, key: str, kind: RowKind) -> Settled | None:
        """What ``decide`` makes of the row at ``line`` when it settles it, told from the
        journal's word alone (settledlines): the row's message ``key``, and whether the row
        is that message's first row or a duplicate. A settled row never reaches the gate, so
        this is the row's decision. None, with nothing changed, when more than that is needed
        (the row is then planned and decided in full): a suppression list (it needs the
        number), an owner of the message other than the row, fewer records than rows, a fix."""
        if self._suppression.numbers or self._fixed(key) is not None:
            return None
        if kind == "duplicate":
            if self._first.get(key) is None or key in self._first_digest or key in self._alias:
                return None
            if self._duplicates[key] >= self._journal.skipped[key]:
                return None  # the n-th twin is settled while the journal holds n records
            self._duplicates.add(key)
            return Settled("skipped")
        return self._settled_first_row(line, key)

    def _settled_first_row(self, line: int, key: str) -> Settled | None:
        if key in self._content or key in self._recorded_content:
            return None  # another row's message: decide tells which
        earlier = self._journal.statuses.get(key)
        if not (earlier == "sent" or (earlier == "failed" and not self._retry_failed)):
            return None
        if self._first.setdefault(key, line) is not None:
            return None  # a twin (its first line kept as it was): decide tells which
        return Settled(earlier)

    def _suppressed(self, message: Message) -> Withheld | Settled | None:
        """A message to a suppressed number, not sent already: withheld."""
        number = self._suppression.match(message.body)
        if number is None or self._journal.statuses.get(message.key) == "sent":
            return None
        detail = f"+{number} is suppressed (--suppress): not sent"
        return self.withhold(message.line, message.key, SUPPRESSED, detail)

    def withhold(self, line: int, key: str, reason: str, detail: str) -> Withheld | Settled:
        """A row of message ``key`` not sent for ``reason``: recorded once for that reason (the
        n-th such row of a key has its record when the journal holds n)."""
        count = self._withheld.setdefault(reason, KeyCounts()).add(key)
        recorded = self._journal.withheld.get(reason)
        if recorded is not None and count <= recorded[key]:
            return Settled("skipped", reason=reason)
        return Withheld(line, key, reason, detail)

    def _duplicate(self, line: int, key: str, first: int | None) -> Duplicate | Settled:
        """A row whose message ``key`` sends (its first row at ``first``, or an earlier run)."""
        if self._duplicates.add(key) <= self._journal.skipped[key]:
            return Settled("skipped")
        return Duplicate(line, key, first)

    def _owner(self, message: Message) -> tuple[str, int | None] | None:
        """Another key that sends this message's content: a row with its own local_id and a row
        without one can render the same message, and it goes once."""
        content = message.digest or message.key
        candidates: list[tuple[str, int | None]] = []
        first = self._first.get(content) if content != message.key else None
        if first is not None:
            candidates.append((content, first))
        if content in self._content:
            holder = self._content[content]
            candidates.append((holder, self._first.get(holder)))
        if message.digest is not None and self._journal.statuses.get(content) in SENT_OR_TRIED:
            candidates.append((content, None))
        if content in self._recorded_content:
            candidates.append((self._recorded_content[content], None))
        if message.digest is not None:
            self._content.setdefault(content, message.key)
        for key, first in candidates:
            owner = self._alias.get(key, key)
            if owner != message.key:
                return owner, first
        return None

    def _first_row(self, message: Message) -> Message | Settled:
        earlier = self._journal.statuses.get(message.key)
        if earlier == "sent":
            return Settled(earlier)
        fixed = self._fixed(message.key)
        if fixed is not None:
            return Settled(fixed)  # a fix file sent the row's message as it should be
        if earlier == "failed" and not self._retry_failed:
            return Settled(earlier)
        return message

    def _fixed(self, key: str) -> Status | None:
        """The status of the row that replaced this key's record (a --failed-csv fix), or
        None; "skipped" while the replacement has not ended."""
        replacement = self._journal.replacements.get(key)
        if replacement is None:
            return None
        return self._journal.statuses.get(replacement, "skipped")

    def reject(
        self, line: int, key: str, reason: str, replaces: str | None = None
    ) -> Rejected | Settled:
        """An invalid row, recorded once (the n-th of a key has its record when the journal
        holds n)."""
        count = self._invalid.add(key)
        fixed = self._fixed(key)
        if fixed is not None:
            return Settled(fixed)
        if count <= self._journal.invalid[key]:
            return Settled("invalid")
        return Rejected(line, key, reason, replaces)

    def _reused_local_id(self, message: Message, first: int | None) -> Rejected | Settled:
        # Keyed by what the row says, so an unchanged row is recorded once across runs.
        key = derive_key(self._campaign, {"reused-local-id": message.key, **message.body})
        where = f"line {first}" if first is not None else "an earlier run"
        reason = f"local_id: {message.key} is already used by {where} for another message"
        return self.reject(message.line, key, reason, message.replaces)
