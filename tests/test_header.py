from __future__ import annotations

from broadcaster.header import RunHeader, last_run
from broadcaster.settings import Settings


class TestRunHeader:
    def test_a_header_reads_back_as_written(self) -> None:
        header = RunHeader.for_run(Settings(input="/data/c.csv", inbox_id=7), "ab" * 32)
        record = {"type": "run", **header.record()}
        assert RunHeader.read(record) == header
        assert (header.campaign, header.input, header.settings["inbox_id"]) == (
            "c",
            "/data/c.csv",
            7,
        )

    def test_the_last_readable_header_wins(self) -> None:
        first = RunHeader.for_run(Settings(input="/a.csv"), None).record()
        second = RunHeader.for_run(Settings(input="/b.csv"), None).record()
        header = last_run([first, second, {"type": "run", "settings": "torn"}])
        assert header is not None
        assert header.input == "/b.csv"
        assert last_run([{"type": "run"}]) is None
