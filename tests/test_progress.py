from __future__ import annotations

import io
from collections import Counter

import pytest
import structlog
from structlog.testing import capture_logs

from broadcaster.progress import Progress
from broadcaster.rate import Rate, parse_rate
from broadcaster.tally import Tally


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_ticks(
    progress: Progress, clock: Clock, tally: Tally, seconds: int, per_second: int
) -> None:
    for _ in range(seconds):
        clock.now += 1
        tally.sent += per_second
        progress.tick(tally)


class TestProgress:
    def test_on_a_terminal_the_line_is_redrawn_and_cleared_at_close(self) -> None:
        clock, stream, tally = Clock(), io.StringIO(), Tally()
        progress = Progress(160, parse_rate("480/m"), clock, stream, width=lambda: 120)
        progress.tick(tally)
        run_ticks(progress, clock, tally, 10, 8)
        last = stream.getvalue().split("\r\x1b[2K")[-1]
        assert last == (
            "[############............] 80/160 rows · 50% · 8.0 rows/s · ETA 10s · "
            "80 sent, 0 failed, 0 invalid"
        )
        progress.close()
        assert stream.getvalue().endswith("\r\x1b[2K")

    @pytest.mark.parametrize("columns", [80, 60, 20])
    def test_the_line_fits_the_terminal_so_a_redraw_never_leaves_a_stale_line(
        self, columns: int
    ) -> None:
        """A line as wide as the terminal wraps, and clearing the line clears only its tail."""
        clock, stream, tally = Clock(), io.StringIO(), Tally(sent=12_345, failed=67)
        progress = Progress(1_000_000, parse_rate("480/m"), clock, stream, width=lambda: columns)
        progress.tick(tally)
        drawn = stream.getvalue().split("\r\x1b[2K")[-1]
        assert len(drawn) < columns
        assert drawn.startswith("12,412/1,000,000 rows"[: columns - 2])  # the bar goes first

    def test_eta_never_assumes_more_than_the_asked_rate(self) -> None:
        """Resuming, thousands of rows settle at once; the ETA stays at the asked rate."""
        clock, tally = Clock(), Tally(earlier=Counter({"sent": 5000}))
        progress = Progress(10_000, Rate(10), clock, io.StringIO())
        progress.tick(tally)
        run_ticks(progress, clock, tally, 2, 10)
        assert progress.recent_rate() == pytest.approx(10.0)
        tally.earlier["sent"] += 3000
        clock.now += 1
        progress.tick(tally)
        assert progress.recent_rate() == pytest.approx(3020 / 3)  # resumed rows settle at once
        assert progress.eta(tally.settled) == pytest.approx((10_000 - 8020) / 10)

    def test_unpaced_eta_uses_the_recent_rate(self) -> None:
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(0), clock, io.StringIO())
        progress.tick(tally)
        run_ticks(progress, clock, tally, 5, 100)
        assert progress.eta(tally.settled) == pytest.approx(5.0)

    def test_without_a_total_the_line_has_no_bar_and_no_eta(self) -> None:
        clock, stream = Clock(), io.StringIO()
        progress = Progress(None, Rate(8), clock, stream)
        tally = Tally(sent=3)
        progress.tick(tally)
        assert progress.line(tally) == "3 rows · 3 sent, 0 failed, 0 invalid"

    def test_off_a_terminal_progress_is_logged_every_ten_seconds(self) -> None:
        clock, tally = Clock(), Tally()
        progress = Progress(100, Rate(1), clock, None)
        structlog.reset_defaults()
        with capture_logs() as logs:
            run_ticks(progress, clock, tally, 25, 1)
        assert [entry["event"] for entry in logs] == ["progress", "progress"]
        assert logs[0]["status"].startswith("[##")

    def test_a_terminal_that_goes_away_stops_the_drawing_only(self) -> None:
        """The first failed write ends the drawing: no second attempt, no error."""

        class Gone(io.StringIO):
            writes = 0

            def write(self, _: str) -> int:
                self.writes += 1
                raise OSError(5, "Input/output error")

        clock, stream = Clock(), Gone()
        progress = Progress(10, Rate(1), clock, stream)
        progress.tick(Tally())
        progress.tick(Tally(sent=1))
        progress.close()
        assert stream.writes == 1
        assert progress.line(Tally(sent=1)).startswith("[##")


class TestEtaWhilePaused:
    def test_no_estimate_while_nothing_settles(self) -> None:
        """A 30-second pause: the asked rate would promise the shortest ETA of the run."""
        clock, tally = Clock(), Tally()
        progress = Progress(1000, Rate(50), clock, io.StringIO())
        progress.tick(tally)
        run_ticks(progress, clock, tally, 30, 0)
        assert progress.recent_rate() == 0
        assert progress.eta(tally.settled) is None
        assert "ETA" not in progress.line(tally)
