"""What will go out, before it does: the first messages rendered, and the question a large send
asks on a terminal.

``validate`` and ``send --dry-run`` print the first ``--preview`` messages (target, text,
segments, key). A ``send`` or ``resume`` of more than ``--confirm-above`` messages, on a
terminal, shows what it is about to send (messages, segments, the time at the rate, the host)
and asks; ``--yes`` skips the question, and off a terminal nothing asks.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from yarl import URL

from broadcaster.journal import JournalState
from broadcaster.plan import Message
from broadcaster.rate import format_duration
from broadcaster.reader import STDIN, count_rows
from broadcaster.remaining import triaged_rows
from broadcaster.settings import Settings
from broadcaster.summary import LABEL as _LABEL
from broadcaster.testsend import Turns, positions
from broadcaster.triage import Settled

_SHOWN_CHARS = 200  # of a text: enough to recognise it, short enough to scan several


def preview_lines(messages: Iterable[Message]) -> list[str]:
    """``preview`` lines for these messages (none for none)."""
    lines: list[str] = []
    for message in messages:
        head = f"line {message.line}: {_target(message)} · {_segments(message)} · key {message.key}"
        lines.append(f"{'preview' if not lines else '':<{_LABEL}}{head}")
        for name in ("text", "media_url", "template_id"):
            value = message.body.get(name)
            if value is not None:
                lines.append(" " * (_LABEL + 2) + f"{name}: {_shown(str(value))}")
    return lines


def first_messages(settings: Settings, state: JournalState, count: int) -> list[Message]:
    """The first ``count`` messages this run would send (rows an earlier run settled, invalid
    rows and duplicates are not messages to send)."""
    if count <= 0 or settings.input == STDIN:  # stdin can be read only once: by the run
        return []
    found: list[Message] = []
    for message in _messages(settings, state):
        found.append(message)
        if len(found) == count:
            break
    return found


@dataclass(frozen=True, slots=True)
class Outlook:
    """What a run is about to send."""

    messages: int
    segments: int
    mms: int


def outlook(settings: Settings, state: JournalState) -> Outlook:
    """The messages a run would send, --limit's first ones with it."""
    messages = segments = mms = 0
    for message in itertools.islice(_messages(settings, state), settings.limit):
        messages += 1
        segments += message.segments
        mms += message.kind == "mms"
    return Outlook(messages, segments, mms)


def confirmed(
    settings: Settings,
    journal: Callable[[], JournalState],
    *,
    interactive: bool | None = None,
    stream: TextIO | None = None,
    answer: Callable[[], str] | None = None,
) -> bool:
    """True to go on: asked only on a terminal, for more than ``--confirm-above`` messages.
    ``journal`` reads the journal's state, which only the question needs: a million-row
    journal takes seconds to read, and --yes or no terminal must not wait for it."""
    if settings.yes or settings.dry_run or settings.input == STDIN:
        return True
    if interactive is None:
        interactive = _on_a_terminal()
    if not interactive:
        return True
    if settings.limit is not None and settings.limit <= settings.confirm_above:
        return True  # it sends no more than that: no need to plan the input to know
    ahead = outlook(settings, journal())
    if ahead.messages <= settings.confirm_above:
        return True
    stream = stream or sys.stderr
    stream.write(_question(settings, ahead))
    stream.flush()
    reply = (answer or sys.stdin.readline)()
    return reply.strip().lower() in ("y", "yes")


def _question(settings: Settings, ahead: Outlook) -> str:
    host = URL(settings.base_url).host if not settings.sandbox else "the in-process sandbox"
    rate = settings.rate
    pace = "unpaced" if rate.unpaced else f"at {rate}"
    time = "" if rate.unpaced else f": about {format_duration(rate.duration(ahead.messages))}"
    return (
        f"About to send {ahead.messages:,} messages ({ahead.segments:,} SMS segments, "
        f"{ahead.mms:,} MMS) to {host} {pace}{time}.\n"
        f"(more than --confirm-above {settings.confirm_above:,}; --yes skips this question)\n"
        "Send them? [y/N] "
    )


def _messages(settings: Settings, state: JournalState) -> Iterator[Message]:
    """The messages a run would send, in order: with --sample, of the rows it takes
    (``Turns``, as the engine's)."""
    chosen = None if settings.sample is None else _sampled(settings, settings.sample)
    turns = None if chosen is None else Turns(chosen)
    for position, row in enumerate(triaged_rows(settings, state)):
        decision = row.decision
        if turns is not None:
            turns.reach(position)
            if isinstance(decision, Settled) or not turns.takes(decision):
                continue
        if isinstance(decision, Message):
            yield decision


def _sampled(settings: Settings, count: int) -> frozenset[int] | None:
    """--sample's positions, as the run's (``campaign``)."""
    return positions(count_rows(settings.input, settings.format), count)


def _on_a_terminal() -> bool:
    streams = (sys.stdin, sys.stderr)
    return all(stream is not None and stream.isatty() for stream in streams)


def _target(message: Message) -> str:
    body = message.body
    for name in ("phone_number", "chat_id", "list_id"):
        if name in body:
            return f"{name} {body[name]}"
    targets = body.get("targets")
    return f"targets {', '.join(map(str, targets))}" if isinstance(targets, list) else "?"


def _segments(message: Message) -> str:
    if message.kind != "sms":
        return message.kind.upper() if message.kind == "mms" else "private note"
    count = message.segments
    return f"{count} SMS segment{'s' if count != 1 else ''}"


def _shown(text: str) -> str:
    flat = text.replace("\r", "").replace("\n", "⏎ ")
    return repr(flat if len(flat) <= _SHOWN_CHARS else flat[: _SHOWN_CHARS - 1] + "…")
