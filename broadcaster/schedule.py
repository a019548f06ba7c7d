"""Quiet hours: whether a message may go now, in the zone or zones of its recipient.

``--window 09:00-20:00 [--days mon-fri] --tz ZONE`` puts every row in one zone;
``--tz recipient`` takes each row's from its number (``zones``: libphonenumber's zones for its
prefix; a number whose prefix spans several zones is open only while every one of them is), or
from a ``tz`` column, which wins. A row whose zone cannot be told (a chat_id, a list, an
unknown prefix, or a prefix whose zones never share an open hour, as a toll-free number's
forty-two do in an 8-hour window) takes ``--tz-fallback``; without one it is invalid, said
with the fix.

The gate asks ``opening`` of each message as it is read and again as its turn comes: a
message outside its window waits for a later pass over the input (``engine``), and nothing
about it is recorded until it goes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from broadcaster.sendwindow import SendWindow, parse_days, parse_window, zone
from broadcaster.summary import counted
from broadcaster.zones import zones_named, zones_of

_A_MOMENT = timedelta(microseconds=1)
_AHEAD = timedelta(days=14)  # how far ahead a finish is looked for
_NEVER = datetime.max.replace(tzinfo=UTC)
RECIPIENT = "recipient"  # --tz recipient: each row's zone from its number
ZONE_COLUMN = "tz"


class NoZone(ValueError):  # noqa: N818 - it names the row's state
    """A row whose zone cannot be told, and no --tz-fallback: the reason, with the fix."""


@dataclass(frozen=True, slots=True)
class Opening:
    """When a message's window opens next (``at``, UTC), and the zone it is read in."""

    at: datetime | None  # None: not in the 15 days ahead
    zones: tuple[str, ...]

    @property
    def label(self) -> str:
        """``09:00 America/Chicago``: the opening as the recipient's clock reads it."""
        if self.at is None:
            return f"no opening ahead ({self.where})"
        local = self.at.astimezone(zones_named(self.zones[:1])[0])
        return f"{local:%H:%M} {self.where}"

    @property
    def where(self) -> str:
        more = len(self.zones) - 1
        return self.zones[0] + (f" and {counted(more, 'more zone')}" if more else "")


@dataclass(frozen=True, slots=True)
class Schedule:
    window: SendWindow
    zone: str | None  # every row's (--tz ZONE), or None: each recipient's
    fallback: str | None = None  # --tz-fallback

    @classmethod
    def parse(cls, window: str, days: str | None, tz: str | None, fallback: str | None) -> Schedule:
        """The options as given; a ValueError says what is wrong with one."""
        start, end = parse_window(window)
        every = SendWindow(start, end) if days is None else SendWindow(start, end, parse_days(days))
        if tz is None:
            msg = "--window needs --tz: a zone (America/New_York), or recipient"
            raise ValueError(msg)
        fixed = None if tz == RECIPIENT else zone(tz).key
        if fallback is not None and fixed is not None:
            msg = "--tz-fallback is for --tz recipient: with one zone for all rows, none is unknown"
            raise ValueError(msg)
        if fallback == RECIPIENT:
            msg = "--tz-fallback is a zone's name (America/Chicago), not recipient"
            raise ValueError(msg)
        return cls(every, fixed, None if fallback is None else zone(fallback, "--tz-fallback").key)

    def __str__(self) -> str:
        where = self.zone or "each recipient's zone"
        fallback = f", else {self.fallback}" if self.fallback and not self.zone else ""
        return f"{self.window} in {where}{fallback}"

    def zones(self, body: Mapping[str, object], fields: Mapping[str, object]) -> tuple[str, ...]:
        """The zones a message is read in; NoZone when it has none."""
        if self.zone is not None:
            return (self.zone,)
        column = fields.get(ZONE_COLUMN)
        if isinstance(column, str) and column.strip():
            return (_zone_key(column.strip()),)
        found = self._by_number(body)
        if found is not None:
            return found
        if self.fallback is not None:
            return (self.fallback,)
        raise NoZone(_why_no_zone(body))

    def _by_number(self, body: Mapping[str, object]) -> tuple[str, ...] | None:
        phone = body.get("phone_number")
        numbers = [phone] if isinstance(phone, str) else body.get("targets")
        if not isinstance(numbers, list) or not numbers:
            return None
        names: set[str] = set()
        for number in numbers:
            zones = zones_of(str(number))
            if zones is None:
                return None
            names.update(zones)
        found = tuple(sorted(names))
        return found if self._ever_open(found) else None

    @functools.cache  # noqa: B019 - a handful of zone sets a run, and the schedule lives as long
    def _ever_open(self, names: tuple[str, ...]) -> bool:
        """Whether the zones ever share an open hour (a toll-free number's forty-two share
        some of 09:00-20:00, none of 09:00-17:00)."""
        return self.window.opens_at(zones_named(names), datetime.now().astimezone()) is not None

    def opening(self, names: tuple[str, ...], now: datetime) -> Opening | None:
        """None while the window is open in every zone; else when it opens next."""
        zones = zones_named(names)
        if self.window.is_open(zones, now):
            return None
        at = self.window.opens_at(zones, now)
        return Opening(at, names if at is None else self._binding_first(names, zones, at))

    def _binding_first(
        self, names: tuple[str, ...], zones: tuple[ZoneInfo, ...], at: datetime
    ) -> tuple[str, ...]:
        """The zones, the one whose window opening is the opening first: "09:00
        Australia/Perth", not "11:00 Australia/Sydney", for a window that opens at 09:00."""
        start = self.window.start.replace(second=0, microsecond=0)
        for name, zone_info in zip(names, zones, strict=True):
            if at.astimezone(zone_info).time().replace(second=0, microsecond=0) == start:
                return (name, *(other for other in names if other != name))
        return names


