"""What happened to a message: one attempt's ``Reply``, and the row's recorded ``Outcome``.

A message's fate is data, never an exception: the client turns every response and transport
error into a ``Reply``; the engine turns the last reply into an ``Outcome`` for the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

Verdict = Literal["sent", "failed", "retry", "unauthorized"]
Status = Literal["sent", "failed", "invalid", "skipped"]
STATUSES: tuple[Status, ...] = ("sent", "skipped", "failed", "invalid")
# Why a row is skipped without being a duplicate: its number is suppressed (--suppress), or
# the run's deadline passed before it went (--not-after).
SUPPRESSED, DEADLINE = "suppressed", "deadline"
WITHHELD = (SUPPRESSED, DEADLINE)
# The 4xx answers worth another attempt: the request was not processed (a timeout, the limit).
RETRYABLE_4XX = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})


@dataclass(frozen=True, slots=True)
class Reply:
    """One attempt's result, classified.

    ``sent``: the API accepted the message. ``failed``: it refused it for good (400, 403, 404,
    422...). ``retry``: try again with the same ``local_id`` (408, 429, 5xx, timeouts, dropped
    connections, a 2xx with an unreadable body). ``unauthorized``: the credentials are wrong,
    and every other message would meet the same 401.
    """

    verdict: Verdict
    http_status: int | None = None
    request_id: str | None = None
    id: int | None = None
    date: str | None = None
    gallery_url: str | None = None
    error: str | None = None
    retry_after: float | None = None
    connected: bool = True  # False: no connection was made, so the request never left
    timed_out: bool = False  # no answer within --timeout: the API may still be working on it

    @property
    def pauses_everyone(self) -> bool:
        """About the API, not the message: a 429, a Retry-After, or no connection at all."""
        throttled = self.http_status == HTTPStatus.TOO_MANY_REQUESTS
        return throttled or self.retry_after is not None or not self.connected

    @property
    def pause_cause(self) -> str:
        """Why a reply that pauses everyone does, as the summary counts it."""
        if self.http_status == HTTPStatus.TOO_MANY_REQUESTS:
            return "HTTP 429"
        if not self.connected:
            return "no connection"
        return f"Retry-After on HTTP {self.http_status}"

    @property
    def may_have_been_committed(self) -> bool:
        """An attempt the API may have committed unbeknown to us: one to be retried that
        reached it, unless its answer says it was not processed (408, 429)."""
        unprocessed = self.http_status in RETRYABLE_4XX
        return self.verdict == "retry" and self.connected and not unprocessed


@dataclass(frozen=True, slots=True)
class Outcome:
    """The journal record of a row that reached an end."""

    status: Status
    key: str
    row: int
    local_id: str | None = None
    id: int | None = None
    date: str | None = None
    gallery_url: str | None = None
    request_id: str | None = None
    http_status: int | None = None
    error: str | None = None
    attempts: int = 0
    latency_ms: float | None = None
    at: str | None = None
    digest: str | None = None  # the message's derived key, for a row with its own local_id
    replaces: str | None = None  # the key of the record this row fixes (a --failed-csv row)
    # Failed, but an attempt may have been committed: a later run looks it up before sending,
    # for a message dated from this time on (its first attempt's; True when unknown).
    in_doubt: str | bool | None = None
    found_in_history: bool = False  # sent: found in its conversation's history, not re-sent
    # Skipped for a reason other than being a duplicate (``WITHHELD``): such a record says
    # nothing of the message, which a later run sends once the reason no longer holds.
    reason: str | None = None

    def record(self) -> dict[str, Any]:
        extra: dict[str, Any] = {} if self.digest is None else {"digest": self.digest}
        if self.replaces is not None:
            extra["replaces"] = self.replaces
        if self.in_doubt:
            extra["in_doubt"] = self.in_doubt
        if self.found_in_history:
            extra["found_in_history"] = True
        if self.reason is not None:
            extra["reason"] = self.reason
        return {
            "status": self.status,
            "key": self.key,
            "local_id": self.local_id,
            "row": self.row,
            "id": self.id,
            "date": self.date,
            "gallery_url": self.gallery_url,
            "request_id": self.request_id,
            "http_status": self.http_status,
            "error": self.error,
            "attempts": self.attempts,
            "latency_ms": self.latency_ms,
            "at": self.at,
        } | extra
