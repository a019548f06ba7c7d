from __future__ import annotations

import re

import pytest

from broadcaster.idempotency import MAX_KEY_LENGTH, check_local_id, derive_key

BODY = {"inbox_id": 101, "creator_id": 55, "phone_number": "14155550100", "text": "Hi"}


class TestDeriveKey:
    def test_the_key_is_short_url_safe_and_stable(self) -> None:
        """The same campaign and message give the same key on any machine, any day."""
        key = derive_key("spring", BODY)
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", key)
        assert key == derive_key("spring", dict(reversed(BODY.items())))
        # Pinned: a change here would re-send every campaign that is resumed after an upgrade.
        assert key == "UaAMcGP9RVLusCm84ToVgnHV"

    def test_creator_and_local_id_are_not_part_of_the_key(self) -> None:
        assert derive_key("c", BODY) == derive_key("c", {**BODY, "creator_id": 56})
        assert derive_key("c", BODY) == derive_key("c", {**BODY, "local_id": "x"})

    @pytest.mark.parametrize(
        "change",
        [{"inbox_id": 102}, {"phone_number": "14155550101"}, {"text": "Hi!"}, {"private": True}],
    )
    def test_inbox_target_and_content_are_part_of_the_key(self, change: dict[str, object]) -> None:
        assert derive_key("c", BODY) != derive_key("c", {**BODY, **change})

    def test_the_campaign_is_part_of_the_key(self) -> None:
        assert derive_key("spring", BODY) != derive_key("autumn", BODY)

    def test_campaign_and_content_cannot_run_together(self) -> None:
        """Length-prefixed parts: moving text between campaign and body changes the key."""
        assert derive_key("a", {"text": "bc"}) != derive_key("ab", {"text": "c"})

    def test_group_order_does_not_matter(self) -> None:
        one = {**BODY, "targets": ["14155550100", "14155550101"]}
        two = {**BODY, "targets": ["14155550101", "14155550100"]}
        assert derive_key("c", one) == derive_key("c", two)


class TestCheckLocalId:
    @pytest.mark.parametrize("local_id", ["order-123", "a.b~c:d_e", "x" * MAX_KEY_LENGTH])
    def test_url_safe_ids_up_to_64_characters_pass(self, local_id: str) -> None:
        assert check_local_id(local_id) is None

    def test_an_id_over_64_characters_is_too_long(self) -> None:
        assert check_local_id("x" * 65) == "longer than 64 characters"

    @pytest.mark.parametrize("local_id", ["has space", "a/b", "é", "a?b"])
    def test_unsafe_characters_are_refused_naming_the_safe_ones(self, local_id: str) -> None:
        assert check_local_id(local_id) == "use only letters, digits and - _ . ~ :"
