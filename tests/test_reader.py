from __future__ import annotations

import csv
import gzip
import io
import json
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from broadcaster.errors import InputError
from broadcaster.fields import Problem
from broadcaster.limits import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_JSON_DEPTH
from broadcaster.reader import API_FIELDS, Record, field_name, format_of, read_rows

Write = Callable[[str, "str | bytes"], str]


def rows_of(path: str, fmt: str | None = None) -> list[Record]:
    with read_rows(path, fmt) as rows:  # type: ignore[arg-type]
        return list(rows)


def problems_of(path: str) -> list[str | None]:
    """Each row's problem as the journal shows it (``field: reason``), None for a good row."""
    return [None if r.problem is None else str(r.problem) for r in rows_of(path)]


def serialisable(record: Record) -> bool:
    """What keying an invalid row needs of its fields."""
    orjson.dumps(dict(record.fields), option=orjson.OPT_SORT_KEYS)
    return True


TOO_LONG = f"is longer than the limit of {MAX_FIELD_CHARS:,} characters"
TOO_LARGE = "holds an integer beyond 64 bits, which cannot be read exactly (write it as a string)"
NON_FINITE = "is not valid JSON: NaN and Infinity are not JSON numbers (write null or a string)"


class TestFormatOf:
    @pytest.mark.parametrize(
        ("name", "fmt"),
        [
            ("a.csv", "csv"),
            ("a.CSV", "csv"),
            ("a.csv.gz", "csv"),
            ("a.jsonl", "jsonl"),
            ("a.ndjson.gz", "jsonl"),
            ("a.txt", None),
            ("a", None),
            ("-", None),
        ],
    )
    def test_by_extension(self, name: str, fmt: str | None) -> None:
        assert format_of(name) == fmt


