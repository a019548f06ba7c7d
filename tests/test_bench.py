"""``broadcaster bench``'s pure parts: sizes, pacing statistics, CPU samples, verdicts, the
nginx configuration, the workload, the bare loop's schedule, and how the results are written.
No timings asserted."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import re
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from broadcaster.bench import bare, largest, paced, runner, units
from broadcaster.bench.bare import SEND_PATH, Schedule, post_all, post_at
from broadcaster.bench.cpu import stat_ticks, steady_percent
from broadcaster.bench.machine import cpu_model, event_loop, os_name
from broadcaster.bench.nginx import RESPONSE, nginx_config, start_command
from broadcaster.bench.options import BenchOptions, parse_size, parse_sizes, parse_steps
from broadcaster.bench.paced import BareRun, PacedRun
from broadcaster.bench.pacing import WINDOW_US, busiest_second, pacing_of, send_times
from broadcaster.bench.page import render_page
from broadcaster.bench.process import (
    ChildFailedError,
    Report,
    Usage,
    measure,
    median_usage,
    parse_report,
)
from broadcaster.bench.results import About, BenchReport, StepResult, Table, as_json
from broadcaster.bench.servers import own_server_env
from broadcaster.bench.text import aligned, render_text
from broadcaster.bench.verdicts import Verdict, at_least, at_most, only_at, short_count, within
from broadcaster.bench.workload import (
    AREA_CODES,
    HEADER,
    TEXT,
    phone_digits,
    phone_written,
    write_bodies,
    write_campaign,
)
from broadcaster.cli import main
from broadcaster.client import classify
from broadcaster.commands.bench import typed_command
from broadcaster.errors import UsageError
from broadcaster.idempotency import check_local_id
from broadcaster.phones import normalize_phone
from broadcaster.plan import Defaults, Message, plan
from broadcaster.rate import Rate
from broadcaster.reader import read_rows
from broadcaster.testing import VirtualTime

SECOND = 1_000_000  # µs


class TestSizes:
    @pytest.mark.parametrize(
        ("text", "rows"),
        [("2000", 2000), ("10k", 10_000), ("10K", 10_000), ("1M", 1_000_000), ("2.5k", 2500)],
    )
    def test_sizes_are_read_as_people_write_them(self, text: str, rows: int) -> None:
        assert parse_size(text) == rows

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("10x", "'10x' is not a size: expected a row count such as 2000, 10k or 1M"),
            ("", "'' is not a size"),
            ("-5", "'-5' is not a size"),
            ("0", "'0': a size is at least 1 row"),
            ("1.5", "'1.5' is not a whole number of rows"),
        ],
    )
    def test_a_bad_size_says_what_is_expected(self, text: str, message: str) -> None:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            parse_size(text)

    def test_sizes_come_smallest_first_once_each(self) -> None:
        assert parse_sizes("1M,10k,100k,10000") == (10_000, 100_000, 1_000_000)

    def test_no_size_at_all_is_refused(self) -> None:
        with pytest.raises(argparse.ArgumentTypeError, match="expected sizes separated by"):
            parse_sizes(" , ")

    def test_steps_run_in_their_own_order(self) -> None:
        assert parse_steps("help,throughput") == ("throughput", "help")

    def test_an_unknown_step_is_named(self) -> None:
        with pytest.raises(argparse.ArgumentTypeError, match="unknown step 'speed': expected"):
            parse_steps("throughput,speed")

    def test_a_bad_size_on_the_command_line_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["bench", "--sizes", "10k,lots"]) == 2
        err = capsys.readouterr().err
        assert "error: argument --sizes: 'lots' is not a size" in err
        assert "Traceback" not in err


class TestPacing:
    def test_a_request_one_second_later_is_in_the_next_second(self) -> None:
        assert busiest_second([0, SECOND], SECOND) == 1

    def test_a_request_just_under_a_second_later_is_in_the_same_second(self) -> None:
        assert busiest_second([0, SECOND - 1], SECOND) == 2

    def test_the_busiest_window_need_not_start_at_the_first_request(self) -> None:
        times = [0, SECOND // 2, SECOND, SECOND * 3 // 2 - 1, 2 * SECOND]
        assert busiest_second(times, SECOND) == 3  # [0.5 s, 1.5 s)

    def test_the_window_leaves_out_the_journals_rounding(self) -> None:
        # 1,002 requests a millisecond apart span 1.001 s: measured to the millisecond, they
        # may have left within one second, or not; the window counts only what surely did.
        times = [n * 1_000 for n in range(1_002)]
        assert busiest_second(times) == WINDOW_US // 1_000 + 1
        assert busiest_second(times, SECOND) == 1_000

    def test_no_requests_have_no_busy_second(self) -> None:
        assert busiest_second([]) == 0

    def test_even_gaps_give_the_rate(self) -> None:
        pacing = pacing_of([n * 125_000 for n in range(9)])  # 8/s over 1 s
        assert pacing.requests == 9
        assert pacing.mean_rate == pytest.approx(8.0)
        assert pacing.busiest_second == 8
        assert (pacing.gap_p50_ms, pacing.gap_p99_ms, pacing.gap_max_ms) == (125.0, 125.0, 125.0)

    def test_the_mean_is_gaps_over_the_span(self) -> None:
        """Three requests over 0.3 s are two gaps: 6.67/s, not 10/s."""
        pacing = pacing_of([0, 100_000, 300_000])
        assert pacing.mean_rate == pytest.approx(2 / 0.3)
        assert (pacing.gap_p50_ms, pacing.gap_max_ms) == (100.0, 200.0)

    def test_the_tail_of_the_gaps_is_their_99th_percentile(self) -> None:
        times = list(itertools.accumulate([0] + [10_000] * 98 + [50_000, 90_000]))
        pacing = pacing_of(times)
        assert (pacing.gap_p50_ms, pacing.gap_p99_ms, pacing.gap_max_ms) == (10.0, 50.0, 90.0)

    @pytest.mark.parametrize("times", [[], [5]])
    def test_fewer_than_two_requests_have_no_rate(self, times: list[int]) -> None:
        pacing = pacing_of(times)
        assert (pacing.mean_rate, pacing.gap_p50_ms) == (None, None)
        assert pacing.busiest_second == len(times)

    def test_send_times_are_completion_less_latency(self) -> None:
        lines = [
            b'{"type":"run","started_at":"2026-01-01T00:00:00+00:00"}',
            b'{"status":"sent","at":"2026-01-01T00:00:01.000+00:00","latency_ms":250.0}',
            b'{"status":"sent","at":"2026-01-01T00:00:01.100+00:00","latency_ms":0.4}',
            b'{"type":"pause","at":"2026-01-01T00:00:02.000+00:00","seconds":1}',
            b'{"status":"invalid","at":"2026-01-01T00:00:02.000+00:00","latency_ms":null}',
            b'{"status":"sent","at":"2026-01-01T00:0',  # torn by a crash
        ]
        start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * SECOND
        assert [time - start for time in send_times(lines)] == [750_000, 1_099_600]


class TestCpu:
    def test_ticks_are_read_after_a_command_name_with_parentheses(self) -> None:
        stat = "42 (odd (name) x) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 99"
        assert stat_ticks(stat) == 300

    def test_this_process_has_ticks(self) -> None:
        if not Path("/proc/self/stat").exists():
            pytest.skip("no /proc on this system")
        assert stat_ticks(Path(f"/proc/{os.getpid()}/stat").read_text()) >= 0

    def test_steady_cpu_leaves_start_up_and_teardown_out(self) -> None:
        """A burst at start-up (1 s of CPU) and at exit is not the steady 10% of a core."""
        samples = [(float(t), 100 + 10 * t) for t in range(1, 10)] + [(10.0, 500)]
        assert steady_percent(samples, 0.0, 10.0, 100) == pytest.approx(10.0)

    def test_too_few_samples_are_not_measured(self) -> None:
        assert steady_percent([(5.0, 10)], 0.0, 10.0, 100) is None
        assert steady_percent([], 0.0, 10.0, 100) is None


class TestVerdicts:
    def test_a_verdict_is_one_line_with_its_target(self) -> None:
        verdict = at_least("send vs bare aiohttp", 0.931, 0.90, units.RATIO)
        assert verdict.line() == "PASS  send vs bare aiohttp: 0.93x (target >= 0.90x)"

    def test_at_most_is_met_at_the_limit(self) -> None:
        assert at_most("peak", 60.0, 60.0, units.MEGABYTES).status == "PASS"
        assert at_most("peak", 60.01, 60.0, units.MEGABYTES).status == "FAIL"

    def test_at_least_is_met_at_the_limit(self) -> None:
        assert at_least("ratio", 0.9, 0.9, units.RATIO).status == "PASS"
        assert at_least("ratio", 0.8999, 0.9, units.RATIO).status == "FAIL"

    @pytest.mark.parametrize(
        ("value", "status"), [(102.0, "PASS"), (98.0, "PASS"), (102.5, "FAIL"), (97.9, "FAIL")]
    )
    def test_within_holds_both_ways(self, value: float, status: str) -> None:
        assert within("mean", value, 100.0, 0.02, units.PER_SECOND).status == status

    def test_what_was_not_measured_is_skipped_never_passed(self) -> None:
        verdict = at_most("steady CPU", None, 0.5, units.CORE_PERCENT)
        assert verdict == Verdict("SKIP", "steady CPU", "not measured", "<= 0.50% of a core")

    def test_a_baseline_beside_the_figure_follows_the_target(self) -> None:
        verdict = Verdict("FAIL", "steady CPU", "1.28%", "<= 0.50%", beside="bare: 0.60%")
        assert verdict.line() == "FAIL  steady CPU: 1.28% (target <= 0.50%; bare: 0.60%)"

    def test_a_baseline_beside_is_kept_when_the_target_is_not_held(self) -> None:
        verdict = Verdict("PASS", "validate", "4.20 s", "<= 15.00 s", beside="bare: 1.00 s")
        assert only_at(100_000, 1_000_000, verdict).beside == "bare: 1.00 s"

    def test_a_target_for_a_million_rows_is_not_held_to_fewer(self) -> None:
        verdict = only_at(100_000, 1_000_000, at_most("validate", 4.2, 15.0, units.SECONDS))
        assert verdict.line() == (
            "SKIP  validate: 4.20 s (target <= 15.00 s at 1,000,000 rows; not run at 1M)"
        )

    def test_a_target_is_held_at_its_own_size(self) -> None:
        verdict = at_most("validate", 16.0, 15.0, units.SECONDS)
        assert only_at(1_000_000, 1_000_000, verdict) is verdict

    def test_counts_are_shown_as_sizes_are_written(self) -> None:
        assert [short_count(n) for n in (1_000_000, 100_000, 2500)] == ["1M", "100k", "2500"]


class TestNginx:
    def test_the_configuration_keeps_everything_in_the_prefix(self, tmp_path: Path) -> None:
        prefix = tmp_path / "bench x"  # a space: the paths are quoted
        config = nginx_config(prefix, 8123)
        for line in (
            "daemon off;",
            "master_process on;",
            "worker_processes 1;",
            "access_log off;",
            "keepalive_requests 1000000;",
            "listen 127.0.0.1:8123;",
            "location /v1/message/send {",
            "default_type application/json;",
            f"return 200 '{RESPONSE}';",
        ):
            assert line in config
        paths = re.findall(r'^\s*(\w+) "([^"]+)";$', config, re.MULTILINE)
        assert {name for name, _ in paths} == {
            "error_log", "pid", "client_body_temp_path", "proxy_temp_path",
            "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path",
        }  # fmt: skip
        assert all(path.startswith(f"{prefix}/") for _, path in paths)

    def test_its_answer_is_a_sent_message_to_the_engine(self) -> None:
        assert classify(200, {}, RESPONSE.encode(), 0.0).verdict == "sent"

    @pytest.mark.parametrize(
        ("version", "flag"), [("1.22.1", True), ("1.18.0", False), (None, False)]
    )
    def test_the_error_log_flag_only_where_nginx_has_it(
        self, version: str | None, flag: bool
    ) -> None:
        command = start_command("nginx", Path("/p"), version)
        assert command[:5] == ["nginx", "-p", "/p", "-c", "/p/nginx.conf"]
        assert ("-e" in command) is flag


class TestWorkload:
    def test_numbers_are_distinct_and_spread(self) -> None:
        digits = [phone_digits(row) for row in range(50_000)]
        assert len(set(digits)) == len(digits)
        assert {number[1:4] for number in digits[: len(AREA_CODES)]} == {
            str(code) for code in AREA_CODES
        }
        assert len({number[4:7] for number in digits}) > 700  # exchanges

    @pytest.mark.parametrize("start", [0, 999_000, 5_000_000])
    def test_every_number_is_valid_as_written(self, start: int) -> None:
        for row in range(start, start + 1000):
            assert normalize_phone(phone_written(row)) == phone_digits(row), row

    def test_the_bodies_are_the_ones_the_engine_sends(self, tmp_path: Path) -> None:
        campaign = write_campaign(tmp_path / "c.csv", 50)
        bodies = write_bodies(tmp_path / "b.jsonl", 50, run=3, inbox_id=101, creator_id=55)
        defaults = Defaults("c", inbox_id=101, creator_id=55, text=TEXT)
        with read_rows(str(campaign)) as rows:
            planned = [plan(record, defaults) for record in rows]
        posted = [orjson.loads(line) for line in bodies.read_bytes().splitlines()]
        assert campaign.read_text().startswith(HEADER)
        assert all(isinstance(message, Message) for message in planned)
        for message, body in zip(planned, posted, strict=True):
            assert isinstance(message, Message)
            assert {**message.body, "local_id": None} == {**body, "local_id": None}
            assert len(body["local_id"]) == 24
            check_local_id(body["local_id"])
        assert len({body["local_id"] for body in posted}) == 50


class TestProcess:
    def test_a_command_is_measured_alone(self) -> None:
        usage = measure([sys.executable, "-c", "pass"], os.environ, clock=iter([7.0]).__next__)
        assert usage.start == 7.0  # the bench's clock, when the command started
        assert usage.wall > 0
        assert usage.cpu >= 0
        assert usage.peak_rss_kib > 0

    def test_the_peak_is_the_commands_not_the_benchs(self) -> None:
        """A child's ru_maxrss starts at its parent's peak: the spawner keeps ours out."""
        ballast = bytearray(300 * 2**20)
        ballast[:: 2**12] = b"x" * (len(ballast) // 2**12)  # touch every page: resident
        usage = measure([sys.executable, "-c", "pass"], os.environ)
        assert units.megabytes(usage.peak_rss_kib) < 100
        assert len(ballast) == 300 * 2**20

    def test_the_report_is_read_as_the_spawner_writes_it(self) -> None:
        assert parse_report("0 1.25 0.5 40960\n") == Report(0, Usage(1.25, 0.5, 40960))

    def test_a_failed_child_is_an_error_quoting_its_stderr(self) -> None:
        code = "import sys; print('first'); print('the reason', file=sys.stderr); sys.exit(3)"
        with pytest.raises(ChildFailedError) as failed:
            measure([sys.executable, "-c", code], os.environ)
        assert str(failed.value).startswith("python -c ")
        assert "exited 3; its stderr ends:\n  the reason" in str(failed.value)

    def test_a_command_killed_by_a_signal_says_so(self) -> None:
        code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
        with pytest.raises(ChildFailedError, match="was killed by SIGKILL"):
            measure([sys.executable, "-c", code], os.environ)

    def test_a_command_that_cannot_run_is_an_error(self) -> None:
        with pytest.raises(ChildFailedError, match="cannot run /no/such/thing"):
            measure(["/no/such/thing"], os.environ)

    def test_a_sampled_child_is_sampled_while_it_runs(self) -> None:
        if not Path("/proc/self/stat").exists():
            pytest.skip("no /proc on this system")
        code = "import time; time.sleep(0.5)"
        usage = measure([sys.executable, "-c", code], os.environ, sample_every=0.02)
        assert usage.samples
        assert all(ticks >= 0 for _, ticks in usage.samples)

    def test_medians_are_taken_figure_by_figure(self) -> None:
        runs = [Usage(3.0, 1.0, 300), Usage(1.0, 3.0, 100), Usage(2.0, 2.0, 900)]
        assert median_usage(runs) == Usage(2.0, 2.0, 300)

    def test_our_servers_get_our_key_not_the_users_credentials(self) -> None:
        environ = {"PATH": "/bin", "HEYMARKET_SECRET_ID": "i", "HEYMARKET_API_SECRET_KEY": "k"}
        assert own_server_env(environ) == {"PATH": "/bin", "HEYMARKET_API_KEY": "bench"}


def sample_report() -> BenchReport:
    about = About(
        date=datetime(2026, 11, 26, 17, 40, tzinfo=UTC),
        machine={"cpu": "AMD EPYC", "cores": 2, "os": "Debian GNU/Linux 12 (bookworm)"},
        versions={"python": "3.11.7", "broadcaster": "0.1.0", "aiohttp": "3.14.5"},
        server="nginx 1.22.1",
        command="broadcaster bench --steps help",
    )
    step = StepResult(
        name="help",
        title="broadcaster --help",
        table=Table(("command", "median"), (("broadcaster --help", "0.090 s"),)),
        figures={"median_seconds": 0.09},
        verdicts=(Verdict("PASS", "broadcaster --help", "0.090 s", "<= 0.150 s"),),
        notes=("a note | with a bar",),
    )
    return BenchReport(about, (step,))


class TestRendering:
    def test_the_text_has_the_heading_tables_and_verdicts(self) -> None:
        text = render_text(sample_report())
        assert text.startswith("broadcaster bench, 2026-11-26 17:40 UTC, against nginx 1.22.1\n")
        assert "machine: AMD EPYC, 2 cores, Debian GNU/Linux 12 (bookworm)\n" in text
        assert "aiohttp 3.14.5; event loop: asyncio\n" in text
        assert "help: broadcaster --help\n" in text
        assert "\n  broadcaster --help  0.090 s\n  a note | with a bar\n" in text
        assert text.endswith("verdicts\nPASS  broadcaster --help: 0.090 s (target <= 0.150 s)\n")

    def test_tables_align_figures_right(self) -> None:
        table = Table(("what", "n"), (("a", "1"), ("bb", "1,000")))
        assert aligned(table) == ["  what      n", "  a         1", "  bb    1,000"]

    def test_the_page_says_where_and_how(self) -> None:
        page = render_page(sample_report())
        assert page.startswith("# Benchmark results\n")
        for fact in (
            "\n- date: 2026-11-26 17:40 UTC\n",
            "\n- python: 3.11.7\n",
            "\n- event loop: asyncio\n",
            "\n- command: `broadcaster bench --steps help`\n",
            "## help",
            "| broadcaster --help | 0.090 s |",
            "- a note | with a bar",  # not in a table: as written
        ):
            assert fact in page
        assert "## Verdicts\n\n```\nPASS  broadcaster --help" in page

    def test_json_holds_the_same(self) -> None:
        data = json.loads(orjson.dumps(as_json(sample_report())))
        assert data["steps"] == {"help": {"median_seconds": 0.09}}
        assert data["verdicts"] == [
            {"status": "PASS", "subject": "broadcaster --help", "figure": "0.090 s",
             "target": "<= 0.150 s", "beside": ""},
        ]  # fmt: skip
        assert data["machine"]["cores"] == 2
        assert data["event_loop"] == "asyncio"
        assert data["date"] == "2026-11-26T17:40:00+00:00"

    def test_the_command_is_the_one_typed(self) -> None:
        argv = ["/v/bin/broadcaster", "bench", "--text", "a b"]
        assert typed_command(argv) == "broadcaster bench --text 'a b'"
        assert typed_command(["pytest", "-q"]) == "broadcaster bench"


def paced_run(steady: float | None, bare_steady: float | None) -> PacedRun:
    """A 480/m run of 9 messages, with the bare loop's beside it."""
    pacing = pacing_of([n * 125_000 for n in range(9)])
    beside = BareRun(9, Usage(1.5, 0.18, 30_000), bare_steady)
    return PacedRun("480/m", pacing, Usage(1.5, 0.45, 40_000), steady, beside)


