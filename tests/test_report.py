"""``report``: figures from journals built by hand, several journals, what is left, the CLI."""

from __future__ import annotations

import hashlib
import itertools
from array import array
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.cli import main
from broadcaster.htmlreport import render_html
from broadcaster.latency import histogram, percentiles
from broadcaster.remaining import what_is_left
from broadcaster.report import JournalFigures, build_report, read_figures, report_json
from broadcaster.reporttext import format_report

T0 = "2026-11-26T15:00:00+00:00"
TWO_PROBLEMS = "phone_number: '12' is not valid; text: missing"
CSV = "phone_number,first_name\n+14155550100,Ann\n+14155550101,Bob\n+14155550102,Cy\n"


def header(
    input_path: str = "/nowhere/c.csv", started: str = T0, digest: str | None = None
) -> dict[str, Any]:
    settings = {"input": input_path, "campaign": "c", "rate": "480/m", "concurrency": 16}
    return {
        "type": "run",
        "campaign": "c",
        "input": input_path,
        "input_sha256": digest,
        "settings": settings,
        "version": "0.1.0",
        "started_at": started,
    }


def outcome(status: str, key: str, row: int, at: str, **extra: Any) -> dict[str, Any]:
    record = {"status": status, "key": key, "row": row, "attempts": 0, "at": at}
    if status in ("sent", "failed"):
        record |= {"attempts": 1, "latency_ms": 100.0}
    return record | extra


def journal(path: Path, *records: dict[str, Any] | bytes) -> str:
    lines = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


def at(minute: int, second: int = 0) -> str:
    return f"2026-11-26T15:{minute:02d}:{second:02d}.000+00:00"


@pytest.fixture
def campaign(tmp_path: Path) -> str:
    """A journal of two runs: failures, a retry that got through, invalid rows, a duplicate,
    pauses, and a torn last line."""
    return journal(
        tmp_path / "c.results.jsonl",
        header(),
        outcome("sent", "k1", 2, at(0, 10), attempts=1, latency_ms=80.0),
        outcome("failed", "k2", 3, at(0, 20), attempts=3, latency_ms=30000.0, http_status=503,
                error="gave up after 3 attempts; last: HTTP 503"),
        outcome("failed", "k3", 4, at(0, 30), attempts=1, latency_ms=120.0, http_status=400,
                error="HTTP 400 bad_data: phone_number: '14155550103' has opted out"),
        outcome("failed", "k4", 5, at(0, 40), attempts=1, latency_ms=140.0, http_status=400,
                error="HTTP 400 bad_data: phone_number: '14155550104' has opted out"),
        outcome("invalid", "i1", 6, at(0, 41), error=TWO_PROBLEMS),
        outcome("invalid", "i1", 7, at(0, 42), error=TWO_PROBLEMS),
        outcome("skipped", "k1", 8, at(0, 43), error="duplicate of line 2"),
        {"type": "pause", "cause": "HTTP 429", "seconds": 2.5, "row": 3, "at": at(0, 15)},
        {"type": "pause", "cause": "no connection", "seconds": 1.0, "row": 3, "at": at(1, 15)},
        header(started="2026-11-26T16:00:00+00:00"),
        outcome("sent", "k2", 3, "2026-11-26T16:00:30.000+00:00", attempts=2, latency_ms=60.0),
        b'{"status":"sent","key":"torn-by-a-cra',
    )  # fmt: skip


