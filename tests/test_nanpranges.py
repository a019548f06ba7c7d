from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumber

from broadcaster.nanpranges import NanpRule, NanpVerdicts, leading_width, nanp_rule, prefix_depth


def _library(national: str) -> bool:
    return phonenumbers.is_valid_number(PhoneNumber(country_code=1, national_number=int(national)))


class TestPrefixDepth:
    @pytest.mark.parametrize(
        ("pattern", "depth"),
        [
            (r"246521[0369]\d{3}", 7),  # Barbados: the seventh digit decides
            (r"[2-9]\d{9}|3\d{6}", 1),
            (r"(?:2742|305[3-9])\d{6}", 4),
            (r"(?:12|345)\d{5}", 3),  # branches of different widths: the widest
            (r"3052(?:0[0-8]|[1-9]\d)\d{4}", 6),
            (r"8(?:00|33)[2-9]\d{6}", 4),
            (r"[0-9]{3}", 0),
            (r"\d{2,3}5\d{4}", 4),  # a free item before the head counts in its width
            (r"(?:2\d{9}|3\d{6})", 1),  # each branch of a last group has its own free tail
        ],
    )
    def test_the_head_decides(self, pattern: str, depth: int) -> None:
        assert prefix_depth(pattern) == depth

    @pytest.mark.parametrize(
        "pattern",
        [
            r"\d+5",
            r"(?:1\d*2)\d{3}",
            r"[2-9]+\d",
            r"(?!555)\d{10}",  # a lookahead decides digits it gives no width
            r"2(?=4)\d{9}",
            r"^2\d{9}",
            r"(2)\1\d{8}",
        ],
    )
    def test_an_unbounded_head_has_no_depth(self, pattern: str) -> None:
        assert prefix_depth(pattern) is None

    def test_leading_digits_are_matched_at_the_start(self) -> None:
        assert leading_width("268") == 3
        assert leading_width("8(?:0[0-2]|2[1-9])") == 3
        assert leading_width(r"8\d*") is None


class TestTheInstalledMetadata:
    def test_six_digits_decide_but_for_barbados_and_jamaica(self) -> None:
        # If an update widened a head past what NanpVerdicts keeps, numbers would take the
        # slow path: this says so first.
        rule = nanp_rule()
        assert rule is not None
        assert rule.depth == 6
        assert {prefix[:3] for prefix in rule.deeper} == {"246", "658", "876"}

    def test_the_rule_covers_every_region_pattern(self) -> None:
        rule = nanp_rule()
        assert rule is not None
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
            metadata = PhoneMetadata.metadata_for_region(region)
            assert metadata is not None
            assert metadata.fixed_line is not None
            fixed = metadata.fixed_line.national_number_pattern
            assert isinstance(fixed, str)
            found = prefix_depth(fixed)
            assert found is not None
            if metadata.leading_digits is None or found <= rule.depth:
                assert found <= rule.depth
                continue
            # a region with a wider head: every number its leading digits pick asks the library
            for prefix in (f"{n:04d}" for n in range(10_000)):
                if re.match(metadata.leading_digits, prefix):
                    assert prefix in rule.deeper


_RULE = nanp_rule()
_PREFIXES = st.from_regex(r"[2-9][0-9]{5}", fullmatch=True)
_LINES = st.from_regex(r"[0-9]{4}", fullmatch=True)


class TestVerdicts:
    @settings(max_examples=400)
    @given(_PREFIXES, _LINES, _LINES)
    def test_a_remembered_prefix_answers_as_the_library_would(
        self, prefix: str, first: str, second: str
    ) -> None:
        verdicts = NanpVerdicts(_RULE)
        assert verdicts.is_valid(prefix + first) == _library(prefix + first)
        assert verdicts.is_valid(prefix + second) == _library(prefix + second)

    def test_real_ranges_agree_across_many_numbers(self) -> None:
        # Prefixes the library calls valid and invalid, each asked again with other lines.
        draw = random.Random(7)
        verdicts = NanpVerdicts(_RULE)
        agreed = {True: 0, False: 0}
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
            example = phonenumbers.example_number(region)
            assert example is not None
            base = str(example.national_number)
            for _ in range(30):
                national = base[:5] + f"{draw.randrange(100_000):05d}"
                assert verdicts.is_valid(national) == _library(national)
                agreed[_library(national)] += 1
        assert agreed[True] > 0

    def test_the_library_is_asked_once_per_prefix(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from broadcaster import nanpranges  # noqa: PLC0415

        asked: list[str] = []

        def says(national: str) -> bool:
            asked.append(national)
            return True

        monkeypatch.setattr(nanpranges, "_library_says", says)
        verdicts = NanpVerdicts(NanpRule(6, 4, frozenset({"2461"})))
        assert verdicts.is_valid("4155550132")
        assert verdicts.is_valid("4155550199")
        assert verdicts.is_valid("4155560132")
        assert verdicts.is_valid("2461230132")
        assert verdicts.is_valid("2461230132")  # a deeper prefix asks every time
        assert asked == ["4155550132", "4155560132", "2461230132", "2461230132"]

    @pytest.mark.parametrize("rule", [None, NanpRule(9, 4, frozenset())])
    def test_without_a_usable_rule_every_number_asks_the_library(
        self, rule: NanpRule | None
    ) -> None:
        verdicts = NanpVerdicts(rule)
        assert verdicts.is_valid("4155550132") == _library("4155550132")
        assert verdicts.is_valid("2005550132") == _library("2005550132")

    def test_other_lengths_ask_the_library(self) -> None:
        verdicts = NanpVerdicts(_RULE)
        assert verdicts.is_valid("415555013") is False
