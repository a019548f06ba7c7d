"""The baseline: the least code that posts the same bodies, so the engine's cost is what is
left over.

    python -m broadcaster.bench.bare URL BODIES_FILE CONCURRENCY [RATE]

One ``ClientSession``, ``TCPConnector(limit=CONCURRENCY)``, CONCURRENCY workers, each posting
the next body (one JSON a line, sent as its bytes) and reading the whole response. No retries,
no journal: what any client must do at least. It runs as a process of its own, as the engine
does, so both are measured alike (start-up, CPU, peak memory). The credentials are the
engine's, from the same environment, and so is its event loop (uvloop when installed,
``eventloop``): the ratio compares the engine with the HTTP calls, not one loop with another.

RATE is written as ``send --rate`` takes it (``480/m``, ``100/s``); left out, or ``0``, the
bodies go as fast as the workers can post them (the throughput step's baseline). Given, they
go on a fixed schedule (the pacing step's): body n leaves at ``t0 + n/RATE`` on the loop's
clock, each worker taking the next slot and sleeping until it, so a slow answer never lowers
the rate and a worker late for its slot leaves at once. Nothing more than that: no limit on a
rolling second, no pause on a 429.

Exit 0 when every answer was 2xx, 1 if not (a baseline whose requests fail would measure
nothing).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import aiohttp

from broadcaster.credentials import credentials_from
from broadcaster.eventloop import run
from broadcaster.rate import Rate, parse_rate

SEND_PATH = "/v1/message/send"
UNPACED = "0"
_OK = range(200, 300)


class Schedule:
    """Slot n at ``t0 + n/rate``, t0 being when the first slot is taken: ``await
    schedule.wait()`` takes the next slot and sleeps until it is due."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._taken = 0

    async def wait(self) -> None:
        if self._start is None:
            self._start = self._clock()
        due = self._start + self._taken * self._interval
        self._taken += 1  # taken before the sleep: the next worker gets the next slot
        delay = due - self._clock()
        if delay > 0:
            await self._sleep(delay)


async def post_all(
    url: str,
    bodies: Sequence[bytes],
    concurrency: int,
    authorization: str,
    schedule: Schedule | None = None,
) -> int:
    """Post every body, each in its slot of ``schedule`` if one is given; the number of
    answers that were not 2xx."""
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    target = url.rstrip("/") + SEND_PATH
    failures = 0
    pending = iter(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker(queue: Iterator[bytes]) -> None:
            nonlocal failures
            for body in queue:  # one iterator shared by all: each body is posted once
                if schedule is not None:
                    await schedule.wait()
                async with session.post(target, data=body, headers=headers) as response:
                    await response.read()
                    failures += response.status not in _OK

        await asyncio.gather(*(worker(pending) for _ in range(concurrency)))
    return failures


async def post_at(
    url: str, bodies: Sequence[bytes], concurrency: int, authorization: str, rate: Rate
) -> int:
    """``post_all`` at ``rate`` (unpaced at 0), on the running loop's clock."""
    clock = asyncio.get_running_loop().time
    schedule = None if rate.unpaced else Schedule(rate.per_second, clock=clock)
    return await post_all(url, bodies, concurrency, authorization, schedule)


def main(argv: Sequence[str]) -> int:
    url, path, concurrency, rate = argv if len(argv) == 4 else (*argv, UNPACED)  # noqa: PLR2004
    bodies = Path(path).read_bytes().splitlines()
    authorization = credentials_from(
        os.environ, instead="broadcaster bench without --base-url"
    ).authorization()
    posting = post_at(url, bodies, int(concurrency), authorization, parse_rate(rate))
    failures = run(posting, os.environ)
    if failures:
        print(f"bare: {failures} of {len(bodies)} answers were not 2xx", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
