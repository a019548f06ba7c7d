"""``report --html``: the report's JSON object as one self-contained page.

A campaign owner forwards this file, so it must open anywhere, print, and read on a phone: it
carries its own CSS (``htmlstyle``) and inline SVG (``svgchart``, ``timelinechart``) and asks
the network for nothing. Every text from the journals reaches the page through ``_t``,
escaped; a missing or null figure reads as a dash, never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import PurePath
from typing import Any

from broadcaster import svgchart, timelinechart
from broadcaster.htmlstyle import CSS
from broadcaster.latency import FIGURES
from broadcaster.rate import describe_rate, format_duration
from broadcaster.report import ROWS
from broadcaster.svgchart import Bucket
from broadcaster.timelinechart import Minute, PauseMark

# The settings of a run worth a reader's attention, each with how to say it.
SETTINGS: tuple[tuple[str, Callable[[object], str]], ...] = (
    ("rate", lambda v: f"rate {describe_rate(v)}"),
    ("concurrency", lambda v: f"concurrency {v}"),
    ("max_attempts", lambda v: f"{v} attempts at most"),
    ("timeout", lambda v: f"timeout {v} s"),
    ("retry_failed", lambda v: "retry failed" if v is True else ""),
    ("sandbox", lambda v: "sandbox" if v is True else ""),
)
LEFT = (
    ("not_ended", "not ended"),
    ("failed_retryable", "failed, can be retried"),
    ("failed_refused", "failed, refused by the API"),
    ("invalid", "invalid"),
)
_LONG_ERROR = 500  # characters of an example's error shown: the journal holds the rest
Section = Mapping[str, Any]


def render_html(report: Mapping[str, Any]) -> str:
    title = ", ".join(_t(c) for c in _list(report.get("campaigns"))) or "Campaign"
    sections = (_header, _rows, _figures, _left, _timeline, _latency, _failures, _invalid, _runs)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}: broadcaster report</title><style>{CSS}{svgchart.CSS}</style></head>"
        f"<body><main>{''.join(s(report) for s in sections)}{_footer(report)}</main>"
        "</body></html>\n"
    )


def _header(report: Section) -> str:
    names = ", ".join(_t(c) for c in _list(report.get("campaigns"))) or "No campaign recorded"
    time = _map(report.get("time"))
    first, last = _time(time.get("first")), _time(time.get("last"))
    span = f"{_when(first)} &rarr; {_when(last)}" if first or last else "no records"
    count = len(_list(report.get("journals")))
    journals = f"{count} journal" + ("" if count == 1 else "s")
    return (
        f'<header><p class="eyebrow">Campaign report</p><h1>{names}</h1>'
        f'<p class="sub">{span} &middot; {journals}</p></header>'
    )


def _rows(report: Section) -> str:
    rows = _map(report.get("rows"))
    total, counts = _int(rows.get("total")), {s: _int(rows.get(s)) for s in ROWS}
    cards = [f'<div class="card"><span class="n">{total:,}</span>rows</div>']
    for status, n in counts.items():
        share = f" &middot; {n / total:.1%}" if total else ""
        cards.append(
            f'<div class="card {status}"><span class="n">{n:,}</span>{status}{share}</div>'
        )
    bar = "".join(
        f'<span class="{s}" style="width:{n / total:.3%}"></span>' for s, n in counts.items() if n
    )
    terms = " + ".join(f"{n:,} {s}" for s, n in counts.items())
    adds = sum(counts.values()) == total
    check = f"= {total:,} rows" if adds else f"&ne; {total:,} rows: they do not add up"
    return _section(
        "Rows by final status",
        f'<div class="cards">{"".join(cards)}</div><div class="bar">{bar}</div>'
        f'<p class="check{"" if adds else " warn"}">{terms} {check}</p>',
    )


def _figures(report: Section) -> str:
    asked, pauses = _map(report.get("requests")), _map(report.get("pauses"))
    time, rate = _map(report.get("time")), _map(report.get("rate"))
    requests = (
        f"{_n(asked.get('attempts'))} attempts for {_n(asked.get('messages'))} messages "
        f"({_n(asked.get('retries'))} retries)"
    )
    causes = ", ".join(f"{_t(c)} &times;{_n(n)}" for c, n in _map(pauses.get("by_cause")).items())
    paused = f"{_n(pauses.get('count'))}, {_number(pauses.get('seconds'), ' s', 1)} in all"
    facts = [
        ("Requests", requests),
        ("Pauses", f"{paused}: {causes}" if _int(pauses.get("count")) else "none"),
        ("Wall time", _duration(time.get("wall_seconds"), "from the first run's start to the end")),
        ("Sending time", _duration(time.get("sending_seconds"), "summed over the runs")),
        ("Achieved rate", _rate(rate)),
    ]
    if damaged := _int(report.get("damaged_lines")):
        facts.append(("Damaged lines", f'<span class="warn">{damaged:,} unreadable</span>'))
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return _section("Requests and time", f'<dl class="facts">{items}</dl>')


def _left(report: Section) -> str:
    parts = "".join(_left_in(left) for left in _maps(report.get("left")))
    return _section("What is left", parts or '<p class="empty">No journal.</p>')


def _left_in(left: Section) -> str:
    """One journal's rows not done, and the command that takes them up."""
    tags = "".join(
        f'<li class="{"some" if _int(left.get(key)) else "none"}">{_n(left.get(key))} {name}</li>'
        for key, name in LEFT
    )
    known = left.get("known") is not False
    unknown = "" if known else ' &middot; <strong class="warn">input missing or changed</strong>'
    command, note = left.get("command"), left.get("note")
    resume = (
        f"<pre><code>{_command(command)}</code></pre>" if command else "<p>Nothing to resume.</p>"
    )
    said = f'<p class="note">{_t(note)}</p>' if note else ""
    return (
        f'<div class="left{"" if known else " unknown"}"><h3>{_t(left.get("journal"))}</h3>'
        f'<p class="sub">{_inputs(left)}{unknown}</p><ul class="tags">{tags}</ul>'
        f"{resume}{said}</div>"
    )


