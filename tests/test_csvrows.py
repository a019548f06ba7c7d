"""CSV rows: the header, quoting, bad records and where they start and end."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reading import Write, error_of, peak_reading, problems_of, rows_of

from broadcaster import csvrows
from broadcaster.errors import InputError
from broadcaster.fields import Problem
from broadcaster.limits import MAX_FIELD_CHARS, MAX_ROW_BYTES
from broadcaster.reader import read_rows
from broadcaster.record import Record

# Written out, as reading.TOO_LONG is: the words users are shown.
ROW_TOO_LONG = "row: is longer than the limit of 1,048,576 bytes"


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

    def test_a_bom_is_dropped_and_api_headers_match_in_any_case(self, write: Write) -> None:
        """A BOM is dropped; the API's field names match in any case, merge names keep theirs."""
        path = write("c.csv", "\ufeffPhone_Number , First Name\n14155550100,Ann\n")
        assert rows_of(path)[0].fields == {"phone_number": "14155550100", "First Name": "Ann"}

    def test_doubled_quotes_and_quoted_commas_read_as_rfc_4180_says(self, write: Write) -> None:
        path = write("c.csv", 'phone_number,text\n1,"say ""hi"", then, go"\n')
        assert rows_of(path)[0].fields["text"] == 'say "hi", then, go'

    @pytest.mark.parametrize(("row", "count"), [("1,a,extra", "3 fields"), ("1", "1 field")])
    def test_ragged_rows_are_bad_rows(self, write: Write, row: str, count: str) -> None:
        path = write("c.csv", f"phone_number,text\n{row}\n14155550100,ok\n")
        bad, good = rows_of(path)
        assert bad.problem is not None
        assert bad.problem.reason == f"has {count}, the header has 2"
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
    def test_a_file_without_one_usable_header_is_one_clear_error(
        self, write: Write, content: str, message: str
    ) -> None:
        path = write("c.csv", content)
        with pytest.raises(InputError, match=message):
            rows_of(path)

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


def _lines_and_problems(path: str) -> list[tuple[int, str | None]]:
    return [(r.line, None if r.problem is None else str(r.problem)) for r in rows_of(path)]


