"""A campaign run: settings → journal, sender, pacer, engine and signals → summary, exit code."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shlex
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, Self, TextIO

import structlog
from yarl import URL

from broadcaster.breaker import OPTED_OUT, failure_kind
from broadcaster.credentials import (
    API_KEY,
    SECRET_ID,
    SECRET_KEY,
    ApiKey,
    Credentials,
    credentials_from,
)
from broadcaster.dryrun import DryRunSender
from broadcaster.endpoint import check_base_url
from broadcaster.engine import (
    HALT_PROBE,
    Engine,
    EngineSettings,
    Recorder,
    Reread,
    Sender,
    Timing,
)
from broadcaster.errors import CredentialsError, InputError, NotConfirmed, UsageError
from broadcaster.exits import Exit
from broadcaster.finished import (
    DECIDING,
    ENDED,
    ended_statuses,
    may_be_finished,
    read_finished,
)
from broadcaster.header import RunHeader, last_run
from broadcaster.isotime import aware_time
from broadcaster.journal import (
    READ,
    Journal,
    JournalState,
    MemoryJournal,
    check_results_path,
    has_bit,
    lines_sent,
    read_journal,
)
from broadcaster.outcome import DEADLINE, RETRYABLE_4XX, Reply
from broadcaster.pacer import Pacer
from broadcaster.preview import confirmed, first_messages, preview_lines
from broadcaster.progress import Progress, terminal
from broadcaster.rate import Rate
from broadcaster.reader import (
    STDIN,
    Reading,
    Stamp,
    count_rows,
    file_identity,
    file_stamp,
    input_digest,
    read_as,
    read_rows,
)
from broadcaster.record import Record
from broadcaster.remaining import triaged_rows
from broadcaster.retry import RetryPolicy
from broadcaster.schedule import Schedule, window_lines
from broadcaster.settings import Settings
from broadcaster.settledlines import CREATOR, SHAPING, SettledLines, SettledScan
from broadcaster.summary import all_rows, counted, summary, test_summary
from broadcaster.suppression import OptOutFile, Suppression
from broadcaster.tally import Tally
from broadcaster.testsend import positions
from broadcaster.triage import Settled
from broadcaster.validation import unmatched

if TYPE_CHECKING:  # aiohttp's client and server are imported only to send and to serve
    from broadcaster.client import HttpSender
    from broadcaster.sandbox.state import SandboxState

log = structlog.get_logger("broadcaster")
# Settings that are part of every message they fill: changing one changes those messages' keys.
_SHAPES_MESSAGES = ("text", "media_url", "template_id", "inbox_id", "region")


async def send_campaign(
    settings: Settings,
    environ: Mapping[str, str],
    out: TextIO,
    *,
    timing: Timing | None = None,
    handle_signals: bool = True,
) -> int:
    """Run the campaign; print the summary to ``out``; return the exit code."""
    with _Stopper(enabled=handle_signals) as stopper:
        return await _campaign(settings, environ, out, timing or Timing(), stopper)


async def _campaign(
    settings: Settings, environ: Mapping[str, str], out: TextIO, timing: Timing, stopper: _Stopper
) -> int:
    check_base_url(settings.base_url, allow_insecure_http=settings.allow_insecure_http)
    credentials = None if settings.sandbox or settings.dry_run else credentials_from(environ)
    if settings.test_to is None:  # a test send writes no journal
        check_results_path(
            settings.results_path, None if settings.input == STDIN else settings.input
        )
    safety = _Safety.read(settings)
    stamp = file_stamp(settings.input)  # before the first byte read: compared at the end
    identity = file_identity(settings.input)  # the rows read and the digest: of one file
    reading = Reading()  # told by the reader whether the file stayed whole as it read it
    with read_rows(settings.input, settings.format, identity=identity, reading=reading) as rows:
        first, records = _primed(rows)  # a file that cannot be read fails before the journal
        _warn_unmatched(settings, first)
        digest = input_digest(settings.input, identity)
        if may_be_finished(settings):
            code = _if_finished(settings, digest, timing, out, stopper)
            if code is not None:
                return code
        total = _count_rows(settings)
        if settings.sample is not None:
            safety = replace(safety, sample=positions(total or 0, settings.sample))
        progress = _progress(settings, total, timing)
        if settings.test_to is None:
            _confirm(settings, total)
        scan = _settled_scan(settings, digest, safety)  # rides along with the journal's read
        recorder = _recorder(settings, safety.test_to, scan)
        settled = _settled_lines(recorder, scan)
        del scan
        shown = _preview(settings, recorder)
        try:
            _announce(settings, recorder, digest)
            async with _sender(settings, credentials) as (sender, sandbox):
                engine = _engine(settings, sender, recorder, timing, safety, settled=settled)
                del settled  # the engine's until its first pass ends, then nobody's
                started, began = timing.clock(), timing.wall_clock()
                stopper.attach(engine)
                await engine.run(records, progress.tick, _reread(settings, digest, reading))
                stopper.detach()
                elapsed = timing.clock() - started
            rewritten = _rewritten(settings, digest, stamp, reading)
            if not rewritten:
                _mark_read(recorder, engine.tally, digest)
        finally:
            progress.close()
            if isinstance(recorder, Journal):
                recorder.close()
    if total is None and not engine.tally.input_done and settings.input != STDIN:
        total = _count_rows(replace(settings, quiet=False))  # a stopped run says what is left
    ended = Ended(
        elapsed, total, sandbox, shown, _source(credentials), _tested(recorder), began, rewritten
    )
    return _report(settings, engine, ended, out)


def _tested(recorder: Journal | MemoryJournal) -> list[str]:
    """A test send's outcomes, one line each (it writes no journal)."""
    if not isinstance(recorder, MemoryJournal) or not recorder.tests:
        return []
    lines = []
    for outcome in recorder.outcomes:
        if outcome.status not in ("sent", "failed"):  # an invalid row, or a twin: said why
            lines.append(f"test      line {outcome.row}: {outcome.status}, {outcome.error}")
            continue
        if outcome.status == "failed":
            got = f"failed: {outcome.error}"
        else:
            got = "would be sent" if outcome.id is None else f"sent, id {outcome.id}"
        lines.append(f"test      line {outcome.row}'s message to +{recorder.tests}: {got}")
    return lines


