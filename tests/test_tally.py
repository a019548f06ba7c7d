from __future__ import annotations

from broadcaster.outcome import Outcome
from broadcaster.tally import Tally


class TestTally:
    def test_outcomes_add_up_by_status_with_the_latency_of_requests(self) -> None:
        tally = Tally(rows=5, input_done=True)
        for outcome in (
            Outcome("sent", "a", 2, latency_ms=120.0),
            Outcome("failed", "b", 3, latency_ms=400.0),
            Outcome("invalid", "c", 4),
            Outcome("skipped", "a", 5),
        ):
            tally.add(outcome)
        assert (tally.sent, tally.failed, tally.invalid, tally.duplicates) == (1, 1, 1, 1)
        assert (tally.latency_total, tally.latency_max) == (0.52, 0.4)
        assert (tally.settled, tally.unsettled, tally.problems) == (4, 1, 2)

    def test_the_mean_rate_spans_first_to_last_request(self) -> None:
        tally = Tally()
        assert tally.mean_rate is None
        for at in (10.0, 10.5, 11.0):
            tally.note_request(at)
        assert tally.mean_rate == 2.0


def test_lookup_pages_count_in_the_rate_but_not_as_attempts() -> None:
    tally = Tally()
    for at in (0.0, 0.5, 1.0):
        tally.note_request(at)
    tally.note_request(0.75, lookup=True)
    assert (tally.attempts, tally.lookup_pages) == (3, 1)
    assert tally.mean_rate == 3.0  # four requests in one second
