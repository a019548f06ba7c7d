"""Request rates as users write them: ``N``, ``N/s``, ``N/m``, ``N/h`` (``0`` means unpaced)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from broadcaster.errors import UsageError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*([smh]))?\s*")
_WHOLE_FROM = 10  # a rate shown from here on is a whole number: 307/m, not 307.2/m


@dataclass(frozen=True, slots=True)
class Rate:
    """A number of requests per period; ``count == 0`` means no pacing at all."""

    count: float
    period: float = 1.0

    @property
    def per_second(self) -> float:
        return self.count / self.period

    @property
    def unpaced(self) -> bool:
        return self.count == 0

    def duration(self, requests: int) -> float:
        """Seconds that ``requests`` take at this rate (0 when unpaced)."""
        if self.unpaced or requests <= 0:
            return 0.0
        return requests / self.per_second

    def __str__(self) -> str:
        return f"{self.count:g}/{self.unit}"

    @property
    def unit(self) -> str:
        return {1.0: "s", 60.0: "m", 3600.0: "h"}.get(self.period, f"{self.period:g}s")

    def shown(self, per_second: float) -> str:
        """Another rate in this one's unit: ``288/m`` beside an asked ``480/m``."""
        count = per_second * self.period
        whole = count >= _WHOLE_FROM
        return f"{count:,.0f}/{self.unit}" if whole else f"{count:.2g}/{self.unit}"


# The default --rate, 4% under the documented 500/m (network jitter can bunch requests at the
# server); also the pace an unpaced run falls back to once the API answers 429.
DOCUMENTED_PACE = Rate(480, 60.0)


def parse_rate(text: str) -> Rate:
    """Parse ``480/m`` and friends; a plain number is per second."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise UsageError(f"rate {text!r}: expected N, N/s, N/m or N/h (for example 480/m)")
    count = float(match.group(1))
    if not math.isfinite(count):
        raise UsageError(f"rate {text!r}: not a finite number")
    return Rate(count, _UNITS[match.group(2) or "s"])


def describe_rate(recorded: object) -> str:
    """A rate as a run header recorded it, for a person: ``480/m``, or ``unpaced`` for any zero."""
    if not isinstance(recorded, str):
        return "?"
    try:
        return "unpaced" if parse_rate(recorded).unpaced else recorded
    except UsageError:
        return recorded  # a journal is data: shown as it stands


def format_duration(seconds: float) -> str:
    """``3h 28m 20s`` style, for estimates a person reads (``?`` for what is no duration)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
