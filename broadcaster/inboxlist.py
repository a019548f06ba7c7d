"""What ``broadcaster inboxes`` does: fetch the inboxes the credentials can see (from the API,
or from an in-process sandbox) and print them, as a table or as JSON.

Apart from the command (``commands/inboxes``), which imports it only to run: aiohttp, the
sandbox and orjson would slow every ``broadcaster --help``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import orjson

from broadcaster.client import INBOXES_PATH, fetch_json
from broadcaster.credentials import ApiKey, credentials_from
from broadcaster.endpoint import check_base_url
from broadcaster.inboxes import Inbox, parse_inboxes, table
from broadcaster.sandbox import SandboxConfig
from broadcaster.sandbox.server import serving


def list_inboxes(
    base_url: str | None,
    environ: Mapping[str, str],
    *,
    timeout: float,
    as_json: bool,
    allow_insecure_http: bool = False,
) -> None:
    """Print the inboxes of the API at ``base_url`` (None: of an in-process sandbox)."""
    if base_url is not None:
        check_base_url(base_url, allow_insecure_http=allow_insecure_http)
    inboxes = asyncio.run(_inboxes(base_url, environ, seconds=timeout))
    if as_json:
        print(
            orjson.dumps([inbox.record() for inbox in inboxes], option=orjson.OPT_INDENT_2).decode()
        )
    else:
        print(table(inboxes), end="")


async def _inboxes(
    base_url: str | None, environ: Mapping[str, str], *, seconds: float
) -> tuple[Inbox, ...]:
    if base_url is None:
        async with serving(SandboxConfig()) as (url, _):
            payload = await fetch_json(url, INBOXES_PATH, ApiKey("sandbox"), timeout=seconds)
        return parse_inboxes(payload)
    credentials = credentials_from(environ, instead="--sandbox")
    payload = await fetch_json(base_url, INBOXES_PATH, credentials, timeout=seconds)
    return parse_inboxes(payload)
