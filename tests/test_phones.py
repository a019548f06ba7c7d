from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from broadcaster import phones
from broadcaster.fields import FieldError
from broadcaster.phones import (
    DEFAULT_REGION,
    normalize_phone,
    parse_region,
    region_for_country_code,
)

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NANP_REGIONS = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
EXAMPLE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)


def _reason(raw: str, region: str = DEFAULT_REGION) -> str:
    with pytest.raises(FieldError) as caught:
        normalize_phone(raw, region)
    return str(caught.value)


class TestDefectsOfTheHandRolledParser:
    """Each of these passed as valid, wrongly, before phonenumbers did the reading."""

    def test_a_spreadsheet_float_is_refused_rather_than_gaining_a_digit(self) -> None:
        assert _reason("14155550132.0") == (
            "'14155550132.0' looks like a spreadsheet number, not a phone number "
            "(format the column as text)"
        )

    def test_the_00_international_prefix_is_not_kept_as_digits(self) -> None:
        assert normalize_phone("00 44 20 7946 0958", "US") == "442079460958"

    def test_the_trunk_0_of_a_national_number_is_dropped(self) -> None:
        assert normalize_phone("07911 123456", "GB") == "447911123456"

    def test_a_bracketed_trunk_0_after_the_country_code_is_dropped(self) -> None:
        assert normalize_phone("+44 (0) 20 7946 0959") == "442079460959"


class TestUnitedStates:
    @pytest.mark.parametrize(
        "raw",
        [
            "(415) 555-0132",
            "415.555.0132",
            "415-555-0132",
            "4155550132",
            "1-415-555-0132",
            "14155550132",
            "+1 415 555 0132",
            " +1 (415) 555-0132 ",
            "415\u00a0555\u00a00132",
            "011 1 415 555 0132",
        ],
    )
    def test_the_ways_people_write_one_number_give_the_api_digits(self, raw: str) -> None:
        assert normalize_phone(raw) == "14155550132"

    def test_the_default_region_is_us(self) -> None:
        assert DEFAULT_REGION == "US"
        assert normalize_phone("415 555 0132") == normalize_phone("415 555 0132", "US")

    def test_011_is_the_us_international_prefix(self) -> None:
        assert normalize_phone("011 44 20 7946 0958", "US") == "442079460958"

    def test_a_foreign_number_in_the_api_form_is_read_when_the_us_reading_fails(self) -> None:
        """``447911123456`` is too long for the US, so it is read as ``+447911123456``."""
        assert normalize_phone("447911123456", "US") == "447911123456"

    @pytest.mark.parametrize(
        ("raw", "abroad"),
        [
            ("(415) 555-26711", "41555526711"),  # Switzerland
            ("415 555 26 71 1", "41555526711"),
            ("(415) 555-0132 9", "41555501329"),
            ("(312) 345-67890", "31234567890"),  # the Netherlands
            ("4420 7946 0958", "442079460958"),  # grouped as no one writes +44: refused too
        ],
    )
    def test_a_us_number_with_a_digit_too_many_is_refused_not_sent_abroad(
        self, raw: str, abroad: str
    ) -> None:
        """Grouped as a national number, its digits are not another country's (a trial's
        typo became a text to Switzerland), however valid they are read that way."""
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + abroad))
        with pytest.raises(FieldError, match="is not a valid phone number in US: too long"):
            normalize_phone(raw, "US")

    @pytest.mark.parametrize(
        "raw",
        [
            "447911123456",
            "44 7911 123456",
            "44-7911-123456",
            "0044 7911 123456",
            "00 447911123456",
        ],
    )
    def test_a_foreign_number_with_its_code_first_is_read_however_it_is_grouped(
        self, raw: str
    ) -> None:
        assert normalize_phone(raw, "US") == "447911123456"

    def test_the_region_wins_when_both_readings_are_valid(self) -> None:
        """``646 555 0123`` is in Manhattan; ``+64 6 555 0123`` is in New Zealand."""
        assert phonenumbers.is_valid_number(phonenumbers.parse("+6465550123"))
        assert normalize_phone("6465550123", "US") == "16465550123"
        assert normalize_phone("6465550123", "NZ") == "6465550123"

    def test_a_canadian_number_reads_the_same_in_us_and_ca(self) -> None:
        assert normalize_phone("604 555 0143", "CA") == "16045550143"
        assert normalize_phone("604 555 0143", "US") == "16045550143"
        assert normalize_phone("+1 604 555 0143", "GB") == "16045550143"


