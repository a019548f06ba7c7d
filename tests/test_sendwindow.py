from __future__ import annotations

import re
from contextlib import AbstractContextManager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.sendwindow import EVERY_DAY, NEVER, SendWindow, parse_days, parse_window, zone

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
DENVER = ZoneInfo("America/Denver")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
US_FOUR = (NEW_YORK, CHICAGO, DENVER, LOS_ANGELES)
WEEKDAYS = frozenset(range(5))
NINE_TO_EIGHT = SendWindow(time(9), time(20))
FRIDAY_NIGHT = SendWindow(time(21), time(8), frozenset({4}))
MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)


def local(text: str, zone: ZoneInfo = NEW_YORK) -> datetime:
    """A wall-clock reading in ``zone`` (its first, where the clock reads it twice)."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def raises_exactly(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ValueError]]:
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


class TestParseWindow:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("09:00-20:00", (time(9), time(20))),
            ("9:00-20:00", (time(9), time(20))),
            ("9-17", (time(9), time(17))),
            (" 9:00 - 17:30 ", (time(9), time(17, 30))),
            ("21:00-08:00", (time(21), time(8))),
            ("00:00-24:00", (time(0), time(0))),
            ("09:00-24:00", (time(9), time(0))),
        ],
    )
    def test_reads_hours_with_or_without_minutes(
        self, text: str, expected: tuple[time, time]
    ) -> None:
        assert parse_window(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "25:00-8",
            "9",
            "09:00",
            "0900-1700",
            "9:5-17",
            "nine-five",
            "",
            "24:00-08:00",
            "09:60-10:00",
            "09:00-24:30",
            "09:00-20:00-21:00",
            "\uff19-17",  # a full-width digit
        ],
    )
    def test_anything_else_is_refused_with_the_expected_form(self, text: str) -> None:
        with raises_exactly(f"--window {text!r} is not HH:MM-HH:MM (for example 09:00-20:00)"):
            parse_window(text)

    @pytest.mark.parametrize("text", ["12:00-12:00", "0-0", "00:00-00:00"])
    def test_opening_and_closing_at_once_is_an_empty_window(self, text: str) -> None:
        with raises_exactly(
            f"--window {text!r} is an empty window: it opens and closes at the same time "
            "(00:00-24:00 is the whole day)"
        ):
            parse_window(text)


class TestParseDays:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("mon-fri", {0, 1, 2, 3, 4}),
            ("sat,sun", {5, 6}),
            ("fri-mon", {4, 5, 6, 0}),
            ("mon,wed-fri", {0, 2, 3, 4}),
            ("Monday-Friday", {0, 1, 2, 3, 4}),
            ("SAT, Sunday", {5, 6}),
            ("wed", {2}),
            ("mon - wed", {0, 1, 2}),
            ("sun-sat", set(range(7))),
        ],
    )
    def test_reads_days_ranges_and_lists(self, text: str, expected: set[int]) -> None:
        assert parse_days(text) == expected

    @pytest.mark.parametrize("text", ["all", "daily", "every day", "Every  Day", "ALL"])
    def test_words_for_the_whole_week(self, text: str) -> None:
        assert parse_days(text) == EVERY_DAY

    def test_a_word_that_is_no_day_is_named_with_the_valid_ones(self) -> None:
        with raises_exactly(
            "--days 'mon-fry': 'fry' is not a day; use mon, tue, wed, thu, fri, sat, sun or "
            "full names, ranges such as mon-fri, lists such as sat,sun, or all"
        ):
            parse_days("mon-fry")

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("weekdays", "'weekdays' is not a day"),
            ("mon,,fri", "an empty item is not a day"),
            ("mon-", "an empty item is not a day"),
            ("mon-wed-fri", "'wed-fri' is not a day"),
            ("", "names no day"),
            ("  ", "names no day"),
        ],
    )
    def test_other_mistakes_say_what_is_wrong(self, text: str, reason: str) -> None:
        with pytest.raises(ValueError, match=reason):
            parse_days(text)


class TestZone:
    def test_an_iana_name_gives_its_zone(self) -> None:
        assert zone("America/New_York") is NEW_YORK

    def test_a_misspelt_name_suggests_the_near_one(self) -> None:
        with raises_exactly(
            "--tz 'America/Chicgo' is not a time zone; did you mean America/Chicago?"
        ):
            zone("America/Chicgo")

    def test_a_name_in_the_wrong_case_is_the_zone(self) -> None:
        """A spreadsheet's tz column in lower case: the same zone, not an invalid row."""
        assert zone("america/new_york").key == "America/New_York"

    def test_the_refusal_names_what_gave_the_zone(self) -> None:
        with pytest.raises(ValueError, match=r"^--tz-fallback 'Mars/Base' is not a time zone"):
            zone("Mars/Base", "--tz-fallback")

    def test_a_name_near_no_zone_asks_for_an_iana_name(self) -> None:
        with raises_exactly(
            "--tz 'xyzzy' is not a time zone (use an IANA name such as America/New_York)"
        ):
            zone("xyzzy")

    @pytest.mark.parametrize("name", ["../x", "", "/etc/passwd", "America", "a\x00b"])
    def test_keys_that_are_no_zones_file_are_refused_the_same_way(self, name: str) -> None:
        with pytest.raises(ValueError, match=r"^--tz .* is not a time zone"):
            zone(name)


