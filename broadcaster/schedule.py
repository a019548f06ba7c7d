"""Quiet hours: whether a message may go now, in the zone or zones of its recipient.

``--window 09:00-20:00 [--days mon-fri] --tz ZONE`` puts every row in one zone;
``--tz recipient`` takes each row's from its number (``zones``: libphonenumber's zones for its
prefix; a number whose prefix spans several zones is open only while every one of them is), or
from a ``tz`` column, which wins. A row whose zone cannot be told (a chat_id, a list, an
unknown prefix, or a prefix whose zones never share an open hour, as a toll-free number's
forty-two do) takes ``--tz-fallback``; without one it is invalid, said with the fix.

The engine asks ``opens`` of each message as it is read and again as its turn comes: a
message outside its window waits for a later pass over the input (``engine``), and nothing
about it is recorded until it goes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from broadcaster.sendwindow import SendWindow, parse_days, parse_window, zone
from broadcaster.summary import counted
from broadcaster.zones import zones_named, zones_of

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
        if fallback is not None:
            zone(fallback)
        return cls(every, fixed, fallback)

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
        """Whether the zones ever share an open hour (a toll-free number's forty-two do not)."""
        return self.window.opens_at(zones_named(names), datetime.now().astimezone()) is not None

    def opening(self, names: tuple[str, ...], now: datetime) -> Opening | None:
        """None while the window is open in every zone; else when it opens next."""
        zones = zones_named(names)
        if self.window.is_open(zones, now):
            return None
        return Opening(self.window.opens_at(zones, now), names)


def _zone_key(name: str) -> str:
    try:
        return zone(name).key
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
