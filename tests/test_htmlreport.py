from __future__ import annotations

import itertools
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from broadcaster.htmlreport import render_html
from broadcaster.htmlstyle import CSS

START = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quoted" https://evil.test/'
TAGS = {
    *("html", "head", "meta", "title", "style", "body", "main", "header", "footer", "section"),
    *("h1", "h2", "h3", "p", "div", "span", "strong", "dl", "dt", "dd", "ul", "li", "pre", "code"),
    *("table", "thead", "tbody", "tr", "th", "td", "svg", "g", "rect", "line", "path", "text"),
}
VOID = {"meta"}


def minute(at: datetime, sent: int = 0, failed: int = 0, retries: int = 0, pauses: int = 0) -> Any:
    return {
        "minute": at.isoformat(),
        "sent": sent,
        "failed": failed,
        "invalid": 0,
        "skipped": 0,
        "retries": retries,
        "pauses": pauses,
    }


def minutes(count: int, start: datetime = START, sent: int = 120) -> list[Any]:
    return [minute(start + timedelta(minutes=i), sent=sent) for i in range(count)]


def campaign_timeline() -> list[Any]:
    """A 100-minute send at 120/m with two 429 dips, then a resume two days later."""
    entries = []
    for i in range(100):
        dip = i in {23, 24, 61}
        failed = 3 if i % 17 == 5 else 0
        entries.append(
            minute(
                START + timedelta(minutes=i),
                sent=(64 if dip else 117 + i % 4) - failed,
                failed=failed,
                retries=9 if dip else int(i % 29 == 3),
                pauses=1 if i in {23, 61} else 0,
            )
        )
    later = START + timedelta(days=2, hours=1)
    return [*entries, minute(later, sent=31, retries=4), minute(later + timedelta(minutes=1), 9)]


def report(**changes: Any) -> dict[str, Any]:
    """A schema-valid report (schema version 1); ``changes`` replace top-level keys."""
    journal = "/srv/campaigns/spring.results.jsonl"
    timeline = changes.get("timeline", campaign_timeline())
    sent = sum(m["sent"] for m in timeline)
    failed = sum(m["failed"] for m in timeline)
    example = {"journal": journal, "line": 17, "key": "AbCdEf0123456789AbCdEf01"}
    base: dict[str, Any] = {
        "report_version": 1,
        "journals": [journal],
        "campaigns": ["spring-promo"],
        "rows": {
            "total": sent + failed + 50 + 20,
            "sent": sent,
            "failed": failed,
            "invalid": 50,
            "skipped": 20,
        },
        "failures": [
            {
                "reason": "HTTP 400: contact has opted out",
                "http_status": 400,
                "count": max(0, failed - 2),
                "examples": [{**example, "error": "HTTP 400: {'error': 'contact has opted out'}"}],
            },
            {"reason": "no connection", "http_status": None, "count": 2, "examples": []},
        ],
        "invalid": [
            {
                "reason": "phone_number: not a valid number",
                "count": 50,
                "examples": [{**example, "line": 4, "error": "phone_number: '555' is too short"}],
            }
        ],
        "requests": {"messages": sent + failed, "attempts": sent + failed + 92, "retries": 92},
        "pauses": {"count": 3, "seconds": 12.5, "by_cause": {"HTTP 429": 2, "no connection": 1}},
        "time": {
            "first": START.isoformat(timespec="milliseconds"),
            "last": (START + timedelta(days=2, hours=1, minutes=2)).isoformat(),
            "wall_seconds": 176_520.0,
            "sending_seconds": 6_120.0,
        },
        "rate": {"messages_per_second": 1.93, "attempts_per_second": 1.95},
        "latency_ms": {
            "count": sent + failed,
            "min": 41.0,
            "mean": 80.2,
            "p50": 75.0,
            "p90": 120.0,
            "p95": 150.0,
            "p99": 300.0,
            "max": 950.0,
        },
        "latency_histogram": [
            {"from_ms": i * 50.0, "to_ms": (i + 1) * 50.0, "count": c}
            for i, c in enumerate([0, 2100, 6900, 1800, 700, 260, 90, 40, 12, 6, 3, 1])
        ],
        "timeline": timeline,
        "pause_marks": [
            {
                "at": (START + timedelta(minutes=23, seconds=12)).isoformat(),
                "cause": "HTTP 429",
                "seconds": 5.0,
            },
            {
                "at": (START + timedelta(minutes=61, seconds=40)).isoformat(),
                "cause": "HTTP 429",
                "seconds": 6.0,
            },
            {
                "at": (START + timedelta(minutes=61, seconds=52)).isoformat(),
                "cause": "no connection",
                "seconds": 1.5,
            },
        ],
        "runs": [
            run(journal, START, "0.3.0", None),
            run(journal, START + timedelta(days=2, hours=1), "0.3.1", True),
        ],
        "left": [
            {
                "journal": journal,
                "input": "/srv/campaigns/spring.csv",
                "known": True,
                "not_ended": 0,
                "failed_retryable": 2,
                "failed_refused": max(0, failed - 2),
                "invalid": 50,
                "command": f"broadcaster resume {journal} --retry-failed",
                "note": "2 failed rows can be sent again; fix the 50 invalid rows in the input.",
            }
        ],
        "damaged_lines": 0,
    }
    return base | changes


