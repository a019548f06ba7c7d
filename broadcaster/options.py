"""The options of send, resume and validate: one table, its argument types, and ``Settings``.

Defaults live in ``Settings`` alone: every option here is added without a default, so the
namespace holds only what the user typed, and ``settings_from`` lays that over the defaults
(``send``, ``validate``) or over the settings a journal recorded (``resume``).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias
from urllib.parse import urlsplit

# Every parser is built from this module: what only checks a value (libphonenumber, the
# template parser) is imported by the function that checks it, so --help stays fast.
from broadcaster.errors import UsageError
from broadcaster.inputs import FORMATS
from broadcaster.rate import Rate, parse_rate
from broadcaster.settings import Settings

# What a command module adds its parser to: argparse's subparsers action.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return text


def rate(text: str) -> Rate:
    try:
        return parse_rate(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def percent(text: str) -> float:
    """A percentage above 0, at most 100 (``30`` or ``30%``); 0 turns what it sets off."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100:  # noqa: PLR2004 - a percentage
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage from 0 to 100")
    return value


def failure_kinds(text: str) -> str:
    """``--halt-ignore``: kinds of failure the circuit breaker does not count."""
    from broadcaster.breaker import IGNORABLE  # noqa: PLC0415 - see the imports

    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in IGNORABLE]
    if unknown or not kinds:
        known = ", ".join(IGNORABLE)
        kinds_are = "the only kind is" if len(IGNORABLE) == 1 else "the kinds are"
        raise argparse.ArgumentTypeError(f"{text!r}: {kinds_are} {known}")
    return ",".join(kinds)


def window(text: str) -> str:
    from broadcaster.sendwindow import parse_window  # noqa: PLC0415 - see the imports

    try:
        parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--window ")) from None
    return text.strip()


def days(text: str) -> str:
    from broadcaster.sendwindow import parse_days  # noqa: PLC0415 - see the imports

    try:
        parse_days(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--days ")) from None
    return text.strip()


def time_zone(text: str) -> str:
    """A zone's name, as zoneinfo knows it (or ``recipient``)."""
    from broadcaster.schedule import RECIPIENT  # noqa: PLC0415 - see the imports
    from broadcaster.sendwindow import zone  # noqa: PLC0415

    if text.strip().lower() == RECIPIENT:
        return RECIPIENT
    try:
        return zone(text.strip()).key
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--tz ")) from None


def deadline(text: str) -> str:
    """``--not-after``: a time that says its offset (a deadline in no zone is no deadline)."""
    from broadcaster.isotime import aware_time  # noqa: PLC0415 - see the imports

    moment = aware_time(text.strip().replace(" ", "T", 1))
    if moment is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time with its offset, for example "
            "2026-12-01T21:00-05:00 or 2026-12-02T02:00Z"
        )
    return moment.isoformat()


