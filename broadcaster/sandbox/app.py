"""The sandbox: an aiohttp application that behaves as the Heymarket API is documented to.

``create_app(config)`` is the factory tests, the demo and the benchmarks use; the state is at
``app[STATE]``. Routes: ``POST /v1/message/send``, ``GET /v1/messages``, ``GET /v1/inboxes``,
and the admin route ``GET /_sandbox/stats``.

- Sends are authorised (API key or JWT, else 401), counted in the per-key rate window, delayed
  by ``latency``, and may draw a fault. A repeated ``local_id`` is answered with the first
  message's response (counted in ``duplicates``; ``conflicts`` when the content differs), for
  every send with ``dedupe="all"``, for list broadcasts alone with ``dedupe="lists"``: a single
  send then commits again, with a new id, counted in ``resent``.
- ``GET /v1/messages`` (see ``history``) has the same authorisation and shares the per-key rate
  window with sends, as the API's limit counts every request; it draws no fault and has no
  latency (so the seeded faults of sends stay as they were). It is counted in
  ``history_requests``, not in ``requests``, whose arrivals measure the pacing of sends. Bad
  parameters are 400 ``bad_data``, and an inbox the sandbox does not have is 404 ``not_found``
  as it is for a send (both counted in ``bad_requests``, as a send's are); a phone the inbox
  never sent to is an empty array. A single send is in its conversation from the moment it
  commits, also when a fault (``drop_after``, ``slow``, ``bad_json``) loses or delays its
  answer; group (``targets``), ``chat_id`` and ``list_id`` sends are in no conversation.
- ``GET /v1/inboxes`` has the same authorisation and no rate limit.
"""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from broadcaster.sandbox.config import FAULT_KINDS, SandboxConfig
from broadcaster.sandbox.history import HISTORY_PAGE, HistoryQuery, message_json, read_query
from broadcaster.sandbox.rules import body_problem
from broadcaster.sandbox.state import Committed, RollingWindow, SandboxState
from broadcaster.tokens import token_is_valid

STATE = web.AppKey("state", SandboxState)
CONFIG = web.AppKey("config", SandboxConfig)
FAULTS = web.AppKey("faults", random.Random)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: SandboxConfig | None = None) -> web.Application:
    app = web.Application(middlewares=[_request_id])
    app[CONFIG] = config or SandboxConfig()
    app[STATE] = SandboxState()
    app[FAULTS] = random.Random(app[CONFIG].seed)  # noqa: S311 - reproducible faults, not crypto
    app.router.add_post("/v1/message/send", _send)
    app.router.add_get("/v1/messages", _history)
    app.router.add_get("/v1/inboxes", _inboxes)
    app.router.add_get("/_sandbox/stats", _stats)
    return app


@web.middleware
async def _request_id(request: web.Request, handler: _Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers["X-Request-Id"] = uuid.uuid4().hex
    return response


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(payload), content_type="application/json", headers=headers
    )


def _error(status: int, error: str, message: str) -> web.Response:
    return _json(status, {"error": error, "message": message})


async def _send(request: web.Request) -> web.StreamResponse:
    config, state = request.app[CONFIG], request.app[STATE]
    state.requests += 1
    state.arrivals.append(config.clock())
    refused = _authorize(request) or _rate_limit(request)
    if refused is not None:
        return refused
    if config.latency:
        await config.sleep(config.latency)
    fault = _draw_fault(request)
    if fault in ("500", "503", "429", "drop_before"):
        state.faults[fault] += 1
        return _early_fault(request, fault)
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        state.bad_requests += 1
        return _error(400, "bad_data", "the body is not valid JSON")
    rejected = _reject(request, body)
    if rejected is not None:
        state.bad_requests += 1
        return rejected
    payload = _commit(request, body)
    return await _late_fault(request, fault, payload)


def _reject(request: web.Request, body: object) -> web.Response | None:
    if not isinstance(body, dict):
        return _error(400, "bad_data", "the body must be a JSON object")
    problem = body_problem(body)
    if problem is not None:
        return _error(400, "bad_data", f"{problem[0]}: {problem[1]}")
    config = request.app[CONFIG]
    inbox = next((box for box in config.inboxes if box.id == body["inbox_id"]), None)
    if inbox is None:
        return _error(404, "not_found", f"inbox_id: no inbox {body['inbox_id']}")
    if all(member.id != body["creator_id"] for member in inbox.members):
        return _error(
            400, "bad_data", f"creator_id: {body['creator_id']} is not a member of inbox {inbox.id}"
        )
    if body.get("phone_number") in config.opted_out:
        return _error(400, "bad_data", "phone_number: the contact has opted out of messages")
    return None


