"""Inline SVG charts for the HTML report, drawn by hand so the page needs nothing from outside.

Sizes live in a viewBox and the page scales the drawing; colours are CSS classes (``CSS``, which
the page embeds), so screen, print and legend agree. A timeline draws one bar group per minute,
or per wider bin once there would be more than ``MAX_BINS``; a long stretch without records
becomes a narrow break rather than days of empty axis.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

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
CSS = """
svg.chart{display:block;width:100%;min-width:640px;height:auto}
svg.chart text{font-size:13px;fill:var(--muted)}svg .mid{text-anchor:middle}
svg .end{text-anchor:end}svg .grid{stroke:var(--line)}svg .axis{stroke:#9aa5b1}
.s{fill:var(--sent)}.f{fill:var(--failed)}.r{fill:var(--retry)}.p429{fill:var(--p429)}
.pconn{fill:var(--pconn)}.pother{fill:#56616d}.gap rect,.gapkey{fill:#e6eaf0;stroke:#cfd6df}
svg .pl{stroke:var(--p429);stroke-opacity:.3}svg .pct{stroke:var(--ink);stroke-dasharray:4 3}
svg text.pctl{fill:var(--ink);font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;padding:0;margin:10px 0 4px;
font-size:13px}.legend svg{width:11px;height:11px;margin-right:6px;vertical-align:-1px}
"""
_WIDTH, _LEFT, _RIGHT, _TOP, _BOTTOM = 960, 56, 16, 30, 220  # the plot's box in the viewBox
_PLOT = _WIDTH - _LEFT - _RIGHT
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


@dataclass(frozen=True, slots=True)
class Bucket:
    from_ms: float
    to_ms: float | None  # None: open-ended
    count: int


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
    ticks = _ticks(max(b.sent + b.failed for b in bins.values()))
    unit = "minute" if axis.minutes == 1 else _span(axis.minutes)
    parts = [*_grid(ticks, f"messages per {unit}"), *_breaks(axis), *_time_labels(axis)]
    parts.append(f'<text x="{_LEFT - 6}" y="{_BOTTOM + 20}" class="end">retries</text>')
    parts.append(f'<text x="{_LEFT - 6}" y="{_BOTTOM + 37}" class="end">pauses</text>')
    most = max(b.retries for b in bins.values()) or 1
    parts += [_bar(axis, i, b, ticks[-1], most) for i, b in sorted(bins.items())]
    return _svg(302, "messages over time", parts)


def latency_chart(buckets: Sequence[Bucket], marks: Sequence[tuple[str, float]]) -> str | None:
    """A bar per bucket (equal widths, so uneven buckets still read), percentiles as lines."""
    if not buckets:
        return None
    ticks = _ticks(max(b.count for b in buckets))
    slot = min(80.0, _PLOT / len(buckets))
    start = _LEFT + (_PLOT - slot * len(buckets)) / 2
    every = math.ceil(44 / slot)  # an edge label at most every 44 px
    edges = [b.from_ms for b in buckets] + [t for t in (buckets[-1].to_ms,) if t is not None]
    parts = _grid(ticks, "requests")
    parts += [_bucket(start + i * slot, slot, b, ticks) for i, b in enumerate(buckets)]
    parts += [
        _label(start + i * slot, _BOTTOM + 17, _ms(e)) for i, e in enumerate(edges) if not i % every
    ]
    parts.append(
        f'<text x="{_LEFT + _PLOT / 2}" y="{_BOTTOM + 38}" class="mid">latency (ms)</text>'
    )
    for row, (name, value) in enumerate(marks):  # each a row lower: close values stay legible
        x = start + _bucket_position(buckets, value) * slot
        parts.append(
            f'<line class="pct" x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP - 6 + 13 * row}" '
            f'y2="{_BOTTOM}"/>'
            f'<text x="{x + 4:.1f}" y="{_TOP + 5 + 13 * row}" class="pctl">{escape(name)}</text>'
        )
    return _svg(266, "latency distribution", parts)


def _bucket(x: float, slot: float, b: Bucket, ticks: list[int]) -> str:
    top = _y(b.count, ticks)
    span = f"{_ms(b.from_ms)}&ndash;{_ms(b.to_ms)}" if b.to_ms is not None else f"{_ms(b.from_ms)}+"
    return (
        f"<g class='bin'><title>{span} ms: {b.count:,} requests</title><rect class=\"s\" "
        f'x="{x + slot * 0.06:.1f}" y="{top:.1f}" width="{slot * 0.88:.1f}" '
        f'height="{_BOTTOM - top:.1f}"/></g>'
    )


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
    gap = min(28.0, _PLOT * 0.25 / breaks) if breaks else 0.0
    slots = sum(last - first + 1 for first, last in stretches)
    slot = min(48.0, (_PLOT - gap * breaks) / slots)  # one minute is a bar, not a wall
    used = slot * slots + gap * breaks
    return _Axis(minutes, tuple(stretches), slot, gap, _LEFT + (_PLOT - used) / 2)


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
        out.append(f'<line class="pl" x1="{mid:.1f}" x2="{mid:.1f}" y1="{_TOP}" y2="{_BOTTOM}"/>')
        out.append(
            f'<path class="{_cause_class(b.causes)}" d="M{mid:.1f} {_BOTTOM + 28}l4.5 9h-9z"/>'
        )
    y, scale = float(_BOTTOM), (_BOTTOM - _TOP) / top
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
            f'<rect class="r" x="{x:.1f}" y="{_BOTTOM + 10}" width="{max(w, 2):.1f}" height="10" '
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
            f'y="{_TOP}" width="{axis.gap:.1f}" height="{_BOTTOM - _TOP}"/>'
        )
        if axis.gap >= _GAP_TEXT:  # room for the gap's length, written downwards
            mid = x + axis.gap / 2
            out.append(
                f'<text x="{mid:.1f}" y="{_TOP + 6}" dy="4" '
                f'transform="rotate(90 {mid:.1f} {_TOP + 6})">{idle}</text>'
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
    out = [f'<text x="{_LEFT + _PLOT}" y="{_TOP - 14}" class="end">time in UTC</text>']
    day = ""
    for x, index in sorted(taken):
        when = _EPOCH + timedelta(minutes=index * axis.minutes)
        out.append(_label(x, _BOTTOM + 60, when.strftime("%H:%M")))
        if when.strftime("%d %b %Y") != day:  # the date under the first time of each day
            day = when.strftime("%d %b %Y")
            out.append(_label(x, _BOTTOM + 76, when.strftime("%d %b")))
    return out


def _grid(ticks: list[int], unit: str) -> list[str]:
    out = [f'<text x="{_LEFT}" y="{_TOP - 14}">{escape(unit)}</text>']
    for tick in ticks:
        y = _y(tick, ticks)
        css = "axis" if tick == 0 else "grid"
        out.append(
            f'<line class="{css}" x1="{_LEFT}" x2="{_LEFT + _PLOT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="end">{tick:,}</text>')
    return out


def _ticks(top: float) -> list[int]:
    """0 up to a round number at or above ``top``, in 1-2-5 steps, four or five of them."""
    raw = max(top, 1) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = max(1, int(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)))
    return [i * step for i in range(math.ceil(max(top, 1) / step) + 1)]


def _y(value: float, ticks: list[int]) -> float:
    return _BOTTOM - value / ticks[-1] * (_BOTTOM - _TOP)


def _label(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y}" class="mid">{escape(text)}</text>'


def _svg(height: int, label: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        f'role="img" aria-label="{escape(label)}">' + "".join(parts) + "</svg>"
    )


def _bucket_position(buckets: Sequence[Bucket], value: float) -> float:
    """Where ``value`` falls, in buckets from the left, linear within its bucket."""
    for i, b in enumerate(buckets):
        if b.to_ms is None or value < b.to_ms:
            width = 0.0 if b.to_ms is None else b.to_ms - b.from_ms
            return i + (max(0.0, value - b.from_ms) / width if width > 0 else 0.5)
    return float(len(buckets))


def _minute(at: datetime) -> int:
    return int((at - _EPOCH).total_seconds() // 60)


def _ms(value: float) -> str:
    return f"{value:,g}"


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
