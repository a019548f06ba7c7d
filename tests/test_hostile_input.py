"""Hostile input, proven (issue 10): the corpus of ``hostile`` through the real command line,
plain and gzipped; the memory reading it takes; and arbitrary bytes, rows and JSON through the
reader and the planner. Never a traceback: every problem is a row's (its line, its field) or the
file's (its name), the run goes on past bad rows, and the good ones are sent."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import select
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hostile import CASES, HEADER, OPTIONS, ROW_TOO_LONG, TEN_MB, Case, csv_row, jsonl_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reading import Write, peak_reading

from broadcaster.cli import main
from broadcaster.columns import API_FIELDS
from broadcaster.errors import InputError
from broadcaster.limits import MAX_ROW_BYTES
from broadcaster.plan import Defaults, Invalid, Message, plan
from broadcaster.reader import read_rows
from broadcaster.record import Record

SEND = ("send", "--sandbox", "--rate", "0", "--quiet", "--log-format", "json")
_IDS = [f"{case.suffix[1:]}: {case.name}" for case in CASES]
_BIG = [case for case in CASES if case.big]


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox needs none; a developer's own must not reach a test."""
    for name in ("HEYMARKET_API_KEY", "HEYMARKET_SECRET_ID", "HEYMARKET_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


def corpus_file(tmp_path: Path, case: Case, zipped: bool) -> str:
    content = case.build()
    path = tmp_path / f"hostile{case.suffix}{'.gz' if zipped else ''}"
    path.write_bytes(gzip.compress(content, compresslevel=1, mtime=0) if zipped else content)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def shown_as_expected(shown: list[str], expected: list[str]) -> list[str]:
    """``shown``, with each line that an expectation ending in ``…`` begins replaced by it."""
    return [
        want if want.endswith("…") and line.startswith(want[:-1]) else line
        for line, want in zip(shown, expected + [""] * len(shown), strict=False)
    ]


def expected_problems(path: str, case: Case) -> list[str]:
    return [f"{path}:{line}: {problem}" for line, problem in sorted(case.problems.items())]


@pytest.mark.parametrize("case", CASES, ids=_IDS)
class TestCorpus:
    """Each file of the corpus, plain and gzipped, through ``validate``; plain through ``send``
    (the gzipped bytes read the same rows: ``validate`` shows it)."""

    @pytest.mark.parametrize("zipped", [False, True], ids=["plain", "gzip"])
    def test_validate_reports_each_bad_row_at_its_line_or_the_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: Case, zipped: bool
    ) -> None:
        path = corpus_file(tmp_path, case, zipped)
        code, out, err = run(capsys, "validate", path, *OPTIONS, "--preview", "0")
        if case.error is not None:
            assert (code, out, err) == (2, "", f"error: {path}: {case.error}\n")
            return
        lines = out.splitlines()
        problems = expected_problems(path, case)
        assert shown_as_expected(lines[: len(problems)], problems) == problems
        invalid = len(problems)
        assert (
            lines[invalid] == f"rows      {case.rows:,}: {case.good:,} valid, {invalid:,} invalid"
        )
        assert (code, err) == (1 if problems else 0, "")

    def test_send_records_every_row_and_sends_the_good_ones(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: Case
    ) -> None:
        path = corpus_file(tmp_path, case, zipped=False)
        results = tmp_path / "run.results.jsonl"
        code, out, err = run(capsys, *SEND, path, *OPTIONS, "--results", str(results))
        if case.error is not None:
            assert (code, out, err) == (2, "", f"error: {path}: {case.error}\n")
            assert not results.exists()  # refused before the journal is opened
            return
        outcomes = [
            r for r in map(orjson.loads, results.read_bytes().splitlines()) if "status" in r
        ]
        invalid = {r["row"]: r["error"] for r in outcomes if r["status"] == "invalid"}
        sent = [r["row"] for r in outcomes if r["status"] == "sent"]
        assert len(outcomes) == case.rows  # one record a row, each row once
        problems = [f"{line}: {error}" for line, error in sorted(invalid.items())]
        expected = [f"{line}: {problem}" for line, problem in sorted(case.problems.items())]
        assert shown_as_expected(problems, expected) == expected
        assert len(sent) == case.good
        assert out.startswith(
            f"rows      {case.rows:,}: {case.good:,} sent, 0 failed, {len(invalid):,} invalid"
        )
        committed = f"{case.good} message{'' if case.good == 1 else 's'} committed"
        assert f"sandbox   {committed}," in out
        assert code == (1 if invalid else 0)
        logged = [orjson.loads(line) for line in err.splitlines()]  # JSON events, nothing else
        assert {event["row"]: event["reason"] for event in logged} == invalid


