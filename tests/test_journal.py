from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.errors import JournalBusyError, JournalWriteError, UsageError
from broadcaster.journal import (
    Journal,
    JournalState,
    MemoryJournal,
    attempted,
    check_results_path,
    read_journal,
    read_state,
)
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

    def test_a_journal_in_a_missing_folder_fails_clearly(self, tmp_path: Path) -> None:
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
    def test_the_latest_record_of_a_key_wins(self) -> None:
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

    def test_no_journal_yet_reads_as_an_empty_one(self, tmp_path: Path) -> None:
        assert read_journal(str(tmp_path / "none.jsonl")).statuses == {}


class TestStateCounts:
    def test_skipped_records_count_duplicates_and_settle_nothing(self) -> None:
        state = read_state(
            [
                b'{"status":"skipped","key":"a","row":3}\n',
                b'{"status":"sent","key":"b","row":4}\n',
                b'{"status":"skipped","key":"b","row":5}\n',
                b'{"status":"skipped","key":"b","row":6}\n',
            ]
        )
        assert state.statuses == {"b": "sent"}
        assert state.skipped == {"a": 1, "b": 2}

    def test_invalid_records_are_counted_per_key(self) -> None:
        state = read_state([b'{"status":"invalid","key":"x","row":2}\n'] * 2)
        assert state.statuses == {"x": "invalid"}
        assert state.invalid == {"x": 2}


class TestResultsPath:
    def test_the_input_itself_is_refused(self, tmp_path: Path) -> None:
        campaign = tmp_path / "c.csv"
        campaign.write_text("phone_number\n14155550100\n")
        with pytest.raises(UsageError, match="is the input file itself"):
            check_results_path(str(campaign), str(campaign))

    def test_the_input_through_a_symlink_is_refused(self, tmp_path: Path) -> None:
        campaign = tmp_path / "c.csv"
        campaign.write_text("phone_number\n14155550100\n")
        (tmp_path / "link.jsonl").symlink_to(campaign)
        with pytest.raises(UsageError, match="is the input file itself"):
            check_results_path(str(tmp_path / "link.jsonl"), str(campaign))

    @pytest.mark.parametrize("device", ["/dev/null", "/dev/full", "/dev/zero"])
    def test_a_device_is_refused(self, device: str) -> None:
        with pytest.raises(UsageError, match="is not a regular file"):
            check_results_path(device, None)

    def test_a_directory_and_a_fifo_are_refused(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "fifo")
        for path in (tmp_path, tmp_path / "fifo"):
            with pytest.raises(UsageError, match="is not a regular file"):
                check_results_path(str(path), None)

    @pytest.mark.parametrize(
        "content",
        [b"phone_number,text\n1415,hi\n", b'{"phone_number":"1415"}\n', b"\n", b"[1]\n", b"x"],
    )
    def test_a_file_that_is_not_a_journal_is_refused(self, tmp_path: Path, content: bytes) -> None:
        path = tmp_path / "other.jsonl"
        path.write_bytes(content)
        with pytest.raises(UsageError, match="exists and is not a results journal"):
            check_results_path(str(path), None)
        assert path.read_bytes() == content

    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b'{"type":"run","campaign":"c"}\n{"status":"sent","key":"a","row":2}\n',
            b'{"status":"sent","key":"a","row":2}\n',
            b'{"type":"ru',  # the header torn by a crash
            b'{"type":"run","campa\n{"type":"run","campaign":"c"}\n',  # torn, then resumed
        ],
    )
    def test_a_journal_or_a_new_file_is_accepted(self, tmp_path: Path, content: bytes) -> None:
        path = tmp_path / "r.jsonl"
        path.write_bytes(content)
        check_results_path(str(path), str(tmp_path / "c.csv"))
        check_results_path(str(tmp_path / "new.jsonl"), None)


class TestWriteFailures:
    def test_a_failed_write_is_cut_back_and_stops_with_one_clear_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A full disk mid-record: what was recorded stays whole, nothing is left torn."""
        path = tmp_path / "r.jsonl"
        journal = Journal.open(str(path))
        journal.record(Outcome("sent", "a", 2))
        before = path.read_bytes()
        real_write = os.write

        def half_then_full(fd: int, data: bytes | memoryview) -> int:
            if len(data) > 10:
                return real_write(fd, bytes(data[:10]))
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "write", half_then_full)
        with pytest.raises(JournalWriteError, match=r"No space left on device\. What was recorded"):
            journal.record(Outcome("sent", "b", 3))
        monkeypatch.undo()
        journal.close()
        assert path.read_bytes() == before

    def test_a_failed_sync_at_close_is_reported(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        journal = Journal.open(str(tmp_path / "r.jsonl"))
        journal.record(Outcome("sent", "a", 2))

        def failing(_: int) -> None:
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(os, "fsync", failing)
        with pytest.raises(JournalWriteError, match="Input/output error"):
            journal.close()


def test_a_dry_runs_memory_journal_keeps_only_what_triage_reads() -> None:
    """A million outcomes held for nothing cost a dry run half its memory (146 MB to 95 MB
    at 200,000 rows); of its own outcomes, triage reads only a fix's."""
    journal = MemoryJournal(keep=False)
    journal.record(Outcome("failed", "k", 2, http_status=400))
    journal.record(Outcome("sent", "r", 3, replaces="k"))
    assert journal.outcomes == []
    assert journal.state.statuses == {"r": "sent"}
    assert journal.state.replacements == {"k": "r"}


