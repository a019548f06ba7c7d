from __future__ import annotations

import pytest

from broadcaster.errors import UsageError
from broadcaster.rate import Rate, describe_rate, format_duration, parse_rate


class TestParseRate:
    @pytest.mark.parametrize(
        ("text", "per_second"),
        [("8", 8.0), ("8/s", 8.0), ("480/m", 8.0), ("3600/h", 1.0), (" 1.5 / s ", 1.5), ("0", 0.0)],
    )
    def test_a_count_per_second_minute_or_hour_gives_its_per_second_rate(
        self, text: str, per_second: float
    ) -> None:
        """A bare number is per second; spaces around the parts are allowed."""
        assert parse_rate(text).per_second == pytest.approx(per_second)

    @pytest.mark.parametrize("text", ["", "fast", "5/d", "-1/s", "1e3", "/m"])
    def test_bad_forms_name_the_syntax(self, text: str) -> None:
        with pytest.raises(UsageError, match="N, N/s, N/m or N/h"):
            parse_rate(text)

    def test_str_round_trips(self) -> None:
        assert str(parse_rate("480/m")) == "480/m"
        assert parse_rate(str(Rate(2.5, 3600))) == Rate(2.5, 3600)

    def test_zero_is_unpaced(self) -> None:
        assert parse_rate("0").unpaced
        assert parse_rate("0").duration(100) == 0.0


class TestDuration:
    def test_campaign_duration_at_the_default_rate(self) -> None:
        """100,000 rows at 480/m: about three and a half hours."""
        assert format_duration(parse_rate("480/m").duration(100_000)) == "3h 28m 20s"

    @pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59.6, "1m 00s"), (61, "1m 01s")])
    def test_durations_round_to_whole_seconds_with_padded_seconds(
        self, seconds: float, text: str
    ) -> None:
        assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("recorded", "said"),
    [("480/m", "480/m"), ("0/s", "unpaced"), ("0.0/m", "unpaced"), ("junk", "junk"), (None, "?")],
)
def test_a_recorded_rate_is_described_for_a_person(recorded: object, said: str) -> None:
    assert describe_rate(recorded) == said


def test_another_rate_is_shown_in_this_ones_unit_without_false_precision() -> None:
    assert Rate(480, 60).shown(5.12) == "307/m"
    assert Rate(8).shown(0.5) == "0.5/s"
    assert Rate(100_000, 3600).shown(20.0) == "72,000/h"
