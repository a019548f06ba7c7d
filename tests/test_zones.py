from __future__ import annotations

import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from phonenumbers import timezone, tzdata

from broadcaster.zones import UNKNOWN, zones_named, zones_of

NANP_TOLL_FREE = (
    "America/Adak", "America/Anchorage", "America/Anguilla", "America/Antigua",
    "America/Barbados", "America/Boise", "America/Cayman", "America/Chicago", "America/Denver",
    "America/Dominica", "America/Edmonton", "America/Fort_Nelson", "America/Grand_Turk",
    "America/Grenada", "America/Halifax", "America/Jamaica", "America/Juneau",
    "America/Los_Angeles", "America/Lower_Princes", "America/Montserrat", "America/Nassau",
    "America/New_York", "America/North_Dakota/Center", "America/Phoenix",
    "America/Port_of_Spain", "America/Puerto_Rico", "America/Regina", "America/Santo_Domingo",
    "America/St_Johns", "America/St_Kitts", "America/St_Lucia", "America/St_Thomas",
    "America/St_Vincent", "America/Toronto", "America/Tortola", "America/Vancouver",
    "America/Winnipeg", "Atlantic/Bermuda", "Pacific/Guam", "Pacific/Honolulu",
    "Pacific/Pago_Pago", "Pacific/Saipan",
)  # fmt: skip


class TestWhatTheLibrarySays:
    @pytest.mark.parametrize(
        ("number", "names"),
        [
            ("+12125550123", ("America/New_York",)),
            ("+13125550123", ("America/Chicago",)),
            ("+13035550123", ("America/Denver",)),
            ("+14155550132", ("America/Los_Angeles",)),
            ("+18085550123", ("Pacific/Honolulu",)),
            ("+442079460958", ("Europe/London",)),
            ("+61212345678", ("Australia/Sydney",)),
            ("+74951234567", ("Europe/Moscow",)),
            ("+73832123456", ("Asia/Novosibirsk",)),
        ],
    )
    def test_a_number_in_one_zone_gets_that_zone(self, number: str, names: tuple[str]) -> None:
        assert zones_of(number) == names

    def test_alaska_depends_on_the_exchange_not_only_the_area_code(self) -> None:
        """+1 907 555 spans the Aleutians and the mainland; +1 907 222 is Juneau's."""
        assert zones_of("+19075550123") == ("America/Adak", "America/Anchorage")
        assert zones_of("+19072220000") == ("America/Juneau",)

    def test_a_toll_free_number_gets_every_zone_of_the_north_american_plan(self) -> None:
        assert zones_of("+18005550123") == NANP_TOLL_FREE
        assert zones_of("+18775550000") == NANP_TOLL_FREE
        assert len(NANP_TOLL_FREE) == 42

    def test_an_australian_mobile_gets_every_zone_of_australia(self) -> None:
        assert zones_of("+61412345678") == (
            "Australia/Adelaide", "Australia/Brisbane", "Australia/Eucla",
            "Australia/Lord_Howe", "Australia/Perth", "Australia/Sydney",
            "Indian/Christmas", "Indian/Cocos",
        )  # fmt: skip

    def test_a_western_australian_landline_gets_two_zones(self) -> None:
        assert zones_of("+61892345678") == ("Australia/Adelaide", "Australia/Perth")

    def test_a_russian_mobile_gets_the_zones_of_all_of_plus_7(self) -> None:
        """Kazakhstan shares +7, so Almaty is among them; the library lists Bucharest too."""
        assert zones_of("+79123456789") == (
            "Asia/Almaty", "Asia/Anadyr", "Asia/Aqtobe", "Asia/Irkutsk", "Asia/Kamchatka",
            "Asia/Krasnoyarsk", "Asia/Magadan", "Asia/Novosibirsk", "Asia/Omsk",
            "Asia/Sakhalin", "Asia/Vladivostok", "Asia/Yakutsk", "Asia/Yekaterinburg",
            "Europe/Bucharest", "Europe/Moscow", "Europe/Samara",
        )  # fmt: skip

    def test_every_zone_the_library_names_is_in_the_zone_database(self) -> None:
        """zones_named builds them without a check; a name tzdata lacked would raise here."""
        names = {name for names in tzdata.TIMEZONE_DATA.values() for name in names}
        assert UNKNOWN not in names  # only ever the library's fallback
        assert len(zones_named(tuple(sorted(names)))) == len(names)


class TestUnknown:
    def test_unknown_is_the_librarys_own_name_for_it(self) -> None:
        assert timezone.UNKNOWN_TIMEZONE == UNKNOWN

    def test_an_invalid_number_is_unknown(self) -> None:
        assert zones_of("+15555550123") is None

    def test_an_unreadable_number_is_unknown(self) -> None:
        assert zones_of("+999") is None
        assert zones_of("") is None


class TestForms:
    def test_the_apis_digits_without_plus_read_as_e164(self) -> None:
        assert zones_of("14155550132") == zones_of("+14155550132") == ("America/Los_Angeles",)

    def test_numbers_of_one_prefix_share_one_tuple(self) -> None:
        """So a caller's cache keyed on the zones hashes a handful of tuples, not a row each."""
        assert zones_of("+12125550123") is zones_of("+12125550199")

    def test_zones_named_gives_the_zones_once_for_all_rows(self) -> None:
        names = ("America/Los_Angeles", "America/New_York")
        zones = zones_named(names)
        assert zones == (ZoneInfo("America/Los_Angeles"), ZoneInfo("America/New_York"))
        assert zones_named(names) is zones


def test_importing_the_module_leaves_the_librarys_zone_table_unloaded() -> None:
    """It loads 3,000 prefixes; commands that never ask a zone should not pay for them."""
    code = (
        "import sys, broadcaster.zones\n"
        "assert 'phonenumbers.timezone' not in sys.modules\n"
        "broadcaster.zones.zones_of('+14155550132')\n"
        "assert 'phonenumbers.timezone' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
