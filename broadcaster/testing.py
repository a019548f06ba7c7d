"""Helpers for testing asyncio code that waits: a virtual clock that moves only when every task
is waiting, so tests of pacing and backoff run in milliseconds and never sleep for real."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_IDLE_ROUNDS = 3


class Deadlock(RuntimeError):  # noqa: N818 - it names the situation
    """Nothing can run and nothing is sleeping: the code under test waits forever."""


class VirtualTime:
    """``clock`` and ``sleep`` to inject; ``run(coro)`` drives the coroutine to its end.

    ``overshoot()`` is added to every wake-up, to mimic coarse timers.
    """

    def __init__(self, start: float = 0.0, overshoot: Callable[[], float] | None = None) -> None:
        self.now = start
        self._overshoot = overshoot or (lambda: 0.0)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake = self.now + delay + self._overshoot()
        heapq.heappush(self._sleepers, (wake, next(self._order), future))
        await future

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(coro)
        while not task.done():
            await self._settle()
            if task.done():
                break
            self._wake_next()
        return task.result()

    async def _settle(self) -> None:
        """Yield until no other callback is ready to run."""
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)
        idle = 0
        while idle < _IDLE_ROUNDS:
            await asyncio.sleep(0)
            idle = idle + 1 if not ready else 0

    def _wake_next(self) -> None:
        while self._sleepers:
            wake, _, future = heapq.heappop(self._sleepers)
            if future.done():  # its sleeper was cancelled
                continue
            self.now = max(self.now, wake)
            future.set_result(None)
            return
        raise Deadlock("every task is waiting and none is sleeping")
