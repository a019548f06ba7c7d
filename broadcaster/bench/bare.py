"""The baseline: the least code that posts the same bodies, so the engine's cost is what is
left over.

    python -m broadcaster.bench.bare URL BODIES_FILE CONCURRENCY

One ``ClientSession``, ``TCPConnector(limit=CONCURRENCY)``, CONCURRENCY workers, each posting
the next body (one JSON a line, sent as its bytes) and reading the whole response. No pacing,
no retries, no journal: what any client must do at least. It runs as a process of its own, as
the engine does, so both are measured alike (start-up, CPU, peak memory). The credentials are
the engine's, from the same environment, and so is its event loop (uvloop when installed,
``eventloop``): the ratio compares the engine with the HTTP calls, not one loop with another.
Exit 0 when every answer was 2xx, 1 if not (a
baseline whose requests fail would measure nothing).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp

from broadcaster.credentials import credentials_from
from broadcaster.eventloop import run

SEND_PATH = "/v1/message/send"
_OK = range(200, 300)


async def post_all(url: str, bodies: Sequence[bytes], concurrency: int, authorization: str) -> int:
    """Post every body; the number of answers that were not 2xx."""
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    target = url.rstrip("/") + SEND_PATH
    failures = 0
    pending = iter(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker(queue: Iterator[bytes]) -> None:
            nonlocal failures
            for body in queue:  # one iterator shared by all: each body is posted once
                async with session.post(target, data=body, headers=headers) as response:
                    await response.read()
                    failures += response.status not in _OK

        await asyncio.gather(*(worker(pending) for _ in range(concurrency)))
    return failures


def main(argv: Sequence[str]) -> int:
    url, path, concurrency = argv
    bodies = Path(path).read_bytes().splitlines()
    authorization = credentials_from(
        os.environ, instead="broadcaster bench without --base-url"
    ).authorization()
    failures = run(post_all(url, bodies, int(concurrency), authorization), os.environ)
    if failures:
        print(f"bare: {failures} of {len(bodies)} answers were not 2xx", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
