"""The send window: when a message may be sent, in the recipient's local time.

``--window 09:00-20:00 --days mon-fri --tz America/New_York``. US law (the TCPA) allows
marketing texts only from 8:00 to 21:00 where the recipient is, and a campaign often narrows
that further. A window opens at ``start`` local time on each of its ``days``; one whose end is
not after its start (``21:00-08:00``) closes on the next day and belongs to the day it opens:
with ``fri`` it is open from Friday 21:00 to Saturday 08:00.

Rules the code and its tests keep:

- A local time on a date is the first instant the zone's clock reads that time or later. That
  one rule settles both daylight-saving days, for opening and closing alike: a time the clock
  skips (02:30 on the US spring-forward day) is the instant it jumps past it (03:00), and a time
  it reads twice (01:30 when it falls back) is its first reading (``fold=0``). zoneinfo alone
  places a skipped time an hour late (``fold=0`` keeps the offset from before the jump), so the
  jump is found by bisection.
- Windows are compared as instants, never as clock readings: the hour a clock repeats is not
  reopened by a window that closed in its first pass.
- Several zones (a phone prefix that spans them): open only while open in every one, the most
  restrictive reading, which is the one the law cannot fault.
- ``opens_at`` is ``now`` while open and ``closes_at`` is ``now`` while closed, so both are total:
  a caller asks either without asking ``is_open`` first. A window open around the clock
  (``00:00-24:00`` every day) never closes: ``closes_at`` gives ``NEVER``.

``is_open`` is asked once a row: it converts ``now`` once per zone and reads the windows of that
local date from a cache, so a million rows in a handful of zones cost a million conversions
and a few dozen window computations. ``opens_at`` and ``closes_at`` search 15 days of windows:
every weekly pattern, with room for a daylight-saving change.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

EVERY_DAY = frozenset(range(7))
NEVER = datetime.max.replace(tzinfo=UTC)  # closes_at of a window open around the clock

_HORIZON_DAYS = 15
_DAY = timedelta(days=1)
_RESOLUTION = timedelta(microseconds=1)
_HOURS_A_DAY = 24
_MINUTES_AN_HOUR = 60
_RANGE_FROM = 3  # three days in a row or more read best as a range: mon-wed, but sat,sun
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = {name: day for day, full in enumerate(_DAY_NAMES) for name in (full, full[:3])}
_EVERY_DAY_WORDS = frozenset({"all", "daily", "every day", "everyday"})
_DAYS_HELP = (
    "use mon, tue, wed, thu, fri, sat, sun or full names, ranges such as mon-fri, "
    "lists such as sat,sun, or all"
)
_NOT_A_WINDOW = "is not HH:MM-HH:MM (for example 09:00-20:00)"
_WINDOW = re.compile(r"\s*([0-9]{1,2})(?::([0-9]{2}))?\s*-\s*([0-9]{1,2})(?::([0-9]{2}))?\s*")

Span: TypeAlias = tuple[datetime, datetime]  # [opens, closes) in UTC


@dataclass(frozen=True, slots=True)
class SendWindow:
    start: time  # local opening time
    end: time  # local closing time; not after start: it closes the next day
    days: frozenset[int] = EVERY_DAY  # weekdays (0 = Monday) on which the window opens

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("a send window's times are clock readings, without a zone")
        if not self.days <= EVERY_DAY:
            raise ValueError(f"weekdays are 0 (Monday) to 6, not {sorted(self.days - EVERY_DAY)}")

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end, closing=True)} {_days_text(self.days)}"

    def is_open(self, zones: Sequence[ZoneInfo], now: datetime) -> bool:
        _check(zones, now)
        return all(_open_in(self, zone, now) for zone in zones)

    def opens_at(self, zones: Sequence[ZoneInfo], now: datetime) -> datetime | None:
        """``now`` (in UTC) while open, else the next instant it is open in every zone; None
        when that is not within 15 days: never, in one zone (zones whose clocks change on
        different dates may overlap only in the weeks between)."""
        _check(zones, now)
        moment = now.astimezone(UTC)
        span = next((span for span in _overlap(self, zones, moment) if span[1] > moment), None)
        return None if span is None else max(span[0], moment)

    def closes_at(self, zones: Sequence[ZoneInfo], now: datetime) -> datetime:
        """While open, the instant the open stretch ends (the first zone to close), in UTC;
        ``now`` (in UTC) while closed; ``NEVER`` for a window open around the clock."""
        _check(zones, now)
        if self.days == EVERY_DAY and self.start == self.end:
            return NEVER
        moment = now.astimezone(UTC)
        for opens, closes in _overlap(self, zones, moment):
            if closes > moment:
                return closes if opens <= moment else moment
        return moment


def parse_window(text: str) -> tuple[time, time]:
    """``--window``: ``09:00-20:00`` or ``9-17``; ``21:00-08:00`` closes the next day and
    ``00:00-24:00`` is the whole day (24:00 is accepted only as an end)."""
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise ValueError(f"--window {text!r} {_NOT_A_WINDOW}")
    start_hour, start_minute, end_hour, end_minute = (int(part or 0) for part in match.groups())
    midnight_end = end_hour == _HOURS_A_DAY and end_minute == 0
    if (
        start_hour >= _HOURS_A_DAY
        or (end_hour >= _HOURS_A_DAY and not midnight_end)
        or max(start_minute, end_minute) >= _MINUTES_AN_HOUR
    ):
        raise ValueError(f"--window {text!r} {_NOT_A_WINDOW}")
    start = time(start_hour, start_minute)
    end = time(end_hour % _HOURS_A_DAY, end_minute)
    if start == end and not midnight_end:
        raise ValueError(
            f"--window {text!r} is an empty window: it opens and closes at the same time "
            "(00:00-24:00 is the whole day)"
        )
    return start, end


def parse_days(text: str) -> frozenset[int]:
    """``--days``: ``mon-fri``, ``sat,sun``, ``fri-mon`` (round the weekend), ``mon,wed-fri``,
    full names in any case (``Monday-Friday``), or ``all``, ``daily``, ``every day``."""
    words = " ".join(text.lower().split())
    if words in _EVERY_DAY_WORDS:
        return EVERY_DAY
    if not words:
        raise ValueError(f"--days {text!r} names no day; {_DAYS_HELP}")
    days: set[int] = set()
    for item in words.split(","):
        first, dash, last = item.partition("-")
        start = _weekday(first.strip(), text)
        stop = _weekday(last.strip(), text) if dash else start
        days.update((start + step) % 7 for step in range((stop - start) % 7 + 1))
    return frozenset(days)


def zone(name: str, what: str = "--tz") -> ZoneInfo:
    """An IANA time zone such as ``America/New_York`` (written in any case: a spreadsheet's
    ``america/new_york`` is the same zone), or a ValueError that names ``what`` gave it and
    suggests the nearest name when one is close."""
    try:
        return ZoneInfo(name)
    # Not found; or a key that is not a zone's: "../x", "" (ValueError), "America" (a folder).
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        key = _zone_keys().get(name.lower())
        if key is not None:
            return ZoneInfo(key)
        raise ValueError(_unknown_zone(name, what)) from exc


@functools.cache
def _zone_keys() -> dict[str, str]:
    return {key.lower(): key for key in available_timezones()}


def _check(zones: Sequence[ZoneInfo], now: datetime) -> None:
    # A naive now would be read in the machine's own zone; no zones would be always open.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must say its offset: {now.isoformat()}")
    if not zones:
        raise ValueError("a send window is kept in at least one time zone")


def _open_in(window: SendWindow, zone: ZoneInfo, now: datetime) -> bool:
    today = now.astimezone(zone).date()
    return any(opens <= now < closes for opens, closes in _spans_near(window, zone, today))


@functools.lru_cache(maxsize=4096)
def _spans_near(window: SendWindow, zone: ZoneInfo, today: date) -> tuple[Span, ...]:
    """The windows that may hold an instant of local date ``today``: yesterday's, which can run
    past midnight, today's, and tomorrow's, for a clock that falls back across midnight."""
    spans = (_span(window, zone, today + _DAY * step) for step in (-1, 0, 1))
    return tuple(span for span in spans if span is not None)


def _overlap(window: SendWindow, zones: Iterable[ZoneInfo], moment: datetime) -> list[Span]:
    """The stretches open in every zone, in order, from the local day before ``moment`` on."""
    overlap: list[Span] | None = None
    for zone in zones:
        first = moment.astimezone(zone).date() - _DAY
        spans = _joined(_span(window, zone, first + _DAY * step) for step in range(_HORIZON_DAYS))
        overlap = spans if overlap is None else _intersection(overlap, spans)
    return overlap or []


@functools.lru_cache(maxsize=4096)
def _span(window: SendWindow, zone: ZoneInfo, day: date) -> Span | None:
    """The window that opens on ``day`` in ``zone``; None if it does not open that day."""
    if day.weekday() not in window.days:
        return None
    closing_day = day + _DAY if window.end <= window.start else day
    opens = _instant(day, window.start, zone)
    closes = _instant(closing_day, window.end, zone)
    return (opens, closes) if opens < closes else None  # None: all of it in a skipped hour


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant (in UTC) at which ``zone``'s clock reads ``clock`` on ``day`` or later."""
    local = datetime.combine(day, clock, tzinfo=zone)  # fold=0: a repeated time's first reading
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # The clock skips this time. Read with the offset from after the jump it falls before the
    # jump; with the offset from before (fold=0, above) it falls after it.
    return _jump(local.replace(fold=1).astimezone(UTC), instant, zone)


