"""Serving a sandbox on a socket: for ``broadcaster sandbox`` and ``send --sandbox`` alike."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from broadcaster.errors import UsageError
from broadcaster.sandbox.app import STATE, create_app
from broadcaster.sandbox.config import SandboxConfig
from broadcaster.sandbox.state import SandboxState


@contextlib.asynccontextmanager
async def serving(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[str, SandboxState]]:
    """A sandbox listening on ``host:port`` (0: a free port): its base URL and its state."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
        bound_host, bound_port = runner.addresses[0][:2]
        yield f"http://{bound_host}:{bound_port}", app[STATE]
    finally:
        await runner.cleanup()
