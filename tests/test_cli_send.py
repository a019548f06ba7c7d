"""``send`` and ``resume`` through ``main([...])``, as a user types them (in-process sandbox)."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest

from broadcaster import campaign, keyfile, keytable
from broadcaster.cli import main
from broadcaster.engine import Timing
from broadcaster.outcome import Reply
from broadcaster.settings import Settings

SAMPLE = Path(__file__).parent.parent / "sample_data" / "campaign.csv"
# --timeout 3: a resume after an abort waits that long for the rows that were in flight
OPTIONS = ["--sandbox", "--rate", "0", "--default-country-code", "1", "--text", "Hi {{first_name}}",
           "--timeout", "3"]  # fmt: skip


@pytest.fixture
def results(tmp_path: Path) -> str:
    return str(tmp_path / "run.results.jsonl")


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HEYMARKET_API_KEY",
        "HEYMARKET_SECRET_ID",
        "HEYMARKET_SECRET_KEY",
        "HEYMARKET_API_SECRET_ID",
        "HEYMARKET_API_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


class TestKeysPastMemory:
    def test_a_full_temporary_directory_stops_the_run_and_the_same_command_goes_on(
        self,
        capsys: pytest.CaptureFixture[str],
        results: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Past memory's room of 5 keys the file cannot be written: one clear line, exit 2,
        and the same send, once there is room, ends every row once."""

        class Full(sqlite3.Connection):
            def executemany(self, *_: object) -> sqlite3.Cursor:
                raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(keytable, "MEMORY_KEYS", 5)
        monkeypatch.setattr(keyfile, "_BATCH", 1)
        monkeypatch.setenv("TMPDIR", str(tmp_path))
        argv = ["send", str(SAMPLE), *OPTIONS, "--results", results, "--quiet"]
        with mock.patch.object(sqlite3, "connect", return_value=Full(":memory:")):
            assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"error: cannot keep the campaign's keys in a temporary file in {tmp_path}: " in err
        assert "database or disk is full. Nothing recorded is lost" in err
        assert "Traceback" not in err
        assert main(argv) == 0
        outcomes = [orjson.loads(line) for line in Path(results).read_bytes().splitlines()]
        rows = sorted(record["row"] for record in outcomes if "status" in record)
        assert rows == list(range(2, 32))


