"""``report --html``: the report's JSON object as one self-contained page.

A campaign owner forwards this file, so it must open anywhere, print, and read on a phone: it
carries its own CSS and inline SVG (``svgchart``) and asks the network for nothing. Every text
from the journals reaches the page through ``_t``, escaped; a missing or null figure reads as a
dash, never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from broadcaster import svgchart
from broadcaster.rate import format_duration
from broadcaster.svgchart import Bucket, Minute, PauseMark

STATUSES = ("sent", "failed", "invalid", "skipped")
PERCENTILES = ("min", "mean", "p50", "p90", "p95", "p99", "max")
# The settings of a run worth a reader's attention, each with how to say it.
SETTINGS: tuple[tuple[str, Callable[[object], str]], ...] = (
    ("rate", lambda v: f"rate {v}"),
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
    total, counts = _int(rows.get("total")), {s: _int(rows.get(s)) for s in STATUSES}
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
        f'<p class="sub">input {_t(left.get("input"))}{unknown}</p><ul class="tags">{tags}</ul>'
        f"{resume}{said}</div>"
    )


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
    chart = svgchart.timeline_chart(minutes, marks)
    if chart is None:
        return _section("Messages over time", '<p class="empty">No requests recorded.</p>')
    return _section(
        "Messages over time",
        f'<div class="scroll">{chart}</div><ul class="legend">{svgchart.legend()}</ul>'
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
        for p in PERCENTILES
    )
    buckets = [
        Bucket(_float(b.get("from_ms")) or 0.0, _float(b.get("to_ms")), _int(b.get("count")))
        for b in _maps(report.get("latency_histogram"))
    ]
    marks = [(p, v) for p in ("p50", "p95", "p99") if (v := _float(latency.get(p))) is not None]
    chart = svgchart.latency_chart(buckets, marks) or ""
    return _section(
        f"Latency of {_n(latency.get('count'))} requests",
        f'<div class="stats">{figures}</div><div class="scroll">{chart}</div>',
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
        where = f"line {_t(ex.get('line'))}"
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
CSS = """
:root{--sent:#2f6fd0;--failed:#d64545;--invalid:#e3a008;--skipped:#98a2ad;--retry:#f08c00;
--p429:#b3339a;--pconn:#6a55d8;--ink:#1c2630;--muted:#5f6c7a;--line:#e2e7ed;--bg:#f4f6f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);-webkit-print-color-adjust:exact;
print-color-adjust:exact;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 16px 40px}
header{padding:0 4px 4px}h1{font-size:30px;line-height:1.2;margin:2px 0 6px}
h1,h3,.sub,td,footer{overflow-wrap:break-word;word-break:break-word}
h2{font-size:17px;margin:0 0 14px}h3{font-size:15px;margin:0}
.eyebrow{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px}
.sub,.hint{color:var(--muted);font-size:14px}.sub{margin:4px 0}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:20px 22px;
margin:16px 0;break-inside:avoid}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.card{border:1px solid var(--line);border-top:4px solid var(--ink);border-radius:8px;
padding:10px 14px;color:var(--muted);font-size:14px}
.card .n{display:block;font-size:28px;font-weight:650;color:var(--ink)}
.n,.num,.stats .v{font-variant-numeric:tabular-nums}
.card.sent{border-top-color:var(--sent)}.bar .sent{background:var(--sent)}
.card.failed{border-top-color:var(--failed)}.bar .failed{background:var(--failed)}
.card.invalid{border-top-color:var(--invalid)}.bar .invalid{background:var(--invalid)}
.card.skipped{border-top-color:var(--skipped)}.bar .skipped{background:var(--skipped)}
.bar{display:flex;height:14px;border-radius:7px;overflow:hidden;background:var(--line);
margin:16px 0 8px}
.check{margin:0;color:var(--muted);font-size:14px}.warn{color:var(--failed);font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:8px 24px;margin:0}
dt{color:var(--muted)}dd{margin:0}
.left{border-left:4px solid var(--sent);padding:4px 0 4px 14px;margin:0 0 18px}
.left.unknown{border-left-color:var(--failed)}.left:last-child{margin-bottom:0}
.tags{display:flex;flex-wrap:wrap;gap:6px;list-style:none;padding:0;margin:10px 0}
.tags li{background:var(--bg);border-radius:99px;padding:2px 10px;font-size:13px}
.tags li.some{background:#fdecc8}.note{margin:6px 0 0;font-size:14px}
code,pre,.mono{font-family:ui-monospace,"SF Mono",Menlo,Consolas,"DejaVu Sans Mono",monospace;
font-size:13px}
pre{background:#16202b;color:#e8eef5;padding:10px 14px;border-radius:8px;margin:8px 0;
white-space:pre-wrap;overflow-wrap:break-word}pre span{white-space:nowrap}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;
color:var(--muted);white-space:nowrap}
.num{text-align:right}td .mono{display:block;color:var(--muted)}
.examples{list-style:none;margin:0;padding:0}.examples li{margin:0 0 6px}
.err{display:block;font-size:13px;color:var(--muted)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(72px,1fr));gap:8px;
margin:0 0 14px}
.stats div{background:var(--bg);border-radius:8px;padding:6px 10px}
.stats .l{display:block;font-size:12px;color:var(--muted);text-transform:uppercase}
.stats .v{font-size:17px;font-weight:600;white-space:nowrap}
.empty{color:var(--muted);font-style:italic;margin:0}
footer{color:var(--muted);font-size:13px;padding:0 4px}footer ul{margin:0;padding-left:18px}
@media (max-width:640px){main{padding:16px 10px}section{padding:14px;border-radius:10px}
h1{font-size:24px}.card .n{font-size:22px}dl.facts{grid-template-columns:1fr;gap:0}
dd{margin-bottom:8px}thead{display:none}table,tbody,tr,td{display:block}
tr{border-bottom:1px solid var(--line);padding:6px 0}.stats .v{font-size:15px}
.stats div{padding:6px 8px}
td,td.num{border:0;padding:3px 0;text-align:left}
td::before{content:attr(data-label);display:block;font-size:11px;color:var(--muted);
text-transform:uppercase;letter-spacing:.05em}}
@media print{body{background:#fff;font-size:12px}main{max-width:none;padding:0}
section{border:0;border-bottom:1px solid var(--line);border-radius:0;padding:0 0 12px}
pre{background:#f4f6f9;color:var(--ink)}svg.chart{min-width:0}.scroll{overflow:visible}}
"""
