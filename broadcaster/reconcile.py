"""``broadcaster reconcile RESULTS``: settle the rows a journal has in doubt, sending nothing.

A row is in doubt when an attempt of its message may have been committed and no answer said
so: a request in flight at a crash (an ``attempt`` marker with no outcome after it), or a
message that failed in doubt (``"in_doubt"``: its answers were lost, timed out or 5xx).
Each is looked up in its conversation's history (``lookup``), for a message dated from its
first attempt on, paced at the run's rate:

- found: a ``sent`` record with the message's id (``found_in_history``), so no run sends it;
  for a crash's row with ``"attempts": 1`` (its attempt marker proves the crashed run made
  one, which no record counted), for a failure with 0 (its ``failed`` record counted them);
- not found, for a failure in doubt: a ``failed`` record that says it was not committed (no
  longer in doubt; ``--retry-failed`` sends it); for a crash's row, a ``not_committed``
  marker (no longer in doubt; a resume sends it);
- the history cannot tell (a list broadcast, a chat_id or group send, a failed lookup): left
  as it is, and said.

The rows are found by planning the input the journal's last run read, as a resume would.
Each is said as it is told (a failure in doubt of every row of an outage may be thousands of
lookups). An API that cannot be reached at all (no connection: refused, no route, no such
host) ends the command after one lookup's tries, not one row's after another: every row would
meet the same. The records written here time no request (no ``latency_ms``): ``report``
tells them from a run's by that, so a lookup days later neither paces nor lengthens the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import Awaitable, Callable, Collection, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from yarl import URL

from broadcaster.campaign import check_destination
from broadcaster.client import HttpSender
from broadcaster.credentials import Credentials, credentials_from
from broadcaster.endpoint import check_base_url, shown_url
from broadcaster.errors import CredentialsError, UsageError
from broadcaster.exits import Exit
from broadcaster.header import last_run
from broadcaster.journal import NOT_COMMITTED, Journal
from broadcaster.lookup import (
    Found,
    NotFound,
    Paced,
    Unknown,
    Verdict,
    look_up_tries,
    settling_left,
)
from broadcaster.outcome import Outcome, Reply
from broadcaster.pacer import Pacer
from broadcaster.plan import Message, plan
from broadcaster.rate import format_duration
from broadcaster.reader import read_rows
from broadcaster.retry import RetryPolicy
from broadcaster.settings import Settings
from broadcaster.summary import LABEL, counted

_NOT_COMMITTED = (
    "looked up in its conversation: not committed, nothing was sent; --retry-failed sends it"
)
Say = Callable[[str], None]


def _silent(_: str) -> None:
    """Say nothing: the lookups' lines are for a person at the command."""


@dataclass(slots=True)
class Reconciled:
    """What the lookups found, for the summary and the exit code."""

    in_doubt: int = 0
    api: str = ""  # where the lookups went, as a message may show it
    found: list[tuple[int, int]] = field(default_factory=list)  # (line, message id)
    not_committed: list[int] = field(default_factory=list)
    failed: int = 0  # of those not committed, the failures: --retry-failed sends them
    untold: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    not_in_input: int = 0  # keys in doubt that no row of the input has now
    unreachable: str | None = None  # no connection to the API: the lookups stopped (why)

    @property
    def told(self) -> int:
        return len(self.found) + len(self.not_committed) + len(self.untold)

    @property
    def settled(self) -> bool:
        return not self.untold and not self.not_in_input and self.unreachable is None


