from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from broadcaster import header as header_module
from broadcaster.header import RunHeader, last_run, read_last_run
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


class TestTheLastHeader:
    @pytest.mark.parametrize("chunk", [7, 64, 1 << 20])  # chunks end mid-line, mid-header
    def test_is_found_from_the_end_at_a_lines_start_with_its_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
    ) -> None:
        monkeypatch.setattr(header_module, "_CHUNK_BYTES", chunk)
        path = tmp_path / "r.jsonl"
        first = {"type": "run", "settings": {"input": "a.csv"}, "n": 1}
        last = {"type": "run", "settings": {"input": "b.csv"}, "n": 2}
        lines = [
            orjson.dumps(first),
            b'{"status":"sent","key":"k","row":2,"error":"x {\\"type\\":\\"run\\""}',
            orjson.dumps(last),
            orjson.dumps({"type": "run", "n": 3}),  # no settings: not a header resume can read
            b'{"type":"run","settings":{"input":"c.cs',  # torn
            orjson.dumps({"status": "sent", "key": "j", "row": 3}),
        ]
        path.write_bytes(b"\n".join(lines) + b"\n")
        assert read_last_run(str(path)) == RunHeader.read(last)

    def test_a_journal_without_one_has_none(self, tmp_path: Path) -> None:
        path = tmp_path / "r.jsonl"
        assert read_last_run(str(path)) is None  # missing
        path.write_bytes(b"")
        assert read_last_run(str(path)) is None  # empty
        path.write_bytes(b'{"status":"sent","key":"k","row":2}\n')
        assert read_last_run(str(path)) is None

    def test_the_first_line_is_found_through_small_chunks(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(header_module, "_CHUNK_BYTES", 5)
        path = tmp_path / "r.jsonl"
        only = {"type": "run", "settings": {"input": "a.csv"}}
        outcomes = [orjson.dumps({"status": "sent", "key": f"k{n}", "row": n}) for n in range(40)]
        path.write_bytes(b"\n".join([orjson.dumps(only), *outcomes]) + b"\n")
        assert read_last_run(str(path)) == RunHeader.read(only)
