from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcaster import __version__, campaign, engine
from broadcaster import finished as finished_module
from broadcaster import plan as plan_module
from broadcaster.cli import main
from broadcaster.finished import ended_statuses, finished, read_finished
from broadcaster.journal import PLAIN_OUTCOME
from broadcaster.outcome import Outcome
from broadcaster.plan import Defaults, Planned
from broadcaster.record import Record
from broadcaster.tally import Tally

DIGEST = "d" * 64


def header(
    digest: str = DIGEST, version: str = __version__, fmt: str | None = None
) -> dict[str, Any]:
    settings = {"format": fmt}
    return {"type": "run", "input_sha256": digest, "version": version, "settings": settings}


def outcome(status: str, row: int, **extra: Any) -> dict[str, Any]:
    return {"status": status, "key": f"k{row}", "row": row, **extra}


def read(rows: int, digest: str = DIGEST) -> dict[str, Any]:
    return {"type": "read", "rows": rows, "input_sha256": digest}


def read_ended(ended: dict[str, Any], rows: object = None, digest: str = DIGEST) -> dict[str, Any]:
    """A read marker of a run that left every row ended."""
    counted = sum(n for n in ended.values() if type(n) is int)
    return {"type": "read", "rows": counted if rows is None else rows, "input_sha256": digest,
            "ended": ended}  # fmt: skip


def lines(*records: dict[str, Any] | bytes) -> list[bytes]:
    return [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]


class TestTheScan:
    def test_every_row_recorded_is_finished_each_at_its_latest_status(self) -> None:
        journal = lines(
            header(),
            outcome("sent", 2),
            outcome("failed", 3),
            outcome("invalid", 4),
            outcome("skipped", 6),  # line 5 is the second line of a quoted row
            read(4),
            header(),
            outcome("sent", 3),  # a resend got the failed row through
            read(4),
        )
        done = finished(journal, DIGEST)
        assert done is not None
        assert (done.rows, done.statuses) == (4, {"sent": 2, "invalid": 1, "skipped": 1})
        assert done.headers == [header(), header()]

    def test_a_row_far_past_the_others_is_left_to_the_full_path(self) -> None:
        """One damaged record at row 10**10 would have had the scan hold 10 GB."""
        journal = lines(header(), outcome("sent", 2), outcome("sent", 10**10), read(2))
        assert finished(journal, DIGEST) is None
        assert finished(lines(header(), outcome("sent", 2), read(1)), DIGEST) is not None

    def test_the_same_bytes_named_otherwise_are_read_otherwise(self) -> None:
        jsonl = header()
        jsonl["settings"]["input"] = "/data/c.jsonl"
        journal = lines(jsonl, outcome("invalid", 2), read(1))
        assert finished(journal, DIGEST, "jsonl") is not None
        assert finished(journal, DIGEST, "csv") is None  # c.csv: other rows

    def test_a_run_given_other_deciding_settings_says_nothing_of_the_rows(self) -> None:
        """A row refused for want of --creator-id (or --tz-fallback) is valid once given it."""
        given = header()
        given["settings"]["creator_id"] = 55
        journal = lines(given, outcome("invalid", 2), read(1))
        assert finished(journal, DIGEST, None, {"creator_id": 55}) is not None
        assert finished(journal, DIGEST, None, {"creator_id": 56}) is None

    def test_a_row_without_its_record_is_not_finished(self) -> None:
        assert finished(lines(header(), outcome("sent", 2), read(2)), DIGEST) is None

    def test_a_run_that_did_not_read_to_the_end_says_nothing_of_the_rows(self) -> None:
        assert finished(lines(header(), outcome("sent", 2)), DIGEST) is None

    def test_another_inputs_records_leave_it_to_the_full_path(self) -> None:
        # A key sent from another file settles this file's rows by key: a scan by line cannot
        # tell, so it declines even when this file's own rows all have records.
        other = lines(header("e" * 64), outcome("sent", 9), read(1, "e" * 64))
        own = lines(header(), outcome("sent", 2), read(1))
        assert finished(own, DIGEST) is not None
        assert finished(other + own, DIGEST) is None
        assert finished(own + other, DIGEST) is None

    def test_the_file_read_in_another_format_is_another_input(self) -> None:
        # Read as JSONL by mistake, every line was an invalid row, and the run read it all; read
        # as CSV, its run was stopped after one row: its rows are not finished.
        mistaken = [outcome("invalid", n) for n in range(1, 5)]
        journal = lines(header(fmt="jsonl"), *mistaken, read(4), header(), outcome("sent", 2))
        assert finished(journal, DIGEST) is None
        assert finished(journal, DIGEST, "jsonl") is None  # the CSV run's record is not its

    def test_a_record_without_a_key_leaves_it_to_the_full_path(self) -> None:
        keyless = {"status": "sent", "row": 2}
        assert finished(lines(header(), keyless, read(1)), DIGEST) is None

    def test_another_version_leaves_it_to_the_full_path(self) -> None:
        journal = lines(header(version="0.0.1"), outcome("sent", 2), read(1))
        assert finished(journal, DIGEST) is None

    @pytest.mark.parametrize(
        "odd",
        [
            orjson.dumps(outcome("sent", 3, replaces="k9")),  # a fix: triage's call
            orjson.dumps({"type": "replaced", "key": "k9", "by": "k3"}),
            b'{"status":"sent","key":"k3","ro',  # torn
            b"[1, 2]",
            orjson.dumps({"status": "lost", "key": "k3", "row": 3}),
            orjson.dumps({"status": "sent", "key": "k3", "row": True}),
        ],
    )
    def test_anything_unusual_leaves_it_to_the_full_path(self, odd: bytes) -> None:
        journal = lines(header(), outcome("sent", 2), odd, outcome("sent", 3), read(2))
        assert finished(journal, DIGEST) is None

    def test_a_pause_marker_and_blank_lines_change_nothing(self) -> None:
        journal = lines(
            header(), {"type": "pause", "seconds": 1}, outcome("sent", 2), b"  ", read(1)
        )
        done = finished(journal, DIGEST)
        assert done is not None
        assert (done.rows, done.statuses) == (1, {"sent": 1})