def _progress(settings: Settings, total: int | None, timing: Timing) -> Progress:
    return Progress(
        total,
        Rate(0) if settings.dry_run else settings.rate,  # a dry run goes as fast as it reads
        timing.clock,
        _progress_stream(settings),
        interval=settings.progress_interval,
        sent="would be sent" if settings.dry_run else "sent",
        limit=min((n for n in (settings.limit, settings.sample) if n is not None), default=None),
    )


def _source(credentials: Credentials | None) -> str:
    if credentials is None:
        return f"{API_KEY}, or {SECRET_ID} and {SECRET_KEY}"
    return credentials.source


def _confirm(settings: Settings, total: int | None) -> None:
    """On a terminal, a send of more than --confirm-above messages asks first."""
    if total is not None and total <= settings.confirm_above:
        return  # not even the whole input is that many: no need to plan it to know
    if not confirmed(settings, lambda: read_journal(settings.results_path)):
        raise NotConfirmed("not sent: the answer was not yes (--yes sends without asking)")


def _preview(settings: Settings, recorder: Journal | MemoryJournal) -> list[str]:
    """A dry run shows the first messages it would send."""
    if not settings.dry_run:
        return []
    return preview_lines(first_messages(settings, recorder.state, settings.preview))


def _progress_stream(settings: Settings) -> TextIO | None:
    return None if settings.quiet else terminal()


def _primed(rows: Iterator[Record]) -> tuple[Record | None, Iterator[Record]]:
    """The first row, read now, and every row."""
    first = next(rows, None)
    return first, itertools.chain([first] if first is not None else [], rows)


def _warn_unmatched(settings: Settings, first: Record | None) -> None:
    """--text's merge fields that name no column of a CSV input, said before anything goes."""
    for said in unmatched(settings, first):
        log.warning("merge field", input=settings.input, note=said)


def _recorder(
    settings: Settings, test_to: str | None, scan: SettledScan | None = None
) -> Journal | MemoryJournal:
    if test_to is not None:  # keeps its outcomes, to print them; reads no journal
        return MemoryJournal(tests=test_to)
    if settings.dry_run:
        return MemoryJournal(read_journal(settings.results_path), keep=False)
    return Journal.open(settings.results_path, tap=scan)


def _if_finished(
    settings: Settings, digest: str | None, timing: Timing, out: TextIO, stopper: _Stopper
) -> int | None:
    """A campaign whose every row has its record ends here, its input not read again
    (``finished``): the summary and the journal's new run as the full path would leave them.
    None when the full path must run."""
    started = timing.clock()
    journal = Journal.open(settings.results_path, read=False)  # locked while it is read
    try:
        fmt = read_as(settings.format, settings.input)
        recorded = settings.record()
        given = {name: recorded[name] for name in DECIDING}
        done = None if digest is None else read_finished(settings.results_path, digest, fmt, given)
        if done is None or (settings.suppress and done.statuses["failed"]):
            return None  # a failed row to a number suppressed since ends withheld: triage's call
        if stopper.pending is not None:  # asked to stop while the journal was read
            return Exit.for_stop(stopper.pending)
        journal.state.headers.extend(done.headers)
        last = last_run(journal.state.headers)
        _check_campaign(settings, last, recorded=True)
        log.info("resuming", already_recorded=done.rows, note="every row has its record")
        journal.write_header(RunHeader.for_run(settings, digest).record())
        tally = Tally(rows=done.rows, earlier=done.statuses, input_done=True)
        _mark_read(journal, tally, digest)
        progress = _progress(settings, done.rows, timing)
        progress.tick(tally)
        progress.close()
    finally:
        journal.close()
    # An in-process sandbox would have been started, and asked nothing: it says so all the same.
    sandbox = _idle_sandbox() if settings.sandbox else None
    ended = Ended(timing.clock() - started, done.rows, sandbox, [], "")
    return _report(settings, _Untouched(tally), ended, out)