class TestCsv:
    def test_line_numbers_are_where_records_start(self, write: Write) -> None:
        """Header is line 1; an embedded newline pushes the next record's line on; blank lines
        are skipped but counted."""
        path = write(
            "c.csv",
            'phone_number,text\r\n14155550100,"two\r\nlines"\r\n\r\n14155550101,plain\r\n',
        )
        records = rows_of(path)
        assert [r.line for r in records] == [2, 5]
        assert records[0].fields == {"phone_number": "14155550100", "text": "two\r\nlines"}

    def test_bom_and_header_case(self, write: Write) -> None:
        """A BOM is dropped; the API's field names match in any case, merge names keep theirs."""
        path = write("c.csv", "\ufeffPhone_Number , First Name\n14155550100,Ann\n")
        assert rows_of(path)[0].fields == {"phone_number": "14155550100", "First Name": "Ann"}

    def test_rfc4180_quoting(self, write: Write) -> None:
        path = write("c.csv", 'phone_number,text\n1,"say ""hi"", then, go"\n')
        assert rows_of(path)[0].fields["text"] == 'say "hi", then, go'

    @pytest.mark.parametrize(("row", "count"), [("1,a,extra", 3), ("1", 1)])
    def test_ragged_rows_are_bad_rows(self, write: Write, row: str, count: int) -> None:
        path = write("c.csv", f"phone_number,text\n{row}\n14155550100,ok\n")
        bad, good = rows_of(path)
        assert bad.problem is not None
        assert bad.problem.reason == f"has {count} fields, the header has 2"
        assert (bad.line, good.line) == (2, 3)

    def test_a_quote_left_open_to_the_end_is_pointed_at(self, write: Write) -> None:
        """Such a quote would swallow the rest of the file into one field: it is an error."""
        path = write("c.csv", 'phone_number,text\n1,"oops\n2,b\n3,c\n')
        (bad,) = rows_of(path)
        assert bad.line == 2
        assert bad.problem is not None
        assert bad.problem.reason == (
            "a quote opened in this record is never closed (it runs to the end, line 4)"
        )

    def test_a_quote_left_open_mid_file_makes_a_ragged_row(self, write: Write) -> None:
        """Swallowed lines show up as a record of the wrong width, with a hint."""
        path = write("c.csv", 'phone_number,text\n1,"oops\n2,"b"\n3,c\n')
        records = rows_of(path)
        assert records[0].line == 2
        assert records[0].problem is not None
        assert "is a quote left open?" in records[0].problem.reason
        assert records[-1].fields == {"phone_number": "3", "text": "c"}

    def test_junk_after_a_closing_quote_is_a_bad_row(self, write: Write) -> None:
        path = write("c.csv", 'phone_number,text\n1,"a"b\n2,ok\n')
        bad, good = rows_of(path)
        assert bad.problem is not None
        assert bad.problem.reason.startswith("is not valid CSV")
        assert (bad.line, good.line) == (2, 3)

    def test_invalid_utf8_is_a_bad_row_not_a_crash(self, write: Write) -> None:
        path = write("c.csv", b"phone_number,text\n1,caf\xe9\n2,ok\n")
        bad, good = rows_of(path)
        assert bad.problem == Problem("text", "is not valid UTF-8 text")
        assert good.fields["text"] == "ok"

    def test_a_nul_byte_in_a_cell_is_a_bad_row_naming_the_column(self, write: Write) -> None:
        path = write("c.csv", b"phone_number,text\n1,a\x00b\n2,ok\n")
        assert problems_of(path) == ["text: contains a NUL character", None]

    def test_a_utf16_file_is_named_as_such(self, write: Write) -> None:
        """Saved as UTF-16 without a BOM, every other byte of the header is a NUL."""
        path = write("c.csv", "phone_number,text\n1,a\n".encode("utf-16-le"))
        with pytest.raises(InputError, match=r"NUL characters \(is the file UTF-16\?"):
            rows_of(path)

    def test_unnamed_columns_are_dropped(self, write: Write) -> None:
        path = write("c.csv", "phone_number,text,\n1,a,\n")
        assert rows_of(path)[0].fields == {"phone_number": "1", "text": "a"}

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("", "the file is empty"),
            ("\n\n", "the file is empty"),
            ("14155550100,Hello there\n14155550101,Hi\n", "line 1 is not a header row"),
            ("phone_number,text,Text\n", "names the column 'text' twice"),
            ("name,email\n", "line 1 is not a header row"),
        ],
    )
    def test_file_level_errors(self, write: Write, content: str, message: str) -> None:
        path = write("c.csv", content)
        with pytest.raises(InputError, match=message):
            rows_of(path)

    def test_gzip_by_magic_not_name(self, write: Write) -> None:
        path = write("c.csv.gz", gzip.compress(b"phone_number,text\n1,a\n"))
        assert rows_of(path)[0].fields == {"phone_number": "1", "text": "a"}
        odd = write("export.dat", gzip.compress(b'{"phone_number": "1"}\n'))
        assert rows_of(odd)[0].fields == {"phone_number": "1"}

    def test_damaged_gzip_is_one_clear_error(self, write: Write) -> None:
        path = write("c.csv.gz", gzip.compress(b"phone_number,text\n" + b"1,a\n" * 1000)[:60])
        with pytest.raises(InputError, match="compressed data is damaged"):
            rows_of(path)

    def test_format_option_overrides_the_name(self, write: Write) -> None:
        path = write("data.jsonl", "phone_number,text\n1,a\n")
        assert rows_of(path, "csv")[0].fields == {"phone_number": "1", "text": "a"}

    def test_streams_without_reading_ahead(self, write: Write) -> None:
        """The first row arrives before the rest of a large file is read."""
        path = write("big.csv", "phone_number,text\n" + "14155550100,hi\n" * 200_000)
        with read_rows(path) as rows:
            first = next(rows)
            handle_position = _open_file_position(path)
        assert first.line == 2
        assert handle_position is None or handle_position < Path(path).stat().st_size


def _open_file_position(path: str) -> int | None:
    """Where the process's open handle on path stands (Linux), or None when unknown."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():
        return None
    for fd in fd_dir.iterdir():
        try:
            if fd.resolve() == Path(path).resolve():
                info = (Path("/proc/self/fdinfo") / fd.name).read_text()
                return int(info.split("pos:")[1].split()[0])
        except OSError:
            continue
    return None


class TestJsonl:
    def test_rows_and_line_numbers(self, write: Write) -> None:
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

    def test_stdin_is_sniffed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        stdin = io.TextIOWrapper(io.BytesIO(b'  {"chat_id": 7}\n'))
        monkeypatch.setattr(sys, "stdin", stdin)
        assert rows_of("-")[0].fields == {"chat_id": 7}


class TestFiles:
    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="no such file"):
            rows_of(str(tmp_path / "nope.csv"))

    def test_directory(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="is a directory"):
            rows_of(str(tmp_path))


class TestArbitraryBytes:
    @settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.binary(max_size=300), fmt=st.sampled_from(["csv", "jsonl"]))
    def test_never_raises_anything_but_one_clear_error(
        self, write: Write, data: bytes, fmt: str
    ) -> None:
        """Any bytes become rows (some bad) or one InputError; lines only go forward."""
        path = write(f"fuzz.{fmt}", data)
        try:
            records = rows_of(path)
        except InputError as exc:
            assert str(exc).startswith(path)
            return
        lines = [record.line for record in records]
        assert lines == sorted(set(lines))
        assert all(line >= 1 for line in lines)

    @settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.lists(
            st.lists(
                st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
                min_size=2,
                max_size=2,
            ),
            max_size=8,
        )
    )
    def test_what_the_csv_module_writes_reads_back(
        self, write: Write, cells: list[list[str]]
    ) -> None:
        """Whatever a spreadsheet writes (quotes, commas, newlines) reads back as written; a NUL,
        which no text has, is refused (see TestCsv)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["phone_number", "text"])
        writer.writerows(cells)
        records = rows_of(write("round.csv", buffer.getvalue()))
        assert [record.problem for record in records] == [None] * len(cells)
        assert [[r.fields["phone_number"], r.fields["text"]] for r in records] == cells


