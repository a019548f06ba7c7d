"""Times as the journal and the API write them: ISO 8601 with an offset, read strictly."""

from __future__ import annotations

from datetime import datetime


def aware_time(value: object) -> datetime | None:
    """An ISO 8601 time with its offset; None for anything else (no offset included: a time
    that does not say its zone cannot be placed)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