class TestLongRows:
    """A record past MAX_ROW_BYTES is refused unread: no line is held whole."""

    def test_a_row_past_the_limit_is_a_bad_row_and_the_next_rows_keep_their_lines(
        self, write: Write
    ) -> None:
        path = write("c.csv", "phone_number,text\n1," + "x," * 600_000 + "\n2,ok\r\n3,ok\n")
        assert _lines_and_problems(path) == [(2, ROW_TOO_LONG), (3, None), (4, None)]

    def test_the_limit_counts_bytes_of_utf8_not_characters(self, write: Write) -> None:
        """3,600 fields of 100 euro signs: 363,600 characters, 1,090,800 bytes."""
        path = write("c.csv", "phone_number,text\n1," + ("€" * 100 + ",") * 3_600 + "\n2,ok\n")
        assert _lines_and_problems(path) == [(2, ROW_TOO_LONG), (3, None)]

    def test_a_row_of_exactly_the_limit_is_read(self, write: Write) -> None:
        """The limit counts the row as stored, its line ending included."""
        header = "phone_number," + ",".join(f"c{index}" for index in range(9)) + "\n"
        fill = MAX_ROW_BYTES - len("1,\n") - 8  # nine fields, eight commas between them
        fields = [fill // 9 + (index < fill % 9) for index in range(9)]
        row = "1," + ",".join("x" * size for size in fields) + "\n"
        assert len(row) == MAX_ROW_BYTES
        exact = write("exact.csv", header + row)
        over = write("over.csv", header + row.replace("1,", "12,", 1))
        assert _lines_and_problems(exact) == [(2, None)]
        assert _lines_and_problems(over) == [(2, ROW_TOO_LONG)]

    def test_a_record_of_many_short_lines_counts_them_all(self, write: Write) -> None:
        field = ',"' + "y" * 100 + '\n"'  # a quoted field holding a line break
        count = MAX_ROW_BYTES // len(field) + 1
        path = write("c.csv", "phone_number,text\n1" + field * count + "\n2,ok\n")
        assert _lines_and_problems(path) == [(2, ROW_TOO_LONG), (2 + count + 1, None)]

    def test_a_crlf_cut_at_the_limit_is_one_line_ending(self, write: Write) -> None:
        """The first piece read ends with the \\r of the row's \\r\\n."""
        long_row = "1," + "x," * ((MAX_ROW_BYTES - 2) // 2) + "\r\n"
        assert long_row.index("\r") == MAX_ROW_BYTES
        path = write("c.csv", "phone_number,text\r\n" + long_row + "2,ok\r\n")
        assert _lines_and_problems(path) == [(2, ROW_TOO_LONG), (3, None)]

    def test_a_doubled_quote_cut_in_two_stays_inside_its_field(self, write: Write) -> None:
        """The record's first piece ends between the two quotes of a "" in a quoted field, which
        goes on past the line break: the record ends on line 3, not 2."""
        head = '1,"' + "x" * (MAX_ROW_BYTES - 3) + '"'
        assert len(head) == MAX_ROW_BYTES + 1
        path = write("c.csv", "phone_number,text\n" + head + '"\nstill quoted"\n2,ok\n')
        assert _lines_and_problems(path) == [(2, ROW_TOO_LONG), (4, None)]

    @pytest.mark.parametrize(
        ("row", "ended"),
        [
            ('1,"' + "x\n" * 600_000, 600_002),  # past the field limit first
            ("1," + "x," * 600_000 + '"oops\n', 3),  # past the row limit first
        ],
        ids=["a long field", "a long row"],
    )
    def test_an_unclosed_quote_past_a_limit_is_named_as_such(
        self, write: Write, row: str, ended: int
    ) -> None:
        """Left open, a quote swallows the rest of the file: that is what to fix."""
        path = write("c.csv", "phone_number,text\n" + row + "2,ok\n")
        never_closed = "a quote opened in this record is never closed (it runs to the end, line"
        assert _lines_and_problems(path) == [(2, f"row: {never_closed} {ended})")]

    def test_a_long_header_is_one_clear_error(self, write: Write) -> None:
        path = write("c.csv", "phone_number," + "n," * 600_000 + "\n1\n")
        assert error_of(path) == (
            f"{path}: the header row is longer than the limit of 1,048,576 bytes"
        )

    def test_a_10_mb_line_is_read_in_bounded_memory(self, write: Write) -> None:
        path = write("c.csv", "phone_number,text\n1," + "x" * 10_000_000 + "\n2,ok\n")
        assert peak_reading(path) < 4 * MAX_ROW_BYTES

    def test_many_short_fields_before_a_long_one_cost_no_memory_each(self, write: Write) -> None:
        """The record the csv module gave up on is scanned for the long field's column without
        keeping a backtracking mark per field passed (~150 bytes each: 60 MB here)."""
        row = "1," + "x," * 400_000 + "y" * (MAX_FIELD_CHARS + 1)
        path = write("c.csv", "phone_number,text\n" + row + "\n2,ok\n")
        assert _lines_and_problems(path) == [
            (2, "column 400002: is longer than the limit of 131,072 characters"),
            (3, None),
        ]
        assert peak_reading(path) < 8 * MAX_ROW_BYTES


class TestArbitraryLongRows:
    @settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.lists(
            st.lists(st.text(st.sampled_from('ab",\r\né'), max_size=14), min_size=2, max_size=2),
            min_size=1,
            max_size=8,
        )
    )
    def test_a_smaller_limit_changes_only_the_rows_past_it(
        self, write: Write, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]]
    ) -> None:
        """Read in pieces of 5 characters against a limit of 24 bytes, a record past the limit
        is one bad row, and every other keeps its fields and its line: pieces cut in the middle
        of a \\r\\n, of a "" or of an é change nothing."""
        written = []
        for row in rows:
            buffer = io.StringIO()
            csv.writer(buffer).writerow(row)
            written.append(buffer.getvalue())
        path = write("c.csv", "phone_number,text\r\n" + "".join(written))
        whole = rows_of(path)
        with monkeypatch.context() as limits:
            limits.setattr(csvrows, "MAX_ROW_BYTES", 24)
            limits.setattr(csvrows, "_SKIPPED_PIECE", 5)
            pieces = rows_of(path)
        assert pieces == [
            Record(record.line, problem=Problem("row", ROW_TOO_LONG.removeprefix("row: ")))
            if len(text.encode()) > 24
            else record
            for record, text in zip(whole, written, strict=True)
        ]


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
        assert error_of(path) == (
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


class TestArbitraryCsv:
    @settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.lists(
            st.lists(
                st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
                min_size=2,
                max_size=2,
            ),
            min_size=1,
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
