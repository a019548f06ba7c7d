"""Command-line option types and the option groups the commands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from broadcaster.errors import UsageError
from broadcaster.phones import parse_country_code
from broadcaster.plan import Defaults
from broadcaster.rate import Rate, parse_rate
from broadcaster.reader import FORMATS
from broadcaster.settings import DEFAULT_BASE_URL, DEFAULT_RATE, Settings, default_campaign


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def rate(text: str) -> Rate:
    try:
        return parse_rate(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def country_code(text: str) -> str:
    try:
        return parse_country_code(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _typed(convert: Callable[[str], object], name: str) -> Callable[[str], object]:
    convert.__name__ = name  # argparse names the type in its messages
    return convert


def add_campaign_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``send``, accepted by ``validate`` too, so one can stand for the other."""
    parser.add_argument(
        "input", metavar="INPUT", help="campaign file: CSV or JSONL (.gz too); - for stdin"
    )
    content = parser.add_argument_group("campaign")
    content.add_argument(
        "--format", choices=FORMATS, help="input format (default: from the file name)"
    )
    content.add_argument(
        "--campaign", metavar="NAME", help="part of every key (default: the input's base name)"
    )
    content.add_argument(
        "--inbox-id", type=positive_int, metavar="N", help="for rows without inbox_id"
    )
    content.add_argument(
        "--creator-id", type=positive_int, metavar="N", help="for rows without creator_id"
    )
    content.add_argument(
        "--text", metavar="TEMPLATE", help="text for rows without one; {{field}} tokens allowed"
    )
    content.add_argument(
        "--media-url", metavar="URL", help="media_url for rows without one (makes MMS)"
    )
    content.add_argument(
        "--template-id", type=positive_int, metavar="N", help="for rows without template_id"
    )
    content.add_argument(
        "--default-country-code",
        type=country_code,
        metavar="CC",
        help="prefix for 10-digit national numbers, such as 1",
    )
    sending = parser.add_argument_group("sending")
    sending.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API base URL (env HEYMARKET_BASE_URL; default {DEFAULT_BASE_URL})",
    )
    sending.add_argument(
        "--results", metavar="PATH", help="results journal (default: INPUT.results.jsonl)"
    )
    sending.add_argument(
        "--rate",
        type=rate,
        default=parse_rate(DEFAULT_RATE),
        metavar="R",
        help=f"N, N/s, N/m or N/h; 0 = unpaced (default {DEFAULT_RATE})",
    )
    sending.add_argument(
        "--concurrency",
        type=positive_int,
        default=16,
        metavar="N",
        help="requests in flight at most (default 16)",
    )
    sending.add_argument(
        "--max-attempts",
        type=positive_int,
        default=8,
        metavar="N",
        help="attempts per message (default 8)",
    )
    sending.add_argument(
        "--timeout",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="per request (default 30)",
    )
    sending.add_argument(
        "--retry-failed", action="store_true", help="also re-send rows recorded failed"
    )
    sending.add_argument("--dry-run", action="store_true", help="everything but the HTTP call")
    sending.add_argument(
        "--sandbox", action="store_true", help="send to an in-process sandbox (no credentials)"
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--log-format",
        choices=("console", "json"),
        default="console",
        help="log lines for people or for machines",
    )
    output.add_argument("--quiet", action="store_true", help="only errors and the summary")


def settings_from(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    defaults = Defaults(
        campaign=args.campaign or default_campaign(args.input),
        inbox_id=args.inbox_id,
        creator_id=args.creator_id,
        text=args.text,
        media_url=args.media_url,
        template_id=args.template_id,
        default_country_code=args.default_country_code,
    )
    return Settings(
        input=args.input,
        defaults=defaults,
        rate=args.rate,
        format=args.format,
        results=args.results,
        base_url=args.base_url or environ.get("HEYMARKET_BASE_URL") or DEFAULT_BASE_URL,
        concurrency=args.concurrency,
        max_attempts=args.max_attempts,
        timeout=args.timeout,
        retry_failed=args.retry_failed,
        dry_run=args.dry_run,
        sandbox=args.sandbox,
        log_format=args.log_format,
        quiet=args.quiet,
    )