class TestText:
    @pytest.mark.parametrize(
        ("window", "text"),
        [
            (SendWindow(time(9), time(20), WEEKDAYS), "09:00-20:00 mon-fri"),
            (SendWindow(time(21), time(8)), "21:00-08:00 every day"),
            (SendWindow(time(9), time(17), frozenset({0, 2, 5})), "09:00-17:00 mon,wed,sat"),
            (SendWindow(time(9), time(17), frozenset({4, 5, 6, 0})), "09:00-17:00 fri-mon"),
            (SendWindow(time(9), time(17), frozenset({5, 6})), "09:00-17:00 sat,sun"),
            (SendWindow(time(9), time(17), frozenset({6, 0, 2})), "09:00-17:00 sun,mon,wed"),
            (SendWindow(time(9), time(17), frozenset({0, 2, 3, 4})), "09:00-17:00 mon,wed-fri"),
            (SendWindow(time(0), time(0)), "00:00-24:00 every day"),
            (SendWindow(time(9), time(0)), "09:00-24:00 every day"),
            (SendWindow(time(9, 0, 30), time(17)), "09:00:30-17:00 every day"),
            (SendWindow(time(9), time(17), frozenset()), "09:00-17:00 no day"),
        ],
    )
    def test_reads_as_the_options_are_written(self, window: SendWindow, text: str) -> None:
        assert str(window) == text

    @given(st.frozensets(st.integers(0, 6), min_size=1))
    def test_the_days_text_reads_back_as_the_same_days(self, days: frozenset[int]) -> None:
        text = str(SendWindow(time(9), time(17), days)).removeprefix("09:00-17:00 ")
        assert parse_days(text) == days

    @given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59))
    def test_the_window_text_reads_back_as_the_same_times(
        self, start_hour: int, start_minute: int, end_hour: int, end_minute: int
    ) -> None:
        window = SendWindow(time(start_hour, start_minute), time(end_hour, end_minute))
        if window.start == window.end and window.start != time(0):
            return  # a 24-hour window from another hour has no text parse_window reads
        assert parse_window(str(window).split()[0]) == (window.start, window.end)


class TestConstruction:
    def test_times_with_a_zone_are_refused(self) -> None:
        with pytest.raises(ValueError, match="without a zone"):
            SendWindow(time(9, tzinfo=UTC), time(17))

    def test_days_outside_the_week_are_refused(self) -> None:
        with pytest.raises(ValueError, match=r"not \[7\]"):
            SendWindow(time(9), time(17), frozenset({0, 7}))

    def test_now_without_an_offset_is_refused(self) -> None:
        """It would be read in the machine's own zone."""
        with pytest.raises(ValueError, match="now must say its offset"):
            NINE_TO_EIGHT.is_open((NEW_YORK,), datetime(2026, 6, 10, 12))  # noqa: DTZ001

    @pytest.mark.parametrize("ask", ["is_open", "opens_at", "closes_at"])
    def test_no_zones_is_refused(self, ask: str) -> None:
        with pytest.raises(ValueError, match="at least one time zone"):
            getattr(NINE_TO_EIGHT, ask)((), utc("2026-06-10T12:00"))


