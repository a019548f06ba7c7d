"""Credentials from the environment only: ``HEYMARKET_API_KEY``, or ``HEYMARKET_SECRET_ID`` and
``HEYMARKET_SECRET_KEY`` for JWTs. Nothing here ever prints a secret: reprs are redacted."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from broadcaster.errors import UsageError
from broadcaster.tokens import LIFETIME, make_token

API_KEY = "HEYMARKET_API_KEY"
SECRET_ID = "HEYMARKET_SECRET_ID"  # noqa: S105 - the variable's name, not a secret
SECRET_KEY = "HEYMARKET_SECRET_KEY"  # noqa: S105 - the variable's name, not a secret
RENEW_AFTER = LIFETIME - 120.0  # well before the five minutes are up


class Credentials(Protocol):
    def authorization(self) -> str:
        """The Authorization header's value."""
        ...


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str = field(repr=False)

    def authorization(self) -> str:
        return f"Bearer {self.key}"


@dataclass(slots=True)
class JwtCredentials:
    """HS256 JWTs, renewed ``RENEW_AFTER`` seconds after each was issued."""

    secret_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    wall_clock: Callable[[], float] = time.time
    _token: str = field(default="", repr=False)
    _issued: float = field(default=float("-inf"), repr=False)

    def authorization(self) -> str:
        now = self.wall_clock()
        if now - self._issued >= RENEW_AFTER or now < self._issued:
            self._issued = int(now)
            self._token = make_token(self.secret_id, self.secret_key, int(now))
        return f"Bearer {self._token}"


def credentials_from(environ: Mapping[str, str]) -> Credentials:
    """The credentials the environment holds; a clear UsageError when it holds none.

    Values are trimmed: a key pasted from a file saved with Windows line endings ends in a
    carriage return, which no HTTP header may carry.
    """
    secret_id, secret_key = _value(environ, SECRET_ID), _value(environ, SECRET_KEY)
    if secret_id and secret_key:
        return JwtCredentials(secret_id, secret_key)
    if secret_id or secret_key:
        missing = SECRET_KEY if secret_id else SECRET_ID
        raise UsageError(
            f"{missing} is not set: JWT credentials need both {SECRET_ID} and {SECRET_KEY}"
        )
    api_key = _value(environ, API_KEY)
    if api_key:
        return ApiKey(api_key)
    raise UsageError(
        f"no credentials: set {API_KEY}, or {SECRET_ID} and {SECRET_KEY} "
        "(or use --sandbox or --dry-run)"
    )


def _value(environ: Mapping[str, str], name: str) -> str:
    """A variable's value, trimmed; one with a control character inside is refused by name
    (never by value: it is a secret)."""
    value = environ.get(name, "").strip()
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):  # noqa: PLR2004 - C0, DEL
        raise UsageError(f"{name} holds a control character: set it to the key alone")
    return value