def run(journal: str, at: datetime, version: str, retry_failed: bool | None) -> Any:
    return {
        "journal": journal,
        "started_at": at.isoformat(),
        "version": version,
        "campaign": "spring-promo",
        "input": "/srv/campaigns/spring.csv",
        "input_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "settings": {
            "rate": "120/m",
            "concurrency": 16,
            "max_attempts": 8,
            "retry_failed": retry_failed,
        },
    }


def empty_report() -> dict[str, Any]:
    """A run that recorded nothing: zero rows, every figure that cannot be known null."""
    return report(
        rows={"total": 0, "sent": 0, "failed": 0, "invalid": 0, "skipped": 0},
        failures=[],
        invalid=[],
        requests={"messages": 0, "attempts": 0, "retries": 0},
        pauses={"count": 0, "seconds": 0.0, "by_cause": {}},
        time={"first": None, "last": None, "wall_seconds": None, "sending_seconds": None},
        rate={"messages_per_second": None, "attempts_per_second": None},
        latency_ms={"count": 0} | dict.fromkeys(("min", "mean", "p50", "p90", "p95", "p99", "max")),
        latency_histogram=[],
        timeline=[],
        pause_marks=[],
        runs=[],
        left=[],
    )


def hostile_report() -> dict[str, Any]:
    """Every text a journal can carry, hostile."""
    example = {"journal": HOSTILE, "line": HOSTILE, "key": HOSTILE, "error": HOSTILE}
    group = {"reason": HOSTILE, "http_status": HOSTILE, "count": 1, "examples": [example]}
    settings = {"rate": HOSTILE, "concurrency": HOSTILE}
    left = {
        "journal": HOSTILE,
        "input": HOSTILE,
        "known": False,
        "command": HOSTILE,
        "note": HOSTILE,
    }
    return report(
        journals=[HOSTILE],
        campaigns=[HOSTILE, "second"],
        failures=[group],
        invalid=[group],
        pauses={"count": 1, "seconds": 1.0, "by_cause": {HOSTILE: 1}},
        pause_marks=[{"at": START.isoformat(), "cause": HOSTILE, "seconds": 1.0}],
        runs=[
            {
                "journal": HOSTILE,
                "started_at": HOSTILE,
                "version": HOSTILE,
                "campaign": HOSTILE,
                "input": HOSTILE,
                "input_sha256": HOSTILE,
                "settings": settings,
                "halted": HOSTILE,
            }
        ],
        left=[left],
        report_version=HOSTILE,
    )


VARIANTS: dict[str, Callable[[], dict[str, Any]]] = {
    "normal": report,
    "empty": empty_report,
    "hostile": hostile_report,
    "long": lambda: report(timeline=minutes(5000)),
    "no keys at all": dict,
}


