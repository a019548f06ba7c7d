"""Send windows in the engine, on virtual time: rows wait for their recipient's window, in
zone order as the day moves west, and nothing is sent outside it."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_aiohttp import AiohttpServer
from structlog.testing import capture_logs
from test_engine import DEFAULTS, MaxRandom, ScriptedSender
from test_send import fast, outcomes, sandbox, send

from broadcaster.cli import main_parser
from broadcaster.engine import Engine, EngineSettings, Reread, Timing
from broadcaster.errors import UsageError
from broadcaster.journal import MemoryJournal
from broadcaster.options import settings_from
from broadcaster.pacer import Pacer
from broadcaster.rate import Rate
from broadcaster.record import Record
from broadcaster.retry import RetryPolicy
from broadcaster.schedule import Schedule, finish_time
from broadcaster.testing import VirtualTime
from broadcaster.validation import validate

EASTERN = ZoneInfo("America/New_York")
# Tuesday 1 December 2026, 07:30 in New York: before every US window opens.
MORNING = datetime(2026, 12, 1, 7, 30, tzinfo=EASTERN).timestamp()
NEW_YORK: tuple[str, ...] = ("America/New_York",)
AREAS = {"NY": "212", "CHI": "312", "DEN": "303", "LA": "415"}


def people(*where: str) -> list[Record]:
    """A row per zone named, numbered from line 2, its text its zone's name."""
    return [
        Record(line, {"phone_number": f"1{AREAS[name]}555{line:04d}", "text": name})
        for line, name in enumerate(where, 2)
    ]


def make_engine(
    clock: VirtualTime,
    sender: ScriptedSender,
    schedule: Schedule,
    *,
    start: float = MORNING,
    deadline: float | None = None,
) -> tuple[Engine, MemoryJournal]:
    journal = MemoryJournal()
    settings = EngineSettings(
        DEFAULTS,
        2,
        RetryPolicy(8, base=1.0, cap=8.0, rng=MaxRandom()),
        rate=Rate(1),
        schedule=schedule,
        not_after=None if deadline is None else datetime.fromtimestamp(deadline, UTC).isoformat(),
    )
    pacer = Pacer(Rate(1), clock=clock.clock, sleep=clock.sleep)
    timing = Timing(clock=clock.clock, sleep=clock.sleep, wall_clock=lambda: start + clock.now)
    return Engine(settings, sender, journal, pacer, timing), journal


def again(records: list[Record]) -> Reread:
    @contextmanager
    def opened() -> Iterator[Iterator[Record]]:
        yield iter(records)

    return opened


def local(seconds: float, zone: str = "America/New_York") -> str:
    return f"{datetime.fromtimestamp(MORNING + seconds, UTC).astimezone(ZoneInfo(zone)):%a %H:%M}"


