"""The event loop a run uses: uvloop's when it is installed (``pip install 'broadcaster[fast]'``),
asyncio's own otherwise, or when ``BROADCASTER_LOOP=asyncio`` asks for it (to compare the two,
as ``broadcaster bench`` does, or to rule uvloop out of a problem).

uvloop runs the same coroutines on libuv; aiohttp's client and the engine need nothing else.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
LOOP_VARIABLE = "BROADCASTER_LOOP"


def loop_factory(environ: Mapping[str, str]) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop`` when installed and not turned off; None for asyncio's."""
    if environ.get(LOOP_VARIABLE, "").strip().lower() == "asyncio":
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_name(environ: Mapping[str, str]) -> str:
    """``uvloop`` or ``asyncio``: which loop ``run`` would use."""
    return "asyncio" if loop_factory(environ) is None else "uvloop"


def run(main: Coroutine[Any, Any, T], environ: Mapping[str, str]) -> T:
    """``asyncio.run`` on the loop ``loop_factory`` picks."""
    with asyncio.Runner(loop_factory=loop_factory(environ)) as runner:
        return runner.run(main)
