from __future__ import annotations

from broadcaster.outcome import Reply
from broadcaster.pacer import Pacer
from broadcaster.rate import Rate
from broadcaster.retry import RetryPolicy
from broadcaster.testing import VirtualTime
from broadcaster.throttle import Pause, Throttle

LIMITED = Reply("retry", 429, error="HTTP 429")
REFUSED = Reply("retry", error="cannot connect", connected=False)
SENT = Reply("sent", 200, id=1)


class Ceiling(RetryPolicy):
    """Every backoff takes its ceiling."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        return max(self.ceiling(attempt), retry_after or 0.0)


def throttle(clock: VirtualTime) -> Throttle:
    pacer = Pacer(Rate(0), clock=clock.clock, sleep=clock.sleep)
    return Throttle(Ceiling(8, 1.0, 30.0), pacer, clock.clock, stuck_after=120.0)


class TestThrottle:
    def test_other_errors_always_cost_an_attempt(self) -> None:
        t = throttle(VirtualTime())
        t.note(SENT)
        assert t.charges(Reply("retry", 503, error="HTTP 503"))

    def test_a_429_is_free_while_messages_got_through_lately(self) -> None:
        clock = VirtualTime()
        t = throttle(clock)
        t.note(SENT)
        t.note(LIMITED)
        clock.now = 119.0
        assert not t.charges(LIMITED)
        clock.now = 121.0
        assert t.charges(LIMITED)
        t.note(SENT)
        assert not t.charges(LIMITED)

    def test_no_connection_before_the_api_was_ever_reached_costs_at_once(self) -> None:
        t = throttle(VirtualTime())
        t.note(REFUSED)
        assert t.charges(REFUSED)

    def test_pauses_grow_with_the_streak_and_echoes_change_nothing(self) -> None:
        clock = VirtualTime()
        t = throttle(clock)
        t.note(LIMITED)
        assert t.pause(LIMITED, sent_at=0.0) == 1.0
        assert t.pause(LIMITED, sent_at=-0.5) is None  # left before that pause began
        clock.now = 1.5
        t.note(LIMITED)
        assert t.pause(LIMITED, sent_at=1.2) == 2.0  # left after it: the streak grows
        t.note(SENT)  # the streak ends
        clock.now = 4.0  # after the 2 s pause
        t.note(LIMITED)
        assert t.pause(LIMITED, sent_at=3.9) == 1.0

    def test_a_retry_after_sets_the_pause_even_for_an_echo(self) -> None:
        t = throttle(VirtualTime())
        busy = Reply("retry", 503, error="HTTP 503", retry_after=7.0)
        t.note(busy)
        assert t.pause(busy, sent_at=0.0) == 7.0
        longer = Reply("retry", 503, error="HTTP 503", retry_after=9.0)
        assert t.pause(longer, sent_at=-1.0) == 9.0
        assert t.pause(busy, sent_at=-1.0) is None

    def test_a_pause_that_lengthens_one_in_force_adds_only_the_difference(self) -> None:
        """Sixteen echoed 429s with Retry-After 30 hold the run 30 s, not eight minutes: the
        journal's pause markers, which the report adds up, record what each one added."""
        t = throttle(VirtualTime())
        t.note(Reply("retry", 503, error="HTTP 503", retry_after=7.0))
        t.pause(Reply("retry", 503, error="HTTP 503", retry_after=7.0), sent_at=0.0)
        assert t.added == 7.0
        t.pause(Reply("retry", 503, error="HTTP 503", retry_after=9.0), sent_at=-1.0)
        assert t.added == 2.0


class TestPauseInForce:
    def test_none_before_any_pause(self) -> None:
        assert throttle(VirtualTime()).pause_in_force() is None

    def test_the_time_left_counts_down_to_none(self) -> None:
        clock = VirtualTime()
        t = throttle(clock)
        t.note(LIMITED)
        t.pause(LIMITED, sent_at=0.0)
        assert t.pause_in_force() == Pause(1.0, "HTTP 429")
        clock.now = 0.75
        assert t.pause_in_force() == Pause(0.25, "HTTP 429")
        clock.now = 1.0
        assert t.pause_in_force() is None

    def test_an_echo_changes_nothing_and_a_longer_retry_after_takes_over(self) -> None:
        clock = VirtualTime()
        t = throttle(clock)
        t.note(REFUSED)
        t.pause(REFUSED, sent_at=0.0)
        t.pause(LIMITED, sent_at=-1.0)  # an echo without Retry-After: the pause stands
        assert t.pause_in_force() == Pause(1.0, "no connection")
        busy = Reply("retry", 503, error="HTTP 503", retry_after=7.0)
        clock.now = 0.5
        t.pause(busy, sent_at=-1.0)
        assert t.pause_in_force() == Pause(7.0, "Retry-After on HTTP 503")
