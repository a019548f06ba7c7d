"""The package's exceptions: one small tree.

    BroadcasterError            anything the CLI turns into ``error: ...`` and exit 2
    ├── UsageError              an option or setting is unusable; nothing was sent
    │   ├── NotConfirmed        the user answered no to the question before a large send
    │   └── JournalBusyError    another process is writing the results journal
    ├── JournalWriteError       the results journal cannot be written (a full disk, an I/O error)
    ├── KeyFileError            the temporary file of a large run's keys cannot be written
    ├── InputError              the input file as a whole cannot be read (missing, empty, no header)
    ├── CredentialsError        the API answered 401: every row would meet the same answer
    └── ApiError                a call other than a send failed (GET /v1/inboxes): no answer,
                                an error status, or a body of another shape

A bad *row* is never an exception: it becomes an ``Invalid`` value that the run records, and a
message's fate is an ``Outcome``, not an exception.
"""

from __future__ import annotations


class BroadcasterError(Exception):
    """Base class: the CLI reports these as one line and exits 2."""


class UsageError(BroadcasterError):
    """An option, or a setting, is unusable."""


class NotConfirmed(UsageError):  # noqa: N818 - an answer, not an error
    """The user answered no: nothing was sent, and it is no error (said without ``error:``)."""


class JournalBusyError(UsageError):
    """Another process holds the results journal's lock."""


class JournalWriteError(BroadcasterError):
    """Writing the results journal failed; the run stops with what was recorded kept."""


class KeyFileError(BroadcasterError):
    """The temporary file holding the keys past a key table's room failed (keyfile)."""


class InputError(BroadcasterError):
    """The input file as a whole cannot be read."""


class CredentialsError(BroadcasterError):
    """The API refused the credentials; the run stopped with every unsent row resumable."""


class ApiError(BroadcasterError):
    """A call to the API other than a send failed, or answered with something unusable."""
