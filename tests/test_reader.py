from __future__ import annotations

import csv
import gzip
import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcaster.errors import InputError
from broadcaster.reader import Record, format_of, read_rows

Write = Callable[[str, "str | bytes"], str]


def rows_of(path: str, fmt: str | None = None) -> list[Record]:
    with read_rows(path, fmt) as rows:  # type: ignore[arg-type]
        return list(rows)


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
        assert bad.problem is not None
        assert bad.problem.reason == "is not valid UTF-8 text"
        assert good.fields["text"] == "ok"

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
            st.lists(st.text(st.characters(codec="utf-8"), max_size=12), min_size=2, max_size=2),
            max_size=8,
        )
    )
    def test_what_the_csv_module_writes_reads_back(
        self, write: Write, cells: list[list[str]]
    ) -> None:
        """Whatever a spreadsheet writes (quotes, commas, newlines) reads back as written."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["phone_number", "text"])
        writer.writerows(cells)
        records = rows_of(write("round.csv", buffer.getvalue()))
        assert [record.problem for record in records] == [None] * len(cells)
        assert [[r.fields["phone_number"], r.fields["text"]] for r in records] == cells
