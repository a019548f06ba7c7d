from __future__ import annotations

import io

import orjson
import structlog

from broadcaster.logs import StderrLogger, configure_logging


class TestLogs:
    def test_json_lines(self) -> None:
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

    def test_a_closed_stream_never_stops_the_run(self) -> None:
        stream = io.StringIO()
        stream.close()
        StderrLogger(stream).msg("lost, harmlessly")

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
