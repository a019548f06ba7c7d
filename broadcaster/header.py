"""The run header: the record that opens each run in a journal, written and read here alone.

``{"type": "run", "campaign", "input", "input_sha256", "settings", "version", "started_at"}``:
``settings`` are the run's resolved settings (``Settings.record()``), which ``resume`` rebuilds;
``input_sha256`` tells a later run whether it reads the same file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from broadcaster import __version__
from broadcaster.settings import Settings


@dataclass(frozen=True, slots=True)
class RunHeader:
    campaign: str | None
    input: str | None
    input_sha256: str | None
    settings: Mapping[str, Any]
    version: str
    started_at: str

    @classmethod
    def for_run(cls, settings: Settings, digest: str | None) -> RunHeader:
        recorded = settings.record()
        return cls(
            campaign=settings.defaults.campaign,
            input=recorded["input"],
            input_sha256=digest,
            settings=recorded,
            version=__version__,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def record(self) -> dict[str, Any]:
        """The header as the journal stores it (the journal adds ``"type": "run"``)."""
        return {
            "campaign": self.campaign,
            "input": self.input,
            "input_sha256": self.input_sha256,
            "settings": dict(self.settings),
            "version": self.version,
            "started_at": self.started_at,
        }

    @classmethod
    def read(cls, record: Mapping[str, Any]) -> RunHeader | None:
        """A header read back, or None when the record does not carry settings."""
        settings = record.get("settings")
        if not isinstance(settings, dict):
            return None
        return cls(
            campaign=_text(record.get("campaign")),
            input=_text(settings.get("input")),
            input_sha256=_text(record.get("input_sha256")),
            settings=settings,
            version=str(record.get("version")),
            started_at=str(record.get("started_at")),
        )


def last_run(headers: list[dict[str, Any]]) -> RunHeader | None:
    """The latest readable run header of a journal, or None."""
    for record in reversed(headers):
        header = RunHeader.read(record)
        if header is not None:
            return header
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
