"""The end-of-run summary: what a user reads to trust the run. Its counts add up to the rows."""

from __future__ import annotations

from collections import Counter

from broadcaster.outcome import STATUSES
from broadcaster.rate import DOCUMENTED_PACE, Rate, format_duration
from broadcaster.tally import Tally

LABEL = 10  # the width of the labels on the left (``rows      ``), here and in the report


def test_summary(tally: Tally, elapsed: float, asked: Rate) -> str:
    """A test send's: its requests alone (its rows are not the campaign's)."""
    return "".join(line + "\n" for line in _requests(tally, elapsed, asked))


def summary(
    tally: Tally, elapsed: float, asked: Rate, total: int | None = None, dry_run: bool = False
) -> str:
    """``total``: the input's rows when known; a run that read them all knows it itself."""
    rows = all_rows(tally, total)
    earlier = tally.earlier
    verb = "would be sent" if dry_run else "sent"
    lines = [
        f"rows      {rows:,}: {tally.sent:,} {verb}, {tally.failed:,} failed, "
        f"{tally.invalid:,} invalid, {tally.duplicates:,} duplicate (skipped)"
        + "".join(f", {n:,} {reason} (skipped)" for reason, n in sorted(tally.withheld.items()))
        + (" in this run" if earlier.total() else "")
    ]
    if earlier.total():
        # Rows an earlier run held back (suppressed, past the deadline) and this one again
        # are not settled: they are said apart.
        held = tally.earlier_withheld.total()
        settled = earlier - Counter({"skipped": held})
        done = ", ".join(f"{settled[s]:,} {s}" for s in STATUSES if settled[s]) or "none"
        line = f"earlier   {settled.total():,} settled by earlier runs: {done}"
        if held:
            why = ", ".join(f"{n:,} {r}" for r, n in sorted(tally.earlier_withheld.items()))
            line += f"; {held:,} held back again, as recorded ({why})"
        lines.append(line)
    left = _left(tally, total, dry_run)
    if left:
        lines.append(f"left      {left}")
    if dry_run:
        lines.append(f"time      {_estimate(tally.sent, asked)}")
    else:
        lines.extend(_requests(tally, elapsed, asked))
    if tally.looked_up:
        cut = tally.looked_up - tally.found - tally.not_found - tally.untold
        lines.append(
            f"in doubt  {counted(tally.looked_up, 'lookup')} of messages whose answer was lost: "
            f"{tally.found:,} committed (recorded sent, not sent again), {tally.not_found:,} not "
            f"committed, {tally.untold:,} unknown (the history could not tell)"
            + (f", {cut:,} cut short by the stop" if cut else "")
        )
    if tally.deferred:
        when = f": the first window opens at {tally.waiting}" if tally.waiting else ""
        lines.append(
            f"waiting   {_rows(tally.deferred)} outside their send window{when}; a run waits "
            "for it and sends them"
        )
    if tally.opt_outs_recorded:
        lines.append(
            f"opt-outs  {counted(tally.opt_outs_recorded, 'number')} refused as opted out, "
            "added to the --record-opt-outs file"
        )
    if earlier["failed"]:
        lines.append(
            f"note      {_rows(earlier['failed'])} failed in an earlier run; "
            "--retry-failed sends them again"
        )
    return "".join(line + "\n" for line in lines)


def all_rows(tally: Tally, total: int | None) -> int:
    """The input's rows: those read, or (a run that stopped before its end) the count."""
    return tally.rows if tally.input_done or total is None else max(total, tally.rows)


def _left(tally: Tally, total: int | None, dry_run: bool) -> str | None:
    """Rows not ended: read and unfinished, and (for a stopped run) not read at all."""
    unread: int | None = 0  # None: unknown, the input was a stream never read to its end
    if not tally.input_done:
        unread = None if total is None else max(0, total - tally.rows)
    if not tally.unsettled and unread == 0:
        return None
    parts = [f"{tally.unsettled:,} read and not finished"] if tally.unsettled else []
    if unread is None:
        parts.append("the rest of the input not read")
    elif unread:
        parts.append(f"{unread:,} not taken" if tally.limit_reached else f"{unread:,} not read")
    # A row never read may have ended in an earlier run (one --sample passed by did not).
    never_read = (unread or 0) - tally.passed_by
    bound = "up to " if never_read > 0 and tally.recorded_before else ""
    head = "" if unread is None else f"{bound}{tally.unsettled + unread:,} rows not ended: "
    return (
        head
        + ", ".join(parts)
        + (" (a run would take them up)" if dry_run else " (a resumed run takes them up)")
    )


def _requests(tally: Tally, elapsed: float, asked: Rate) -> list[str]:
    requests = tally.sent + tally.failed
    mean = tally.latency_total / requests * 1000 if requests else 0.0
    pace = "unpaced" if asked.unpaced else f"asked {asked} ({asked.per_second:,.2f}/s)"
    if tally.mean_rate is not None:
        pace = f"mean {tally.mean_rate:,.2f} requests/s, {pace}"
    lines = []
    if tally.paced_after_429 and tally.rate_in_force is not None:
        lines.append(
            f"rate      unpaced until the API answered 429, then paced at {DOCUMENTED_PACE} (the "
            f"documented limit), {DOCUMENTED_PACE.shown(tally.rate_in_force)} at the end"
        )
    elif tally.rate_lowered and tally.rate_in_force is not None:
        lines.append(
            f"rate      lowered {counted(tally.rate_lowered, 'time')} as 429s kept coming; "
            f"{asked.shown(tally.rate_in_force)} in force at the end (asked {asked}). The API's "
            "limit is lower than asked, or another process spends the same key"
        )
    return [
        (
            f"requests  {counted(tally.attempts, 'attempt')} for {counted(requests, 'message')}, "
            f"{_pauses(tally)}"
            + (
                f", latency mean {mean:.0f} ms, max {tally.latency_max * 1000:.0f} ms"
                if requests
                else ""
            )
        ),
        f"time      {format_duration(elapsed)}; {pace}",
        *lines,
    ]


def _pauses(tally: Tally) -> str:
    count = tally.pauses.total()
    if not count:
        return "no pauses"
    causes = ", ".join(f"{n} for {cause}" for cause, n in tally.pauses.most_common())
    return f"{count} {'pause' if count == 1 else 'pauses'} ({causes})"


def _estimate(messages: int, asked: Rate) -> str:
    if asked.unpaced:
        return f"{counted(messages, 'request')}, unpaced"
    duration = format_duration(asked.duration(messages))
    return f"{counted(messages, 'request')} at {asked}: about {duration}"


def _rows(count: int) -> str:
    return counted(count, "row")


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``1,000 retries``."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