class TestFieldNames:
    @pytest.mark.parametrize(
        "name",
        ["phone_number", "Phone Number", "PHONE-NUMBER", "phone number", " Phone_Number ",
         "Phone  Number", "phone - number"],
    )  # fmt: skip
    def test_an_api_field_matches_in_any_case_with_spaces_dashes_or_underscores(
        self, name: str
    ) -> None:
        assert field_name(name) == "phone_number"

    @pytest.mark.parametrize("api_field", sorted(API_FIELDS))
    def test_every_api_field_matches_as_people_write_it(self, api_field: str) -> None:
        words = api_field.split("_")
        for written in (
            " ".join(words).title(),
            "-".join(words).upper(),
            f" {' '.join(words)} ",
        ):
            assert field_name(written) == api_field

    @pytest.mark.parametrize(
        ("name", "kept"),
        [
            (" First Name ", "First Name"),
            ("PHONE-TEXT", "PHONE-TEXT"),
            ("first_name", "first_name"),
        ],
    )
    def test_other_names_are_merge_variables_kept_as_written_trimmed(
        self, name: str, kept: str
    ) -> None:
        assert field_name(name) == kept

    def test_a_csv_header_in_words_names_the_api_fields(self, write: Write) -> None:
        path = write("c.csv", "Phone Number,TEXT,Media-URL, First Name \n1,hi,u,Ann\n")
        assert rows_of(path)[0].fields == {
            "phone_number": "1",
            "text": "hi",
            "media_url": "u",
            "First Name": "Ann",
        }

    def test_jsonl_keys_are_matched_the_same_way(self, write: Write) -> None:
        path = write("c.jsonl", '{"Phone Number": "1", "INBOX-ID": 5, " First Name ": "Ann"}\n')
        assert rows_of(path)[0].fields == {
            "phone_number": "1",
            "inbox_id": 5,
            "First Name": "Ann",
        }

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            (
                "phone_number,Phone Number",
                (
                    "the header names the column 'phone_number' twice: "
                    "as 'phone_number' and as 'Phone Number'"
                ),
            ),
            ("phone_number,Name,Name ", "the header names the column 'Name' twice"),
        ],
    )
    def test_two_columns_for_one_field_are_an_error_naming_both(
        self, write: Write, header: str, message: str
    ) -> None:
        path = write("c.csv", f"{header}\n1,2,3\n")
        with pytest.raises(InputError) as caught:
            rows_of(path)
        assert str(caught.value) == f"{path}: {message}"

    def test_two_jsonl_keys_for_one_field_make_a_bad_row(self, write: Write) -> None:
        path = write(
            "c.jsonl",
            '{"phone_number": "1", "Phone Number": "2"}\n{"Name": 1, "Name ": 2, "chat_id": 1}\n',
        )
        assert problems_of(path) == [
            "phone_number: given twice, as 'phone_number' and as 'Phone Number'",
            "Name: given twice, as 'Name' and as 'Name '",
        ]

    def test_an_unnamed_jsonl_key_is_dropped_as_an_unnamed_column_is(self, write: Write) -> None:
        path = write("c.jsonl", '{"chat_id": 1, "": 2, " ": 3}\n')
        assert rows_of(path)[0] == Record(1, {"chat_id": 1})