def _idle_sandbox() -> SandboxState:
    from broadcaster.sandbox.state import SandboxState  # noqa: PLC0415 - see TYPE_CHECKING

    return SandboxState()


@dataclass(frozen=True, slots=True)
class _Untouched:
    """The end of a run that had nothing to send, as the summary reads an engine's."""

    tally: Tally
    stopped_by: str | None = None
    stuck: Reply | None = None
    stuck_reason: str = ""
    unauthorized: Reply | None = None
    halted: str | None = None
    halt_reply: Reply | None = None


def _mark_read(recorder: Journal | MemoryJournal, tally: Tally, digest: str | None) -> None:
    """The run read its whole input: how many rows, for a later run to tell it is finished;
    and, when it left every row ended, at which status, for that run to trust without a pass
    over the journal (``finished.ended_statuses``)."""
    if isinstance(recorder, Journal) and tally.input_done and digest is not None:
        marker: dict[str, object] = {"rows": tally.rows, "input_sha256": digest}
        ended = ended_statuses(tally, fixes=bool(recorder.state.replacements))
        if ended is not None:
            marker[ENDED] = ended
        recorder.mark(READ, marker)


def _announce(settings: Settings, recorder: Journal | MemoryJournal, digest: str | None) -> None:
    """Check the journal holds this campaign, say what it holds, open the run of the input
    with this ``digest``."""
    if isinstance(recorder, MemoryJournal) and recorder.tests:
        log.info("test send", to=f"+{recorder.tests}", note="to this number only; no journal")
        return
    state = recorder.state
    last = last_run(state.headers)
    _check_campaign(settings, last, recorded=bool(state.statuses) or bool(state.in_doubt))
    if state.damaged:
        log.warning(
            "damaged lines",
            count=state.damaged,
            note="lines of the journal that are not records were skipped (a crash can tear one)",
        )
    if state.statuses:
        log.info(
            "resuming",
            already_recorded=len(state.statuses),
            note="rows with an outcome in the journal are not sent again",
            results=settings.results_path,
        )
        _notice_changed_input(settings, state, last, digest)
    if isinstance(recorder, Journal):
        recorder.write_header(RunHeader.for_run(settings, digest).record())


def _check_campaign(settings: Settings, last: RunHeader | None, *, recorded: bool) -> None:
    """A journal holds one campaign: another name, or another default for every message's
    content, would give every message a new key, and send it again; and one destination
    (``recorded``: once it holds an outcome or an attempt). The most fundamental mismatch is
    said first: another campaign's journal, or another destination's, is not put right by
    giving the same --text."""
    if last is None:
        return
    campaign = settings.defaults.campaign
    if last.campaign not in (None, campaign):
        raise UsageError(
            f"{settings.results_path} is the journal of campaign {last.campaign!r}, and this run "
            f"is campaign {campaign!r}: the campaign is part of every key, so every row would be "
            f"sent again. To go on with that campaign, add --campaign "
            f"{shlex.quote(last.campaign)}; for a new one, give it a journal of its own with "
            "--results"
        )
    if recorded:
        check_destination(settings, last.settings)
        _check_message_defaults(settings, last.settings)
        _check_suppression(settings, last.settings)
        _check_quiet_hours(settings, last.settings)


def check_destination(settings: Settings, recorded: Mapping[str, object]) -> None:
    """A journal's records are of messages sent to one place: the sandbox's would settle rows
    the API never got, and so would another server's."""
    was = _destination(recorded.get("sandbox") is True, recorded.get("base_url"))
    now = _destination(settings.sandbox, settings.base_url)
    if was == now or was is None:
        return
    raise UsageError(
        f"{settings.results_path} records messages sent to {was}, and this run sends to {now}: "
        "its records would settle rows that were never sent there. Give this run a journal of "
        "its own with --results (a --sandbox trial's default is INPUT.sandbox.results.jsonl)"
    )


def _destination(sandbox: bool, base_url: object) -> str | None:
    """Where a run sends, as a person reads it: the sandbox, or the API's origin."""
    if sandbox:
        return "the in-process sandbox (--sandbox)"
    if not isinstance(base_url, str):
        return None
    try:
        return str(URL(base_url).origin())
    except ValueError:
        return base_url