def _planned(path: str, defaults: Defaults) -> dict[int, Message | Invalid]:
    with read_rows(path) as rows:
        return {record.line: plan(record, defaults) for record in rows}


def _texts(path: str) -> dict[int, object]:
    planned = _planned(path, Defaults("hostile", inbox_id=101, creator_id=55))
    return {line: p.body["text"] for line, p in planned.items() if isinstance(p, Message)}


class TestValuesAreSentAsWritten:
    def test_template_syntax_in_a_merge_value_is_never_rendered_again(self, tmp_path: Path) -> None:
        case = next(
            c for c in CASES if c.name == "template syntax in values" and c.suffix == ".csv"
        )
        texts = _texts(corpus_file(tmp_path, case, zipped=False))
        assert texts == {2: "Hi {{other}}", 3: "Hi {{", 4: "Hi }}{{name}}{{{"}

    def test_template_syntax_in_a_json_value_is_never_rendered_again(self, write: Write) -> None:
        path = write(
            "t.jsonl",
            jsonl_row(0, text="Hi {{name}}", name="{{other}}", other="X")
            + jsonl_row(1, name="{{name}}")
            + jsonl_row(2, name="{{"),
        )
        assert _texts(path) == {1: "Hi {{other}}", 2: "Hello {{name}}", 3: "Hello {{"}

    def test_formula_cells_are_read_and_sent_as_written(self, write: Write) -> None:
        """Escaping formulas is for a file a spreadsheet opens (``--failed-csv``); a campaign
        file is read as written: ``=1+1`` is the text a customer gets."""
        path = write(
            "f.csv",
            b"phone_number,text,name\n"
            + csv_row(0, "=cmd|' /C calc'!A0")
            + csv_row(1, "+1 {{name}}", "-2+3")
            + csv_row(2, "@SUM(1) {{name}}", "=1"),
        )
        assert _texts(path) == {2: "=cmd|' /C calc'!A0", 3: "+1 -2+3", 4: "@SUM(1) =1"}


