"""``broadcaster reconcile RESULTS``: settle the rows a journal has in doubt, sending nothing.

A row is in doubt when an attempt of its message may have been committed and no answer said
so: a request in flight at a crash (an ``attempt`` marker with no outcome after it), or a
message that failed in doubt (``"in_doubt"``: its answers were lost, timed out or 5xx).
Each is looked up in its conversation's history (``lookup``), for a message dated from its
first attempt on, paced at the run's rate:

- found: a ``sent`` record with the message's id (``found_in_history``), so no run sends it;
- not found, for a failure in doubt: a ``failed`` record that says it was not committed (no
  longer in doubt; ``--retry-failed`` sends it); for a crash's row, a ``not_committed``
  marker (no longer in doubt; a resume sends it);
- the history cannot tell (a list broadcast, a chat_id or group send, a failed lookup): left
  as it is, and said.

The rows are found by planning the input the journal's last run read, as a resume would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from broadcaster.campaign import check_destination
from broadcaster.client import HttpSender
from broadcaster.credentials import Credentials, credentials_from
from broadcaster.endpoint import check_base_url
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
from broadcaster.reader import read_rows
from broadcaster.retry import RetryPolicy
from broadcaster.settings import Settings
from broadcaster.summary import counted

_NOT_COMMITTED = (
    "looked up in its conversation: not committed, nothing was sent; --retry-failed sends it"
)


@dataclass(slots=True)
class Reconciled:
    """What the lookups found, for the summary and the exit code."""

    in_doubt: int = 0
    found: list[tuple[int, int]] = field(default_factory=list)  # (line, message id)
    not_committed: list[int] = field(default_factory=list)
    untold: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    not_in_input: int = 0  # keys in doubt that no row of the input has now

    @property
    def settled(self) -> bool:
        return not self.untold and not self.not_in_input


def reconcile_journal(settings: Settings, environ: Mapping[str, str], out: TextIO) -> int:
    """The command: look up what the journal has in doubt, record it, say it; the exit code."""
    if settings.sandbox:
        raise UsageError(
            f"{settings.results_path} records a --sandbox trial: its sandbox ended with its "
            "process, so there is no history to look its rows up in"
        )
    check_base_url(settings.base_url, allow_insecure_http=settings.allow_insecure_http)
    credentials = credentials_from(environ, instead=None)
    journal = Journal.open(settings.results_path)
    try:
        last = last_run(journal.state.headers)
        if last is not None:
            check_destination(settings, last.settings)
        result = asyncio.run(reconcile(settings, journal, credentials))
    finally:
        journal.close()
    write_summary(result, settings.results_path, out)
    return Exit.OK if result.settled else Exit.PROBLEMS


def rows_in_doubt(settings: Settings, in_doubt: Collection[str]) -> Iterator[Message]:
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


async def reconcile(
    settings: Settings,
    journal: Journal,
    credentials: Credentials,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Reconciled:
    """Look up every row the journal has in doubt, and record what is found."""
    state = journal.state
    result = Reconciled(in_doubt=len(state.in_doubt))
    if not state.in_doubt:
        return result
    failed_in_doubt = {key for key in state.in_doubt if state.statuses.get(key) == "failed"}
    pacer = Pacer(settings.rate, clock=clock)
    policy = RetryPolicy(settings.max_attempts, settings.backoff_base, settings.backoff_cap)
    seen = 0
    async with HttpSender(
        settings.base_url, credentials, timeout=settings.timeout, connections=1
    ) as sender:
        paced = Paced(sender, pacer.wait)
        for message in rows_in_doubt(settings, state.in_doubt):
            seen += 1
            since = state.in_doubt.get(message.key)
            verdict = _too_recent(since, settings.timeout) or await _look_up(
                paced, pacer, policy, message, since
            )
            _record(journal, message, verdict, message.key in failed_in_doubt, result)
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


async def _look_up(
    paced: Paced, pacer: Pacer, policy: RetryPolicy, message: Message, since: str | None
) -> Verdict:
    """The lookup, again after a pause while its failure is one to retry (a 429, a 5xx); a
    401 ends the command, as it ends a send."""

    async def pause(failure: Reply, tried: int) -> bool:
        pacer.pause(policy.delay(tried, failure.retry_after))
        return True

    verdict = await look_up_tries(
        paced, message.body, message.key, since, tries=policy.max_attempts, before_again=pause
    )
    failure = verdict.failure if isinstance(verdict, Unknown) else None
    if failure is not None and failure.verdict == "unauthorized":
        raise CredentialsError(f"the API refused the credentials ({failure.error})")
    return verdict


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
        result.not_committed.append(line)
    else:
        result.untold.append((line, verdict.why))


def write_summary(result: Reconciled, results_path: str, out: TextIO) -> None:
    lines = []
    if not result.in_doubt:
        lines.append("reconcile nothing in doubt: every message's attempts have their answer")
    else:
        lines.append(
            f"reconcile {counted(result.in_doubt, 'message')} in doubt: {len(result.found):,} "
            f"found committed (recorded sent), {len(result.not_committed):,} not committed, "
            f"{len(result.untold):,} the history could not tell"
        )
    lines += [f"  line {line}: sent, message {mid}" for line, mid in result.found]
    lines += [f"  line {line}: not committed" for line in result.not_committed]
    lines += [f"  line {line}: cannot tell ({why})" for line, why in result.untold]
    if result.not_in_input:
        lines.append(
            f"  {counted(result.not_in_input, 'message')} in doubt are in no row of the input "
            "now (edited or removed): their rows cannot be looked up"
        )
    if result.not_committed:
        lines.append(
            f"then      broadcaster resume {results_path}  (sends the rows in flight at a "
            "crash; add --retry-failed for the failed ones, which re-sends every failed row)"
        )
    out.write("".join(line + "\n" for line in lines))
