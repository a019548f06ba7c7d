"""One frozen settings object for a run: every option's default lives here, and only here.

The option table (``options``) reads its defaults from this class; a run header records the
resolved settings (``record()``); ``resume`` rebuilds them (``from_record()``) and replaces what
the command line gives. Adding an option: a field here, a line in the option table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broadcaster.errors import UsageError
from broadcaster.inputs import DEFAULT_REGION, FORMATS, STDIN, Format
from broadcaster.rate import DOCUMENTED_PACE, Rate, parse_rate

if TYPE_CHECKING:  # the option table is built from this module: --help must not load the plan
    from broadcaster.plan import Defaults
    from broadcaster.schedule import Schedule
    from broadcaster.suppression import Suppression

DEFAULT_BASE_URL = "https://api.heymarket.com"
RESULTS_SUFFIX = ".results.jsonl"
SANDBOX_RESULTS_SUFFIX = ".sandbox.results.jsonl"  # a trial's: never the real send's journal
_FORMAT_SUFFIXES = (".gz", ".csv", ".jsonl", ".ndjson")
# How the run is watched, not what it does: never recorded, never resumed.
_NOT_RECORDED = frozenset(
    {
        "dry_run",
        "retry_failed",  # a decision for one run: a resume does not re-send refusals again
        "log_format",
        "quiet",
        "results",
        "verbose",
        "log_file",
        "progress_interval",
        "preview",
        "confirm_above",
        "yes",
        "allow_insecure_http",  # said again each time: a resume elsewhere must not inherit it
        "limit",  # this run's: a resume sends the rest
        "sample",
        "test_to",
    }
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a campaign run needs to know, resolved once."""

    input: str
    format: Format | None = None
    campaign: str | None = None  # None: the input's base name
    inbox_id: int | None = None
    creator_id: int | None = None
    text: str | None = None
    media_url: str | None = None
    template_id: int | None = None
    region: str = DEFAULT_REGION
    base_url: str = DEFAULT_BASE_URL
    allow_insecure_http: bool = False  # plain http to a host other than this machine
    results: str | None = None
    rate: Rate = DOCUMENTED_PACE
    concurrency: int = 16
    max_attempts: int = 8
    timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    grace: float = 10.0
    # The circuit breaker (breaker.py): messages failed in a row, or the percent of the last
    # 100 that failed, that stop the run (0: off); failures of these kinds not counted.
    halt_on_errors: int = 25
    halt_on_fail_rate: float = 0.0
    halt_ignore: str | None = None  # comma-separated kinds, from breaker.IGNORABLE
    fixed_rate: bool = False  # keep --rate on 429s instead of lowering it (adaptive.py)
    # Numbers never to send to (suppression.py): files read afresh by every run; the file the
    # API's opt-out refusals are appended to.
    suppress: tuple[str, ...] = ()
    record_opt_outs: str | None = None
    not_after: str | None = None  # ISO 8601 with an offset: no request after it
    # Quiet hours (schedule.py): the local hours and days messages may go, in one zone or in
    # each recipient's ("recipient"), and the zone of a row whose zone cannot be told.
    window: str | None = None
    days: str | None = None
    tz: str | None = None
    tz_fallback: str | None = None
    limit: int | None = None  # messages this run sends at most; a resume sends the rest
    sample: int | None = None  # rows spread through the file, the only ones this run takes
    test_to: str | None = None  # send the first (or sampled) rows' messages here instead
    retry_failed: bool = False
    dry_run: bool = False
    sandbox: bool = False
    log_format: str = "console"
    quiet: bool = False
    verbose: bool = False
    log_file: str | None = None
    progress_interval: float = 10.0
    preview: int = 3
    confirm_above: int = 1000
    yes: bool = False

    def __post_init__(self) -> None:
        if self.backoff_cap < self.backoff_base:
            raise UsageError(
                f"--backoff-cap {self.backoff_cap:g} is below --backoff-base "
                f"{self.backoff_base:g}: no retry could wait as long as the first one may"
            )

    @property
    def defaults(self) -> Defaults:
        """What the command line supplies to rows, as the plan takes it."""
        from broadcaster.plan import Defaults  # noqa: PLC0415 - see the TYPE_CHECKING import

        return Defaults(
            campaign=self.campaign or default_campaign(self.input),
            inbox_id=self.inbox_id,
            creator_id=self.creator_id,
            text=self.text,
            media_url=self.media_url,
            template_id=self.template_id,
            region=self.region,
        )

    def schedule(self) -> Schedule | None:
        """The send window, or None; a usage error for options that make none."""
        from broadcaster.schedule import Schedule  # noqa: PLC0415 - see the TYPE_CHECKING import

        if self.window is None:
            given = [
                f"--{n.replace('_', '-')}"
                for n in ("days", "tz", "tz_fallback")
                if getattr(self, n)
            ]
            if given:
                verb = "needs" if len(given) == 1 else "need"
                raise UsageError(f"{' and '.join(given)} {verb} --window HH:MM-HH:MM")
            return None
        try:
            return Schedule.parse(self.window, self.days, self.tz, self.tz_fallback)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def test_phone(self) -> str | None:
        """--test-to as the API writes numbers, read as the input's are."""
        if self.test_to is None:
            return None
        from broadcaster.fields import FieldError  # noqa: PLC0415 - see the TYPE_CHECKING import
        from broadcaster.phones import normalize_phone  # noqa: PLC0415

        try:
            return normalize_phone(self.test_to, self.region)
        except FieldError as exc:
            raise UsageError(f"--test-to {self.test_to!r}: {exc}") from None

    def suppression(self) -> Suppression:
        """The numbers of the --suppress files (the --record-opt-outs file may not be there
        yet); a file that cannot be read is a usage error."""
        from broadcaster.suppression import load  # noqa: PLC0415 - see the TYPE_CHECKING import

        missing_ok = () if self.record_opt_outs is None else (self.record_opt_outs,)
        return load(self.suppress, self.region, missing_ok=missing_ok)

    @property
    def results_path(self) -> str:
        return self.results or default_results(self.input, sandbox=self.sandbox)

    def record(self) -> dict[str, Any]:
        """The settings as a run header records them (JSON values; the input's full path)."""
        values: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_RECORDED
        }
        values["rate"] = str(self.rate)
        values["campaign"] = self.defaults.campaign  # resolved: a moved input keeps its keys
        values["suppress"] = list(dict.fromkeys(str(Path(p).resolve()) for p in self.suppress))
        if self.record_opt_outs is not None:
            values["record_opt_outs"] = str(Path(self.record_opt_outs).resolve())
        if self.input != STDIN:
            values["input"] = str(Path(self.input).resolve())
        return values

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], given: Mapping[str, object] | None = None
    ) -> Settings:
        """Recorded settings (as ``record()`` wrote them), replaced by the options ``given``.

        Unknown or mistyped values fall back to the default: a journal is data, not code.
        """
        known = {f.name: f for f in fields(cls) if f.name not in _NOT_RECORDED}
        values = {name: record[name] for name in known if name in record}
        if isinstance(values.get("rate"), str):
            values["rate"] = parse_rate(values["rate"])
        if isinstance(values.get("suppress"), list):
            values["suppress"] = tuple(path for path in values["suppress"] if isinstance(path, str))
        if values.get("format") not in (None, *FORMATS):
            values.pop("format")
        legacy = record.get("default_country_code")  # journals of 0.1 recorded this
        if "region" not in values and isinstance(legacy, str) and legacy:
            # Imported here: libphonenumber is slow to import, and --help imports this module.
            from broadcaster.phones import region_for_country_code  # noqa: PLC0415

            values["region"] = region_for_country_code(legacy)
        values = {name: value for name, value in values.items() if _fits(known[name], value)}
        added = dict(given or {})
        more = added.get("suppress")
        if isinstance(more, tuple):  # a resume adds files: it never drops a suppression
            added["suppress"] = (*values.get("suppress", ()), *more)
        values.update(added)
        return dataclasses.replace(cls(input=str(values.pop("input"))), **values)


def _fits(spec: dataclasses.Field[Any], value: object) -> bool:
    """A recorded value of the field's own kind (None only where None is allowed)."""
    if spec.name == "rate":
        return isinstance(value, Rate)
    default = spec.default
    if default is dataclasses.MISSING:  # the input: a path
        return isinstance(value, str)
    if value is None:
        return default is None
    if default is None or isinstance(default, str):
        return isinstance(value, str | int) and not isinstance(value, bool)
    return type(value) is type(default) or (type(default) is float and type(value) is int)


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


def default_results(input_path: str, *, sandbox: bool = False) -> str:
    """``INPUT.results.jsonl``; a ``--sandbox`` trial's is ``INPUT.sandbox.results.jsonl``, so
    that its records never settle the real send's rows."""
    suffix = SANDBOX_RESULTS_SUFFIX if sandbox else RESULTS_SUFFIX
    return ("stdin" if input_path == STDIN else input_path) + suffix
