"""``{{name}}`` merge tokens, the syntax of Heymarket templates.

Rendering is one pass of string substitution: a value is inserted literally and never
checked or rendered again, names are plain lookups (no attributes, no indexing, no filters,
no code). ``{{name|default}}`` supplies text for an empty or absent field.

A template is checked before it is rendered, so a mistake makes the row invalid instead of
reaching customers as literal braces. Braces come in runs (``{``, ``{{``, ``}}}``...):

- ``{{`` opens a merge field, which the next run of braces must close with exactly ``}}``:
  ``{{ name }}`` or ``{{ name|default }}``. The name (white space around it ignored) must not
  be empty and cannot contain ``|``; neither name nor default can contain a brace.
- ``}}`` that closes no merge field is stray; three or more braces in a row are a mistake.
- ``{word}`` in single braces, where the word starts with a letter or ``_`` and holds only
  letters, digits, ``_``, ``-`` and ``.`` (spaces around allowed), is a merge field written
  with single braces, even ``{SAVE20}``.
- Any other lone ``{`` or ``}`` is text: ``:-}``, ``{not a token}``, ``{1}``, ``{ }``.

Text these rules refuse can still be sent: put it in a column and merge it, since values are
inserted as they are.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from broadcaster.fields import FieldError

_WORD = re.compile(r"[ \t]*[^\W\d][\w.-]*[ \t]*")
_SHOWN_CHARS = 30


class TemplateSyntaxError(FieldError):
    """A template's braces do not make well-formed merge fields; the message says where."""


