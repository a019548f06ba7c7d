"""PASS, FAIL or SKIP: one line per target, with the figure and the target it was held to.

The rules are plain comparisons, inclusive at the boundary (a target of "at most 60 MB" is
met by 60 MB); a figure that could not be measured is SKIP, never PASS. A verdict may carry a
baseline's figure measured beside it (``beside``): shown after the target, to read the figure
by, never judged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from broadcaster.bench.units import Unit

Status = Literal["PASS", "FAIL", "SKIP"]
NOT_MEASURED = "not measured"


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    subject: str
    figure: str
    target: str
    beside: str = ""  # a baseline's figure, for context

    def line(self) -> str:
        """``PASS  send vs bare aiohttp: 0.93x (target >= 0.90x)``; with ``beside``,
        ``(target <= 0.50% of a core; bare aiohttp paced alike: 0.60%, engine/bare 2.10x)``"""
        context = f"; {self.beside}" if self.beside else ""
        return f"{self.status}  {self.subject}: {self.figure} (target {self.target}{context})"


def at_most(subject: str, value: float | None, limit: float, unit: Unit) -> Verdict:
    return _judged(subject, value, f"<= {unit(limit)}", unit, lambda v: v <= limit)


def at_least(subject: str, value: float | None, limit: float, unit: Unit) -> Verdict:
    return _judged(subject, value, f">= {unit(limit)}", unit, lambda v: v >= limit)


def within(
    subject: str, value: float | None, asked: float, tolerance: float, unit: Unit
) -> Verdict:
    """``value`` within ``tolerance`` (a fraction) of ``asked``, either way."""
    target = f"within {tolerance:.0%} of {unit(asked)}"
    return _judged(subject, value, target, unit, lambda v: abs(v - asked) <= tolerance * asked)


def _judged(
    subject: str, value: float | None, target: str, unit: Unit, met: Callable[[float], bool]
) -> Verdict:
    if value is None:
        return Verdict("SKIP", subject, NOT_MEASURED, target)
    return Verdict("PASS" if met(value) else "FAIL", subject, unit(value), target)


def only_at(rows: int, target_rows: int, verdict: Verdict) -> Verdict:
    """A target set for ``target_rows`` rows, held only there: at another size the figure is
    shown, and the verdict is SKIP ("not run at 1M"), neither a pass nor a fail."""
    if rows == target_rows:
        return verdict
    return Verdict(
        "SKIP",
        verdict.subject,
        verdict.figure,
        f"{verdict.target} at {target_rows:,} rows; not run at {short_count(target_rows)}",
        verdict.beside,
    )


def short_count(rows: int) -> str:
    """``1M``, ``100k``, ``2500``: a row count as --sizes takes it."""
    for scale, suffix in ((1_000_000, "M"), (1_000, "k")):
        if rows >= scale and rows % scale == 0:
            return f"{rows // scale}{suffix}"
    return str(rows)
