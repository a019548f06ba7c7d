"""Inline SVG for the HTML report, drawn by hand so the page needs nothing from outside: the
shared geometry, grid and labels, and the latency histogram (``timelinechart`` draws the
timeline with them).

Sizes live in a viewBox and the page scales the drawing; colours are CSS classes (``CSS``, which
the page embeds), so screen, print and legend agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

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
WIDTH, LEFT, RIGHT, TOP, BOTTOM = 960, 56, 16, 30, 220  # the plot's box in the viewBox
PLOT = WIDTH - LEFT - RIGHT


@dataclass(frozen=True, slots=True)
class Bucket:
    from_ms: float
    to_ms: float | None  # None: open-ended
    count: int


def latency_chart(buckets: Sequence[Bucket], marks: Sequence[tuple[str, float]]) -> str | None:
    """A bar per bucket (equal widths, so uneven buckets still read), percentiles as lines."""
    if not buckets:
        return None
    ticks = scale_ticks(max(b.count for b in buckets))
    slot = min(80.0, PLOT / len(buckets))
    start = LEFT + (PLOT - slot * len(buckets)) / 2
    every = math.ceil(44 / slot)  # an edge label at most every 44 px
    edges = [b.from_ms for b in buckets] + [t for t in (buckets[-1].to_ms,) if t is not None]
    parts = grid(ticks, "requests")
    parts += [_bucket(start + i * slot, slot, b, ticks) for i, b in enumerate(buckets)]
    parts += [
        text_label(start + i * slot, BOTTOM + 17, format_ms(e))
        for i, e in enumerate(edges)
        if not i % every
    ]
    parts.append(f'<text x="{LEFT + PLOT / 2}" y="{BOTTOM + 38}" class="mid">latency (ms)</text>')
    for row, (name, value) in enumerate(marks):  # each a row lower: close values stay legible
        x = start + _bucket_position(buckets, value) * slot
        parts.append(
            f'<line class="pct" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 6 + 13 * row}" '
            f'y2="{BOTTOM}"/>'
            f'<text x="{x + 4:.1f}" y="{TOP + 5 + 13 * row}" class="pctl">{escape(name)}</text>'
        )
    return svg_element(266, "latency distribution", parts)


def _bucket(x: float, slot: float, b: Bucket, ticks: list[int]) -> str:
    top = y_at(b.count, ticks)
    span = (
        f"{format_ms(b.from_ms)}&ndash;{format_ms(b.to_ms)}"
        if b.to_ms is not None
        else f"{format_ms(b.from_ms)}+"
    )
    return (
        f"<g class='bin'><title>{span} ms: {b.count:,} requests</title><rect class=\"s\" "
        f'x="{x + slot * 0.06:.1f}" y="{top:.1f}" width="{slot * 0.88:.1f}" '
        f'height="{BOTTOM - top:.1f}"/></g>'
    )


def _bucket_position(buckets: Sequence[Bucket], value: float) -> float:
    """Where ``value`` falls, in buckets from the left, linear within its bucket."""
    for i, b in enumerate(buckets):
        if b.to_ms is None or value < b.to_ms:
            width = 0.0 if b.to_ms is None else b.to_ms - b.from_ms
            return i + (max(0.0, value - b.from_ms) / width if width > 0 else 0.5)
    return float(len(buckets))


def grid(ticks: list[int], unit: str) -> list[str]:
    out = [f'<text x="{LEFT}" y="{TOP - 14}">{escape(unit)}</text>']
    for tick in ticks:
        y = y_at(tick, ticks)
        css = "axis" if tick == 0 else "grid"
        out.append(
            f'<line class="{css}" x1="{LEFT}" x2="{LEFT + PLOT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="end">{tick:,}</text>')
    return out


def scale_ticks(top: float) -> list[int]:
    """0 up to a round number at or above ``top``, in 1-2-5 steps, four or five of them."""
    raw = max(top, 1) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = max(1, int(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)))
    return [i * step for i in range(math.ceil(max(top, 1) / step) + 1)]


def y_at(value: float, ticks: list[int]) -> float:
    return BOTTOM - value / ticks[-1] * (BOTTOM - TOP)


def text_label(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y}" class="mid">{escape(text)}</text>'


def svg_element(height: int, label: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(label)}">' + "".join(parts) + "</svg>"
    )


def format_ms(value: float) -> str:
    return f"{value:,g}"
