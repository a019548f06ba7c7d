from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.keytable import MAX_VALUE, KeyTable, Statuses, _Shard

_KEYS = st.text(min_size=1, max_size=30)


class TestKeyTable:
    @settings(max_examples=200)
    @given(st.lists(st.tuples(_KEYS, st.integers(0, MAX_VALUE)), max_size=300), st.lists(_KEYS))
    def test_it_answers_as_a_dict_would(
        self, writes: list[tuple[str, int]], others: list[str]
    ) -> None:
        table, model = KeyTable(), dict[str, int]()
        for key, value in writes:
            table[key] = value
            model[key] = value
        assert len(table) == len(model)
        for key in [*model, *others]:
            assert table.get(key) == model.get(key)
            assert (key in table) == (key in model)

    def test_it_grows_past_many_times_its_first_size(self) -> None:
        table = KeyTable()
        for n in range(20_000):
            table[f"key-{n}"] = n
        assert len(table) == 20_000
        assert all(table.get(f"key-{n}") == n for n in range(0, 20_000, 7))
        assert table.get("key-20000") is None

    def test_setdefault_keeps_the_first_value(self) -> None:
        table = KeyTable()
        assert table.setdefault("k", 2) is None
        assert table.setdefault("k", 9) == 2
        assert table.get("k") == 2
        assert len(table) == 1

    def test_a_value_it_cannot_hold_is_refused(self) -> None:
        table = KeyTable()
        with pytest.raises(ValueError, match="out of range"):
            table["k"] = MAX_VALUE + 1
        with pytest.raises(ValueError, match="out of range"):
            table["k"] = -1
        assert len(table) == 0

    def test_a_lone_surrogate_is_a_key_like_any_other(self) -> None:
        table = KeyTable()
        table["\udc80"] = 3
        assert table.get("\udc80") == 3


class TestShard:
    def test_one_hash_with_two_checks_is_two_keys(self) -> None:
        # Two keys whose 64-bit string hashes collide are told apart by their CRC-32's bits.
        shard = _Shard(4)
        assert shard.put(12345, 1, 10) is None
        assert shard.put(12345, 2, 20) is None
        assert shard.put(12345, 1, 11) == 10  # the same key: its value replaced
        assert shard.values[shard.find(12345, 1)] == 11
        assert shard.values[shard.find(12345, 2)] == 20
        assert shard.find(12345, 3) == -1

    def test_probing_wraps_around_the_end(self) -> None:
        shard = _Shard(16)
        last = 15 << 6  # the slot index is taken above the shard bits
        for check in range(5):
            shard.put(last, check, check)
        assert [shard.values[shard.find(last, check)] for check in range(5)] == list(range(5))

    def test_growing_moves_every_key_even_those_sharing_a_hash(self) -> None:
        shard = _Shard(4)
        last = 3 << 6  # the last slot: the first moves wrap around
        for check in range(40):
            assert shard.put(last, check, check) is None
        assert shard.put(last, 7, 70) == 7  # found where the moves put it, not added again
        assert shard.used == 40
        assert shard.size > 40
        found = [shard.values[shard.find(last, check)] for check in range(40)]
        assert found == [70 if check == 7 else check for check in range(40)]


class TestStatuses:
    def test_it_reads_as_the_dict_it_was_given(self) -> None:
        statuses = Statuses({"a": "sent", "b": "failed"})
        statuses["c"] = "invalid"
        statuses["b"] = "sent"  # the latest record wins
        assert statuses == {"a": "sent", "b": "sent", "c": "invalid"}
        assert statuses != {"a": "sent", "b": "sent"}
        assert statuses != {"a": "sent", "b": "failed", "c": "invalid"}
        assert statuses["c"] == "invalid"
        assert statuses.get("z") is None
        assert statuses.get("z", "skipped") == "skipped"
        assert "a" in statuses
        assert "z" not in statuses
        assert 3 not in statuses
        assert len(statuses) == 3
        assert "3 keys" in repr(statuses)

    def test_an_empty_one_is_false_and_a_missing_key_is_a_key_error(self) -> None:
        statuses = Statuses()
        assert not statuses
        with pytest.raises(KeyError):
            statuses["a"]

    def test_it_is_no_equal_of_what_is_not_a_mapping(self) -> None:
        assert Statuses() != []
