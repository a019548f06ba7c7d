"""Heymarket's JWT credentials: HS256 over ``{"iss": SECRET_ID, "iat": seconds}``, signed with
``SECRET_ID||SECRET_KEY``, good for five minutes after ``iat``.

Written out rather than taken from a JWT library: HS256 is a dozen lines of ``hmac``, and the
libraries warn about (or refuse) signing keys shorter than 32 bytes, which is not ours to choose.
The tests check these tokens against PyJWT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import orjson

LIFETIME = 300.0
_HEADER = {"alg": "HS256", "typ": "JWT"}
_CLOCK_SKEW = 30.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(signing_input: str, secret_id: str, secret_key: str) -> bytes:
    key = f"{secret_id}||{secret_key}".encode()
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def make_token(secret_id: str, secret_key: str, issued_at: int) -> str:
    """A bearer token issued at ``issued_at`` (unix seconds)."""
    header = _b64(orjson.dumps(_HEADER))
    payload = _b64(orjson.dumps({"iss": secret_id, "iat": issued_at}))
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64(_signature(signing_input, secret_id, secret_key))}"


def token_is_valid(token: str, secret_id: str, secret_key: str, now: float) -> bool:
    """True for an HS256 token from ``secret_id``, correctly signed and not yet expired."""
    parts = token.split(".")
    if len(parts) != 3:  # noqa: PLR2004 - header, payload, signature
        return False
    header, payload, signature = parts
    expected = _signature(f"{header}.{payload}", secret_id, secret_key)
    try:
        if not hmac.compare_digest(_unb64(signature), expected):
            return False
        head, claims = orjson.loads(_unb64(header)), orjson.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        return False
    if not isinstance(head, dict) or head.get("alg") != "HS256" or not isinstance(claims, dict):
        return False
    issued = claims.get("iat")
    if claims.get("iss") != secret_id or not isinstance(issued, int | float):
        return False
    return issued - _CLOCK_SKEW <= now <= issued + LIFETIME
