"""JSONL rows: one object a line, whatever bytes or JSON a line holds."""

from __future__ import annotations

import gzip
import json
import string
import tracemalloc
from dataclasses import replace

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reading import TOO_LONG, Write, error_of, peak_reading, rows_of

from broadcaster import jsonlrows
from broadcaster.columns import field_name
from broadcaster.errors import InputError
from broadcaster.fields import Problem
from broadcaster.limits import MAX_ROW_BYTES
from broadcaster.reader import read_rows
from broadcaster.record import Record


def serialisable(record: Record) -> bool:
    """What keying an invalid row needs of its fields."""
    orjson.dumps(dict(record.fields), option=orjson.OPT_SORT_KEYS)
    return True


# Written out, as reading.TOO_LONG is: the words users are shown.
ROW_TOO_LONG = "is longer than the limit of 1,048,576 bytes"
TOO_LARGE = "holds an integer beyond 64 bits, which cannot be read exactly (write it as a string)"
NON_FINITE = "is not valid JSON: NaN and Infinity are not JSON numbers (write null or a string)"


def _short_name(index: int) -> str:
    """A name of three letters or digits: 100,000 fields fit in a line within the row limit."""
    alphabet = string.ascii_letters + string.digits
    return "".join(alphabet[index // len(alphabet) ** power % len(alphabet)] for power in range(3))


class TestJsonl:
    def test_blank_lines_are_skipped_but_counted_in_the_line_numbers(self, write: Write) -> None:
        """A BOM is dropped, CRLF ends a line, and JSON numbers stay numbers."""
        path = write(
            "c.jsonl",
            '\ufeff{"phone_number": 14155550100, "Name": "A"}\n\n   \n{"chat_id": 5}\r\n',
        )
        records = rows_of(path)
        assert [r.line for r in records] == [1, 4]
        assert records[0].fields == {"phone_number": 14155550100, "Name": "A"}

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            ('{"a": ', "is not valid JSON: unexpected end of data at character 7"),
            ("[1, 2]", "is a JSON array, not an object"),
            ('"text"', "is a JSON string, not an object"),
            ("null", "is a JSON value, not an object"),
            ("42", "is a JSON number, not an object"),
        ],
    )
    def test_bad_lines_are_bad_rows(self, write: Write, line: str, reason: str) -> None:
        path = write("c.jsonl", f'{{"chat_id": 1}}\n{line}\n{{"chat_id": 2}}\n')
        records = rows_of(path)
        assert [r.line for r in records] == [1, 2, 3]
        assert records[1].problem is not None
        assert records[1].problem.reason == reason


class TestEmptyJsonl:
    @pytest.mark.parametrize(
        "content", [b"", b"\n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n  \r\n\t\n"]
    )
    def test_a_file_with_no_row_is_one_clear_error(self, write: Write, content: bytes) -> None:
        path = write("c.jsonl", content)
        assert error_of(path) == f"{path}: the file is empty (expected one JSON object a line)"

    def test_the_error_comes_with_the_first_row_asked_for(self, write: Write) -> None:
        """Rows are read lazily: opening succeeds, the first ``next()`` raises."""
        path = write("c.jsonl", gzip.compress(b"\n"))
        with read_rows(path) as rows, pytest.raises(InputError, match="the file is empty"):
            next(rows)


def _memory_held_after_first_row(path: str) -> int:
    """Bytes still allocated while the first row (a bad one) is in the caller's hands."""
    tracemalloc.start()
    try:
        with read_rows(path) as rows:
            record = next(rows)
            held = tracemalloc.get_traced_memory()[0]
            assert record.problem is not None
    finally:
        tracemalloc.stop()
    return held