def country_code(text: str) -> str:
    """A calling code that names a region (``1``, ``+44``), kept as its digits."""
    from broadcaster.phones import region_for_country_code  # noqa: PLC0415 - see the imports

    try:
        region_for_country_code(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().removeprefix("+")


def template_text(text: str) -> str:
    """``--text``: a template with a mistake is refused once, up front, not row by row."""
    from broadcaster.template import TemplateSyntaxError, check_template  # noqa: PLC0415 - see the imports

    try:
        check_template(text)
    except TemplateSyntaxError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def media_url(text: str) -> str:
    """``--media-url``: an http(s) URL (or a template that makes one), checked up front."""
    template_text(text)
    if text.lstrip().startswith("{{"):
        return text  # the whole URL comes from a field: each row's is checked
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL")
    return text


def region(text: str) -> str:
    from broadcaster.phones import parse_region  # noqa: PLC0415 - see the imports

    try:
        return parse_region(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def default(name: str) -> object:
    """A setting's default, as ``Settings`` defines it."""
    spec = Settings.__dataclass_fields__[name]
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return spec.default


# (group, flag, help, argparse keywords); "{default}" in a help is the setting's default.
_OPTIONS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("campaign", "--format", "input format (default: from the name)", {"choices": FORMATS}),
    ("campaign", "--campaign", "part of every key (default: the input's base name)", {"metavar": "NAME"}),
    ("campaign", "--inbox-id", "for rows without inbox_id (env HEYMARKET_INBOX_ID)", {"type": positive_int, "metavar": "N"}),
    ("campaign", "--creator-id", "for rows without creator_id (env HEYMARKET_CREATOR_ID)", {"type": positive_int, "metavar": "N"}),
    ("campaign", "--text", "text for rows without one; {{field}} tokens allowed", {"type": template_text, "metavar": "TEMPLATE"}),
    ("campaign", "--media-url", "media_url for rows without one (makes MMS)", {"type": media_url, "metavar": "URL"}),
    ("campaign", "--template-id", "for rows without template_id", {"type": positive_int, "metavar": "N"}),
    ("campaign", "--region", "where numbers written without + are read first: a two-letter country code (default {default})", {"type": region, "metavar": "CC"}),
    ("campaign", "--default-country-code", "the same, as a calling code: 1 means US, 44 GB", {"type": country_code, "metavar": "N"}),
    ("sending", "--base-url", "API base URL (env HEYMARKET_BASE_URL; default {default})", {"metavar": "URL"}),
    ("sending", "--allow-insecure-http", "let --base-url be plain http to another machine (credentials unencrypted)", {"action": "store_true"}),
    ("sending", "--results", "results journal (default: INPUT.results.jsonl; with --sandbox, INPUT.sandbox.results.jsonl)", {"type": path, "metavar": "PATH"}),
    ("sending", "--rate", "N, N/s, N/m or N/h; 0 = unpaced (default {default})", {"type": rate, "metavar": "R"}),
    ("sending", "--fixed-rate", "keep --rate when 429s keep coming (default: lower it, then climb back)", {"action": "store_true"}),
    ("sending", "--concurrency", "requests in flight at most (default {default})", {"type": positive_int, "metavar": "N"}),
    ("sending", "--max-attempts", "attempts per message (default {default})", {"type": positive_int, "metavar": "N"}),
    ("sending", "--timeout", "per request (default {default:g})", {"type": positive_float, "metavar": "SECONDS"}),
    ("sending", "--backoff-base", "first retry waits up to this (default {default:g})", {"type": positive_float, "metavar": "SECONDS"}),
    ("sending", "--backoff-cap", "no retry waits longer, but for Retry-After (default {default:g})", {"type": positive_float, "metavar": "SECONDS"}),
    ("sending", "--grace", "after a first Ctrl-C, how long requests in flight may finish (default {default:g})", {"type": positive_float, "metavar": "SECONDS"}),
    ("sending", "--halt-on-errors", "stop the run after N messages failed in a row; 0: never (default {default})", {"type": non_negative_int, "metavar": "N"}),
    ("sending", "--halt-on-fail-rate", "stop the run when P%% of the last 100 messages failed; 0: never (default {default:g})", {"type": percent, "metavar": "P"}),
    ("sending", "--halt-ignore", "failures the two above do not count: opted_out", {"type": failure_kinds, "metavar": "KINDS"}),
    ("safety", "--suppress", "never send to the numbers in FILE: one a line, or a CSV with a phone_number column (repeatable)", {"action": "append", "metavar": "FILE"}),
    ("safety", "--record-opt-outs", "append the numbers the API refuses as opted out to FILE (for next time's --suppress)", {"metavar": "FILE"}),
    ("safety", "--not-after", "no request after this time (ISO 8601 with its offset, e.g. 2026-12-01T21:00-05:00): the rows left end skipped (deadline)", {"type": deadline, "metavar": "TIME"}),
    ("safety", "--window", "send only between these local times, e.g. 09:00-20:00 (21:00-08:00 crosses midnight)", {"type": window, "metavar": "HH:MM-HH:MM"}),
    ("safety", "--days", "the days the window opens (default every day), e.g. mon-fri or sat,sun", {"type": days, "metavar": "DAYS"}),
    ("safety", "--tz", "the window's zone: a name (America/Chicago), or recipient: each row's, from its tz column or its number", {"type": time_zone, "metavar": "ZONE"}),
    ("safety", "--tz-fallback", "with --tz recipient, the zone of a row whose zone cannot be told", {"type": time_zone, "metavar": "ZONE"}),
    ("safety", "--test-to", "send the first row's message (or --sample's) to PHONE instead, under keys of its own; no journal is written", {"metavar": "PHONE"}),
    ("safety", "--sample", "take only N rows spread through the file (the rest wait for a resume)", {"type": positive_int, "metavar": "N"}),
    ("safety", "--limit", "send at most N messages in this run; a resume sends the rest", {"type": positive_int, "metavar": "N"}),
    ("sending", "--retry-failed", "also re-send rows recorded failed", {"action": "store_true"}),
    ("sending", "--confirm-above", "on a terminal, ask before sending more messages than this (default {default:,})", {"type": positive_int, "metavar": "N"}),
    ("sending", "--yes", "do not ask: send without the question --confirm-above puts", {"action": "store_true"}),
    ("sending", "--dry-run", "no HTTP, no pacing, no journal writes: what would be sent", {"action": "store_true"}),
    ("sending", "--sandbox", "send to an in-process sandbox (no credentials)", {"action": "store_true"}),
    ("output", "--log-format", "log lines for people or for machines", {"choices": ("console", "json")}),
    ("output", "--quiet", "only warnings, errors and the summary", {"action": "store_true"}),
    ("output", "--verbose", "also one debug event per attempt (key, attempt, status, latency, request id)", {"action": "store_true"}),
    ("output", "--log-file", "also append the log, as JSON lines, to this file", {"metavar": "PATH"}),
    ("output", "--progress-interval", "off a terminal, seconds between progress events (default {default:g})", {"type": positive_float, "metavar": "SECONDS"}),
    ("output", "--preview", "rendered messages shown by validate and --dry-run (default {default}; 0: none)", {"type": non_negative_int, "metavar": "N"}),
)  # fmt: skip
# What validate reads (besides the campaign group): the rate, for the time; the preview.
_CHECKED = frozenset(
    {"format", "campaign", "inbox_id", "creator_id", "text", "media_url", "template_id"}
    | {"region", "default_country_code", "rate", "preview", "suppress", "not_after"}
    | {"window", "days", "tz", "tz_fallback"}
)
# Environment variables that stand for options a fresh run is not given.
_ENVIRONMENT: dict[str, tuple[str, Callable[[str], object]]] = {
    "base_url": ("HEYMARKET_BASE_URL", str),
    "inbox_id": ("HEYMARKET_INBOX_ID", positive_int),
    "creator_id": ("HEYMARKET_CREATOR_ID", positive_int),
}


def add_campaign_options(
    parser: argparse.ArgumentParser, *, resuming: bool = False, checking: bool = False
) -> None:
    """The options of ``send``, accepted by ``validate`` and ``resume`` too.

    ``resuming``: no INPUT; the journal names it. ``checking`` (``validate``): the options that
    only sending reads are accepted, so one command line serves both, but not listed.
    """
    if not resuming:
        parser.add_argument(
            "input", metavar="INPUT", help="campaign file: CSV or JSONL (.gz too); - for stdin"
        )
    groups = {
        name: parser.add_argument_group(name)
        for name in ("campaign", "sending", "safety", "output")
    }
    for group, flag, text, keywords in _OPTIONS:
        dest = flag.removeprefix("--").replace("-", "_")
        shown = text.format(default=default(dest)) if "{default" in text else text
        if checking and dest not in _CHECKED:
            shown = argparse.SUPPRESS
        groups[group].add_argument(flag, default=argparse.SUPPRESS, help=shown, **keywords)


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the user typed, by ``Settings`` field (a calling code as its region)."""
    typed = vars(args)
    values = {name: typed[name] for name in Settings.__dataclass_fields__ if name in typed}
    if "suppress" in values:
        values["suppress"] = tuple(values["suppress"])
    code = typed.get("default_country_code")
    if code is not None:
        from broadcaster.phones import region_for_country_code  # noqa: PLC0415 - see the imports

        from_code = region_for_country_code(code)
        if values.setdefault("region", from_code) != from_code:
            raise UsageError(
                f"--region {values['region']} and --default-country-code {code} ({from_code}) "
                "disagree: give one of them"
            )
    return values


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """A fresh run's settings: the defaults, then the environment, then what was typed."""
    values = given(args)
    for name, (variable, parse) in _ENVIRONMENT.items():
        if name not in values and environ.get(variable):
            values[name] = _from_environment(variable, environ[variable], parse)
    return Settings(**values)


def _from_environment(variable: str, text: str, parse: Callable[[str], object]) -> object:
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{variable}: {exc}") from None