class Page(HTMLParser):
    """Tags, attributes and text of a page, and whether its tags balance."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_startendtag(tag, attrs)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs += [(name, value or "") for name, value in attrs]

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"</{tag}> closes nothing open")

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] != "style":
            self.text.append(data)


def chart(page: str, label: str) -> str:
    found = re.search(rf'<svg [^>]*aria-label="{label}">.*?</svg>', page)
    assert found is not None, f"no {label} chart"
    return found.group(0)


def bar_groups(svg: str) -> int:
    return svg.count("<g class='bin'>")


class TestPage:
    @pytest.mark.parametrize("name", VARIANTS)
    def test_the_page_is_well_formed_html(self, name: str) -> None:
        page = Page(render_html(VARIANTS[name]()))
        assert page.errors == []
        assert page.open == []
        assert set(page.tags) <= TAGS
        assert page.tags["html"] == page.tags["body"] == page.tags["main"] == 1

    @pytest.mark.parametrize("name", VARIANTS)
    def test_the_page_loads_nothing_from_outside(self, name: str) -> None:
        html = render_html(VARIANTS[name]())
        page = Page(html)
        assert "<script" not in html.lower()
        assert "url(" not in html
        assert "@import" not in html
        assert {name for name, _ in page.attrs}.isdisjoint({"src", "href", "srcset", "action"})
        # An address may sit in a tooltip (a journal's text), never where a browser fetches it.
        assert {name for name, value in page.attrs if "http" in value} <= {"xmlns", "title"}

    def test_a_report_without_any_key_still_renders(self) -> None:
        text = " ".join(Page(render_html({})).text)
        assert "No requests recorded." in text
        assert "None" not in text

    def test_a_normal_page_mentions_no_address_at_all(self) -> None:
        assert "http" not in render_html(report()).replace(SVG_NS, "")


class TestEscaping:
    def test_hostile_text_is_shown_as_text_never_as_markup(self) -> None:
        html = render_html(hostile_report())
        page = Page(html)
        assert "<script" not in html.lower()
        assert page.tags["img"] == 0
        assert not [name for name, _ in page.attrs if name.startswith("on")]
        assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 12

    def test_an_attribute_cannot_be_closed_by_a_quote_in_a_path(self) -> None:
        page = Page(render_html(hostile_report()))
        assert ("title", HOSTILE) in page.attrs  # the example's journal, whole, as one value


class TestSummary:
    def test_the_counts_appear_and_are_shown_adding_up(self) -> None:
        given = report()
        rows = given["rows"]
        text = " ".join(Page(render_html(given)).text)
        assert (
            f"{rows['sent']:,} sent + {rows['failed']:,} failed + 50 invalid + 20 skipped "
            f"= {rows['total']:,} rows"
        ) in text
        assert f"{rows['total']:,}rows" in text.replace(" ", "")

    def test_counts_that_do_not_add_up_are_flagged(self) -> None:
        rows = {"total": 10, "sent": 5, "failed": 1, "invalid": 1, "skipped": 1}
        assert "&ne; 10 rows: they do not add up" in render_html(report(rows=rows))

    def test_requests_pauses_time_and_rate_are_shown(self) -> None:
        given = report()
        html = render_html(given)
        attempts, messages = given["requests"]["attempts"], given["requests"]["messages"]
        assert f"{attempts:,} attempts for {messages:,} messages (92 retries)" in html
        assert "3, 12.5 s in all: HTTP 429 &times;2, no connection &times;1" in html
        assert "<dt>Wall time</dt><dd>2d 1h 02m 00s " in html
        assert "<dt>Sending time</dt><dd>1h 42m 00s " in html
        assert "1.93 messages/s (116/min), 1.95 attempts/s" in html

    def test_what_is_left_gives_the_command_and_the_note(self) -> None:
        html = render_html(report())
        journal = "/srv/campaigns/spring.results.jsonl"
        assert (
            f"<pre><code>broadcaster resume {journal} <span>--retry-failed</span></code></pre>"
            in html
        )
        assert "2 failed rows can be sent again" in html
        assert "input missing or changed" not in html

    def test_an_unknown_input_is_said_plainly(self) -> None:
        left = {"journal": "/j", "input": None, "known": False, "command": None, "note": None}
        html = render_html(report(left=[left]))
        assert "input missing or changed" in html
        assert "Nothing to resume." in html

    def test_an_empty_run_shows_dashes_and_says_there_were_no_requests(self) -> None:
        text = " ".join(Page(render_html(empty_report())).text)
        assert "No requests recorded." in text
        assert "No requests." in text
        assert "Achieved rate —" in text.replace("  ", " ")
        for leak in ("None", "null", "nan", "Traceback"):
            assert leak not in text

    def test_damaged_lines_are_shown_only_when_there_are_some(self) -> None:
        assert "Damaged lines" not in render_html(report())
        assert "3 unreadable" in render_html(report(damaged_lines=3))


class TestTimeline:
    def test_each_minute_is_one_bar_group(self) -> None:
        svg = chart(render_html(report(timeline=minutes(30), pause_marks=[])), "messages over time")
        assert bar_groups(svg) == 30
        assert ">messages per minute<" in svg

    def test_a_single_minute_is_one_bar_and_a_label(self) -> None:
        svg = chart(render_html(report(timeline=minutes(1), pause_marks=[])), "messages over time")
        assert bar_groups(svg) == 1
        assert ">15:00<" in svg
        assert ">26 Nov<" in svg

    def test_a_three_day_run_is_binned_and_the_file_stays_small(self) -> None:
        """5,000 minutes: 10-minute bins, 500 bar groups, not 5,000."""
        html = render_html(report(timeline=minutes(5000), pause_marks=[]))
        svg = chart(html, "messages over time")
        assert bar_groups(svg) == 500
        assert ">messages per 10 minutes<" in svg
        assert "26 Nov 15:00&ndash;15:10 UTC: 1,200 sent" in svg
        assert len(html.encode()) < 200_000

    def test_a_gap_of_days_is_a_narrow_break_not_days_of_axis(self) -> None:
        later = START + timedelta(days=3)
        timeline = minutes(10) + minutes(10, later)
        svg = chart(render_html(report(timeline=timeline, pause_marks=[])), "messages over time")
        assert bar_groups(svg) == 20  # still a bar per minute
        assert svg.count('<g class="gap">') == 1
        assert "no records for 2d 23h" in svg
        xs = sorted(float(x) for x in re.findall(r'<rect class="s" x="([\d.]+)"', svg))
        spacing = [b - a for a, b in itertools.pairwise(xs)]
        assert max(spacing) < 2.5 * min(spacing)  # the break is narrower than two bars

    def test_retries_and_pauses_are_marked_by_their_cause(self) -> None:
        given = report()
        svg = chart(render_html(given), "messages over time")
        retried = sum(1 for m in given["timeline"] if m["retries"])
        assert svg.count('<rect class="r"') == retried
        assert svg.count('<path class="p429"') == 2  # minutes 23 and 61 both saw a 429
        assert "2 pauses (HTTP 429 &times;1, no connection &times;1; 7.5 s)" in svg

    def test_pauses_with_no_cause_recorded_are_still_marked(self) -> None:
        timeline = [minute(START, sent=5, pauses=2)]
        svg = chart(render_html(report(timeline=timeline, pause_marks=[])), "messages over time")
        assert '<path class="pother"' in svg
        assert "2 pauses" in svg

    def test_many_short_runs_keep_every_bar_and_narrow_the_breaks(self) -> None:
        """100 runs of 3 minutes, 3 hours apart: the breaks shrink so the bars keep their room."""
        timeline = [m for h in range(0, 300, 3) for m in minutes(3, START + timedelta(hours=h))]
        svg = chart(render_html(report(timeline=timeline, pause_marks=[])), "messages over time")
        assert bar_groups(svg) == 300
        assert svg.count('<g class="gap">') == 99
        assert "rotate(" not in svg  # no room to write each gap's length
        xs = [float(x) for x in re.findall(r'<rect class="s" x="([\d.]+)"', svg)]
        assert max(xs) < 944  # the plot's right edge

    def test_a_pause_for_no_connection_alone_has_its_own_mark(self) -> None:
        mark = {"at": START.isoformat(), "cause": "no connection", "seconds": 2.0}
        given = report(timeline=minutes(1), pause_marks=[mark])
        svg = chart(render_html(given), "messages over time")
        assert svg.count('<path class="pconn"') == 1
        assert '<path class="p429"' not in svg

    def test_the_time_axis_says_it_is_utc(self) -> None:
        svg = chart(render_html(report()), "messages over time")
        assert ">time in UTC</text>" in svg
        assert ">28 Nov<" in svg  # the resume, two days on, carries its date


class TestLatency:
    def test_the_figures_and_one_bar_per_bucket_are_shown(self) -> None:
        html = render_html(report())
        for name, shown in (
            ("p50", "75 ms"),
            ("p95", "150 ms"),
            ("p99", "300 ms"),
            ("max", "950 ms"),
        ):
            assert f'<span class="l">{name}</span><span class="v">{shown}</span>' in html
        svg = chart(html, "latency distribution")
        assert bar_groups(svg) == 12
        assert svg.count('class="pct"') == 3

    def test_the_percentile_line_falls_inside_its_bucket(self) -> None:
        """p95 = 150 ms is the start of the fourth bucket (150 to 200 ms) of twelve."""
        svg = chart(render_html(report()), "latency distribution")
        lines = [float(x) for x in re.findall(r'<line class="pct" x1="([\d.]+)"', svg)]
        fourth = re.findall(r"<rect class=\"s\" x=\"([\d.]+)\"", svg)[3]
        assert abs(lines[1] - float(fourth)) < 6

    def test_figures_without_a_histogram_are_shown_without_a_chart(self) -> None:
        html = render_html(report(latency_histogram=[]))
        assert '<span class="l">p99</span><span class="v">300 ms</span>' in html
        assert 'aria-label="latency distribution"' not in html

    def test_a_percentile_past_the_last_bucket_sits_at_the_end(self) -> None:
        latency = report()["latency_ms"] | {"p99": 5000.0}
        svg = chart(render_html(report(latency_ms=latency)), "latency distribution")
        lines = [float(x) for x in re.findall(r'<line class="pct" x1="([\d.]+)"', svg)]
        assert lines[-1] == 944.0  # the plot's right edge


class TestRuns:
    def test_each_run_shows_its_settings_and_an_abbreviated_checksum(self) -> None:
        html = render_html(report())
        assert "sha256 9f86d081884c&hellip;" in html
        assert "9f86d081884c7d659a2feaa0" not in html
        shown = "rate 120/m · concurrency 16 · 8 attempts at most · retry failed"
        assert shown.replace(" · ", " &middot; ") in html
        assert "26 Nov 2026 15:00:00 UTC" in html
        assert html.count('data-label="Version">0.3.') == 2
        assert "circuit breaker" not in html

    def test_a_run_the_circuit_breaker_stopped_says_why(self) -> None:
        halted = run("a.jsonl", START, "0.3.0", None) | {"halted": "5 messages failed in a row"}
        html = render_html(report(runs=[halted]))
        assert "halted by the circuit breaker: 5 messages failed in a row" in html


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed: `make browser` installs it (Debian's chromium)")
    return found


def screenshot(page: Path, png: Path, profile: Path) -> None:
    """Chromium, headless, offline: every host name fails to resolve, nothing phones home."""
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--window-size=1200,2000",
        f"--screenshot={png}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def png_pixels(data: bytes) -> tuple[int, int, Counter[tuple[int, ...]]]:
    """Width, height and the colours of every other row of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, list[bytes]] = {}
    at = 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        chunks.setdefault(kind, []).append(data[at + 8 : at + 8 + length])
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert (depth, interlace) == (8, 0)
    size = {2: 3, 6: 4}[colour]  # bytes per pixel: RGB or RGBA
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride, previous, colours = width * size, bytearray(width * size), Counter[tuple[int, ...]]()
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        unfilter(raw[start], line, previous, size)
        if y % 2 == 0:
            colours.update(tuple(line[i : i + 3]) for i in range(0, stride, size))
        previous = line
    return width, height, colours


