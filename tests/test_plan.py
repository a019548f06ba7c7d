from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcaster import plan as plan_module
from broadcaster.fields import Problem
from broadcaster.plan import Defaults, Invalid, Message, Planned, plan
from broadcaster.record import Record

DEFAULTS = Defaults(campaign="spring", inbox_id=101, creator_id=55)


def planned(fields: dict[str, object], defaults: Defaults = DEFAULTS, line: int = 2) -> Planned:
    return plan(Record(line, fields), defaults)


def message(fields: dict[str, object], defaults: Defaults = DEFAULTS) -> Message:
    result = planned(fields, defaults)
    assert isinstance(result, Message), result
    return result


def problems(fields: dict[str, object], defaults: Defaults = DEFAULTS) -> list[str]:
    result = planned(fields, defaults)
    assert isinstance(result, Invalid), result
    return [str(problem) for problem in result.problems]


class TestValidRows:
    def test_a_plain_sms_row_becomes_a_rendered_body_keyed_by_local_id(self) -> None:
        """The number is normalised to digits and the text rendered; it costs one segment."""
        msg = message({"phone_number": "+1 (415) 555-0100", "text": "Hi {{name}}", "name": "Ann"})
        assert dict(msg.body) == {
            "inbox_id": 101,
            "creator_id": 55,
            "phone_number": "14155550100",
            "text": "Hi Ann",
            "local_id": msg.key,
        }
        assert (msg.family, msg.kind, msg.segments, msg.line) == ("phone_number", "sms", 1, 2)

    def test_merge_fields_are_not_sent(self) -> None:
        msg = message({"chat_id": "7", "text": "x", "coupon": "SAVE10"})
        assert "coupon" not in msg.body

    def test_row_values_win_over_defaults(self) -> None:
        defaults = Defaults("c", inbox_id=101, creator_id=55, text="default {{name|there}}")
        msg = message({"chat_id": 7, "inbox_id": "102", "creator_id": 57}, defaults)
        assert (msg.body["inbox_id"], msg.body["creator_id"]) == (102, 57)
        assert msg.body["text"] == "default there"
        assert message({"chat_id": 7, "text": "own"}, defaults).body["text"] == "own"

    def test_media_and_template_defaults_apply_and_make_an_mms(self) -> None:
        defaults = Defaults("c", 101, 55, media_url="https://x.test/{{img}}.png", template_id=9)
        msg = message({"chat_id": 7, "img": "cat"}, defaults)
        assert msg.body["media_url"] == "https://x.test/cat.png"
        assert msg.body["template_id"] == 9
        assert msg.kind == "mms"
        assert msg.segments == 0

    def test_group_mms_targets_are_split_and_normalised(self) -> None:
        msg = message(
            {"targets": "+1 415 555 0100; 415-555-0101", "media_url": "https://x.test/a.png"},
            Defaults("c", 101, 55, region="US"),
        )
        assert msg.body["targets"] == ["14155550100", "14155550101"]
        assert msg.family == "targets"

    def test_list_broadcast_carries_its_key_as_local_id(self) -> None:
        msg = message({"list_id": "12", "template_id": "3"})
        assert msg.body["local_id"] == msg.key

    def test_a_private_row_is_a_note_costing_no_segments(self) -> None:
        msg = message({"phone_number": "14155550100", "text": "call back", "private": "yes"})
        assert msg.body["private"] is True
        assert msg.kind == "private"
        assert msg.segments == 0

    def test_own_local_id_wins(self) -> None:
        msg = message({"phone_number": "14155550100", "text": "x", "local_id": " order-17 "})
        assert msg.key == "order-17"
        assert msg.body["local_id"] == "order-17"

    def test_author_and_activity_pass_through(self) -> None:
        msg = message({"chat_id": 1, "text": "x", "author": "Dana", "activity_id": 99})
        assert (msg.body["author"], msg.body["activity_id"]) == ("Dana", "99")