def _inputs(left: Section) -> str:
    """The inputs the journal's runs read: each with its rows not ended, when several."""
    inputs = _maps(left.get("inputs"))
    if len(inputs) < 2:  # noqa: PLR2004
        return f"input {_t(left.get('input'))}"
    each = (f"{_t(i.get('input'))}: {_n(i.get('not_ended'))} not ended" for i in inputs)
    return "inputs " + " &middot; ".join(each)


def _timeline(report: Section) -> str:
    minutes = [
        Minute(at, *(_int(m.get(k)) for k in ("sent", "failed", "retries", "pauses")))
        for m in _maps(report.get("timeline"))
        if (at := _time(m.get("minute")))
    ]
    marks = [
        PauseMark(at, str(m.get("cause") or "unknown cause"), _float(m.get("seconds")) or 0.0)
        for m in _maps(report.get("pause_marks"))
        if (at := _time(m.get("at")))
    ]
    chart = timelinechart.timeline_chart(minutes, marks)
    if chart is None:
        return _section("Messages over time", '<p class="empty">No requests recorded.</p>')
    return _section(
        "Messages over time",
        f'<div class="scroll">{chart}</div><ul class="legend">{timelinechart.legend()}</ul>'
        '<p class="sub">Times in UTC. Only minutes with records are drawn: a long quiet gap is '
        "a narrow grey band. Hover a bar for its figures.</p>",
    )


def _latency(report: Section) -> str:
    latency = _map(report.get("latency_ms"))
    if not _int(latency.get("count")):
        return _section("Latency", '<p class="empty">No requests.</p>')
    figures = "".join(
        f'<div><span class="l">{p}</span><span class="v">{_number(latency.get(p), " ms")}'
        "</span></div>"
        for p in FIGURES
    )
    buckets = [
        Bucket(_float(b.get("from_ms")) or 0.0, _float(b.get("to_ms")), _int(b.get("count")))
        for b in _maps(report.get("latency_histogram"))
    ]
    marks = [(p, v) for p in ("p50", "p95", "p99") if (v := _float(latency.get(p))) is not None]
    chart = svgchart.latency_chart(buckets, marks) or ""
    return _section(
        f"Latency of {_n(latency.get('count'))} records&rsquo; last requests",
        f'<div class="stats">{figures}</div><div class="scroll">{chart}</div>'
        '<p class="sub">One value per sent or failed record, its last request: a message '
        "retried in a later run has a record in each run.</p>",
    )


def _failures(report: Section) -> str:
    rows = [
        [_t(g.get("reason")), _t(g.get("http_status")), _n(g.get("count")), _examples(g)]
        for g in _maps(report.get("failures"))
    ]
    heads = (("Reason", ""), ("HTTP", "num"), ("Rows", "num"), ("Examples (input line)", ""))
    return _table("Failures", heads, rows, "No row failed.")


def _invalid(report: Section) -> str:
    rows = [
        [_t(g.get("reason")), _n(g.get("count")), _examples(g)]
        for g in _maps(report.get("invalid"))
    ]
    heads = (("Reason", ""), ("Rows", "num"), ("Examples (input line)", ""))
    return _table("Invalid rows", heads, rows, "No row was invalid.")