def unfilter(kind: int, line: bytearray, previous: bytearray, size: int) -> None:
    """Undo one row's PNG filter in place: None, Sub, Up, Average or Paeth."""
    if kind == 2:
        line[:] = bytes((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        return
    for i in range(len(line) if kind else 0):
        left = line[i - size] if i >= size else 0
        up, corner = previous[i], previous[i - size] if i >= size else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        else:
            assert kind == 4, f"filter type {kind}"
            guess = left + up - corner
            # The neighbour nearest the guess; ties go to left, then up, then the corner.
            _, _, nearest = min(
                (abs(guess - left), 0, left),
                (abs(guess - up), 1, up),
                (abs(guess - corner), 2, corner),
            )
            line[i] = (line[i] + nearest) & 0xFF


def css_colour(name: str) -> tuple[int, ...]:
    found = re.search(rf"--{name}:#([0-9a-f]{{6}})", CSS)
    assert found is not None
    return tuple(bytes.fromhex(found.group(1)))


def near(colours: Counter[tuple[int, ...]], target: tuple[int, ...]) -> int:
    """Pixels within a few levels of ``target``: a colour profile may shift a channel."""
    return sum(
        n
        for c, n in colours.items()
        if max(abs(a - b) for a, b in zip(c, target, strict=True)) <= 4
    )


class TestInBrowser:
    def test_chromium_paints_the_page_with_its_charts(self, tmp_path: Path) -> None:
        page, png = tmp_path / "report.html", tmp_path / "report.png"
        page.write_text(render_html(report()), encoding="utf-8")
        screenshot(page, png, tmp_path / "profile")
        width, height, colours = png_pixels(png.read_bytes())
        assert (width, height) == (1200, 2000)
        pixels = colours.total()
        background = near(colours, (255, 255, 255)) + near(colours, css_colour("bg"))
        assert pixels - background > 0.05 * pixels  # not a blank page
        assert len(colours) > 50  # text, edges, several fills
        # The cards and the bar hold under 10,000 sent-blue pixels (every other row); the rest
        # are the two charts' bars, so the SVG was painted.
        assert near(colours, css_colour("sent")) > 30_000
        assert near(colours, css_colour("failed")) > 300