class TestOtherCountries:
    @pytest.mark.parametrize(
        ("raw", "region", "digits"),
        [
            ("07911 123456", "GB", "447911123456"),
            ("020 7946 0958", "GB", "442079460958"),
            ("00 44 20 7946 0958", "GB", "442079460958"),
            ("030 123456", "DE", "4930123456"),
            ("030/123456", "DE", "4930123456"),
            ("0151 23456789", "DE", "4915123456789"),
            ("06 12 34 56 78", "FR", "33612345678"),
            ("0412 345 678", "AU", "61412345678"),
            ("(02) 1234 5678", "AU", "61212345678"),
            ("98765 43210", "IN", "919876543210"),
            ("(11) 96123-4567", "BR", "5511961234567"),
            ("222 123 4567", "MX", "522221234567"),
            ("06 698 81234", "IT", "390669881234"),
        ],
    )
    def test_national_forms_take_the_regions_country_code(
        self, raw: str, region: str, digits: str
    ) -> None:
        assert normalize_phone(raw, region) == digits

    @pytest.mark.parametrize(
        ("raw", "digits"),
        [
            ("+44 7911 123456", "447911123456"),
            ("+49 30 123456", "4930123456"),
            ("+33 6 12 34 56 78", "33612345678"),
            ("+61 412 345 678", "61412345678"),
            ("+91 98765 43210", "919876543210"),
            ("+55 11 96123-4567", "5511961234567"),
            ("+52 222 123 4567", "522221234567"),
        ],
    )
    def test_a_plus_reads_the_number_whatever_the_region(self, raw: str, digits: str) -> None:
        for region in ("US", "GB", "JP"):
            assert normalize_phone(raw, region) == digits

    def test_an_italian_leading_zero_is_kept(self) -> None:
        """Italian fixed lines keep their 0 after the country code: ``+39 06 …``."""
        assert normalize_phone("+39 06 698 81234") == "390669881234"
        assert normalize_phone("390669881234") == "390669881234"

    def test_the_00_prefix_works_where_the_region_dials_something_else(self) -> None:
        """The US dials out with 011; ``00`` is still read as the prefix most countries use."""
        assert normalize_phone("00 44 20 7946 0958", "US") == "442079460958"
        assert normalize_phone("0039 06 698 81234", "US") == "390669881234"

    def test_the_api_form_reads_as_country_code_first_where_national_numbers_have_a_trunk_0(
        self,
    ) -> None:
        """Alone, the library reads ``4915123456789`` in DE as the national +49 4915123456789."""
        assert phonenumbers.is_valid_number(phonenumbers.parse("4915123456789", "DE"))
        assert normalize_phone("4915123456789", "DE") == "4915123456789"
        assert normalize_phone("49 151 23456789", "DE") == "4915123456789"
        assert normalize_phone("49 (0) 151 23456789", "DE") == "4915123456789"

    @pytest.mark.parametrize(
        ("raw", "region", "digits"),
        [("390 958 0871", "IT", "393909580871"), ("483 062 169", "PL", "48483062169")],
    )
    def test_the_national_reading_stays_first_where_there_is_no_trunk_prefix(
        self, raw: str, region: str, digits: str
    ) -> None:
        """Italians and Poles write numbers bare, so a leading 39 or 48 may be the number's own."""
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + raw))
        assert normalize_phone(raw, region) == digits

    def test_a_us_number_in_the_api_form_is_read_in_a_foreign_region(self) -> None:
        assert normalize_phone("14155550132", "GB") == "14155550132"

    def test_a_national_number_of_another_country_is_refused_with_a_hint(self) -> None:
        assert _reason("07911 123456", "US") == (
            "'07911 123456' is not a valid phone number in US: too long "
            "(write it with + and the country code, or pass --region)"
        )


