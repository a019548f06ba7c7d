"""CSV rows: the header, quoting, bad records and where they start and end."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reading import Write, error_of, problems_of, rows_of

from broadcaster.errors import InputError
from broadcaster.fields import Problem
from broadcaster.reader import read_rows


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
