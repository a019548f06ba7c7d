"""Credentials from the environment only: ``HEYMARKET_API_KEY``, or a secret id and key for JWTs.

Each half of the JWT pair has two names: ``HEYMARKET_SECRET_ID`` / ``HEYMARKET_SECRET_KEY``, and
``HEYMARKET_API_SECRET_ID`` / ``HEYMARKET_API_SECRET_KEY`` as other Heymarket integrations name
them. The rules, so that no choice is made silently:

- both names of one half set to the same value is fine; to different values, an error (which
  one is meant cannot be known);
- the halves may come under different names (``HEYMARKET_SECRET_ID`` with
  ``HEYMARKET_API_SECRET_KEY``): each name means one thing, so the pair is unambiguous;
- a JWT pair comes before ``HEYMARKET_API_KEY``, and a 401 then names the variables used.

Nothing here ever prints a secret: reprs are redacted, and messages name variables, not values.
"""

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
API_SECRET_ID = "HEYMARKET_API_SECRET_ID"  # noqa: S105 - the variable's name, not a secret
API_SECRET_KEY = "HEYMARKET_API_SECRET_KEY"  # noqa: S105 - the variable's name, not a secret
_SPELLINGS = ((SECRET_ID, SECRET_KEY), (API_SECRET_ID, API_SECRET_KEY))  # this project's first
RENEW_AFTER = LIFETIME - 120.0  # well before the five minutes are up


class Credentials(Protocol):
    def authorization(self) -> str:
        """The Authorization header's value."""
        ...

    @property
    def source(self) -> str:
        """The variables these came from, for a message that asks to check them."""
        ...


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str = field(repr=False)
    source: str = API_KEY

    def authorization(self) -> str:
        return f"Bearer {self.key}"


@dataclass(slots=True)
class JwtCredentials:
    """HS256 JWTs, renewed ``RENEW_AFTER`` seconds after each was issued."""

    secret_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    wall_clock: Callable[[], float] = time.time
    source: str = f"{SECRET_ID} and {SECRET_KEY}"
    _token: str = field(default="", repr=False)
    _issued: float = field(default=float("-inf"), repr=False)

    def authorization(self) -> str:
        now = self.wall_clock()
        if now - self._issued >= RENEW_AFTER or now < self._issued:
            self._issued = int(now)
            self._token = make_token(self.secret_id, self.secret_key, int(now))
        return f"Bearer {self._token}"


@dataclass(frozen=True, slots=True)
class _Found:
    """One variable's value, and the name it was found under."""

    name: str
    value: str = field(repr=False)


def credentials_from(
    environ: Mapping[str, str], *, instead: str | None = "--sandbox or --dry-run"
) -> ApiKey | JwtCredentials:
    """The credentials the environment holds; a clear UsageError when it holds none.

    ``instead``: the command's options that need no credentials, offered when none are set
    (None: it has none).
    """
    secret_id = _either(environ, (SECRET_ID, API_SECRET_ID))
    secret_key = _either(environ, (SECRET_KEY, API_SECRET_KEY))
    if secret_id is not None and secret_key is not None:
        source = f"{secret_id.name} and {secret_key.name}"
        if _value(environ, API_KEY):
            source += f" (used instead of {API_KEY}, which is set too)"
        return JwtCredentials(secret_id.value, secret_key.value, source=source)
    half = secret_id or secret_key
    if half is not None:
        raise UsageError(_half_missing(half))
    api_key = _value(environ, API_KEY)
    if api_key:
        return ApiKey(api_key)
    raise UsageError(
        f"no credentials: set {API_KEY}, or {SECRET_ID} and {SECRET_KEY} (also read as "
        f"{API_SECRET_ID} and {API_SECRET_KEY})" + (f"; or use {instead}" if instead else "")
    )


def _either(environ: Mapping[str, str], names: tuple[str, str]) -> _Found | None:
    """One half of the JWT pair under either of its names; both names must agree."""
    found = [_Found(name, value) for name in names if (value := _value(environ, name))]
    if len({each.value for each in found}) > 1:
        raise UsageError(
            f"{found[0].name} and {found[1].name} are both set, to different values: they are "
            "two names of one setting, so unset one of them"
        )
    return found[0] if found else None


def _half_missing(present: _Found) -> str:
    """The missing half, named in the spelling the user chose for the other."""
    id_name, key_name = next(pair for pair in _SPELLINGS if present.name in pair)
    missing = key_name if present.name == id_name else id_name
    return f"{missing} is not set: JWT credentials need both {id_name} and {key_name}"


def _value(environ: Mapping[str, str], name: str) -> str:
    """A variable's value, trimmed; one with a control character inside is refused by name
    (never by value: it is a secret).

    Trimmed: a key pasted from a file saved with Windows line endings ends in a carriage
    return, which no HTTP header may carry.
    """
    value = environ.get(name, "").strip()
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):  # noqa: PLR2004 - C0, DEL
        raise UsageError(f"{name} holds a control character: set it to the key alone")
    return value
