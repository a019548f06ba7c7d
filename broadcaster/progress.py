"""Progress for a run that takes hours: rows settled of the total, the rate, and an ETA.

On a terminal, one status line on stderr, redrawn every second; elsewhere (CI, log files), a
``progress`` log line every ``every`` seconds. The ETA divides the rows left by the recent rate
of settled rows, never by more than the asked rate (rows that need no request settle at once,
and would make the first minutes look faster than the campaign will be).
"""

from __future__ import annotations

import collections
import math
import shutil
import sys
from collections.abc import Callable
from typing import TextIO

import structlog

from broadcaster.logs import CLEAR_LINE
from broadcaster.rate import Rate, format_duration
from broadcaster.tally import Tally

log = structlog.get_logger("broadcaster")
WINDOW = 30.0  # seconds of history behind the recent rate
LOG_EVERY = 10.0  # seconds between progress log lines off a terminal
_BAR = 24


class Progress:
    """Call ``tick(tally)`` once a second; ``close()`` at the end."""

    def __init__(
        self,
        total: int | None,
        asked: Rate,
        clock: Callable[[], float],
        stream: TextIO | None = None,
        width: Callable[[], int] = lambda: shutil.get_terminal_size().columns,
    ) -> None:
        self._total = total
        self._asked = asked
        self._clock = clock
        self._stream = stream
        self._width = width
        self._history: collections.deque[tuple[float, int]] = collections.deque()
        self._logged_at = clock()
        self._drawn = False

    def tick(self, tally: Tally) -> None:
        now, done = self._clock(), tally.settled
        self._history.append((now, done))
        while self._history and self._history[0][0] < now - WINDOW:
            self._history.popleft()
        if self._stream is not None:
            self._draw(self.fitted(tally))
        elif now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.info("progress", status=self.line(tally))

    def line(self, tally: Tally) -> str:
        done = tally.settled
        parts = [f"{done:,}" + (f"/{self._total:,} rows" if self._total else " rows")]
        if self._total:
            parts.append(f"{min(100.0, 100 * done / self._total):.0f}%")
        rate = self.recent_rate()
        if rate is not None:
            parts.append(f"{rate:.1f} rows/s")
        eta = self.eta(done)
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        parts.append(f"{tally.sent:,} sent, {tally.failed:,} failed, {tally.invalid:,} invalid")
        bar = _bar(done / self._total) + " " if self._total else ""
        return bar + " · ".join(parts)

    def fitted(self, tally: Tally) -> str:
        """The line cut to the terminal's width: a line that wraps cannot be redrawn in place."""
        room = max(1, self._width() - 1)
        line = self.line(tally)
        if len(line) > room and self._total:
            line = line[_BAR + 3 :]  # the bar goes first
        return line if len(line) <= room else line[: room - 1] + "…"

    def recent_rate(self) -> float | None:
        if len(self._history) < 2:  # noqa: PLR2004
            return None
        (start, first), (end, last) = self._history[0], self._history[-1]
        return (last - first) / (end - start) if end > start else None

    def eta(self, done: int) -> float | None:
        if not self._total:
            return None
        rate = self.recent_rate()
        if not self._asked.unpaced:
            # No history yet: the asked rate. Nothing settled lately (a pause, a stall): no
            # estimate at all, rather than the asked rate's, which would be shortest then.
            rate = self._asked.per_second if rate is None else min(rate, self._asked.per_second)
        if not rate or rate <= 0:
            return None
        return max(0, self._total - done) / rate

    def close(self) -> None:
        if self._stream is not None and self._drawn:
            self._write(CLEAR_LINE)

    def _draw(self, line: str) -> None:
        self._drawn = True
        self._write(CLEAR_LINE + line)

    def _write(self, text: str) -> None:
        assert self._stream is not None  # noqa: S101
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._stream = None  # the terminal went away: keep sending, stop drawing


def _bar(fraction: float) -> str:
    filled = min(_BAR, math.floor(fraction * _BAR))
    return "[" + "#" * filled + "." * (_BAR - filled) + "]"


def terminal() -> TextIO | None:
    """stderr when it is a terminal, else None (progress goes to the log instead)."""
    stream = sys.stderr  # None when the process was started with stderr closed
    return stream if stream is not None and stream.isatty() else None
