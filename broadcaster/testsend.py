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
``--test-to`` those rows are sent for real and the rest wait for a resume.
"""

from __future__ import annotations

from broadcaster.columns import TARGET_FIELDS
from broadcaster.idempotency import derive_key
from broadcaster.plan import Message

TEST_FIELD = "test-to"  # in a test message's key: never a real message's


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