@dataclass(frozen=True, slots=True)
class MissingFields(Exception):  # noqa: N818 - it names what is missing, as users read it
    """Tokens whose fields are empty or absent and have no default."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        listed = ", ".join(f"{{{{{name}}}}}" for name in self.names)
        return f"no value for {listed} (give the field a value, or write {{{{name|default}}}})"


class _Token(NamedTuple):
    name: str
    default: str | None


def check_template(template: str) -> None:
    """Raise ``TemplateSyntaxError`` for the first brace mistake (module docstring)."""
    _parse(template)


def unmatched_fields(template: str, columns: Collection[str]) -> list[str]:
    """What to say of each token of ``template`` that names none of ``columns`` (a CSV's
    header), closest column first: every row would get its default, or be invalid. Names
    are matched exactly, as rendering does; a template that cannot be parsed says nothing
    here (each row says why)."""
    try:
        parts = _parse(template)
    except TemplateSyntaxError:
        return []
    said: list[str] = []
    seen: set[str] = set()
    folded = {_folded(column): column for column in columns}
    for token in (part for part in parts if isinstance(part, _Token)):
        if token.name in columns or token.name in seen:
            continue
        seen.add(token.name)
        fate = (
            f"every row gets its default {token.default!r}"
            if token.default is not None
            else "every row is invalid: no value"
        )
        said.append(f"{{{{{token.name}}}}} names no column of the input: {fate}")
        near = folded.get(_folded(token.name)) or next(
            iter(difflib.get_close_matches(token.name, list(columns), n=1)), None
        )
        if near is not None:
            said[-1] += f" (did you mean {{{{{near}}}}}? names are matched exactly)"
    return said


def _folded(name: str) -> str:
    """A name as a near miss is told: any case, ``_`` as a space."""
    return name.casefold().replace("_", " ").strip()


def render(template: str, lookup: Callable[[str], str | None]) -> str:
    """Check, then replace each token with ``lookup(name)`` or its default.

    Raises ``TemplateSyntaxError`` (a ``FieldError``) or ``MissingFields``.
    """
    missing: list[str] = []
    pieces: list[str] = []
    for part in _parse(template):
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = lookup(part.name)
        if value is not None:
            pieces.append(value)
        elif part.default is not None:
            pieces.append(part.default)
        elif part.name not in missing:
            missing.append(part.name)
    if missing:
        raise MissingFields(tuple(missing))
    return "".join(pieces)


@lru_cache(maxsize=16)  # rows often share one template: --text, or a column of copies
def _parse(template: str) -> tuple[str | _Token, ...]:
    """The template as literal text and tokens, or ``TemplateSyntaxError``."""
    parts: list[str | _Token] = []
    runs = _runs(template)
    literal_from = 0
    index = 0
    while index < len(runs):
        start, braces = runs[index]
        after = runs[index + 1] if index + 1 < len(runs) else None
        if braces == "{{":
            if start > literal_from:
                parts.append(template[literal_from:start])
            parts.append(_token(template, start, after))
            literal_from = after[0] + len(after[1]) if after is not None else len(template)
            index += 2
            continue
        where = f"at character {start + 1}"
        if braces.startswith("{{"):
            closed = after is not None and after[1][0] == "}"
            end = after[0] + len(after[1]) if after is not None and closed else start + len(braces)
            raise TemplateSyntaxError(
                f"too many braces in {_excerpt(template, start, end)} {where}: "
                "a merge field is written {{name}}"
            )
        if braces.startswith("}}"):
            raise TemplateSyntaxError(f"stray {braces!r} {where}")
        if braces == "{" and after is not None and after[1] in ("}", "}}"):
            word = template[start + 1 : after[0]]
            if _WORD.fullmatch(word):
                shown = _excerpt(template, start, after[0] + len(after[1]))
                how = "single braces" if after[1] == "}" else "one opening brace"
                raise TemplateSyntaxError(
                    f"{shown} {where} has {how}: write {{{{{word.strip()}}}}}"
                )
        index += 1
    if literal_from < len(template):
        parts.append(template[literal_from:])
    return tuple(parts)


def _runs(template: str) -> list[tuple[int, str]]:
    """Where each run of braces (``{``, ``}}``, ``{{{``...) starts, and the run."""
    runs: list[tuple[int, str]] = []
    end = len(template)
    opening, closing = template.find("{"), template.find("}")
    while opening >= 0 or closing >= 0:
        start = closing if opening < 0 or 0 <= closing < opening else opening
        brace = template[start]
        stop = start + 1
        while stop < end and template[stop] == brace:
            stop += 1
        runs.append((start, template[start:stop]))
        if brace == "{":
            opening = template.find("{", stop)
        else:
            closing = template.find("}", stop)
    return runs


def _token(template: str, start: int, after: tuple[int, str] | None) -> _Token:
    """The token whose ``{{`` is at ``start``; the ``after`` run of braces must close it."""
    closing = after[1] if after is not None else ""
    inside = template[start + 2 : after[0] if after is not None else len(template)]
    name, bar, default = inside.partition("|")
    name = name.strip()
    if closing == "}}" and name:
        return _Token(name, default if bar else None)
    where = f"at character {start + 1}"
    end = start + 2 + len(inside) + len(closing)
    if closing == "}}":
        raise TemplateSyntaxError(f"empty merge field {_excerpt(template, start, end)} {where}")
    if closing.startswith("}}"):
        raise TemplateSyntaxError(
            f"too many braces in {_excerpt(template, start, end)} {where}: "
            "a merge field is written {{name}}"
        )
    hint = ""
    if closing == "}" and name:
        hint = f": write {{{{{inside.strip()}}}}}"
    elif closing.startswith("{"):
        end = start + 2 + len(inside)
        hint = " (a default cannot contain braces)" if bar else ""
    raise TemplateSyntaxError(
        f"unclosed merge field {_excerpt(template, start, end)} {where}{hint}"
    )


def _excerpt(template: str, start: int, end: int) -> str:
    """``template[start:end]`` quoted for a message: one line, at most ``_SHOWN_CHARS``."""
    shown = template[start:end].split("\n", 1)[0].rstrip()
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 3] + "..."
    return f"'{shown}'"
