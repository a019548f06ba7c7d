"""The throttle: replies about the API rather than the message, and what the run does of them.

A 429, a Retry-After or a connection that cannot be made says nothing about the message: every
request would meet it. So the throttle pauses everyone (through the pacer, at any rate), for
the Retry-After or for a backoff that grows with the run's streak of pauses in a row. The
replies to requests that left before the pause in force began are echoes of what caused it
(sixteen requests in flight meet the same full window): they neither lengthen the pause nor
grow the streak, unless a Retry-After asks for longer.

Such a reply costs its message no attempt while the run is progressing: the API has been
reached, and a message got through within ``stuck_after`` seconds (two windows of the
documented per-minute limit, which an unpaced burst can fill for most of a minute). Past that,
or when the API was never reached at all (a wrong URL), they cost attempts as any error does,
and a message that runs out of them means the run is stuck: the engine stops it, resumable,
rather than fail row after row.

With an ``AdaptiveRate`` (``adaptive``), a 429 that puts a new pause in force also lowers the
rate, and clean answers raise it again, each change told to ``on_rate``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from broadcaster.adaptive import AdaptiveRate
from broadcaster.outcome import Reply
from broadcaster.pacer import Pacer
from broadcaster.rate import format_duration
from broadcaster.retry import RetryPolicy

STUCK_AFTER = 120.0


@dataclass(frozen=True, slots=True)
class Pause:
    """The pause in force, as progress shows it: the seconds left, and why."""

    left: float
    cause: str


class Throttle:
    """``note(reply)`` for every reply; ``charges`` and ``pause`` for a pausing one."""

    def __init__(
        self,
        policy: RetryPolicy,
        pacer: Pacer,
        clock: Callable[[], float],
        stuck_after: float = STUCK_AFTER,
        *,
        adaptive: AdaptiveRate | None = None,
    ) -> None:
        self.stuck_after = stuck_after
        self.adaptive = adaptive
        # Told each new rate in force, and whether it was lowered (the engine's).
        self.on_rate: Callable[[float, bool], None] | None = None
        self._policy = policy
        self._pacer = pacer
        self._clock = clock
        self._streak = 0  # pauses in a row, run-wide: each longer than the last
        self._paused_at = -math.inf  # when the pause in force (or the last one) began
        self._progress_at = clock()  # when a message was last answered for good
        self._reached = False  # whether any request has reached the API
        self._held: tuple[float, str] = (-math.inf, "")  # until when the pacer holds, and why
        self.added = 0.0  # the seconds the last pause put in force added to the hold

    @property
    def stuck_reason(self) -> str:
        """Why a run that ran out of attempts on pausing replies is stuck."""
        if not self._reached:
            return "the API could not be reached"
        return f"no message got through for {format_duration(self.stuck_after)}"

    def pause_in_force(self) -> Pause | None:
        """The pause holding every request now, if any (read only: for progress)."""
        until, cause = self._held
        left = until - self._clock()
        return Pause(left, cause) if left > 0 else None

    def start(self) -> None:
        self._progress_at = self._clock()

    def note(self, reply: Reply) -> None:
        self._reached = self._reached or reply.connected
        if not reply.pauses_everyone:
            self._streak = 0
        if reply.verdict in ("sent", "failed"):
            self._progress_at = self._clock()
            if self.adaptive is not None:
                self._set_rate(self.adaptive.climb(self._progress_at), lowered=False)

    def charges(self, reply: Reply) -> bool:
        """Whether a reply to be retried costs its message an attempt."""
        if not reply.pauses_everyone:
            return True
        return not (self._reached and self._clock() - self._progress_at < self.stuck_after)

    def pause(self, reply: Reply, sent_at: float) -> float | None:
        """Pause everyone for a pausing reply to a request sent at ``sent_at``: the seconds,
        or None when the pause in force already covers it."""
        if sent_at < self._paused_at:  # an echo of the pause in force
            wait = reply.retry_after
            return wait if wait is not None and self._hold(wait, reply) else None
        self._streak += 1
        delay = self._policy.delay(self._streak, reply.retry_after)
        self._paused_at = self._clock()
        if self.adaptive is not None and reply.http_status == HTTPStatus.TOO_MANY_REQUESTS:
            self._set_rate(self.adaptive.lower(self._paused_at), lowered=True)
        return delay if self._hold(delay, reply) else None

    def _set_rate(self, per_second: float | None, *, lowered: bool) -> None:
        if per_second is not None:
            self._pacer.set_rate(per_second)
            if self.on_rate is not None:
                self.on_rate(per_second, lowered)

    def _hold(self, seconds: float, reply: Reply) -> bool:
        """Pause the pacer; remember until when, for ``pause_in_force``, and by how much the
        hold grew (``added``: a pause that lengthens one in force adds only the difference)."""
        self.added = self._pacer.pause(seconds)
        if self.added:
            self._held = (self._clock() + seconds, reply.pause_cause)
        return self.added > 0
