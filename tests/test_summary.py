from __future__ import annotations

from collections import Counter

from broadcaster.outcome import Status
from broadcaster.rate import Rate, parse_rate
from broadcaster.summary import summary
from broadcaster.tally import Tally


def tally() -> Tally:
    t = Tally(
        rows=10,
        sent=6,
        failed=1,
        invalid=1,
        duplicates=1,
        earlier=Counter({"failed": 1}),
        input_done=True,
    )
    for at in (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875):
        t.note_request(at)
    t.latency_total, t.latency_max = 7 * 0.12, 0.4
    return t


class TestSummary:
    def test_a_resumed_run_shows_every_line_including_earlier_runs(self) -> None:
        assert summary(tally(), 61.0, parse_rate("480/m")).splitlines() == [
            "rows      10: 6 sent, 1 failed, 1 invalid, 1 duplicate (skipped) in this run",
            "earlier   1 settled by earlier runs: 1 failed",
            "requests  8 attempts for 7 messages, no pauses, latency mean 120 ms, max 400 ms",
            "time      1m 01s; mean 8.00 requests/s, asked 480/m (8.00/s)",
            "note      1 row failed in an earlier run; --retry-failed sends them again",
        ]

    def test_a_first_run_says_nothing_of_earlier_runs(self) -> None:
        first = Tally(rows=3, sent=2, invalid=1, input_done=True)
        text = summary(first, 1.0, Rate(8))
        assert "earlier" not in text
        assert "in this run" not in text
        assert text.startswith("rows      3: 2 sent, 0 failed, 1 invalid, 0 duplicate (skipped)\n")

    def test_pauses_are_counted_by_their_cause(self) -> None:
        paused = tally()
        paused.pauses.update({"HTTP 429": 2, "Retry-After on HTTP 503": 1})
        assert "3 pauses (2 for HTTP 429, 1 for Retry-After on HTTP 503)" in summary(
            paused, 1.0, Rate(8)
        )

    def test_a_lowered_rate_says_how_often_and_where_it_ended(self) -> None:
        lowered = tally()
        lowered.rate_in_force, lowered.rate_lowered = 4.6, 3
        lines = summary(lowered, 61.0, parse_rate("480/m")).splitlines()
        assert lines[4] == (
            "rate      lowered 3 times as 429s kept coming; 276/m in force at the end (asked "
            "480/m). The API's limit is lower than asked, or another process spends the same key"
        )
        assert "rate  " not in summary(tally(), 61.0, parse_rate("480/m"))

    def test_rows_in_doubt_looked_up_are_counted_by_what_was_found(self) -> None:
        doubted = tally()
        doubted.looked_up, doubted.found, doubted.untold, doubted.not_found = 5, 3, 1, 1
        assert (
            "in doubt  5 lookups of messages whose answer was lost: 3 committed (recorded sent, "
            "not sent again), 1 not committed, 1 unknown (the history could not tell)"
        ) in summary(doubted, 1.0, Rate(8)).splitlines()

    def test_rows_held_back_again_are_not_called_settled(self) -> None:
        resumed = Tally(rows=5, earlier=Counter({"sent": 3, "skipped": 2}), input_done=True)
        resumed.earlier_withheld["suppressed"] = 2
        assert (
            "earlier   3 settled by earlier runs: 3 sent; 2 held back again, as recorded "
            "(2 suppressed)"
        ) in summary(resumed, 1.0, Rate(8)).splitlines()

    def test_lookups_a_stop_cut_short_are_not_counted_not_committed(self) -> None:
        """A halt in the middle of 62 lookups: the 5 it cut are not 'not committed'."""
        halted = tally()
        halted.looked_up, halted.not_found = 62, 57
        assert (
            "in doubt  62 lookups of messages whose answer was lost: 0 committed (recorded sent, "
            "not sent again), 57 not committed, 0 unknown (the history could not tell), 5 cut "
            "short by the stop"
        ) in summary(halted, 1.0, Rate(8)).splitlines()

    def test_a_stopped_run_counts_what_ended_and_says_what_is_left(self) -> None:
        """400 rows read of 1,000: 380 ended, 20 in flight or queued, 600 never read."""
        stopped = Tally(rows=400, sent=370, failed=2, duplicates=8)
        lines = summary(stopped, 50.0, Rate(8), total=1000).splitlines()
        assert lines[:2] == [
            "rows      1,000: 370 sent, 2 failed, 0 invalid, 8 duplicate (skipped)",
            (
                "left      620 rows not ended: 20 read and not finished, 600 not read "
                "(a resumed run takes them up)"
            ),
        ]

    def test_rows_a_resume_never_read_may_have_ended_before(self) -> None:
        """An earlier --sample sent rows further down: a resume stopped before them cannot
        tell, and says 'up to'."""
        earlier: Counter[Status] = Counter({"sent": 8})
        stopped = Tally(rows=57, sent=49, earlier=earlier, recorded_before=True)
        assert (
            "left      up to 943 rows not ended: 943 not read (a resumed run takes them up)"
        ) in summary(stopped, 3.0, Rate(8), total=1000)

    def test_a_stopped_run_of_a_stream_cannot_count_what_it_never_read(self) -> None:
        stopped = Tally(rows=40, sent=30)
        assert (
            "left      10 read and not finished, the rest of the input not read "
            "(a resumed run takes them up)"
        ) in summary(stopped, 5.0, Rate(8))

    def test_a_dry_run_would_send_and_shows_no_request_rate(self) -> None:
        dry = Tally(rows=5, sent=4, invalid=1, input_done=True)
        for at in (0.0, 0.001, 0.002, 0.003):
            dry.note_request(at)
        assert summary(dry, 0.01, parse_rate("480/m"), dry_run=True).splitlines() == [
            "rows      5: 4 would be sent, 0 failed, 1 invalid, 0 duplicate (skipped)",
            "time      4 requests at 480/m: about 0s",
        ]

    def test_a_run_without_requests_shows_unpaced_and_no_latency(self) -> None:
        done = Tally(rows=3, earlier=Counter({"sent": 3}), input_done=True)
        text = summary(done, 0.2, Rate(0))
        assert "time      0s; unpaced" in text
        assert "requests  0 attempts for 0 messages, no pauses\n" in text
        assert "note" not in text
        assert "left" not in text

    def test_tally_counts_problems_from_every_run(self) -> None:
        assert tally().problems == 3
