"""``{{name}}`` merge tokens, the syntax of Heymarket templates.

Rendering is one pass of string substitution: a value is inserted literally and never
rendered again, names are plain lookups (no attributes, no indexing, no filters, no code).
``{{name|default}}`` supplies text for an empty or absent field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKEN = re.compile(r"\{\{\s*([^{}|]+?)\s*(?:\|([^{}]*))?\}\}")


@dataclass(frozen=True, slots=True)
class MissingFields(Exception):  # noqa: N818 - it names what is missing, as users read it
    """Tokens whose fields are empty or absent and have no default."""

    names: tuple[str, ...]

    def __str__(self) -> str:
        listed = ", ".join(f"{{{{{name}}}}}" for name in self.names)
        return f"no value for {listed} (give the field a value, or write {{{{name|default}}}})"


def render(template: str, lookup: Callable[[str], str | None]) -> str:
    """Replace each token with ``lookup(name)``, or its default; raise ``MissingFields``."""
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = lookup(name)
        if value is not None:
            return value
        if default is not None:
            return default
        if name not in missing:
            missing.append(name)
        return ""

    rendered = _TOKEN.sub(substitute, template)
    if missing:
        raise MissingFields(tuple(missing))
    return rendered
