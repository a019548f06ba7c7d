"""libphonenumber's verdict on ten-digit North American numbers, remembered by prefix.

``phonenumbers.is_valid_number`` on a +1 number walks the plan's 25 regions, each testing a
dozen regular expressions: about half of what planning a row costs. Its answer for a
ten-digit number, though, depends only on the number's first few digits, because every
pattern it consults (each region's number types and leading digits) is a head of bounded
width followed by nothing but "any digit" (``246521[0369]\\d{3}``: seven digits decide).

How many digits decide is read off the installed library's own patterns, with Python's
parser of regular expressions, so the rule is proven for the metadata in use, not assumed:

- the library picks a number's region among those sharing +1 by each region's leading
  digits (``268`` for Antigua), or, for the regions without any (the US and Canada), by
  whether the region's patterns know the number; it then asks that region's patterns;
- so the digits that decide are the widest head among the regions without leading digits
  and the leading digits themselves (six today), except for numbers whose leading digits
  pick a region with wider heads (Barbados and Jamaica: seven), which ask the library.

After an update that widens a head, the rule follows; if any head is unbounded, nothing is
remembered and every number takes the library's full check. A prefix's verdict is asked of
the library the first time a number starting with it appears, and kept in two bitsets (seen,
valid) of 10**depth bits: 125 KB each at today's six digits.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber

# Python's own parser of regular expressions (what ``re.compile`` runs), which has no stubs.
sre_parse: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")

_NANP_REGIONS = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
_NATIONAL_DIGITS = 10
_MAX_DEPTH = 8  # 10**8 bits = 12.5 MB each bitset: past this, remembering costs too much
_DESCRIPTIONS = (
    "general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
    "personal_number", "voip", "pager", "uan", "voicemail", "no_international_dialling",
)  # fmt: skip
_ANY_DIGIT = ([(sre.CATEGORY, sre.CATEGORY_DIGIT)], [(sre.RANGE, (ord("0"), ord("9")))])

_Item = tuple[object, object]


@functools.lru_cache(maxsize=256)  # regions share patterns (a mobile range as the fixed one)
def prefix_depth(pattern: str) -> int | None:
    """How many leading digits decide whether a string of digits fully matches ``pattern``,
    or None when no bound holds (a head of unbounded width)."""
    parsed = sre_parse.parse(pattern)
    if not _plain(parsed.data):
        return None
    return _depth(parsed.state, list(parsed.data))


def leading_width(pattern: str) -> int | None:
    """How many leading digits decide whether ``pattern`` matches at the start (re.match)."""
    parsed = sre_parse.parse(pattern)
    if not _plain(parsed.data):
        return None
    return _width(parsed.state, list(parsed.data))


@dataclass(frozen=True, slots=True)
class NanpRule:
    """The first ``depth`` digits decide, except for numbers whose first ``width`` digits are
    in ``deeper``."""

    depth: int
    width: int
    deeper: frozenset[str]


def nanp_rule() -> NanpRule | None:
    """The rule for the installed metadata (module docstring), or None when no bound holds."""
    always: list[int] = []  # the heads of regions without leading digits
    leading: list[tuple[str, int, int]] = []  # leading digits, their width, the region's head
    for region in _NANP_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        head = _region_depth(metadata)
        if head is None:
            return None
        if metadata is not None and metadata.leading_digits:
            width = leading_width(metadata.leading_digits)
            if width is None:
                return None
            leading.append((metadata.leading_digits, width, head))
        else:
            always.append(head)
    width = max((entry[1] for entry in leading), default=0)
    depth = max([*always, width])
    wider = [re.compile(pattern) for pattern, _, head in leading if head > depth]
    deeper = {prefix for picks in wider for prefix in _prefixes(width) if picks.match(prefix)}
    return NanpRule(depth, width, frozenset(deeper))


class NanpVerdicts:
    """``is_valid(national)`` for ten digits: the library's answer, asked once per prefix."""

    def __init__(self, rule: NanpRule | None) -> None:
        self._rule = rule if rule is not None and rule.depth <= _MAX_DEPTH else None
        size = 0 if self._rule is None else (10**self._rule.depth + 7) // 8
        self._seen = bytearray(size)
        self._valid = bytearray(size)

    def is_valid(self, national: str) -> bool:
        rule = self._rule
        if (
            rule is None
            or len(national) != _NATIONAL_DIGITS
            or national[: rule.width] in rule.deeper
        ):
            return _library_says(national)
        index = int(national[: rule.depth])
        byte, bit = index >> 3, 1 << (index & 7)
        if not self._seen[byte] & bit:
            self._seen[byte] |= bit
            if _library_says(national):
                self._valid[byte] |= bit
        return bool(self._valid[byte] & bit)


def _library_says(national: str) -> bool:
    return phonenumbers.is_valid_number(PhoneNumber(country_code=1, national_number=int(national)))


def _region_depth(metadata: PhoneMetadata | None) -> int | None:
    """The widest head among a region's patterns."""
    if metadata is None:  # pragma: no cover - every region sharing +1 has metadata
        return None
    depths = [
        prefix_depth(description.national_number_pattern)
        for name in _DESCRIPTIONS
        if (description := getattr(metadata, name, None)) is not None
        and description.national_number_pattern
    ]
    if None in depths:
        return None
    return max((depth for depth in depths if depth is not None), default=0)


def _prefixes(width: int) -> Iterator[str]:
    return (f"{number:0{width}d}" for number in range(10**width))


def _depth(state: object, items: list[_Item]) -> int | None:
    """A sequence is a head, then free items (any digit, any count): the head decides. When
    the head's last item is a group, its branches each have their own head and free tail."""
    end = len(items)
    while end and _is_free(items[end - 1]):
        end -= 1
    if end == 0:
        return 0
    before = _width(state, items[: end - 1])
    if before is None:
        return None
    branches = _branches(items[end - 1])
    if branches is None:
        last = _width(state, items[end - 1 : end])
        return None if last is None else before + last
    depths = [_depth(state, branch) for branch in branches]
    if None in depths:
        return None
    return before + max(depth for depth in depths if depth is not None)


def _plain(items: Iterable[tuple[object, Any]]) -> bool:
    """Only what the depth reasoning covers: characters, classes, repeats, groups and
    alternatives. A lookaround, an anchor or a back-reference counts as no width where it
    decides, so a pattern with one is left to the library."""
    for op, value in items:
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY):
            continue
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and _plain(value[2].data):
            continue
        if op is sre.SUBPATTERN and _plain(value[3].data):
            continue
        if op is sre.BRANCH and all(_plain(branch.data) for branch in value[1]):
            continue
        return False
    return True


def _is_free(item: _Item) -> bool:
    op, value = item
    if op is sre.IN:
        return value in _ANY_DIGIT
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and isinstance(value, tuple):
        return all(_is_free(inner) for inner in value[2].data)
    return False


def _branches(item: _Item) -> list[list[_Item]] | None:
    op, value = item
    if op is sre.SUBPATTERN and isinstance(value, tuple):
        inner = value[3].data
        if len(inner) == 1 and inner[0][0] is sre.BRANCH:
            return [list(branch.data) for branch in inner[0][1][1]]
        return [list(inner)]
    if op is sre.BRANCH and isinstance(value, tuple):
        return [list(branch.data) for branch in value[1]]
    return None


def _width(state: object, items: Sequence[_Item]) -> int | None:
    """The most characters ``items`` can match, or None when unbounded."""
    widest = int(sre_parse.SubPattern(state, list(items)).getwidth()[1])
    return None if widest >= sre.MAXREPEAT else widest
