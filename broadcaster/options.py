"""Command-line option types and the option groups the commands share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from broadcaster.errors import UsageError
from broadcaster.phones import DEFAULT_REGION, parse_region, region_for_country_code
from broadcaster.plan import Defaults
from broadcaster.rate import Rate, parse_rate
from broadcaster.reader import FORMATS, STDIN
from broadcaster.settings import DEFAULT_BASE_URL, DEFAULT_RATE, Settings, default_campaign
from broadcaster.template import TemplateSyntaxError, check_template


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
    """A calling code that names a region (``1``, ``+44``), kept as its digits."""
    try:
        region_for_country_code(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().removeprefix("+")


def template_text(text: str) -> str:
    """``--text``: a template with a mistake is refused once, up front, not row by row."""
    try:
        check_template(text)
    except TemplateSyntaxError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def region(text: str) -> str:
    try:
        return parse_region(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# (group, flag, default, argparse keywords): the options of send, resume and validate.
_OPTIONS: tuple[tuple[str, str, object, dict[str, Any]], ...] = (
    ("campaign", "--format", None, {"choices": FORMATS, "help": "input format (default: from the name)"}),
    ("campaign", "--campaign", None, {"metavar": "NAME", "help": "part of every key (default: the input's base name)"}),
    ("campaign", "--inbox-id", None, {"type": positive_int, "metavar": "N", "help": "for rows without inbox_id"}),
    ("campaign", "--creator-id", None, {"type": positive_int, "metavar": "N", "help": "for rows without creator_id"}),
    ("campaign", "--text", None, {"type": template_text, "metavar": "TEMPLATE", "help": "text for rows without one; {{field}} tokens allowed"}),
    ("campaign", "--media-url", None, {"metavar": "URL", "help": "media_url for rows without one (makes MMS)"}),
    ("campaign", "--template-id", None, {"type": positive_int, "metavar": "N", "help": "for rows without template_id"}),
    ("campaign", "--region", None, {"type": region, "metavar": "CC", "help": f"where numbers written without + are read first: a two-letter country code (default {DEFAULT_REGION})"}),
    ("campaign", "--default-country-code", None, {"type": country_code, "metavar": "N", "help": "the same, as a calling code: 1 means US, 44 GB"}),
    ("sending", "--base-url", None, {"metavar": "URL", "help": f"API base URL (env HEYMARKET_BASE_URL; default {DEFAULT_BASE_URL})"}),
    ("sending", "--results", None, {"metavar": "PATH", "help": "results journal (default: INPUT.results.jsonl)"}),
    ("sending", "--rate", parse_rate(DEFAULT_RATE), {"type": rate, "metavar": "R", "help": f"N, N/s, N/m or N/h; 0 = unpaced (default {DEFAULT_RATE})"}),
    ("sending", "--concurrency", 16, {"type": positive_int, "metavar": "N", "help": "requests in flight at most (default 16)"}),
    ("sending", "--max-attempts", 8, {"type": positive_int, "metavar": "N", "help": "attempts per message (default 8)"}),
    ("sending", "--timeout", 30.0, {"type": positive_float, "metavar": "SECONDS", "help": "per request (default 30)"}),
    ("sending", "--backoff-base", 0.5, {"type": positive_float, "metavar": "SECONDS", "help": "first retry waits up to this (default 0.5)"}),
    ("sending", "--backoff-cap", 30.0, {"type": positive_float, "metavar": "SECONDS", "help": "no retry waits longer, but for Retry-After (default 30)"}),
    ("sending", "--grace", 10.0, {"type": positive_float, "metavar": "SECONDS", "help": "after a first Ctrl-C, how long requests in flight may finish (default 10)"}),
    ("sending", "--retry-failed", False, {"action": "store_true", "help": "also re-send rows recorded failed"}),
    ("sending", "--dry-run", False, {"action": "store_true", "help": "no HTTP, no pacing, no journal writes: what would be sent"}),
    ("sending", "--sandbox", False, {"action": "store_true", "help": "send to an in-process sandbox (no credentials)"}),
    ("output", "--log-format", "console", {"choices": ("console", "json"), "help": "log lines for people or for machines"}),
    ("output", "--quiet", False, {"action": "store_true", "help": "only warnings, errors and the summary"}),
)  # fmt: skip


def add_campaign_options(parser: argparse.ArgumentParser, *, resuming: bool = False) -> None:
    """The options of ``send``, accepted by ``validate`` too, so one can stand for the other.

    ``resuming``: no INPUT, and no defaults, so only the options given override the journal's.
    """
    if not resuming:
        parser.add_argument(
            "input", metavar="INPUT", help="campaign file: CSV or JSONL (.gz too); - for stdin"
        )
    groups = {name: parser.add_argument_group(name) for name in ("campaign", "sending", "output")}
    for group, flag, default, keywords in _OPTIONS:
        chosen = argparse.SUPPRESS if resuming else default
        groups[group].add_argument(flag, default=chosen, **keywords)


# Options a run header records, so ``resume`` can run the same campaign again.
RECORDED = (
    "input", "format", "campaign", "inbox_id", "creator_id", "text", "media_url", "template_id",
    "region", "default_country_code", "base_url", "rate", "concurrency", "max_attempts", "timeout",
    "backoff_base", "backoff_cap", "grace", "retry_failed", "sandbox",
)  # fmt: skip


def recorded_options(args: argparse.Namespace) -> dict[str, object]:
    """The options to write in a run header (never credentials: they are not options)."""
    values = {name: getattr(args, name, None) for name in RECORDED}
    values["rate"] = str(values["rate"]) if values["rate"] is not None else None
    if values["input"] not in (None, STDIN):
        values["input"] = str(Path(str(values["input"])).resolve())
    return values


def options_from_record(
    recorded: dict[str, object], given: argparse.Namespace
) -> argparse.Namespace:
    """A header's options, overridden by those given on the command line."""
    merged = {name: recorded.get(name) for name in RECORDED}
    if isinstance(merged["rate"], str):
        merged["rate"] = parse_rate(merged["rate"])
    for name in ("concurrency", "max_attempts"):
        merged[name] = merged[name] or 1
    merged.update(vars(given))
    merged.setdefault("results", None)
    merged.setdefault("dry_run", False)
    merged.setdefault("log_format", "console")
    merged.setdefault("quiet", False)
    return argparse.Namespace(**merged)


def _region(args: argparse.Namespace) -> str:
    """``--region``, or the region ``--default-country-code`` names; they must agree."""
    named = getattr(args, "region", None)
    code = getattr(args, "default_country_code", None)
    from_code = region_for_country_code(code) if code else None
    if named and from_code and named != from_code:
        raise UsageError(
            f"--region {named} and --default-country-code {code} ({from_code}) disagree: "
            "give one of them"
        )
    return named or from_code or DEFAULT_REGION


def settings_from(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    defaults = Defaults(
        campaign=args.campaign or default_campaign(args.input),
        inbox_id=args.inbox_id,
        creator_id=args.creator_id,
        text=args.text,
        media_url=args.media_url,
        template_id=args.template_id,
        region=_region(args),
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
        backoff_base=args.backoff_base,
        backoff_cap=args.backoff_cap,
        grace=args.grace,
        retry_failed=args.retry_failed,
        dry_run=args.dry_run,
        sandbox=args.sandbox,
        log_format=args.log_format,
        quiet=args.quiet,
    )
