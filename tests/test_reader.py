"""Opening a campaign file: its format by name or sniffed, gzip, stdin, unreadable files."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reading import Write, rows_of

from broadcaster.errors import InputError
from broadcaster.reader import (
    Reading,
    count_rows,
    file_identity,
    file_stamp,
    format_of,
    input_digest,
    read_rows,
)


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
    def test_the_extension_names_the_format_in_any_case_and_under_gz(
        self, name: str, fmt: str | None
    ) -> None:
        """Any other name, and ``-``, gives None: the content is sniffed instead."""
        assert format_of(name) == fmt


class TestOpening:
    def test_gzip_is_known_by_its_magic_bytes_not_its_name(self, write: Write) -> None:
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

    def test_stdin_is_sniffed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        stdin = io.TextIOWrapper(io.BytesIO(b'  {"chat_id": 7}\n'))
        monkeypatch.setattr(sys, "stdin", stdin)
        assert rows_of("-")[0].fields == {"chat_id": 7}


class TestUnreadablePaths:
    def test_a_missing_file_is_an_input_error_saying_so(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="no such file"):
            rows_of(str(tmp_path / "nope.csv"))

    def test_a_directory_is_an_input_error_saying_so(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="is a directory"):
            rows_of(str(tmp_path))


class TestInputDigest:
    def test_is_the_sha256_of_the_file_as_stored(self, write: Write) -> None:
        path = write("c.csv.gz", gzip.compress(b"phone_number\n1\n", mtime=0))
        assert input_digest(path) == hashlib.sha256(Path(path).read_bytes()).hexdigest()
        assert input_digest("-") is None

    def test_a_pipe_is_refused_at_once_not_waited_on(self, tmp_path: Path) -> None:
        """A run hashes its input after reading its first row: opened again, a pipe (``send
        <(zcat x.csv.gz)``) would wait for a writer that is gone, for ever."""
        fifo = tmp_path / "rows.csv"
        os.mkfifo(fifo)
        with pytest.raises(InputError) as caught:
            input_digest(str(fifo))
        assert str(caught.value) == (
            f"{fifo}: is not a regular file, and a run reads its input more than once: "
            "save it to a file, or give it on stdin as -"
        )


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
        assert count_rows(path) == len(records)  # the count is of the same rows

    @settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        cells=st.lists(
            st.lists(st.sampled_from(["a", "", '"q,"', '"l\nx"', "x" * 20, "\ud800"]), max_size=4),
            max_size=12,
        )
    )
    def test_a_count_is_of_the_rows_a_run_reads(self, write: Write, cells: list[list[str]]) -> None:
        """Ragged rows, quoted commas and line breaks, blank lines, bad UTF-8: counted alike."""
        text = "phone_number,name\n" + "".join(",".join(row) + "\n" for row in cells)
        path = write("rows.csv", text.encode("utf-8", "surrogatepass"))
        try:
            expected = len(rows_of(path))
        except InputError:
            return
        assert count_rows(path) == expected


class TestFileIdentity:
    """The rows a run reads and the digest its journal records are of one file, even when
    another is renamed over the path between the two opens."""

    def test_a_file_renamed_over_the_path_is_refused(self, tmp_path: Path) -> None:
        path, other = tmp_path / "c.csv", tmp_path / "new.csv"
        path.write_text("phone_number\n+14155550101\n")
        other.write_text("phone_number\n+14155550199\n")
        identity = file_identity(str(path))
        assert identity is not None
        assert input_digest(str(path), identity) == input_digest(str(path))
        with read_rows(str(path), identity=identity) as rows:
            assert len(list(rows)) == 1
        other.replace(path)
        with pytest.raises(InputError, match=r"c\.csv: another file took its place"):
            input_digest(str(path), identity)
        with (
            pytest.raises(InputError, match="another file took its place"),
            read_rows(str(path), identity=identity),
        ):
            pass

    def test_stdin_and_a_missing_path_have_none(self, tmp_path: Path) -> None:
        assert file_identity("-") is None
        assert file_identity(str(tmp_path / "none.csv")) is None


class TestWrittenOverAsItIsRead:
    ROWS = 2_000  # past the reader's first 8 KiB: the rest is read after the write

    def lines(self) -> list[str]:
        return [f"1415555{n:04d},person number {n}\n" for n in range(self.ROWS)]

    def test_a_file_emptied_mid_read_gives_no_cut_row_and_says_so(self, tmp_path: Path) -> None:
        """Emptied while read (``: > x.csv``, then filled again), it ends in the middle of a
        line: the cut row, "person number 1" for 17, is not given, and the reading is not
        whole, however alike the file is afterwards (``cp -p`` keeps its time)."""
        path = tmp_path / "in.csv"
        content = ("phone_number,name\n" + "".join(self.lines())).encode()
        path.write_bytes(content)
        stored = path.stat()
        reading = Reading()
        with read_rows(str(path), reading=reading) as rows:
            first = next(rows)
            os.truncate(path, 0)
            given = [first, *rows]
        path.write_bytes(content)  # as cp -p leaves it: the same bytes, the same time
        os.utime(path, ns=(stored.st_atime_ns, stored.st_mtime_ns))
        assert file_stamp(str(path))[2:] == (stored.st_size, stored.st_mtime_ns)  # type: ignore[index]
        assert 0 < len(given) < self.ROWS
        assert [row.fields["name"] for row in given] == [
            f"person number {n}" for n in range(len(given))
        ]
        assert reading.whole is False

    def test_an_untouched_file_is_read_whole(self, tmp_path: Path) -> None:
        path = tmp_path / "in.csv.gz"
        path.write_bytes(gzip.compress(("phone_number,name\n" + "".join(self.lines())).encode()))
        reading = Reading()
        assert len(rows_of(str(path))) == self.ROWS
        with read_rows(str(path), reading=reading) as rows:
            assert sum(1 for _ in rows) == self.ROWS
        assert reading.whole is True

    def test_a_gzip_file_emptied_mid_read_is_an_input_error_not_a_cut_row(
        self, tmp_path: Path
    ) -> None:
        """Its stream ends before its end marker: the run stops (exit 2), nothing cut sent."""
        path = tmp_path / "in.csv.gz"
        noise = "".join(f"1415555{n % 10000:04d},{os.urandom(12).hex()}\n" for n in range(20_000))
        path.write_bytes(gzip.compress(("phone_number,name\n" + noise).encode()))
        with read_rows(str(path)) as rows:
            next(rows)
            os.truncate(path, 0)
            with pytest.raises(InputError, match="the compressed data is damaged"):
                list(rows)

    def test_a_file_without_a_last_newline_gives_its_last_row(self, write: Write) -> None:
        path = write("in.csv", "phone_number,name\n14155550100,A\n14155550101,B")
        assert [row.fields["name"] for row in rows_of(path)] == ["A", "B"]

    def test_a_file_touched_mid_read_holds_back_its_last_row(self, tmp_path: Path) -> None:
        """Its time of last change moved: the rows read may not be the file's (the run says
        so, and a resume reads it again)."""
        path = tmp_path / "in.csv"
        path.write_text("phone_number,name\n14155550100,A\n14155550101,B\n")
        with read_rows(str(path)) as rows:
            first = next(rows)
            stored = path.stat()
            os.utime(path, ns=(stored.st_atime_ns, stored.st_mtime_ns + 1_000_000_000))
            given = [first, *rows]
        assert [row.fields["name"] for row in given] == ["A"]


class TestFileStamp:
    def test_a_file_written_over_with_the_same_bytes_has_another_stamp(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "in.csv"
        path.write_text("phone_number\n14155550100\n")
        before = file_stamp(str(path))
        stored = path.stat()
        path.write_text("phone_number\n14155550100\n")
        os.utime(path, ns=(stored.st_atime_ns, stored.st_mtime_ns + 1))
        assert file_stamp(str(path)) != before
        assert file_stamp(str(path)) == file_stamp(str(path))

    def test_stdin_and_a_missing_path_have_none(self, tmp_path: Path) -> None:
        assert file_stamp("-") is None
        assert file_stamp(str(tmp_path / "nope.csv")) is None