def _check_message_defaults(settings: Settings, recorded: Mapping[str, object]) -> None:
    current = settings.record()
    for name in _SHAPES_MESSAGES:
        if name in recorded and recorded[name] != current[name]:
            option = "--" + name.replace("_", "-")
            raise UsageError(
                f"{settings.results_path} was run with {option} {recorded[name]!r}, and this run "
                f"has {current[name]!r}: the messages it shapes change, so their rows would be "
                f"sent again. To go on, give the same {option} (resume keeps it); to send the "
                "new messages to everyone, give them a journal of their own with --results"
            )


def _check_suppression(settings: Settings, recorded: Mapping[str, object]) -> None:
    """A suppression list is never dropped halfway through a campaign by leaving an option
    out: the rows it withheld would be sent."""
    files = recorded.get("suppress")
    if not isinstance(files, list):
        return
    given = settings.record()["suppress"]
    dropped = [path for path in files if path not in given]
    if not dropped:
        return
    options = " ".join(f"--suppress {shlex.quote(str(path))}" for path in dropped)
    them = "them" if len(dropped) > 1 else "it"
    raise UsageError(
        f"{settings.results_path} was run with {options}, and this run is not: the rows it "
        f"withheld would be sent. Add {options} (resume keeps {them}); to send to a number "
        "again, take it off the list"
    )


def _check_quiet_hours(settings: Settings, recorded: Mapping[str, object]) -> None:
    """Quiet hours are never dropped halfway through a campaign by leaving --window out: the
    rows they held back would go at any hour. Another window is a choice, and is taken."""
    window = recorded.get("window")
    if not isinstance(window, str) or settings.window is not None:
        return
    options = " ".join(
        f"--{name.replace('_', '-')} {shlex.quote(str(recorded[name]))}"
        for name in ("window", "days", "tz", "tz_fallback")
        if isinstance(recorded.get(name), str)
    )
    raise UsageError(
        f"{settings.results_path} was run with {options}, and this run has no --window: the "
        f"rows it held back would go at any hour. Add {options} (resume keeps them); to send "
        "without quiet hours, give this run a journal of its own with --results"
    )


def _notice_changed_input(
    settings: Settings, state: JournalState, last: RunHeader | None, digest: str | None
) -> None:
    """Say up front when this input is not the one the journal's last run read."""
    if digest is None or last is None or last.input_sha256 in (None, digest):
        return
    same_file = last.input == settings.record()["input"]
    counts = _changed_rows(settings, state, same_file)
    unsettled = (
        f"{counts['new']:,} new and {counts['edited']:,} edited (at a line where an earlier run "
        "sent another message: an edited row is a new message)"
        if same_file
        else f"{counts['new']:,} others"
    )
    log.warning(
        "input changed",
        input=settings.input,
        note=f"this is not the file the journal's last run read (sha256 {last.input_sha256[:12]} "
        f"then, {digest[:12]} now): of its {counts.total():,} rows, {counts['settled']:,} are "
        f"settled and not sent again; {unsettled} have no record yet and are sent or checked",
    )


def _changed_rows(settings: Settings, state: JournalState, same_file: bool) -> Counter[str]:
    """The input's rows by what the journal holds of them: settled, edited or new (edited only
    in the file the last run read: another file's lines are not its lines)."""
    counts: Counter[str] = Counter({"settled": 0, "new": 0, "edited": 0})
    sent = lines_sent(settings.results_path) if same_file else bytearray()
    for row in triaged_rows(settings, state):
        if isinstance(row.decision, Settled):
            counts["settled"] += 1
        else:
            counts["edited" if has_bit(sent, row.record.line) else "new"] += 1
    return counts


@contextlib.asynccontextmanager
async def _sender(
    settings: Settings, credentials: Credentials | None
) -> AsyncIterator[tuple[Sender, SandboxState | None]]:
    if settings.dry_run:
        yield DryRunSender(), None
        return
    if not settings.sandbox:
        assert credentials is not None  # noqa: S101 - credentials_from raised otherwise
        async with _http(settings, settings.base_url, credentials) as sender:
            yield sender, None
        return
    from broadcaster.sandbox import SandboxConfig  # noqa: PLC0415 - see TYPE_CHECKING above
    from broadcaster.sandbox.server import serving  # noqa: PLC0415

    async with (
        serving(SandboxConfig()) as (url, state),
        _http(settings, url, ApiKey("sandbox")) as sender,
    ):
        yield sender, state


def _http(settings: Settings, base_url: str, credentials: Credentials) -> HttpSender:
    from broadcaster.client import HttpSender  # noqa: PLC0415 - see TYPE_CHECKING

    return HttpSender(
        base_url, credentials, timeout=settings.timeout, connections=settings.concurrency
    )