def _jump(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The instant ``zone``'s offset changes, between ``before`` and ``after``."""
    offset = after.astimezone(zone).utcoffset()
    while after - before > _RESOLUTION:
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            after = middle
        else:
            before = middle
    return after


def _joined(spans: Iterable[Span | None]) -> list[Span]:
    """Spans in order, one where a window closes as the next opens (00:00-24:00 every day)."""
    joined: list[Span] = []
    for span in spans:
        if span is None:
            continue
        if joined and span[0] <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(span[1], joined[-1][1]))
        else:
            joined.append(span)
    return joined


def _intersection(first: list[Span], second: list[Span]) -> list[Span]:
    """The instants in both lists of ordered, separate spans."""
    both: list[Span] = []
    i = j = 0
    while i < len(first) and j < len(second):
        opens = max(first[i][0], second[j][0])
        closes = min(first[i][1], second[j][1])
        if opens < closes:
            both.append((opens, closes))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return both


def _weekday(word: str, text: str) -> int:
    day = _WEEKDAYS.get(word)
    if day is None:
        shown = repr(word) if word else "an empty item"
        raise ValueError(f"--days {text!r}: {shown} is not a day; {_DAYS_HELP}")
    return day


def _clock(reading: time, *, closing: bool = False) -> str:
    if closing and reading == time(0):
        return "24:00"  # a closing midnight is the end of the day it closes
    exact = reading.second == 0 and reading.microsecond == 0
    return reading.isoformat(timespec="minutes" if exact else "auto")


def _days_text(days: frozenset[int]) -> str:
    """``mon-fri``, ``sat,sun``, ``fri-mon``, ``mon,wed-fri``: what ``parse_days`` reads."""
    if days == EVERY_DAY:
        return "every day"
    if not days:
        return "no day"
    first = 0
    while (first - 1) % 7 in days:  # a run round the weekend is written from its start
        first = (first - 1) % 7
    week = [(first + step) % 7 for step in range(7)]
    runs = [list(run) for chosen, run in itertools.groupby(week, days.__contains__) if chosen]
    return ",".join(_run_text(run) for run in runs)


def _run_text(run: list[int]) -> str:
    names = [_DAY_NAMES[day][:3] for day in run]
    return f"{names[0]}-{names[-1]}" if len(run) >= _RANGE_FROM else ",".join(names)


def _unknown_zone(name: str, what: str) -> str:
    known = _zone_keys()
    near = difflib.get_close_matches(name.lower(), known, n=1)
    if near:
        return f"{what} {name!r} is not a time zone; did you mean {known[near[0]]}?"
    return f"{what} {name!r} is not a time zone (use an IANA name such as America/New_York)"
