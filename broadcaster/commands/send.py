"""``broadcaster send INPUT``: send every row, recording each outcome; again to resume."""

from __future__ import annotations

import argparse
import os

from broadcaster.options import Subparsers, add_campaign_options, settings_from
from broadcaster.settings import Settings


def add_parser(commands: Subparsers) -> None:
    add_campaign_options(
        commands.add_parser(
            "send",
            help="send every row of a campaign file, recording each outcome; again to resume",
            description="Send every row of INPUT at --rate, retrying what can be retried with "
            "the same local_id, and record each outcome in the results journal. Running the "
            "same command again resumes: rows already recorded are not sent again. Exit 0 when "
            "every row ended sent or skipped, 1 when some failed or are invalid (or nothing got "
            "through, or the circuit breaker stopped it), 2 on usage, credential or journal "
            "errors, 3 when it ended as asked with rows not sent (--limit, --sample, "
            "--not-after), 130/143 when stopped by SIGINT/SIGTERM (resumable).",
        )
    )


def run(args: argparse.Namespace) -> int:
    return send(settings_from(args, os.environ))


def send(settings: Settings) -> int:
    """Run a campaign with these settings (``resume`` comes here too)."""
    # Imported to send, not with the parser: the engine, aiohttp and structlog would slow --help.
    from broadcaster.campaign import send_campaign  # noqa: PLC0415
    from broadcaster.eventloop import run as run_loop  # noqa: PLC0415
    from broadcaster.logs import configure_logging, standard_output  # noqa: PLC0415

    _check_log_file(settings)
    log_file = configure_logging(
        settings.log_format, settings.quiet, verbose=settings.verbose, log_file=settings.log_file
    )
    try:
        environ = dict(os.environ)
        return run_loop(send_campaign(settings, environ, standard_output()), environ)
    finally:
        if log_file is not None:
            log_file.close()


def _check_log_file(settings: Settings) -> None:
    """A log appended to the input would be read as rows; to a journal, as damaged records."""
    from broadcaster.journal import check_output  # noqa: PLC0415 - as in send()

    if settings.log_file is not None:
        kept = {settings.input: "the input", settings.results_path: "the results journal"}
        own = "the log a path of its own"
        check_output("--log-file", settings.log_file, kept, own=own, file_only=False)