class TestOneZone:
    def test_open_from_the_opening_minute_to_before_the_closing_one(self) -> None:
        zones = (NEW_YORK,)
        assert not NINE_TO_EIGHT.is_open(zones, local("2026-06-10T08:59:59"))
        assert NINE_TO_EIGHT.is_open(zones, local("2026-06-10T09:00"))
        assert NINE_TO_EIGHT.is_open(zones, local("2026-06-10T19:59:59"))
        assert not NINE_TO_EIGHT.is_open(zones, local("2026-06-10T20:00"))

    def test_now_may_have_any_offset(self) -> None:
        assert NINE_TO_EIGHT.is_open((NEW_YORK,), utc("2026-06-10T13:00"))
        assert not NINE_TO_EIGHT.is_open((NEW_YORK,), utc("2026-06-10T12:59"))

    def test_answers_are_in_utc(self) -> None:
        opens = NINE_TO_EIGHT.opens_at((NEW_YORK,), local("2026-06-10T07:00"))
        assert opens == local("2026-06-10T09:00")
        assert opens is not None
        assert opens.tzinfo is UTC
        closes = NINE_TO_EIGHT.closes_at((NEW_YORK,), local("2026-06-10T10:00"))
        assert closes == utc("2026-06-11T00:00")
        assert closes.tzinfo is UTC

    def test_after_closing_it_opens_the_next_day(self) -> None:
        assert NINE_TO_EIGHT.opens_at((NEW_YORK,), local("2026-06-10T20:00")) == local(
            "2026-06-11T09:00"
        )

    def test_the_days_are_the_days_it_opens_on(self) -> None:
        window = SendWindow(time(9), time(20), WEEKDAYS)
        assert not window.is_open((NEW_YORK,), local("2026-06-13T12:00"))  # a Saturday
        assert window.opens_at((NEW_YORK,), local("2026-06-12T20:00")) == local("2026-06-15T09:00")

    def test_the_days_are_the_recipients_days(self) -> None:
        """Monday 09:00 in Tokyo is Sunday evening in New York."""
        window = SendWindow(time(9), time(17), WEEKDAYS)
        assert window.is_open((TOKYO,), local("2026-06-14T20:00"))
        assert not window.is_open((NEW_YORK,), local("2026-06-14T20:00"))


class TestAcrossMidnight:
    def test_a_friday_night_window_runs_into_saturday_morning(self) -> None:
        zones = (NEW_YORK,)
        assert not FRIDAY_NIGHT.is_open(zones, local("2026-06-12T20:59"))
        assert FRIDAY_NIGHT.is_open(zones, local("2026-06-12T21:00"))
        assert FRIDAY_NIGHT.is_open(zones, local("2026-06-13T00:00"))
        assert FRIDAY_NIGHT.is_open(zones, local("2026-06-13T07:59"))
        assert not FRIDAY_NIGHT.is_open(zones, local("2026-06-13T08:00"))

    def test_it_belongs_to_the_day_it_opens(self) -> None:
        """Friday 07:00 is in Thursday's window, and Thursday is not a day of it."""
        assert not FRIDAY_NIGHT.is_open((NEW_YORK,), local("2026-06-12T07:00"))
        assert not FRIDAY_NIGHT.is_open((NEW_YORK,), local("2026-06-13T21:00"))

    def test_it_closes_on_the_next_day_and_opens_a_week_later(self) -> None:
        zones = (NEW_YORK,)
        assert FRIDAY_NIGHT.closes_at(zones, local("2026-06-12T23:00")) == local("2026-06-13T08:00")
        assert FRIDAY_NIGHT.opens_at(zones, local("2026-06-13T08:00")) == local("2026-06-19T21:00")

    def test_a_window_to_midnight_closes_at_the_start_of_the_next_day(self) -> None:
        window = SendWindow(*parse_window("18:00-24:00"))
        assert window.closes_at((NEW_YORK,), local("2026-06-10T23:00")) == local("2026-06-11T00:00")


class TestSeveralZones:
    def test_new_york_and_los_angeles_overlap_from_noon_to_eight_eastern(self) -> None:
        zones = (NEW_YORK, LOS_ANGELES)
        assert not NINE_TO_EIGHT.is_open(zones, local("2026-06-10T11:59"))
        assert NINE_TO_EIGHT.is_open(zones, local("2026-06-10T12:00"))
        assert NINE_TO_EIGHT.is_open(zones, local("2026-06-10T19:59"))
        assert not NINE_TO_EIGHT.is_open(zones, local("2026-06-10T20:00"))
        assert NINE_TO_EIGHT.closes_at(zones, local("2026-06-10T13:00")) == local(
            "2026-06-10T20:00"
        )

    def test_from_half_past_seven_eastern_four_us_zones_open_at_noon_eastern(self) -> None:
        assert NINE_TO_EIGHT.opens_at(US_FOUR, local("2026-06-10T07:30")) == local(
            "2026-06-10T12:00"
        )

    def test_the_tcpa_hours_in_four_us_zones_run_from_eleven_to_nine_eastern(self) -> None:
        tcpa = SendWindow(time(8), time(21))
        now = local("2026-06-10T07:30")
        assert tcpa.opens_at(US_FOUR, now) == local("2026-06-10T11:00")
        assert tcpa.closes_at(US_FOUR, local("2026-06-10T11:00")) == local("2026-06-10T21:00")

    def test_the_order_of_the_zones_does_not_matter(self) -> None:
        now = local("2026-06-10T07:30")
        assert NINE_TO_EIGHT.opens_at(US_FOUR[::-1], now) == NINE_TO_EIGHT.opens_at(US_FOUR, now)

    def test_zones_whose_windows_never_meet_never_open(self) -> None:
        """09:00-17:00 in Tokyo is 20:00-04:00 in New York, 13 hours behind."""
        window = SendWindow(time(9), time(17))
        zones = (NEW_YORK, TOKYO)
        now = local("2026-06-10T12:00")
        assert not window.is_open(zones, now)
        assert window.opens_at(zones, now) is None

    def test_each_zone_keeps_its_own_days(self) -> None:
        """Open while both Fridays' windows are: from 18:00 in Los Angeles, 21:00 in New York."""
        window = SendWindow(time(18), time(23), frozenset({4}))
        zones = (NEW_YORK, LOS_ANGELES)
        assert window.is_open(zones, local("2026-06-12T21:00"))
        assert window.closes_at(zones, local("2026-06-12T21:00")) == local("2026-06-12T23:00")
        assert window.opens_at(zones, local("2026-06-12T23:00")) == local("2026-06-19T21:00")


