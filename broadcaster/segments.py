"""How many SMS segments a text costs: GSM-7 (160, or 153 a part) or UCS-2 (70, or 67)."""

from __future__ import annotations

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
_GSM_SINGLE, _GSM_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67
_BMP_LAST = 0xFFFF  # beyond it a character takes two UTF-16 units


def is_gsm7(text: str) -> bool:
    return all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text)


def segment_count(text: str) -> int:
    """Segments the text is split into; a character is never split across two."""
    if not text:
        return 0
    if is_gsm7(text):
        units = [2 if char in _GSM_EXTENDED else 1 for char in text]
        return _count(units, _GSM_SINGLE, _GSM_PART)
    units = [2 if ord(char) > _BMP_LAST else 1 for char in text]
    return _count(units, _UCS2_SINGLE, _UCS2_PART)


def _count(units: list[int], single: int, part: int) -> int:
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments
