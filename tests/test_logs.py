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