def test_a_journal_on_disk_keeps_the_state_it_began_with(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"status":"sent","key":"a","row":2}\n')
    journal = Journal.open(str(path))
    try:
        journal.record(Outcome("sent", "b", 3))
        journal.record(Outcome("sent", "c", 4, replaces="z"))
    finally:
        journal.close()
    assert journal.state.statuses == {"a": "sent", "c": "sent"}
    assert journal.state.replacements == {"z": "c"}
    assert read_journal(str(path)).statuses == {"a": "sent", "b": "sent", "c": "sent"}


class TestInDoubt:
    """The messages a run must look up before sending, each with its first attempt's time:
    an attempt with no outcome after it (a crash with the request in flight), or a failure in
    doubt."""

    @staticmethod
    def doubt(*records: Mapping[str, object]) -> dict[str, str | None]:
        return read_state(orjson.dumps(r) + b"\n" for r in records).in_doubt

    def test_an_attempt_with_no_outcome_after_it_is_in_doubt(self) -> None:
        attempt = {"type": "attempt", "key": "a", "at": "T1"}
        assert self.doubt(attempt) == {"a": "T1"}
        assert self.doubt(attempt, {"status": "sent", "key": "a", "row": 2}) == {}
        assert self.doubt(attempt, {"status": "failed", "key": "a", "row": 2}) == {}
        assert self.doubt({"type": "attempt", "key": "a"}) == {"a": None}  # time unknown

    def test_a_failure_in_doubt_stays_until_a_later_record_says_otherwise(self) -> None:
        failed = {"status": "failed", "key": "a", "row": 2, "in_doubt": "T1"}
        assert self.doubt(failed) == {"a": "T1"}
        assert self.doubt(failed | {"in_doubt": True}) == {"a": None}
        sent = {"status": "sent", "key": "a", "row": 2, "found_in_history": True}
        assert self.doubt(failed, sent) == {}
        assert self.doubt(failed, {"type": "attempt", "key": "a", "at": "T2"}) == {"a": "T2"}

    def test_a_lookup_that_found_nothing_ends_the_doubt(self) -> None:
        attempt = {"type": "attempt", "key": "a", "at": "T1"}
        assert self.doubt(attempt, {"type": "not_committed", "key": "a", "row": 2}) == {}

    def test_a_duplicates_record_says_nothing_of_its_message(self) -> None:
        skipped = {"status": "skipped", "key": "a", "row": 3}
        assert self.doubt({"type": "attempt", "key": "a", "at": "T"}, skipped) == {"a": "T"}

    def test_a_marker_without_a_key_is_ignored(self) -> None:
        assert self.doubt({"type": "attempt"}, {"type": "attempt", "key": 7}) == {}

    def test_the_writer_marks_an_attempt_without_holding_it(self, tmp_path: Path) -> None:
        path = str(tmp_path / "j.jsonl")
        journal = Journal.open(path)
        journal.attempt("k1", "T1")
        assert journal.state.in_doubt == {}  # this run's own: its outcome follows
        journal.close()
        assert Path(path).read_bytes() == b'{"type":"attempt","key":"k1","at":"T1"}\n'
        assert Journal.open(path).state.in_doubt == {"k1": "T1"}


