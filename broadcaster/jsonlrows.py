"""A JSONL campaign file's rows: one JSON object a line, its keys named as CSV columns are.

orjson parses a line; what is here holds its names and values to the limits, and says why a
line cannot be a row in the user's words. Whatever a line holds (any bytes, any JSON), it
becomes one row, bad or not; only a file with no row at all stops the reading.
"""

from __future__ import annotations

import codecs
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator

import orjson

from broadcaster.columns import field_name, named_twice
from broadcaster.errors import InputError
from broadcaster.fields import Problem
from broadcaster.limits import (
    HAS_NUL,
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_JSON_DEPTH,
    MAX_ROW_BYTES,
    NOT_UTF8,
    ROW_TOO_LONG,
    TOO_LONG,
    too_many_fields,
)
from broadcaster.record import Record

_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
# orjson reads integers within 64 bits exactly and larger ones as floats (rounded): they are
# refused, since a rounded id or phone number is a wrong one.
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1
_INEXACT_FLOAT = float(2**63)
_WALKED = frozenset({list, dict, float})
_NON_FINITE = ("NaN", "Infinity")  # orjson stops after the sign of -Infinity
_UTF8_CHUNK = 65_536
_SKIPPED_PIECE = 65_536  # a line past the limit is read on in pieces this long
_NAME_END = re.compile(rb'"\s*:')

_TOO_DEEP = f"is nested deeper than the limit of {MAX_JSON_DEPTH} levels"
_TOO_LARGE_INTEGER = (
    "holds an integer beyond 64 bits, which cannot be read exactly (write it as a string)"
)

_Container = list[object] | dict[str, object]


def jsonl_rows(stream: io.BufferedReader, path: str) -> Iterator[Record]:
    """The rows of a JSONL stream, one a line that is not blank."""
    line_no = 0
    found = False
    for line in _lines(stream):
        line_no += 1
        if line is None:
            found = True
            yield Record(line_no, problem=Problem("row", ROW_TOO_LONG))
            continue
        if line_no == 1:
            line = line.removeprefix(codecs.BOM_UTF8)  # noqa: PLW2901 - the BOM is no part of it
        if not line or line.isspace():
            continue
        found = True
        record = _record(line_no, line)
        del line  # not held while the row is used
        yield record
    if not found:
        raise InputError(f"{path}: the file is empty (expected one JSON object a line)")


def _lines(stream: io.BufferedReader) -> Iterator[bytes | None]:
    """Each line, read whole (JSON cannot be parsed in pieces); None for one longer than
    ``MAX_ROW_BYTES``, which is read on to its end a piece at a time and never held."""
    while line := stream.readline(MAX_ROW_BYTES + 1):
        if len(line) <= MAX_ROW_BYTES:
            yield line
            continue
        while not line.endswith(b"\n"):
            line = stream.readline(_SKIPPED_PIECE)
            if not line:
                break
        yield None


def _record(line_no: int, line: bytes) -> Record:
    value = _object(line)
    if isinstance(value, Problem):
        return Record(line_no, problem=value)
    fields = {field_name(key): item for key, item in value.items()}
    if len(fields) < len(value) or "" in fields:
        problem = _names_problem(value)
        if problem is not None:
            return Record(line_no, problem=problem)
        fields.pop("", None)  # an unnamed key is dropped, as an unnamed CSV column is
    return Record(line_no, fields)


def _names_problem(value: dict[str, object]) -> Problem | None:
    """The first field a row names twice (``phone_number`` and ``Phone Number``), or None."""
    twice = named_twice(value)
    if twice is None:
        return None
    name, first, again = twice
    return Problem(name, f"given twice, as {first!r} and as {again!r}")


def _object(line: bytes) -> dict[str, object] | Problem:
    """The line's JSON object, or why it cannot be a row."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return Problem("row", _json_error(line))
    if not isinstance(value, dict):  # null included: a line must be an object
        return Problem("row", f"is a JSON {_JSON_KINDS.get(type(value), 'value')}, not an object")
    if len(value) > MAX_COLUMNS:
        return Problem("row", too_many_fields(len(value)))
    problem = None if _within_limits(value, line) else _limits_problem(value, line)
    if problem is None:
        problem = _repeated_name(value, line)
    return value if problem is None else problem


def _repeated_name(value: dict[str, object], line: bytes) -> Problem | None:
    """A name given twice in the object (JSON parsers keep the last one silently: a repeated
    phone_number would send to whichever came last). Told cheaply: a name ends ``":``, so a
    line with no more of those than the object has names holds no repeat (escaped names
    included); only another line (a repeat, a nested object, a value that reads so) is parsed
    again, keeping every pair."""
    ends = line.count(b'":')
    if ends < len(value):  # written with a space before its colons: counted by the pattern
        ends = len(_NAME_END.findall(line))
    if ends <= len(value):
        return None
    seen: set[str] = set()
    repeated: list[str] = []
    # Every object as its list of pairs: the outermost is the one returned.
    outer = json.loads(line, object_pairs_hook=lambda items: items)
    for key, _ in outer:
        if key in seen:
            repeated.append(key)
        seen.add(key)
    if not repeated:
        return None
    return Problem(
        field_name(repeated[0]) or repr(repeated[0]),
        "is given twice in the object: which one is meant cannot be known",
    )


def _within_limits(value: dict[str, object], line: bytes) -> bool:
    """Whether no name or value can break a limit, judged cheaply: no string is longer than its
    line, a NUL can only be written \\u0000, and only containers nest, and only floats can be
    integers orjson rounded."""
    return (
        len(line) <= MAX_FIELD_CHARS
        and (b"\\" not in line or b"\\u0000" not in line)  # the first is the quicker
        and _WALKED.isdisjoint(map(type, value.values()))
    )


def _limits_problem(value: dict[str, object], line: bytes) -> Problem | None:
    """The first limit one of a row's names or values breaks, or None."""
    inexact: list[str] = []
    for key, item in value.items():
        reason = _string_problem(key)
        if reason is not None:
            return Problem("row", f"a field name {reason}")
        reason, maybe_inexact = _value_problem(item)
        if reason is not None:
            return Problem(field_name(key) or repr(key), reason)
        if maybe_inexact:
            inexact.append(key)
    too_large = _inexact_keys(line) if inexact else set()
    rounded = (key for key in inexact if key in too_large)
    return next((Problem(field_name(key), _TOO_LARGE_INTEGER) for key in rounded), None)


