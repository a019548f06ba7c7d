"""What the command line says of an input before anything reads it: its format, ``-`` for
stdin, and the region its phone numbers are read in by default.

Here rather than in ``reader`` and ``phones`` (which re-export them) because the option table
and ``Settings`` need them to build the parsers, and ``broadcaster --help`` must not import the
readers or libphonenumber to print them.
"""

from __future__ import annotations

from typing import Literal

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
STDIN = "-"
DEFAULT_REGION = "US"
