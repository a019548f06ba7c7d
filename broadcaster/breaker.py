"""The circuit breaker: a run whose messages keep failing stops, rather than burn its list.

A wrong ``--inbox-id``, a revoked number or an account problem makes every message fail the
same way. ``--halt-on-errors N`` stops the run once N messages in a row have failed;
``--halt-on-fail-rate P`` once P% of the last ``WINDOW`` messages have (as soon as that many
have failed: the first messages are judged too, without waiting for a full window). Only
messages count
(a request's final answer: sent or failed), not invalid rows or duplicates, which cost no
request. Refusals of a kind named in ``--halt-ignore`` (``opted_out``: the contact opted out)
count as neither: a stale list is not a broken campaign. The engine stops as on a first
Ctrl-C: requests in flight finish, and the run is resumable.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

WINDOW = 100  # the messages --halt-on-fail-rate looks back over
# Failures --halt-ignore can leave out, each told by the words of the API's refusal. The API
# does not document its error bodies; the sandbox's opt-out refusal says "opted out".
OPTED_OUT = "opted_out"
IGNORABLE: dict[str, re.Pattern[str]] = {
    OPTED_OUT: re.compile(r"opt(?:ed)?[\s_-]?out|unsubscribed", re.IGNORECASE),
}


def failure_kind(error: str | None) -> str | None:
    """The ``--halt-ignore`` kind of a failed message's error, if it is one."""
    if error is None:
        return None
    return next((kind for kind, words in IGNORABLE.items() if words.search(error)), None)


@dataclass(slots=True)
class Breaker:
    """Counts messages' ends; ``note`` says why the run must stop, once it must."""

    in_a_row: int = 0  # --halt-on-errors; 0: off
    fail_rate: float = 0.0  # --halt-on-fail-rate, in percent; 0: off
    ignore: frozenset[str] = frozenset()
    window: int = WINDOW
    _streak: int = 0
    _recent: deque[bool] = field(default_factory=deque)
    _failed_recently: int = 0
    _probing: int = 0  # after a halted run: the failures in a row that halt, until a success

    @property
    def enabled(self) -> bool:
        return self.in_a_row > 0 or self.fail_rate > 0

    def probe(self, failures: int) -> None:
        """After a halted run: stop again after ``failures`` in a row, until one gets through
        (a resume before the cause is fixed must not spend another N rows to learn it)."""
        if self.in_a_row > failures:
            self._probing = failures

    def note(self, failed: bool, error: str | None = None) -> str | None:
        """One message ended (``failed`` or sent, with the failure's ``error``): the reason
        to stop the run, or None."""
        if failed and self.ignore and failure_kind(error) in self.ignore:
            return None
        self._streak = self._streak + 1 if failed else 0
        if not failed:
            self._probing = 0
        if self.fail_rate > 0:
            self._recent.append(failed)
            self._failed_recently += failed
            if len(self._recent) > self.window:
                self._failed_recently -= self._recent.popleft()
        last = f" (last: {error})" if failed and error else ""
        if self._probing and self._streak >= self._probing:
            return f"{self._streak} messages failed in a row, as the last run's did{last}"
        if self.in_a_row > 0 and self._streak >= self.in_a_row:
            return f"{self._streak} messages failed in a row{last}"
        # P% of the window: once that many of the last messages failed, the rate over the
        # window is at least P% whatever the rest were, so it need not be full to judge.
        if self.fail_rate > 0 and self._failed_recently >= self.fail_rate * self.window / 100:
            return (
                f"{self._failed_recently} of the last {len(self._recent)} messages failed, "
                f"{self.fail_rate:g}% of {self.window} (--halt-on-fail-rate){last}"
            )
        return None