class TestRefusedInput:
    @pytest.mark.parametrize("raw", ["14155550132.0", "4155550132.00", "+14155550132.0"])
    def test_a_float_is_a_spreadsheet_number(self, raw: str) -> None:
        assert "looks like a spreadsheet number" in _reason(raw)

    @pytest.mark.parametrize("raw", ["1.4155550132E+10", "1.41556e10", "4.15556E+09"])
    def test_scientific_notation_is_a_spreadsheet_number(self, raw: str) -> None:
        """Scientific notation has often lost digits already; no repair could be trusted."""
        assert "looks like a spreadsheet number" in _reason(raw)

    @pytest.mark.parametrize("raw", ["1-800-FLOWERS", "abc 4155551234", "Tel: 415 555 0132"])
    def test_letters_are_refused_rather_than_read_as_digits_or_skipped(self, raw: str) -> None:
        assert _reason(raw) == f"{raw!r} has letters; write the phone number in digits only"

    @pytest.mark.parametrize(
        "raw", ["+1 415 555 0132 ext 12", "415-555-0132 x12", "415 555 0132 ext. 7", "4155550132X3"]
    )
    def test_an_extension_is_refused_because_a_text_cannot_reach_it(self, raw: str) -> None:
        assert _reason(raw) == f"{raw!r} has an extension, which a text message cannot reach"

    @pytest.mark.parametrize("raw", ["", "   ", "\u00a0"])
    def test_an_empty_number_is_refused(self, raw: str) -> None:
        assert _reason(raw) == "empty phone number"

    @pytest.mark.parametrize("raw", ["+", "()", "- -"])
    def test_decoration_without_digits_is_refused(self, raw: str) -> None:
        assert _reason(raw) == f"{raw!r} has no digits"

    @pytest.mark.parametrize("raw", ["415+555+0132", "++44 7911 123456"])
    def test_a_plus_is_allowed_only_at_the_start(self, raw: str) -> None:
        assert _reason(raw) == f"{raw!r} has a '+' that is not at the start"

    def test_digits_other_than_ascii_are_refused(self) -> None:
        arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in "14155550132")
        assert "digits other than 0-9" in _reason(arabic_indic)

    @pytest.mark.parametrize(("raw", "char"), [("415#555", "#"), ("415\t555 0132", "\t")])
    def test_a_stray_character_is_named(self, raw: str, char: str) -> None:
        assert _reason(raw) == f"{raw!r} has {char!r}, which is not part of a phone number"


class TestInvalidNumbers:
    def test_too_short_names_the_region_and_the_way_out(self) -> None:
        assert _reason("555-01") == (
            "'555-01' is not a valid phone number in US: too short "
            "(write it with + and the country code, or pass --region)"
        )

    def test_a_local_number_without_its_area_code_is_too_short(self) -> None:
        assert _reason("555 0132").startswith("'555 0132' is not a valid phone number in US: too")

    def test_too_long_names_the_region_and_the_way_out(self) -> None:
        assert _reason("12345678901234567") == (
            "'12345678901234567' is not a valid phone number in US: too long "
            "(write it with + and the country code, or pass --region)"
        )

    def test_too_long_after_a_plus_names_the_country_code(self) -> None:
        assert _reason("+1 415 555 01320") == (
            "'+1 415 555 01320' is not a valid phone number: too long for +1"
        )

    def test_too_short_after_a_plus_names_the_country_code(self) -> None:
        assert (
            _reason("+44 20 7946") == "'+44 20 7946' is not a valid phone number: too short for +44"
        )

    @pytest.mark.parametrize("raw", ["+999 1234 5678", "+0044 20 7946 0958"])
    def test_an_unknown_country_code_is_refused(self, raw: str) -> None:
        assert _reason(raw) == f"{raw!r} is not a valid phone number: no such country code"

    def test_an_unknown_country_code_after_the_regions_prefix_is_refused(self) -> None:
        assert "no such country code" in _reason("011 999 1234 5678")

    def test_a_number_of_the_right_length_outside_any_range_in_use_is_refused(self) -> None:
        """Area code 123 does not exist; the library knows which ranges are assigned."""
        assert _reason("+1 123 456 7890") == (
            "'+1 123 456 7890' is not a valid phone number: not in a number range in use for +1"
        )

    def test_an_unknown_region_is_the_callers_mistake_not_the_rows(self) -> None:
        with pytest.raises(ValueError, match="unknown region") as caught:
            normalize_phone("415 555 0132", "XX")
        assert not isinstance(caught.value, FieldError)


