"""When to try a message again: full-jitter exponential backoff, Retry-After as a floor."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt n (from 1) waits a uniform draw in [0, min(cap, base·2ⁿ⁻¹)], but never less
    than the server's Retry-After. Full jitter spreads retries so they do not arrive together."""

    max_attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def ceiling(self, attempt: int) -> float:
        growth: float = 2.0 ** min(attempt - 1, 62)
        return min(self.cap, self.base * growth)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        return max(self.rng.uniform(0.0, self.ceiling(attempt)), retry_after or 0.0)

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts
