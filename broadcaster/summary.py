"""The end-of-run summary: what a user reads to trust the run."""

from __future__ import annotations

from broadcaster.engine import Tally
from broadcaster.outcome import STATUSES
from broadcaster.rate import Rate, format_duration


def summary(tally: Tally, elapsed: float, asked: Rate) -> str:
    lines = [
        (
            f"rows      {tally.rows}: {tally.sent} sent, {tally.failed} failed, "
            f"{tally.invalid} invalid, {tally.duplicates} duplicate (skipped)"
        ),
    ]
    earlier = tally.earlier
    if earlier.total():
        done = ", ".join(f"{earlier[s]} {s}" for s in STATUSES if earlier[s])
        lines.append(f"earlier   {earlier.total()} rows were settled by earlier runs: {done}")
    requests = tally.sent + tally.failed
    mean = tally.latency_total / requests * 1000 if requests else 0.0
    lines.append(
        f"requests  {tally.attempts} attempts for {requests} messages, "
        f"{tally.pauses} pauses for 429, "
        f"latency mean {mean:.0f} ms, max {tally.latency_max * 1000:.0f} ms"
    )
    pace = "unpaced" if asked.unpaced else f"asked {asked} ({asked.per_second:.2f}/s)"
    if tally.mean_rate is not None:
        pace = f"mean {tally.mean_rate:.2f} requests/s, {pace}"
    lines.append(f"time      {format_duration(elapsed)}; {pace}")
    if earlier["failed"]:
        lines.append(
            f"note      {earlier['failed']} rows failed in an earlier run; "
            "--retry-failed sends them again"
        )
    return "".join(line + "\n" for line in lines)
