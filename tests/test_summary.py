from __future__ import annotations

from collections import Counter

from broadcaster.engine import Tally
from broadcaster.rate import Rate, parse_rate
from broadcaster.summary import summary


def tally() -> Tally:
    t = Tally(rows=10, sent=6, failed=1, invalid=1, duplicates=1, earlier=Counter({"failed": 1}))
    for at in (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875):
        t.note_request(at)
    t.latency_total, t.latency_max = 7 * 0.12, 0.4
    return t


class TestSummary:
    def test_every_line(self) -> None:
        assert summary(tally(), 61.0, parse_rate("480/m")).splitlines() == [
            "rows      10: 6 sent, 1 failed, 1 invalid, 1 duplicate (skipped)",
            "earlier   1 rows were settled by earlier runs: 1 failed",
            (
                "requests  8 attempts for 7 messages, 0 pauses for 429, "
                "latency mean 120 ms, max 400 ms"
            ),
            "time      1m 01s; mean 8.00 requests/s, asked 480/m (8.00/s)",
            "note      1 rows failed in an earlier run; --retry-failed sends them again",
        ]

    def test_unpaced_and_no_requests(self) -> None:
        text = summary(Tally(rows=3, earlier=Counter({"sent": 3})), 0.2, Rate(0))
        assert "time      0s; unpaced" in text
        assert "latency mean 0 ms" in text
        assert "note" not in text

    def test_tally_counts_problems_from_every_run(self) -> None:
        assert tally().problems == 3
