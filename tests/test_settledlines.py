"""A resumed run settles the rows the journal settled by their line, without planning them,
exactly as planning and triage would (settledlines, ``Triage.settled_row``)."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpServer
from structlog.testing import capture_logs
from test_journal import assert_same_counts
from test_send import fast, outcomes, records, sandbox, send

from broadcaster import __version__, campaign, reader, settledlines
from broadcaster import plan as plan_module
from broadcaster.journal import JournalState, read_state
from broadcaster.outcome import Outcome
from broadcaster.plan import Invalid, Message, Planned
from broadcaster.reader import Identity, Reading, file_stamp, input_digest
from broadcaster.record import Record
from broadcaster.sandbox import SandboxState
from broadcaster.settledlines import SHAPING, SettledScan, settled_lines
from broadcaster.suppression import Suppression
from broadcaster.triage import Decision, Duplicate, Rejected, RowKind, Settled, Triage

DIGEST = "ab" * 32
SHAPES: dict[str, object] = dict.fromkeys(SHAPING) | {"campaign": "spring", "region": "US"}


def key(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(18, "big")).decode()


def header(digest: str = DIGEST, **changed: object) -> bytes:
    settings = {**SHAPES, "format": None, **changed}
    record = {"type": "run", "input_sha256": digest, "settings": settings, "version": __version__}
    return orjson.dumps(record) + b"\n"


def outcome(status: str, row: int, k: str, **extra: Any) -> bytes:
    at = "2026-11-27T01:00:00.000+00:00"
    record = Outcome(status, k, row, local_id=k, at=at, **extra).record()  # type: ignore[arg-type]
    return orjson.dumps(record) + b"\n"


class TestScan:
    def test_plain_records_of_this_input_give_each_line_its_key_and_kind(self) -> None:
        lines = [
            header(),
            b'{"type":"attempt","key":"' + key(1).encode() + b'","at":"x"}\n',
            outcome("sent", 2, key(1)),
            outcome("failed", 3, key(2)),
            outcome("skipped", 4, key(1)),
            outcome("invalid", 5, key(3)),
        ]
        settled = settled_lines(lines, DIGEST, None, SHAPES)
        assert [settled.get(line) for line in range(1, 7)] == [
            None,
            (key(1), "message"),
            (key(2), "message"),
            (key(1), "duplicate"),
            None,  # invalid: what made it so may be gone, and it may be a window's refusal
            None,
        ]
        assert len(settled) == 3

    @pytest.mark.parametrize(
        "other",
        [
            header(digest="cd" * 32),  # another input
            header(format="jsonl"),  # read another way
            header(text="Other {{name}}"),  # another message
            header(campaign="autumn"),  # other keys
            header(input="spring.jsonl"),  # these bytes read as JSONL: other rows
            header(creator_id=55),  # a creator given: rows without one were invalid here
            b'{"type":"run","input_sha256":"' + DIGEST.encode() + b'","settings":{"text":',  # torn
        ],
    )
    def test_only_runs_of_this_input_shaped_alike_count(self, other: bytes) -> None:
        lines = [header(), outcome("sent", 2, key(1)), other, outcome("sent", 3, key(2))]
        settled = settled_lines(lines, DIGEST, None, SHAPES)
        assert (settled.get(2), settled.get(3)) == ((key(1), "message"), None)

    def test_another_versions_run_does_not_count(self) -> None:
        old = orjson.loads(header())
        old["version"] = "0.0.1"
        lines = [orjson.dumps(old) + b"\n", outcome("sent", 2, key(1))]
        assert settled_lines(lines, DIGEST, None, SHAPES).get(2) is None

    @pytest.mark.parametrize(
        "later",
        [
            outcome("sent", 2, key(9)),  # another key for the line
            outcome("skipped", 2, key(1)),  # another kind
            outcome("failed", 2, key(1), in_doubt=True),  # not plain: in doubt
            outcome("skipped", 2, key(1), reason="suppressed"),  # withheld
            outcome("sent", 2, key(1), replaces=key(7)),  # a fix
        ],
    )
    def test_a_line_whose_records_disagree_or_are_not_plain_is_planned(self, later: bytes) -> None:
        lines = [header(), outcome("failed", 2, key(1)), later, outcome("sent", 3, key(2))]
        settled = settled_lines(lines, DIGEST, None, SHAPES)
        assert (settled.get(2), settled.get(3)) == (None, (key(2), "message"))

    def test_a_row_far_past_the_others_is_not_kept_nor_grown_to(self) -> None:
        """A damaged or hand-edited journal's row 10**10 would have had the scan hold 190 GB."""
        lines = [header(), outcome("sent", 2, key(1)), outcome("sent", 10**10, key(2))]
        settled = settled_lines(lines, DIGEST, None, SHAPES)
        assert (settled.get(2), settled.get(10**10)) == ((key(1), "message"), None)
        assert settled.lines == 3  # lines 0 to 2, trimmed to the last kept

    @settings(max_examples=300)
    @given(
        st.lists(
            st.sampled_from([header(), header(digest="cd" * 32), header(campaign="other")])
            | st.builds(
                outcome,
                st.sampled_from(["sent", "failed", "invalid", "skipped"]),
                st.integers(1, 6),
                st.sampled_from([key(1), key(2), "order-1", 'q"uote']),
                reason=st.none() | st.just("suppressed"),
            )
            | st.sampled_from(
                [
                    orjson.dumps({"type": "attempt", "key": key(1), "at": "t"}) + b"\n",
                    orjson.dumps({"type": "attempt", "key": 'q"uote', "at": "t"}) + b"\n",
                    b'{"type":"run","input_sha256":"ab',  # a torn header
                    b'{"status":"sent","key":"' + key(3).encode() + b'","ro\n',  # torn
                    b"\n",
                    b"[1]\n",
                    b'{"status":"sent","key":"k\xff","local_id":null,"row":2,"id":null,"at":"t"}\n',
                ]
            ),
            max_size=20,
        )
    )
    def test_riding_along_with_the_read_of_the_state_it_leaves_the_state_as_it_was(
        self, lines: list[bytes]
    ) -> None:
        alone = read_state(lines)
        along = read_state(lines, tap=SettledScan(DIGEST, None, SHAPES))
        keys = [key(1), key(2), key(3), "order-1", 'q"uote']
        assert [along.statuses.get(k) for k in keys] == [alone.statuses.get(k) for k in keys]
        assert_same_counts(along, alone, keys)
        assert (along.in_doubt, along.headers, along.damaged) == (
            alone.in_doubt,
            alone.headers,
            alone.damaged,
        )

    def test_a_plain_line_its_parse_finds_damaged_still_unsettles_its_row(self) -> None:
        """A key that is not UTF-8 is not read fast (the parse finds the line damaged); its
        row has a record the scan cannot settle it by, so it is planned."""
        odd = b'{"status":"sent","key":"k\xff","local_id":null,"row":2,"id":null,"at":"t"}\n'
        lines = [header(), outcome("sent", 2, key(1)), odd]
        assert settled_lines(lines, DIGEST, None, SHAPES).get(2) is None
        assert settled_lines(lines[:2], DIGEST, None, SHAPES).get(2) == (key(1), "message")

    def test_a_rows_own_local_id_is_not_kept_its_row_is_planned(self) -> None:
        lines = [header(), outcome("sent", 2, "order-1"), outcome("sent", 3, "A" * 23 + "=")]
        settled = settled_lines(lines, DIGEST, None, SHAPES)
        assert (settled.get(2), settled.get(3)) == (None, None)


