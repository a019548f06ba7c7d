"""``report --failed-csv``: the rows to fix, fixed in a spreadsheet, sent again."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from broadcaster.cli import main
from broadcaster.formulas import FORMULA_STARTS, escape_formula, unescape_formula
from broadcaster.reader import read_rows

# Line 3 is refused by the API (creator 999 is no member of inbox 101), lines 4 and 6 are
# invalid (a number too short), line 5 is a duplicate of line 2.
CAMPAIGN = (
    "phone_number,first_name,creator_id\n"
    "+14155550100,Ann,55\n"
    "+14155550101,Bob,999\n"
    "12,Cy,55\n"
    "+14155550100,Ann,55\n"
    "34,Di,55\n"
    '+14155550104,=HYPERLINK("http://evil"),55\n'
)
OPTIONS = [
    "--timeout",  # a resume after an abort waits this long for the rows that were in flight
    "3",
    "--sandbox",
    "--rate",
    "0",
    "--text",
    "Hi {{first_name}}",
    "--inbox-id",
    "101",
    "--quiet",
]


@pytest.fixture
def sent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    source = tmp_path / "spring.csv"
    source.write_text(CAMPAIGN)
    assert main(["send", str(source), *OPTIONS, "--quiet"]) == 1
    capsys.readouterr()
    return source, f"{source}.sandbox.results.jsonl"  # a --sandbox run's journal


def export(results: str, tmp_path: Path) -> Path:
    """``report RESULTS --failed-csv fix.csv``: the rows to fix, where the test reads them."""
    fix = tmp_path / "fix.csv"
    main(["report", results, "--failed-csv", str(fix)])
    return fix


def exported(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def report_json(results: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(["report", results, "--format", "json"])
    report = orjson.loads(capsys.readouterr().out)
    assert isinstance(report, dict)
    return report


class TestExport:
    def test_the_failed_and_invalid_rows_in_input_order_with_reason_and_line(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, results = sent
        fix = tmp_path / "fix.csv"
        assert main(["report", results, "--failed-csv", str(fix)]) == 1
        said = capsys.readouterr().out
        assert f"wrote 3 rows (1 failed, 2 invalid) to {fix}" in said
        assert f"broadcaster resume {results} --input {fix} --retry-failed" in said
        rows = exported(fix)
        assert [row["line"] for row in rows] == ["3", "4", "6"]
        assert list(rows[0]) == [
            "phone_number", "first_name", "creator_id", "reason", "line", "replaces",
        ]  # fmt: skip
        assert rows[0]["reason"].startswith("HTTP 400 bad_data: creator_id: 999")
        assert rows[1]["reason"].startswith("phone_number: '12' is not a valid phone number")
        assert rows[0]["phone_number"] == "'+14155550101"  # a formula to a spreadsheet

    def test_a_failure_in_doubt_is_held_back_for_reconcile(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Its message may have been sent: a fixed row would be another message, sent
        again. It is left out, and the export says how to settle it."""
        _, results = sent
        records = [orjson.loads(line) for line in Path(results).read_bytes().splitlines()]
        for record in records:
            if record.get("status") == "failed":
                record["in_doubt"] = "2026-11-26T10:00:00.000+00:00"
        Path(results).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        fix = tmp_path / "fix.csv"
        assert main(["report", results, "--failed-csv", str(fix)]) == 1
        said = capsys.readouterr().out
        assert f"wrote 2 rows (0 failed, 2 invalid) to {fix}" in said
        assert (
            "1 failed row in doubt (an attempt may have been sent) left out: a fix would send "
            f"them again; broadcaster reconcile {results} looks them up first"
        ) in said
        assert [row["line"] for row in exported(fix)] == ["4", "6"]

    def test_an_input_changed_since_the_run_is_refused(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source, results = sent
        source.write_text(CAMPAIGN + "+14155550105,Ed,55\n")
        fix = tmp_path / "fix.csv"
        page = tmp_path / "report.html"
        assert main(["report", results, "--failed-csv", str(fix), "--html", str(page)]) == 2
        out, err = capsys.readouterr()
        assert f"{source} changed since the journal's last run read it" in err
        assert (out, fix.exists(), page.exists()) == ("", False, False)  # nothing half done

    @pytest.mark.parametrize("which", ["input", "journal"])
    def test_it_never_writes_over_the_input_or_the_journal(
        self, sent: tuple[Path, str], capsys: pytest.CaptureFixture[str], which: str
    ) -> None:
        source, results = sent
        target = str(source) if which == "input" else results
        before = Path(target).read_bytes()
        assert main(["report", results, "--failed-csv", target]) == 2
        assert "give a path of its own" in capsys.readouterr().err
        assert Path(target).read_bytes() == before

    def test_the_export_keeps_to_the_umask(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """It holds phone numbers: a user whose umask keeps files private gets a private one."""
        _, results = sent
        fix = tmp_path / "fix.csv"
        old = os.umask(0o077)
        try:
            main(["report", results, "--failed-csv", str(fix)])
        finally:
            os.umask(old)
        capsys.readouterr()
        assert stat.S_IMODE(fix.stat().st_mode) == 0o600

    def test_it_takes_one_journal(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, results = sent
        other = tmp_path / "other.results.jsonl"
        other.write_bytes(Path(results).read_bytes())
        assert main(["report", results, str(other), "--failed-csv", str(tmp_path / "f")]) == 2
        assert "--failed-csv reads one journal's input" in capsys.readouterr().err


class TestRoundTrip:
    def test_a_fixed_row_goes_out_and_unchanged_rows_are_not_sent_twice(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Fix the refused creator and one bad number; leave the other bad number as it is.

        creator_id is not part of a key: the fixed row is its failed message again, which
        --retry-failed sends (with the same local_id)."""
        _, results = sent
        fix = export(results, tmp_path)
        text = fix.read_text(encoding="utf-8")
        fix.write_text(text.replace("999", "55").replace("\n12,", "\n+14155550102,"))
        capsys.readouterr()
        argv = ["resume", results, "--input", str(fix), "--retry-failed", "--quiet"]
        assert main(argv) == 1  # line 6 is still invalid
        out = capsys.readouterr().out
        assert "rows      3: 2 sent, 0 failed, 1 invalid" in out
        assert "sandbox   2 messages committed" in out
        report = report_json(results, capsys)
        assert report["rows"] == {"total": 6, "sent": 4, "failed": 0, "invalid": 1, "skipped": 1}

    def test_a_second_export_of_an_export_keeps_one_set_of_columns(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, results = sent
        fix, again = tmp_path / "fix.csv", tmp_path / "again.csv"
        main(["report", results, "--failed-csv", str(fix)])
        main(["resume", results, "--input", str(fix), "--quiet"])
        main(["report", results, "--failed-csv", str(again)])
        capsys.readouterr()
        rows = exported(again)
        assert list(rows[0]).count("reason") == 1
        assert [row["line"] for row in rows] == ["2", "3", "4"]  # lines of fix.csv now


class TestFormulas:
    @pytest.mark.parametrize("cell", ["=1+1", "+14155550100", "-2", "@SUM(A1)", "\tx", "\rx"])
    def test_formula_cells_are_escaped_and_read_back(self, cell: str) -> None:
        assert escape_formula(cell) == "'" + cell
        assert unescape_formula(escape_formula(cell)) == cell

    @pytest.mark.parametrize("cell", ["Ann", "'quoted'", "", "1+1", "'"])
    def test_other_cells_are_left_alone(self, cell: str) -> None:
        assert escape_formula(cell) == cell
        assert unescape_formula(cell) == cell

    @pytest.mark.parametrize("cell", ["'=)", "''+1", "'@x", "=", "'", "''", "x'=", "\t'"])
    def test_every_cell_comes_back_as_it_was(self, cell: str) -> None:
        assert unescape_formula(escape_formula(cell)) == cell
        assert not escape_formula(cell).startswith(FORMULA_STARTS)

    def test_the_csv_reader_takes_the_escape_off_in_an_export(self, tmp_path: Path) -> None:
        path = tmp_path / "x.csv"
        path.write_text("phone_number,text,replaces\n'+14155550100,'=hi,k\n")
        with read_rows(str(path)) as rows:
            [record] = list(rows)
        assert record.fields == {"phone_number": "+14155550100", "text": "=hi", "replaces": "k"}

    def test_any_other_file_is_read_as_written(self, tmp_path: Path) -> None:
        """A name that is ``'=)`` is the customer's content, not an escape."""
        path = tmp_path / "x.csv"
        path.write_text("phone_number,first_name\n+14155550100,'=)\n")
        with read_rows(str(path)) as rows:
            [record] = list(rows)
        assert record.fields["first_name"] == "'=)"


class TestMidCampaign:
    """The trial's first finding: a fix file sent with resume --input, while the campaign's own
    input still had rows with no record, hid those rows from the report."""

    @pytest.fixture
    def stopped(self, sent: tuple[Path, str]) -> tuple[Path, str]:
        source, results = sent
        lines = Path(results).read_bytes().splitlines(keepends=True)
        lost = (b'"row":6,', b'"row":7,')  # as if killed before these two rows ended
        Path(results).write_bytes(b"".join(ln for ln in lines if not any(r in ln for r in lost)))
        return source, results

    def test_the_export_names_the_rows_not_ended_and_leaves_them_out(
        self, stopped: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, results = stopped
        fix = export(results, tmp_path)
        said = capsys.readouterr().out
        first = "2 rows of the input have no record yet: send them first, with broadcaster resume"
        assert f"{first} {results}" in said
        assert [row["line"] for row in exported(fix)] == ["3", "4"]

    def test_after_a_fix_run_what_is_left_of_the_campaign_input_is_still_said(
        self, stopped: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source, results = stopped
        fix = export(results, tmp_path)
        main(["resume", results, "--input", str(fix), "--quiet"])
        capsys.readouterr()
        assert main(["report", results]) == 1
        out = capsys.readouterr().out
        assert "ended, 2 not yet: " in out
        assert "2 rows not ended (spring.csv 2, fix.csv 0)" in out
        assert f"then run: broadcaster resume {results} --input {source}" in out
        assert main(["resume", results, "--input", str(source), "--quiet"]) == 1
        assert "rows      6: 1 sent, 0 failed, 1 invalid" in capsys.readouterr().out
        report = report_json(results, capsys)
        assert report["rows"]["total"] == 6
        assert report["left"][0]["not_ended"] == 0

    def test_a_fix_run_does_not_call_the_fix_files_rows_edited(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, results = sent
        fix = export(results, tmp_path)
        main(["resume", results, "--input", str(fix)])
        err = capsys.readouterr().err
        assert "are settled and not sent again; 2 others have no record yet" in err
        assert "edited" not in err


class TestOutputs:
    @pytest.mark.parametrize("option", ["--html", "--failed-csv"])
    def test_an_output_never_replaces_the_input(
        self, sent: tuple[Path, str], capsys: pytest.CaptureFixture[str], option: str
    ) -> None:
        source, results = sent
        before = source.read_bytes()
        assert main(["report", results, option, str(source)]) == 2
        assert "is a file the report reads: give a path of its own" in capsys.readouterr().err
        assert source.read_bytes() == before

    def test_an_output_never_replaces_another_journal(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, results = sent
        other = tmp_path / "other.results.jsonl"
        other.write_bytes(Path(results).read_bytes())
        assert main(["report", results, "--failed-csv", str(other)]) == 2
        assert "is a results journal: give a path of its own" in capsys.readouterr().err

    def test_the_two_outputs_are_two_files(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, results = sent
        out = str(tmp_path / "same")
        assert main(["report", results, "--html", out, "--failed-csv", out]) == 2
        assert f"--failed-csv {out} is the --html file too" in capsys.readouterr().err

    @pytest.mark.parametrize("target", ["-", "/dev/null"])
    def test_an_output_is_a_file(
        self, sent: tuple[Path, str], capsys: pytest.CaptureFixture[str], target: str
    ) -> None:
        _, results = sent
        assert main(["report", results, "--failed-csv", target]) == 2
        assert "--failed-csv" in capsys.readouterr().err


class TestReplaced:
    """A row a fix file replaced is never sent again, and the rows still add up."""

    def fix(self, sent: tuple[Path, str], tmp_path: Path, edit: tuple[str, str]) -> Path:
        _, results = sent
        fix = export(results, tmp_path)
        fix.write_text(fix.read_text(encoding="utf-8").replace(*edit))
        return fix

    def test_the_campaign_file_does_not_send_a_replaced_row_again(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Bob's row failed; the fix (a new name, so a new message) went out; a --retry-failed
        over the campaign file must not send Bob's old message as well."""
        source, results = sent
        fix = self.fix(sent, tmp_path, ("'+14155550101,Bob,999", "'+14155550101,Robert,55"))
        main(["resume", results, "--input", str(fix), "--retry-failed", "--quiet"])
        assert "sandbox   1 message committed" in capsys.readouterr().out
        main(["resume", results, "--input", str(source), "--retry-failed", "--quiet"])
        out = capsys.readouterr().out
        assert "sandbox   0 messages committed" in out
        assert "earlier   6 settled by earlier runs: 3 sent, 1 skipped, 2 invalid" in out
        rows = report_json(results, capsys)["rows"]
        assert rows == {"total": 6, "sent": 3, "failed": 0, "invalid": 2, "skipped": 1}

    def test_a_fix_whose_message_was_already_sent_is_marked_and_counted_once(
        self, sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Bob's row, fixed into Ann's message (sent at line 2): nothing to send or record but
        a replaced marker, and the report counts the row as a duplicate."""
        _, results = sent
        fix = self.fix(sent, tmp_path, ("'+14155550101,Bob,999", "'+14155550100,Ann,55"))
        main(["resume", results, "--input", str(fix), "--quiet"])
        capsys.readouterr()
        markers = [
            orjson.loads(line)
            for line in Path(results).read_bytes().splitlines()
            if b'"type":"replaced"' in line
        ]
        assert len(markers) == 1
        rows = report_json(results, capsys)["rows"]
        assert rows == {"total": 6, "sent": 2, "failed": 0, "invalid": 2, "skipped": 2}
        main(["resume", results, "--input", str(fix), "--quiet"])  # again: no second marker
        assert Path(results).read_bytes().count(b'"type":"replaced"') == 1


def test_after_a_fix_run_the_retry_command_names_the_file_that_holds_the_failures(
    sent: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob's row gave up on 503s (a resend may get through); the fix file fixed the invalid
    rows only. The retry must read the campaign file, not the fix file the last run read."""
    source, results = sent
    journal = Path(results)
    journal.write_bytes(journal.read_bytes().replace(b'"http_status":400', b'"http_status":503'))
    fix = export(results, tmp_path)
    rows = fix.read_text(encoding="utf-8").splitlines()
    fix.write_text("\n".join(line for line in rows if "Bob" not in line) + "\n")
    main(["resume", results, "--input", str(fix), "--quiet"])
    capsys.readouterr()
    main(["report", results, "--format", "json"])
    [left] = orjson.loads(capsys.readouterr().out)["left"]
    assert left["command"] == f"broadcaster resume {results} --input {source} --retry-failed"
    assert [entry["failed_retryable"] for entry in left["inputs"]] == [1, 0]
