from __future__ import annotations

import pytest

from broadcaster.fields import (
    FieldError,
    is_blank,
    merge_value,
    parse_bool,
    parse_int,
    parse_list,
    parse_text,
)


class TestParseInt:
    @pytest.mark.parametrize(("raw", "expected"), [("42", 42), (" 7 ", 7), (101, 101), (3.0, 3)])
    def test_accepts_positive_integers(self, raw: object, expected: int) -> None:
        """Cells, JSON numbers and whole floats all give the integer."""
        assert parse_int(raw) == expected

    @pytest.mark.parametrize("raw", ["4.5", "abc", "", "-3", "0", True, 2.5, [1], "٣", None])
    def test_rejects_the_rest(self, raw: object) -> None:
        """Booleans, fractions, signs, zero and non-ASCII digits are not ids."""
        with pytest.raises(FieldError):
            parse_int(raw)

    def test_rejects_ids_beyond_64_bits(self) -> None:
        """A value JSON encoders cannot carry is refused, not crashed on."""
        with pytest.raises(FieldError, match="too large"):
            parse_int("9" * 30)


class TestParseBool:
    @pytest.mark.parametrize("raw", ["true", "TRUE", "yes", "1", " Yes ", True, 1])
    def test_true_words(self, raw: object) -> None:
        assert parse_bool(raw) is True

    @pytest.mark.parametrize("raw", ["false", "No", "0", False, 0])
    def test_false_words(self, raw: object) -> None:
        assert parse_bool(raw) is False

    @pytest.mark.parametrize("raw", ["maybe", "2", 2, "", None, [True]])
    def test_anything_else_is_an_error(self, raw: object) -> None:
        with pytest.raises(FieldError, match="expected true or false"):
            parse_bool(raw)


class TestParseList:
    def test_json_array_cell(self) -> None:
        assert parse_list('["14155550100", "14155550101"]') == ["14155550100", "14155550101"]

    def test_semicolon_separated_cell(self) -> None:
        """Empty parts between separators are dropped."""
        assert parse_list("14155550100; 14155550101;") == ["14155550100", " 14155550101"]

    def test_json_list_value(self) -> None:
        """JSONL numbers are taken as digits."""
        assert parse_list([14155550100, "14155550101"]) == ["14155550100", "14155550101"]

    @pytest.mark.parametrize("raw", ["[1, 2", '["ok", 3.5e400]', 5, '["ok", {"a": 1}]'])
    def test_bad_lists(self, raw: object) -> None:
        with pytest.raises(FieldError):
            parse_list(raw)


class TestTextAndMerge:
    def test_parse_text_takes_numbers_not_objects(self) -> None:
        assert parse_text(12) == "12"
        with pytest.raises(FieldError, match="expected text"):
            parse_text({"a": 1})

    def test_blank(self) -> None:
        assert is_blank(None)
        assert is_blank("  ")
        assert not is_blank(0)
        assert not is_blank("x")

    def test_merge_values(self) -> None:
        """Merge values are text; blanks are absent; containers are refused."""
        assert merge_value("Ann") == "Ann"
        assert merge_value(3) == "3"
        assert merge_value(True) == "true"
        assert merge_value("") is None
        with pytest.raises(FieldError):
            merge_value(["x"])