@dataclass(frozen=True, slots=True)
class _Safety:
    """The campaign-safety options, read and checked before the journal is touched: a run
    refused for a missing --suppress file must not leave a run header behind."""

    suppression: Suppression
    opt_outs: OptOutFile | None
    schedule: Schedule | None
    test_to: str | None
    sample: frozenset[int] | None = None  # known once the input is counted

    @classmethod
    def read(cls, settings: Settings) -> _Safety:
        phone = settings.test_phone()  # a test goes now, to the tester's phone
        return cls(
            _suppression(settings, phone),
            _opt_outs(settings),
            None if phone is not None else _schedule(settings),
            phone,
        )


def _settled_scan(settings: Settings, digest: str | None, safety: _Safety) -> SettledScan | None:
    """The scan of the rows the journal settled, by line, for a resumed run not to plan them
    again (settledlines), made to ride along with the read of the journal's state; None where
    that cannot be told or could not help: a dry run or a test (no journal written), stdin, a
    suppression list (triage needs each number)."""
    if settings.dry_run or safety.test_to is not None or digest is None:
        return None
    if safety.suppression.numbers:
        return None
    recorded = settings.record()
    shaping = {name: recorded[name] for name in (*SHAPING, CREATOR)}
    return SettledScan(digest, read_as(settings.format, settings.input), shaping)


def _settled_lines(
    recorder: Journal | MemoryJournal, scan: SettledScan | None
) -> SettledLines | None:
    """What the scan kept, for a journal with an outcome to settle rows by (None otherwise:
    the engine plans every row)."""
    state = recorder.state
    if scan is None or not (len(state.statuses) or state.skipped or state.invalid):
        return None
    settled = scan.result()
    return settled if settled.lines else None  # no run of this input shaped alike


def _rewritten(
    settings: Settings, digest: str | None, stamp: Stamp | None, reading: Reading
) -> bool:
    """Whether the input is another file now than when the run began, or was written while
    the run read it (emptied and filled again, it reads as a file that ends early, however
    alike it is at the end): the rows read may not be the file's, and rows settled by their
    line (settledlines) may have been other rows. The run is then not marked read to its
    end, and a resume reads every row of the file as it is by its content."""
    if digest is None or settings.test_to is not None:
        return False  # stdin: read once, nothing to compare; a test send: nothing to mark
    try:
        same = reading.whole and file_stamp(settings.input) == stamp  # then no read again
        if same and input_digest(settings.input) == digest:
            return False
    except (OSError, InputError):
        pass  # moved or made unreadable: not the file that was read, as far as can be told
    then = (
        "run the dry run again, for the file as it is now"
        if settings.dry_run
        else "run resume again, which checks every row of the file as it is now, and sends "
        "any that was not sent"
    )
    log.warning(
        "input rewritten",
        input=settings.input,
        note=f"the input changed while this run read it: {then}",
    )
    return True


def _engine(  # noqa: PLR0913 - a run's parts, each made apart before it
    settings: Settings,
    sender: Sender,
    recorder: Recorder,
    timing: Timing,
    safety: _Safety,
    *,
    settled: SettledLines | None = None,
) -> Engine:
    testing = safety.test_to is not None
    policy = RetryPolicy(
        settings.max_attempts, settings.backoff_base, settings.backoff_cap, rng=timing.rng
    )
    rate = Rate(0) if settings.dry_run else settings.rate
    pacer = Pacer(rate, clock=timing.clock, sleep=timing.sleep)
    engine_settings = EngineSettings(
        settings.defaults,
        settings.concurrency,
        policy,
        settings.retry_failed,
        settings.grace,
        rate,
        settings.halt_on_errors,
        settings.halt_on_fail_rate,
        frozenset((settings.halt_ignore or "").split(",")) - {""},
        adaptive=not settings.fixed_rate,
        timeout=settings.timeout,
        suppression=safety.suppression,
        opt_outs=safety.opt_outs,
        not_after=None if testing else settings.not_after,
        limit=settings.limit or (1 if testing and not settings.sample else None),
        schedule=safety.schedule,
        sample=safety.sample,
        test_to=safety.test_to,
        source="<stdin>" if settings.input == STDIN else settings.input,
    )
    return Engine(engine_settings, sender, recorder, pacer, timing, settled_lines=settled)


def _schedule(settings: Settings) -> Schedule | None:
    schedule = settings.schedule()
    if schedule is not None and settings.input == STDIN:
        raise UsageError(
            "--window needs an input file: rows outside their window wait for a later pass "
            "over it, and stdin can be read only once"
        )
    if schedule is not None:
        log.info("send window", window=str(schedule))
    return schedule


