"""How many SMS segments a text costs: GSM-7 (160, or 153 a part) or UCS-2 (70, or 67)."""

from __future__ import annotations

import re

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
_GSM_SINGLE, _GSM_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67
_BMP_LAST = 0xFFFF  # beyond it a character takes two UTF-16 units


# The same sets as character classes: a text is checked in one match, not character by character.
_GSM7 = re.compile("[" + "".join(sorted(map(re.escape, _GSM_BASIC | _GSM_EXTENDED))) + "]*")
_TWO_GSM_UNITS = re.compile("[" + "".join(sorted(map(re.escape, _GSM_EXTENDED))) + "]")
_TWO_UTF16_UNITS = re.compile("[\U00010000-\U0010ffff]")


def is_gsm7(text: str) -> bool:
    return _GSM7.fullmatch(text) is not None


def segment_count(text: str) -> int:
    """Segments the text is split into; a character is never split across two."""
    if not text:
        return 0
    gsm7 = is_gsm7(text)
    double, single, part = (
        (_TWO_GSM_UNITS, _GSM_SINGLE, _GSM_PART)
        if gsm7
        else (_TWO_UTF16_UNITS, _UCS2_SINGLE, _UCS2_PART)
    )
    if len(text) + len(double.findall(text)) <= single:
        return 1  # most texts: one segment, found without a list of units
    if gsm7:
        units = [2 if char in _GSM_EXTENDED else 1 for char in text]
    else:
        units = [2 if ord(char) > _BMP_LAST else 1 for char in text]
    return _count(units, single, part)


def _count(units: list[int], single: int, part: int) -> int:
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments
