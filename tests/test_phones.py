from __future__ import annotations

import pytest

from broadcaster.fields import FieldError
from broadcaster.phones import normalize_phone, parse_country_code


class TestNormalizePhone:
    @pytest.mark.parametrize(
        "raw",
        [
            "+1 (415) 555-1234",
            "1.415.555.1234",
            "14155551234",
            " +1-415-555-1234 ",
            "1 415 555 1234",
        ],
    )
    def test_decorations_are_stripped(self, raw: str) -> None:
        """The ways people write one number all give the API's digits."""
        assert normalize_phone(raw) == "14155551234"

    @pytest.mark.parametrize("raw", ["415-555-1234", "(415) 555 1234", "4155551234"])
    def test_national_numbers_take_the_default_country_code(self, raw: str) -> None:
        assert normalize_phone(raw, "1") == "14155551234"
        assert normalize_phone(raw, "44") == "444155551234"

    def test_national_number_without_a_default_names_the_option(self) -> None:
        with pytest.raises(FieldError, match="--default-country-code"):
            normalize_phone("415-555-1234")

    def test_a_plus_means_the_number_is_complete(self) -> None:
        """``+44 20 7946 0958`` already has its country code; none is added."""
        assert normalize_phone("+44 20 7946 0958", "1") == "442079460958"

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ("555-0100", "7 digits"),
            ("+1234567890123456", "16 digits"),
            ("415-CALL-NOW", "not a phone number"),
            ("", "empty"),
            ("+", "empty"),
            ("١٤١٥٥٥٥١٢٣٤", "not a phone number"),
            ("+1 415 555 1234 ext 2", "not a phone number"),
        ],
    )
    def test_bad_numbers_say_why(self, raw: str, reason: str) -> None:
        with pytest.raises(FieldError, match=reason):
            normalize_phone(raw, "1")


class TestCountryCode:
    @pytest.mark.parametrize(("raw", "code"), [("1", "1"), ("+44", "44"), (" 353 ", "353")])
    def test_valid(self, raw: str, code: str) -> None:
        assert parse_country_code(raw) == code

    @pytest.mark.parametrize("raw", ["", "0", "1234", "x", "+"])
    def test_invalid(self, raw: str) -> None:
        with pytest.raises(ValueError, match="country code"):
            parse_country_code(raw)