class TestNever:
    def test_a_window_on_no_day_never_opens(self) -> None:
        """parse_days refuses this; a window can still be built with it."""
        window = SendWindow(time(9), time(20), frozenset())
        now = local("2026-06-10T12:00")
        assert not window.is_open((NEW_YORK,), now)
        assert window.opens_at((NEW_YORK,), now) is None
        assert window.closes_at((NEW_YORK,), now) == now

    def test_a_window_around_the_clock_never_closes(self) -> None:
        window = SendWindow(*parse_window("00:00-24:00"))
        assert window.is_open(US_FOUR, local("2026-03-08T02:59"))
        assert window.closes_at(US_FOUR, local("2026-06-10T12:00")) is NEVER

    def test_a_whole_day_on_weekdays_closes_at_saturdays_midnight(self) -> None:
        window = SendWindow(time(0), time(0), WEEKDAYS)
        assert window.closes_at((NEW_YORK,), local("2026-06-10T12:00")) == local("2026-06-13T00:00")

    def test_while_closed_it_closes_now(self) -> None:
        now = local("2026-06-10T07:00")
        closes = NINE_TO_EIGHT.closes_at((NEW_YORK,), now)
        assert closes == now
        assert closes.tzinfo is UTC


class TestDaylightSaving:
    """US 2026: clocks jump 02:00 -> 03:00 on 8 March, fall 02:00 -> 01:00 on 1 November."""

    def test_zoneinfo_alone_puts_a_skipped_time_an_hour_late(self) -> None:
        """Why sendwindow bisects: fold=0 reads 02:30 with the offset from before the jump."""
        skipped = datetime(2026, 3, 8, 2, 30, tzinfo=NEW_YORK)
        assert skipped.astimezone(UTC) == utc("2026-03-08T07:30")  # 03:30 EDT

    def test_a_skipped_opening_time_opens_when_the_clock_jumps_past_it(self) -> None:
        window = SendWindow(time(2, 30), time(5))
        zones = (NEW_YORK,)
        assert window.opens_at(zones, local("2026-03-07T12:00")) == utc("2026-03-08T07:00")
        assert not window.is_open(zones, utc("2026-03-08T06:59:59"))
        assert window.is_open(zones, utc("2026-03-08T07:00"))  # 03:00 EDT

    def test_a_window_over_the_skipped_hour_is_an_hour_shorter(self) -> None:
        window = SendWindow(time(1), time(4))
        zones = (NEW_YORK,)
        assert window.opens_at(zones, local("2026-03-07T12:00")) == utc("2026-03-08T06:00")
        assert window.closes_at(zones, utc("2026-03-08T06:00")) == utc("2026-03-08T08:00")

    def test_a_window_inside_the_skipped_hour_does_not_open_that_day(self) -> None:
        window = SendWindow(time(2, 10), time(2, 50))
        assert window.opens_at((NEW_YORK,), local("2026-03-07T12:00")) == local("2026-03-09T02:10")

    def test_a_daytime_window_follows_the_clock_across_the_change(self) -> None:
        zones = (NEW_YORK,)
        assert NINE_TO_EIGHT.opens_at(zones, local("2026-03-07T07:00")) == utc("2026-03-07T14:00")
        assert NINE_TO_EIGHT.opens_at(zones, local("2026-03-07T21:00")) == utc("2026-03-08T13:00")
        assert NINE_TO_EIGHT.opens_at(zones, local("2026-10-31T21:00")) == utc("2026-11-01T14:00")

    def test_a_repeated_opening_time_opens_at_its_first_reading(self) -> None:
        window = SendWindow(time(1, 30), time(3))
        zones = (NEW_YORK,)
        assert window.opens_at(zones, local("2026-10-31T12:00")) == utc("2026-11-01T05:30")
        assert window.closes_at(zones, utc("2026-11-01T05:30")) == utc("2026-11-01T08:00")

    def test_a_repeated_closing_time_closes_at_its_first_reading_for_good(self) -> None:
        """The window of Saturday 22:00-01:30 does not reopen when the clock reads 01:15 again."""
        window = SendWindow(time(22), time(1, 30))
        zones = (NEW_YORK,)
        assert window.closes_at(zones, local("2026-10-31T23:00")) == utc("2026-11-01T05:30")
        assert window.is_open(zones, utc("2026-11-01T05:15"))  # 01:15 EDT
        assert not window.is_open(zones, utc("2026-11-01T06:15"))  # 01:15 EST
        assert window.opens_at(zones, utc("2026-11-01T06:15")) == local("2026-11-01T22:00")

    def test_a_zone_without_daylight_saving_keeps_its_hours(self) -> None:
        phoenix = ZoneInfo("America/Phoenix")
        assert NINE_TO_EIGHT.opens_at((phoenix,), local("2026-03-08T00:00")) == utc(
            "2026-03-08T16:00"
        )


