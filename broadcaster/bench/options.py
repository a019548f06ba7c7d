"""What a bench run is asked to do: ``BenchOptions`` (every default, once) and the argument
types that read them.

Light on purpose: the command's parser imports it, so ``broadcaster --help`` pays for it.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

# In the order they run, whatever order --steps names them in.
STEPS = (
    "throughput", "pacing", "memory", "validate", "dryrun", "resume", "walk", "halfway", "help",
)  # fmt: skip
SERVERS = ("auto", "nginx", "sandbox")
# The sandbox's own inbox and member: what the bench sends as when it runs the server itself.
OWN_INBOX_ID = 101
OWN_CREATOR_ID = 55

_SIZE = re.compile(r"(\d+(?:\.\d+)?)([kKmM]?)")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


@dataclass(frozen=True, slots=True)
class BenchOptions:
    steps: tuple[str, ...] = STEPS
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)  # memory; the largest for the rest
    rows: int = 20_000  # throughput
    concurrency: int = 16
    repeat: int = 3  # runs of each throughput process, and of validate, dryrun and resume
    pacing_seconds: float = 60.0  # of messages at each rate
    server: str = "auto"
    base_url: str | None = None  # the user's own endpoint instead of a server of ours
    allow_insecure_http: bool = False  # that endpoint may be plain http to another machine
    inbox_id: int | None = None  # None: the sandbox's, OWN_INBOX_ID
    creator_id: int | None = None

    @property
    def largest(self) -> int:
        return max(self.sizes)


def parse_size(text: str) -> int:
    """A row count as people write one: ``2000``, ``10k``, ``1M``, ``2.5k``."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: expected a row count such as 2000, 10k or 1M"
        )
    number, scale = float(match.group(1)), _SCALE[match.group(2).lower()]
    if not (number * scale).is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of rows")
    if number * scale < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a size is at least 1 row")
    return int(number * scale)


def parse_sizes(text: str) -> tuple[int, ...]:
    """``10k,100k,1M``: distinct sizes, smallest first (the largest is the one kept)."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected sizes separated by commas, such as 10k,100k,1M"
        )
    return tuple(sorted({parse_size(part) for part in parts}))


def parse_steps(text: str) -> tuple[str, ...]:
    """``pacing,throughput``: the steps named, in the order they run."""
    named = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(named - set(STEPS))
    if unknown or not named:
        raise argparse.ArgumentTypeError(
            f"unknown step {', '.join(map(repr, unknown)) or repr(text)}: "
            f"expected some of {','.join(STEPS)}"
        )
    return tuple(step for step in STEPS if step in named)