class TestHostileJsonl:
    """Whatever a line holds, it becomes one row, and never an exception."""

    @pytest.mark.parametrize(
        ("line", "problem"),
        [
            (b"[" * 10_000, "row: is nested deeper than the limit of 8 levels"),
            (b'{"chat_id": 123456789012345678901234567890}', f"chat_id: {TOO_LARGE}"),
            (b'{"chat_id": -9223372036854775809}', f"chat_id: {TOO_LARGE}"),
            (b'{"chat_id": 1, "ids": [1, {"a": 18446744073709551616}]}', f"ids: {TOO_LARGE}"),
            (b'{"chat_id": ' + b"9" * 400 + b"}", f"row: {TOO_LARGE}"),
            (b'{"chat_id": NaN}', f"row: {NON_FINITE}"),
            (b'{"chat_id": 1, "x": [Infinity]}', f"row: {NON_FINITE}"),
            (b'{"chat_id": -Infinity}', f"row: {NON_FINITE}"),
            (b'{"chat_id": 1, "t": "a\\u0000b"}', "t: contains a NUL character"),
            (
                b'{"chat_id": 1, "t": "a\x00b"}',
                "row: is not valid JSON: a NUL byte at character 23 (is it a binary file?)",
            ),
            (
                b'{"chat_id": 1}\x00',
                "row: is not valid JSON: a NUL byte at character 15 (is it a binary file?)",
            ),
            (
                b"\x00\x00\x00",
                "row: is not valid JSON: a NUL byte at character 1 (is it a binary file?)",
            ),
            (b'{"chat_id": 1, "t": "caf\xe9"}', "row: is not valid UTF-8 text"),
            (
                b'{"chat_id": 1, "t": "\\ud800"}',
                "row: is not valid JSON: no low surrogate in string at character 22",
            ),
            (orjson.dumps({"text": "x" * 200_000}), f"text: {TOO_LONG}"),
            (orjson.dumps({"text": "x" * 10_000_000}), f"row: {ROW_TOO_LONG}"),
            (
                orjson.dumps({_short_name(index): 0 for index in range(100_000)}),
                "row: has 100,000 fields, more than the limit of 1,000",
            ),
            (
                orjson.dumps({f"k{index}": index for index in range(100_000)}),
                f"row: {ROW_TOO_LONG}",
            ),
        ],
    )
    def test_a_hostile_line_is_a_bad_row_saying_why(
        self, write: Write, line: bytes, problem: str
    ) -> None:
        path = write("c.jsonl", b'{"chat_id": 1}\n' + line + b'\r\n{"chat_id": 2}\n')
        records = rows_of(path)
        assert [r.line for r in records] == [1, 2, 3]
        assert [str(r.problem) for r in records] == ["None", problem, "None"]
        assert all(serialisable(record) for record in records)

    @pytest.mark.parametrize(
        ("line", "fields"),
        [
            (b'{"chat_id": 18446744073709551615}', {"chat_id": 2**64 - 1}),  # 64 bits: exact
            (b'{"chat_id": -9223372036854775808}', {"chat_id": -(2**63)}),
            (b'{"chat_id": 1, "n": 1e19}', {"chat_id": 1, "n": 1e19}),  # a float is a float
            (b'{"chat_id": 1, "t": "\\\\u0000"}', {"chat_id": 1, "t": "\\u0000"}),
        ],
    )
    def test_what_looks_hostile_but_is_not_reads_as_written(
        self, write: Write, line: bytes, fields: dict[str, object]
    ) -> None:
        path = write("c.jsonl", line + b"\n")
        assert rows_of(path) == [Record(1, fields)]

    def test_a_key_given_twice_is_refused_not_read_last_wins(self, write: Write) -> None:
        path = write("c.jsonl", b'{"a": 1, "a": 2, "chat_id": 3}\n')
        (record,) = rows_of(path)
        assert str(record.problem) == (
            "a: is given twice in the object: which one is meant cannot be known"
        )

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("long.jsonl", b'{"text": "' + b"x" * 10_000_000 + b'"}\n{"chat_id": 1}\n'),
            ("long.csv", b"phone_number,text\n1," + b"x" * 10_000_000 + b"\n2,b\n"),
        ],
    )
    def test_a_long_line_is_not_held_while_its_row_is_used(
        self, write: Write, name: str, content: bytes
    ) -> None:
        assert _memory_held_after_first_row(write(name, content)) < 1_000_000


class TestLongLines:
    """A line past MAX_ROW_BYTES is refused unparsed: orjson takes 13 to 50 times a line's
    length to parse it (130 MB for a 10 MB string, 430 MB for 10 MB of ``[]``)."""

    def test_a_line_of_exactly_the_limit_is_read_and_one_more_byte_is_not(
        self, write: Write
    ) -> None:
        """The limit counts the line as stored, its line ending included."""
        pads = {f"p{index}": "x" * 95_000 for index in range(11)}  # each within its limit
        short = orjson.dumps({"chat_id": 1, **pads}) + b"\n"
        pads["p10"] += "x" * (MAX_ROW_BYTES - len(short))
        line = orjson.dumps({"chat_id": 1, **pads}) + b"\n"
        assert len(line) == MAX_ROW_BYTES
        path = write("c.jsonl", line + b" " + line)
        assert [(r.line, str(r.problem)) for r in rows_of(path)] == [
            (1, "None"),
            (2, f"row: {ROW_TOO_LONG}"),
        ]

    @pytest.mark.parametrize(
        "line",
        [
            b'{"text": "' + b"x" * 10_000_000 + b'"}',
            b'{"chat_id": 1, "l": [' + b"[]," * 3_500_000 + b"[]]}",
            b"[" + b'{"chat_id": 1},' * 700_000 + b'{"chat_id": 2}]',  # a .json file, not JSONL
        ],
        ids=["a 10 MB string", "10 MB of empty arrays", "a JSON array of rows on one line"],
    )
    def test_a_10_mb_line_is_a_bad_row_read_in_bounded_memory(
        self, write: Write, line: bytes
    ) -> None:
        path = write("c.jsonl", line + b'\n{"chat_id": 3}\n')
        assert [(r.line, str(r.problem)) for r in rows_of(path)] == [
            (1, f"row: {ROW_TOO_LONG}"),
            (2, "None"),
        ]
        assert peak_reading(path) < 4 * MAX_ROW_BYTES


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(exclude_categories=()), max_size=8)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=16,
)