class TestParseRegion:
    @pytest.mark.parametrize(
        ("text", "region"), [("US", "US"), ("us", "US"), (" GB ", "GB"), ("de", "DE")]
    )
    def test_a_region_code_is_read_in_any_case(self, text: str, region: str) -> None:
        assert parse_region(text) == region

    @pytest.mark.parametrize("text", ["", "XX", "USA", "1", "UK", "001"])
    def test_anything_else_is_refused_with_an_example(self, text: str) -> None:
        with pytest.raises(ValueError, match="such as US, GB or DE"):
            parse_region(text)


class TestRegionForCountryCode:
    @pytest.mark.parametrize(
        ("text", "region"),
        [("1", "US"), ("+1", "US"), ("44", "GB"), (" +49 ", "DE"), ("7", "RU"), ("39", "IT")],
    )
    def test_a_calling_code_gives_its_main_region(self, text: str, region: str) -> None:
        assert region_for_country_code(text) == region

    @pytest.mark.parametrize("text", ["", "+", "0", "999", "1234", "x", "800", "+-1", "\u0661"])
    def test_an_unknown_code_or_one_without_a_country_is_refused(self, text: str) -> None:
        """``800`` is the international freephone code; it has no region to read numbers in."""
        with pytest.raises(ValueError, match="country code"):
            region_for_country_code(text)


@st.composite
def example_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    region = draw(st.sampled_from(REGIONS))
    number = phonenumbers.example_number_for_type(region, draw(st.sampled_from(EXAMPLE_TYPES)))
    if number is None:  # a few territories publish no example of a type
        number = phonenumbers.example_number(region)
    assert number is not None
    return region, number


class TestRoundTrip:
    @given(example_numbers(), st.sampled_from(REGIONS))
    def test_the_librarys_own_formats_read_back_to_the_same_digits(
        self, example: tuple[str, phonenumbers.PhoneNumber], elsewhere: str
    ) -> None:
        """International and E.164 forms in any region, national forms in their own."""
        region, number = example
        digits = phonenumbers.format_number(number, PhoneNumberFormat.E164).removeprefix("+")
        international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        assert normalize_phone(international, elsewhere) == digits
        assert normalize_phone("+" + digits, elsewhere) == digits
        assert normalize_phone(national, region) == digits


def _either(region: str, text: str, read: Callable[[str, str], str]) -> str:
    """What a normalizer answers: the digits, or the reason it gave."""
    try:
        return read(text, region)
    except FieldError as exc:
        return f"refused: {exc}"


_NANP_PREFIXES = sorted(
    {
        str(number.national_number)[:6]
        for region in NANP_REGIONS
        for kind in (*EXAMPLE_TYPES, PhoneNumberType.TOLL_FREE)
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    }
)
_NANP_CANDIDATES = st.one_of(
    st.builds(
        lambda trunk, prefix, line: trunk + prefix + line,
        st.sampled_from(["", "1"]),
        st.sampled_from(_NANP_PREFIXES),
        st.from_regex(r"[0-9]{4}", fullmatch=True),
    ),
    st.from_regex(r"1?[2-9][0-9]{9}", fullmatch=True),
    st.from_regex(r"[0-9]{1,13}", fullmatch=True),
    st.from_regex(r"(\+?1[ .-]?)?\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}", fullmatch=True),
    st.builds(
        lambda lead, prefix, line, gap: f"{lead}({prefix[:3]}){gap}{prefix[3:]}-{line}",
        st.sampled_from(["", "1 ", "+1 ", "+44 ", "+"]),
        st.sampled_from(_NANP_PREFIXES),
        st.from_regex(r"[0-9]{4}", fullmatch=True),
        st.sampled_from(["", " ", ".", "-"]),
    ),
)