CSV = (
    "phone_number,first_name\n+14155550100,Ann\n+14155550101,Bob\n"
    "+14155550100,Ann\n+1415555,Cy\n"  # a duplicate of the first row, and an invalid number
)
OPTIONS = ["--sandbox", "--rate", "0", "--text", "Hi {{first_name}}", "--inbox-id", "101",
           "--creator-id", "55"]  # fmt: skip


def sent(tmp_path: Path) -> tuple[Path, Path]:
    """The campaign sent once (exit 1: it has an invalid row): its input and its journal."""
    source = tmp_path / "c.csv"
    source.write_text(CSV)
    results = tmp_path / "r.jsonl"
    assert main(["send", str(source), *OPTIONS, "--results", str(results), "--quiet"]) == 1
    return source, results


class TestTheTail:
    def test_a_journal_without_a_read_marker_at_its_end_is_not_scanned(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "r.jsonl"
        records = lines(header(), outcome("sent", 2), read(1))
        path.write_bytes(b"\n".join(records) + b"\n")
        assert read_finished(str(path), DIGEST) is not None
        path.write_bytes(b"\n".join(records) + b"\n" + (orjson.dumps(header()) + b"\n") * 3000)
        assert read_finished(str(path), DIGEST) is None  # the marker is 64 KB back: not lately
        assert finished(path.read_bytes().splitlines(), DIGEST) is not None  # the scan would say

    def test_a_missing_journal_is_not_finished(self, tmp_path: Path) -> None:
        assert read_finished(str(tmp_path / "none.jsonl"), DIGEST) is None


class TestAResumeOfAFinishedCampaign:
    def test_says_what_the_full_path_says_without_planning_the_input(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _source, results = sent(tmp_path)
        capsys.readouterr()
        copy = tmp_path / "copy.jsonl"
        shutil.copy(results, copy)

        planned: list[int] = []
        real = plan_module.plan

        def plan(record: Record, defaults: Defaults) -> Planned:
            planned.append(record.line)
            return real(record, defaults)

        monkeypatch.setattr(engine, "plan", plan)
        assert main(["resume", str(results)]) == 1  # an invalid row stays a problem
        short = capsys.readouterr()
        assert planned == []  # its first row read, to know the file is there, and no more
        assert "every row has its record" in short.err

        by_line = tmp_path / "by-line.jsonl"
        shutil.copy(copy, by_line)
        monkeypatch.setattr(campaign, "may_be_finished", lambda _: False)
        assert main(["resume", str(by_line)]) == 1
        lines = capsys.readouterr()
        records = [orjson.loads(line) for line in by_line.read_bytes().splitlines()]
        invalid = sorted({r["row"] for r in records if r.get("status") == "invalid"})
        assert planned == invalid  # the rest settled by their line (settledlines)
        planned.clear()
        monkeypatch.setattr(campaign, "_settled_lines", lambda *_: None)
        assert main(["resume", str(copy)]) == 1
        full = capsys.readouterr()
        assert planned == [2, 3, 4, 5]  # the full path planned every row
        assert lines.out.replace(str(by_line), "R") == full.out.replace(str(copy), "R")
        assert short.out.replace(str(results), "R") == full.out.replace(str(copy), "R")
        assert "earlier   4 settled by earlier runs: 2 sent, 1 skipped, 1 invalid" in short.out
        tail = [orjson.loads(line) for line in results.read_bytes().splitlines()[-2:]]
        assert [record["type"] for record in tail] == ["run", "read"]  # as the full path's
        assert [orjson.loads(line)["type"] for line in copy.read_bytes().splitlines()[-2:]] == [
            "run",
            "read",
        ]
        assert tail[1]["rows"] == 4

    def test_an_edited_input_takes_the_full_path(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source, results = sent(tmp_path)
        source.write_text(CSV + "+14155550102,Di\n")
        capsys.readouterr()
        assert main(["resume", str(results)]) == 1
        out = capsys.readouterr().out
        assert "rows      5: 1 sent" in out

    def test_the_file_read_as_another_format_takes_the_full_path(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source, results = sent(tmp_path)
        capsys.readouterr()
        argv = ["send", str(source), *OPTIONS, "--results", str(results), "--format", "jsonl"]
        assert main(argv) == 1
        captured = capsys.readouterr()
        assert "every row has its record" not in captured.err
        assert "rows      5: 0 sent" in captured.out  # each line of CSV, unreadable as JSON

    def test_another_text_is_refused_as_the_full_path_refuses_it(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source, results = sent(tmp_path)
        argv = ["send", str(source), *OPTIONS, "--results", str(results), "--text", "Other"]
        assert main(argv) == 2
        assert "--text" in capsys.readouterr().err

    def test_retry_failed_takes_the_full_path(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _source, results = sent(tmp_path)
        capsys.readouterr()
        assert main(["resume", str(results), "--retry-failed"]) == 1
        assert "every row has its record" not in capsys.readouterr().err

    def test_a_missing_input_is_said_as_before_not_looked_for_in_the_journal(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _source, results = sent(tmp_path)
        capsys.readouterr()
        missing = tmp_path / "missing.csv"
        assert main(["send", str(missing), *OPTIONS, "--results", str(results)]) == 2
        assert f"error: {missing}: no such file" in capsys.readouterr().err


class TestPlainOutcomeLines:
    """Most outcome lines are read without a parse: only whole ones, exactly as parsed."""

    @given(
        status=st.sampled_from(["sent", "failed", "invalid", "skipped"]),
        key=st.text(min_size=1, max_size=30),
        row=st.integers(min_value=1, max_value=10**9),
        error=st.none() | st.text(max_size=60),
        at=st.text(max_size=30),
        cut=st.integers(min_value=0, max_value=400),
    )
    def test_a_line_reads_as_its_parse_and_a_torn_one_never_does(  # noqa: PLR0917 - the draws
        self, status: str, key: str, row: int, error: str | None, at: str, cut: int
    ) -> None:
        record = Outcome(status, key, row, local_id=key, error=error, at=at).record()  # type: ignore[arg-type]
        line = orjson.dumps(record) + b"\n"
        plain = PLAIN_OUTCOME.fullmatch(line)
        if plain is not None:
            read = (plain["status"].decode(), plain["key"].decode(), int(plain["row"]))
            assert read == (status, key, row)
        torn = line[: min(cut, len(line) - 2)] + b"\n"  # cut short, then a fresh line begun
        assert PLAIN_OUTCOME.fullmatch(torn) is None

    def test_plain_records_are_read_fast_and_others_parsed(self) -> None:
        plain = orjson.dumps(Outcome("sent", "k", 2, local_id="k", at="t").record()) + b"\n"
        assert PLAIN_OUTCOME.fullmatch(plain) is not None
        for extra in ({"replaces": "old"}, {"in_doubt": True}, {"digest": "d"}):
            other = orjson.dumps(Outcome("sent", "k", 2, at="t").record() | extra) + b"\n"
            assert PLAIN_OUTCOME.fullmatch(other) is None
        escaped = orjson.dumps(Outcome("sent", 'k"1', 2, at="t").record()) + b"\n"
        assert PLAIN_OUTCOME.fullmatch(escaped) is None
        inside = Outcome("failed", "k", 2, error='x,"at":"y"}', at="t").record()
        assert b',\\"at\\":\\"y\\"}' in orjson.dumps(inside)  # escaped inside a string


def write(path: Path, *records: dict[str, Any] | bytes) -> str:
    path.write_bytes(b"".join(line + b"\n" for line in lines(*records)))
    return str(path)


class TestTheEndedMarker:
    """A run that leaves every row ended says at which status in its read marker, and a later
    run whose journal ends with it trusts it without a pass over the journal."""

    def test_a_journal_that_ends_with_it_is_finished_without_a_pass(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def no_pass(*_: object) -> None:
            raise AssertionError("the journal was read line by line")

        monkeypatch.setattr(finished_module, "finished", no_pass)
        ended = {"sent": 2, "skipped": 1, "invalid": 1}
        path = write(tmp_path / "r.jsonl", header(), b"not a record", read_ended(ended))
        done = read_finished(path, DIGEST)
        assert done is not None
        assert (done.rows, done.statuses, done.headers) == (4, ended, [header()])

    @pytest.mark.parametrize(
        "marker",
        [
            read_ended({"sent": 2}, rows=3),  # the statuses do not add up to the rows
            read_ended({"sent": 2, "lost": 1}, rows=3),
            read_ended({"sent": -1, "failed": 3}),
            read_ended({"sent": True}, rows=1),
            read_ended({"sent": 0, "failed": 2}),
            read_ended({"sent": 2}, rows=True),
            read_ended({"sent": 2}, digest="e" * 64),
            {"type": "read", "rows": 2, "input_sha256": DIGEST, "ended": [2]},
            {"type": "pause", "rows": 2, "input_sha256": DIGEST, "ended": {"sent": 2}},
        ],
    )
    def test_a_marker_that_does_not_say_it_whole_is_not_trusted(
        self, tmp_path: Path, marker: dict[str, Any]
    ) -> None:
        path = write(tmp_path / "r.jsonl", header(), marker)
        assert read_finished(path, DIGEST) is None

    @pytest.mark.parametrize(
        "after",
        [
            [{"type": "pause", "seconds": 1}],  # anything written since: a pass decides
            [header()],
            [b'{"type":"read","rows":2,"input_sha256":"' + DIGEST.encode() + b'","ended":{"se'],
        ],
    )
    def test_only_the_last_line_is_trusted(self, tmp_path: Path, after: list[Any]) -> None:
        path = write(tmp_path / "r.jsonl", header(), read_ended({"sent": 2}), *after)
        assert read_finished(path, DIGEST) is None
        blank = write(tmp_path / "b.jsonl", header(), read_ended({"sent": 2}), b"", b"")
        assert read_finished(blank, DIGEST) is not None

    def test_the_run_that_wrote_it_must_be_of_this_input_read_and_given_alike(
        self, tmp_path: Path
    ) -> None:
        given = header()
        given["settings"]["creator_id"] = 55
        path = write(tmp_path / "r.jsonl", given, read_ended({"invalid": 1}))
        assert read_finished(path, DIGEST, None, {"creator_id": 55}) is not None
        assert read_finished(path, DIGEST, None, {"creator_id": 56}) is None
        assert read_finished(path, DIGEST, "jsonl", {"creator_id": 55}) is None
        old = write(tmp_path / "o.jsonl", header(version="0.0.1"), read_ended({"sent": 1}))
        assert read_finished(old, DIGEST) is None
        other = write(tmp_path / "x.jsonl", header("e" * 64), read_ended({"sent": 1}))
        assert read_finished(other, DIGEST) is None

    def test_it_counts_this_runs_rows_and_the_earlier_ones_by_status(self) -> None:
        tally = Tally(rows=7, sent=2, failed=1, duplicates=1, input_done=True)
        tally.earlier.update({"sent": 2, "invalid": 1})
        assert ended_statuses(tally, fixes=False) == {
            "sent": 4, "failed": 1, "invalid": 1, "skipped": 1,
        }  # fmt: skip

    @pytest.mark.parametrize(
        "change",
        [
            {"input_done": False},
            {"rows": 8},  # a row not ended: queued, in flight, stopped
            {"withheld": Counter({"suppressed": 1}), "rows": 8},
        ],
    )
    def test_a_row_not_ended_or_withheld_says_nothing(self, change: dict[str, Any]) -> None:
        tally = Tally(rows=7, sent=7, input_done=True)
        assert ended_statuses(tally, fixes=False) == {"sent": 7}
        assert ended_statuses(tally, fixes=True) is None  # a fix: settled by key, triage's call
        for name, value in change.items():
            setattr(tally, name, value)
        assert ended_statuses(tally, fixes=False) is None

    def test_a_row_withheld_by_an_earlier_run_says_nothing(self) -> None:
        tally = Tally(rows=2, sent=1, input_done=True)
        tally.earlier.update({"skipped": 1})
        tally.earlier_withheld.update({"deadline": 1})
        assert ended_statuses(tally, fixes=False) is None


class TestWhatRunsWrite:
    def test_the_scan_and_the_marker_say_the_same_of_a_campaign_ended_over_runs(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source = tmp_path / "c.csv"
        source.write_text(CSV + "+14155550103,Di\n+14155550101,Bob\n")
        results = tmp_path / "r.jsonl"
        argv = ["send", str(source), *OPTIONS, "--results", str(results), "--quiet"]
        assert main([*argv, "--limit", "2"]) == 3  # stopped: no read marker
        records = [orjson.loads(line) for line in results.read_bytes().splitlines()]
        assert not any(record.get("type") == "read" for record in records)
        assert main(argv) == 1
        marker = orjson.loads(results.read_bytes().splitlines()[-1])
        assert marker["ended"] == {"sent": 3, "invalid": 1, "skipped": 2}
        digest = marker["input_sha256"]
        by_marker = read_finished(str(results), digest, "csv")
        by_scan = finished(results.read_bytes().splitlines(), digest, "csv")
        assert by_marker is not None
        assert by_scan is not None
        assert (by_marker.rows, by_marker.statuses) == (by_scan.rows, by_scan.statuses)
        capsys.readouterr()
        assert main(["resume", str(results)]) == 1
        assert orjson.loads(results.read_bytes().splitlines()[-1]) == marker  # said again

    def test_a_run_with_a_row_withheld_writes_no_statuses(self, tmp_path: Path) -> None:
        source = tmp_path / "c.csv"
        source.write_text(CSV)
        suppress = tmp_path / "s.txt"
        suppress.write_text("+14155550101\n")
        results = tmp_path / "r.jsonl"
        argv = ["send", str(source), *OPTIONS, "--results", str(results), "--quiet"]
        assert main([*argv, "--suppress", str(suppress)]) == 1
        marker = orjson.loads(results.read_bytes().splitlines()[-1])
        assert marker["type"] == "read"
        assert "ended" not in marker  # a later run without the list sends the row

    def test_a_sample_writes_no_statuses(self, tmp_path: Path) -> None:
        source = tmp_path / "c.csv"
        source.write_text(CSV)
        results = tmp_path / "r.jsonl"
        argv = ["send", str(source), *OPTIONS, "--results", str(results), "--quiet"]
        assert main([*argv, "--sample", "1"]) == 3  # the rows left wait
        assert not [line for line in results.read_bytes().splitlines() if b"ended" in line]

    def test_a_sample_of_a_finished_campaign_finds_it_finished(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Its rows not sampled are not "left" for a resume: they ended. A script looping
        ``until broadcaster resume R --sample N`` stops."""
        _source, results = sent(tmp_path)
        capsys.readouterr()
        assert main(["resume", str(results), "--sample", "2"]) == 1  # the invalid row stays
        said = capsys.readouterr()
        assert "every row has its record" in said.err
        assert "not taken" not in said.out
        assert "earlier   4 settled by earlier runs: 2 sent, 1 skipped, 1 invalid" in said.out


class TestSuppressionSinceAFailure:
    def test_a_failed_row_suppressed_since_takes_the_full_path(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        source = tmp_path / "c.csv"
        source.write_text(  # Bob's inbox is not the sandbox's: the API refuses the row
            "phone_number,first_name,inbox_id\n+14155550101,Ann,\n+14155550102,Bob,999\n"
        )
        results = tmp_path / "r.jsonl"
        assert main(["send", str(source), *OPTIONS, "--results", str(results), "--quiet"]) == 1
        assert orjson.loads(results.read_bytes().splitlines()[-1])["ended"] == {
            "sent": 1,
            "failed": 1,
        }
        suppress = tmp_path / "s.txt"
        suppress.write_text("+14155550102\n")
        copy = tmp_path / "copy.jsonl"
        shutil.copy(results, copy)
        capsys.readouterr()
        assert main(["resume", str(results), "--suppress", str(suppress)]) == 0
        short = capsys.readouterr()
        monkeypatch.setattr(campaign, "may_be_finished", lambda _: False)
        assert main(["resume", str(copy), "--suppress", str(suppress)]) == 0
        full = capsys.readouterr()
        assert "every row has its record" not in short.err
        assert "1 suppressed" in short.out
        assert short.out.replace(str(results), "R") == full.out.replace(str(copy), "R")


def test_a_file_renamed_over_the_input_as_a_run_opens_it_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows of one file under the digest of another would have a later run of that other
    file find it finished, its rows never sent."""
    source, replacement = tmp_path / "c.csv", tmp_path / "new.csv"
    source.write_text(CSV)
    replacement.write_text("phone_number,first_name\n+14155550177,Zed\n")
    primed = campaign._primed

    def swapped(rows: Any) -> Any:
        records = primed(rows)
        replacement.replace(source)  # after the rows were opened, before the digest
        return records

    monkeypatch.setattr(campaign, "_primed", swapped)
    results = tmp_path / "r.jsonl"
    assert main(["send", str(source), *OPTIONS, "--results", str(results)]) == 2
    assert "another file took its place" in capsys.readouterr().err
    assert not results.exists()
    monkeypatch.setattr(campaign, "_primed", primed)
    assert main(["send", str(source), *OPTIONS, "--results", str(results), "--quiet"]) == 0
    assert "rows      1: 1 sent" in capsys.readouterr().out
