"""Column names as people write them, in a CSV header or as JSONL keys; hints for misnamed ones."""

from __future__ import annotations

import pytest
from reading import Write, error_of, problems_of, rows_of

from broadcaster.columns import API_FIELDS, field_name
from broadcaster.errors import InputError
from broadcaster.record import Record


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
        assert error_of(path) == f"{path}: {message}"

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
        assert error_of(path) == (
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