class TestPathsThatAreNotFiles:
    def test_a_directory_is_a_file_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        folder = tmp_path / "rows.csv"
        folder.mkdir()
        results = str(tmp_path / "run.results.jsonl")
        expected = f"error: {folder}: is a directory, not a campaign file\n"
        assert run(capsys, "validate", str(folder), *OPTIONS) == (2, "", expected)
        assert run(capsys, *SEND, str(folder), *OPTIONS, "--results", results) == (2, "", expected)

    def test_a_pipe_validates_but_is_refused_by_send_without_waiting(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """``validate`` reads its input once; ``send`` reads it again (its digest, the row
        count), which a pipe cannot give: it is refused at once instead of waiting for ever."""
        fifo = tmp_path / "rows.csv"
        os.mkfifo(fifo)
        content = HEADER + csv_row(0)
        with feeding(fifo, content):
            assert run(capsys, "validate", str(fifo), *OPTIONS, "--preview", "0")[0] == 0
        results = tmp_path / "run.results.jsonl"
        with feeding(fifo, content):
            code, out, err = run(capsys, *SEND, str(fifo), *OPTIONS, "--results", str(results))
        assert (code, out) == (2, "")
        assert err == (
            f"error: {fifo}: is not a regular file, and a run reads its input more than once: "
            "save it to a file, or give it on stdin as -\n"
        )
        assert not results.exists()


@contextlib.contextmanager
def feeding(fifo: Path, content: bytes) -> Iterator[None]:
    """A writer feeding ``fifo`` while the block runs, released afterwards whatever the block
    did with the pipe: a reader is opened, so the writer's open returns, and the content fits
    the pipe's buffer, so its write does. Should the block wait on the pipe for a minute (a
    run opening it again), it is given an end of file: the test then fails, it does not hang."""
    assert len(content) < select.PIPE_BUF
    writer = threading.Thread(target=_write, args=(fifo, content), daemon=True)
    rescue = threading.Timer(60, _end_of_file, args=(fifo,))
    writer.start()
    rescue.start()
    try:
        yield
    finally:
        rescue.cancel()
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            writer.join()
        finally:
            os.close(fd)


def _write(fifo: Path, content: bytes) -> None:
    with contextlib.suppress(BrokenPipeError), fifo.open("wb") as pipe:  # waits for a reader
        pipe.write(content)


def _end_of_file(fifo: Path) -> None:
    """Open and close ``fifo`` for writing: a reader waiting in its open reads an end of file."""
    with contextlib.suppress(OSError):  # ENXIO: no reader is waiting
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


class TestMemory:
    """A row past MAX_ROW_BYTES is never parsed, and never held whole: reading it takes a few
    times the limit. One within it is parsed: orjson and the csv module take up to ~25 times
    a row's length for one of 100,000 fields (a list of them, a dict of them)."""

    @pytest.mark.parametrize("case", _BIG, ids=[f"{c.suffix[1:]}: {c.name}" for c in _BIG])
    def test_a_10_mb_line_or_100k_columns_is_read_in_bounded_memory(
        self, tmp_path: Path, case: Case
    ) -> None:
        """Gzipped files are read the same way, a line at a time (the test below)."""
        parsed = "100k" in case.name  # a row of 100k fields may fit the limit
        bound = (32 if parsed else 4) * MAX_ROW_BYTES
        assert peak_reading(corpus_file(tmp_path, case, zipped=False)) < bound

    @pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".csv.gz", ".jsonl.gz"])
    def test_the_whole_file_is_never_held(self, tmp_path: Path, suffix: str) -> None:
        """Two 10 MB rows between good ones: 20 MB read in less than 4 MB."""
        csv_file = ".csv" in suffix
        good = [csv_row(index) if csv_file else jsonl_row(index) for index in range(3)]
        long = b"1,hi," + b"x" * TEN_MB if csv_file else b"[" + b"1," * (TEN_MB // 2) + b"1]"
        content = (HEADER if csv_file else b"") + (long + b"\n").join(good)
        path = tmp_path / f"big{suffix}"
        path.write_bytes(gzip.compress(content, 1, mtime=0) if suffix.endswith(".gz") else content)
        tracemalloc.start()
        try:
            with read_rows(str(path)) as rows:
                problems = [str(record.problem) for record in rows]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert problems == ["None", ROW_TOO_LONG, "None", ROW_TOO_LONG, "None"]
        assert peak < 4 * MAX_ROW_BYTES


# What the reader can give the planner: JSON values (a CSV cell is a string), 64-bit integers,
# finite floats, objects and arrays nested to the depth limit.
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "{{name}}",
            "{{",
            "}}",
            "{name}",
            "{{name|x}}",
            "=1+1",
            "+14155550100",
            "14155550100",
            '["+14155550100"]',
            "[1",
            "101",
            "true",
            "https://e.com/a.png",
            "\u0661\u0664",
        ]
    )
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_NAMES = st.sampled_from([*sorted(API_FIELDS), "name", "Phone Number", "replaces"]) | st.text(
    max_size=6
)
_DEFAULTS = st.sampled_from(
    [Defaults("c"), Defaults("c", inbox_id=101, creator_id=55, text="Hi {{name}}", region="GB")]
)
_HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _planned_ok(records: list[Record], defaults: Defaults) -> None:
    """Each record plans to a Message or an Invalid at its own line."""
    for record in records:
        planned = plan(record, defaults)
        assert isinstance(planned, Message | Invalid)
        assert planned.line == record.line
        if record.problem is not None:
            assert isinstance(planned, Invalid)
            assert planned.problems == (record.problem,)


