"""Exit codes: what a run's end means to a script. The one place they are defined."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # every row of the input ended sent or skipped
    PROBLEMS = 1  # some rows failed or are invalid, or the run stopped because nothing got through
    USAGE = 2  # a usage, configuration, credential, input or journal error: nothing was sent
    # The run ended as asked with rows not sent: --limit reached (a resume sends the rest), or
    # --not-after passed (those rows skipped, reason "deadline").
    INCOMPLETE = 3
    SIGINT = 130  # stopped by Ctrl-C: the journal is complete up to there, resumable
    BROKEN_PIPE = 141  # the reader of our output went away (SIGPIPE's status)
    SIGTERM = 143  # stopped by SIGTERM: resumable
    SIGHUP = 129  # stopped by SIGHUP (its terminal closed: an SSH drop), as SIGTERM: resumable

    @classmethod
    def for_stop(cls, reason: str) -> Exit:
        """A stopped run's code: its signal's, else PROBLEMS."""
        codes = {"SIGINT": cls.SIGINT, "SIGTERM": cls.SIGTERM, "SIGHUP": cls.SIGHUP}
        return codes.get(reason, cls.PROBLEMS)
