from __future__ import annotations

import io
from collections import Counter
from collections.abc import MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from broadcaster.campaign import _progress as campaign_progress
from broadcaster.engine import Timing
from broadcaster.progress import Progress
from broadcaster.rate import Rate, parse_rate
from broadcaster.settings import Settings
from broadcaster.tally import Tally
from broadcaster.throttle import Pause


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_ticks(
    progress: Progress,
    clock: Clock,
    tally: Tally,
    seconds: int,
    per_second: int,
    *,
    pause: Pause | None = None,
) -> None:
    """A tick a second; a pause given holds from the first of them, counting down."""
    for _ in range(seconds):
        clock.now += 1
        tally.sent += per_second
        if pause is not None:
            pause = Pause(pause.left - 1, pause.cause) if pause.left > 1 else None
        progress.tick(tally, pause)


def logged(
    progress: Progress, clock: Clock, tally: Tally, seconds: int
) -> list[MutableMapping[str, Any]]:
    """The events of ``seconds`` ticks at 2 rows a second, then of the close."""
    structlog.reset_defaults()
    with capture_logs() as logs:
        run_ticks(progress, clock, tally, seconds, 2)
        progress.close()
    return logs


class TestProgress:
    def test_on_a_terminal_the_line_is_redrawn_and_cleared_at_close(self) -> None:
        clock, stream, tally = Clock(), io.StringIO(), Tally()
        progress = Progress(160, parse_rate("480/m"), clock, stream, width=lambda: 120, interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 10, 8)
        last = stream.getvalue().split("\r\x1b[2K")[-1]
        assert last == (
            "[############............] 80/160 rows · 50% · 8.0 rows/s · ETA 10s · "
            "80 sent, 0 failed, 0 invalid"
        )
        progress.close()
        assert stream.getvalue().endswith("\r\x1b[2K")

    def test_rows_waiting_for_their_window_count_the_wait_in_the_eta(self) -> None:
        """Nothing settles while rows wait: the ETA is the wait, then the rest at the rate
        (a trial saw it hidden as a stall, or flicker to 1s)."""
        clock, stream, tally = Clock(), io.StringIO(), Tally(rows=160)
        progress = Progress(160, parse_rate("60/m"), clock, stream, width=lambda: 200, interval=10)
        run_ticks(progress, clock, tally, 10, 1)  # 10 sent
        tally.waiting, tally.wait_left = "waiting for 09:00 America/Chicago (150 rows)", 3600.0
        run_ticks(progress, clock, tally, 40, 0)  # forty seconds of waiting: no stall
        assert progress.eta(tally.settled) == 3600.0 + 150
        line = progress.line(tally)
        assert "waiting for 09:00 America/Chicago (150 rows) · ETA 1h 02m 30s" in line

    def test_a_wait_for_the_deadline_is_the_eta_however_fast_rows_went_before(self) -> None:
        """An unpaced run's rows outside their window end skipped at --not-after: the ETA
        counts down to it. It stood at 28s for half a minute (a trial): the wait shrank as
        the rate measured before it decayed."""
        clock, stream, tally = Clock(), io.StringIO(), Tally(rows=160)
        progress = Progress(160, parse_rate("0"), clock, stream, width=lambda: 200, interval=10)
        run_ticks(progress, clock, tally, 3, 20)  # 60 sent, fast
        tally.waiting = "waiting for the --not-after deadline (100 rows outside their window…)"
        tally.wait_ends_all = True
        etas = []
        for left in (30, 20, 10):
            tally.wait_left = float(left)
            run_ticks(progress, clock, tally, 10, 0)
            etas.append(progress.eta(tally.settled))
        assert etas == [30.0, 20.0, 10.0]

    def test_a_stopped_run_shows_no_eta(self) -> None:
        """Halted, or stopped by a signal or a 401: the last line promised "ETA 9s"."""
        clock, stream, tally = Clock(), io.StringIO(), Tally(rows=100)
        progress = Progress(100, parse_rate("60/m"), clock, stream, width=lambda: 200, interval=10)
        run_ticks(progress, clock, tally, 5, 1)
        assert "ETA" in progress.line(tally)
        tally.stopped = True
        progress.tick(tally)
        assert "ETA" not in progress.line(tally)

    def test_a_dry_run_says_would_be_sent(self) -> None:
        progress = Progress(2, parse_rate("0"), Clock(), interval=10, sent="would be sent")
        tally = Tally(rows=2, sent=2)
        assert progress.line(tally).endswith("2 would be sent, 0 failed, 0 invalid")

    @pytest.mark.parametrize("columns", [80, 60, 20])
    def test_the_line_fits_the_terminal_so_a_redraw_never_leaves_a_stale_line(
        self, columns: int
    ) -> None:
        """A line as wide as the terminal wraps, and clearing the line clears only its tail."""
        clock, stream, tally = Clock(), io.StringIO(), Tally(sent=12_345, failed=67)
        progress = Progress(
            1_000_000, parse_rate("480/m"), clock, stream, width=lambda: columns, interval=10
        )
        progress.tick(tally)
        drawn = stream.getvalue().split("\r\x1b[2K")[-1]
        assert len(drawn) < columns
        assert drawn.startswith("12,412/1,000,000 rows"[: columns - 2])  # the bar goes first

    def test_eta_never_assumes_more_than_the_asked_rate(self) -> None:
        """Resuming, thousands of rows settle at once; the ETA stays at the asked rate."""
        clock, tally = Clock(), Tally(earlier=Counter({"sent": 5000}))
        progress = Progress(10_000, Rate(10), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 2, 10)
        assert progress.recent_rate() == pytest.approx(10.0)
        tally.earlier["sent"] += 3000
        clock.now += 1
        progress.tick(tally)
        assert progress.recent_rate() == pytest.approx(20 / 3)  # this run's: not the 3,000
        assert progress.eta(tally.settled) == pytest.approx((10_000 - 8020) / (20 / 3))

    def test_an_unpaced_resumes_eta_is_its_own_rows_rate(self) -> None:
        """A trial: "129,529/200,500 rows · 11771.9 rows/s · ETA 6s" as a resume passed rows an
        earlier run settled, at about 2,600 rows a second of its own: it took 27 s more."""
        clock, tally = Clock(), Tally()
        progress = Progress(200_000, Rate(0), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        for _ in range(5):
            clock.now += 1
            tally.earlier["sent"] += 20_000  # passed, settled by an earlier run
            tally.sent += 2_000
            progress.tick(tally)
        assert progress.recent_rate() == pytest.approx(2_000)
        assert progress.eta(tally.settled) == pytest.approx((200_000 - 110_000) / 2_000)

    def test_unpaced_rows_waiting_on_a_lookup_leave_the_others_rate_in_the_eta(self) -> None:
        """16 messages in flight at a crash wait 13 s for their lookup while the rest go: the
        ETA said 13 s for a run that took 58 s more."""
        clock, tally = Clock(), Tally()
        progress = Progress(10_000, Rate(0), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        tally.waiting, tally.wait_left = "16 messages in flight at the crash", 13.0
        tally.awaiting_lookup = 16
        run_ticks(progress, clock, tally, 5, 100)
        assert progress.eta(tally.settled) == pytest.approx((10_000 - 500 - 16) / 100)
        tally.wait_left = 200.0  # the others are done first: the run ends at the lookups
        assert progress.eta(tally.settled) == pytest.approx(200)

    @pytest.mark.parametrize("rate", [Rate(0), parse_rate("480/m")])
    def test_a_limited_run_waiting_only_on_lookups_ends_with_them(self, rate: Rate) -> None:
        """``resume --limit 300`` sent its 300 and waited 27 s to look up the 16 messages in
        flight at the crash: as nothing else ended, the recent rate fell to 0.8 rows/s, and
        the ETA of the 18,530 rows it would not take climbed to 6 hours."""
        clock, tally = Clock(), Tally(limit_reached=True)
        progress = Progress(20_000, rate, clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 3, 150)
        tally.rows = tally.sent + 16  # read: 450 sent, 16 to look up
        tally.waiting, tally.awaiting_lookup = "16 messages in flight at the crash", 16
        for left in range(27, 0, -1):
            tally.wait_left = float(left)
            run_ticks(progress, clock, tally, 1, 0)
            assert progress.eta(tally.settled) == pytest.approx(left)

    def test_a_limited_runs_eta_is_its_messages_not_the_files_rows(self) -> None:
        """``send --limit 300`` of 100,000 rows at 480/m takes about 38 s, not 3 hours."""
        clock, tally = Clock(), Tally()
        progress = Progress(100_000, parse_rate("480/m"), clock, io.StringIO(), interval=10)
        limited = Progress(
            100_000, parse_rate("480/m"), clock, io.StringIO(), interval=10, limit=300
        )
        for each in (progress, limited):
            each.tick(tally)
        for _ in range(10):
            clock.now += 1
            tally.sent += 8
            tally.invalid += 2  # rows that need no request end too, and not against --limit
            progress.tick(tally)
            limited.tick(tally)
        assert progress.eta(tally.settled) == pytest.approx((100_000 - 100) / 8)
        assert limited.eta(tally.settled) == pytest.approx((300 - 80) / 8)

    @pytest.mark.parametrize(
        ("limit", "sample", "messages"), [(300, None, 300), (None, 100, 100), (300, 100, 100)]
    )
    def test_a_runs_limit_is_its_limit_or_its_sample(
        self, limit: int | None, sample: int | None, messages: int
    ) -> None:
        """``--sample 100`` of a million rows at 480/m said 35 hours until its last row."""
        clock = Clock()
        settings = Settings(input="c.csv", rate=parse_rate("480/m"), limit=limit, sample=sample)
        progress = campaign_progress(settings, 1_000_000, Timing(clock=clock))
        progress.tick(Tally())
        assert progress.eta(0) == pytest.approx(messages / 8)

    def test_a_limited_runs_rows_left_are_those_it_read(self) -> None:
        """Rows --limit left unread are the next run's, not in this run's ETA."""
        clock, tally = Clock(), Tally()
        progress = Progress(100_000, Rate(0), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 5, 100)
        tally.rows, tally.limit_reached = 600, True
        assert progress.eta(tally.settled) == pytest.approx(1.0)  # 100 in flight at 100/s

    def test_a_dry_runs_eta_is_its_own_not_the_campaigns(self) -> None:
        """A dry run is not paced: at 8,000 rows a second its ETA was hours (at 480/m)."""
        clock, tally = Clock(), Tally()
        settings = Settings(input="c.csv", rate=parse_rate("480/m"), dry_run=True)
        progress = campaign_progress(settings, 300_000, Timing(clock=clock, wall_clock=clock))
        progress.tick(tally)
        run_ticks(progress, clock, tally, 10, 8000)
        assert progress.eta(tally.settled) == pytest.approx((300_000 - 80_000) / 8000)
        paced = campaign_progress(
            Settings(input="c.csv", rate=parse_rate("480/m")), 300_000, Timing(clock=clock)
        )
        assert paced.eta(0) == pytest.approx(300_000 / 8)

    def test_unpaced_eta_uses_the_recent_rate(self) -> None:
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(0), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 5, 100)
        assert progress.eta(tally.settled) == pytest.approx(5.0)

    def test_without_a_total_the_line_has_no_bar_and_no_eta(self) -> None:
        clock, stream = Clock(), io.StringIO()
        progress = Progress(None, Rate(8), clock, stream, interval=10)
        tally = Tally(sent=3)
        progress.tick(tally)
        assert progress.line(tally) == "3 rows · 3 sent, 0 failed, 0 invalid"

    def test_a_terminal_that_goes_away_stops_the_drawing_only(self) -> None:
        """The first failed write ends the drawing: no second attempt, no error."""

        class Gone(io.StringIO):
            writes = 0

            def write(self, _: str) -> int:
                self.writes += 1
                raise OSError(5, "Input/output error")

        clock, stream = Clock(), Gone()
        progress = Progress(10, Rate(1), clock, stream, interval=10)
        progress.tick(Tally())
        progress.tick(Tally(sent=1))
        progress.close()
        assert stream.writes == 1
        assert progress.line(Tally(sent=1)).startswith("[##")


class TestEtaWhilePaused:
    def test_no_estimate_while_nothing_settles(self) -> None:
        """A 30-second pause: the asked rate would promise the shortest ETA of the run."""
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(50), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 30, 0)
        assert progress.recent_rate() == 0
        assert progress.eta(tally.settled) is None
        assert "ETA" not in progress.line(tally)

    def test_a_pause_adds_its_time_left_and_is_said(self) -> None:
        """100 rows in 11 s (the pause began in the last one), 900 left: 30 s + 99 s."""
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(10), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 10, 10)
        clock.now += 1
        progress.tick(tally, Pause(30.0, "HTTP 429"))
        assert progress.eta(tally.settled) == pytest.approx(30 + 99)
        assert progress.status(tally) == (
            "100/1,000 rows · 10% · 9.1 rows/s · paused 30s (HTTP 429) · ETA 2m 09s · "
            "100 sent, 0 failed, 0 invalid"
        )

    def test_time_under_a_pause_does_not_lower_the_rate(self) -> None:
        """A 60-second pause, longer than the window: the ETA counts down with the pause."""
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(10), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 10, 10)
        etas = []
        for left in range(60, 0, -1):
            clock.now += 1
            progress.tick(tally, Pause(float(left), "HTTP 429"))
            etas.append(progress.eta(tally.settled))
            assert progress.recent_rate() == pytest.approx(100 / 11)  # as when it began
        assert etas[0] == pytest.approx(60 + 99)
        assert etas[-1] == pytest.approx(1 + 99)
        run_ticks(progress, clock, tally, 1, 10)  # the pause is over
        assert progress.eta(tally.settled) == pytest.approx(89.0)

    def test_the_recent_rate_when_lower_than_the_asked_one(self) -> None:
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(50), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 10, 5)
        progress.tick(tally, Pause(12.0, "no connection"))
        assert progress.eta(tally.settled) == pytest.approx(12 + 950 / 5)

    def test_a_pause_before_any_rate_is_known_uses_the_asked_rate(self) -> None:
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(10), clock, io.StringIO(), interval=10)
        progress.tick(tally, Pause(5.0, "HTTP 429"))
        clock.now += 1
        progress.tick(tally, Pause(4.0, "HTTP 429"))
        assert progress.recent_rate() is None
        assert progress.eta(tally.settled) == pytest.approx(4 + 100)

    def test_unpaced_and_paused_before_any_rate_says_the_pause_without_an_eta(self) -> None:
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(0), clock, io.StringIO(), interval=10)
        progress.tick(tally, Pause(7.2, "Retry-After on HTTP 503"))
        assert progress.eta(tally.settled) is None
        assert progress.status(tally) == (
            "0/1,000 rows · 0% · paused 8s (Retry-After on HTTP 503) · 0 sent, 0 failed, 0 invalid"
        )