def _records(path: str, fmt: str | None = None) -> list[Record]:
    with read_rows(path, fmt) as rows:  # type: ignore[arg-type]
        return list(rows)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class TestArbitraryInput:
    @_HYPOTHESIS
    @given(
        data=st.binary(max_size=400),
        fmt=st.sampled_from(["csv", "jsonl"]),
        zipped=st.booleans(),
        defaults=_DEFAULTS,
    )
    def test_any_bytes_read_and_plan_without_raising_but_one_file_error(
        self, tmp_path: Path, data: bytes, fmt: str, zipped: bool, defaults: Defaults
    ) -> None:
        path = tmp_path / f"fuzz.{fmt}{'.gz' if zipped else ''}"
        path.write_bytes(gzip.compress(data, mtime=0) if zipped else data)
        try:
            records = _records(str(path))
        except InputError as exc:
            assert str(exc).startswith(f"{path}: ")
            return
        lines = [record.line for record in records]
        assert lines == sorted(set(lines))
        if fmt == "jsonl" and not data.startswith(b"\x1f\x8b"):  # one record a line not blank
            content = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
            assert lines == [no for no, line in enumerate(content, 1) if line.strip()]
        _planned_ok(records, defaults)

    @_HYPOTHESIS
    @given(
        rows=st.lists(
            st.lists(
                st.text(
                    st.characters(codec="utf-8") | st.sampled_from('\x00\r\n",\udc80\udcbf'),
                    max_size=10,
                ),
                min_size=3,
                max_size=3,
            ),
            min_size=1,
            max_size=6,
        ),
        defaults=_DEFAULTS,
    )
    def test_any_text_rows_give_one_record_each_at_its_line(
        self, tmp_path: Path, rows: list[list[str]], defaults: Defaults
    ) -> None:
        """Cells of any text, NUL and bytes that are not UTF-8 (\\udc80: a lone continuation
        byte) among them: a record a row, where the row starts, the bad ones naming a column."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["phone_number", "text", "name"])
        writer.writerows(rows)
        path = tmp_path / "fuzz.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8", "surrogateescape"))
        records = _records(str(path))
        starts, line = [], 2
        for row in rows:
            starts.append(line)
            line += len(_LINE_BREAK.findall(_csv_line(row)))
        assert [record.line for record in records] == starts
        for record, row in zip(records, rows, strict=True):
            bad = next(
                (cell for cell in row if "\x00" in cell or re.search("[\udc80-\udcff]", cell)), None
            )
            if bad is None:
                assert record == Record(
                    record.line, dict(zip(("phone_number", "text", "name"), row, strict=True))
                )
            else:
                assert record.problem is not None
                assert record.problem.field in ("phone_number", "text", "name")
        _planned_ok(records, defaults)

    @_HYPOTHESIS
    @given(
        objects=st.lists(
            st.tuples(st.dictionaries(_NAMES, _VALUES, max_size=6), st.booleans()),
            min_size=1,
            max_size=4,
        ),
        defaults=_DEFAULTS,
    )
    def test_any_json_objects_give_one_record_each_and_plan(
        self, tmp_path: Path, objects: list[tuple[dict[str, object], bool]], defaults: Defaults
    ) -> None:
        path = tmp_path / "fuzz.jsonl"
        path.write_bytes(
            b"".join(
                json.dumps(value, ensure_ascii=escaped).encode() + b"\n"
                for value, escaped in objects
            )
        )
        records = _records(str(path))
        assert [record.line for record in records] == list(range(1, len(objects) + 1))
        _planned_ok(records, defaults)

    @settings(max_examples=100, deadline=None)
    @given(fields=st.dictionaries(_NAMES, _VALUES, max_size=8), defaults=_DEFAULTS)
    def test_the_planner_gives_a_message_or_an_invalid_row_for_any_record(
        self, fields: dict[str, object], defaults: Defaults
    ) -> None:
        _planned_ok([Record(7, fields)], defaults)

    @settings(max_examples=100, deadline=None)
    @given(value=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40))
    def test_a_merge_value_is_inserted_as_it_is(self, value: str) -> None:
        """Whatever a value holds (braces, tokens, a default's bar), it is text to send."""
        fields = {"phone_number": "14155550100", "text": "{{a}}!", "a": value}
        planned = plan(Record(2, fields), Defaults("c", inbox_id=101, creator_id=55))
        if value.strip():
            assert isinstance(planned, Message)
            assert planned.body["text"] == value + "!"


def _csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue()
