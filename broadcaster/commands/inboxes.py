"""``broadcaster inboxes``: the account's inboxes and their members (to find ``creator_id``)."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping

import orjson

from broadcaster.client import INBOXES_PATH, fetch_json
from broadcaster.credentials import ApiKey, credentials_from
from broadcaster.endpoint import check_base_url
from broadcaster.exits import Exit
from broadcaster.inboxes import Inbox, parse_inboxes, table
from broadcaster.options import Subparsers, default, positive_float
from broadcaster.sandbox import SandboxConfig
from broadcaster.sandbox.server import serving
from broadcaster.settings import DEFAULT_BASE_URL

BASE_URL_VARIABLE = "HEYMARKET_BASE_URL"


def add_parser(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "inboxes",
        help="list inboxes and their members (to find creator_id)",
        description="List the inboxes the credentials can see, with their phone numbers and "
        "members: a message goes out through an inbox (--inbox-id) on behalf of one of its "
        "members (--creator-id). Credentials come from the environment, as for send. Exit 0 "
        "when listed, 2 on any error.",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON array (id, name, phone, members)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API base URL (env {BASE_URL_VARIABLE}; default {DEFAULT_BASE_URL})",
    )
    where.add_argument(
        "--sandbox",
        action="store_true",
        help="list the inboxes of an in-process sandbox (no credentials)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=default("timeout"),
        metavar="SECONDS",
        help="for the request (default %(default)g)",
    )


def run(args: argparse.Namespace) -> int:
    inboxes = asyncio.run(_inboxes(args, os.environ))
    if args.json:
        print(
            orjson.dumps([inbox.record() for inbox in inboxes], option=orjson.OPT_INDENT_2).decode()
        )
    else:
        print(table(inboxes), end="")
    return Exit.OK


async def _inboxes(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[Inbox, ...]:
    if args.sandbox:
        async with serving(SandboxConfig()) as (url, _):
            payload = await fetch_json(url, INBOXES_PATH, ApiKey("sandbox"), timeout=args.timeout)
        return parse_inboxes(payload)
    base_url = args.base_url or environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    check_base_url(base_url)
    credentials = credentials_from(environ, instead="--sandbox")
    payload = await fetch_json(base_url, INBOXES_PATH, credentials, timeout=args.timeout)
    return parse_inboxes(payload)
