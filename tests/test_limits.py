"""One set of limits (broadcaster.limits) for both formats, with the same words."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from reading import TOO_LONG, Write, error_of, problems_of, rows_of

from broadcaster.errors import InputError
from broadcaster.limits import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_JSON_DEPTH


def _csv_and_jsonl(write: Write, rows: list[dict[str, str]]) -> list[str]:
    """The same rows as a CSV and as a JSONL file."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    jsonl = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    return [write("limits.csv", buffer.getvalue()), write("limits.jsonl", jsonl)]


class TestLimits:
    """One set of limits (broadcaster.limits) for both formats, with the same words."""

    def test_a_field_past_the_limit_is_a_bad_row_naming_it_in_either_format(
        self, write: Write
    ) -> None:
        rows = [
            {"phone_number": "1", "text": "x" * (MAX_FIELD_CHARS + 1)},
            {"phone_number": "2", "text": "x" * MAX_FIELD_CHARS},
        ]
        for path in _csv_and_jsonl(write, rows):
            assert problems_of(path) == [f"text: {TOO_LONG}", None], path

    def test_too_many_fields_is_a_bad_row_in_either_format(self, write: Write) -> None:
        csv_path = write("c.csv", "phone_number,text\n" + ",".join("x" * (MAX_COLUMNS + 1)) + "\n")
        wide = {f"f{index}": 1 for index in range(MAX_COLUMNS + 1)}
        jsonl_path = write("c.jsonl", orjson.dumps(wide) + b"\n")
        expected = f"row: has {MAX_COLUMNS + 1:,} fields, more than the limit of {MAX_COLUMNS:,}"
        assert problems_of(csv_path) == problems_of(jsonl_path) == [expected]

    def test_a_header_with_too_many_columns_is_an_error(self, write: Write) -> None:
        names = ["phone_number", *(f"c{index}" for index in range(MAX_COLUMNS))]
        path = write("c.csv", ",".join(names) + "\n")
        assert error_of(path) == (
            f"{path}: the header has {MAX_COLUMNS + 1:,} columns, "
            f"more than the limit of {MAX_COLUMNS:,}"
        )

    def test_a_header_name_past_the_limit_is_an_error(self, write: Write) -> None:
        path = write("c.csv", "phone_number," + "n" * (MAX_FIELD_CHARS + 1) + "\n")
        with pytest.raises(InputError, match=f"a name in the header row {TOO_LONG}"):
            rows_of(path)

    def test_a_long_quoted_csv_field_does_not_swallow_the_rows_after_it(self, write: Write) -> None:
        """Python's csv gives up inside the field; the rest of its record is skipped."""
        long = "x" * MAX_FIELD_CHARS
        path = write(
            "c.csv",
            f'phone_number,text,note\n1,"{long}\nmore{long}","a\nb"\n2,ok,"c"\n3,"{long}x",n\n',
        )
        records = rows_of(path)
        assert [(r.line, str(r.problem)) for r in records] == [
            (2, f"text: {TOO_LONG}"),
            (5, "None"),
            (6, f"text: {TOO_LONG}"),
        ]
        assert records[1].fields == {"phone_number": "2", "text": "ok", "note": "c"}

    def test_a_long_field_in_an_unnamed_column_is_named_by_position(self, write: Write) -> None:
        path = write("c.csv", "phone_number,text,\n1,a," + "x" * (MAX_FIELD_CHARS + 1) + "\n")
        assert problems_of(path) == [f"column 3: {TOO_LONG}"]

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ({"tags": [["x" * (MAX_FIELD_CHARS + 1)]]}, f"tags: {TOO_LONG}"),
            ({"meta": {"k" * (MAX_FIELD_CHARS + 1): 1}}, f"meta: {TOO_LONG}"),
            ({"k" * (MAX_FIELD_CHARS + 1): 1}, f"row: a field name {TOO_LONG}"),
            ({"tags": ["a", {"b": "\x00"}]}, "tags: contains a NUL character"),
        ],
    )
    def test_any_string_anywhere_in_a_json_row_counts(
        self, write: Write, value: dict[str, object], problem: str
    ) -> None:
        path = write("c.jsonl", orjson.dumps({"chat_id": 1, **value}) + b"\n")
        assert problems_of(path) == [problem]

    def test_json_nested_past_the_limit_is_a_bad_row_naming_the_field(self, write: Write) -> None:
        deepest: object = 1
        for _ in range(MAX_JSON_DEPTH):
            deepest = [deepest]
        lines = [{"chat_id": 1, "tags": deepest}, {"chat_id": 1, "tags": {"a": deepest}}]
        path = write("c.jsonl", b"".join(orjson.dumps(line) + b"\n" for line in lines))
        assert problems_of(path) == [
            None,
            f"tags: is nested deeper than the limit of {MAX_JSON_DEPTH} levels",
        ]
