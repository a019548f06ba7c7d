from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcaster.segments import _GSM_BASIC, _GSM_EXTENDED, _count, is_gsm7, segment_count


class TestSegments:
    @pytest.mark.parametrize(
        ("text", "segments"),
        [
            ("", 0),
            ("a" * 160, 1),
            ("a" * 161, 2),
            ("a" * 306, 2),
            ("a" * 307, 3),
            ("€" * 80, 1),  # an extension character costs two septets
            ("€" * 81, 2),
            ("é" * 69 + "ç", 1),  # é is GSM-7; ç (lower case) is not: the text becomes UCS-2
            ("é" * 70 + "ç", 2),
            ("ç" * 71, 2),
            ("ç" * 134, 2),
            ("ç" * 135, 3),
            ("👋" * 35, 1),  # outside the BMP: two UTF-16 units each
            ("👋" * 36, 2),
        ],
    )
    def test_segments_hold_160_or_153_gsm7_septets_or_70_or_67_utf16_units(
        self, text: str, segments: int
    ) -> None:
        """One part holds 160 septets or 70 UCS-2 units; each part of a longer text 153 or 67."""
        assert segment_count(text) == segments

    def test_an_extension_character_is_not_split(self) -> None:
        """152 plain characters and a euro sign cannot share a 153-septet part."""
        assert segment_count("a" * 152 + "€" + "a" * 10) == 2
        assert segment_count("a" * 152 + "€" + "a" * 152) == 3

    def test_gsm7_covers_the_extension_table_but_not_every_accent(self) -> None:
        assert is_gsm7("Hello @ £5 {€}")
        assert not is_gsm7("Zoë")


def _reference_count(text: str) -> int:
    """Units character by character, as the count was first written; split as it still is."""
    if not text:
        return 0
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        return _count([2 if char in _GSM_EXTENDED else 1 for char in text], 160, 153)
    return _count([2 if ord(char) > 0xFFFF else 1 for char in text], 70, 67)


_ALPHABET = st.sampled_from([*sorted(_GSM_BASIC | _GSM_EXTENDED), "ж", "😀", "\xa0", "中"])


@given(st.lists(_ALPHABET, max_size=400).map("".join))
def test_the_count_matches_a_count_character_by_character(text: str) -> None:
    assert segment_count(text) == _reference_count(text)
    assert is_gsm7(text) == all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text)
