"""The report for people: the report object (``report.build_report``) as aligned lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from broadcaster.latency import FIGURES
from broadcaster.rate import describe_rate, format_duration
from broadcaster.summary import LABEL as _LABEL
from broadcaster.summary import counted

_CONTROLS = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0)], "\N{REPLACEMENT CHARACTER}")


def format_report(report: Mapping[str, Any]) -> str:
    named = len({run["input"] for run in report["runs"]}) > 1
    lines = [
        *_heading(report),
        _rows(report["rows"], report["skipped"], report["left"]),
        *_groups("failed", report["failures"], named),
        *_groups("invalid", report["invalid"], named),
        _requests(report),
        *_time(report),
        _latency(report["latency_ms"]),
        *_runs(report["runs"]),
        *_left(report["left"]),
    ]
    if report["damaged_lines"]:
        damaged = report["damaged_lines"]
        many = f"{damaged:,} lines that are not records"
        text = "1 line that is not a record" if damaged == 1 else many
        lines.append(_line("damaged", f"{text}, skipped"))
    # Text from a journal is data: an escape sequence or a newline in it must not reach the
    # terminal as one.
    return "".join(line.translate(_CONTROLS) + "\n" for line in lines)


def _line(label: str, text: str) -> str:
    return f"{label:<{_LABEL}}{text}"


def _more(text: str) -> str:
    return " " * _LABEL + text


def _heading(report: Mapping[str, Any]) -> list[str]:
    journals = report["journals"]
    named = ", ".join(journals) if len(journals) <= 3 else f"{len(journals)} journals"  # noqa: PLR2004
    campaigns = ", ".join(report["campaigns"]) or "unnamed"
    return [
        _line("report", f"{named} · campaign {campaigns} · {counted(len(report['runs']), 'run')}")
    ]


def _rows(
    rows: Mapping[str, int], reasons: Mapping[str, int], left: list[Mapping[str, Any]]
) -> str:
    not_ended = sum(entry["not_ended"] or 0 for entry in left)
    counts = f"{rows['total']:,}" + (f" ended, {not_ended:,} not yet" if not_ended else "")
    skipped = ", ".join(
        f"{n:,} {reason} (skipped)" for reason, n in reasons.items() if n or reason == "duplicate"
    )
    return _line(
        "rows",
        f"{counts}: {rows['sent']:,} sent, {rows['failed']:,} failed, "
        f"{rows['invalid']:,} invalid, {skipped}",
    )


def _groups(label: str, groups: list[Mapping[str, Any]], named: bool) -> list[str]:
    """Rows by reason, with their first lines (``named``: with their input's name, when the
    journal's runs read more than one input)."""
    if not groups:
        return []
    total = sum(group["count"] for group in groups)
    width = len(f"{groups[0]['count']:,}")
    return [_line(label, f"{counted(total, 'row')}, by reason:")] + [
        _more(f"{group['count']:>{width},}  {group['reason']}{_where(group, named)}")
        for group in groups
    ]


def _where(group: Mapping[str, Any], named: bool) -> str:
    examples = group["examples"]
    more = "…" if group["count"] > len(examples) else ""
    if named:
        places = [f"{Path(e['input'] or '?').name}:{e['line']}" for e in examples]
        return f" ({', '.join(places)}{more})"
    lines = ", ".join(str(example["line"]) for example in examples)
    return f" (line{'s' if len(examples) > 1 else ''} {lines}{more})"


def _requests(report: Mapping[str, Any]) -> str:
    requests, pauses = report["requests"], report["pauses"]
    text = (
        f"{counted(requests['attempts'], 'attempt')} for {counted(requests['messages'], 'message')}"
        f" ({counted(requests['retries'], 'retry', 'retries')}); "
    )
    if not pauses["count"]:
        return _line("requests", text + "no pauses")
    causes = ", ".join(f"{count:,} for {cause}" for cause, count in pauses["by_cause"].items())
    paused = format_duration(pauses["seconds"])
    return _line(
        "requests", text + f"{counted(pauses['count'], 'pause')} ({causes}), {paused} paused"
    )


def _time(report: Mapping[str, Any]) -> list[str]:
    time, rate = report["time"], report["rate"]
    if time["first"] is None or time["wall_seconds"] is None:
        return [_line("time", "no record carries a time")]
    lines = [
        _line(
            "time",
            f"{format_duration(time['wall_seconds'])} from the first run's start "
            f"({_stamp(time['first'])}) to the last record ({_stamp(time['last'])}); "
            f"{format_duration(time['sending_seconds'] or 0)} of it in runs",
        )
    ]
    if rate["messages_per_second"] is not None:
        per_second = rate["messages_per_second"]
        lines.append(
            _line(
                "rate",
                f"{per_second:,.2f} messages/s ({per_second * 60:,.0f}/m) while running; "
                f"{rate['attempts_per_second']:,.2f} attempts/s",
            )
        )
    return lines


def _latency(latency: Mapping[str, Any]) -> str:
    if not latency["count"]:
        return _line("latency", "no requests")
    figures = " · ".join(f"{name} {latency[name]:,.0f}" for name in FIGURES)
    # One value a record, not a message: a message retried in a later run has a record in each.
    over = counted(latency["count"], "record")
    return _line("latency", f"{figures} ms (each sent or failed record's last request; {over})")


def _runs(runs: list[Mapping[str, Any]]) -> list[str]:
    lines = []
    for index, run in enumerate(runs):
        settings = run["settings"]
        checksum = (run["input_sha256"] or "none")[:12]
        text = (
            f"{_stamp(run['started_at'])}  v{run['version']}  {run['input']} (sha256 {checksum})"
            f"  rate {describe_rate(settings.get('rate'))}, "
            f"concurrency {settings.get('concurrency', '?')}"
        )
        lines.append(_line("runs" if index == 0 else "", text))
        if run.get("halted"):
            lines.append(_more(f"halted by the circuit breaker: {run['halted']}"))
    return lines


def _left(entries: list[Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    for entry in entries:
        label = "left" if not lines else ""
        head = entry["journal"] + ": " if len(entries) > 1 else ""
        if entry["known"]:
            parts = [f"{counted(entry['not_ended'], 'row')} not ended" + _by_input(entry)]
        else:
            parts = ["rows not ended unknown"]
        if entry["failed_retryable"]:
            parts.append(f"{entry['failed_retryable']:,} failed that a resend may get through")
        if entry["failed_refused"]:
            parts.append(f"{entry['failed_refused']:,} failed that the API refused")
        lines.append(_line(label, head + ", ".join(parts)))
        if entry["command"]:
            lines.append(_more(f"then run: {entry['command']}"))
        if entry["note"]:
            lines.append(_more(f"note: {entry['note']}"))
    return lines


def _by_input(entry: Mapping[str, Any]) -> str:
    """Rows not ended per input, when the journal's runs read more than one."""
    inputs = entry.get("inputs") or []
    if len(inputs) < 2:  # noqa: PLR2004
        return ""
    counts = ", ".join(f"{Path(i['input']).name} {i['not_ended']:,}" for i in inputs)
    return f" ({counts})"


def _stamp(iso: str | None) -> str:
    """An ISO time as ``2026-11-26 15:04:05 UTC`` (what a person reads)."""
    if not iso:
        return "?"
    return iso[:19].replace("T", " ") + (" UTC" if iso.endswith("+00:00") else "")