def _json_error(line: bytes) -> str:
    """Why orjson refuses a line, in words; read again without its line ending, so that
    positions are the line's own."""
    end = len(line)
    while end and line[end - 1] in b"\r\n":
        end -= 1
    with memoryview(line)[:end] as payload:
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return _json_reason(payload, exc)
    return "is not valid JSON"  # orjson refused the line with its line ending only


def _json_reason(payload: memoryview, exc: orjson.JSONDecodeError) -> str:
    if not _is_utf8(payload):
        return NOT_UTF8
    if "depth limit" in exc.msg:  # orjson's own limit, far beyond ours
        return _TOO_DEEP
    # What orjson stopped at: exc.pos counts characters, and a character is at most 4 bytes.
    here = str(payload[: 4 * exc.pos + 16], "utf-8", "ignore")[exc.pos :]
    if here.startswith(_NON_FINITE):
        return "is not valid JSON: NaN and Infinity are not JSON numbers (write null or a string)"
    if "infinity" in exc.msg and re.match(r"-?\d+(?![\d.eE])", here):
        return _TOO_LARGE_INTEGER
    if here.startswith("\x00"):
        return f"is not valid JSON: a NUL byte at character {exc.pos + 1} (is it a binary file?)"
    return f"is not valid JSON: {exc.msg} at character {exc.pos + 1}"


def _is_utf8(data: memoryview) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _UTF8_CHUNK):
            decoder.decode(data[start : start + _UTF8_CHUNK])  # a chunk at a time: no copy
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _value_problem(value: object) -> tuple[str | None, bool]:
    """Why a field's JSON value breaks a limit (or None), and whether it holds a float that
    may be an integer orjson could not read exactly."""
    if isinstance(value, str):
        return _string_problem(value), False
    if not isinstance(value, list | dict):
        return None, _maybe_inexact(value)
    return _container_problem(value)


def _container_problem(value: _Container) -> tuple[str | None, bool]:
    """``_value_problem`` for a list or an object, walked without recursion (it may be deep)."""
    maybe_inexact = False
    pending: list[tuple[_Container, int]] = [(value, 1)]
    while pending:
        container, level = pending.pop()
        if level > MAX_JSON_DEPTH:
            return _TOO_DEEP, False
        for item in _items(container):
            if isinstance(item, list | dict):
                pending.append((item, level + 1))
            elif isinstance(item, str):
                reason = _string_problem(item)
                if reason is not None:
                    return reason, False
            elif _maybe_inexact(item):
                maybe_inexact = True
    return None, maybe_inexact


def _items(container: _Container) -> Iterable[object]:
    """What a container holds: an object's names count as its values do."""
    if isinstance(container, dict):
        return itertools.chain(container, container.values())
    return container


def _string_problem(text: str) -> str | None:
    if len(text) > MAX_FIELD_CHARS:
        return TOO_LONG
    return HAS_NUL if "\x00" in text else None


def _maybe_inexact(value: object) -> bool:
    return isinstance(value, float) and abs(value) >= _INEXACT_FLOAT and value.is_integer()


class _TooLarge:
    """Stands for an integer literal beyond 64 bits when the line is read again."""


def _inexact_keys(line: bytes) -> set[str]:
    """The keys whose values hold integer literals beyond 64 bits (which orjson rounds)."""
    marker = _TooLarge()

    def integer(literal: str) -> object:
        if len(literal.lstrip("-")) > len(str(_UINT64_MAX)):
            return marker
        return marker if not _INT64_MIN <= int(literal) <= _UINT64_MAX else 0

    try:  # only lines orjson read get here: valid, and within the depth limit
        value = json.loads(line, parse_int=integer)
    except ValueError:
        return set()
    if not isinstance(value, dict):
        return set()
    return {key for key, item in value.items() if _holds(item, marker)}


def _holds(value: object, marker: object) -> bool:
    if isinstance(value, dict):
        return any(_holds(item, marker) for item in value.values())
    if isinstance(value, list):
        return any(_holds(item, marker) for item in value)
    return value is marker