def _reread(settings: Settings, digest: str | None, reading: Reading) -> Reread | None:
    """The input opened again for a later pass (a run with a send window), as long as it
    is the file this run began with."""
    if settings.window is None or settings.dry_run or settings.input == STDIN:
        return None

    def reread() -> contextlib.AbstractContextManager[Iterator[Record]]:
        identity = file_identity(settings.input)
        if input_digest(settings.input, identity) != digest:
            raise UsageError(
                f"{settings.input} changed while rows waited for their send window: the run "
                "stops here, and a resumed run reads it as it is"
            )
        return read_rows(settings.input, settings.format, identity=identity, reading=reading)

    return reread


def _suppression(settings: Settings, test_to: str | None) -> Suppression:
    """The --suppress files' numbers; the lines that are not numbers said once, up front; a
    test phone on the list refused."""
    suppression = settings.suppression()
    if suppression:
        log.info("suppressing", numbers=len(suppression.numbers), files=list(suppression.files))
    if suppression and not suppression.numbers and settings.record_opt_outs is None:
        log.warning("no numbers", files=list(suppression.files), note="nothing is suppressed")
    for problem in suppression.problems():
        log.warning("not a number", note=f"--suppress {problem} (left out)")
    if test_to is not None and suppression.match({"phone_number": test_to}):
        raise UsageError(f"--test-to +{test_to} is suppressed (--suppress): nothing sent")
    return suppression


def _opt_outs(settings: Settings) -> OptOutFile | None:
    if settings.record_opt_outs is None or settings.dry_run:
        return None
    return OptOutFile.open(settings.record_opt_outs, settings.region)


class _Stopper:
    """Where a SIGINT, SIGTERM or SIGHUP goes, through one handler of Python's own for the
    whole run (a signal reaches it even while no await lets the event loop run: reading a
    large journal takes seconds).

    - Before the engine is made: the signal is noted, and the engine stops as it is made,
      before it sends anything, with its summary. A second one stops now (as a default
      handler would: nothing was sent), also out of a read that blocks, such as the
      confirmation's question. (The event loop's own Ctrl-C handling cancelled the run there,
      and it ended 130 with no summary.)
    - While it runs: handed to the engine in the event loop (a first one stops dispatching, a
      second cancels requests in flight), each delivery once.
    - After it has run: ignored once; the summary is a moment away.
    """

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._engine: Engine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done = False  # the engine has run
        self._waved = False  # a signal after it, let pass
        self.pending: str | None = None  # a signal noted before the engine was made
        self._before: dict[signal.Signals, Any] = {}

    def __enter__(self) -> Self:
        if self._enabled:
            for signum in _STOPPING:
                if signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN:
                    continue  # started under nohup: a hangup is to be ignored, as asked
                self._before[signum] = signal.signal(signum, self._received)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._before.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    def attach(self, engine: Engine) -> None:
        """The run's engine: signals go to it from now on (a noted one stops it now)."""
        self._engine, self._loop = engine, asyncio.get_running_loop()
        if self.pending is not None:
            log.warning("stopping", signal=self.pending, note="before anything is sent")
            engine.stop(self.pending)

    def detach(self) -> None:
        """The engine has run."""
        self._engine, self._done = None, True

    def _received(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self._engine is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop, self._engine, name)
            return
        if self._done and not self._waved:
            self._waved = True  # the summary is a moment away: a second one stops now
            return
        if not self._done and self.pending is None:
            self.pending = name
            # Not logged here: a handler may interrupt a write to the same stream.
            os.write(2, f"stopping ({name}): before anything is sent; again to stop now\n".encode())
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(Exit.for_stop(name))

    @staticmethod
    def _stop(engine: Engine, name: str) -> None:
        if engine.stopped_by is None:
            note = "finishing requests in flight; again to stop now"
            log.warning("stopping", signal=name, note=note)
        else:
            log.warning("stopping now", signal=name)
        engine.stop(name)


_STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal closed


def _count_rows(settings: Settings) -> int | None:
    """The input's row count, for progress: a quick pass, skipped when no progress is shown
    (--quiet without --log-file) and for stdin, which can be read only once."""
    if settings.input == STDIN:
        if settings.sample is not None:
            raise UsageError("--sample needs an input file: stdin cannot be counted first")
        return None
    if settings.quiet and settings.log_file is None and settings.sample is None:
        return None
    return count_rows(settings.input, settings.format)


@dataclass(frozen=True, slots=True)
class Ended:
    """How a run ended, beside its tally: for the summary."""

    elapsed: float
    total: int | None  # the input's rows, when known
    sandbox: SandboxState | None
    preview: list[str]  # a dry run's first messages
    credentials: str  # the variables the credentials came from, for a 401
    tested: list[str] = field(default_factory=list)  # a test send's outcomes
    started_at: float = 0.0  # on the wall clock
    rewritten: bool = False  # the input was another file by the end (rows settled by line)


