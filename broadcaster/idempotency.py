"""Idempotency keys: the ``local_id`` every attempt of one logical send carries.

A key is derived from the campaign name and the message as the API receives it (inbox, target,
content), never from the row's position, so editing, reordering or appending rows leaves an
unchanged row's key alone, on any machine. ``creator_id`` is left out: who sends is not what
is sent. A row's own ``local_id`` wins.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Mapping

import orjson

MAX_KEY_LENGTH = 64
_SCHEME = b"broadcaster-key-v1"
_DIGEST_BYTES = 18  # 144 bits: 24 URL-safe characters
_NOT_KEYED = frozenset({"creator_id", "local_id"})
_VALID_LOCAL_ID = re.compile(r"[A-Za-z0-9._~:-]{1,64}")


def derive_key(campaign: str, body: Mapping[str, object]) -> str:
    """24 URL-safe characters, a pure function of the campaign and the message."""
    keyed = dict(body)
    for name in _NOT_KEYED:
        keyed.pop(name, None)
    targets = keyed.get("targets")
    if isinstance(targets, list):
        # A group conversation is the same group whatever order its members are listed in.
        keyed["targets"] = sorted(str(target) for target in targets)
    digest = _campaign_digest(campaign).copy()
    _update(digest, orjson.dumps(keyed, option=orjson.OPT_SORT_KEYS))
    return base64.urlsafe_b64encode(digest.digest()[:_DIGEST_BYTES]).decode("ascii")


@functools.lru_cache(maxsize=4)
def _campaign_digest(campaign: str) -> hashlib._Hash:
    """The digest with the scheme and the campaign in: copied for every key, not rehashed."""
    digest = hashlib.sha256()
    _update(digest, _SCHEME)
    _update(digest, campaign.encode())
    return digest


def _update(digest: hashlib._Hash, part: bytes) -> None:
    """Each part with its length first, so no two lists of parts hash alike."""
    digest.update(len(part).to_bytes(8, "big"))
    digest.update(part)


def check_local_id(local_id: str) -> str | None:
    """Why a row's own ``local_id`` cannot be a key, or None when it can."""
    if _VALID_LOCAL_ID.fullmatch(local_id):
        return None
    if len(local_id) > MAX_KEY_LENGTH:
        return f"longer than {MAX_KEY_LENGTH} characters"
    return "use only letters, digits and - _ . ~ :"