class TestInvalidRows:
    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"text": "x"}, "row: no target: give phone_number, chat_id, list_id or targets"),
            (
                {"phone_number": "14155550100", "chat_id": "5", "text": "x"},
                "chat_id: give only one target, not both phone_number and chat_id",
            ),
            (
                {"phone_number": "14155550100"},
                "row: no content: give text, media_url, template_id or survey_id (or --text)",
            ),
            (
                {"phone_number": "555", "text": "x"},
                (
                    "phone_number: '555' is not a valid phone number in US: too short (write it "
                    "with + and the country code, or pass --region)"
                ),
            ),
            (
                {"chat_id": 1, "media_url": "ftp://x.test/a.png"},
                "media_url: 'ftp://x.test/a.png' is not an http(s) URL",
            ),
            (
                {"chat_id": 1, "media_url": "https://"},
                "media_url: 'https://' is not an http(s) URL",
            ),
            (
                {"chat_id": 1, "text": "x", "private": "maybe"},
                "private: expected true or false, got 'maybe'",
            ),
            ({"chat_id": "seven", "text": "x"}, "chat_id: expected an integer, got 'seven'"),
            ({"targets": "[]", "text": "x"}, "targets: the list of phone numbers is empty"),
            (
                {"chat_id": 1, "text": "x", "local_id": "a b"},
                "local_id: use only letters, digits and - _ . ~ :",
            ),
            (
                {"chat_id": 1, "text": "Hi {{first}}"},
                "text: no value for {{first}} (give the field a value, or write {{name|default}})",
            ),
            (
                {"chat_id": 1, "text": "Hi {{tags}}", "tags": ["a"]},
                "text: {{tags}}: a merge field must be text or a number, not a list or an object",
            ),
        ],
    )
    def test_each_rule_names_its_field(self, fields: dict[str, object], expected: str) -> None:
        assert problems(fields) == [expected]

    def test_missing_ids_name_the_option(self) -> None:
        assert problems({"chat_id": 1, "text": "x"}, Defaults("c")) == [
            "inbox_id: missing (add a column inbox_id, or pass --inbox-id)",
            "creator_id: missing (add a column creator_id, or pass --creator-id)",
        ]

    def test_every_problem_of_a_row_is_reported(self) -> None:
        assert problems({"phone_number": "abc", "media_url": "nope", "private": "2"}) == [
            "phone_number: 'abc' has letters; write the phone number in digits only",
            "private: expected true or false, got '2'",
            "media_url: 'nope' is not an http(s) URL",
        ]

    def test_a_reader_problem_passes_through(self) -> None:
        result = plan(Record(9, problem=Problem("row", "is a JSON array, not an object")), DEFAULTS)
        assert isinstance(result, Invalid)
        assert (result.line, result.reason) == (9, "row: is a JSON array, not an object")

    def test_an_unchanged_invalid_row_keeps_its_key(self) -> None:
        """So a re-run does not record it twice; a change to it gives a new key."""
        first = planned({"phone_number": "555", "text": "x"}, line=3)
        again = planned({"phone_number": "555", "text": "x"}, line=30)
        fixed = planned({"phone_number": "556", "text": "x"}, line=3)
        assert isinstance(first, Invalid)
        assert isinstance(again, Invalid)
        assert isinstance(fixed, Invalid)
        assert first.key == again.key != fixed.key


class TestKeys:
    def test_the_same_message_written_differently_has_one_key(self) -> None:
        """Phone formatting, merge fields and creator do not change what is sent."""
        one = message({"phone_number": "+1 (415) 555-0100", "text": "Hi Ann", "creator_id": 55})
        two = message(
            {"phone_number": "14155550100", "text": "Hi {{n}}", "n": "Ann", "creator_id": 56}
        )
        assert one.key == two.key

    def test_the_campaign_changes_every_key(self) -> None:
        row: dict[str, object] = {"phone_number": "14155550100", "text": "x"}
        assert message(row).key != message(row, Defaults("autumn", 101, 55)).key

    @given(
        st.lists(
            st.fixed_dictionaries(
                {
                    "phone_number": st.integers(10**10, 10**15 - 1).map(str),
                    "text": st.text(min_size=1, max_size=30),
                }
            ),
            min_size=1,
            max_size=20,
        ),
        st.randoms(use_true_random=False),
    )
    def test_keys_depend_on_content_not_position(
        self, rows: list[dict[str, object]], rng: random.Random
    ) -> None:
        """Shuffling, renumbering and re-planning give every row the same key again."""
        before = {_identity(row): planned(row, line=i).key for i, row in enumerate(rows, 2)}
        shuffled = rows[:]
        rng.shuffle(shuffled)
        after = {_identity(row): planned(row, line=i + 100).key for i, row in enumerate(shuffled)}
        assert before == after