def _examples(group: Section) -> str:
    """Each example's input line (its journal on hover), and its error where the grouped
    reason left something out."""
    items = []
    for ex in _maps(group.get("examples")):
        error = str(ex.get("error") or "")
        if error == group.get("reason"):
            error = ""
        error = error if len(error) <= _LONG_ERROR else error[:_LONG_ERROR] + "…"
        source = ex.get("input")
        named = f"{_t(PurePath(source).name)} " if isinstance(source, str) and source else ""
        where = f"{named}line {_t(ex.get('line'))}"
        items.append(
            f'<li><span class="mono" title="{_t(ex.get("journal"))}">{where}</span>'
            + (f'<span class="err">{_t(error)}</span>' if error else "")
            + "</li>"
        )
    return f'<ul class="examples">{"".join(items)}</ul>' if items else "&mdash;"


def _runs(report: Section) -> str:
    rows = []
    for run in _maps(report.get("runs")):
        digest = run.get("input_sha256")
        checksum = f"sha256 {_t(str(digest)[:12])}&hellip;" if digest else "checksum unknown"
        settings = _map(run.get("settings"))
        shown = [show(settings[key]) for key, show in SETTINGS if settings.get(key) is not None]
        if run.get("halted"):
            shown.append(f"halted by the circuit breaker: {run['halted']}")
        rows.append(
            [
                _when(_time(run.get("started_at")), run.get("started_at")),
                _t(run.get("campaign")),
                _t(run.get("version")),
                f'{_t(run.get("input"))}<span class="mono">{checksum}</span>',
                " &middot; ".join(_t(s) for s in shown if s),
            ]
        )
    heads = (("Started", ""), ("Campaign", ""), ("Version", ""), ("Input", ""), ("Settings", ""))
    return _table("Runs recorded", heads, rows, "No run recorded.")


def _footer(report: Section) -> str:
    journals = "".join(f"<li>{_t(j)}</li>" for j in _list(report.get("journals")))
    return (
        f"<footer><p>From the journals:</p><ul>{journals}</ul><p>Written by broadcaster report "
        f"(report version {_t(report.get('report_version'))}). This page is self-contained: no "
        "scripts, nothing loaded from the network.</p></footer>"
    )


def _command(command: object) -> str:
    """Options kept whole when a phone wraps the line: a browser may break after a hyphen."""
    words = str(command).split(" ")
    return " ".join(f"<span>{_t(w)}</span>" if w.startswith("-") else _t(w) for w in words)


def _section(title: str, body: str) -> str:
    return f"<section><h2>{title}</h2>{body}</section>"


def _table(title: str, heads: Sequence[tuple[str, str]], rows: list[list[str]], none: str) -> str:
    """On a phone each row becomes a card, its cells labelled by ``data-label``."""
    if not rows:
        return _section(title, f'<p class="empty">{none}</p>')
    head = "".join(f'<th class="{css}">{label}</th>' for label, css in heads)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{css}" data-label="{label}">{cell}</td>'
            for (label, css), cell in zip(heads, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return _section(title, f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _rate(rate: Section) -> str:
    messages = _float(rate.get("messages_per_second"))
    attempts = _float(rate.get("attempts_per_second"))
    if messages is None:
        return "&mdash;"
    out = f"{messages:,.2f} messages/s ({messages * 60:,.0f}/min)"
    out += f", {attempts:,.2f} attempts/s" if attempts is not None else ""
    return out + ' <span class="hint">over the sending time</span>'


def _duration(value: object, hint: str) -> str:
    seconds = _float(value)
    if seconds is None:
        return "&mdash;"
    days, rest = divmod(seconds, 86400)
    shown = (f"{days:.0f}d " if days else "") + format_duration(rest)
    return f'{shown} <span class="hint">{hint}</span>'


def _when(at: datetime | None, raw: object = None) -> str:
    return at.strftime("%d %b %Y %H:%M:%S UTC") if at else _t(raw)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def _number(value: object, unit: str, digits: int = 0) -> str:
    number = _float(value)
    return "&mdash;" if number is None else f"{number:,.{digits}f}{unit}"


def _n(value: object) -> str:
    number = _float(value)
    if number is None:
        return "&mdash;"
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def _t(value: object) -> str:
    """The one way journal text reaches the page: escaped, quotes too; nothing is a dash."""
    return "&mdash;" if value is None or value == "" else escape(str(value))


def _float(value: object) -> float | None:
    """A finite JSON number; anything else (null, text, NaN) is unknown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: object) -> int:
    return int(_float(value) or 0)


def _map(value: object) -> Section:
    return value if isinstance(value, Mapping) else {}


def _maps(value: object) -> list[Section]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _list(value: object) -> list[object]:
    return [v for v in value if v is not None] if isinstance(value, list) else []


# The look: system fonts, one palette (the charts' too), cards that wrap and tables that
# become cards on a phone, and colours kept in print (print-color-adjust): bars mean something.