def reconcile_journal(
    settings: Settings,
    environ: Mapping[str, str],
    out: TextIO,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    """The command: look up what the journal has in doubt, record it, say it; the exit code."""
    if settings.sandbox:
        raise UsageError(
            f"{settings.results_path} records a --sandbox trial: its sandbox ended with its "
            "process, so there is no history to look its rows up in"
        )
    check_base_url(settings.base_url, allow_insecure_http=settings.allow_insecure_http)
    credentials = credentials_from(environ, instead=None)
    journal = Journal.open(settings.results_path)

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    try:
        last = last_run(journal.state.headers)
        if last is not None:
            _check_destination(settings, last.settings)
        if journal.state.in_doubt:
            say(
                f"{'reconcile':<{LABEL}}{counted(len(journal.state.in_doubt), 'message')} in "
                f"doubt: looking each up at {shown_url(settings.base_url)}, sending nothing"
            )
        lookups = reconcile(settings, journal, credentials, clock=clock, sleep=sleep, say=say)
        result = asyncio.run(lookups)
    finally:
        journal.close()
    write_summary(result, settings.results_path, out)
    return Exit.OK if result.settled else Exit.PROBLEMS


def _check_destination(settings: Settings, recorded: Mapping[str, object]) -> None:
    """The journal's messages can only be looked up where they were sent: said for reconcile
    (``check_destination``'s advice is a send's, another journal)."""
    try:
        check_destination(settings, recorded)
    except UsageError:
        was = _origin(recorded.get("base_url"))
        raise UsageError(
            f"{settings.results_path} records messages sent to {was}, so they can only be "
            f"looked up there, and --base-url gives {_origin(settings.base_url)}: leave "
            f"--base-url out (the journal's is used), or give {was}"
        ) from None


def _origin(base_url: object) -> str:
    """An API's origin, as a message may show it."""
    try:
        return shown_url(str(URL(str(base_url)).origin()))
    except ValueError:
        return shown_url(str(base_url))


def rows_in_doubt(settings: Settings, in_doubt: Collection[str]) -> Generator[Message]:
    """The first row of each message in doubt, from the input as this run would plan it."""
    left = set(in_doubt)
    defaults = settings.defaults
    with read_rows(settings.input, settings.format) as rows:
        for record in rows:
            planned = plan(record, defaults)
            if isinstance(planned, Message) and planned.key in left:
                left.discard(planned.key)
                yield planned
                if not left:
                    return


async def reconcile(  # noqa: PLR0913 - the journal, and what the tests inject
    settings: Settings,
    journal: Journal,
    credentials: Credentials,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    say: Say = _silent,
) -> Reconciled:
    """Look up every row the journal has in doubt, record what is found, and ``say`` each
    row as it is told; an API that cannot be reached ends the lookups."""
    state = journal.state
    result = Reconciled(in_doubt=len(state.in_doubt), api=shown_url(settings.base_url))
    if not state.in_doubt:
        return result
    failed_in_doubt = {key for key in state.in_doubt if state.statuses.get(key) == "failed"}
    pacer = Pacer(settings.rate, clock=clock, sleep=sleep)
    policy = RetryPolicy(settings.max_attempts, settings.backoff_base, settings.backoff_cap)
    seen = 0
    async with HttpSender(
        settings.base_url, credentials, timeout=settings.timeout, connections=1
    ) as sender:
        paced = Paced(sender, pacer.wait)
        with contextlib.closing(rows_in_doubt(settings, state.in_doubt)) as rows:
            for message in rows:
                seen += 1
                since = state.in_doubt.get(message.key)
                verdict = _too_recent(since, settings.timeout) or await _look_up(
                    paced, pacer, policy, message, since, say=say
                )
                if (why := _unreachable(verdict)) is not None:
                    result.unreachable = why
                    return result
                failed = message.key in failed_in_doubt
                _record(journal, message, verdict, failed, result)
                say(_told(message.line, verdict, failed))
    result.not_in_input = result.in_doubt - seen
    return result


def _too_recent(since: str | None, timeout: float) -> Unknown | None:
    """An attempt made less than --timeout ago may still be being worked on: not told yet."""
    left = settling_left(since, timeout, time.time())
    if not left:
        return None
    return Unknown(
        f"its attempt was made {timeout - left:.0f}s ago, and the API may still be "
        "working on it: run reconcile again in a minute"
    )


async def _look_up(  # noqa: PLR0913 - the lookup's, and whom to tell of a wait
    paced: Paced,
    pacer: Pacer,
    policy: RetryPolicy,
    message: Message,
    since: str | None,
    *,
    say: Say,
) -> Verdict:
    """The lookup, again after a pause while its failure is one to retry (a 429, a 5xx, no
    connection); a 401 ends the command, as it ends a send. No connection is said, with how
    long it is tried: the wait is the command's longest."""

    async def pause(failure: Reply, tried: int) -> bool:
        if not failure.connected and tried == 1:
            most = sum(policy.ceiling(n) for n in range(1, policy.max_attempts))
            say(
                f"  line {message.line}: no connection ({failure.error}): trying again, "
                f"{policy.max_attempts - 1} more times over {format_duration(most)} at most"
            )
        pacer.pause(policy.delay(tried, failure.retry_after))
        return True

    verdict = await look_up_tries(
        paced, message.body, message.key, since, tries=policy.max_attempts, before_again=pause
    )
    failure = verdict.failure if isinstance(verdict, Unknown) else None
    if failure is not None and failure.verdict == "unauthorized":
        raise CredentialsError(f"the API refused the credentials ({failure.error})")
    return verdict


def _unreachable(verdict: Verdict) -> str | None:
    """Why the API could not be reached at all, when a lookup's every try met no connection:
    every other row's would too."""
    failure = verdict.failure if isinstance(verdict, Unknown) else None
    if failure is None or failure.connected:
        return None
    return failure.error or "no connection"


def _record(
    journal: Journal, message: Message, verdict: Verdict, failed: bool, result: Reconciled
) -> None:
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    line, key = message.line, message.key
    if isinstance(verdict, Found):
        journal.record(
            Outcome(
                "sent",
                key,
                line,
                local_id=key,
                id=verdict.id,
                date=verdict.date,
                request_id=verdict.request_id,
                # A crash's row: the attempt that sent it was the crashed run's, which no
                # record counted. A failure's attempts are its record's.
                attempts=0 if failed else 1,
                at=at,
                digest=message.digest,
                found_in_history=True,
            )
        )
        result.found.append((line, verdict.id))
    elif isinstance(verdict, NotFound):
        if not failed:  # in flight at a crash: no longer in doubt, and a resume sends it
            journal.mark(NOT_COMMITTED, {"key": key, "row": line, "at": at})
        else:
            failure = Outcome(
                "failed",
                key,
                line,
                local_id=key,
                error=_NOT_COMMITTED,
                at=at,
                digest=message.digest,
            )
            journal.record(failure)
            result.failed += 1
        result.not_committed.append(line)
    else:
        result.untold.append((line, verdict.why))


def _told(line: int, verdict: Verdict, failed: bool) -> str:
    """One row's line, as it is told."""
    if isinstance(verdict, Found):
        return f"  line {line}: sent, message {verdict.id}"
    if isinstance(verdict, NotFound):
        then = "recorded failed; --retry-failed sends it" if failed else "a resume sends it"
        return f"  line {line}: not committed ({then})"
    return f"  line {line}: cannot tell ({verdict.why})"


def write_summary(result: Reconciled, results_path: str, out: TextIO) -> None:
    """The closing lines (each row's was said as it was told): the counts, and the command
    that sends what is left."""
    if not result.in_doubt:
        out.write("reconcile nothing in doubt: every message's attempts have their answer\n")
        return
    if result.unreachable is not None:
        out.write(_line("stopped", _stopped(result)) + "\n")
        return
    lines = [
        _line(
            "looked up",
            f"{counted(result.told, 'message')}: {len(result.found):,} found committed "
            f"(recorded sent), {len(result.not_committed):,} not committed, "
            f"{len(result.untold):,} the history could not tell",
        )
    ]
    if result.not_in_input:
        lines.append(
            f"  {counted(result.not_in_input, 'message')} in doubt are in no row of the input "
            "now (edited or removed): their rows cannot be looked up"
        )
    if result.not_committed:
        lines.append(_line("then", _then(result, results_path)))
    out.write("".join(line + "\n" for line in lines))


def _stopped(result: Reconciled) -> str:
    said = f"the API could not be reached at {result.api} ({result.unreachable}): "
    if not result.told:
        return said + "nothing was looked up; try again when it answers"
    settled = len(result.found) + len(result.not_committed)
    return said + (
        f"{counted(settled, 'message')} settled before (recorded as said above), "
        f"{result.in_doubt - settled:,} still in doubt; try again when it answers"
    )


def _then(result: Reconciled, results_path: str) -> str:
    """The command that sends the rows found not committed: a failure's needs --retry-failed
    (which sends every failed row again), a crash's row a plain resume."""
    resume = f"broadcaster resume {shlex.quote(results_path)}"
    crashed = len(result.not_committed) - result.failed
    in_flight = f"{counted(crashed, 'row')} in flight at a crash"
    if not result.failed:
        return f"{resume}  (sends the {in_flight} not committed, and any row not sent yet)"
    failures = counted(result.failed, "failed row")
    also = f" and the {in_flight}" if crashed else ""
    return (
        f"{resume} --retry-failed  (sends the {failures} not committed{also}; it sends every "
        "other failed row again too)"
    )


def _line(label: str, text: str) -> str:
    return f"{label:<{LABEL}}{text}"
