from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog

from broadcaster.errors import UsageError
from broadcaster.logs import LogFile, StderrLogger, configure_logging


class TestLogs:
    def test_the_json_format_writes_one_object_per_event(self) -> None:
        stream = io.StringIO()
        configure_logging("json", stream=stream)
        structlog.get_logger().warning("paused", seconds=1.5)
        event = orjson.loads(stream.getvalue())
        assert (event["event"], event["level"], event["seconds"]) == ("paused", "warning", 1.5)

    def test_quiet_keeps_warnings_only(self) -> None:
        stream = io.StringIO()
        configure_logging("console", quiet=True, stream=stream)
        structlog.get_logger().info("progress")
        structlog.get_logger().warning("failed")
        assert "progress" not in stream.getvalue()
        assert "failed" in stream.getvalue()

    def test_a_stream_that_fails_never_stops_the_run(self) -> None:
        """A closed stderr or a broken pipe drops the line; the caller goes on."""

        class Broken(io.StringIO):
            attempts = 0

            def write(self, _: str) -> int:
                self.attempts += 1
                raise BrokenPipeError(32, "Broken pipe")

        broken, closed = Broken(), io.StringIO()
        closed.close()
        for stream in (broken, closed):
            StderrLogger(stream).msg("lost, harmlessly")  # raises nothing
        assert broken.attempts == 1

    def test_on_a_terminal_a_log_line_clears_the_progress_line_first(self) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        terminal = Terminal()
        terminal.write("[####....] 40/80 rows")
        StderrLogger(terminal).msg("paused")
        assert terminal.getvalue() == "[####....] 40/80 rows\r\x1b[2Kpaused\n"
        piped = io.StringIO()
        StderrLogger(piped).msg("paused")
        assert piped.getvalue() == "paused\n"


class TestVerbose:
    def test_verbose_lets_debug_events_through(self) -> None:
        stream = io.StringIO()
        configure_logging("json", stream=stream, verbose=True)
        structlog.get_logger().debug("attempt", attempt=1)
        assert orjson.loads(stream.getvalue())["event"] == "attempt"

    def test_without_it_debug_events_are_dropped_by_the_bound_logger(self) -> None:
        """Below the level, no processor runs: a debug event costs a method call."""
        stream = io.StringIO()
        configure_logging("json", stream=stream)
        logger = structlog.get_logger()
        logger.debug("attempt", attempt=1)
        assert stream.getvalue() == ""
        assert not logger.is_enabled_for(10)

    def test_verbose_with_quiet_is_a_usage_error(self) -> None:
        with pytest.raises(UsageError, match="--verbose and --quiet"):
            configure_logging(quiet=True, verbose=True)


def logging_to(path: Path | str, **options: Any) -> LogFile:
    sink = configure_logging(log_file=str(path), **options)
    assert sink is not None
    return sink


class TestLogFile:
    def test_it_gets_the_json_line_stderr_would_get_in_json(self, tmp_path: Path) -> None:
        path, console, json = tmp_path / "run.log", io.StringIO(), io.StringIO()
        sink = logging_to(path, log_format="console", stream=console)
        structlog.get_logger().warning("paused", seconds=1.5, cause="HTTP 429")
        sink.close()
        configure_logging("json", stream=json)
        structlog.get_logger().warning("paused", seconds=1.5, cause="HTTP 429")
        in_file, on_stderr = orjson.loads(path.read_bytes()), orjson.loads(json.getvalue())
        assert in_file.pop("timestamp") != on_stderr.pop("timestamp")
        assert (
            in_file
            == on_stderr
            == {
                "event": "paused",
                "level": "warning",
                "seconds": 1.5,
                "cause": "HTTP 429",
            }
        )
        assert "paused" in console.getvalue()
        assert not console.getvalue().startswith("{")

    def test_it_is_appended_to(self, tmp_path: Path) -> None:
        path = tmp_path / "run.log"
        path.write_bytes(b'{"event":"an earlier run"}\n')
        sink = logging_to(path, stream=io.StringIO())
        structlog.get_logger().info("resuming")
        sink.close()
        lines = [orjson.loads(line)["event"] for line in path.read_bytes().splitlines()]
        assert lines == ["an earlier run", "resuming"]

    def test_quiet_quiets_stderr_not_the_log_file(self, tmp_path: Path) -> None:
        """--quiet is about the terminal; the log file was asked for by name."""
        path, stream = tmp_path / "run.log", io.StringIO()
        sink = logging_to(path, log_format="json", quiet=True, stream=stream)
        structlog.get_logger().info("progress", rows=1)
        structlog.get_logger().debug("attempt")
        structlog.get_logger().warning("failed", row=2)
        sink.close()
        in_file = [orjson.loads(line)["event"] for line in path.read_bytes().splitlines()]
        on_stderr = [orjson.loads(line)["event"] for line in stream.getvalue().splitlines()]
        assert (in_file, on_stderr) == (["progress", "failed"], ["failed"])

    def test_verbose_reaches_the_log_file(self, tmp_path: Path) -> None:
        path = tmp_path / "run.log"
        sink = logging_to(path, stream=io.StringIO(), verbose=True)
        structlog.get_logger().debug("attempt", attempt=1)
        sink.close()
        assert orjson.loads(path.read_bytes())["level"] == "debug"

    @pytest.mark.parametrize("name", ["missing/run.log", "."])
    def test_a_path_that_cannot_be_opened_is_a_usage_error(self, tmp_path: Path, name: str) -> None:
        path = tmp_path / name
        with pytest.raises(UsageError, match=rf"^--log-file {path}: cannot open it \("):
            configure_logging(log_file=str(path))

    def test_a_write_that_fails_drops_the_line_and_warns_once(self) -> None:
        """A full disk: the events go on to stderr, and one warning says the file lacks them."""
        stream = io.StringIO()
        sink = logging_to("/dev/full", log_format="json", stream=stream)
        for row in range(3):
            structlog.get_logger().warning("failed", row=row)
        sink.close()
        events = [orjson.loads(line) for line in stream.getvalue().splitlines()]
        assert [(e["event"], e.get("row")) for e in events] == [
            ("log file not written", None),
            ("failed", 0),
            ("failed", 1),
            ("failed", 2),
        ]
        assert events[0]["path"] == "/dev/full"
        assert events[0]["reason"] == "No space left on device"

    def test_after_a_short_write_the_next_line_starts_on_a_line_of_its_own(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "run.log"
        sink = LogFile.open(str(path))
        real_write = os.write
        monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:10]))
        structlog.configure(processors=[sink, structlog.processors.JSONRenderer()])
        structlog.get_logger().info("torn")
        monkeypatch.undo()
        structlog.get_logger().info("whole")
        sink.close()
        assert path.read_bytes().splitlines()[-1] == b'{"event":"whole"}'

    def test_nothing_is_written_after_close(self, tmp_path: Path) -> None:
        """Its descriptor may already be another file's: a late event goes to stderr only."""
        path, stream = tmp_path / "run.log", io.StringIO()
        logging_to(path, log_format="json", stream=stream).close()
        structlog.get_logger().warning("late")
        assert path.read_bytes() == b""
        assert orjson.loads(stream.getvalue())["event"] == "late"
