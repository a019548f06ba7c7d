"""The limits every input format shares: a row that passes one passes the same in the other.

A value past a limit makes its row invalid with the reason; it never stops the run. The reasons
both formats give are here too, so that a row breaking a limit reads the same in either.
"""

from __future__ import annotations

# Python's csv module refuses larger fields by default; JSONL rows are held to the same size.
MAX_FIELD_CHARS = 131_072
# No campaign needs more columns; a file with more is a mistake (or hostile) and costs memory.
MAX_COLUMNS = 1_000
# Nested JSON values are never part of a message; deeper ones are refused before they cost.
MAX_JSON_DEPTH = 8
# A row is read whole before it is parsed (JSON cannot be parsed in pieces; the csv module takes
# whole lines), and parsing takes up to ~50 times its length (orjson on a line of [] or {}): a
# longer row (a JSON array saved on one line, a file without line breaks) is refused unread, so
# memory stays bounded. A row of one field at MAX_FIELD_CHARS fits, in any UTF-8.
MAX_ROW_BYTES = 1_048_576
# Carriers cap a concatenated SMS at 1,600 characters (10 UCS-2 or 7 GSM-7 segments and more
# are split or refused); the API documents no limit of its own.
MAX_TEXT_CHARS = 1_600

TOO_LONG = f"is longer than the limit of {MAX_FIELD_CHARS:,} characters"
ROW_TOO_LONG = f"is longer than the limit of {MAX_ROW_BYTES:,} bytes"
# What no field may hold in either format: a file with either is binary, or not UTF-8.
HAS_NUL = "contains a NUL character"
NOT_UTF8 = "is not valid UTF-8 text"


def too_many_fields(count: int) -> str:
    return f"has {count:,} fields, more than the limit of {MAX_COLUMNS:,}"
