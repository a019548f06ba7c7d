from __future__ import annotations

import io

import orjson
import structlog

from broadcaster.logs import StderrLogger, configure_logging


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
