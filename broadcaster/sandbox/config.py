"""How a sandbox behaves: credentials, rate limit, inboxes, de-duplication, faults, and its
clocks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from broadcaster.faults import FAULT_KINDS as FAULT_KINDS  # noqa: PLC0414 - see faults
from broadcaster.rate import Rate


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Inbox:
    id: int
    name: str
    members: tuple[Member, ...]
    phone: str | None = None  # E.164 digits without +, as the API gives an inbox's number


API_RATE_LIMIT = Rate(500, 60)

Dedupe = Literal["all", "lists"]
DEDUPE_MODES: tuple[Dedupe, ...] = get_args(Dedupe)

DEFAULT_INBOXES = (
    Inbox(101, "Support", (Member(55, "Dana Whitfield"), Member(56, "Luis Ortega")), "14155550198"),
    Inbox(102, "Marketing", (Member(57, "Priya Raman"),), "14155550199"),
)


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """A sandbox's behaviour. ``api_key`` None accepts any bearer token."""

    api_key: str | None = None
    secret_id: str | None = None
    secret_key: str | None = None
    rate_limit: Rate = API_RATE_LIMIT
    retry_after: bool = False
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    latency: float = 0.0
    slow_delay: float = 5.0
    inboxes: tuple[Inbox, ...] = DEFAULT_INBOXES
    opted_out: frozenset[str] = frozenset()
    dedupe: Dedupe = "all"
    """Which sends a repeated ``local_id`` answers with the first message's response: ``all``,
    or list broadcasts only (``lists``, all the API documents): a repeated single send then
    commits again, counted as ``resent``."""
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    on_commit: Callable[[int], None] | None = None
    """Called with the count of committed messages after each commit (tests kill clients)."""

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(sorted(unknown))}")
        if self.dedupe not in DEDUPE_MODES:
            raise ValueError(f"dedupe must be one of {', '.join(DEDUPE_MODES)}")
        if any(not 0 <= p <= 1 for p in self.faults.values()) or sum(self.faults.values()) > 1:
            raise ValueError("fault probabilities must be in [0, 1] and add up to at most 1")