class TestFigures:
    def test_rows_are_counted_by_their_final_status(self, campaign: str) -> None:
        """k2 failed, then got through on a resumed run: it counts once, as sent."""
        report = build_report([read_figures(campaign)], [])
        assert report["rows"] == {"total": 7, "sent": 2, "failed": 2, "invalid": 2, "skipped": 1}

    def test_failures_group_by_reason_without_the_values_that_vary(self, campaign: str) -> None:
        report = build_report([read_figures(campaign)], [])
        [opted_out] = report["failures"]
        assert opted_out["reason"] == "HTTP 400 bad_data: phone_number: '…' has opted out"
        assert opted_out["count"] == 2
        assert [example["line"] for example in opted_out["examples"]] == [4, 5]
        assert opted_out["examples"][0]["journal"] == campaign

    def test_an_invalid_rows_problems_are_one_reason(self, campaign: str) -> None:
        """A row counts once, whatever its problems: the groups add up to the rows."""
        report = build_report([read_figures(campaign)], [])
        assert [(group["reason"], group["count"]) for group in report["invalid"]] == [
            ("phone_number: '…' is not valid; text: missing", 2)
        ]

    def test_attempts_retries_and_pauses_by_cause(self, campaign: str) -> None:
        """k2 failed after 3 attempts and got through on the second of a resumed run: one
        message, 4 retries."""
        report = build_report([read_figures(campaign)], [])
        assert report["requests"] == {"messages": 4, "attempts": 8, "retries": 4}
        assert report["pauses"] == {
            "count": 2,
            "seconds": 3.5,
            "by_cause": {"HTTP 429": 1, "no connection": 1},
        }

    def test_wall_time_runs_from_the_first_start_to_the_last_record(self, campaign: str) -> None:
        """Sending time adds each run's start to its last record: the hour between is idle."""
        report = build_report([read_figures(campaign)], [])
        assert report["time"]["wall_seconds"] == 3630.0
        assert report["time"]["sending_seconds"] == 75.0 + 30.0

    def test_the_rate_is_the_gaps_between_message_records_over_their_span(
        self, campaign: str
    ) -> None:
        """Run 1: three messages (five requests) after its first, over 30 s; run 2 has one
        message, no span. n over the span would claim more than the pacer let out."""
        rate = build_report([read_figures(campaign)], [])["rate"]
        assert rate == {"messages_per_second": 0.1, "attempts_per_second": round(5 / 30, 3)}

    def test_latency_figures(self, campaign: str) -> None:
        latency = build_report([read_figures(campaign)], [])["latency_ms"]
        assert latency["count"] == 5
        assert (latency["min"], latency["p50"], latency["max"]) == (60.0, 120.0, 30000.0)

    def test_the_timeline_counts_each_minute(self, campaign: str) -> None:
        timeline = build_report([read_figures(campaign)], [])["timeline"]
        assert [entry["minute"] for entry in timeline] == [
            "2026-11-26T15:00:00+00:00",
            "2026-11-26T15:01:00+00:00",
            "2026-11-26T16:00:00+00:00",
        ]
        first = timeline[0]
        assert (first["sent"], first["failed"], first["invalid"], first["skipped"]) == (1, 3, 2, 1)
        assert (first["retries"], first["pauses"]) == (2, 1)

    def test_a_torn_line_is_counted_not_fatal_and_markers_are_not_damage(
        self, campaign: str
    ) -> None:
        assert build_report([read_figures(campaign)], [])["damaged_lines"] == 1

    def test_the_runs_are_listed_with_their_settings(self, campaign: str) -> None:
        runs = build_report([read_figures(campaign)], [])["runs"]
        assert [run["started_at"] for run in runs] == [T0, "2026-11-26T16:00:00+00:00"]
        assert runs[0]["settings"]["rate"] == "480/m"

    def test_several_journals_add_up(self, campaign: str, tmp_path: Path) -> None:
        other = journal(
            tmp_path / "d.results.jsonl",
            header(),
            outcome("sent", "d1", 2, at(5)),
            outcome("failed", "d2", 3, at(5), http_status=400, error="HTTP 400 bad_data: x"),
        )
        report = build_report([read_figures(campaign), read_figures(other)], [])
        assert report["rows"] == {"total": 9, "sent": 3, "failed": 3, "invalid": 2, "skipped": 1}
        assert report["requests"]["messages"] == 6
        assert report["journals"] == [campaign, other]

    def test_a_replaced_record_no_longer_counts(self, tmp_path: Path) -> None:
        """A row fixed from a --failed-csv file and sent counts once, as sent."""
        path = journal(
            tmp_path / "r.results.jsonl",
            header(),
            outcome("failed", "old", 2, at(0), http_status=400, error="HTTP 400 bad_data: x"),
            outcome("invalid", "bad", 3, at(0), error="phone_number: '1' is not valid"),
            header(),
            outcome("sent", "new", 2, at(9), replaces="old"),
            outcome("invalid", "bad2", 3, at(9), error="phone_number: '2' is not valid",
                    replaces="bad"),
        )  # fmt: skip
        report = build_report([read_figures(path)], [])
        assert report["rows"] == {"total": 2, "sent": 1, "failed": 0, "invalid": 1, "skipped": 0}
        assert report["failures"] == []
        assert [example["key"] for example in report["invalid"][0]["examples"]] == ["bad2"]

    def test_an_empty_journal_reports_nothing_without_failing(self, tmp_path: Path) -> None:
        path = journal(tmp_path / "e.results.jsonl", header())
        report = build_report([read_figures(path)], [])
        assert report["rows"]["total"] == 0
        assert report["latency_ms"]["p99"] is None
        assert report["rate"]["messages_per_second"] is None
        assert report["latency_histogram"] == []


