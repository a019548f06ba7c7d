"""The timeline chart of the HTML report: messages per minute, retries and pauses, in SVG.

One bar group per minute, or per wider bin once there would be more than ``MAX_BINS``; a long
stretch without records becomes a narrow break rather than days of empty axis.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

from broadcaster.svgchart import BOTTOM, LEFT, PLOT, TOP, grid, scale_ticks, svg_element, text_label

MAX_BINS = 600
BIN_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080)
LEGEND = (
    ("s", "sent"),
    ("f", "failed"),
    ("r", "retries (darker: more)"),
    ("p429", "pause: HTTP 429"),
    ("pconn", "pause: no connection"),
    ("pother", "pause: other cause"),
    ("gapkey", "long gap without records"),
)
_THIN = 4.0  # px: narrower bins are drawn touching
_LABEL_GAP = 64  # px at least between two time labels
_GAP_TEXT = 12  # px: a break this wide has room for its length
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Minute:
    """A timeline entry: a UTC minute that has records."""

    at: datetime
    sent: int = 0
    failed: int = 0
    retries: int = 0
    pauses: int = 0


@dataclass(frozen=True, slots=True)
class PauseMark:
    at: datetime
    cause: str
    seconds: float = 0.0


@dataclass(slots=True)
class _Bin:
    """An accumulator: filled from the minutes and marks in its span, then only read."""

    sent: int = 0
    failed: int = 0
    retries: int = 0
    pauses: int = 0
    paused: float = 0.0  # seconds, as far as the marks say
    causes: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Axis:
    minutes: int  # per bin
    stretches: tuple[tuple[int, int], ...]  # the first and last bin of each stretch drawn
    slot: float  # px per bin
    gap: float  # px per break between stretches
    start: float

    def x(self, index: int) -> float:
        x = self.start
        for first, last in self.stretches:
            if index <= last:
                return x + (index - first) * self.slot
            x += (last - first + 1) * self.slot + self.gap
        return x


def legend() -> str:
    return "".join(
        f'<li><svg viewBox="0 0 10 10"><rect class="{css}" width="10" height="10"/></svg>'
        f"{text}</li>"
        for css, text in LEGEND
    )


def timeline_chart(minutes: Sequence[Minute], marks: Sequence[PauseMark]) -> str | None:
    """Stacked sent/failed bars per bin, retries and pauses in lanes below; None when empty."""
    keys = {_minute(m.at) for m in minutes} | {_minute(m.at) for m in marks}
    if not keys:
        return None
    axis = _axis(*_plan(keys))
    bins = _bins(minutes, marks, axis.minutes)
    ticks = scale_ticks(max(b.sent + b.failed for b in bins.values()))
    unit = "minute" if axis.minutes == 1 else _span(axis.minutes)
    parts = [*grid(ticks, f"messages per {unit}"), *_breaks(axis), *_time_labels(axis)]
    parts.append(f'<text x="{LEFT - 6}" y="{BOTTOM + 20}" class="end">retries</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{BOTTOM + 37}" class="end">pauses</text>')
    most = max(b.retries for b in bins.values()) or 1
    parts += [_bar(axis, i, b, ticks[-1], most) for i, b in sorted(bins.items())]
    return svg_element(302, "messages over time", parts)


def _plan(keys: set[int]) -> tuple[int, list[tuple[int, int]]]:
    """The narrowest bin that keeps the drawn slots within ``MAX_BINS``, and its stretches."""
    for minutes in BIN_MINUTES:
        stretches = _stretches(sorted({key // minutes for key in keys}), minutes)
        if sum(last - first + 1 for first, last in stretches) <= MAX_BINS:
            break
    return minutes, stretches


def _stretches(indices: Sequence[int], minutes: int) -> list[tuple[int, int]]:
    """Runs of bins; 15 empty minutes or 4 empty bins, whichever is longer, end a run."""
    longest = max(4, math.ceil(15 / minutes))
    out: list[tuple[int, int]] = []
    for index in indices:
        if out and index - out[-1][1] <= longest:
            out[-1] = (out[-1][0], index)
        else:
            out.append((index, index))
    return out


def _axis(minutes: int, stretches: list[tuple[int, int]]) -> _Axis:
    breaks = len(stretches) - 1
    gap = min(28.0, PLOT * 0.25 / breaks) if breaks else 0.0
    slots = sum(last - first + 1 for first, last in stretches)
    slot = min(48.0, (PLOT - gap * breaks) / slots)  # one minute is a bar, not a wall
    used = slot * slots + gap * breaks
    return _Axis(minutes, tuple(stretches), slot, gap, LEFT + (PLOT - used) / 2)


def _bins(minutes: Sequence[Minute], marks: Sequence[PauseMark], width: int) -> dict[int, _Bin]:
    bins: dict[int, _Bin] = {}
    for m in minutes:
        b = bins.setdefault(_minute(m.at) // width, _Bin())
        b.sent, b.failed = b.sent + m.sent, b.failed + m.failed
        b.retries, b.pauses = b.retries + m.retries, b.pauses + m.pauses
    for mark in marks:
        b = bins.setdefault(_minute(mark.at) // width, _Bin())
        b.causes[mark.cause] += 1
        b.paused += mark.seconds
    return bins


def _bar(axis: _Axis, index: int, b: _Bin, top: int, most_retries: int) -> str:
    x = axis.x(index)
    w = axis.slot * 0.8 if axis.slot >= _THIN else axis.slot + 0.3  # thin bars overlap: no stripes
    pauses = max(b.pauses, b.causes.total())
    out = [f"<g class='bin'><title>{_tip(axis, index, b, pauses)}</title>"]
    if pauses:
        mid = x + w / 2
        out.append(f'<line class="pl" x1="{mid:.1f}" x2="{mid:.1f}" y1="{TOP}" y2="{BOTTOM}"/>')
        out.append(
            f'<path class="{_cause_class(b.causes)}" d="M{mid:.1f} {BOTTOM + 28}l4.5 9h-9z"/>'
        )
    y, scale = float(BOTTOM), (BOTTOM - TOP) / top
    for css, count in (("s", b.sent), ("f", b.failed)):  # failed stacked on sent
        if count:
            y -= count * scale
            out.append(
                f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
                f'height="{count * scale:.1f}"/>'
            )
    if b.retries:
        shade = 0.35 + 0.65 * b.retries / most_retries
        out.append(
            f'<rect class="r" x="{x:.1f}" y="{BOTTOM + 10}" width="{max(w, 2):.1f}" height="10" '
            f'opacity="{shade:.2f}"/>'
        )
    return "".join(out) + "</g>"


def _tip(axis: _Axis, index: int, b: _Bin, pauses: int) -> str:
    when = _EPOCH + timedelta(minutes=index * axis.minutes)
    span = when.strftime("%d %b %H:%M")
    if axis.minutes > 1:
        span += (when + timedelta(minutes=axis.minutes)).strftime("&ndash;%H:%M")
    tip = f"{span} UTC: {b.sent:,} sent, {b.failed:,} failed, {b.retries:,} retries"
    if pauses:
        causes = ", ".join(f"{escape(cause)} &times;{n}" for cause, n in b.causes.most_common())
        tip += f", {pauses:,} pauses" + (f" ({causes}; {b.paused:.1f} s)" if causes else "")
    return tip


def _cause_class(causes: Counter[str]) -> str:
    if any("429" in cause for cause in causes):
        return "p429"
    if any("connection" in cause.lower() for cause in causes):
        return "pconn"
    return "pother"


def _breaks(axis: _Axis) -> list[str]:
    out: list[str] = []
    for (_, last), (first, _) in zip(axis.stretches, axis.stretches[1:], strict=False):
        x, idle = axis.x(last) + axis.slot, _duration((first - last - 1) * axis.minutes)
        out.append(
            f'<g class="gap"><title>no records for {idle}</title><rect x="{x:.1f}" '
            f'y="{TOP}" width="{axis.gap:.1f}" height="{BOTTOM - TOP}"/>'
        )
        if axis.gap >= _GAP_TEXT:  # room for the gap's length, written downwards
            mid = x + axis.gap / 2
            out.append(
                f'<text x="{mid:.1f}" y="{TOP + 6}" dy="4" '
                f'transform="rotate(90 {mid:.1f} {TOP + 6})">{idle}</text>'
            )
        out.append("</g>")
    return out


def _time_labels(axis: _Axis) -> list[str]:
    """The start of each stretch, then round times in between, never too close."""
    step = next((m for m in BIN_MINUTES if m / axis.minutes * axis.slot >= _LABEL_GAP), 20160)
    taken: list[tuple[float, int]] = []
    for first, _ in axis.stretches:
        if not taken or axis.x(first) - taken[-1][0] >= _LABEL_GAP:
            taken.append((axis.x(first), first))
    for first, last in axis.stretches:
        for index in range(first, last + 1):
            x = axis.x(index)
            if index * axis.minutes % step == 0 and all(abs(x - t) >= _LABEL_GAP for t, _ in taken):
                taken.append((x, index))
    out = [f'<text x="{LEFT + PLOT}" y="{TOP - 14}" class="end">time in UTC</text>']
    day = ""
    for x, index in sorted(taken):
        when = _EPOCH + timedelta(minutes=index * axis.minutes)
        out.append(text_label(x, BOTTOM + 60, when.strftime("%H:%M")))
        if when.strftime("%d %b %Y") != day:  # the date under the first time of each day
            day = when.strftime("%d %b %Y")
            out.append(text_label(x, BOTTOM + 76, when.strftime("%d %b")))
    return out


def _minute(at: datetime) -> int:
    return int((at - _EPOCH).total_seconds() // 60)


def _span(minutes: int) -> str:
    named = {60: "hour", 1440: "day", 10080: "week"}
    if minutes in named:
        return named[minutes]
    return f"{minutes // 60} hours" if minutes % 60 == 0 else f"{minutes} minutes"


def _duration(minutes: int) -> str:
    """The two largest units: ``2d 3h``, ``5h 20m``, ``45m``."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return " ".join(parts[:2]) or "0m"
