from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from broadcaster.errors import JournalBusyError, UsageError
from broadcaster.journal import Journal, read_journal, read_state
from broadcaster.outcome import Outcome


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


class TestJournal:
    def test_header_then_outcomes_each_on_the_os_at_once(self, tmp_path: Path) -> None:
        path = tmp_path / "r.jsonl"
        journal = Journal.open(str(path))
        journal.write_header({"campaign": "c"})
        journal.record(Outcome("sent", "k1", 2, "k1", id=7, attempts=1))
        # Readable by another process before any close or fsync: os.write, no user buffer.
        assert [r.get("status") for r in lines(path)] == [None, "sent"]
        journal.close()
        record = lines(path)[1]
        assert record == {
            "status": "sent", "key": "k1", "local_id": "k1", "row": 2, "id": 7, "date": None,
            "gallery_url": None, "request_id": None, "http_status": None, "error": None,
            "attempts": 1, "latency_ms": None, "at": None,
        }  # fmt: skip

    def test_a_second_writer_is_refused(self, tmp_path: Path) -> None:
        path = str(tmp_path / "r.jsonl")
        journal = Journal.open(path)
        with pytest.raises(JournalBusyError, match="in use by another broadcaster"):
            Journal.open(path)
        journal.close()
        Journal.open(path).close()  # released on close

    def test_a_torn_last_line_is_tolerated_and_never_joined(self, tmp_path: Path) -> None:
        path = tmp_path / "r.jsonl"
        path.write_bytes(b'{"status":"sent","key":"a","row":2}\n{"status":"sent","ke')
        journal = Journal.open(str(path))
        assert journal.statuses == {"a": "sent"}
        assert journal.state.damaged == 1
        journal.record(Outcome("failed", "b", 3))
        journal.close()
        raw = path.read_bytes()
        assert raw.startswith(b'{"status":"sent","key":"a","row":2}\n{"status":"sent","ke\n')
        assert read_journal(str(path)).statuses == {"a": "sent", "b": "failed"}

    def test_open_fails_clearly(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError, match="cannot open results journal"):
            Journal.open(str(tmp_path / "missing-dir" / "r.jsonl"))

    def test_fsync_at_most_once_a_second_and_at_close(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        synced: list[int] = []
        monkeypatch.setattr(os, "fsync", synced.append)
        now = [0.0]
        journal = Journal.open(str(tmp_path / "r.jsonl"), clock=lambda: now[0])
        for i in range(5):
            journal.record(Outcome("sent", f"k{i}", i))
        assert synced == []
        now[0] = 1.0
        journal.record(Outcome("sent", "k5", 5))
        journal.sync_if_due()
        assert len(synced) == 1
        journal.close()
        assert len(synced) == 2


class TestState:
    def test_latest_wins(self) -> None:
        state = read_state(
            [
                b'{"status":"failed","key":"a","row":2}\n',
                b'{"status":"sent","key":"a","row":2}\n',
                b'{"type":"run","campaign":"c"}\n',
            ]
        )
        assert state.statuses == {"a": "sent"}
        assert state.headers == [{"type": "run", "campaign": "c"}]

    def test_a_duplicate_never_hides_the_message_it_duplicates(self) -> None:
        """Otherwise --retry-failed would never see a failed message that had a twin."""
        state = read_state(
            [
                b'{"status":"failed","key":"a","row":2}\n',
                b'{"status":"skipped","key":"a","row":3}\n',
            ]
        )
        assert state.statuses == {"a": "failed"}

    @pytest.mark.parametrize(
        "line", [b"garbage\n", b"[1]\n", b'{"status":"maybe","key":"a"}\n', b'{"status":"sent"}\n']
    )
    def test_lines_that_are_not_records_are_counted_not_fatal(self, line: bytes) -> None:
        state = read_state([line, b'{"status":"sent","key":"b","row":2}\n'])
        assert state.statuses == {"b": "sent"}
        assert state.damaged == 1

    def test_no_journal_yet(self, tmp_path: Path) -> None:
        assert read_journal(str(tmp_path / "none.jsonl")).statuses == {}
