"""``broadcaster reconcile RESULTS``: settle the rows in doubt by looking them up; send nothing."""

from __future__ import annotations

import argparse
import os

from broadcaster.commands.resume import resumed
from broadcaster.options import Subparsers, default, positive_float, rate


def add_parser(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "reconcile",
        help="settle rows in doubt (an attempt may have been committed) by looking them up",
        description="Look up, in each conversation's history, the messages RESULTS has in "
        "doubt: requests in flight at a crash, and failures whose answer was lost. Found: "
        "recorded sent with the message's id. Not found: a failure is recorded not committed "
        "(--retry-failed sends it). Nothing is sent. Credentials come from the environment. "
        "Exit 0 when nothing is left in doubt, 1 when some rows could not be told or the API "
        "could not be reached, 2 on errors.",
    )
    parser.add_argument("results", metavar="RESULTS", help="the results journal of a run")
    # No defaults: what is not given is what the journal's last run recorded.
    unset = argparse.SUPPRESS
    parser.add_argument(
        "--input", default=unset, metavar="PATH", help="the campaign file, when it has moved"
    )
    parser.add_argument(
        "--base-url",
        default=unset,
        metavar="URL",
        help="API base URL (default: the run's: its messages can only be looked up where "
        "they were sent, so another is refused unless the journal records none)",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=unset,
        help="let --base-url be plain http to another machine (credentials unencrypted)",
    )
    parser.add_argument(
        "--rate", type=rate, default=unset, metavar="R", help="lookups at most (default: the run's)"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=unset,
        metavar="SECONDS",
        help="per lookup, and how long an attempt is given to be committed before a lookup "
        f"can rule it out (default: the run's --timeout, {default('timeout'):g} s unless it gave "
        "another)",
    )


def run(args: argparse.Namespace) -> int:
    # Imported to reconcile, not with the parser: aiohttp and the planning layer.
    from broadcaster.logs import configure_logging, standard_output  # noqa: PLC0415
    from broadcaster.reconcile import reconcile_journal  # noqa: PLC0415

    configure_logging()
    return reconcile_journal(resumed(args), dict(os.environ), standard_output())
