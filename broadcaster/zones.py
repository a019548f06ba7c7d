"""A recipient's time zones, read off the phone number: the local clocks a send window is kept
in for that row, when ``--tz`` does not name one zone for every row.

libphonenumber's ``timezone`` module maps a number to the zones its prefix covers: one for most
(``+1 212`` is America/New_York), several where a prefix spans zones (some Alaskan exchanges,
Australian mobiles), and every zone of the country code for a number tied to no place: a US
toll-free number gets all 42 of the North American plan, Guam to Newfoundland. The send window
is kept in all of them at once (``sendwindow``). Where the library cannot place a number it
says ``Etc/Unknown``, which no zone database knows; that is None here, for the caller to decide.

The library reads the number's type first (toll-free or not, valid or not), which takes all its
digits, so its answer cannot be cached by prefix; the cache is keyed on the whole number. Its
``timezone`` module loads a table of 3,000 prefixes, so it is imported on first use, not by
every command that imports this module.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import NumberParseException

UNKNOWN = "Etc/Unknown"  # the library's "cannot tell", which is no zone at all


@functools.lru_cache(maxsize=1 << 14)  # a number asked again: at planning, then sending
def zones_of(e164: str) -> tuple[str, ...] | None:
    """The zone names of a number (``+14155550132`` or the API's ``14155550132``), sorted;
    None when the library cannot place it (an invalid or unreadable number)."""
    from phonenumbers.timezone import time_zones_for_number  # noqa: PLC0415 - see the docstring

    try:
        number = phonenumbers.parse("+" + e164.removeprefix("+"))
    except NumberParseException:
        return None
    return _known(time_zones_for_number(number))


@functools.lru_cache(maxsize=1024)  # the library returns the tuples of one table
def _known(names: tuple[str, ...]) -> tuple[str, ...] | None:
    """Sorted, and one tuple for every number of a prefix: little memory, quick to hash."""
    return tuple(sorted(set(names) - {UNKNOWN})) or None


@functools.lru_cache(maxsize=1024)
def zones_named(names: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
    """The zones of ``zones_of``'s names, cached: a campaign's rows share a handful of them."""
    return tuple(ZoneInfo(name) for name in names)