class TestMessages:
    """A message counts once however many records it has, and a lookup's record after a run
    (``reconcile``'s) neither paces the run nor lengthens it."""

    @pytest.fixture
    def retried(self, tmp_path: Path) -> str:
        """k1 failed after 3 attempts, and was sent on the 2nd of a resumed run; k5 failed in
        doubt; reconcile, 30 s after the run, found k5 (attempts counted by its failure) and
        k4, in flight at a crash (its one attempt, the crashed run's)."""
        found = {"found_in_history": True, "latency_ms": None, "id": 9}
        return journal(
            tmp_path / "m.results.jsonl",
            header(),
            outcome("failed", "k1", 2, at(0, 10), attempts=3, http_status=503, error="gave up"),
            header(started=at(0, 50)),
            outcome("sent", "k1", 2, at(1, 0), attempts=2),
            outcome("sent", "k2", 3, at(1, 5)),
            outcome("failed", "k5", 6, at(1, 8), attempts=2, error="gave up", in_doubt=at(1)),
            outcome("sent", "k3", 4, at(1, 10)),
            outcome("sent", "k4", 5, at(1, 40), attempts=1, **found),
            outcome("sent", "k5", 6, at(1, 40), attempts=0, **found),
        )

    def test_a_message_counts_once_and_its_retries_span_its_records(self, retried: str) -> None:
        report = build_report([read_figures(retried)], [])
        assert report["rows"]["sent"] == 5
        assert report["requests"] == {"messages": 5, "attempts": 10, "retries": 5}
        assert sum(minute["retries"] for minute in report["timeline"]) == 5

    def test_a_lookup_after_the_run_neither_paces_nor_lengthens_it(self, retried: str) -> None:
        """Run 2's pace: 3 messages (4 requests) after its first record, over 10 s, not over
        the 40 s to the lookups' records; its time runs to 15:01:10."""
        report = build_report([read_figures(retried)], [])
        assert report["rate"] == {"messages_per_second": 0.3, "attempts_per_second": 0.4}
        assert report["time"]["sending_seconds"] == 10.0 + 20.0
        assert report["time"]["wall_seconds"] == 100.0  # to the last record: the lookups'

    def test_text_json_and_page_agree(
        self, retried: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        page = tmp_path / "r.html"
        main(["report", retried, "--html", str(page)])
        text = capsys.readouterr().out
        main(["report", retried, "--format", "json"])
        report = orjson.loads(capsys.readouterr().out)
        assert report["requests"] == {"messages": 5, "attempts": 10, "retries": 5}
        assert "requests  10 attempts for 5 messages (5 retries); no pauses" in text
        assert "10 attempts for 5 messages (5 retries)" in page.read_text()
        # Latency is one value a record that timed a request: the lookups' time none.
        assert report["latency_ms"]["count"] == 5
        assert "ms (each sent or failed record's last request; 5 records)" in text
        assert "Latency of 5 records&rsquo; last requests" in page.read_text()
        assert "1m 40s from the first run's start" in text
        assert "30s of it in runs" in text
        assert "rate      0.30 messages/s (18/m) while running; 0.40 attempts/s" in text


class TestLatency:
    def test_percentiles_are_nearest_rank(self) -> None:
        values = array("d", [float(n) for n in range(1, 101)])
        figures = percentiles(values)
        assert (figures["p50"], figures["p90"], figures["p99"]) == (50.0, 90.0, 99.0)
        assert figures["mean"] == 50.5

    def test_one_value_is_every_percentile(self) -> None:
        figures = percentiles(array("d", [42.0]))
        assert {figures[name] for name in ("min", "p50", "p99", "max")} == {42.0}

    def test_the_histogram_is_trimmed_to_the_values_and_adds_up(self) -> None:
        buckets = histogram(array("d", [30.0, 40.0, 180.0, 12000.0]))
        assert buckets[0] == {"from_ms": 25.0, "to_ms": 50.0, "count": 2}
        assert buckets[-1]["from_ms"] == 10000.0
        assert sum(bucket["count"] for bucket in buckets) == 4
        assert all(a["to_ms"] == b["from_ms"] for a, b in itertools.pairwise(buckets))


class TestLeft:
    def test_rows_without_a_record_are_not_ended(self, tmp_path: Path) -> None:
        source = tmp_path / "c.csv"
        source.write_text(CSV + "+14155550199,Di\n")
        results = tmp_path / "c.csv.sandbox.results.jsonl"
        argv = ["send", str(source), "--sandbox", "--rate", "0", "--text", "Hi {{first_name}}",
                "--inbox-id", "101", "--creator-id", "55", "--quiet"]  # fmt: skip
        assert main(argv) == 0
        lines = results.read_bytes().splitlines()
        outcomes = [n for n, line in enumerate(lines) if line.startswith(b'{"status"')]
        kept = [line for n, line in enumerate(lines) if n not in outcomes[-2:]]
        results.write_bytes(b"\n".join(kept) + b"\n")  # two rows lost their records
        entry = what_is_left(read_figures(str(results)))
        assert (entry["known"], entry["not_ended"]) == (True, 2)
        assert entry["command"] == f"broadcaster resume {results}"

    def test_a_missing_input_leaves_it_unknown(self, campaign: str) -> None:
        entry = what_is_left(read_figures(campaign))
        assert (entry["known"], entry["not_ended"]) == (False, None)
        assert "is not there any more" in entry["note"]
        assert (entry["failed_retryable"], entry["failed_refused"]) == (0, 2)

    def test_failures_a_resend_may_fix_get_the_retry_command(self, tmp_path: Path) -> None:
        path = journal(
            tmp_path / "f.results.jsonl",
            header(),
            outcome("failed", "k", 2, at(0), http_status=503, error="gave up"),
            outcome("failed", "n", 3, at(0), error="gave up; no connection"),
        )
        entry = what_is_left(read_figures(path))
        assert entry["failed_retryable"] == 2
        assert entry["command"] == f"broadcaster resume {path} --retry-failed"


class TestCommand:
    def test_text_report_and_exit_code(
        self, campaign: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["report", campaign]) == 1  # failed and invalid rows
        out = capsys.readouterr().out
        assert "rows      7: 2 sent, 2 failed, 2 invalid, 1 duplicate (skipped)" in out
        assert "2  HTTP 400 bad_data: phone_number: '…' has opted out (lines 4, 5)" in out
        assert "2 pauses (1 for HTTP 429, 1 for no connection)" in out
        assert "p99 30,000" in out

    def test_json_is_the_report_object(
        self, campaign: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        main(["report", campaign, "--format", "json"])
        report = orjson.loads(capsys.readouterr().out)
        assert report["report_version"] == 1
        assert list(report) == [
            "report_version", "journals", "campaigns", "rows", "skipped", "failures", "invalid",
            "requests", "pauses", "time", "rate", "latency_ms", "latency_histogram",
            "timeline", "pause_marks", "runs", "left", "damaged_lines",
        ]  # fmt: skip

    def test_a_journal_given_twice_counts_once(
        self, campaign: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        main(["report", campaign, str(Path(campaign).parent / "." / Path(campaign).name)])
        assert "rows      7:" in capsys.readouterr().out

    def test_a_finished_campaign_exits_0(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        source = tmp_path / "c.csv"
        source.write_text(CSV)
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        main(["send", str(source), "--sandbox", "--rate", "0", "--text", "Hi",
              "--inbox-id", "101", "--creator-id", "55", "--quiet"])  # fmt: skip
        capsys.readouterr()
        results = f"{source}.sandbox.results.jsonl"
        assert main(["report", results]) == 0
        out = capsys.readouterr().out
        assert "0 rows not ended" in out
        assert digest[:12] in out

    @pytest.mark.parametrize(
        ("content", "said"),
        [(None, "no such results journal"), (b"phone_number\n1\n", "is not a results journal")],
    )
    def test_what_is_not_a_journal_is_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, said: str
    ) -> None:
        path = tmp_path / "x.jsonl"
        if content is not None:
            path.write_bytes(content)
        assert main(["report", str(path)]) == 2
        assert said in capsys.readouterr().err


class TestJournalsWithoutARun:
    @pytest.mark.parametrize("content", [b"", b'{"type":"run","campaign":"c","inp'])
    def test_an_empty_or_headless_journal_is_an_error_not_a_success(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
    ) -> None:
        path = tmp_path / "e.results.jsonl"
        path.write_bytes(content)
        assert main(["report", str(path)]) == 2
        assert "no run is recorded in it" in capsys.readouterr().err


class TestExamples:
    def test_examples_are_the_first_lines_and_name_their_input_when_there_are_several(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        refused = {"http_status": 400, "error": "HTTP 400 bad_data: opted out"}
        path = journal(
            tmp_path / "x.results.jsonl",
            header("/nowhere/a.csv"),
            outcome("failed", "k9", 90, at(0), **refused),
            outcome("failed", "k7", 70, at(0), **refused),
            outcome("failed", "k8", 80, at(0), **refused),
            header("/nowhere/fix.csv"),
            outcome("failed", "k2", 2, at(5), **refused),
        )
        [group] = build_report([read_figures(path)], [])["failures"]
        assert [(e["input"], e["line"]) for e in group["examples"]] == [
            ("/nowhere/a.csv", 70),
            ("/nowhere/a.csv", 80),
            ("/nowhere/a.csv", 90),
        ]
        main(["report", path])
        assert "opted out (a.csv:70, a.csv:80, a.csv:90…)" in capsys.readouterr().out


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["sent", "failed", "invalid", "skipped", "run", "pause", "replaced"]),
    st.sampled_from([T0, "20261126T160058+00:00", "2026-11-26T15:00:00", "1e308"]),
    st.lists(st.integers(), max_size=2),
)
_FIELDS = ["type", "status", "key", "row", "at", "attempts", "latency_ms", "http_status",
           "error", "seconds", "cause", "replaces", "by", "settings", "started_at",
           "input"]  # fmt: skip


class TestHostileJournals:
    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=8), max_size=12))
    def test_any_records_make_a_report_never_a_traceback(
        self, records: list[dict[str, Any]]
    ) -> None:
        """Wrong types, huge numbers, odd times, markers of every kind: a report still comes
        out, in every format, and its rows add up."""
        figures = JournalFigures("j.results.jsonl")
        figures.add(header())
        for record in records:
            figures.add(record)
        report = build_report([figures], [what_is_left(figures)])
        rows = report["rows"]
        assert rows["total"] == sum(rows[s] for s in ("sent", "failed", "invalid", "skipped"))
        requests = report["requests"]
        assert 0 <= requests["retries"] <= requests["attempts"]
        assert sum(minute["retries"] for minute in report["timeline"]) <= requests["retries"]
        assert format_report(report)
        assert render_html(report).startswith("<!DOCTYPE html>")
        assert orjson.loads(report_json(report))["report_version"] == 1


