from __future__ import annotations

import asyncio
import importlib
import sys
import types

import pytest

from broadcaster import eventloop
from broadcaster.eventloop import loop_factory, loop_name, run


class TestLoopFactory:
    def test_without_uvloop_it_is_asyncios(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "uvloop", None)  # an import of it fails
        assert loop_factory({}) is None
        assert loop_name({}) == "asyncio"

    def test_with_uvloop_it_is_uvloops(self, monkeypatch: pytest.MonkeyPatch) -> None:
        fake = types.ModuleType("uvloop")
        fake.new_event_loop = asyncio.new_event_loop  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "uvloop", fake)
        assert loop_factory({}) is asyncio.new_event_loop
        assert loop_name({}) == "uvloop"

    @pytest.mark.parametrize("value", ["asyncio", " AsyncIO "])
    def test_the_variable_turns_uvloop_off(
        self, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        fake = types.ModuleType("uvloop")
        fake.new_event_loop = asyncio.new_event_loop  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "uvloop", fake)
        assert loop_factory({eventloop.LOOP_VARIABLE: value}) is None


def test_run_runs_the_coroutine_on_the_loop_picked() -> None:
    made: list[asyncio.AbstractEventLoop] = []

    async def main() -> str:
        made.append(asyncio.get_running_loop())
        return "done"

    assert run(main(), {eventloop.LOOP_VARIABLE: "asyncio"}) == "done"
    assert made[0].is_closed()


def test_uvloop_when_installed_runs_a_coroutine() -> None:
    try:
        importlib.import_module("uvloop")
    except ImportError:
        pytest.skip("uvloop is not installed (it is the optional extra broadcaster[fast])")

    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run(main(), {}).startswith("uvloop")