# Zones with unusual clocks: no daylight saving, half-hour saving (Lord Howe), odd offsets
# (Kathmandu, Chatham), the southern summer (Sydney), a zone that dropped saving (Sao Paulo),
# and ones whose saving starts on other days than the US's (London, Santiago, Tehran in 2020-22).
ZONES = [
    NEW_YORK, CHICAGO, DENVER, LOS_ANGELES, TOKYO,
    *(ZoneInfo(name) for name in (
        "America/Phoenix", "Pacific/Honolulu", "America/St_Johns", "America/Sao_Paulo",
        "America/Santiago", "Europe/London", "Europe/Dublin", "Asia/Kathmandu", "Asia/Tehran",
        "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "UTC",
    )),
]  # fmt: skip
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
windows = st.builds(SendWindow, clocks, clocks, st.frozensets(st.integers(0, 6)))
zone_sets = st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True)
instants = st.datetimes(
    datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds, and the zone apart
    datetime(2035, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


class TestProperties:
    @settings(max_examples=400, deadline=None)
    @given(windows, zone_sets, instants, st.floats(0, 1))
    def test_opens_at_is_now_when_open_else_the_first_open_instant(
        self, window: SendWindow, zones: list[ZoneInfo], now: datetime, share: float
    ) -> None:
        opens = window.opens_at(zones, now)
        assert (opens == now) == window.is_open(zones, now)
        if opens is None or opens == now:
            return
        assert opens > now
        assert window.is_open(zones, opens)
        assert not window.is_open(zones, opens - MINUTE)
        assert not window.is_open(zones, opens - TICK)
        between = min(now + (opens - now) * share, opens - TICK)
        assert not window.is_open(zones, between)

    @settings(max_examples=400, deadline=None)
    @given(windows, zone_sets, instants)
    def test_closes_at_ends_the_stretch_open_now(
        self, window: SendWindow, zones: list[ZoneInfo], now: datetime
    ) -> None:
        closes = window.closes_at(zones, now)
        if not window.is_open(zones, now):
            assert closes == now
            return
        if closes is NEVER:
            assert window.start == window.end
            assert window.days == EVERY_DAY
            return
        assert closes > now
        assert window.is_open(zones, closes - TICK)
        assert not window.is_open(zones, closes)

    @settings(max_examples=400, deadline=None)
    @given(windows, st.integers(-12, 14), instants)
    def test_without_clock_changes_it_is_the_plain_reading_of_the_clock(
        self, window: SendWindow, hours_east: int, now: datetime
    ) -> None:
        """Etc/GMT-5 is five hours east of UTC: the POSIX sign, reversed."""
        fixed = ZoneInfo(f"Etc/GMT{-hours_east:+d}" if hours_east else "UTC")
        reading = now.astimezone(fixed)
        clock, day = reading.time(), reading.weekday()
        opened_today = day in window.days and clock >= window.start
        opened_yesterday = (day - 1) % 7 in window.days and clock < window.end
        if window.start < window.end:
            expected = opened_today and clock < window.end
        else:
            expected = opened_today or opened_yesterday
        assert window.is_open((fixed,), now) == expected