def test_control_characters_from_a_journal_never_reach_the_terminal(tmp_path: Path) -> None:
    path = journal(
        tmp_path / "x.results.jsonl",
        header(),
        outcome("failed", "k", 2, at(0), http_status=400, error="HTTP 400 \x1b[31mred\x1b[0m\nx"),
    )
    text = format_report(build_report([read_figures(path)], []))
    assert "\x1b" not in text
    assert "HTTP 400 \N{REPLACEMENT CHARACTER}[31mred" in text
    assert all(line.startswith(("report", "rows", "failed", " ", "requests", "time", "rate",
                                "latency", "runs")) for line in text.splitlines())  # fmt: skip


def test_the_page_names_the_inputs_and_the_input_of_each_example(tmp_path: Path) -> None:
    refused = {"http_status": 400, "error": "HTTP 400 bad_data: opted out"}
    path = journal(
        tmp_path / "x.results.jsonl",
        header("/nowhere/a.csv"),
        outcome("failed", "k7", 70, at(0), **refused),
        header("/nowhere/fix.csv"),
        outcome("failed", "k2", 2, at(5), **refused),
    )
    figures = read_figures(path)
    page = render_html(build_report([figures], [what_is_left(figures)]))
    assert "a.csv line 70" in page
    assert "fix.csv line 2" in page
    assert "inputs /nowhere/a.csv: " in page