def _jsonl_file(write: Write, lines: list[bytes]) -> tuple[str, list[int]]:
    """A JSONL file of these lines, and the numbers of those that are not blank."""
    content = b"\n".join(lines) + b"\n"
    shown = [
        line.removeprefix(b"\xef\xbb\xbf") if no == 1 else line for no, line in enumerate(lines, 1)
    ]
    return write("fuzz.jsonl", content), [no for no, line in enumerate(shown, 1) if line.strip()]


class TestArbitraryJsonl:
    @settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=6))
    def test_any_bytes_become_one_record_a_line(self, write: Write, lines: list[bytes]) -> None:
        """A line of any bytes is a row (most of them bad); the file only fails with no row."""
        assume(not b"\n".join(lines).startswith(b"\x1f\x8b"))  # gzip's magic: another test
        path, expected = _jsonl_file(write, lines)
        try:
            records = rows_of(path, "jsonl")
        except InputError as exc:
            assert not expected
            assert "the file is empty" in str(exc)
            return
        assert [record.line for record in records] == expected
        assert all(serialisable(record) for record in records)

    @settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.lists(
            st.tuples(
                _JSON | st.dictionaries(st.text(max_size=12), _JSON, max_size=5), st.booleans()
            ),
            min_size=1,
            max_size=5,
        )
    )
    def test_any_json_becomes_one_record_a_line(
        self, write: Write, values: list[tuple[object, bool]]
    ) -> None:
        """Big integers, NaN, lone surrogates, nesting: a row each, keyable; a good row holds
        the object as written."""
        lines = [
            json.dumps(value, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
            for value, escaped in values
        ]
        path, expected = _jsonl_file(write, lines)
        records = rows_of(path)
        assert [record.line for record in records] == expected == list(range(1, len(lines) + 1))
        assert all(serialisable(record) for record in records)
        for record, (value, _) in zip(records, values, strict=True):
            if record.problem is None:
                assert isinstance(value, dict)
                assert record.fields == {field_name(k): v for k, v in value.items() if k.strip()}


class TestArbitraryLongLines:
    @settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=6))
    def test_a_smaller_limit_changes_only_the_lines_past_it(
        self, write: Write, monkeypatch: pytest.MonkeyPatch, lines: list[bytes]
    ) -> None:
        """Against a limit of 24 bytes, read on in pieces of 5, a line past it (its line ending
        counted; blank or not: it is not read) is one bad row, and every other reads as it did."""
        assume(not b"\n".join(lines).startswith(b"\x1f\x8b"))  # gzip's magic: another test
        path, _ = _jsonl_file(write, lines)
        try:
            whole = {record.line: record for record in rows_of(path, "jsonl")}
        except InputError:
            whole = {}
        too_long = Record(0, problem=Problem("row", ROW_TOO_LONG))
        expected = [
            replace(too_long, line=no) if len(line) + 1 > 24 else whole[no]
            for no, line in enumerate(lines, 1)
            if len(line) + 1 > 24 or no in whole
        ]
        with monkeypatch.context() as limits:
            limits.setattr(jsonlrows, "MAX_ROW_BYTES", 24)
            limits.setattr(jsonlrows, "_SKIPPED_PIECE", 5)
            if not expected:
                with pytest.raises(InputError, match="the file is empty"):
                    rows_of(path, "jsonl")
                return
            assert rows_of(path, "jsonl") == expected


class TestRepeatedNames:
    """JSON parsers keep the last of a repeated name silently: a row that gives phone_number
    twice would be sent to whichever came last."""

    def test_a_name_given_twice_is_a_row_problem(self, write: Write) -> None:
        line = b'{"phone_number":"+14155550133","text":"Hi","phone_number":"+14155550134"}\n'
        (record,) = rows_of(write("r.jsonl", line))
        assert record.problem is not None
        assert (record.problem.field, record.problem.reason) == (
            "phone_number",
            "is given twice in the object: which one is meant cannot be known",
        )

    def test_a_value_that_reads_as_a_name_is_no_repeat(self, write: Write) -> None:
        line = b'{"phone_number":"+14155550133","text":"\\"phone_number\\" is ok"}\n'
        (record,) = rows_of(write("r.jsonl", line))
        assert record.problem is None
        assert record.fields["phone_number"] == "+14155550133"

    def test_a_name_repeated_inside_a_nested_value_is_not_the_rows(self, write: Write) -> None:
        line = b'{"phone_number":"+14155550133","text":"Hi","v":{"text":1}}\n'
        (record,) = rows_of(write("r.jsonl", line))
        assert record.problem is None or "twice" not in record.problem.reason

    @pytest.mark.parametrize(
        "line",
        [
            b'{"phone_number":"14155550001","phone\\u005fnumber":"14155550002","text":"x"}\n',
            b'{"phone_number" : "14155550001", "text":"x", "phone_number" : "14155550002"}\n',
        ],
    )
    def test_an_escaped_or_spaced_repeat_is_caught_too(self, write: Write, line: bytes) -> None:
        (record,) = rows_of(write("r.jsonl", line))
        assert record.problem is not None
        assert (record.problem.field, "twice" in record.problem.reason) == ("phone_number", True)