class TestAttemptMarkers:
    @pytest.mark.parametrize(
        ("line", "read"),
        [
            (b'{"type":"attempt","key":"abc_-1","at":"T1"}\n', ("abc_-1", "T1")),
            (b'{"type":"attempt","key":"caf\xc3\xa9","at":"T"}\n', ("caf\u00e9", "T")),
            (b'{"type":"attempt","key":"abc","at":"T"}', None),  # torn before its newline
            (b'{"type":"attempt","key":"abc\n', None),  # torn, then a fresh line begun
            (b'{"type":"attempt","key":"a\\"}","at":"T"}\n', None),  # an escape: parsed
            (b'{"type":"attempt","key":"\xff","at":"T"}\n', None),
            (b'{"type":"attempt","key":"k"}\n', None),
            (b'{"status":"sent","key":"k","row":2}\n', None),
        ],
    )
    def test_only_a_whole_plain_marker_is_read_without_a_parse(
        self, line: bytes, read: tuple[str, str] | None
    ) -> None:
        assert attempted(line) == read

    def test_every_marker_journal_attempt_writes_reads_back_the_same_either_way(
        self, tmp_path: Path
    ) -> None:
        keys = ["plain", 'quo"te', "back\\slash", "\u00e9moji\u2713", "x" * 64]
        path = str(tmp_path / "j.jsonl")
        journal = Journal.open(path)
        for n, key in enumerate(keys):
            journal.attempt(key, f"2026-11-26T10:00:0{n}.000+00:00")
        journal.close()
        expected = {key: f"2026-11-26T10:00:0{n}.000+00:00" for n, key in enumerate(keys)}
        assert Journal.open(path).state.in_doubt == expected
        parsed = {
            orjson.loads(line)["key"]: orjson.loads(line)["at"]
            for line in Path(path).read_bytes().splitlines()
        }
        assert parsed == expected


_OUTCOMES = st.builds(
    Outcome,
    status=st.sampled_from(["sent", "failed", "invalid", "skipped"]),
    key=st.sampled_from(["k1", "k2", "ké", 'k"q', "k\\b"]),
    row=st.integers(1, 5),
    local_id=st.none() | st.just("own"),
    digest=st.none() | st.just("d1"),
    in_doubt=st.none() | st.just("2026-11-27T00:00:00+00:00"),
    reason=st.none() | st.sampled_from(["suppressed", "deadline"]),
    replaces=st.none() | st.just("k9"),
    at=st.just("2026-11-27T00:00:01.000+00:00"),
)
_LINES = st.lists(
    _OUTCOMES.map(lambda outcome: orjson.dumps(outcome.record()) + b"\n")
    | st.sampled_from(["k1", "k2", "ké"]).map(
        lambda key: orjson.dumps({"type": "attempt", "key": key, "at": "t0"}) + b"\n"
    )
    | st.just(b'{"status":"sent","key":"k1","ro\n')  # torn
    | st.just(b'{"status":"sent","key":"k\xff","local_id":null,"row":1,"id":null,"at":"t"}\n'),
    max_size=25,
)


@settings(max_examples=300)
@given(_LINES)
def test_plain_lines_read_fast_make_the_state_their_parse_makes(journal: list[bytes]) -> None:
    """read_state reads most outcome lines without a parse (PLAIN_OUTCOME): the state must be
    the one each line's parse, applied in turn, makes."""
    fast = read_state(journal)
    parsed = JournalState()
    for line in journal:
        try:
            parsed.apply(orjson.loads(line))
        except orjson.JSONDecodeError:
            parsed.damaged += 1
    keys = ["k1", "k2", "ké", 'k"q', "k\\b", "k\udcff"]
    assert [fast.statuses.get(key) for key in keys] == [parsed.statuses.get(k) for k in keys]
    assert len(fast.statuses) == len(parsed.statuses)
    assert_same_counts(fast, parsed, keys)
    assert (fast.in_doubt, fast.digests, fast.replacements, fast.damaged) == (
        parsed.in_doubt,
        parsed.digests,
        parsed.replacements,
        parsed.damaged,
    )


def test_a_record_merged_with_another_by_a_zeroed_block_is_damaged() -> None:
    """A power cut can leave a disk block of zeros between the head of one record and the
    tail of another: the line reads as neither, as its parse says, and the message whose
    attempt it followed stays in doubt (looked up before it goes again)."""
    head = b'{"status":"failed","key":"A","local_id":null,"row":1,"id":null'
    merged = head + b"\0" * 100 + b'ms":3.0,"at":"2026-11-27T00:00:01.000+00:00"}\n'
    attempt = b'{"type":"attempt","key":"A","at":"2026-11-27T00:00:00.000+00:00"}\n'
    state = read_state([attempt, merged])
    assert (state.damaged, state.statuses.get("A")) == (1, None)
    assert state.in_doubt == {"A": "2026-11-27T00:00:00.000+00:00"}


def assert_same_counts(state: JournalState, other: JournalState, keys: list[str]) -> None:
    """The two states' counts of twins, identical invalid rows and rows withheld are the same:
    key tables, which cannot list their keys, compared at every key a test used."""
    assert state.withheld.keys() == other.withheld.keys()
    pairs = [(state.skipped, other.skipped), (state.invalid, other.invalid)]
    pairs += [(state.withheld[reason], other.withheld[reason]) for reason in state.withheld]
    for counts, others in pairs:
        assert len(counts) == len(others)
        assert [counts[key] for key in keys] == [others[key] for key in keys]