def _identity(row: dict[str, object]) -> tuple[str, ...]:
    return tuple(str(row[name]) for name in sorted(row))


class TestHints:
    def test_a_row_without_a_target_names_the_column_meant(self) -> None:
        planned = plan(Record(2, {"phone": "14155550100", "text": "hi"}), Defaults("c", 101, 55))
        assert isinstance(planned, Invalid)
        assert planned.reason == (
            "row: no target: give phone_number, chat_id, list_id or targets; "
            "did you mean phone_number for 'phone'?"
        )


class TestWrongTypes:
    @pytest.mark.parametrize(
        ("local_id", "reason"),
        [
            (True, "local_id: expected text, got true or false"),
            ({"a": 1}, "local_id: expected text, got an object"),
            (["a"], "local_id: expected text, got an array"),
            (1.5, "local_id: expected text, got a fractional number"),
            ("has space", "local_id: use only letters, digits and - _ . ~ :"),
        ],
    )
    def test_a_local_id_that_is_not_text_is_a_reason(self, local_id: object, reason: str) -> None:
        fields = {"phone_number": "14155550100", "text": "hi", "local_id": local_id}
        planned = plan(Record(2, fields), Defaults("c", 101, 55))
        assert isinstance(planned, Invalid)
        assert planned.reason == reason

    def test_a_whole_number_local_id_is_its_text(self) -> None:
        fields = {"phone_number": "14155550100", "text": "hi", "local_id": 42}
        planned = plan(Record(2, fields), Defaults("c", 101, 55))
        assert isinstance(planned, Message)
        assert (planned.key, planned.own_local_id) == ("42", True)

    @pytest.mark.parametrize("value", [{"x": [1, {"y": 2}]}, [[1]], [1, 2]])
    def test_structures_where_scalars_belong_are_reasons(self, value: object) -> None:
        for fields in (
            {"chat_id": value, "text": "hi"},
            {"phone_number": "14155550100", "text": "Hi {{name}}", "name": value},
        ):
            planned = plan(Record(2, fields), Defaults("c", 101, 55))
            assert isinstance(planned, Invalid), fields

    def test_a_nul_or_control_character_in_the_rendered_text_is_a_reason(self) -> None:
        fields = {"phone_number": "14155550100", "text": "Hi {{name}}", "name": "A\x00B"}
        planned = plan(Record(2, fields), Defaults("c", 101, 55))
        assert isinstance(planned, Invalid)
        assert planned.reason.startswith("text: contains a control character U+0000")


_CELLS = st.sampled_from(["", " ", "x", "14155550100", "[]", '["14155550100"]', "https://a.b/c"])
_COLUMNS = st.sampled_from(
    ["phone_number", "chat_id", "list_id", "targets", "text", "media_url", "template_id",
     "survey_id", "inbox_id", "creator_id", "private", "first_name"]
)  # fmt: skip


@given(
    st.dictionaries(_COLUMNS, _CELLS, max_size=8),
    st.sampled_from([None, 7]),
    st.sampled_from([None, "Hi", ""]),
)
def test_the_common_rows_shortcut_agrees_with_the_rules(
    fields: dict[str, str], inbox: int | None, text: str | None
) -> None:
    """A row the shortcut passes has no problem by the rules taken one by one."""
    defaults = Defaults(campaign="c", inbox_id=inbox, creator_id=3, text=text)
    given_fields: set[str] = set()
    body = plan_module._body(fields, defaults, given_fields, [])
    if plan_module._sendable_as_is(body, given_fields):
        assert plan_module._each_rule(body, given_fields, fields) == []