class TestPacedRows:
    def test_a_rate_on_the_dot_is_not_shown_below_it(self) -> None:
        pacing = pacing_of([n * 125_000 + (n == 8) for n in range(9)])  # a hair slow
        row = paced._row(PacedRun("480/m", pacing, Usage(60.0, 1.2, 40_000), None))
        assert row[:5] == ("480/m", "9", "8.00/s", "+0.00%", "8 (max 9)")
        assert row[-1] == "not measured"

    def test_the_bare_loop_has_a_row_of_its_own_under_the_engines(self) -> None:
        engine, beside = paced._rows(paced_run(1.28, 0.6))
        assert engine[0] == "480/m"
        assert engine[-2:] == ("50.00 s", "1.28%")
        assert beside == ("480/m bare aiohttp", "9", *("-",) * 6, "20.00 s", "0.60%")
        assert len(beside) == len(paced.COLUMNS)

    def test_a_rate_without_the_bare_loop_has_one_row(self) -> None:
        run = dataclasses.replace(paced_run(1.28, 0.6), asked="100/s", bare=None)
        assert [row[0] for row in paced._rows(run)] == ["100/s"]

    def test_the_cpu_verdict_shows_the_bare_figure_and_the_ratio(self) -> None:
        verdict = paced._verdicts(paced_run(1.28, 0.6))[-1]
        assert verdict.line() == (
            "FAIL  pacing 480/m steady CPU: 1.28% of a core (target <= 0.50% of a core; "
            "bare aiohttp paced alike: 0.60%, engine/bare 2.13x)"
        )

    @pytest.mark.parametrize(
        ("steady", "bare_steady", "status"),
        [(0.5, 0.05, "PASS"), (0.51, 0.6, "FAIL"), (0.4, None, "PASS"), (None, 0.6, "SKIP")],
    )
    def test_the_cpu_verdict_is_held_to_the_target_alone(
        self, steady: float | None, bare_steady: float | None, status: str
    ) -> None:
        """However the engine compares with the bare loop, or whether the loop was measured."""
        assert paced._verdicts(paced_run(steady, bare_steady))[-1].status == status

    @pytest.mark.parametrize(
        ("steady", "bare_steady", "beside"),
        [
            (1.28, None, "bare aiohttp paced alike: not measured"),
            (None, 0.6, "bare aiohttp paced alike: 0.60%"),
            (1.28, 0.0, "bare aiohttp paced alike: 0.00%"),  # no ratio to nothing
        ],
    )
    def test_without_both_figures_there_is_no_ratio(
        self, steady: float | None, bare_steady: float | None, beside: str
    ) -> None:
        assert paced._verdicts(paced_run(steady, bare_steady))[-1].beside == beside

    def test_other_rates_verdicts_have_nothing_beside(self) -> None:
        run = dataclasses.replace(paced_run(1.28, 0.6), asked="100/s", bare=None)
        assert [verdict.beside for verdict in paced._verdicts(run)] == ["", ""]

    def test_json_has_the_bare_loops_figures_and_the_ratio(self) -> None:
        figures = paced._figures(paced_run(1.28, 0.64))
        assert figures["steady_cpu_vs_bare"] == pytest.approx(2.0)
        assert figures["bare"] == {
            "requests": 9,
            "wall_seconds": 1.5,
            "cpu_seconds": 0.18,
            "peak_rss_mb": units.megabytes(30_000),
            "cpu_seconds_per_1000": pytest.approx(20.0),
            "steady_cpu_percent": 0.64,
        }
        run = dataclasses.replace(paced_run(1.28, 0.64), bare=None)
        assert not {"bare", "steady_cpu_vs_bare"} & set(paced._figures(run))


