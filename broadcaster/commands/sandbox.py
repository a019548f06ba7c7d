"""``broadcaster sandbox``: serve the stand-in API until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from broadcaster.errors import UsageError
from broadcaster.faults import FAULT_KINDS
from broadcaster.options import Subparsers, positive_float, rate
from broadcaster.rate import parse_rate

if TYPE_CHECKING:  # imported to serve, not with the parser: see run()
    from broadcaster.sandbox import SandboxConfig

_FAULT_HELP = {
    "500": "answer 500",
    "503": "answer 503",
    "429": "answer 429, as if over the limit",
    "drop_before": "close the connection before committing the message",
    "drop_after": "commit the message, then close the connection without an answer",
    "slow": "commit, then answer after --slow-delay seconds",
    "bad_json": "commit, then answer 200 with a body that is not JSON",
}


def port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:  # noqa: PLR2004 - TCP's
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: expected 0 to 65535")
    return int(text)


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def add_parser(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "sandbox",
        help="run the local stand-in of the Heymarket API",
        description="Serve a local stand-in of the Heymarket API: documented validation, "
        "rate limit, local_id idempotency and seeded fault injection.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=port, default=8080, help="port (default 8080; 0 picks a free one)"
    )
    parser.add_argument(
        "--api-key", metavar="K", help="accept only this bearer token (default: any)"
    )
    parser.add_argument("--secret-id", metavar="ID", help="also accept HS256 JWTs issued by ID")
    parser.add_argument(
        "--secret-key", metavar="KEY", help="the key those JWTs are signed with (ID||KEY)"
    )
    parser.add_argument(
        "--rate-limit",
        type=rate,
        default=parse_rate("500/m"),
        metavar="R",
        help="rolling-window limit per key; 0 = none (default 500/m)",
    )
    parser.add_argument(
        "--retry-after",
        action="store_true",
        help="send Retry-After with 429 (the real API documents none)",
    )
    parser.add_argument(
        "--dedupe",
        choices=("all", "lists"),  # the config's DEDUPE_MODES: its module would slow --help
        default="all",
        help="answer a repeated local_id with the first message for all sends (default), or "
        "for list broadcasts only, as the API documents: single sends then commit again",
    )
    parser.add_argument(
        "--opt-out",
        action="append",
        default=[],
        type=opted_out,
        metavar="PHONE",
        help="a number that has opted out, read as the input's are (US first; repeatable)",
    )
    faults = parser.add_argument_group(
        "faults", "each a probability per request, drawn from --seed"
    )
    for kind in FAULT_KINDS:
        faults.add_argument(
            f"--fault-{kind.replace('_', '-')}",
            type=probability,
            default=0.0,
            metavar="P",
            help=_FAULT_HELP[kind],
        )
    faults.add_argument("--seed", type=int, default=0, help="seed of the fault draws (default 0)")
    faults.add_argument(
        "--latency", type=positive_float, metavar="SECONDS", help="added to every send"
    )
    faults.add_argument(
        "--slow-delay",
        type=positive_float,
        default=5.0,
        metavar="SECONDS",
        help="how slow a slow response is (default 5)",
    )


def config_from(args: argparse.Namespace) -> SandboxConfig:
    from broadcaster.sandbox import SandboxConfig  # noqa: PLC0415 - see run()

    faults = {kind: getattr(args, f"fault_{kind}") for kind in FAULT_KINDS}
    return SandboxConfig(
        api_key=args.api_key,
        secret_id=args.secret_id,
        secret_key=args.secret_key,
        rate_limit=args.rate_limit,
        retry_after=args.retry_after,
        faults={kind: p for kind, p in faults.items() if p},
        seed=args.seed,
        latency=args.latency or 0.0,
        slow_delay=args.slow_delay,
        opted_out=frozenset(args.opt_out),
        dedupe=args.dedupe,
    )


def opted_out(text: str) -> str:
    """A number as E.164 digits, as the send rows' are: ``4155550200`` matches ``14155550200``."""
    # Imported when a number is given, not with the parser: libphonenumber would slow --help.
    from broadcaster.fields import FieldError  # noqa: PLC0415
    from broadcaster.phones import normalize_phone  # noqa: PLC0415

    try:
        return normalize_phone(text)
    except FieldError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    # Imported to serve, not with the parser: the sandbox (aiohttp) would slow every --help.
    import asyncio  # noqa: PLC0415

    from broadcaster.sandbox.standalone import serve  # noqa: PLC0415

    try:
        config = config_from(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return asyncio.run(serve(config, args.host, args.port))
