"""The HTTP client: one aiohttp session, every response and transport error made a ``Reply``.

Outside the sandbox (the server side), the only module that knows aiohttp. ``classify`` is a
pure function of status, headers and body. ``DryRunSender`` is the fake beside the real one.
``fetch_json`` is the one-off GET of the commands that read the API (``inboxes``): what goes
wrong there ends the command, so it is raised as the package's errors, in one line.
"""

from __future__ import annotations

import email.utils
import os
import ssl
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Self

import aiohttp
import orjson

from broadcaster import __version__
from broadcaster.credentials import Credentials
from broadcaster.errors import ApiError, CredentialsError
from broadcaster.lookup import Page
from broadcaster.outcome import RETRYABLE_4XX, Reply

SEND_PATH = "/v1/message/send"
MESSAGES_PATH = "/v1/messages"
INBOXES_PATH = "/v1/inboxes"
_USER_AGENT = f"broadcaster/{__version__}"
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
    if status in RETRYABLE_4XX or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
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
            headers={"User-Agent": _USER_AGENT},
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
        except (TimeoutError, aiohttp.ClientError) as exc:
            return _unanswered(exc, self._timeout)
        return classify(status, response_headers, answer, self._wall_clock())

    async def messages(self, phone: str, inbox: int, before: int | None) -> Page:
        """One page of a conversation's history (``lookup``); never raises for what the
        network or the API does: a failure is the page's ``failure``, classified as a send's."""
        assert self._session is not None, "use HttpSender as an async context manager"  # noqa: S101
        query: dict[str, str] = {"phoneNumber": phone, "inboxID": str(inbox)}
        if before is not None:
            query["timestamp"] = str(before)
        headers = {"Authorization": self._credentials.authorization()}
        try:
            async with self._session.get(
                self._base_url + MESSAGES_PATH, params=query, headers=headers, allow_redirects=False
            ) as response:
                answer = await response.read()
                status, response_headers = response.status, response.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Page(failure=_unanswered(exc, self._timeout))
        request_id = response_headers.get("X-Request-Id")
        payload = _json(answer) if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES else None
        if isinstance(payload, list) and all(isinstance(item, dict) for item in payload):
            return Page(payload, request_id=request_id)
        failure = classify(status, response_headers, answer, self._wall_clock())
        if failure.verdict == "sent" or status < HTTPStatus.MULTIPLE_CHOICES:
            error = f"HTTP {status} with a body that is not a list of messages: {_shown(answer)}"
            failure = Reply("retry", status, request_id, error=error)
        return Page(failure=failure, request_id=request_id)


def _unanswered(exc: TimeoutError | aiohttp.ClientError, timeout: float) -> Reply:
    """A request that got no answer: to be retried; whether it left, and whether it timed out."""
    return Reply(
        "retry",
        error=_transport_error(exc, timeout),
        connected=not isinstance(exc, aiohttp.ClientConnectorError),
        timed_out=isinstance(exc, TimeoutError),
    )


def _transport_error(exc: TimeoutError | aiohttp.ClientError, timeout: float) -> str:
    """What went wrong below HTTP, in a line."""
    if isinstance(exc, TimeoutError):
        return f"no response within {timeout:g}s"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}: {_connect_failure(exc.os_error)}"
    return f"{type(exc).__name__}: {exc}"


def _connect_failure(error: OSError) -> str:
    """ "Connection refused" rather than asyncio's "Connect call failed (address)". A TLS
    error's code is OpenSSL's and a DNS failure's is negative: their own text says it."""
    if error.errno is not None and error.errno > 0 and not isinstance(error, ssl.SSLError):
        return os.strerror(error.errno)
    return error.strerror or str(error)


async def fetch_json(
    base_url: str,
    path: str,
    credentials: Credentials,
    *,
    timeout: float,  # noqa: ASYNC109 - aiohttp's, so that its expiry is said here with the rest
) -> object:
    """GET ``path`` and its JSON body: CredentialsError on 401 and 403, ApiError on any
    other failure, each one line without a secret."""
    url = base_url.rstrip("/") + path
    headers = {
        "Authorization": credentials.authorization(),
        "Accept": "application/json",
        "User-Agent": _USER_AGENT,
    }
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, headers=headers, allow_redirects=False) as response,
        ):
            body = await response.read()
            status, response_headers = response.status, response.headers
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ApiError(f"GET {url}: {_transport_error(exc, timeout)}") from None
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        raise CredentialsError(
            f"the API refused the credentials ({_error_text(status, body)}): "
            f"check {credentials.source}"
        )
    if not HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
        raise ApiError(f"GET {url}: {_failure_text(status, response_headers, body)}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(
            f"GET {url}: HTTP {status} with a body that is not JSON: {_shown(body)}"
        ) from None


def _failure_text(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """An error answer, with where a redirect points and the request id to quote to support."""
    text = _error_text(status, body)
    if "Location" in headers:
        text += f" (redirected to {headers['Location']})"
    if "X-Request-Id" in headers:
        text += f" (request id {headers['X-Request-Id']})"
    return text