class SteppedTime:
    """A clock that moves only when slept on, by what is slept: every wake-up is on time, and
    nothing waits for real. ``woke`` holds the clock at each wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self.woke: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay
        self.woke.append(self.now)
        await asyncio.sleep(0)


async def departures(
    schedule: Schedule, time: VirtualTime, count: int, answer: float
) -> list[float]:
    """When ``count`` requests leave from 16 workers, each answer taking ``answer`` s."""
    times: list[float] = []
    slots = iter(range(count))

    async def worker() -> None:
        for _ in slots:
            await schedule.wait()
            times.append(time.clock())
            await time.sleep(answer)

    async def all_workers() -> None:
        await asyncio.gather(*(worker() for _ in range(16)))

    await time.run(all_workers())
    return times


class TestBareSchedule:
    @pytest.mark.parametrize("answer", [0.001, 0.5, 1.9])
    async def test_request_n_leaves_at_t0_plus_n_over_the_rate(self, answer: float) -> None:
        """Slow answers (while 16 in flight can keep up) neither lower the rate nor move the
        schedule."""
        time = VirtualTime(start=100.0)
        schedule = Schedule(8.0, clock=time.clock, sleep=time.sleep)
        times = await departures(schedule, time, 40, answer)
        assert times == pytest.approx([100.0 + n / 8 for n in range(40)])

    async def test_a_worker_late_for_its_slot_leaves_at_once(self) -> None:
        time = SteppedTime()
        schedule = Schedule(8.0, clock=time.clock, sleep=time.sleep)
        await schedule.wait()  # t0 = 0
        time.now = 1.0  # held up: slots 1 to 8 are due already
        for _ in range(8):
            await schedule.wait()
        assert time.woke == []
        await schedule.wait()  # slot 9, due at 1.125
        assert time.woke == [pytest.approx(1.125)]


async def recording_server(
    aiohttp_server: AiohttpServer, time: SteppedTime
) -> tuple[str, dict[str, float]]:
    """A server on 127.0.0.1 that answers 200 and records when (on ``time``) each
    ``local_id`` arrived; its URL and that record."""
    arrived: dict[str, float] = {}

    async def answer(request: web.Request) -> web.Response:
        arrived[(await request.json())["local_id"]] = time.clock()
        return web.json_response({"id": 1})

    app = web.Application()
    app.router.add_post(SEND_PATH, answer)
    return str((await aiohttp_server(app)).make_url("")), arrived


class TestBareLoop:
    async def test_paced_it_posts_each_body_in_its_slot(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        time = SteppedTime()
        url, arrived = await recording_server(aiohttp_server, time)
        path = write_bodies(tmp_path / "b.jsonl", 12, run=0, inbox_id=101, creator_id=55)
        bodies = path.read_bytes().splitlines()
        schedule = Schedule(8.0, clock=time.clock, sleep=time.sleep)
        assert await post_all(url, bodies, 4, "Bearer k", schedule) == 0
        assert time.woke == pytest.approx([n / 8 for n in range(1, 12)])
        ids = [orjson.loads(body)["local_id"] for body in bodies]
        assert set(arrived) == set(ids)
        assert all(arrived[local_id] >= n / 8 for n, local_id in enumerate(ids))

    async def test_at_rate_0_it_posts_unpaced_and_counts_refusals(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        async def refuse(_: web.Request) -> web.Response:
            return web.json_response({"error": "no"}, status=400)

        app = web.Application()
        app.router.add_post(SEND_PATH, refuse)
        url = str((await aiohttp_server(app)).make_url(""))
        assert await post_at(url, [b"{}"] * 5, 2, "Bearer k", Rate(0)) == 5

    @pytest.mark.parametrize(
        ("extra", "rate"), [([], Rate(0)), (["480/m"], Rate(480, 60)), (["0"], Rate(0))]
    )
    def test_the_rate_is_an_optional_fourth_argument(
        self,
        extra: list[str],
        rate: Rate,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The throughput step's three arguments still mean unpaced."""
        called: list[tuple[object, ...]] = []

        async def posted(*args: object) -> int:
            called.append(args)
            return 0

        monkeypatch.setattr(bare, "post_at", posted)
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")  # credentials are needed, not looked at
        bodies = tmp_path / "b.jsonl"
        bodies.write_bytes(b"{}\n{}\n")
        assert bare.main(["http://127.0.0.1:9", str(bodies), "3", *extra]) == 0
        [(url, bodies_read, concurrency, _, rate_read)] = called  # _: the credentials
        assert (url, bodies_read, concurrency, rate_read) == (
            "http://127.0.0.1:9",
            [b"{}", b"{}"],
            3,
            rate,
        )


