"""Test sends and samples: a campaign tried on one phone, or on a few rows, before the real run.

``--test-to PHONE`` sends the first row's message (or, with ``--sample N``, the sampled rows'
messages) to PHONE instead of the row's target, under keys of its own: the key of a test
message is derived from the message, the test phone and the test run's start, so no test
record can ever settle a real row, and asking again sends again (an API that de-duplicates
``local_id`` would otherwise answer a second test with the first one's message). A test run
writes no journal (its outcomes are printed), and goes now, whatever ``--window`` or
``--not-after`` say: it is asked for, seen and done.

``--sample N`` picks N rows spread evenly through the file (the first, then every
``total / N``-th), so a test sees the beginning, the middle and the end of a list; without
``--test-to`` those rows are sent for real and the rest wait for a resume. Every row is
planned and triaged (``Turns``): a row settled already hands its turn on, and a twin goes
with its first row.
"""

from __future__ import annotations

from broadcaster.columns import TARGET_FIELDS
from broadcaster.gate import Deferred
from broadcaster.idempotency import derive_key
from broadcaster.plan import Message
from broadcaster.triage import Duplicate, Rejected, Withheld

TEST_FIELD = "test-to"  # in a test message's key: never a real message's
Taken = Message | Rejected | Duplicate | Withheld | Deferred  # a row not settled already


def to_test(message: Message, phone: str, campaign: str, run: str) -> Message:
    """The message with ``phone`` (the API's digits) in place of its target, keyed anew for
    this test ``run`` (its start)."""
    body: dict[str, object] = {}
    for name, value in message.body.items():
        if name in TARGET_FIELDS:
            body.setdefault("phone_number", phone)
        elif name != "local_id":
            body[name] = value
    key = derive_key(campaign, {TEST_FIELD: [phone, run], **body})
    body["local_id"] = key
    return Message(message.line, key, body)


def sample(total: int, count: int) -> frozenset[int]:
    """``count`` row positions (0 for the first row read) spread through ``total`` rows."""
    if count >= total:
        return frozenset(range(total))
    return frozenset(k * total // count for k in range(count))


def positions(total: int, count: int) -> frozenset[int] | None:
    """``--sample count``'s positions in ``total`` rows; None when it takes every row: a plain
    run, no position kept nor row remembered (a million of each cost about 120 MB)."""
    return sample(total, count) if count < total else None


class Turns:
    """Which rows ``--sample`` takes, told row by row in input order.

    The first row, then every total/N-th, is due (``positions``). A row an earlier run settled
    takes no turn: its turn goes on to the next row that has a record to make now (a message,
    an invalid row, a withheld one), so that a resume's sample takes rows that still need it.
    A twin follows its first row: taken without a turn when that row was, left when it was
    not; so is every later invalid or withheld row of a key left once: a duplicate's record
    never comes before its message's, nor a row's before its first twin's."""

    def __init__(self, positions: frozenset[int]) -> None:
        self._positions = positions
        self._due = 0
        self.taken: set[int] = set()  # the lines taken: a later pass reads them again
        self._left: set[str] = set()  # the keys of invalid or withheld rows left

    def reach(self, position: int) -> None:
        """The row at ``position`` (0: the first read) is next."""
        self._due += position in self._positions

    def takes(self, row: Taken) -> bool:
        """Whether the sample takes this row (one not settled already); False: it is left."""
        if isinstance(row, Duplicate) and row.first is not None:
            return row.first in self.taken
        if row.key in self._left:
            return False
        if not self._due:
            if not isinstance(row, Message | Deferred | Duplicate):
                self._left.add(row.key)
            return False
        self._due -= 1
        self.taken.add(row.line)
        return True
