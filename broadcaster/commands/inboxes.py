"""``broadcaster inboxes``: the account's inboxes and their members (to find ``creator_id``)."""

from __future__ import annotations

import argparse
import os

from broadcaster.exits import Exit
from broadcaster.options import Subparsers, default, positive_float
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
        "--allow-insecure-http",
        action="store_true",
        help="let --base-url be plain http to another machine (credentials unencrypted)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=default("timeout"),
        metavar="SECONDS",
        help="for the request (default %(default)g)",
    )


def run(args: argparse.Namespace) -> int:
    # Imported to list, not with the parser: aiohttp and the sandbox would slow every --help.
    from broadcaster.inboxlist import list_inboxes  # noqa: PLC0415

    base_url = args.base_url or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    list_inboxes(
        None if args.sandbox else base_url,
        os.environ,
        timeout=args.timeout,
        as_json=args.json,
        allow_insecure_http=args.allow_insecure_http,
    )
    return Exit.OK
