from __future__ import annotations

import sqlite3
from collections import Counter
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster import keyfile, keytable
from broadcaster.errors import KeyFileError
from broadcaster.keytable import MAX_VALUE, KeyCounts, KeyTable, Statuses, _Shard

_KEYS = st.text(min_size=1, max_size=30)


class TestKeyTable:
    @settings(max_examples=200)
    @given(
        st.lists(st.tuples(_KEYS, st.integers(0, MAX_VALUE), st.booleans()), max_size=300),
        st.lists(_KEYS),
        st.sampled_from([None, 0, 1, 7]),
    )
    def test_it_answers_as_a_dict_would(
        self, writes: list[tuple[str, int, bool]], others: list[str], room: int | None
    ) -> None:
        """Whatever memory's room, every key (in memory, held back, or in the file) answers
        alike: with batches of 3 and a bitset of 16 bits, the file is written and asked, and
        the bitset's "maybe" is often wrong."""
        with (
            mock.patch.object(keyfile, "_BATCH", 3),
            mock.patch.object(keyfile, "_FILTER_BITS", 16),
        ):
            table, model = KeyTable(room=room), dict[str, int]()
            for key, value, replace in writes:
                if replace:
                    table[key] = value
                    model[key] = value
                else:
                    assert table.setdefault(key, value) == model.get(key)
                    model.setdefault(key, value)
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


class TestRoom:
    def test_keys_past_the_room_go_to_the_file_and_memory_keeps_its_own(self) -> None:
        table = KeyTable(room=3)
        for n in range(10):
            assert table.setdefault(f"k{n}", n) is None
        assert table._file is not None  # the file holds the 7 past the room
        assert sum(shard.used for shard in table._shards) == 3
        table["k1"] = 11  # in memory: replaced there
        table["k8"] = 18  # in the file: replaced there
        assert table.setdefault("k8", 0) == 18
        assert [table.get(f"k{n}") for n in range(10)] == [0, 11, 2, 3, 4, 5, 6, 7, 18, 9]
        assert sum(shard.used for shard in table._shards) == 3
        assert len(table) == 10
        assert "k10" not in table

    def test_no_file_while_the_keys_fit(self) -> None:
        table = KeyTable(room=5)
        for n in range(5):
            table[f"k{n}"] = n
        table["k0"] = 9  # a key memory holds, replaced when memory is full: still no file
        assert table._file is None
        assert len(table) == 5

    def test_an_expected_size_past_the_room_makes_no_more_memory_than_the_room(self) -> None:
        slots = sum(shard.size for shard in KeyTable(10**6, room=1000)._shards)
        assert slots < 2000

    def test_the_default_room_is_memory_keys(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(keytable, "MEMORY_KEYS", 2)
        table = KeyTable()
        for n in range(3):
            table[f"k{n}"] = n
        assert table._file is not None

    def test_a_file_that_cannot_be_written_is_a_clear_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        class Full(sqlite3.Connection):
            def executemany(self, *_: object) -> sqlite3.Cursor:
                raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(sqlite3, "connect", lambda *_, **__: Full(":memory:"))
        monkeypatch.setattr(keyfile, "_BATCH", 1)
        monkeypatch.setenv("TMPDIR", "/scratch")
        monkeypatch.delenv("SQLITE_TMPDIR", raising=False)
        table = KeyTable(room=0)
        with pytest.raises(KeyFileError) as caught:
            table["k"] = 1
        message = str(caught.value)
        assert "temporary file in /scratch: database or disk is full" in message
        assert "Nothing recorded is lost" in message
        assert "set TMPDIR to a directory with room" in message
        assert "resumes where it stopped" in message

    def test_a_file_that_cannot_be_made_is_a_clear_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def refuse(*_: object, **__: object) -> sqlite3.Connection:
            raise sqlite3.OperationalError("unable to open database file")

        monkeypatch.setattr(sqlite3, "connect", refuse)
        monkeypatch.delenv("TMPDIR", raising=False)
        monkeypatch.delenv("SQLITE_TMPDIR", raising=False)
        with pytest.raises(KeyFileError, match=r"in /var/tmp, /usr/tmp or /tmp \(TMPDIR unset\)"):
            KeyTable(room=0).setdefault("k", 1)


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


class TestKeyCounts:
    @given(st.lists(st.sampled_from(["a", "b", "c", "\udc80"])), st.sampled_from([None, 0, 2]))
    def test_it_counts_as_a_counter_would_in_memory_or_in_the_file(
        self, keys: list[str], room: int | None
    ) -> None:
        with mock.patch.object(keytable, "MEMORY_KEYS", 10 if room is None else room):
            counts, model = KeyCounts(), Counter[str]()
            for key in keys:
                model[key] += 1
                assert counts.add(key) == model[key]
        assert counts == model
        assert [counts[key] for key in ("a", "b", "c", "d")] == [model[k] for k in "abcd"]
        assert len(counts) == len(model)
        assert f"{len(model)} keys" in repr(counts)

    def test_it_is_no_equal_of_what_is_not_a_mapping(self) -> None:
        assert KeyCounts() != []
        assert KeyCounts() == {}