# A row: a message (its key from a small pool, so twins), one with its own local_id (its
# digest from the pool), or an invalid row (identical ones share a key).
_ROWS = st.lists(
    st.one_of(
        st.tuples(st.just("message"), st.integers(0, 5)),
        st.tuples(st.just("own"), st.integers(0, 5)),
        st.tuples(st.just("invalid"), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=30,
)


def planned_rows(rows: list[tuple[str, int]]) -> list[Planned]:
    out: list[Planned] = []
    for index, (kind, n) in enumerate(rows):
        line = index + 2
        if kind == "invalid":
            out.append(Invalid(line, f"invalid-{n}", ()))
        elif kind == "own":
            body = {"phone_number": f"1415555000{n}", "text": "x", "local_id": f"own-{index}"}
            out.append(Message(line, f"own-{index}", body, digest=key(n)))
        else:
            out.append(Message(line, key(n), {"phone_number": f"1415555000{n}", "text": "x"}))
    return out


def first_run(
    planned: list[Planned], cut: int, failed: set[int]
) -> tuple[JournalState, dict[int, tuple[str, RowKind]]]:
    """The journal a run that stopped after ``cut`` rows left, and its plain records by line
    (what the scan keeps; own local_ids' rows are never kept)."""
    triage, journal = Triage("spring", JournalState()), JournalState()
    known: dict[int, tuple[str, RowKind]] = {}
    for row in planned[:cut]:
        decision = triage.decide(row)
        own = isinstance(row, Message) and row.own_local_id
        if isinstance(decision, Message):
            status = "failed" if decision.line in failed else "sent"
            journal.note(decision.key, status, decision.digest)  # type: ignore[arg-type]
            if not own:
                known[decision.line] = (decision.key, "message")
        elif isinstance(decision, Duplicate):
            journal.note(decision.key, "skipped")
            if not own:
                known[decision.line] = (decision.key, "duplicate")
        elif isinstance(decision, Rejected):
            journal.note(decision.key, "invalid")  # not kept: planned in full
    return journal, known


@settings(max_examples=300, deadline=None)
@given(_ROWS, st.integers(0, 30), st.sets(st.integers(2, 32)), st.booleans())
def test_a_row_settled_by_its_line_is_decided_as_in_full(
    rows: list[tuple[str, int]], cut: int, failed: set[int], retry_failed: bool
) -> None:
    """Row by row, a resumed run's decisions are the same whether the journal's rows are
    settled by their line or planned in full; so is everything triage remembers, since every
    later row is decided alike too."""
    planned = planned_rows(rows)
    journal, known = first_run(planned, cut, failed)
    full = Triage("spring", journal, retry_failed)
    fast = Triage("spring", journal, retry_failed)
    used = 0
    for row in planned:
        expected: Decision = full.decide(row)
        settled = fast.settled_row(row.line, *known[row.line]) if row.line in known else None
        used += settled is not None
        assert (settled or fast.decide(row)) == expected
    assert used <= len(known)


async def test_a_resume_settles_the_journals_rows_without_planning_them(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped by --limit, with twins, invalid rows and a failure, resumed: the same
    records and summary as a resume that plans every row, and no settled row planned but the
    invalid ones."""
    server, state = await sandbox(aiohttp_server, opted_out=frozenset({"14155550003"}))
    phone = "1415555{:04d}".format
    phones = [phone(0), phone(1), phone(0), "not a phone", phone(3), phone(1), "12", phone(0)]
    phones += [phone(n) for n in range(4, 30)] + [phone(1), "not a phone", phone(3), phone(5)]
    source = tmp_path / "spring.csv"
    source.write_text("phone_number,name\n" + "".join(f"{p},P\n" for p in phones))
    journal = tmp_path / "spring.jsonl"
    first = await send([str(source), *fast(server), "--results", str(journal), "--limit", "8"])
    assert first[0] == 1  # the opted-out number failed
    planned: list[int] = []
    real_plan = plan_module.plan

    def counting(record: Any, defaults: Any) -> Planned:
        planned.append(record.line)
        return real_plan(record, defaults)

    monkeypatch.setattr("broadcaster.engine.plan", counting)
    before = {o["row"]: o["status"] for o in outcomes(str(journal))}
    result = await resume_both(
        monkeypatch,
        state,
        source,
        journal,
        server,
        options=["--limit", "2"],
        between=lambda: planned.append(-1),
    )
    assert result["by line"] == result["in full"]
    by_line, in_full = planned[: planned.index(-1)], planned[planned.index(-1) :]
    settled = {row for row, status in before.items() if status != "invalid"}
    assert len(settled) == 11
    assert not settled & set(by_line)  # none planned by line
    assert {5, 8} <= set(by_line)  # the invalid rows are, every run
    assert set(before) <= set(in_full)  # in full: every one


WINDOW = ["--window", "00:00-24:00", "--tz", "recipient"]


NO_ZONE_TWIN = "chat_id,phone_number,tz,name\n7,,,A\n7,,America/New_York,A\n,4155550100,,B\n"
NO_ZONE = "chat_id,phone_number,name\n7,,A\n,4155550100,B\n,4155550101,C\n"
FALLBACK = [*WINDOW, "--tz-fallback", "America/Chicago"]


@pytest.mark.parametrize(
    "case",
    [
        # A row the window refused (no zone: invalid, under its message's key), and its twin:
        # the twin stays a duplicate, never sent (the first row's key must be met).
        (NO_ZONE_TWIN, WINDOW),
        # The refused row's record says to give --tz-fallback: given, the row is sent.
        (NO_ZONE, FALLBACK),
    ],
)
async def test_a_row_the_window_refused_is_planned_again(
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, list[str]],
) -> None:
    rows, then = case
    server, state = await sandbox(aiohttp_server)
    source = tmp_path / "in.csv"
    source.write_text(rows)
    journal = tmp_path / "j.jsonl"
    await send([str(source), *fast(server), "--results", str(journal), *WINDOW, "--limit", "1"])
    result = await resume_both(monkeypatch, state, source, journal, server, options=then)
    assert result["by line"] == result["in full"]


async def test_the_same_bytes_read_as_jsonl_then_as_csv_are_other_rows(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Named c.jsonl, CSV text is invalid JSON row by row; renamed c.csv, its rows are sent,
    not settled by the JSONL reading's records (nor taken for a finished campaign)."""
    server, state = await sandbox(aiohttp_server)
    text = "phone_number,name\n" + "".join(f"141555501{n:02d},P\n" for n in range(4))
    jsonl, csv = tmp_path / "c.jsonl", tmp_path / "c.csv"
    jsonl.write_text(text)
    journal = tmp_path / "j.jsonl"
    assert (await send([str(jsonl), *fast(server), "--results", str(journal)]))[0] == 1
    jsonl.rename(csv)
    result = await resume_both(monkeypatch, state, csv, journal, server, options=[])
    assert result["by line"] == result["in full"]
    assert result["by line"][1] == 4


async def resume_both(
    monkeypatch: pytest.MonkeyPatch,
    state: SandboxState,
    source: Path,
    journal: Path,
    server: TestServer,
    *,
    options: list[str],
    between: Callable[[], None] = lambda: None,
) -> dict[str, tuple[int, int, list[tuple[int, str, str]], list[str]]]:
    """The same resume of a copy of ``journal`` by line (as it runs) and in full (no rows
    settled by line; ``between`` is called before it): each one's exit code, requests,
    records and summary."""
    twin = journal.with_name("twin.jsonl")
    shutil.copy(journal, twin)
    ran: dict[str, tuple[int, int, list[tuple[int, str, str]], list[str]]] = {}
    for name, results in (("by line", journal), ("in full", twin)):
        if name == "in full":
            monkeypatch.setattr(campaign, "_settled_lines", lambda *_: None)
            between()
        before = state.requests
        code, out = await send([str(source), *fast(server), "--results", str(results), *options])
        ran[name] = (code, state.requests - before, rows_of(results), summary(out, results))
    return ran


def summary(out: str, journal: Path) -> list[str]:
    """The summary but its timings, with the journal's path said alike."""
    lines = out.replace(str(journal), "J").splitlines()
    return [line for line in lines if not line.startswith(("time ", "requests "))]


def rows_of(journal: Path) -> list[tuple[int, str, str]]:
    return sorted((o["row"], o["status"], o["key"]) for o in outcomes(str(journal)))


class TestDeclines:
    """Whatever the row needs beyond its key, ``settled_row`` leaves to ``decide``, changing
    nothing: a journal whose records do not say what the scan expects is never trusted."""

    def test_a_twin_beyond_the_journals_records_is_left_to_decide(self) -> None:
        journal = JournalState()
        journal.note(key(1), "sent")
        journal.note(key(1), "skipped")
        triage = Triage("spring", journal)
        assert triage.settled_row(2, key(1), "duplicate") is None  # no first row yet
        assert triage.settled_row(2, key(1), "message") == Settled("sent")
        assert triage.settled_row(3, key(1), "duplicate") == Settled("skipped")
        assert triage.settled_row(4, key(1), "duplicate") is None  # one record, two twins
        assert triage.decide(Message(4, key(1), {"text": "x"})) == Duplicate(4, key(1), 2)

    def test_a_first_row_met_twice_or_never_sent_is_left_to_decide(self) -> None:
        journal = JournalState()
        journal.note(key(1), "sent")
        journal.note(key(2), "failed")
        triage = Triage("spring", journal, retry_failed=True)
        assert triage.settled_row(2, key(1), "message") == Settled("sent")
        assert triage.settled_row(3, key(1), "message") is None  # a second first row
        assert triage.settled_row(4, key(2), "message") is None  # to be tried again
        assert triage.settled_row(5, key(3), "message") is None  # no record at all
        assert triage.decide(Message(4, key(2), {"text": "x"})) == Message(4, key(2), {"text": "x"})

    def test_a_fix_or_a_suppression_is_left_to_decide(self) -> None:
        journal = JournalState()
        journal.note(key(1), "sent")
        journal.note(key(2), "sent")
        journal.replacements[key(2)] = key(9)
        triage = Triage("spring", journal)
        assert triage.settled_row(4, key(2), "message") is None  # a fix stands for it
        stop = Suppression(frozenset({14155550100}), ("stop.txt",))
        suppressed = Triage("spring", journal, suppression=stop)
        assert suppressed.settled_row(2, key(1), "message") is None
        assert triage.settled_row(2, key(1), "message") == Settled("sent")


def four_rows(tmp_path: Path, server: TestServer) -> tuple[Path, Path, list[str]]:
    """A four-row input, its journal, and the send's arguments."""
    source = tmp_path / "in.csv"
    source.write_text("phone_number,name\n" + "".join(f"141555501{n:02d},P\n" for n in range(4)))
    journal = tmp_path / "j.jsonl"
    return source, journal, [str(source), *fast(server), "--results", str(journal)]


async def a_run_that_finds_it_changed(args: list[str]) -> str:
    """A send that must say its input changed as it read it (exit 3, and the log): its output."""
    structlog.reset_defaults()
    with capture_logs() as logs:
        code, out = await send(args)
    assert code == 3
    assert "input     changed while this run read it" in out
    assert any(log["event"] == "input rewritten" for log in logs)
    return out


async def test_an_input_rewritten_during_the_run_is_not_marked_read(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows settled by their line are the lines of the file as it was when the run began: if
    it is another file at the end, the run says so, and does not mark it read, so that the
    next resume checks every row by its content."""
    server, _ = await sandbox(aiohttp_server)
    source, journal, args = four_rows(tmp_path, server)
    await send([*args, "--limit", "2"])
    digests = iter([input_digest(str(source)), "b" * 64])  # as it began, then at its end
    monkeypatch.setattr(campaign, "input_digest", lambda *_: next(digests))
    out = await a_run_that_finds_it_changed(args)
    assert f"broadcaster resume {journal}" in out
    assert not any(r.get("type") == "read" for r in records(str(journal))[-3:])


async def test_a_first_send_of_an_input_written_over_as_it_ran_is_not_marked_read(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emptied and filled again with the same bytes while a first send read it, the file
    read as one that ended early: that run was marked as having read it all, and every
    resume after it sent nothing and said the campaign was finished (a trial: 928 of 20,000
    rows). Its stamp tells: the run says so, exits 3, and the resume sends the rest."""
    server, state = await sandbox(aiohttp_server)
    source, journal, args = four_rows(tmp_path, server)
    real = file_stamp(str(source))
    assert real is not None
    stamps = iter([real, (*real[:3], real[3] + 1)])  # as it began, then written at its end
    monkeypatch.setattr(campaign, "file_stamp", lambda *_: next(stamps))
    await a_run_that_finds_it_changed(args)
    assert not any(r.get("type") == "read" for r in records(str(journal)))
    monkeypatch.undo()
    code, _ = await send(args)
    assert code == 0
    assert records(str(journal))[-1]["type"] == "read"
    assert len(outcomes(str(journal))) == 4
    assert state.stats()["resent"] == 0


async def test_an_input_the_reader_found_cut_is_not_marked_read_however_alike_it_ends(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emptied and filled again as ``cp -p`` does (the same bytes and time): only the reader
    can tell the rows it gave were a file that ended early (a review)."""
    server, _ = await sandbox(aiohttp_server)
    _, journal, args = four_rows(tmp_path, server)
    whole = reader._as_stored

    def cut(rows: Iterator[Record], raw: Any, reading: Reading | None) -> Iterator[Record]:
        yield from whole(rows, raw, reading)
        if reading is not None:  # the run's own read (a count passes none)
            reading.whole = False

    monkeypatch.setattr(reader, "_as_stored", cut)
    code, out = await send(args)
    assert code == 3
    assert "input     changed while this run read it" in out
    assert not any(r.get("type") == "read" for r in records(str(journal)))


async def test_a_dry_run_of_an_input_written_as_it_ran_advises_no_send(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = await sandbox(aiohttp_server)
    source = tmp_path / "in.csv"
    source.write_text("phone_number,name\n14155550100,P\n")
    real = file_stamp(str(source))
    assert real is not None
    stamps = iter([real, (*real[:3], real[3] + 1)])
    monkeypatch.setattr(campaign, "file_stamp", lambda *_: next(stamps))
    code, out = await send([str(source), *fast(server), "--dry-run"])
    assert code == 3
    assert "its figures may not be the file's as it is now; run it again" in out
    assert "broadcaster resume" not in out


async def test_an_input_moved_away_during_the_run_still_gets_its_summary(
    aiohttp_server: AiohttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Archived as the run ended: its digest cannot be taken again. It said "cannot write the
    output" and exited 2 with no summary."""
    server, _ = await sandbox(aiohttp_server)
    _, _, args = four_rows(tmp_path, server)
    await send([*args, "--limit", "2"])
    real = input_digest

    def moved(path: str, identity: Identity | None = None) -> str | None:
        monkeypatch.setattr(campaign, "input_digest", lambda *_: real("/no/such/file.csv"))
        return real(path, identity)

    monkeypatch.setattr(campaign, "input_digest", moved)
    code, out = await send(args)
    assert code == 3
    assert "rows      4: 2 sent" in out


async def test_a_finished_campaigns_refused_row_is_sent_once_the_fallback_is_given(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """A chat has no zone: refused, its record says to give --tz-fallback. Given it, a resume
    of the finished campaign sends the row (it said every row had its record, and sent
    nothing, while report said a row was not ended)."""
    server, state = await sandbox(aiohttp_server)
    source = tmp_path / "tz.csv"
    source.write_text("chat_id,phone_number,name\n7,,A\n,4155550100,B\n")
    journal = tmp_path / "tz.jsonl"
    args = [str(source), *fast(server), "--results", str(journal), *WINDOW]
    assert (await send(args))[0] == 1  # one row invalid
    code, out = await send([*args, "--tz-fallback", "America/New_York"])
    assert (code, state.requests) == (0, 2)
    assert "rows      2: 1 sent, 0 failed, 0 invalid" in out


_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(max_examples=500)
@given(
    st.text(alphabet=_URLSAFE + "+/=\n \xff", min_size=22, max_size=26).map(
        lambda text: text.encode("utf-8")
    )
    | st.binary(min_size=24, max_size=24)
)
def test_a_key_is_kept_only_when_its_18_bytes_say_it_back(key: bytes) -> None:
    """A key kept as 18 bytes must be given back as the same text, or the row would be
    settled under another key: anything that is not 24 URL-safe characters is not kept."""
    raw = settledlines._raw_key(key)
    if raw is None:
        try:
            exact = base64.urlsafe_b64encode(base64.urlsafe_b64decode(key)) == key
        except ValueError:
            exact = False
        assert not (exact and len(key) == 24 and b"=" not in key)  # "=": 17 bytes, no key
    else:
        assert len(raw) == 18
        assert base64.urlsafe_b64encode(raw) == key
