"""What every step works with: the options, a scratch directory, the server (started when a
step first needs it), the children's environment, and how a child is run and measured.

Every engine run is the command a user types (``python -m broadcaster send FILE ...``), so a
figure here is a figure a user gets.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from broadcaster.bench.nginx import serving_nginx
from broadcaster.bench.options import OWN_CREATOR_ID, OWN_INBOX_ID, BenchOptions
from broadcaster.bench.process import Usage, measure
from broadcaster.bench.servers import own_server_env, serving_sandbox
from broadcaster.bench.workload import TEXT, write_bodies, write_campaign

SAMPLE_EVERY = 0.5  # seconds between CPU samples of a paced run
BROADCASTER = (sys.executable, "-m", "broadcaster")
BARE = (sys.executable, "-m", "broadcaster.bench.bare")


@dataclass(frozen=True, slots=True)
class ServerChoice:
    """What answers the requests: ``nginx``, ``sandbox`` (ours), or ``endpoint`` (the user's)."""

    kind: Literal["nginx", "sandbox", "endpoint"]
    binary: str | None = None  # nginx's
    version: str | None = None  # nginx's
    url: str | None = None  # the endpoint's

    @property
    def label(self) -> str:
        if self.kind == "nginx":
            return f"nginx {self.version or ''}".strip()
        return "the sandbox" if self.kind == "sandbox" else f"the endpoint {self.url}"


class Bench:
    """The context of one bench run, handed to each step; ``with`` it, so that the server a
    step started is stopped at the end."""

    def __init__(
        self,
        options: BenchOptions,
        server: ServerChoice,
        workdir: Path,
        environ: Mapping[str, str],
        say: Callable[[str], None],
    ) -> None:
        self.options = options
        self.server = server
        self.workdir = workdir
        self.say = say
        self.finished: dict[int, Path] = {}  # rows -> the journal of a finished campaign
        self._stack = contextlib.ExitStack()
        self._url = server.url
        own = server.kind != "endpoint"
        self.env = own_server_env(environ) if own else dict(environ)
        self.inbox_id = options.inbox_id or OWN_INBOX_ID
        self.creator_id = options.creator_id or OWN_CREATOR_ID

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server, if one was started."""
        self._stack.close()

    def url(self) -> str:
        """The server's URL; ours is started on first use, and stopped when the run ends."""
        if self._url is None:
            self.say(f"starting {self.server.label}")
            started = (
                serving_nginx(self.server.binary or "nginx", self.workdir, self.server.version)
                if self.server.kind == "nginx"
                else serving_sandbox()
            )
            self._url = self._stack.enter_context(started)
        return self._url

    def measure(
        self,
        argv: list[str],
        *,
        sampled: bool = False,
        env: Mapping[str, str] | None = None,
        ends: frozenset[int] = frozenset({0}),
    ) -> Usage:
        """One child measured; ``env`` adds to (or overrides) the children's environment;
        ``ends``: the exit codes it may end with."""
        children = self.env if env is None else {**self.env, **env}
        every = SAMPLE_EVERY if sampled else None
        return measure(argv, children, sample_every=every, ends=ends)

    def campaign(self, rows: int) -> Path:
        """The campaign file of ``rows`` rows, written once per run."""
        path = self.workdir / f"campaign-{rows}.csv"
        if not path.exists():
            write_campaign(path, rows)
        return path

    def send_argv(
        self, csv: Path, results: Path, *, rate: str = "0", campaign: str = ""
    ) -> list[str]:
        """``broadcaster send`` as the steps run it; ``campaign`` names a run's own keys."""
        argv = [*BROADCASTER, "send", str(csv), "--base-url", self.url(), "--results", str(results)]
        argv += [*self.campaign_options(), "--rate", rate]
        argv += ["--concurrency", str(self.options.concurrency)]
        if self.options.allow_insecure_http:
            argv.append("--allow-insecure-http")
        return argv + (["--campaign", campaign] if campaign else [])

    def bare_argv(self, rows: int, run: int, *, rate: str | None = None) -> list[str]:
        """The bare baseline posting the bodies of the campaign's first ``rows`` rows, with
        ``local_id``s of ``run``'s own; unpaced unless a ``rate`` is given."""
        bodies = write_bodies(
            self.workdir / f"bodies-{run}.jsonl",
            rows,
            run=run,
            inbox_id=self.inbox_id,
            creator_id=self.creator_id,
        )
        argv = [*BARE, self.url(), str(bodies), str(self.options.concurrency)]
        return argv + ([rate] if rate else [])

    def campaign_options(self) -> list[str]:
        return [
            "--quiet",
            "--inbox-id", str(self.inbox_id),
            "--creator-id", str(self.creator_id),
            "--text", TEXT,
        ]  # fmt: skip

    def finished_journal(self, rows: int) -> Path:
        """The journal of the whole campaign of ``rows`` rows, sent (unmeasured) if no step
        has sent it yet."""
        if rows not in self.finished:
            journal = self.workdir / f"finished-{rows}.results.jsonl"
            argv = self.send_argv(self.campaign(rows), journal)
            self.say(f"sending {rows:,} rows unpaced to {self.server.label}, for resume to read")
            self.measure(argv)
            self.finished[rows] = journal
        return self.finished[rows]
