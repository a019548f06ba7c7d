"""The tally: every row by how it ended, and the requests that took, built from outcomes.

The engine adds each outcome as it records it; ``report`` can add the records of a journal and
get the same figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from broadcaster.outcome import Outcome, Status


@dataclass(slots=True)
class Tally:
    """Every row read, by how it stands after this run; and the requests it took."""

    rows: int = 0
    sent: int = 0
    failed: int = 0
    invalid: int = 0
    duplicates: int = 0
    withheld: Counter[str] = field(default_factory=Counter)  # skipped, by reason (WITHHELD)
    earlier: Counter[Status] = field(default_factory=Counter)
    earlier_withheld: Counter[str] = field(default_factory=Counter)  # of earlier["skipped"]
    attempts: int = 0
    pauses: Counter[str] = field(default_factory=Counter)
    latency_total: float = 0.0
    latency_max: float = 0.0
    first_request: float | None = None
    last_request: float | None = None
    input_done: bool = False  # every row of the input was read
    recorded_before: bool = False  # the journal held rows' records: a row not read may have ended
    lookup_pages: int = 0  # requests for history pages: under the rate, as sends are
    looked_up: int = 0  # lookups of messages in doubt in their conversations (one or more each)
    found: int = 0  # of those, found committed: recorded sent, not sent again
    failed_in_doubt: int = 0  # failed, but an attempt may have been committed
    not_found: int = 0  # of those, not in the history: not committed
    untold: int = 0  # of those, the history could not tell: sent again, same local_id
    rate_in_force: float | None = None  # per second, once the adaptive rate has moved
    rate_lowered: int = 0  # times 429s lowered it
    paced_after_429: bool = False  # an unpaced run paced at the documented limit once a 429 came
    opt_outs_recorded: int = 0  # numbers --record-opt-outs appended
    limit_reached: bool = False  # --limit messages went, and rows were left unread
    passed_by: int = 0  # rows a resume's --sample read, found not ended, and did not take
    deadline_passed: bool = False  # --not-after passed before every row went
    waiting: str | None = None  # what rows wait for, while they do (for progress)
    wait_left: float | None = None  # and how many seconds yet (for progress's ETA)
    wait_ends_all: bool = False  # the wait is for --not-after: every row left ends then
    awaiting_lookup: int = 0  # of them, messages in flight at a crash: they end at their lookup
    zones: Counter[tuple[str, ...]] = field(default_factory=Counter)  # messages by zone set
    stopped: bool = False  # the run stopped before its end: a signal, a halt, a 401, stuck
    cut_off: int = 0  # requests in flight cancelled by a stop (past --grace, a second signal)
    deferred: int = 0  # rows outside their window at the end (a dry run's, or a stopped run's)

    def add(self, outcome: Outcome) -> None:
        """Count one outcome record: this run's, or one read back from a journal."""
        if outcome.status == "skipped" and outcome.reason is not None:
            self.withheld[outcome.reason] += 1
        elif outcome.status == "skipped":
            self.duplicates += 1
        elif outcome.status == "invalid":
            self.invalid += 1
        else:
            if outcome.status == "sent":
                self.sent += 1
            else:
                self.failed += 1
            latency = (outcome.latency_ms or 0.0) / 1000
            self.latency_total += latency
            self.latency_max = max(self.latency_max, latency)

    def note_request(self, at: float, *, lookup: bool = False) -> None:
        """A request left at ``at``: an attempt to send, or a page of a lookup."""
        if lookup:
            self.lookup_pages += 1
        else:
            self.attempts += 1
        if self.first_request is None:
            self.first_request = at
        if self.last_request is None or at > self.last_request:  # workers note out of order
            self.last_request = at

    @property
    def messages_ended(self) -> int:
        """Messages this run sent or failed: what --limit counts."""
        return self.sent + self.failed

    @property
    def ended(self) -> int:
        """Rows that reached an end in this run (not settled by an earlier one)."""
        return self.messages_ended + self.invalid + self.duplicates + self.withheld.total()

    @property
    def settled(self) -> int:
        """Rows that reached an end, in this run or an earlier one."""
        return self.ended + self.earlier.total()

    @property
    def unsettled(self) -> int:
        """Rows read that have not reached an end: queued, in flight, or waiting on their twin."""
        return self.rows - self.settled

    @property
    def mean_rate(self) -> float | None:
        """Requests a second between the first and the last, lookups' too (None under two)."""
        if self.first_request is None or self.last_request is None:
            return None
        span = self.last_request - self.first_request
        return (self.attempts + self.lookup_pages - 1) / span if span > 0 else None

    @property
    def problems(self) -> int:
        """Rows that ended failed or invalid, now or in an earlier run."""
        return self.failed + self.invalid + self.earlier["failed"] + self.earlier["invalid"]