class TestSend:
    def test_a_wrong_inbox_option_is_put_right_with_a_journal_of_its_own(
        self, capsys: pytest.CaptureFixture[str], results: str, tmp_path: Path
    ) -> None:
        """--inbox-id shapes every key: the journal refuses another (its records would stand
        beside the new messages'); the new messages go with a journal of their own."""
        source = tmp_path / "plain.csv"
        source.write_text(
            "phone_number,first_name\n" + "".join(f"+1415555{n:04d},P{n}\n" for n in range(10))
        )
        options = [*OPTIONS, "--creator-id", "55", "--quiet"]
        assert main(["send", str(source), *options, "--results", results, "--inbox-id", "999"]) == 1
        capsys.readouterr()
        assert main(["resume", results, "--inbox-id", "101"]) == 2
        assert "give them a journal of their own with --results" in capsys.readouterr().err
        fresh = str(tmp_path / "fixed.results.jsonl")
        assert main(["send", str(source), *options, "--results", fresh, "--inbox-id", "101"]) == 0

    def test_a_run_whose_every_message_fails_halts_and_says_how_to_go_on(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        """A wrong inbox: the circuit breaker stops the run after 5 failures in a row, not
        after 30; the rest have no record, and the summary says why and how to resume."""
        options = [*OPTIONS, "--concurrency", "1", "--halt-on-errors", "5", "--results", results]
        wrong = Path(results).with_name("wrong-inbox.csv")
        wrong.write_text(SAMPLE.read_text().replace(",101,55", ",999,55"))
        assert main(["send", str(wrong), *options]) == 1
        out = capsys.readouterr().out
        assert out.startswith("rows      30: 0 sent, 5 failed, 0 invalid")
        assert "left      25 rows not ended" in out
        assert (
            "halted    5 messages failed in a row (last: HTTP 404 not_found: inbox_id: no inbox "
            "999).\n          The requests in flight finished; nothing else was sent. The API "
            "refused them, and a resume would meet the same refusal: fix the cause first. A "
            "wrong --inbox-id, --text or --creator-id makes other messages: send them with a "
            "journal of their own (--results NEW). An account problem: once it is fixed, resume "
            "(it halts after 3 failures in a row, until one gets through):\n"
            f"          broadcaster resume {results}\n"
        ) in out
        records = [orjson.loads(line) for line in Path(results).read_bytes().splitlines()]
        assert [r["type"] for r in records if "type" in r] == ["run"] + ["attempt"] * 5 + ["halt"]
        assert sum(1 for r in records if r.get("status") == "failed") == 5
        assert main(["report", results]) == 1  # rows failed, rows not ended
        out = capsys.readouterr().out
        assert "halted by the circuit breaker: 5 messages failed in a row (last: HTTP 404" in out
        assert main(["report", results, "--format", "json"]) == 1
        (run,) = orjson.loads(capsys.readouterr().out)["runs"]
        assert run["halted"].startswith("5 messages failed in a row")
        # A resume before the cause is fixed halts after 3 more, not 5.
        assert main(["resume", results, "--quiet"]) == 1
        assert "halted    3 messages failed in a row, as the last run's did (last: HTTP 404" in (
            capsys.readouterr().out
        )
        # The file put right, the resume sends every row: nothing was sent under inbox 999.
        wrong.write_text(SAMPLE.read_text())
        assert main(["resume", results, "--quiet"]) == 0
        assert capsys.readouterr().out.startswith("rows      30: 30 sent, 0 failed")

    @pytest.mark.parametrize(
        ("reply", "advice", "command"),
        [
            (Reply("failed", 400, error="HTTP 400: the contact has opted out"),
             "Contacts who opted out are a stale list", "--halt-ignore opted_out"),
            (Reply("retry", 503, error="HTTP 503"), "The API was failing", "--retry-failed"),
            (Reply("retry", None, error="no connection"), "The API was failing", "--retry-failed"),
        ],
    )  # fmt: skip
    def test_the_advice_after_a_halt_fits_the_failures(
        self, reply: Reply, advice: str, command: str
    ) -> None:
        settings = Settings(input="in.csv")
        text, resume = campaign._after_halt(settings, reply)
        assert advice in text
        assert resume == f"          broadcaster resume in.csv.results.jsonl {command}"

    def test_another_campaigns_journal_is_said_first_not_its_text(
        self, capsys: pytest.CaptureFixture[str], results: str, tmp_path: Path
    ) -> None:
        """The most fundamental mismatch first: giving the same --text would not help."""
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", results, "--quiet"]) == 0
        capsys.readouterr()
        other = tmp_path / "other.csv"
        other.write_text(SAMPLE.read_text())
        argv = ["send", str(other), *OPTIONS, "--results", results, "--text", "Bye"]
        assert main(argv) == 2
        assert "is the journal of campaign 'campaign', and this run is campaign 'other'" in (
            capsys.readouterr().err
        )

    def test_a_second_send_resumes_and_sends_nothing_again(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", results]) == 0
        out = capsys.readouterr().out
        assert out.startswith("rows      30: 30 sent, 0 failed, 0 invalid")
        assert "sandbox   30 messages committed" in out
        assert main(["resume", results, "--quiet"]) == 0
        out, err = capsys.readouterr()
        assert "earlier   30 settled by earlier runs: 30 sent" in out
        assert err == ""  # --quiet: no resuming line

    def test_resume_options_override_the_recorded_ones(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        main(["send", str(SAMPLE), *OPTIONS, "--results", results])
        capsys.readouterr()
        assert main(["resume", results, "--concurrency", "3"]) == 0
        assert "rows      30: 0 sent" in capsys.readouterr().out
        headers = [
            orjson.loads(line)
            for line in Path(results).read_bytes().splitlines()
            if b'"type":"run"' in line
        ]
        assert [h["settings"]["concurrency"] for h in headers] == [16, 3]
        assert [h["settings"]["text"] for h in headers] == ["Hi {{first_name}}"] * 2

    @pytest.mark.parametrize("command", ["resume", "send"])
    def test_another_text_under_the_same_journal_is_refused(
        self, capsys: pytest.CaptureFixture[str], results: str, command: str
    ) -> None:
        """A one-character fix to --text would change 26 messages' keys and send them again."""
        main(["send", str(SAMPLE), *OPTIONS, "--results", results])
        before = Path(results).read_bytes()
        capsys.readouterr()
        start = ["resume", results] if command == "resume" else ["send", str(SAMPLE), *OPTIONS]
        argv = [*start, "--text", "Hi {{first_name}}!", "--results", results]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "was run with --text 'Hi {{first_name}}', and this run has" in err
        assert Path(results).read_bytes() == before

    def test_a_torn_journal_is_resumed_with_a_warning(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        main(["send", str(SAMPLE), *OPTIONS, "--results", results])
        with Path(results).open("ab") as journal:
            journal.write(b'{"status":"sent","key":"torn-by-a-cra')
        capsys.readouterr()
        assert main(["resume", results, "--log-format", "json"]) == 0
        warning = orjson.loads(capsys.readouterr().err.splitlines()[0])
        assert (warning["event"], warning["count"]) == ("damaged lines", 1)

    def test_json_logs_are_one_object_a_line_on_stderr(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        main(["send", str(SAMPLE), *OPTIONS, "--results", results])
        capsys.readouterr()
        main(["send", str(SAMPLE), *OPTIONS, "--results", results, "--log-format", "json"])
        line = capsys.readouterr().err.splitlines()[0]
        event = orjson.loads(line)
        assert (event["event"], event["already_recorded"], event["level"]) == (
            "resuming",
            30,
            "info",
        )


class TestUsage:
    def test_no_credentials_is_exit_2_before_any_journal(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        assert main(["send", str(SAMPLE), "--results", results]) == 2
        assert capsys.readouterr().err.startswith("error: no credentials: set HEYMARKET_API_KEY")
        assert not Path(results).exists()

    def test_a_base_url_that_is_not_http_is_refused(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        code = main(["send", str(SAMPLE), "--results", results, "--dry-run", "--base-url", "ftp:x"])
        assert code == 2
        assert "(--base-url or HEYMARKET_BASE_URL) 'ftp:x': expected an http(s) URL" in (
            capsys.readouterr().err
        )

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://127.0.0.1:99999", "is not a URL (Port out of range"),
            ("http://127.0.0.1:abc", "is not a URL ("),
            ("http://[::1", "is not a URL ("),
            ("http://127.0.0.1:8080/v1", "no path or query"),
            ("http://127.0.0.1:8080/?key=s3cret", "no path or query"),
        ],
    )
    def test_a_base_url_that_cannot_work_is_refused_in_one_line(
        self, capsys: pytest.CaptureFixture[str], results: str, url: str, message: str
    ) -> None:
        argv = ["send", str(SAMPLE), "--results", results, "--dry-run", "--base-url", url]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err
        assert err.count("\n") == 1
        assert "s3cret" not in err

    def test_plain_http_to_another_machine_needs_the_flag_and_says_so(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        argv = ["send", str(SAMPLE), "--results", results, "--dry-run", "--base-url"]
        assert main([*argv, "http://10.1.2.3:8080"]) == 2
        err = capsys.readouterr().err
        assert "'http://10.1.2.3:8080' is plain http to another machine" in err
        assert err.count("\n") == 1
        allowed = ["http://10.1.2.3:8080", "--allow-insecure-http", "--quiet", "--text", "Hi"]
        assert main([*argv, *allowed]) == 0
        assert main(["inboxes", "--base-url", "http://10.1.2.3:8080"]) == 2
        assert "--allow-insecure-http" in capsys.readouterr().err

    def test_missing_input_touches_no_journal(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, results: str
    ) -> None:
        assert main(["send", str(tmp_path / "nope.csv"), "--sandbox", "--results", results]) == 2
        assert "no such file" in capsys.readouterr().err
        assert not Path(results).exists()

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (None, "no such results journal"),
            (b'{"status":"sent","key":"a","row":2}\n', "no run is recorded in it"),
            (b'{"type":"run","settings":{"input":"-"}}\n', "read stdin: pipe the input again"),
        ],
    )
    def test_resume_refuses_what_it_cannot_resume_in_one_line(
        self, capsys: pytest.CaptureFixture[str], results: str, content: bytes | None, message: str
    ) -> None:
        if content is not None:
            Path(results).write_bytes(content)
        assert main(["resume", results]) == 2
        assert message in capsys.readouterr().err

    def test_secrets_stay_out_of_help_and_errors(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, results: str
    ) -> None:
        monkeypatch.setenv("HEYMARKET_SECRET_ID", "id-topsecret")
        main(["send", "--help"])
        code = main(["send", str(SAMPLE), "--results", results])
        out, err = capsys.readouterr()
        assert code == 2
        assert "topsecret" not in out + err
        assert err.startswith("error: HEYMARKET_SECRET_KEY is not set")


class TestJournalPlace:
    def test_the_input_as_its_own_journal_is_refused_and_left_alone(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        campaign = tmp_path / "c.csv"
        campaign.write_bytes(SAMPLE.read_bytes())
        (tmp_path / "alias.csv").symlink_to(campaign)
        for results in (campaign, tmp_path / "alias.csv"):
            assert main(["send", str(campaign), *OPTIONS, "--results", str(results)]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1
            assert "is the input file itself" in err
        assert campaign.read_bytes() == SAMPLE.read_bytes()

    @pytest.mark.parametrize("device", ["/dev/full", "/dev/null"])
    def test_a_device_as_journal_is_refused(
        self, capsys: pytest.CaptureFixture[str], device: str
    ) -> None:
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", device]) == 2
        assert capsys.readouterr().err == (
            f"error: --results {device} is not a regular file: give the path of a file\n"
        )

    def test_a_strangers_file_is_refused_and_left_alone(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        other = tmp_path / "notes.txt"
        other.write_text("my notes\n")
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", str(other)]) == 2
        assert "exists and is not a results journal" in capsys.readouterr().err
        assert other.read_text() == "my notes\n"

    @pytest.mark.parametrize(
        "error",
        [
            OSError(errno.ENOSPC, "No space left on device"),
            OSError(errno.EROFS, "Read-only file system"),  # remounted read-only mid-run
            OSError(errno.EIO, "Input/output error"),
        ],
    )
    def test_a_full_disk_stops_the_run_with_one_line_and_a_whole_journal(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        results: str,
        error: OSError,
    ) -> None:
        real_write = os.write
        writes = [0]

        def fills_up(fd: int, data: bytes | memoryview) -> int:
            if fd > 2:  # the journal, not stdout or stderr
                writes[0] += 1
                if writes[0] > 6:
                    raise error
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", fills_up)
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", results]) == 2
        monkeypatch.undo()
        err = capsys.readouterr().err
        assert f"error: cannot write results journal {results}: {error.strerror}. What was" in err
        assert "Traceback" not in err
        lines = Path(results).read_bytes().splitlines()
        assert len(lines) == 6  # the header and five records (outcomes, attempts), each whole
        assert all(orjson.loads(line) for line in lines)
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", results]) == 0


class TestMistakesCaughtUpFront:
    def test_a_base_url_with_a_password_is_refused_without_echoing_it(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        url = "https://user:hunter2@api.example.com"
        assert main(["send", str(SAMPLE), *OPTIONS, "--base-url", url, "--results", results]) == 2
        err = capsys.readouterr().err
        assert "must not carry a user name or password" in err
        assert "hunter2" not in err
        assert not Path(results).exists()

    @pytest.mark.parametrize(
        "text", ["Hi {{first_name}", "Hi {first_name}", "Hi {{}}", "Hi }} there"]
    )
    def test_a_broken_text_template_is_refused_once(
        self, capsys: pytest.CaptureFixture[str], results: str, text: str
    ) -> None:
        options = [*OPTIONS[:-2], "--text", text]
        assert main(["send", str(SAMPLE), *options, "--results", results]) == 2
        assert "--text" in capsys.readouterr().err
        assert not Path(results).exists()

    def test_a_changed_input_is_announced_with_what_is_new(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, results: str
    ) -> None:
        campaign = tmp_path / "weekly.csv"
        rows = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
        campaign.write_text("".join(rows[:11]), encoding="utf-8")  # the header and ten rows
        assert main(["send", str(campaign), *OPTIONS, "--results", results]) == 0
        campaign.write_text("".join(rows), encoding="utf-8")  # next week: twenty more
        capsys.readouterr()
        assert (
            main(["send", str(campaign), *OPTIONS, "--results", results, "--log-format", "json"])
            == 0
        )
        events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
        (changed,) = [e for e in events if e["event"] == "input changed"]
        assert (
            "of its 30 rows, 10 are settled and not sent again; 20 new and 0 edited"
            in (changed["note"])
        )

    def test_an_edited_row_is_told_from_a_new_one(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, results: str
    ) -> None:
        campaign = tmp_path / "weekly.csv"
        rows = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
        campaign.write_text("".join(rows[:11]), encoding="utf-8")
        assert main(["send", str(campaign), *OPTIONS, "--results", results]) == 0
        edited = rows[1].replace(",Maya,", ",Mia,")
        campaign.write_text("".join([rows[0], edited, *rows[2:13]]), encoding="utf-8")
        capsys.readouterr()
        argv = ["send", str(campaign), *OPTIONS, "--results", results, "--log-format", "json"]
        assert main(argv) == 0
        events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
        (changed,) = [e for e in events if e["event"] == "input changed"]
        assert (
            "of its 12 rows, 9 are settled and not sent again; 2 new and 1 edited"
            in (changed["note"])
        )


class TestOneCampaignAJournal:
    def test_another_campaign_name_under_the_same_journal_is_refused(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        """A new name is a new key for every message: each customer would get it twice."""
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", results]) == 0
        before = Path(results).read_bytes()
        capsys.readouterr()
        argv = ["send", str(SAMPLE), *OPTIONS, "--results", results, "--campaign", "spring"]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "is the journal of campaign 'campaign', and this run is campaign 'spring'" in err
        assert "add --campaign campaign" in err
        assert Path(results).read_bytes() == before

    def test_another_campaigns_journal_is_refused(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        other = tmp_path / "other.csv"
        other.write_bytes(SAMPLE.read_bytes())
        assert main(["send", str(other), *OPTIONS]) == 0
        journal = f"{other}.sandbox.results.jsonl"  # a --sandbox trial's own
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", journal]) == 2
        assert "is the journal of campaign 'other'" in capsys.readouterr().err


class TestOneDestinationAJournal:
    def test_a_sandbox_trial_keeps_a_journal_of_its_own(self, tmp_path: Path) -> None:
        """The README's "try it with --sandbox": the real send of the same file afterwards
        must not find its rows settled by the trial's records."""
        source = tmp_path / "c.csv"
        source.write_bytes(SAMPLE.read_bytes())
        assert main(["send", str(source), *OPTIONS, "--quiet"]) == 0
        assert Path(f"{source}.sandbox.results.jsonl").is_file()
        assert not Path(f"{source}.results.jsonl").exists()

    def test_records_sent_elsewhere_never_settle_this_runs_rows(
        self, capsys: pytest.CaptureFixture[str], results: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")  # refused before it is used
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", results]) == 0
        real = [o for o in OPTIONS if o != "--sandbox"]
        capsys.readouterr()
        argv = ["send", str(SAMPLE), *real, "--base-url", "http://127.0.0.1:9"]
        assert main([*argv, "--results", results]) == 2
        err = capsys.readouterr().err
        assert (
            f"{results} records messages sent to the in-process sandbox (--sandbox), and this "
            "run sends to http://127.0.0.1:9: its records would settle rows that were never "
            "sent there. Give this run a journal of its own with --results"
        ) in err

    def test_a_real_journal_resumes_neither_in_the_sandbox_nor_elsewhere(
        self, capsys: pytest.CaptureFixture[str], results: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")  # refused before it is used
        assert main(["send", str(SAMPLE), *OPTIONS, "--results", results]) == 0
        records = [orjson.loads(line) for line in Path(results).read_bytes().splitlines()]
        records[0]["settings"] |= {"sandbox": False, "base_url": "https://api.example.com"}
        Path(results).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        capsys.readouterr()
        assert main(["resume", results, "--sandbox"]) == 2
        assert "records messages sent to https://api.example.com" in capsys.readouterr().err
        assert main(["resume", results, "--base-url", "https://staging.example.com"]) == 2
        assert "this run sends to https://staging.example.com" in capsys.readouterr().err


class TestResumeMessages:
    def test_a_moved_input_is_named_with_the_command_that_goes_on(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        campaign = tmp_path / "c.csv"
        campaign.write_bytes(SAMPLE.read_bytes())
        journal = str(tmp_path / "c.results.jsonl")
        assert main(["send", str(campaign), *OPTIONS, "--results", journal]) == 0
        campaign.rename(tmp_path / "moved.csv")
        capsys.readouterr()
        assert main(["resume", journal]) == 2
        err = capsys.readouterr().err
        assert "the input the journal's last run read, is not there any more" in err
        assert f"broadcaster resume {journal} --input NEWPATH" in err
        assert main(["resume", journal, "--input", str(tmp_path / "moved.csv")]) == 0
        assert "rows      30: 0 sent" in capsys.readouterr().out  # the same campaign and keys

    def test_each_invalid_row_is_logged_with_its_file_line_and_reason(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, results: str
    ) -> None:
        path = tmp_path / "bad.csv"
        path.write_text(
            "phone_number,first_name,inbox_id,creator_id\n555,A,101,55\n14155550100,B,101,55\n"
        )
        assert (
            main(["send", str(path), *OPTIONS, "--results", results, "--log-format", "json"]) == 1
        )
        events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
        (invalid,) = [e for e in events if e["event"] == "invalid"]
        assert (invalid["input"], invalid["row"]) == (str(path), 2)
        assert invalid["reason"].startswith("phone_number: '555' is not a valid phone number")


class TestClosedAndFullStreams:
    """Run as a user's shell runs it: a real process, stdout or stderr closed or full."""

    def run(self, argv: list[str], **streams: Any) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "broadcaster", *argv]
        return subprocess.run(command, check=False, timeout=60, **streams)

    def test_a_full_stdout_is_one_line_and_exit_2(self) -> None:
        with Path("/dev/full").open("wb") as full:
            done = self.run(
                ["validate", str(SAMPLE), "--quiet"], stdout=full, stderr=subprocess.PIPE
            )
        assert done.returncode == 2
        assert done.stderr == b"error: cannot write the output: No space left on device\n"

    def test_closed_stdout_and_stderr_still_send_and_record(self, tmp_path: Path) -> None:
        """``broadcaster send ... >&- 2>&-``: the campaign goes out and is journaled."""
        results = tmp_path / "r.jsonl"
        argv = ["send", str(SAMPLE), *OPTIONS, "--results", str(results)]

        def close_output() -> None:
            os.close(1)
            os.close(2)

        done = self.run(argv, preexec_fn=close_output)
        assert done.returncode == 0
        outcomes = [line for line in results.read_bytes().splitlines() if b'"status"' in line]
        assert len(outcomes) == 30


class SteppingTime:
    """A run's clock that moves only by what is slept, then yields: in a dry run (no I/O) only
    the engine's ticker sleeps, so the clock reads the ticks so far, whatever the machine."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(0)
        self.now += max(0.0, delay)  # once slept: a ticker cancelled meanwhile did not tick


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class TestLongRuns:
    """Logs and progress for a run of hours under a log collector (issue 8)."""

    def test_verbose_logs_every_attempt_and_the_log_file_holds_it_as_json(
        self, capsys: pytest.CaptureFixture[str], results: str, tmp_path: Path
    ) -> None:
        log = tmp_path / "run.log"
        argv = ["send", str(SAMPLE), *OPTIONS, "--results", results, "--log-file", str(log)]
        assert main([*argv, "--verbose"]) == 0
        err = capsys.readouterr().err
        events = log_lines(log)
        attempts = [e for e in events if e["event"] == "attempt"]
        journal = log_lines(Path(results))  # JSON lines too
        assert {e["key"] for e in attempts} == {r["key"] for r in journal if "status" in r}
        assert {(e["level"], e["attempt"], e["http_status"], e["verdict"]) for e in attempts} == {
            ("debug", 1, 200, "sent")
        }
        assert all(e["request_id"] and e["latency_ms"] >= 0 for e in attempts)
        console = [line for line in err.splitlines() if "[debug    ] attempt " in line]
        assert len(console) == 30  # and on stderr, for people
        progress, finished = events[-2:]
        assert (progress["event"], progress["rows"], progress["total"], progress["percent"]) == (
            "progress",
            30,
            30,
            100.0,
        )
        assert (finished["event"], finished["sent"], finished["exit_code"]) == ("finished", 30, 0)
        before = log.read_bytes()
        assert main(["resume", results, "--log-file", str(log)]) == 0
        after = log.read_bytes()
        assert after.startswith(before)  # appended to
        assert [e["event"] for e in log_lines(log)[len(events) :]] == [
            "resuming",
            "progress",
            "finished",
        ]

    @pytest.mark.parametrize("which", ["input", "journal"])
    def test_the_log_never_goes_into_the_input_or_the_journal(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, which: str
    ) -> None:
        source = tmp_path / "c.csv"
        source.write_bytes(SAMPLE.read_bytes())
        results = tmp_path / "c.results.jsonl"
        main(["send", str(source), *OPTIONS, "--results", str(results), "--quiet"])
        target = source if which == "input" else results
        before = target.read_bytes()
        capsys.readouterr()
        argv = ["send", str(source), *OPTIONS, "--results", str(results), "--log-file"]
        assert main([*argv, str(target)]) == 2
        assert "give the log a path of its own" in capsys.readouterr().err
        assert target.read_bytes() == before

    def test_verbose_with_quiet_is_refused_in_one_line_before_anything(
        self, capsys: pytest.CaptureFixture[str], results: str
    ) -> None:
        argv = ["send", str(SAMPLE), *OPTIONS, "--results", results, "--verbose", "--quiet"]
        assert main(argv) == 2
        assert capsys.readouterr().err == (
            "error: --verbose and --quiet contradict each other: give one or the other\n"
        )
        assert not Path(results).exists()

    def test_a_log_file_that_cannot_be_opened_is_refused_before_anything_is_sent(
        self, capsys: pytest.CaptureFixture[str], results: str, tmp_path: Path
    ) -> None:
        log = tmp_path / "no such directory" / "run.log"
        argv = ["send", str(SAMPLE), *OPTIONS, "--results", results, "--log-file", str(log)]
        assert main(argv) == 2
        assert capsys.readouterr().err == (
            f"error: --log-file {log}: cannot open it (No such file or directory)\n"
        )
        assert not Path(results).exists()

    def test_quiet_with_a_log_file_keeps_stderr_quiet_and_the_file_whole(
        self, capsys: pytest.CaptureFixture[str], results: str, tmp_path: Path
    ) -> None:
        log = tmp_path / "run.log"
        argv = ["send", str(SAMPLE), *OPTIONS, "--results", results, "--log-file", str(log)]
        assert main([*argv, "--quiet"]) == 0
        assert capsys.readouterr().err == ""
        (progress,) = [e for e in log_lines(log) if e["event"] == "progress"]
        assert (progress["rows"], progress["total"]) == (30, 30)  # counted for the file

    @pytest.mark.parametrize(
        "secrets",
        [
            {"HEYMARKET_API_KEY": "key-topsecret"},
            {"HEYMARKET_SECRET_ID": "id-topsecret", "HEYMARKET_SECRET_KEY": "key-topsecret"},
        ],
    )
    def test_no_secret_reaches_the_log_even_when_every_attempt_fails(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        results: str,
        tmp_path: Path,
        secrets: dict[str, str],
    ) -> None:
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        log = tmp_path / "run.log"
        url = f"http://127.0.0.1:{closed_port()}"
        argv = [
            "send", str(SAMPLE), "--default-country-code", "1", "--text", "Hi", "--results",
            results, "--base-url", url, "--rate", "0", "--max-attempts", "1", "--verbose",
            "--log-file", str(log), "--log-format", "json",
        ]  # fmt: skip
        assert main(argv) == 1  # stuck: the API cannot be reached
        out, err = capsys.readouterr()
        attempts = [e for e in log_lines(log) if e["event"] == "attempt"]
        assert attempts
        assert all(e["error"].startswith("cannot connect to 127.0.0.1:") for e in attempts)
        assert "topsecret" not in log.read_text(encoding="utf-8") + out + err

    def test_off_a_terminal_progress_events_come_every_interval_of_the_runs_clock(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        time = SteppingTime()
        monkeypatch.setattr(campaign, "Timing", lambda: Timing(clock=time.clock, sleep=time.sleep))
        path = tmp_path / "spring.csv"
        rows = [f"1415555{n:04d},Hello {n}" for n in range(300)]
        path.write_text("phone_number,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
        argv = [
            "send", str(path), "--dry-run", "--inbox-id", "101", "--creator-id", "55",
            "--progress-interval", "3", "--log-format", "json", "--preview", "0",
        ]  # fmt: skip
        assert main(argv) == 0
        events = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
        progress = [e for e in events if e["event"] == "progress"]
        every_3s = int(time.now // 3)  # the ticks at 3, 6, 9... s of the run's clock
        assert every_3s >= 2
        # Then one at the end, unless the last of those already had the final figures.
        assert len(progress) == every_3s + (progress[every_3s - 1]["rows"] < 300)
        assert [e["rows"] for e in progress] == sorted(e["rows"] for e in progress)
        for event in progress:
            assert event["total"] == 300
            assert event["percent"] == round(100 * event["rows"] / 300, 1)
            assert event["rows"] == event["sent"]
            assert event["status"].startswith(f"{event['rows']:,}/300 rows · ")
        assert (progress[-1]["rows"], progress[-1]["percent"]) == (300, 100.0)


def test_closed_standard_descriptors_are_held_by_the_null_device(tmp_path: Path) -> None:
    """So that the journal (or a socket, which uvloop aborts on) never becomes stdout."""
    seen = tmp_path / "seen"
    code = (
        "import os, sys\n"
        "from broadcaster.cli import _fill_standard_descriptors\n"
        "_fill_standard_descriptors()\n"
        "kept = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)\n"
        "os.write(kept, ' '.join(os.readlink(f'/proc/self/fd/{fd}') for fd in (0, 1, 2)).encode()"
        " + f' {kept}'.encode())\n"
    )

    def close_all() -> None:
        for fd in (0, 1, 2):
            os.close(fd)

    done = subprocess.run(
        [sys.executable, "-c", code, str(seen)], preexec_fn=close_all, check=False, timeout=30
    )
    assert done.returncode == 0
    assert seen.read_text() == f"{os.devnull} {os.devnull} {os.devnull} 3"
