"""The sandbox as a process of its own (``broadcaster sandbox``): served until SIGINT or
SIGTERM, then what it counted printed. The first line gives its URL, its rate limit, and
``dedupe="lists"`` when set (the default says nothing, so scripts reading the line still match).

Apart from the command (``commands/sandbox``), which imports it only to run: aiohttp would slow
every ``broadcaster --help``.
"""

from __future__ import annotations

import asyncio
import signal

import orjson

from broadcaster.exits import Exit
from broadcaster.sandbox.config import SandboxConfig
from broadcaster.sandbox.server import serving


async def serve(config: SandboxConfig, host: str, port: int) -> int:
    async with serving(config, host, port) as (url, state):
        limit = "no rate limit" if config.rate_limit.unpaced else f"rate limit {config.rate_limit}"
        if config.dedupe == "lists":
            limit += "; local_id de-duplicated for list broadcasts only"
        print(f"sandbox listening on {url} ({limit})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        print("sandbox stopped: " + orjson.dumps(state.stats()).decode(), flush=True)
    return Exit.OK
