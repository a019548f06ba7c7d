from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from broadcaster.isotime import JournalClock, aware_time

# Now and the centuries around it: what a wall clock reads.
_TIMES = st.floats(min_value=0, max_value=2**33, allow_nan=False, allow_infinity=False)


def formatted(timestamp: float) -> str:
    """What the journal wrote before, one datetime a reading."""
    millisecond = round(timestamp * 1_000_000) // 1000
    seconds, part = divmod(millisecond, 1000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=part * 1000)
    return moment.isoformat(timespec="milliseconds")


@given(st.lists(_TIMES, max_size=30), st.booleans())
def test_a_reading_is_written_as_a_datetime_writes_it(times: list[float], ordered: bool) -> None:
    """One clock read many times, in order as a run reads it or not, gives each reading's own
    text: what it keeps of the last second and millisecond never leaks into another."""
    clock = JournalClock()
    for timestamp in sorted(times) if ordered else times:
        assert clock.text(timestamp) == formatted(timestamp)


def test_readings_sharing_a_second_or_a_millisecond() -> None:
    clock = JournalClock()
    assert clock.text(1_780_000_000.1234) == "2026-05-28T20:26:40.123+00:00"
    assert clock.text(1_780_000_000.1238) == "2026-05-28T20:26:40.123+00:00"  # cut, as it was
    assert clock.text(1_780_000_000.123_999_7) == "2026-05-28T20:26:40.124+00:00"  # to the µs
    assert clock.text(1_780_000_000.999_999_7) == "2026-05-28T20:26:41.000+00:00"  # next second
    assert clock.text(1_780_000_000.0004) == "2026-05-28T20:26:40.000+00:00"  # back again
    assert aware_time(clock.text(1_780_000_000.5)) == datetime(
        2026, 5, 28, 20, 26, 40, 500_000, tzinfo=UTC
    )
