"""The circuit breaker's counting: in a row, a failure rate over a window, ignored kinds."""

from __future__ import annotations

from broadcaster.breaker import WINDOW, Breaker, failure_kind

OPTED_OUT = "HTTP 400 bad_data: phone_number: the contact has opted out of messages"


def feed(breaker: Breaker, pattern: str, error: str = "HTTP 404 not_found") -> list[int]:
    """Note each message of ``pattern`` (F failed, S sent); the positions where it tripped."""
    return [
        n
        for n, mark in enumerate(pattern)
        if breaker.note(mark == "F", error if mark == "F" else None) is not None
    ]


class TestInARow:
    def test_trips_on_the_nth_failure_in_a_row_and_names_the_last_error(self) -> None:
        breaker = Breaker(in_a_row=3)
        assert feed(breaker, "FF") == []
        reason = breaker.note(True, "HTTP 404 not_found: inbox 999")
        assert reason == "3 messages failed in a row (last: HTTP 404 not_found: inbox 999)"

    def test_a_message_sent_starts_the_count_again(self) -> None:
        assert feed(Breaker(in_a_row=3), "FFSFFSFF") == []
        assert feed(Breaker(in_a_row=3), "FFSFFF") == [5]

    def test_after_a_halted_run_it_probes_with_a_few_until_one_gets_through(self) -> None:
        probing = Breaker(in_a_row=25)
        probing.probe(3)
        assert feed(probing, "FFF") == [2]
        recovered = Breaker(in_a_row=25)
        recovered.probe(3)
        assert feed(recovered, "FFS" + "F" * 24) == []  # a success: back to 25

    def test_off_at_zero(self) -> None:
        breaker = Breaker()
        assert not breaker.enabled
        assert feed(breaker, "F" * 500) == []


class TestFailRate:
    def test_trips_once_p_percent_of_the_window_have_failed(self) -> None:
        """50% of 100: the 50th failure in the last 100 messages."""
        breaker = Breaker(fail_rate=50)
        assert feed(breaker, "F" + "S" * 49) == []
        assert feed(breaker, "F" * 49)[0] == 48  # the 49th of these is the 50th failure

    def test_the_first_messages_are_judged_without_a_full_window(self) -> None:
        """Every message failing, 20%: the 20th stops it, not the 100th; and failures that
        come first still count when successes follow."""
        assert feed(Breaker(fail_rate=20), "F" * 30)[0] == 19
        assert feed(Breaker(fail_rate=20), "S" * 5 + "F" * 20)[0] == 24

    def test_the_window_slides(self) -> None:
        """Failures older than the window are forgotten: 10% a window never trips 20%."""
        breaker = Breaker(fail_rate=20)
        assert feed(breaker, ("F" + "S" * 9) * 50) == []
        trips = feed(Breaker(fail_rate=20), "S" * WINDOW + "F" * 20)
        assert trips[0] == WINDOW + 19  # the 20th failure makes 20 of the last 100

    def test_the_reason_gives_the_figures(self) -> None:
        breaker = Breaker(fail_rate=30, window=10)
        feed(breaker, "SSSSSSSFF")
        reason = breaker.note(True, "HTTP 403 forbidden")
        assert reason == (
            "3 of the last 10 messages failed, 30% of 10 (--halt-on-fail-rate) "
            "(last: HTTP 403 forbidden)"
        )


class TestIgnored:
    def test_opt_out_refusals_count_neither_way(self) -> None:
        breaker = Breaker(in_a_row=2, ignore=frozenset({"opted_out"}))
        assert breaker.note(True, "HTTP 404 not_found") is None
        assert breaker.note(True, OPTED_OUT) is None  # neither counts nor breaks the streak
        assert breaker.note(True, "HTTP 404 not_found") is not None

    def test_opt_outs_count_unless_ignored(self) -> None:
        breaker = Breaker(in_a_row=2)
        assert breaker.note(True, OPTED_OUT) is None
        assert breaker.note(True, OPTED_OUT) is not None

    def test_kinds_are_told_by_the_refusal_words(self) -> None:
        assert failure_kind(OPTED_OUT) == "opted_out"
        assert failure_kind("HTTP 400 bad_data: contact is unsubscribed") == "opted_out"
        assert failure_kind("HTTP 400 opt-out") == "opted_out"
        assert failure_kind("HTTP 404 not_found: no such inbox") is None
        assert failure_kind(None) is None