class TestDidYouMean:
    @pytest.mark.parametrize(
        ("header", "hint"),
        [
            ("phone,name", "phone_number for 'phone'"),
            ("Mobile,Message", "phone_number for 'Mobile' and text for 'Message'"),
            ("Cell,Tel,body", "phone_number for 'Cell' or 'Tel' and text for 'body'"),
            ("phonenumber,text", "phone_number for 'phonenumber'"),
            ("chatid,msg", "chat_id for 'chatid' and text for 'msg'"),
            ("phone,text,message", "phone_number for 'phone'"),  # text is there already
        ],
    )
    def test_a_header_without_a_target_suggests_the_columns_meant(
        self, write: Write, header: str, hint: str
    ) -> None:
        path = write("c.csv", f"{header}\n")
        with pytest.raises(InputError) as caught:
            rows_of(path)
        assert str(caught.value) == (
            f"{path}: the header has no column phone_number, chat_id, list_id or targets; "
            f"did you mean {hint}?"
        )

    def test_without_a_near_miss_for_a_target_line_1_is_taken_for_data(self, write: Write) -> None:
        """``message`` alone does not explain a missing target: no hint."""
        path = write("c.csv", "name,message\n")
        with pytest.raises(InputError, match="line 1 is not a header row: it names none of"):
            rows_of(path)

    def test_a_jsonl_row_without_a_target_is_left_to_the_plan_with_its_fields(
        self, write: Write
    ) -> None:
        """The plan reports it, hint included, and keys it by content."""
        path = write("c.jsonl", '{"phone": "14155550100", "text": "hi"}\n')
        (record,) = rows_of(path)
        assert (record.line, record.problem) == (1, None)
        assert record.fields == {"phone": "14155550100", "text": "hi"}

    def test_a_jsonl_row_without_a_target_or_a_near_miss_is_left_to_the_plan(
        self, write: Write
    ) -> None:
        path = write("c.jsonl", '{"name": "Ann", "message": "hi"}\n')
        assert rows_of(path)[0].problem is None


class TestDelimiterHint:
    @pytest.mark.parametrize(
        ("content", "separator"),
        [
            ("phone_number;text\n1;hi\n", "';' (semicolons)"),
            ('"Phone Number";"Text"\n"1";"hi"\n', "';' (semicolons)"),
            ("phone_number\ttext\n1\thi\n", "tabs"),
            ("\n\nphone_number\ttext\n", "tabs"),
        ],
    )
    def test_a_header_split_by_another_separator_is_named(
        self, write: Write, content: str, separator: str
    ) -> None:
        path = write("c.csv", content)
        with pytest.raises(InputError) as caught:
            rows_of(path)
        assert str(caught.value) == (
            f"{path}: the header is separated by {separator}, not commas: "
            "save the file as comma-separated CSV"
        )

    @pytest.mark.parametrize(
        "header",
        [
            "name;email",  # no target either way
            "phone_number;a\tchat_id",  # a target either way: a guess
        ],
    )
    def test_no_guess_when_no_single_separator_explains_the_header(
        self, write: Write, header: str
    ) -> None:
        path = write("c.csv", f"{header}\n")
        with pytest.raises(InputError, match="line 1 is not a header row"):
            rows_of(path)

    def test_a_semicolon_inside_a_comma_separated_header_is_fine(self, write: Write) -> None:
        path = write("c.csv", "phone_number,a;b\n1,x\n")
        assert rows_of(path)[0].fields == {"phone_number": "1", "a;b": "x"}


class TestEmptyJsonl:
    @pytest.mark.parametrize(
        "content", [b"", b"\n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n  \r\n\t\n"]
    )
    def test_a_file_with_no_row_is_one_clear_error(self, write: Write, content: bytes) -> None:
        path = write("c.jsonl", content)
        with pytest.raises(InputError) as caught:
            rows_of(path)
        assert str(caught.value) == f"{path}: the file is empty (expected one JSON object a line)"

    def test_the_error_comes_with_the_first_row_asked_for(self, write: Write) -> None:
        """Rows are read lazily: opening succeeds, the first ``next()`` raises."""
        path = write("c.jsonl", gzip.compress(b"\n"))
        with read_rows(path) as rows, pytest.raises(InputError, match="the file is empty"):
            next(rows)


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
        with pytest.raises(InputError) as caught:
            rows_of(path)
        assert str(caught.value) == (
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
            (orjson.dumps({"text": "x" * 10_000_000}), f"text: {TOO_LONG}"),
            (
                orjson.dumps({f"k{index}": index for index in range(100_000)}),
                "row: has 100,000 fields, more than the limit of 1,000",
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

    def test_a_key_given_twice_keeps_the_last_value_as_json_parsers_do(self, write: Write) -> None:
        path = write("c.jsonl", b'{"a": 1, "a": 2, "chat_id": 3}\n')
        assert rows_of(path) == [Record(1, {"a": 2, "chat_id": 3})]

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