class TestServerChoice:
    def test_without_nginx_the_sandbox_answers_and_the_bench_says_so(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(runner, "find_nginx", lambda _: None)
        said: list[str] = []
        report = runner.run_bench(BenchOptions(steps=()), {"PATH": ""}, said.append, "b")
        assert report.about.server == "the sandbox"
        assert said == [
            "nginx is not installed: the sandbox answers instead, on the cores it measures"
        ]

    def test_nginx_is_preferred_when_installed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(runner, "find_nginx", lambda _: "/usr/sbin/nginx")
        monkeypatch.setattr(runner, "nginx_version", lambda _: "1.22.1")
        choice = runner.choose_server(BenchOptions(), {})
        assert (choice.kind, choice.label) == ("nginx", "nginx 1.22.1")
        assert runner.choose_server(BenchOptions(server="sandbox"), {}).kind == "sandbox"


class TestMachine:
    def test_asyncio_when_the_environment_asks_for_it(self) -> None:
        assert event_loop({"BROADCASTER_LOOP": "asyncio"}) == "asyncio"

    @pytest.mark.skipif(find_spec("uvloop") is None, reason="uvloop is not installed")
    def test_uvloop_is_named_with_its_version(self) -> None:
        assert event_loop({}) == f"uvloop {version('uvloop')}"

    def test_the_cpu_is_the_first_model_name(self) -> None:
        cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\n\nmodel name\t: other\n"
        assert cpu_model(cpuinfo) == "AMD EPYC 7B13"

    def test_the_os_is_the_distribution_and_the_kernel(self) -> None:
        release = 'NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
        assert os_name(release).startswith("Debian GNU/Linux 12 (bookworm), ")


class TestHalfway:
    def test_the_journal_is_cut_as_a_stop_leaves_it(self, tmp_path: Path) -> None:
        """After the n-th outcome, nothing; before it, the attempts of the messages still in
        flight are left out (each would be in doubt, and looked up)."""

        def attempt(key: str) -> bytes:
            return orjson.dumps({"type": "attempt", "key": key, "at": "t"}) + b"\n"

        def outcome(key: str) -> bytes:
            return orjson.dumps({"status": "sent", "key": key, "row": 2}) + b"\n"

        lines = [b'{"type":"run"}\n', attempt("a"), attempt("b"), outcome("b"), attempt("c")]
        lines += [outcome("a"), attempt("d"), outcome("c"), outcome("d"), b'{"type":"read"}\n']
        journal = tmp_path / "j.jsonl"
        journal.write_bytes(b"".join(lines))
        cut = largest._cut(journal, tmp_path / "cut.jsonl", 2).read_bytes()
        kept = [b'{"type":"run"}\n', attempt("a"), attempt("b"), outcome("b"), outcome("a")]
        assert cut == b"".join(kept)  # c was in flight; d left after the stop
        whole = largest._cut(journal, tmp_path / "whole.jsonl", 9).read_bytes()
        assert whole == journal.read_bytes()


class TestWalk:
    def test_the_last_marker_loses_ended_and_nothing_else(self, tmp_path: Path) -> None:
        lines = b'{"type":"run"}\n{"status":"sent","key":"a","row":2}\n'
        marker = {"type": "read", "rows": 1, "input_sha256": "x"}
        journal = tmp_path / "j.jsonl"
        journal.write_bytes(lines + orjson.dumps({**marker, "ended": {"sent": 1}}) + b"\n")
        walked = tmp_path / "w.jsonl"
        largest._without_ended(journal, walked)
        assert walked.read_bytes() == lines + orjson.dumps(marker) + b"\n"
        journal.write_bytes(lines + orjson.dumps(marker) + b"\n")  # a send that left rows
        largest._without_ended(journal, walked)
        assert walked.read_bytes() == journal.read_bytes()
        journal.write_bytes(lines)
        with pytest.raises(UsageError, match="not a read marker"):
            largest._without_ended(journal, walked)
