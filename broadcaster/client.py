"""The HTTP client: one aiohttp session, every response and transport error made a ``Reply``.

Outside the sandbox (the server side), the only module that knows aiohttp. ``classify`` is a
pure function of status, headers and body. ``DryRunSender`` is the fake beside the real one.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Self

import aiohttp
import orjson

from broadcaster import __version__
from broadcaster.credentials import Credentials
from broadcaster.outcome import Reply

SEND_PATH = "/v1/message/send"
_RETRYABLE_4XX = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS})
_SHOWN_BODY = 200


def classify(status: int, headers: Mapping[str, str], body: bytes, now: float) -> Reply:
    """What one response means for its message."""
    request_id = headers.get("X-Request-Id")
    retry_after = parse_retry_after(headers.get("Retry-After"), now)
    if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
        payload = _json(body)
        if isinstance(payload, dict) and isinstance(payload.get("id"), int):
            return Reply(
                "sent",
                status,
                request_id,
                id=payload["id"],
                date=_text_or_none(payload.get("date")),
                gallery_url=_text_or_none(payload.get("gallery_url")),
            )
        error = f"HTTP {status} with an unreadable body: {_shown(body)}"
        return Reply("retry", status, request_id, error=error, retry_after=retry_after)
    error = _error_text(status, body)
    if status == HTTPStatus.UNAUTHORIZED:
        return Reply("unauthorized", status, request_id, error=error)
    if status in _RETRYABLE_4XX or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return Reply("retry", status, request_id, error=error, retry_after=retry_after)
    return Reply("failed", status, request_id, error=error)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def _json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _shown(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    return repr(text[:_SHOWN_BODY] + ("..." if len(text) > _SHOWN_BODY else ""))


def _error_text(status: int, body: bytes) -> str:
    payload = _json(body)
    if isinstance(payload, dict) and (payload.get("error") or payload.get("message")):
        parts = [str(payload[name]) for name in ("error", "message") if payload.get(name)]
        return f"HTTP {status} " + ": ".join(parts)
    return f"HTTP {status}" + (f": {_shown(body)}" if body.strip() else "")


class HttpSender:
    """Sends message bodies to the API; ``async with HttpSender(...) as sender``."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float,
        connections: int,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout
        self._connections = connections
        self._wall_clock = wall_clock
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            connector=aiohttp.TCPConnector(limit=self._connections),
            headers={"User-Agent": f"broadcaster/{__version__}"},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, body: Mapping[str, object]) -> Reply:
        """POST one message; never raises for what the network or the API does."""
        assert self._session is not None, "use HttpSender as an async context manager"  # noqa: S101
        headers = {
            "Authorization": self._credentials.authorization(),
            "Content-Type": "application/json",
        }
        try:
            async with self._session.post(
                self._base_url + SEND_PATH,
                data=orjson.dumps(body),
                headers=headers,
                allow_redirects=False,
            ) as response:
                answer = await response.read()
                status, response_headers = response.status, response.headers
        except TimeoutError:
            return Reply("retry", error=f"no response within {self._timeout:g}s")
        except aiohttp.ServerDisconnectedError:
            return Reply("retry", error="the server closed the connection without a response")
        except aiohttp.ClientConnectorError as exc:
            return Reply("retry", error=f"cannot connect: {exc.strerror or exc}", connected=False)
        except aiohttp.ClientError as exc:
            return Reply("retry", error=f"{type(exc).__name__}: {exc}")
        return classify(status, response_headers, answer, self._wall_clock())


class DryRunSender:
    """The fake beside the real one: every message is accepted, and nothing leaves."""

    async def send(self, body: Mapping[str, object]) -> Reply:  # noqa: ARG002 - the protocol's
        return Reply("sent", HTTPStatus.OK)
