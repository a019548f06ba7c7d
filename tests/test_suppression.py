"""--suppress and --record-opt-outs: numbers never sent to, read as the input's are."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from pytest_aiohttp import AiohttpServer
from test_send import campaign, fast, outcomes, sandbox, send

from broadcaster.cli import main_parser
from broadcaster.errors import UsageError
from broadcaster.journal import JournalState
from broadcaster.options import settings_from
from broadcaster.plan import Defaults, Message, plan
from broadcaster.record import Record
from broadcaster.report import build_report, read_figures
from broadcaster.settings import Settings
from broadcaster.suppression import OptOutFile, load
from broadcaster.triage import Settled, Triage, Withheld
from broadcaster.validation import validate


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


class TestLoad:
    def test_reads_one_number_a_line_in_the_forms_people_write(self, tmp_path: Path) -> None:
        path = _file(
            tmp_path,
            "stop.txt",
            "\ufeff# opted out\n(415) 555-0100\n\n+1 415 555 0101\n14155550102\n415.555.0103\n"
            "415 555 0104  # asked by phone, 2 May\n",
        )
        numbers = {14155550100, 14155550101, 14155550102, 14155550103, 14155550104}
        assert load([path], "US").numbers == numbers

    def test_reads_a_csv_by_its_phone_number_column_in_any_spelling(self, tmp_path: Path) -> None:
        path = _file(tmp_path, "crm.csv", "Name,Phone Number\nAnn,(415) 555-0100\nBob,\n")
        assert load([path], "US").numbers == {14155550100}

    def test_a_one_column_files_heading_is_no_bad_line(self, tmp_path: Path) -> None:
        path = _file(tmp_path, "mobiles.csv", "Mobile\n4155550100\n")
        suppression = load([path], "US")
        assert suppression.numbers == {14155550100}
        assert suppression.problems() == []

    def test_reads_numbers_with_the_runs_region(self, tmp_path: Path) -> None:
        path = _file(tmp_path, "stop.txt", "07911 123456\n")
        assert load([path], "GB").numbers == {447911123456}

    def test_names_each_line_that_is_not_a_number_and_counts_the_rest(self, tmp_path: Path) -> None:
        path = _file(tmp_path, "stop.txt", "4155550100\n" + "unknown\n" * 7)
        suppression = load([path], "US")
        assert suppression.numbers == {14155550100}
        problems = suppression.problems()
        assert problems[0].startswith(f"{path} line 2: 'unknown' is not a phone number")
        assert problems[-1] == "and 2 more lines that are not numbers"
        assert len(problems) == 6

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("name,email\nAnn,a@b.c\n", r"phone_number column \(its header is: name, email\)"),
            (None, "no such file"),
        ],
    )  # fmt: skip
    def test_refuses_a_file_it_cannot_use(
        self, tmp_path: Path, text: str | None, words: str
    ) -> None:
        path = str(tmp_path / "stop.csv") if text is None else _file(tmp_path, "stop.csv", text)
        with pytest.raises(UsageError, match=words):
            load([path], "US")

    def test_refuses_a_directory(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError, match="a directory, not a file of numbers"):
            load([str(tmp_path)], "US")

    def test_a_file_opt_outs_will_be_recorded_in_may_be_missing(self, tmp_path: Path) -> None:
        path = str(tmp_path / "opt.txt")
        assert load([path], "US", missing_ok=[path]).numbers == frozenset()

    def test_reads_a_file_again_once_it_changed(self, tmp_path: Path) -> None:
        path = _file(tmp_path, "stop.txt", "4155550100\n")
        assert load([path], "US").numbers == {14155550100}
        Path(path).write_text("4155550100\n4155550101\n")
        assert load([path], "US").numbers == {14155550100, 14155550101}


class TestMatch:
    def test_matches_a_single_number_and_any_of_a_groups_targets(self, tmp_path: Path) -> None:
        suppression = load([_file(tmp_path, "s.txt", "4155550101\n")], "US")
        assert suppression.match({"phone_number": "14155550101"}) == "14155550101"
        assert suppression.match({"phone_number": "14155550102"}) is None
        group = {"targets": ["14155550100", "14155550101"]}
        assert suppression.match(group) == "14155550101"
        assert suppression.match({"chat_id": 5}) is None


def _message(phone: str, line: int = 2) -> Message:
    record = Record(line, {"phone_number": phone, "text": "Hi"})
    planned = plan(record, Defaults("spring", inbox_id=1, creator_id=2))
    assert isinstance(planned, Message)
    return planned


class TestTriage:
    def test_a_suppressed_row_is_withheld_with_the_number_named(self, tmp_path: Path) -> None:
        suppression = load([_file(tmp_path, "s.txt", "4155550101\n")], "US")
        triage = Triage("spring", JournalState(), suppression=suppression)
        decision = triage.decide(_message("4155550101"))
        assert isinstance(decision, Withheld)
        assert decision.reason == "suppressed"
        assert decision.detail == "+14155550101 is suppressed (--suppress): not sent"
        assert isinstance(triage.decide(_message("4155550102")), Message)

    def test_a_row_sent_before_its_number_opted_out_stays_sent(self, tmp_path: Path) -> None:
        suppression = load([_file(tmp_path, "s.txt", "4155550101\n")], "US")
        message = _message("4155550101")
        state = JournalState()
        state.note(message.key, "sent")
        assert Triage("spring", state, suppression=suppression).decide(message) == Settled("sent")

    def test_a_suppressed_row_is_recorded_once_and_sent_once_no_longer_suppressed(
        self, tmp_path: Path
    ) -> None:
        """Its record settles nothing: with the number off the list, the row goes."""
        suppression = load([_file(tmp_path, "s.txt", "4155550101\n")], "US")
        message = _message("4155550101")
        state = JournalState()
        state.apply({"status": "skipped", "key": message.key, "reason": "suppressed"})
        assert state.statuses.get(message.key) is None
        assert state.skipped[message.key] == 0  # not counted as a duplicate's record
        again = Triage("spring", state, suppression=suppression)
        assert again.decide(message) == Settled("skipped", reason="suppressed")
        twin = again.decide(_message("4155550101", line=3))  # the same message on a 2nd row
        assert isinstance(twin, Withheld)
        assert isinstance(Triage("spring", state).decide(message), Message)


def _settings(argv: list[str]) -> Settings:
    return settings_from(main_parser().parse_args(argv), {})


class TestSettings:
    def test_a_resume_adds_suppression_files_and_never_drops_one(self, tmp_path: Path) -> None:
        first = _file(tmp_path, "a.txt", "4155550100\n")
        second = _file(tmp_path, "b.txt", "4155550101\n")
        recorded = _settings(["send", "in.csv", "--suppress", first]).record()
        assert recorded["suppress"] == [first]
        resumed = Settings.from_record(recorded, {"suppress": (second,)})
        assert resumed.suppress == (first, second)
        assert Settings.from_record(recorded).suppress == (first,)


class TestValidate:
    def test_counts_the_suppressed_rows_and_names_the_bad_lines(self, tmp_path: Path) -> None:
        source = campaign(tmp_path, 4)
        stop = _file(tmp_path, "stop.txt", "4155550001\n4155550003\nnobody\n")
        argv = ["validate", source, "--inbox-id", "1", "--creator-id", "2", "--text", "Hi"]
        out = io.StringIO()
        assert validate(_settings([*argv, "--suppress", stop, "--preview", "0"]), out) == 0
        text = out.getvalue()
        assert "rows      4: 4 valid, 0 invalid, 2 suppressed (not sent)\n" in text
        assert f"suppress  2 numbers from {stop}\n" in text
        assert f"{stop} line 3: 'nobody' is not a phone number" in text
        assert "time      2 requests at 480/m" in text


class TestSend:
    async def test_never_requests_a_suppressed_number_and_records_why(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 6)
        stop = _file(tmp_path, "stop.txt", "+1 (415) 555-0002\n415-555-0004\n")
        code, out = await send([source, *fast(server), "--suppress", stop])
        assert code == 0
        assert out.startswith(
            "rows      6: 4 sent, 0 failed, 0 invalid, 0 duplicate (skipped), "
            "2 suppressed (skipped)\n"
        )
        assert state.committed == 4
        assert {m.body["phone_number"] for m in state.messages.values()}.isdisjoint(
            {"14155550002", "14155550004"}
        )
        skipped = [r for r in outcomes(source + ".results.jsonl") if r["status"] == "skipped"]
        assert [(r["row"], r["reason"]) for r in skipped] == [(4, "suppressed"), (6, "suppressed")]
        # A resume with the same list records nothing more and sends nothing.
        journal = source + ".results.jsonl"
        code, out = await send([source, *fast(server), "--suppress", stop])
        assert code == 0
        assert len(outcomes(journal)) == 6
        assert state.committed == 4
        report = build_report([read_figures(journal)], [])
        assert report["rows"] == {"total": 6, "sent": 4, "failed": 0, "invalid": 0, "skipped": 2}
        assert report["skipped"] == {"duplicate": 0, "suppressed": 2, "deadline": 0}
        # Leaving the list out is refused; off the list, the two go, and the report counts
        # each row once.
        with pytest.raises(UsageError, match=r"was run with --suppress .*stop.txt, and this run"):
            await send([source, *fast(server)])
        Path(stop).write_text("# nobody\n")
        code, out = await send([source, *fast(server), "--suppress", stop])
        assert code == 0
        assert state.committed == 6
        report = build_report([read_figures(journal)], [])
        assert report["rows"] == {"total": 6, "sent": 6, "failed": 0, "invalid": 0, "skipped": 0}

    async def test_records_opt_out_refusals_for_next_times_suppress(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """The API refuses an opted-out number: it goes to the file once, and next week's
        --suppress with that file skips it before any request."""
        server, state = await sandbox(aiohttp_server, opted_out=frozenset({"14155550001"}))
        source = campaign(tmp_path, 3)
        opt = str(tmp_path / "opt-outs.txt")
        code, out = await send([source, *fast(server), "--record-opt-outs", opt])
        assert code == 1
        assert "opt-outs  1 number refused as opted out, added to the --record-opt-outs file" in out
        lines = Path(opt).read_text().splitlines()
        assert lines[0].startswith("#")
        assert lines[1:] == ["+14155550001"]
        requests = state.requests
        week = tmp_path / "week2"
        week.mkdir()
        source2 = campaign(week, 3)
        argv = [source2, *fast(server), "--suppress", opt, "--record-opt-outs", opt]
        code, out = await send(argv)
        assert code == 0
        assert "1 suppressed (skipped)" in out
        assert state.requests == requests + 2
        assert Path(opt).read_text().splitlines()[1:] == ["+14155550001"]

    async def test_refuses_an_opt_out_file_it_cannot_write(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 2)
        missing = str(tmp_path / "no" / "opt.txt")
        with pytest.raises(UsageError, match="its directory does not exist"):
            await send([source, *fast(server), "--record-opt-outs", missing])
        assert state.requests == 0

    def test_opt_out_file_keeps_one_line_a_number(self, tmp_path: Path) -> None:
        path = _file(tmp_path, "opt.txt", "(415) 555-0100\n")
        opt_outs = OptOutFile.open(path, "US")
        assert not opt_outs.add("14155550100")
        assert opt_outs.add("14155550101")
        assert not opt_outs.add("14155550101")
        assert Path(path).read_text() == "(415) 555-0100\n+14155550101\n"

    async def test_a_run_refused_for_its_suppression_file_leaves_no_journal(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """Refused before the journal is touched: a resume cannot inherit the bad path."""
        server, state = await sandbox(aiohttp_server)
        source = campaign(tmp_path, 2)
        with pytest.raises(UsageError, match="no such file"):
            await send([source, *fast(server), "--suppress", str(tmp_path / "nope.txt")])
        assert not Path(source + ".results.jsonl").exists()
        assert state.requests == 0


class TestReport:
    def test_a_row_suppressed_after_it_failed_counts_as_suppressed_as_resume_says(
        self, tmp_path: Path
    ) -> None:
        """Opted out (failed), then on the suppression list: the last word is the list's."""
        journal = tmp_path / "j.results.jsonl"
        run = {"type": "run", "campaign": "c", "input": "in.csv", "settings": {}}
        failed = {"status": "failed", "key": "k1", "row": 2, "http_status": 400,
                  "error": "HTTP 400: opted out", "attempts": 1}  # fmt: skip
        sent = {"status": "sent", "key": "k2", "row": 3, "attempts": 1, "id": 7}
        held = {"status": "skipped", "key": "k1", "row": 2, "reason": "suppressed"}
        lines = [run, failed, sent, run, held]
        journal.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
        report = build_report([read_figures(str(journal))], [])
        assert report["rows"] == {"total": 2, "sent": 1, "failed": 0, "invalid": 0, "skipped": 1}
        assert report["skipped"] == {"duplicate": 0, "suppressed": 1, "deadline": 0}
        assert report["failures"] == []
