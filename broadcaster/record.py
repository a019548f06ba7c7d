"""A row as read from a campaign file, in either format, before the plan gives it a meaning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from broadcaster.fields import Problem


@dataclass(frozen=True, slots=True)
class Record:
    """One row as read: its first physical line and its fields (or why it has none)."""

    line: int
    fields: Mapping[str, object] = field(default_factory=dict)
    problem: Problem | None = None
