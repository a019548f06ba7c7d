"""The package's exceptions: one small tree.

    BroadcasterError        anything the CLI turns into ``error: ...`` and exit 2
    ├── UsageError          an option or setting is wrong; nothing was read or sent
    └── InputError          the input file as a whole cannot be read (missing, empty, no header)

A bad *row* is never an exception: it becomes an ``Invalid`` value that the run records.
"""

from __future__ import annotations


class BroadcasterError(Exception):
    """Base class: the CLI reports these as one line and exits 2."""


class UsageError(BroadcasterError):
    """An option, or a setting, is unusable."""


class InputError(BroadcasterError):
    """The input file as a whole cannot be read."""