class RunEnd(Protocol):
    """How a run's engine ended, as the summary reads it (an ``Engine``, or ``_Untouched``)."""

    @property
    def tally(self) -> Tally: ...
    @property
    def stopped_by(self) -> str | None: ...
    @property
    def stuck(self) -> Reply | None: ...
    @property
    def stuck_reason(self) -> str: ...
    @property
    def unauthorized(self) -> Reply | None: ...
    @property
    def halted(self) -> str | None: ...
    @property
    def halt_reply(self) -> Reply | None: ...


def _report(settings: Settings, engine: RunEnd, ended: Ended, out: TextIO) -> int:
    """Print the summary (a stdout that cannot take it is said on stderr: the run's exit code
    still tells how the campaign stands); return the exit code."""
    text = "".join(line + "\n" for line in ended.preview)
    if settings.test_to is not None:
        text += test_summary(engine.tally, ended.elapsed, settings.rate)
    else:
        text += summary(engine.tally, ended.elapsed, settings.rate, ended.total, settings.dry_run)
    text += "".join(line + "\n" for line in _endings(settings, engine, ended))
    unwritten = _write(out, text)
    if unwritten is not None:
        log.error("summary not written", reason=f"stdout: {unwritten}")
    if engine.unauthorized is not None:
        raise CredentialsError(
            f"the API refused the credentials ({engine.unauthorized.error}): check "
            f"{ended.credentials}. No row was marked failed; run the same command again to "
            "resume"
        )
    code = _exit_code(engine, test=settings.test_to is not None)
    if ended.rewritten and code == Exit.OK:
        code = Exit.INCOMPLETE  # a row settled by its line may have been another row
    tally = engine.tally
    log.info(  # the run in one line, for a log collector that never sees stdout
        "finished",
        rows=all_rows(tally, ended.total),
        sent=tally.sent,
        failed=tally.failed,
        invalid=tally.invalid,
        duplicates=tally.duplicates,
        earlier=tally.earlier.total(),
        attempts=tally.attempts,
        pauses=tally.pauses.total(),
        seconds=round(ended.elapsed, 3),
        stopped_by=engine.stopped_by,
        halted=engine.halted,
        exit_code=int(code),
        dry_run=settings.dry_run,
    )
    return code


def _exit_code(engine: RunEnd, *, test: bool = False) -> Exit:
    if engine.stuck is not None:
        return Exit.PROBLEMS
    if engine.stopped_by is not None:
        return Exit.for_stop(engine.stopped_by)
    tally = engine.tally
    if tally.problems:
        return Exit.PROBLEMS
    late = tally.withheld[DEADLINE] + tally.earlier_withheld[DEADLINE]
    return Exit.INCOMPLETE if (tally.limit_reached and not test) or late else Exit.OK


def _after_halt(settings: Settings, reply: Reply | None) -> list[str]:
    """What to do after a halt, by what the failures were: a refusal a resume would meet
    again, an outage, or a stale list."""
    journal = shlex.quote(settings.results_path)
    head = "          The requests in flight finished; nothing else was sent. "
    if reply is not None and failure_kind(reply.error) == OPTED_OUT:
        return [
            head + "Contacts who opted out are a stale list, not a broken campaign: resume "
            "without counting them (--record-opt-outs FILE keeps them for next time's "
            "--suppress):",
            f"          broadcaster resume {journal} --halt-ignore {OPTED_OUT}",
        ]
    status = None if reply is None else reply.http_status
    if status is None or status >= HTTPStatus.INTERNAL_SERVER_ERROR or status in RETRYABLE_4XX:
        return [
            head + "The API was failing: when it answers again, resume; --retry-failed sends "
            "the failed rows again with the same local_id:",
            f"          broadcaster resume {journal} --retry-failed",
        ]
    probe = ""
    if settings.halt_on_errors > HALT_PROBE:
        probe = f" (it halts after {HALT_PROBE} failures in a row, until one gets through)"
    return [
        head + "The API refused them, and a resume would meet the same refusal: fix the cause "
        "first. A wrong --inbox-id, --text or --creator-id makes other messages: send them "
        f"with a journal of their own (--results NEW). An account problem: once it is fixed, "
        f"resume{probe}:",
        f"          broadcaster resume {journal}",
    ]