class TestNanpFastPath:
    def test_the_api_form_takes_the_fast_path(self) -> None:
        assert phones._nanp_fast_path("14155550132", "US") == "14155550132"
        assert phones._nanp_fast_path("4155550132", "CA") == "14155550132"

    @pytest.mark.parametrize(
        ("text", "region"),
        [
            ("+14155550132", "GB"),
            ("+1 (415) 555-0132", "DE"),
            ("1 415 555 0132", "US"),
            ("(415) 555-0132", "CA"),
            ("415.555.0132", "US"),
        ],
    )
    def test_written_forms_take_the_fast_path(self, text: str, region: str) -> None:
        assert phones._nanp_fast_path(text, region) == "14155550132"

    def test_other_forms_and_regions_take_the_full_path(self) -> None:
        assert phones._nanp_fast_path("14155550132", "GB") is None
        assert phones._nanp_fast_path("+4155550132", "US") is None
        assert phones._nanp_fast_path("1 123 456 7890", "US") is None
        assert phones._nanp_fast_path("(415 555-0132", "US") is None

    def test_its_premises_hold_for_every_plus_one_region(self) -> None:
        """What the proof in ``_nanp_fast_path`` assumes of the library's metadata."""
        for region in NANP_REGIONS:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            assert metadata is not None
            assert metadata.international_prefix == "011"
            assert metadata.general_desc is not None
            assert max(metadata.general_desc.possible_length) == 10
            # "1", or "1" and seven digits to the end: neither matches ten digits from 2-9
            prefix = metadata.national_prefix_for_parsing
            assert prefix is not None
            assert re.fullmatch(r"1|\((?:\[[0-9-]+\]|[0-9])\\d\{6\}\)\$\|1", prefix), prefix
        assert phonenumbers.region_code_for_country_code(1) == "US"

    @given(st.sampled_from([*NANP_REGIONS, "GB", "DE", "IN"]), _NANP_CANDIDATES)
    def test_it_agrees_with_the_library_path(self, region: str, text: str) -> None:
        assert _either(region, text, normalize_phone) == _either(region, text, phones._normalize)


class TestPastedNumbers:
    """Numbers copied from a web page or a spreadsheet bring invisible marks along."""

    @pytest.mark.parametrize(
        "pasted",
        [
            "+1 415 555 0101\u200b",  # zero-width space
            "\u200f+1 415 555 0101",  # right-to-left mark
            "\ufeff(415) 555-0101",  # a BOM inside a cell
            "415\u00ad555\u00ad0101",  # soft hyphens
            "\u202a+1 415 555 0101\u202c",  # an embedding and its end
            "\u2066+1 415 555 0101\u2069",  # an isolate, as browsers and Android wrap numbers
            "'+1 415 555 0101",  # a spreadsheet's mark that a cell is text
        ],
    )
    def test_invisible_marks_are_not_part_of_the_number(self, pasted: str) -> None:
        assert normalize_phone(pasted, "US") == "14155550101"

    def test_the_character_at_fault_is_named_not_the_leading_plus(self) -> None:
        with pytest.raises(FieldError, match=r"has '\*', which is not part of a phone number"):
            normalize_phone("+1 415 555 0101*", "US")

    def test_a_huge_value_is_quoted_cut_short(self) -> None:
        with pytest.raises(FieldError) as raised:
            normalize_phone("9" * 5000, "US")
        assert len(str(raised.value)) < 200
        assert "..." in str(raised.value)