class TestProgressEvents:
    """Off a terminal: events for a log collector, with the line's figures as fields."""

    def test_one_event_every_interval_and_a_last_one_at_close(self) -> None:
        clock, tally = Clock(), Tally()
        logs = logged(Progress(100, Rate(2), clock, None, interval=5), clock, tally, 23)
        assert [entry["rows"] for entry in logs] == [10, 20, 30, 40, 46]

    def test_the_event_carries_each_figure_and_the_line_without_its_bar(self) -> None:
        clock, tally = Clock(), Tally(failed=1, invalid=2)
        progress = Progress(200, Rate(4), clock, None, interval=10)
        progress.tick(tally)
        (event, *_) = logged(progress, clock, tally, 10)
        assert event == {
            "event": "progress",
            "log_level": "info",
            "rows": 23,
            "total": 200,
            "percent": 11.5,
            "sent": 20,
            "failed": 1,
            "invalid": 2,
            "rate": 2.0,
            "eta_seconds": 88,
            "status": "23/200 rows · 12% · 2.0 rows/s · ETA 1m 28s · 20 sent, 1 failed, 2 invalid",
        }

    def test_a_paused_run_says_for_how_long_and_why(self) -> None:
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(2), clock, None, interval=10)
        progress.tick(tally)
        structlog.reset_defaults()
        with capture_logs() as logs:
            run_ticks(progress, clock, tally, 10, 0, pause=Pause(15.0, "HTTP 429"))
        (event,) = logs
        assert (event["paused_seconds"], event["pause_cause"], event["eta_seconds"]) == (
            5.0,
            "HTTP 429",
            505,
        )
        assert "paused 5s (HTTP 429)" in event["status"]

    def test_unknown_figures_are_null_not_missing(self) -> None:
        """Read from stdin: no total, so no percent and no ETA; a collector sees nulls."""
        clock, tally = Clock(), Tally()
        progress = Progress(None, Rate(2), clock, None, interval=10)
        progress.tick(tally)
        (event, *_) = logged(progress, clock, tally, 10)
        assert (event["total"], event["percent"], event["eta_seconds"]) == (None, None, None)
        assert "paused_seconds" not in event

    def test_the_last_event_is_not_repeated_when_nothing_changed_since(self) -> None:
        clock, tally = Clock(), Tally()
        logs = logged(Progress(100, Rate(2), clock, None, interval=5), clock, tally, 20)
        assert [entry["rows"] for entry in logs] == [10, 20, 30, 40]

    def test_a_run_shorter_than_the_interval_still_ends_on_an_event(self) -> None:
        clock, tally = Clock(), Tally()
        logs = logged(Progress(100, Rate(2), clock, None, interval=10), clock, tally, 2)
        assert [(entry["rows"], entry["percent"]) for entry in logs] == [(4, 4.0)]

    def test_on_a_terminal_nothing_is_logged(self) -> None:
        clock, tally = Clock(), Tally()
        logs = logged(Progress(100, Rate(2), clock, io.StringIO(), interval=1), clock, tally, 5)
        assert logs == []

    def test_a_progress_never_ticked_logs_nothing_at_close(self) -> None:
        structlog.reset_defaults()
        with capture_logs() as logs:
            Progress(100, Rate(2), Clock(), None, interval=10).close()
        assert logs == []


class TestAdaptiveRate:
    def test_a_lowered_rate_is_said_and_bounds_the_eta(self) -> None:
        clock = Clock()
        tally = Tally(rate_in_force=4.8, rate_lowered=2)
        progress = Progress(1000, Rate(480, 60), clock, io.StringIO(), interval=10)
        progress.tick(tally)
        assert "rate 288/m (lowered on 429s)" in progress.status(tally)
        assert progress.eta(0) == pytest.approx(1000 / 4.8)
        assert progress.fields(tally)["rate_in_force"] == 4.8

    def test_a_rate_climbed_back_is_not_said(self) -> None:
        tally = Tally(rate_in_force=8.0, rate_lowered=1)
        progress = Progress(1000, Rate(480, 60), Clock(), io.StringIO(), interval=10)
        progress.tick(tally)
        assert "lowered" not in progress.status(tally)
        assert "rate_in_force" not in progress.fields(tally)
