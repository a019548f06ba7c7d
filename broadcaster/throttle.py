"""The throttle: replies about the API rather than the message, and what the run does of them.

A 429, a Retry-After or a connection that cannot be made says nothing about the message: every
request would meet it. So the throttle pauses everyone (through the pacer, at any rate), for
the Retry-After or for a backoff that grows with the run's streak of such replies in a row.

Such a reply costs its message no attempt while the run is progressing: the API has been
reached, and a message got through within ``stuck_after`` seconds (two windows of the
documented per-minute limit, which an unpaced burst can fill for most of a minute). Past that,
or when the API was never reached at all (a wrong URL), they cost attempts as any error does,
and a message that runs out of them means the run is stuck: the engine stops it, resumable,
rather than fail row after row. This is where an adaptive rate or a circuit breaker belongs.
"""

from __future__ import annotations

from collections.abc import Callable

from broadcaster.outcome import Reply
from broadcaster.pacer import Pacer
from broadcaster.retry import RetryPolicy

STUCK_AFTER = 120.0


class Throttle:
    """``note(reply)`` for every reply; ``charges`` and ``pause`` for a pausing one."""

    def __init__(
        self,
        policy: RetryPolicy,
        pacer: Pacer,
        clock: Callable[[], float],
        stuck_after: float = STUCK_AFTER,
    ) -> None:
        self.stuck_after = stuck_after
        self._policy = policy
        self._pacer = pacer
        self._clock = clock
        self._streak = 0  # pausing replies in a row, run-wide: each pause longer than the last
        self._progress_at = clock()  # when a message was last answered for good
        self._reached = False  # whether any request has reached the API

    def start(self) -> None:
        self._progress_at = self._clock()

    def note(self, reply: Reply) -> None:
        self._reached = self._reached or reply.connected
        self._streak = self._streak + 1 if reply.pauses_everyone else 0
        if reply.verdict in ("sent", "failed"):
            self._progress_at = self._clock()

    def charges(self, reply: Reply) -> bool:
        """Whether a reply to be retried costs its message an attempt."""
        if not reply.pauses_everyone:
            return True
        return not (self._reached and self._clock() - self._progress_at < self.stuck_after)

    def pause(self, reply: Reply) -> float | None:
        """Pause everyone for a pausing reply; the seconds, or None when a longer pause holds."""
        delay = self._policy.delay(max(self._streak, 1), reply.retry_after)
        return delay if self._pacer.pause(delay) else None