def _zone_key(name: str) -> str:
    try:
        return zone(name, "the value").key
    except ValueError as exc:
        raise NoZone(f"{ZONE_COLUMN}: {exc}") from None


def _why_no_zone(body: Mapping[str, object]) -> str:
    if "phone_number" in body or "targets" in body:
        what = "its number's zones never share an open hour, or are unknown"
    else:
        what = "a chat or a list has no number to tell it by"
    return (
        f"no time zone for the send window: {what}; add a {ZONE_COLUMN} column, "
        "or give --tz-fallback ZONE"
    )


def open_spans(
    window: SendWindow, names: tuple[str, ...], now: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches from ``now`` to ``until`` when the window is open in every zone."""
    zones = zones_named(names)
    spans: list[tuple[datetime, datetime]] = []
    moment = now
    while moment < until:
        opens = window.opens_at(zones, moment)
        if opens is None or opens >= until:
            break
        closes = min(window.closes_at(zones, opens), until)
        spans.append((opens, closes))
        moment = closes + _A_MOMENT
    return spans


def finish_time(
    schedule: Schedule, groups: Mapping[tuple[str, ...], int], per_second: float, now: datetime
) -> datetime | None:
    """When the rows would all have gone, at ``per_second`` (0: unpaced) and within their
    windows (each zone set's rows only while it is open; one schedule for all: the rows of
    the set that closes first go first). None when not within the days ahead."""
    until = now + _AHEAD
    left = {names: float(count) for names, count in groups.items() if count}
    spans = {names: open_spans(schedule.window, names, now, until) for names in left}
    edges = sorted({now, *(edge for each in spans.values() for span in each for edge in span)})
    for start, end in itertools.pairwise(edges):
        open_now = [names for names in left if any(a <= start < b for a, b in spans[names])]
        if per_second <= 0:  # unpaced: each set goes as its window opens
            left = {names: rows for names, rows in left.items() if names not in open_now}
            if not left:
                return start
            continue
        seconds = (end - start).total_seconds()
        capacity = per_second * seconds
        for names in sorted(open_now, key=lambda n: _closing(spans[n], start)):
            taken = min(capacity, left[names])
            capacity -= taken
            left[names] -= taken
            if left[names] <= 0:
                del left[names]
        if not left:
            return start + timedelta(seconds=seconds - capacity / per_second)
    return None


def _closing(spans: list[tuple[datetime, datetime]], moment: datetime) -> datetime:
    return next(b for a, b in spans if a <= moment < b)


def window_lines(
    schedule: Schedule,
    groups: Mapping[tuple[str, ...], int],
    per_second: float,
    now: datetime,
    deadline: datetime | None = None,
) -> list[str]:
    """What validate and a dry run say of the window: the rows by zone, how many may go now,
    and when the last would go at the rate, windows allowing (and whether before
    ``deadline``, --not-after)."""
    ranked = sorted(groups.items(), key=lambda item: -item[1])
    shown = " · ".join(f"{Opening(None, names).where} {count:,}" for names, count in ranked[:4])
    rest = sum(count for _, count in ranked[4:])
    if rest:
        shown += f" · {counted(len(ranked) - 4, 'more zone set')} {rest:,}"
    lines = [f"window    {schedule}", f"zones     {shown or 'no rows to send'}"]
    openings = {names: schedule.opening(names, now) for names in groups}
    waiting = {names: at for names, at in openings.items() if at is not None}
    ready = sum(count for names, count in groups.items() if names not in waiting)
    if waiting:
        first = min(waiting.values(), key=lambda o: o.at or _NEVER)
        lines.append(
            f"          open now for {counted(ready, 'row')}; the rest wait, the first for "
            f"{first.label}"
        )
    finish = finish_time(schedule, groups, per_second, now) if groups else None
    if groups:
        when = "not within 14 days" if finish is None else _shown(finish, schedule.zone)
        lines.append(f"finish    {when}, windows allowing")
    if groups and deadline is not None and (finish is None or finish > deadline):
        lines.append(
            f"          after --not-after ({_shown(deadline, schedule.zone)}): the rows still "
            "waiting then end skipped (deadline)"
        )
    return lines


def _shown(moment: datetime, zone: str | None) -> str:
    """A time in the window's zone, or (each recipient's) in this machine's."""
    local = moment.astimezone(ZoneInfo(zone)) if zone else moment.astimezone()
    name = zone or local.tzname() or ""
    return f"{local:%a %d %b %H:%M} {name}".rstrip()