def _commit(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
    config, state = request.app[CONFIG], request.app[STATE]
    earlier = _earlier(request, body)
    if earlier is not None:
        state.duplicates += 1
        if _comparable(earlier.body) != _comparable(body):
            state.conflicts += 1
        return dict(earlier.response)
    message_id = state.next_id
    now = config.wall_clock()
    payload = {
        "id": message_id,
        "date": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "gallery_url": (
            f"https://sandbox.heymarket.invalid/gallery/{message_id}"
            if body.get("media_url")
            else None
        ),
    }
    state.commit(body, payload, config.clock(), math.floor(now))
    if config.on_commit is not None:
        config.on_commit(state.committed)
    return payload


def _earlier(request: web.Request, body: dict[str, Any]) -> Committed | None:
    """The message that answers this send: one committed with its ``local_id``, if deduped."""
    local_id = body.get("local_id")
    if not isinstance(local_id, str):
        return None
    if request.app[CONFIG].dedupe == "lists" and not body.get("list_id"):
        return None
    return request.app[STATE].messages.get(local_id)


def _comparable(body: Mapping[str, object]) -> dict[str, object]:
    return {name: value for name, value in body.items() if name != "creator_id"}


def _draw_fault(request: web.Request) -> str | None:
    faults = request.app[CONFIG].faults
    if not faults:
        return None
    draw = request.app[FAULTS].random()
    for kind in FAULT_KINDS:
        draw -= faults.get(kind, 0.0)
        if draw < 0:
            return kind
    return None


def _early_fault(request: web.Request, fault: str) -> web.Response:
    if fault == "drop_before":
        _drop(request)
    if fault == "429":
        request.app[STATE].rate_limited += 1
        return _too_many(request, 1.0)
    return _error(int(fault), "server_error", f"injected {fault}")


async def _late_fault(request: web.Request, fault: str | None, payload: object) -> web.Response:
    config, state = request.app[CONFIG], request.app[STATE]
    if fault is None:
        return _json(200, payload)
    state.faults[fault] += 1
    if fault == "drop_after":
        _drop(request)
    if fault == "slow":
        await config.sleep(config.slow_delay)
    if fault == "bad_json":
        return web.Response(
            status=200, text="<html>upstream hiccup</html>", content_type="text/html"
        )
    return _json(200, payload)


def _drop(request: web.Request) -> None:
    """Close the connection with no response, as a crashed proxy would."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


def _authorize(request: web.Request) -> web.Response | None:
    config = request.app[CONFIG]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        request.app[STATE].unauthorized += 1
        return _error(401, "unauthorized", "missing bearer token")
    if config.api_key is None and config.secret_id is None:
        return None
    if token == config.api_key or _valid_jwt(token.strip(), config):
        return None
    request.app[STATE].unauthorized += 1
    return _error(401, "unauthorized", "invalid or expired token")


def _valid_jwt(token: str, config: SandboxConfig) -> bool:
    if config.secret_id is None or config.secret_key is None:
        return False
    return token_is_valid(token, config.secret_id, config.secret_key, config.wall_clock())


def _rate_limit(request: web.Request) -> web.Response | None:
    config, state = request.app[CONFIG], request.app[STATE]
    if config.rate_limit.unpaced:  # --rate-limit 0: no limit, for benchmarks
        return None
    identity = request.headers.get("Authorization", "")
    window = state.windows.get(identity)
    if window is None:
        window = state.windows[identity] = RollingWindow(config.rate_limit, config.clock)
    wait = window.admit()
    if wait is None:
        return None
    state.rate_limited += 1
    return _too_many(request, wait)


def _too_many(request: web.Request, wait: float) -> web.Response:
    headers = {"Retry-After": str(max(1, round(wait)))} if request.app[CONFIG].retry_after else None
    return _json(429, {"error": "rate_limited", "message": "too many requests"}, headers)


async def _history(request: web.Request) -> web.Response:
    config, state = request.app[CONFIG], request.app[STATE]
    state.history_requests += 1
    refused = _authorize(request) or _rate_limit(request)
    if refused is not None:
        return refused
    query = read_query(request.query)
    if not isinstance(query, HistoryQuery):
        state.bad_requests += 1
        return _error(400, "bad_data", f"{query[0]}: {query[1]}")
    if all(inbox.id != query.inbox for inbox in config.inboxes):
        state.bad_requests += 1
        return _error(404, "not_found", f"inboxID: no inbox {query.inbox}")
    conversation = state.conversations.get((query.inbox, query.phone))
    if conversation is None:
        return _json(200, [])
    page = conversation.page(query.before, HISTORY_PAGE)
    return _json(200, [message_json(record, conversation) for record in page])


async def _inboxes(request: web.Request) -> web.Response:
    refused = _authorize(request)
    if refused is not None:
        return refused
    inboxes = [
        {
            "id": inbox.id,
            "name": inbox.name,
            "phone": inbox.phone,
            "phones": [inbox.phone] if inbox.phone else [],
            "members": [{"id": member.id, "name": member.name} for member in inbox.members],
        }
        for inbox in request.app[CONFIG].inboxes
    ]
    return _json(200, inboxes)


async def _stats(request: web.Request) -> web.Response:
    return _json(200, request.app[STATE].stats())
