from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcaster.fields import (
    FieldError,
    check_text,
    is_blank,
    merge_value,
    parse_bool,
    parse_int,
    parse_list,
    parse_text,
)
from broadcaster.limits import MAX_TEXT_CHARS


class TestParseInt:
    @pytest.mark.parametrize(("raw", "expected"), [("42", 42), (" 7 ", 7), (101, 101), (3.0, 3)])
    def test_accepts_positive_integers(self, raw: object, expected: int) -> None:
        """Cells, JSON numbers and whole floats all give the integer."""
        assert parse_int(raw) == expected

    @pytest.mark.parametrize("raw", ["4.5", "abc", "", "-3", "0", True, 2.5, [1], "٣", None])
    def test_rejects_anything_but_a_positive_whole_number(self, raw: object) -> None:
        """Booleans, fractions, signs, zero and non-ASCII digits are not ids."""
        with pytest.raises(FieldError):
            parse_int(raw)

    def test_rejects_ids_beyond_64_bits(self) -> None:
        """A value JSON encoders cannot carry is refused, not crashed on."""
        with pytest.raises(FieldError, match="too large"):
            parse_int("9" * 30)


class TestParseBool:
    @pytest.mark.parametrize("raw", ["true", "TRUE", "yes", "1", " Yes ", True, 1])
    def test_true_yes_and_1_in_any_case_are_true(self, raw: object) -> None:
        assert parse_bool(raw) is True

    @pytest.mark.parametrize("raw", ["false", "No", "0", False, 0])
    def test_false_no_and_0_in_any_case_are_false(self, raw: object) -> None:
        assert parse_bool(raw) is False

    @pytest.mark.parametrize("raw", ["maybe", "2", 2, "", None, [True]])
    def test_anything_else_is_an_error(self, raw: object) -> None:
        with pytest.raises(FieldError, match="expected true or false"):
            parse_bool(raw)


class TestParseList:
    def test_a_json_array_cell_gives_its_items(self) -> None:
        assert parse_list('["14155550100", "14155550101"]') == ["14155550100", "14155550101"]

    def test_a_semicolon_separated_cell_is_split_at_the_semicolons(self) -> None:
        """Empty parts between separators are dropped."""
        assert parse_list("14155550100; 14155550101;") == ["14155550100", " 14155550101"]

    def test_a_json_list_value_gives_its_items_as_text(self) -> None:
        """JSONL numbers are taken as digits."""
        assert parse_list([14155550100, "14155550101"]) == ["14155550100", "14155550101"]

    @pytest.mark.parametrize("raw", ["[1, 2", '["ok", 3.5e400]', 5, '["ok", {"a": 1}]'])
    def test_broken_json_a_non_list_or_a_bad_item_is_an_error(self, raw: object) -> None:
        with pytest.raises(FieldError):
            parse_list(raw)


class TestTextAndMerge:
    def test_parse_text_takes_numbers_not_objects(self) -> None:
        assert parse_text(12) == "12"
        with pytest.raises(FieldError, match="expected text"):
            parse_text({"a": 1})

    def test_none_and_white_space_are_blank_but_zero_is_not(self) -> None:
        assert is_blank(None)
        assert is_blank("  ")
        assert not is_blank(0)
        assert not is_blank("x")

    def test_a_merge_value_becomes_text_or_none_when_blank(self) -> None:
        """Merge values are text; blanks are absent; containers are refused."""
        assert merge_value("Ann") == "Ann"
        assert merge_value(3) == "3"
        assert merge_value(True) == "true"
        assert merge_value("") is None
        with pytest.raises(FieldError):
            merge_value(["x"])


class TestCheckText:
    @pytest.mark.parametrize(
        "text",
        [
            "",
            "Hi Ann,\tsee you\r\nTuesday\n",
            "emoji 👋🏽 and accents é, ñ, 中文",
            "x" * MAX_TEXT_CHARS,
            "\u00a0no-break space and \u00ad soft hyphen are not controls",
        ],
    )
    def test_ordinary_text_passes(self, text: str) -> None:
        """Tab, line feed and carriage return are the control characters a text may hold."""
        check_text(text)

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("Hi Ann\x00", "contains a control character U+0000 at character 7 (NUL)"),
            ("\x1b[31mred", "contains a control character U+001B at character 1 (ESC)"),
            ("a\x0bb", "contains a control character U+000B at character 2 (VT)"),
            ("a\x0cb", "contains a control character U+000C at character 2 (FF)"),
            ("bell\x07", "contains a control character U+0007 at character 5 (BEL)"),
            ("unit\x1f", "contains a control character U+001F at character 5 (US)"),
            ("del\x7f", "contains a control character U+007F at character 4 (DEL)"),
        ],
    )
    def test_a_c0_control_or_del_is_an_error(self, text: str, reason: str) -> None:
        with pytest.raises(FieldError) as caught:
            check_text(text)
        assert str(caught.value) == reason

    def test_a_c1_control_is_an_error_with_a_guess_at_what_was_meant(self) -> None:
        """U+0092 is what Windows-1252's apostrophe becomes when read as Latin-1."""
        with pytest.raises(FieldError) as caught:
            check_text("it\x92s")
        assert str(caught.value) == (
            "contains a control character U+0092 at character 3 "
            "(a C1 control, perhaps '\u2019' mis-converted from Windows-1252)"
        )

    @pytest.mark.parametrize("char", ["\x80", "\x81", "\x85", "\x9d", "\x9f"])
    def test_every_c1_control_is_an_error(self, char: str) -> None:
        with pytest.raises(FieldError, match=f"U\\+{ord(char):04X} at character 2 \\(a C1"):
            check_text(f"a{char}b")

    def test_the_first_control_character_is_named(self) -> None:
        with pytest.raises(FieldError, match="U\\+0001 at character 2"):
            check_text("a\x01b\x00")

    @pytest.mark.parametrize("code", [0xDCFF, 0xD800, 0xDFFF])
    def test_a_lone_surrogate_is_an_error(self, code: int) -> None:
        """What undecodable bytes become under ``surrogateescape`` (a ``--text`` argument)."""
        with pytest.raises(FieldError) as caught:
            check_text(f"Hi {chr(code)}")
        assert str(caught.value) == (
            f"contains U+{code:04X} at character 4, a lone surrogate "
            "(undecodable input: is it UTF-8?)"
        )

    def test_text_over_the_limit_is_an_error(self) -> None:
        with pytest.raises(FieldError) as caught:
            check_text("x" * (MAX_TEXT_CHARS + 1))
        assert str(caught.value) == "is 1,601 characters long; the limit is 1,600"

    def test_length_counts_characters_not_bytes(self) -> None:
        check_text("é" * MAX_TEXT_CHARS)

    @given(st.text(st.characters(blacklist_categories=["Cc", "Cs"]), max_size=50))
    def test_text_without_controls_or_surrogates_passes(self, text: str) -> None:
        check_text(text)

    @given(st.text(max_size=50), st.characters(categories=["Cc", "Cs"]), st.text(max_size=50))
    def test_any_control_or_surrogate_fails_but_tab_and_line_breaks(
        self, before: str, char: str, after: str
    ) -> None:
        if char in "\t\n\r":
            return
        with pytest.raises(FieldError):
            check_text(before + char + after)
