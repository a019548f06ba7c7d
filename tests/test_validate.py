from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from broadcaster.cli import main
from broadcaster.plan import Defaults, Message, plan
from broadcaster.reader import read_rows

Write = Callable[[str, "str | bytes"], str]
SAMPLE = Path(__file__).parent.parent / "sample_data"
DEMO_OPTIONS = [
    "--default-country-code",
    "1",
    "--text",
    "Hi {{first_name}}, see you {{appointment}}.",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``validate`` without its preview of the first messages (``test_preview`` has it)."""
    code = main([*argv, "--preview", "0"] if argv[0] == "validate" else list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestSampleCampaign:
    @pytest.mark.parametrize("name", ["campaign.csv", "campaign.jsonl"])
    def test_the_sample_campaign_is_valid_in_either_format(
        self, capsys: pytest.CaptureFixture[str], name: str
    ) -> None:
        code, out, err = run(capsys, "validate", str(SAMPLE / name), *DEMO_OPTIONS)
        assert (code, err) == (0, "")
        assert out.splitlines()[0] == "rows      30: 30 valid, 0 invalid"
        assert "phone_number 29, chat_id 1" in out
        assert "1 MMS, 1 private" in out

    def test_csv_and_jsonl_give_the_same_keys(self) -> None:
        """The same campaign in either format sends the same messages under the same keys."""
        defaults = Defaults("campaign", region="US", text="Hi {{first_name}}")

        def keys(name: str) -> list[str]:
            with read_rows(str(SAMPLE / name)) as rows:
                planned = [plan(record, defaults) for record in rows]
            assert all(isinstance(p, Message) for p in planned)
            return [p.key for p in planned]

        assert keys("campaign.csv") == keys("campaign.jsonl")

    def test_the_sample_writes_phone_numbers_in_several_ways(self) -> None:
        text = (SAMPLE / "campaign.csv").read_text(encoding="utf-8")
        for written in ("+1 (415)", "415-555", "1.415.555", "415.555", "628 555"):
            assert written in text


class TestNewUserMistakes:
    def test_each_bad_row_is_reported_at_its_line(
        self, capsys: pytest.CaptureFixture[str], write: Write
    ) -> None:
        path = write(
            "mistakes.csv",
            "phone_number,chat_id,text,media_url,private,name,inbox_id,creator_id\n"
            "14155550100,,Hello {{name}},,,Ann,101,55\n"
            "555-01,,Hello {{name}},,,Bob,101,55\n"
            "14155550102,77,Hello {{name}},,,Cy,101,55\n"
            ",,Hello {{name}},,,Di,101,55\n"
            "14155550104,,Hello,,,Ed,101\n"
            '14155550105,,"Hello\n{{name}}",,,Fay,101,55\n'
            "14155550106,,Hello {{surname}},,,Gus,101,55\n"
            "14155550107,,Look,ftp://x/y.png,,Hal,101,55\n"
            "14155550108,,Note,,maybe,Ivy,101,55\n"
            "14155550100,,Hello {{name}},,,Ann,101,55\n",
        )
        code, out, err = run(capsys, "validate", path)
        assert (code, err) == (1, "")
        assert out.splitlines()[:7] == [
            (
                f"{path}:3: phone_number: '555-01' is not a valid phone number in US: too short "
                "(write it with + and the country code, or pass --region)"
            ),
            f"{path}:4: chat_id: give only one target, not both phone_number and chat_id",
            f"{path}:5: row: no target: give phone_number, chat_id, list_id or targets",
            f"{path}:6: row: has 7 fields, the header has 8",
            (
                f"{path}:9: text: no value for {{{{surname}}}} (give the field a value, or write "
                "{{name|default}})"
            ),
            f"{path}:10: media_url: 'ftp://x/y.png' is not an http(s) URL",
            f"{path}:11: private: expected true or false, got 'maybe'",
        ]
        assert out.splitlines()[7] == (
            "rows      10: 3 valid, 7 invalid, 1 duplicate (sent once, then skipped)"
        )

    def test_broken_jsonl_lines_are_reported_at_their_line(
        self, capsys: pytest.CaptureFixture[str], write: Write
    ) -> None:
        path = write(
            "m.jsonl",
            '{"chat_id": 1, "text": "ok", "inbox_id": 101, "creator_id": 55}\n'
            '{"chat_id": 2, "text": \n'
            "[1, 2]\n",
        )
        code, out, _ = run(capsys, "validate", path)
        assert code == 1
        assert out.splitlines()[:2] == [
            f"{path}:2: row: is not valid JSON: unexpected end of data at character 24",
            f"{path}:3: row: is a JSON array, not an object",
        ]

    def test_a_dash_reads_the_campaign_from_stdin(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        stdin = io.TextIOWrapper(io.BytesIO(b"phone_number,text\n14155550100,hi\n"))
        monkeypatch.setattr(sys, "stdin", stdin)
        code, out, _ = run(capsys, "validate", "-", "--inbox-id", "1", "--creator-id", "2")
        assert code == 0
        assert out.startswith("rows      1: 1 valid, 0 invalid")


class TestSummary:
    def test_the_summary_counts_segments_and_estimates_the_time(
        self, capsys: pytest.CaptureFixture[str], write: Write
    ) -> None:
        path = write("s.csv", "phone_number,text\n14155550100," + "a" * 161 + "\n14155550101,Zoë\n")
        code, out, _ = run(
            capsys, "validate", path, "--inbox-id", "1", "--creator-id", "2", "--rate", "1/m"
        )
        assert code == 0
        assert "messages  2 SMS in 3 segments (1 need UCS-2), 0 MMS, 0 private" in out
        assert "time      2 requests at 1/m: about 2m 00s" in out

    def test_a_rate_of_0_is_summarised_as_unpaced(
        self, capsys: pytest.CaptureFixture[str], write: Write
    ) -> None:
        path = write("s.csv", "chat_id,text\n1,x\n")
        _, out, _ = run(
            capsys, "validate", path, "--inbox-id", "1", "--creator-id", "2", "--rate", "0"
        )
        assert "1 request at 0/s: unpaced" in out


class TestUsageErrors:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("", "the file is empty"),
            ("14155550100,hello\n", "line 1 is not a header row"),
        ],
    )
    def test_file_errors_are_one_line_exit_2(
        self, capsys: pytest.CaptureFixture[str], write: Write, content: str, message: str
    ) -> None:
        path = write("bad.csv", content)
        code, out, err = run(capsys, "validate", path)
        assert (code, out) == (2, "")
        assert err.startswith(f"error: {path}: ")
        assert message in err
        assert err.count("\n") == 1

    def test_a_missing_file_is_one_line_and_exit_2(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, _, err = run(capsys, "validate", str(tmp_path / "nope.csv"))
        assert code == 2
        assert err == f"error: {tmp_path / 'nope.csv'}: no such file\n"

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--rate", "fast"], "expected N, N/s, N/m or N/h"),
            (["--inbox-id", "0"], "must be at least 1"),
            (["--default-country-code", "x"], "country code"),
            (["--region", "XX"], "XX"),
            (["--region", "GB", "--default-country-code", "1"], "disagree"),
            (["--text", "Hi {first_name}"], "single braces"),
            (["--media-url", "ftp://x/y.png"], "is not an http(s) URL"),
            (["--media-url", "https://x/{{img}"], "unclosed merge field"),
            (["--backoff-base", "5", "--backoff-cap", "0.1"], "is below --backoff-base 5"),
            (["--format", "xml"], "invalid choice"),
        ],
    )
    def test_a_bad_option_exits_2_with_a_message_not_a_traceback(
        self, capsys: pytest.CaptureFixture[str], write: Write, argv: list[str], message: str
    ) -> None:
        path = write("ok.csv", "chat_id,text\n1,x\n")
        code, _, err = run(capsys, "validate", path, *argv)
        assert code == 2
        assert message in err
        assert "Traceback" not in err

    def test_help_exits_0_and_shows_the_options(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "validate", "--help")
        assert code == 0
        assert "--default-country-code" in out


class TestRegion:
    def test_national_numbers_are_read_in_the_region_given(
        self, capsys: pytest.CaptureFixture[str], write: Write
    ) -> None:
        path = write("uk.csv", "phone_number,text\n07911 123456,hi\n020 7946 0958,hi\n")
        assert run(capsys, "validate", path, "--inbox-id", "1", "--creator-id", "2")[0] == 1
        for argv in (["--region", "gb"], ["--default-country-code", "+44"]):
            code, out, _ = run(
                capsys, "validate", path, "--inbox-id", "1", "--creator-id", "2", *argv
            )
            assert code == 0, out

    def test_a_reused_local_id_is_reported_like_the_run_records_it(
        self, capsys: pytest.CaptureFixture[str], write: Write
    ) -> None:
        path = write(
            "own.csv",
            "phone_number,text,local_id\n14155550100,a,order-1\n14155550100,b,order-1\n"
            "14155550100,a,order-1\n",
        )
        code, out, _ = run(capsys, "validate", path, "--inbox-id", "1", "--creator-id", "2")
        assert code == 1
        assert out.splitlines()[:2] == [
            f"{path}:3: local_id: order-1 is already used by line 2 for another message",
            "rows      3: 2 valid, 1 invalid, 1 duplicate (sent once, then skipped)",
        ]

    @pytest.mark.parametrize(
        ("name", "content"), [("e.jsonl", ""), ("e.jsonl", "\n\n"), ("e.csv", "")]
    )
    def test_an_empty_file_exits_2_in_either_format(
        self, capsys: pytest.CaptureFixture[str], write: Write, name: str, content: str
    ) -> None:
        path = write(name, content)
        for command in ("validate", "send"):
            option = "--dry-run" if command == "send" else "--quiet"
            code, _, err = run(capsys, command, path, option)
            assert code == 2
            assert err.startswith(f"error: {path}: the file is empty")

    def test_a_header_with_no_rows_exits_2_with_the_reason(
        self, capsys: pytest.CaptureFixture[str], write: Write
    ) -> None:
        path = write("h.csv", "phone_number,text\n\n")
        code, _, err = run(capsys, "validate", path)
        assert (code, err) == (2, f"error: {path}: the file has a header and no rows\n")


def test_validate_lists_what_it_reads_and_accepts_what_only_sending_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One command line serves send and validate; validate's help lists only what it reads."""
    assert main(["validate", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--rate" in shown
    assert "--preview" in shown
    assert not any(flag in shown for flag in ("--yes", "--concurrency", "--grace", "--log-file"))
    argv = ["validate", str(SAMPLE / "campaign.csv"), *DEMO_OPTIONS, "--yes", "--concurrency", "3"]
    assert main(argv) == 0


class TestMergeFields:
    @staticmethod
    def argv(path: Path, text: str) -> list[str]:
        return ["validate", str(path), "--inbox-id", "1", "--creator-id", "2", "--text", text]

    def test_a_merge_field_that_names_no_column_is_said_at_the_header(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """``{{first name|friend}}`` against a `` First Name `` column gave every row the
        default without a word (a trial)."""
        path = tmp_path / "in.csv"
        path.write_text("phone_number, First Name \n4155550100,Ann\n")
        code, out, _ = run(capsys, *self.argv(path, "Hi {{first name|friend}}"))
        assert code == 0
        assert out.startswith(
            f"{path}:1: warning: {{{{first name}}}} names no column of the input: every row "
            "gets its default 'friend' (did you mean {{First Name}}?"
        )

    def test_jsonl_rows_name_their_own_fields_and_say_nothing(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        path = tmp_path / "in.jsonl"
        path.write_text('{"phone_number": "4155550100"}\n')
        code, out, _ = run(capsys, *self.argv(path, "Hi {{name|friend}}"))
        assert (code, "warning" in out) == (0, False)