def _write(out: TextIO, text: str) -> str | None:
    """Write to stdout; why it failed, or None."""
    try:
        out.write(text)
        out.flush()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _endings(settings: Settings, engine: RunEnd, ended: Ended) -> list[str]:
    """The summary's last lines: the sandbox's count, a dry run's word, a test's sends, the
    rows left by choice, how a stop resumes."""
    lines = []
    if ended.sandbox is not None:
        lines.append(
            f"sandbox   {counted(ended.sandbox.committed, 'message')} committed, "
            f"{counted(ended.sandbox.duplicates, 'repeated request')} answered from the "
            "idempotency store"
        )
    if settings.dry_run:
        lines += _dry_run_lines(settings, engine.tally, ended.started_at)
    lines += ended.tested
    if settings.test_to is not None:  # no journal: nothing to resume, or to look up
        return [*lines, f"stopped   by {engine.stopped_by}"] if engine.stopped_by else lines
    if ended.rewritten and settings.dry_run:
        said = "its figures may not be the file's as it is now; run it again"
        lines.append(f"input     changed while this run read it: {said}")
    elif ended.rewritten:
        said = "the rows it read may not be the file's rows as they are now"
        lines += [
            f"input     changed while this run read it: {said}. To check every row as it is now:",
            _resume(settings),
        ]
    return lines + _left_lines(settings, engine.tally) + _stop_lines(settings, engine)


def _dry_run_lines(settings: Settings, tally: Tally, started_at: float) -> list[str]:
    lines = []
    schedule = settings.schedule()
    if schedule is not None:
        now = datetime.fromtimestamp(started_at, UTC)
        deadline = aware_time(settings.not_after)
        lines += window_lines(schedule, tally.zones, settings.rate.per_second, now, deadline)
    return [*lines, "dry run   nothing was sent and the results journal was not written"]


def _left_lines(settings: Settings, tally: Tally) -> list[str]:
    """Rows this run left as asked (--limit, --sample, the deadline) or in doubt."""
    journal = shlex.quote(settings.results_path)
    lines = []
    if tally.limit_reached:
        taken = (
            f"sample    --sample {settings.sample:,} took rows spread through the file"
            if settings.sample
            else f"limit     --limit {settings.limit:,} reached"
        )
        if settings.dry_run:  # no journal was written: nothing to resume
            lines.append(f"{taken}: a run would leave the rest for a resume")
        else:
            lines += [f"{taken}: the rows left wait. To send them:", _resume(settings)]
    if tally.failed_in_doubt:
        lines.append(
            f"in doubt  {counted(tally.failed_in_doubt, 'failed row')} may still have been "
            "committed (an answer was lost, and the history does not show it yet): "
            f"broadcaster reconcile {journal} looks them up again without sending; resume "
            "--retry-failed looks each up before sending it again"
        )
    late = tally.withheld[DEADLINE] + tally.earlier_withheld[DEADLINE]
    if late:
        lines.append(
            f"deadline  --not-after {settings.not_after} passed: {counted(late, 'row')} "
            f"skipped, not sent. To send them: broadcaster resume {journal} --not-after LATER"
        )
    return lines


def _stop_lines(settings: Settings, engine: RunEnd) -> list[str]:
    """Why the run stopped, and how it resumes."""
    if engine.stuck is not None:
        return [
            (
                f"stopped   {engine.stuck_reason}: {engine.stuck.error} (no row was marked "
                "failed). When the API answers again, resume with:"
            ),
            _resume(settings, ran=engine.tally),
        ]
    if engine.halted is not None:
        return [f"halted    {engine.halted}.", *_after_halt(settings, engine.halt_reply)]
    if engine.stopped_by is not None and engine.unauthorized is None:
        return [
            *_cut_off_lines(settings, engine.tally),
            f"stopped   by {engine.stopped_by}; the journal is complete up to here. Resume with:",
            _resume(settings, ran=engine.tally),
        ]
    return []


def _cut_off_lines(settings: Settings, tally: Tally) -> list[str]:
    """Requests a stop cancelled in flight: their answers never came, so they may have gone."""
    if not tally.cut_off:
        return []
    requests = counted(tally.cut_off, "request")
    when = f"past --grace {settings.grace:g}s, or a second signal"
    return [f"cut off   {requests} in flight ({when}): in doubt; a resume looks each up first"]


def _resume(settings: Settings, *, ran: Tally | None = None) -> str:
    """The command that resumes; ``ran``: a stopped run's tally, whose --limit and --sample
    the command keeps, less what the run used of them (neither is recorded: a plain resume
    sends every row left; and the same --limit again would send a whole batch more)."""
    command = f"          broadcaster resume {shlex.quote(settings.results_path)}"
    if ran is None:
        return command
    batch = [  # a sample's rows ended, twins aside: a twin takes no turn
        ("limit", settings.limit, ran.messages_ended),
        ("sample", settings.sample, ran.ended - ran.duplicates),
    ]
    asked = [(name, value, value - used) for name, value, used in batch if value is not None]
    if not asked:
        return command
    given = " ".join(f"--{name} {value}" for name, value, _ in asked)
    if any(left <= 0 for _, _, left in asked):  # the batch is done: each option ends it
        return f"{command} (this run's {given} is used up; it sends every row left)"
    rest = " ".join(f"--{name} {left}" for name, _, left in asked)
    return f"{command} {rest} (what this run's {given} left; without it, every row left)"
