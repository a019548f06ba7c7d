"""Send throughput and memory: the whole engine against a bare aiohttp loop, side by side.

    .venv/bin/python benchmarks/send_throughput.py [ROWS] [CONCURRENCY]

Both post the same messages, with the same concurrency, to the same sandbox (its own process,
rate limit off), so the ratio is what reading, planning, pacing (unpaced), retry bookkeeping and
the journal cost over the HTTP calls alone. Memory: peak traced allocations of the engine run
at ROWS/10 and at ROWS, to show what grows with the row count.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson

from broadcaster.campaign import send_campaign
from broadcaster.cli import main_parser
from broadcaster.logs import configure_logging
from broadcaster.options import settings_from


def write_campaign(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("phone_number,name\n")
        for n in range(rows):
            out.write(f"1415{2_000_000 + n:07d},Person {n}\n")


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[str]:
    """``broadcaster sandbox`` in its own process, so its memory and CPU are not ours."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "broadcaster", "sandbox", "--port", "0", "--rate-limit", "0",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None  # noqa: S101
    line = (await process.stdout.readline()).decode()
    try:
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        process.terminate()
        await process.wait()


async def bare(url: str, rows: int, concurrency: int) -> float:
    bodies = [
        orjson.dumps({"inbox_id": 101, "creator_id": 55, "phone_number": f"1415{2_000_000 + n:07d}",
                      "text": f"Hi Person {n}", "local_id": f"bare-{n}"})
        for n in range(rows)
    ]  # fmt: skip
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post(f"{url}/v1/message/send", data=body, headers=headers) as r:
                    await r.read()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def engine(url: str, path: Path, concurrency: int) -> float:
    argv = [
        "send", str(path), "--base-url", url, "--rate", "0", "--concurrency", str(concurrency),
        "--inbox-id", "101", "--creator-id", "55", "--text", "Hi {{name}}", "--quiet",
    ]  # fmt: skip
    args = main_parser().parse_args(argv)
    env = {"HEYMARKET_API_KEY": "bench"}
    start = time.perf_counter()
    code = await send_campaign(settings_from(args, env), env, io.StringIO(), handle_signals=False)
    if code != 0:
        raise SystemExit(f"the run failed with exit {code}")
    return time.perf_counter() - start


async def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    configure_logging(quiet=True)
    async with serve() as url:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.csv"
            write_campaign(path, rows)
            base = await bare(url, rows, concurrency)
            ours = await engine(url, path, concurrency)
            print(f"bare aiohttp  {rows / base:>8,.0f} requests/s")
            print(f"broadcaster   {rows / ours:>8,.0f} requests/s")
            print(f"ratio         {ours / base:.2f}x the time of the HTTP calls alone")
            for count in (rows // 10, rows):
                small = Path(tmp) / f"mem{count}.csv"
                write_campaign(small, count)
                tracemalloc.start()
                await engine(url, small, concurrency)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                print(f"memory        {count:>8,} rows: peak {peak / 2**20:.1f} MiB traced")


if __name__ == "__main__":
    asyncio.run(main())