class TestRecipientZones:
    async def test_each_zone_goes_as_its_window_opens_moving_west(self) -> None:
        """09:00-20:00 in each recipient's zone, from 07:30 Eastern: New York at 9:00 Eastern,
        Chicago at 10:00, Denver at 11:00, Los Angeles at 12:00."""
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        schedule = Schedule.parse("09:00-20:00", None, "recipient", None)
        engine, journal = make_engine(clock, sender, schedule)
        records = people("LA", "DEN", "CHI", "NY", "LA", "NY")
        tally = await clock.run(engine.run(records, reread=again(records)))
        sends = [(local(at), text) for at, text in sender.sends]
        assert sends == [
            ("Tue 09:00", "NY"), ("Tue 09:00", "NY"), ("Tue 10:00", "CHI"),
            ("Tue 11:00", "DEN"), ("Tue 12:00", "LA"), ("Tue 12:00", "LA"),
        ]  # fmt: skip
        assert tally.rows == 6
        assert tally.sent == 6
        assert tally.input_done
        assert len(journal.outcomes) == 6

    async def test_progress_says_what_rows_wait_for(self) -> None:
        clock = VirtualTime()
        schedule = Schedule.parse("09:00-20:00", None, "recipient", None)
        engine, _ = make_engine(clock, ScriptedSender(clock), schedule)
        seen: list[str | None] = []
        records = people("CHI", "CHI", "LA")
        await clock.run(
            engine.run(records, lambda tally, _: seen.append(tally.waiting), again(records))
        )
        assert "waiting for 09:00 America/Chicago (2 rows of 3)" in seen
        assert "waiting for 09:00 America/Los_Angeles (1 row)" in seen

    async def test_a_window_across_midnight_and_weekdays(self) -> None:
        """21:00-08:00 on Fridays only, in one zone, from Friday 18:00: Friday 21:00."""
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        schedule = Schedule.parse("21:00-08:00", "fri", "America/New_York", None)
        friday = datetime(2026, 12, 4, 18, 0, tzinfo=EASTERN).timestamp()
        engine, _ = make_engine(clock, sender, schedule, start=friday)
        records = people("LA")
        await clock.run(engine.run(records, reread=again(records)))
        assert [local(at + friday - MORNING) for at, _ in sender.sends] == ["Fri 21:00"]

    async def test_a_message_whose_turn_comes_after_closing_waits_for_the_opening(self) -> None:
        """Closed 07:30-07:31 only: at 1/s from 07:29:59, the second message's turn comes
        at 07:30:00, closed; it and the third go from 07:31 (the pacer lets one slot catch up
        after a wait, as after any pause)."""
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        schedule = Schedule.parse("07:31-07:30", None, "America/New_York", None)
        engine, _ = make_engine(clock, sender, schedule, start=MORNING - 1)
        records = people(*["NY"] * 3)
        await clock.run(engine.run(records, reread=again(records)))
        sent = [
            f"{datetime.fromtimestamp(MORNING - 1 + at, EASTERN):%H:%M:%S}"
            for at, _ in sender.sends
        ]
        assert sent[0] == "07:29:59"
        assert sent[1:] == ["07:31:00", "07:31:00"]

    async def test_the_deadline_ends_the_wait_and_the_rows_left_are_skipped(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        schedule = Schedule.parse("09:00-20:00", None, "recipient", None)
        noon = datetime(2026, 12, 1, 11, 30, tzinfo=EASTERN).timestamp()
        engine, journal = make_engine(clock, sender, schedule, deadline=noon)
        ny, la = people("NY", "LA")
        records = [ny, la, Record(4, la.fields), Record(5, ny.fields)]  # twin rows after both
        seen: set[str | None] = set()
        tally = await clock.run(
            engine.run(records, lambda t, _: seen.add(t.waiting), again(records))
        )
        # Los Angeles's window opens after the deadline: progress says which ends the wait.
        assert (
            "waiting for the --not-after deadline (2 rows outside their window then end skipped)"
            in seen
        )
        assert [text for _, text in sender.sends] == ["NY"]
        assert tally.withheld["deadline"] == 2
        skipped = {o.row: o.reason for o in journal.outcomes if o.status == "skipped"}
        # Los Angeles's row and its twin never went; New York's twin is a duplicate of a sent one.
        assert skipped == {3: "deadline", 4: "deadline", 5: None}
        assert tally.settled == tally.rows == 4

    async def test_a_row_without_a_zone_is_invalid_unless_there_is_a_fallback(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        schedule = Schedule.parse("09:00-20:00", None, "recipient", None)
        engine, journal = make_engine(clock, sender, schedule)
        records = [Record(2, {"chat_id": 7, "text": "chat"}), *people("NY")[:0]]
        await clock.run(engine.run(records, reread=again(records)))
        (invalid,) = journal.outcomes
        assert invalid.status == "invalid"
        assert invalid.error is not None
        assert "add a tz column, or give --tz-fallback ZONE" in invalid.error
        fallback = Schedule.parse("09:00-20:00", None, "recipient", "America/Denver")
        engine, _ = make_engine(clock, sender, fallback)
        await clock.run(engine.run(records, reread=again(records)))
        assert [local(at, "America/Denver") for at, _ in sender.sends] == ["Tue 09:00"]

    async def test_a_tz_column_wins_over_the_number(self) -> None:
        clock = VirtualTime()
        sender = ScriptedSender(clock)
        schedule = Schedule.parse("09:00-20:00", None, "recipient", None)
        engine, _ = make_engine(clock, sender, schedule)
        records = [Record(2, {"phone_number": "12125550100", "text": "x", "tz": "Europe/London"})]
        await clock.run(engine.run(records, reread=again(records)))
        assert [local(at, "Europe/London") for at, _ in sender.sends] == ["Tue 12:30"]

    def test_an_opening_across_zones_is_named_by_the_zone_whose_window_opens_it(self) -> None:
        """An Australian mobile spans eight zones: 09:00-17:00 opens at 09:00 in the one
        furthest west, not at "13:00 Australia/Adelaide", which reads like a violation."""
        schedule = Schedule.parse("09:00-17:00", None, "recipient", None)
        zones = schedule.zones({"phone_number": "61412345678"}, {})
        opening = schedule.opening(zones, datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
        assert opening is not None
        assert opening.label == "09:00 Indian/Cocos and 7 more zones"

    async def test_a_fixed_zone_says_once_that_it_does_not_read_the_tz_column(self) -> None:
        clock = VirtualTime()
        schedule = Schedule.parse("00:00-24:00", None, "America/Chicago", None)
        engine, _ = make_engine(clock, ScriptedSender(clock), schedule)
        records = [
            Record(line, {"phone_number": f"1212555{line:04d}", "text": "x", "tz": "Asia/Tokyo"})
            for line in (2, 3)
        ]
        with capture_logs() as logs:
            await clock.run(engine.run(records, reread=again(records)))
        (told,) = [e for e in logs if e["event"] == "tz column not read"]
        assert "--tz recipient reads each row's tz column" in told["note"]

    def test_a_number_of_no_known_zone_takes_the_fallback(self) -> None:
        schedule = Schedule.parse("09:00-20:00", None, "recipient", "America/Chicago")
        assert schedule.zones({"phone_number": "15555550100"}, {}) == ("America/Chicago",)

    def test_a_toll_free_number_is_read_in_every_zone_of_the_plan(self) -> None:
        """Open only while 09:00-20:00 holds in all forty-two, Guam to Newfoundland."""
        schedule = Schedule.parse("09:00-20:00", None, "recipient", None)
        zones = schedule.zones({"phone_number": "18005550100"}, {})
        assert len(zones) == 42
        assert {"Pacific/Guam", "America/St_Johns", "America/Chicago"} <= set(zones)


class TestOptions:
    @pytest.mark.parametrize(
        ("argv", "words"),
        [
            (["--tz", "America/Chicago"], "--tz needs --window HH:MM-HH:MM"),
            (["--window", "09:00-20:00"], r"--window needs --tz: a zone \(America/New_York\)"),
            (["--window", "9-17", "--tz", "America/Chicago", "--tz-fallback", "America/Denver"],
             "--tz-fallback is for --tz recipient"),
            (["--window", "9-17", "--tz", "recipient", "--tz-fallback", "recipient"],
             r"--tz-fallback is a zone's name \(America/Chicago\), not recipient"),
            (["--days", "mon-fri", "--tz", "recipient"], "--days and --tz need --window"),
        ],
    )  # fmt: skip
    async def test_refuses_options_that_make_no_window(
        self, aiohttp_server: AiohttpServer, tmp_path: Path, argv: list[str], words: str
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = tmp_path / "in.csv"
        source.write_text("phone_number\n4155550100\n")
        with pytest.raises(UsageError, match=words):
            await send([str(source), *fast(server), *argv])
        assert state.requests == 0

    async def test_a_window_open_now_sends_at_once(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        server, state = await sandbox(aiohttp_server)
        source = tmp_path / "in.csv"
        source.write_text("phone_number,tz,name\n4155550100,,A\n4155550101,Asia/Tokyo,B\n")
        window = ["--window", "00:00-24:00", "--tz", "recipient"]
        code, _ = await send([str(source), *fast(server), *window])
        assert code == 0
        assert state.committed == 2
        assert {r["status"] for r in outcomes(str(source) + ".results.jsonl")} == {"sent"}


@pytest.fixture
def in_chicago(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine's zone, for the length of a test."""
    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class TestPlan:
    def test_the_finish_counts_each_zones_window_and_the_rate(self) -> None:
        """1,000 rows in New York and 1,000 in Los Angeles at 8/s from 07:30 Eastern: New
        York's go from 9:00 (2m05s), Los Angeles's from 12:00 Eastern."""
        schedule = Schedule.parse("09:00-20:00", None, "recipient", None)
        now = datetime(2026, 12, 1, 7, 30, tzinfo=EASTERN)
        groups: dict[tuple[str, ...], int] = {NEW_YORK: 1000, ("America/Los_Angeles",): 1000}
        finish = finish_time(schedule, groups, 8.0, now)
        assert finish is not None
        assert f"{finish.astimezone(EASTERN):%a %H:%M:%S}" == "Tue 12:02:05"
        many = finish_time(schedule, {NEW_YORK: 100_000}, 8.0, now)
        assert many is not None  # 12,500 s: 3h 28m 20s from 9:00, within the window
        assert f"{many.astimezone(EASTERN):%H:%M:%S}" == "12:28:20"
        unpaced = finish_time(schedule, groups, 0.0, now)
        assert unpaced is not None
        assert f"{unpaced.astimezone(EASTERN):%H:%M}" == "12:00"

    def test_rows_beyond_one_day_go_on_the_next(self) -> None:
        schedule = Schedule.parse("09:00-10:00", "mon-fri", "America/New_York", None)
        friday = datetime(2026, 12, 4, 9, 0, tzinfo=EASTERN)
        finish = finish_time(schedule, {NEW_YORK: 7200}, 1.0, friday)
        assert finish is not None
        assert f"{finish.astimezone(EASTERN):%a %H:%M}" == "Mon 10:00"  # two hours of window

    @pytest.mark.usefixtures("in_chicago")
    def test_validate_shows_the_zones_the_window_and_the_finish(self, tmp_path: Path) -> None:
        """The finish in this machine's zone (each recipient's has none to show it in)."""
        source = tmp_path / "national.csv"
        rows = [f"+1{AREAS[name]}555{n:04d},P{n}" for n, name in enumerate(["NY", "LA"] * 50)]
        source.write_text("phone_number,name\n" + "\n".join(rows) + "\n")
        argv = ["validate", str(source), "--inbox-id", "1", "--creator-id", "2", "--text", "Hi",
                "--window", "09:00-20:00", "--tz", "recipient", "--rate", "1/s"]  # fmt: skip
        out = io.StringIO()
        settings = settings_from(main_parser().parse_args([*argv, "--preview", "0"]), {})
        morning = datetime(2026, 12, 1, 7, 30, tzinfo=EASTERN)
        assert validate(settings, out, morning) == 0
        assert out.getvalue().endswith(
            "window    09:00-20:00 every day in each recipient's zone\n"
            "zones     America/New_York 50 · America/Los_Angeles 50\n"
            "          open now for 0 rows; the rest wait, the first for 09:00 America/New_York\n"
            "finish    Tue 01 Dec 11:00 CST, windows allowing\n"
        )


class TestJournal:
    async def test_a_send_that_leaves_the_window_out_is_refused(
        self, aiohttp_server: AiohttpServer, tmp_path: Path
    ) -> None:
        """Rows an earlier run held back for their window would go at any hour; another
        window is a choice, and is taken."""
        server, state = await sandbox(aiohttp_server)
        source = tmp_path / "in.csv"
        source.write_text("phone_number,name\n4155550100,A\n4155550101,B\n")
        window = ["--window", "00:00-24:00", "--days", "mon-fri,sat,sun", "--tz", "recipient"]
        assert (await send([str(source), *fast(server), *window, "--limit", "1"]))[0] == 3
        with pytest.raises(UsageError, match=r"was run with --window 00:00-24:00 --days "):
            await send([str(source), *fast(server)])
        assert state.committed == 1
        other = ["--window", "00:00-24:00", "--tz", "Europe/London"]
        assert (await send([str(source), *fast(server), *other]))[0] == 0
        assert state.committed == 2
