"""One frozen settings object for a run, built from the command line and the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broadcaster.plan import Defaults
from broadcaster.rate import Rate
from broadcaster.reader import STDIN, Format

DEFAULT_BASE_URL = "https://api.heymarket.com"
DEFAULT_RATE = "480/m"
RESULTS_SUFFIX = ".results.jsonl"
_FORMAT_SUFFIXES = (".gz", ".csv", ".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a campaign run needs to know, resolved once."""

    input: str
    defaults: Defaults
    rate: Rate
    format: Format | None = None
    results: str | None = None
    base_url: str = DEFAULT_BASE_URL
    concurrency: int = 16
    max_attempts: int = 8
    timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    grace: float = 10.0
    retry_failed: bool = False
    dry_run: bool = False
    sandbox: bool = False
    log_format: str = "console"
    quiet: bool = False

    @property
    def results_path(self) -> str:
        return self.results or default_results(self.input)


def default_campaign(input_path: str) -> str:
    """The input's base name without its format suffixes: moving the file changes nothing."""
    if input_path == STDIN:
        return "stdin"
    name = Path(input_path).name
    stripped = True
    while stripped:
        stripped = False
        for suffix in _FORMAT_SUFFIXES:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name, stripped = name[: -len(suffix)], True
    return name


def default_results(input_path: str) -> str:
    return ("stdin" if input_path == STDIN else input_path) + RESULTS_SUFFIX
