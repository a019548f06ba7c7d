from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.cli import main_parser
from broadcaster.errors import UsageError
from broadcaster.options import settings_from
from broadcaster.rate import parse_rate
from broadcaster.settings import Settings


def parsed(*argv: str) -> Settings:
    return settings_from(main_parser().parse_args(["send", "c.csv", *argv]), {})


class TestSettings:
    def test_a_run_header_records_what_resume_rebuilds(self, tmp_path: Path) -> None:
        settings = Settings(
            input=str(tmp_path / "c.csv"), rate=parse_rate("2/s"), inbox_id=101, region="GB",
            concurrency=3, retry_failed=True, quiet=True,
        )  # fmt: skip
        recorded = settings.record()
        assert (recorded["rate"], recorded["campaign"]) == ("2/s", "c")
        assert "quiet" not in recorded  # how a run is watched is not what it does
        assert "retry_failed" not in recorded  # a decision for one run
        assert Settings.from_record(recorded) == Settings(
            input=str(tmp_path / "c.csv"), rate=parse_rate("2/s"), inbox_id=101, region="GB",
            concurrency=3, campaign="c",
        )  # fmt: skip

    def test_retry_failed_in_an_older_journal_is_not_resumed(self) -> None:
        """Journals before 0.2 recorded it: every later resume re-sent the API's refusals."""
        recorded = {"input": "/data/c.csv", "retry_failed": True, "rate": "480/m"}
        assert Settings.from_record(recorded).retry_failed is False

    def test_resume_replaces_the_recorded_settings_by_the_options_given(self) -> None:
        recorded = Settings(input="/data/c.csv", concurrency=3).record()
        resumed = Settings.from_record(recorded, {"concurrency": 9, "results": "r.jsonl"})
        assert (resumed.concurrency, resumed.results, resumed.input) == (
            9,
            "r.jsonl",
            "/data/c.csv",
        )

    def test_a_journal_of_version_0_1_resumes_with_its_country_code_as_a_region(self) -> None:
        recorded = {"input": "/data/c.csv", "default_country_code": "44", "rate": "480/m"}
        assert Settings.from_record(recorded).region == "GB"

    def test_mistyped_recorded_values_fall_back_to_the_defaults(self) -> None:
        recorded = {"input": "/c.csv", "concurrency": None, "max_attempts": "8", "format": "xml"}
        resumed = Settings.from_record(recorded)
        assert (resumed.concurrency, resumed.max_attempts, resumed.format) == (16, 8, None)


class TestOptions:
    def test_nothing_typed_means_the_settings_defaults(self) -> None:
        assert parsed() == Settings(input="c.csv")

    def test_the_help_shows_the_settings_defaults(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            main_parser().parse_args(["send", "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "requests in flight at most (default 16)" in text
        assert "0 = unpaced (default 480/m)" in text
        assert "(default US)" in text

    def test_the_environment_fills_what_was_not_typed(self) -> None:
        args = main_parser().parse_args(["send", "c.csv", "--creator-id", "7"])
        environ = {"HEYMARKET_INBOX_ID": "101", "HEYMARKET_CREATOR_ID": "55"}
        settings = settings_from(args, environ | {"HEYMARKET_BASE_URL": "http://127.0.0.1:9"})
        assert (settings.inbox_id, settings.creator_id) == (101, 7)
        assert settings.base_url == "http://127.0.0.1:9"

    def test_a_bad_environment_value_names_the_variable(self) -> None:
        args = main_parser().parse_args(["send", "c.csv"])
        with pytest.raises(UsageError, match="HEYMARKET_INBOX_ID: 'x' is not a whole number"):
            settings_from(args, {"HEYMARKET_INBOX_ID": "x"})

    def test_a_calling_code_stands_for_its_region(self) -> None:
        assert parsed("--default-country-code", "44").region == "GB"
        assert parsed("--region", "GB", "--default-country-code", "44").region == "GB"
        with pytest.raises(UsageError, match="disagree"):
            parsed("--region", "GB", "--default-country-code", "1")

    def test_a_media_url_made_whole_from_a_field_is_left_to_each_row(self) -> None:
        assert parsed("--media-url", "{{image}}").media_url == "{{image}}"
        assert parsed("--media-url", "https://cdn.test/{{image}}.png").media_url is not None
