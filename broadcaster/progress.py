"""Progress for a run that takes hours: rows settled of the total, the rate, and an ETA.

On a terminal, one status line on stderr, redrawn every second; elsewhere (CI, a log collector),
a ``progress`` event every ``interval`` seconds, its figures as separate fields to graph, and a
last one at the end (so a graph ends on the final figures, and a log file holds them).

The ETA divides the rows left by the recent rate of the rows this run ended (not those an
earlier run settled, which a resume passes by the thousand a second), never by more than the
asked rate (rows that need no request settle at once, and would make the first minutes look
faster than the campaign will be). The recent rate is measured over the last ``WINDOW`` seconds of
sending: time under a pause (a 429, no connection: the engine says so at each tick) is left out,
as it says nothing of the rate once the pause ends; a stall without a pause counts, and hides
the ETA once nothing settled for the whole window. While a pause holds every request, the ETA is
its time left plus the rows left at that rate, and the line says so.

The rows left are this run's: with ``--limit`` or ``--sample``, no more than the messages it
has yet to send; once it has read its last row, those it read and has not ended, not the rest
of the file. Messages in flight at a crash wait to be looked up while the other rows go: the
ETA is the later of that wait's end and the others'.
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
from broadcaster.rate import DOCUMENTED_PACE, Rate, format_duration
from broadcaster.tally import Tally
from broadcaster.throttle import Pause

log = structlog.get_logger("broadcaster")
WINDOW = 30.0  # seconds of sending (pauses left out) behind the recent rate
_BAR = 24


class Progress:
    """Call ``tick(tally, pause)`` once a second; ``close()`` at the end."""

    def __init__(  # noqa: PLR0913 - each is a seam a test drives
        self,
        total: int | None,
        asked: Rate,
        clock: Callable[[], float],
        stream: TextIO | None = None,
        width: Callable[[], int] = lambda: shutil.get_terminal_size().columns,
        *,
        interval: float,
        sent: str = "sent",  # a dry run's: "would be sent"
        limit: int | None = None,  # --limit, --sample: the messages this run sends at most
    ) -> None:
        self._total = total
        self._limit = limit
        self._asked = asked
        self._clock = clock
        self._stream = stream
        self._width = width
        self._interval = interval
        self._sent = sent
        self._history: collections.deque[tuple[float, int]] = collections.deque()
        self._sending = 0.0  # seconds without a pause in force, the recent rate's clock
        self._ticked_at = self._logged_at = clock()
        self._logged: tuple[object, ...] | None = None  # the figures of the last event
        self._tally: Tally | None = None  # the run's tally, kept up to date by the engine
        self._pause: Pause | None = None
        self._drawn = False

    def tick(self, tally: Tally, pause: Pause | None = None) -> None:
        """Take the figures; ``pause`` is the pause in force now, if any."""
        now = self._clock()
        elapsed, self._ticked_at = now - self._ticked_at, now
        held = 0.0 if self._pause is None else min(elapsed, self._pause.left)
        self._sending += elapsed - held  # a pause that began since the last tick counts from now
        self._tally, self._pause = tally, pause
        self._history.append((self._sending, tally.ended))
        while self._history[0][0] < self._sending - WINDOW:
            self._history.popleft()
        if self._stream is not None:
            self._draw(self.fitted(tally))
        elif now - self._logged_at >= self._interval:
            self._logged_at = now
            self._log(tally)

    def line(self, tally: Tally) -> str:
        """The terminal line: a bar (when the total is known), then the status."""
        bar = _bar(tally.settled / self._total) + " " if self._total else ""
        return bar + self.status(tally)

    def status(self, tally: Tally) -> str:
        """The line without its bar, as the ``progress`` event's ``status`` says it."""
        done = tally.settled
        parts = [f"{done:,}" + (f"/{self._total:,} rows" if self._total else " rows")]
        if self._total:
            parts.append(f"{min(100.0, 100 * done / self._total):.0f}%")
        rate = self.recent_rate()
        if rate is not None:
            parts.append(f"{rate:.1f} rows/s")
        if self._pause is not None:
            left = format_duration(math.ceil(self._pause.left))
            parts.append(f"paused {left} ({self._pause.cause})")
        if tally.waiting is not None:
            parts.append(tally.waiting)
        if _lowered(tally, self._asked):
            assert tally.rate_in_force is not None  # noqa: S101 - _lowered
            asked = DOCUMENTED_PACE if self._asked.unpaced else self._asked
            why = "paced on 429s" if self._asked.unpaced else "lowered on 429s"
            parts.append(f"rate {asked.shown(tally.rate_in_force)} ({why})")
        eta = self.eta(done)
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        parts.append(
            f"{tally.sent:,} {self._sent}, {tally.failed:,} failed, {tally.invalid:,} invalid"
        )
        return " · ".join(parts)

    def fields(self, tally: Tally) -> dict[str, object]:
        """The line's figures, one field each, for a log collector to graph."""
        done, rate, eta = tally.settled, self.recent_rate(), self.eta(tally.settled)
        fields: dict[str, object] = {
            "rows": done,
            "total": self._total,
            "percent": round(min(100.0, 100 * done / self._total), 1) if self._total else None,
            "sent": tally.sent,
            "failed": tally.failed,
            "invalid": tally.invalid,
            "rate": None if rate is None else round(rate, 2),
            "eta_seconds": None if eta is None else round(eta),
        }
        if _lowered(tally, self._asked):
            fields["rate_in_force"] = round(tally.rate_in_force or 0.0, 3)
        if self._pause is not None:
            fields |= {
                "paused_seconds": round(self._pause.left, 1),
                "pause_cause": self._pause.cause,
            }
        return fields | {"status": self.status(tally)}

    def fitted(self, tally: Tally) -> str:
        """The line cut to the terminal's width: a line that wraps cannot be redrawn in place."""
        room = max(1, self._width() - 1)
        line = self.line(tally)
        if len(line) > room and self._total:
            line = line[_BAR + 3 :]  # the bar goes first
        return line if len(line) <= room else line[: room - 1] + "…"

    def recent_rate(self) -> float | None:
        """Rows this run ended a second of sending, over the window; None before two readings.
        Rows an earlier run settled end at once, thousands a second when a resume passes
        them: counted, they made an unpaced resume's ETA a few seconds for minutes of work."""
        if len(self._history) < 2:  # noqa: PLR2004
            return None
        (start, first), (end, last) = self._history[0], self._history[-1]
        return (last - first) / (end - start) if end > start else None

    def eta(self, done: int) -> float | None:
        """Seconds until this run ends: its rows left at the rate ahead, after a pause or a
        wait for a window (nothing goes meanwhile). Messages in flight at a crash end at their
        lookup, once their wait is over, while the other rows go: the later of the two."""
        tally = self._tally
        if not self._total or (tally is not None and tally.stopped):
            return None  # a stopped run will not finish: a resume has its own
        left = max(0, self._total - done)
        if tally is not None and tally.limit_reached:  # --limit, --sample: it read its last row
            left = min(left, tally.unsettled)
        if tally is not None and self._limit is not None:  # the messages it has yet to end
            left = min(left, max(0, self._limit - tally.messages_ended))
        paused = 0.0 if self._pause is None else self._pause.left
        looked_up = 0 if tally is None else tally.awaiting_lookup
        wait = 0.0 if tally is None or tally.wait_left is None else tally.wait_left
        if tally is not None and tally.wait_ends_all and tally.wait_left is not None:
            return wait  # --not-after: the rows left end skipped then, none is sent
        rate = self._rate_ahead()  # never 0 while a wait is in force
        if not rate:
            return None
        if looked_up:
            return max(wait, paused + (left - looked_up) / rate)
        return max(paused, wait) + left / rate  # rows waiting for a window: nothing goes

    def _rate_ahead(self) -> float | None:
        """The rate the rows left will settle at, or None (0) when it cannot be told."""
        recent = self.recent_rate()
        waiting = self._tally is not None and self._tally.wait_left is not None
        if (self._pause is not None or waiting) and not recent:
            recent = None  # nothing settles while paused or waiting: no measure of the rate after
        if waiting and self._asked.unpaced:
            # Rows going meanwhile (others wait for a lookup) give the rate; else the rows left
            # go as soon as the wait ends (a window).
            return recent or math.inf
        if self._asked.unpaced:
            return recent
        # No history yet: the asked rate. Nothing settled lately without a pause (a stall): no
        # estimate at all (0), rather than the asked rate's, which would be the shortest then.
        asked = self._asked.per_second
        if self._tally is not None and self._tally.rate_in_force is not None:
            asked = min(asked, self._tally.rate_in_force)  # the adaptive rate in force
        return asked if recent is None else min(recent, asked)

    def close(self) -> None:
        if self._stream is not None:
            if self._drawn:
                self._write(CLEAR_LINE)
            return
        if self._tally is not None and self._logged != _figures(self._tally):
            self._pause = None  # the run is over: whatever held it no longer does
            self._log(self._tally)

    def _log(self, tally: Tally) -> None:
        self._logged = _figures(tally)
        log.info("progress", **self.fields(tally))

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


def _lowered(tally: Tally, asked: Rate) -> bool:
    """Whether the adaptive rate in force is below the asked one (or paces an unpaced run)."""
    if tally.rate_in_force is None:
        return False
    return asked.unpaced or tally.rate_in_force < asked.per_second * 0.999


def _figures(tally: Tally) -> tuple[object, ...]:
    return (tally.settled, tally.sent, tally.failed, tally.invalid, tally.waiting)


def _bar(fraction: float) -> str:
    filled = min(_BAR, math.floor(fraction * _BAR))
    return "[" + "#" * filled + "." * (_BAR - filled) + "]"


def terminal() -> TextIO | None:
    """stderr when it is a terminal, else None (progress goes to the log instead)."""
    stream = sys.stderr  # None when the process was started with stderr closed
    return stream if stream is not None and stream.isatty() else None
