"""Recognisable secrets, and a scan of bytes for them in every form a leak could take.

A canary is ``KIND-LEAKCANARY-<32 hex>``: the marker finds any of them, or a prefix of one; the
random part finds one whose prefix was cut off. Beside the plain text (in any case), each secret
is looked for hex-encoded and base64-encoded (standard and URL-safe, at each of the three
alignments it can have inside a longer encoded string), and a JWT pair also as its signing key
(``ID||KEY``), the start of its token's payload, and each token it could have signed while the
runs went on. Any bearer header, and anything shaped as a JWT, is a leak too, whoever's it is.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from broadcaster.tokens import make_token

MARKER = "LEAKCANARY"
_CONTEXT = 40
_SHORTEST = 8  # a shorter encoded piece could turn up by chance
_PATTERNS = {
    "a bearer header": re.compile(rb"(?i)bearer\s+(?!token\b)\S"),  # "bearer token" is help text
    "a JWT": re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."),
}


def canary(kind: str) -> str:
    """A secret no output could hold by chance: ``kind-LEAKCANARY-<32 hex>``."""
    return f"{kind}-{MARKER}-{secrets.token_hex(16)}"


@dataclass(frozen=True, slots=True)
class Leak:
    where: str
    what: str
    context: bytes

    def __str__(self) -> str:
        return f"{self.where}: {self.what} in {self.context!r}"


def _encoders() -> list[Callable[[bytes], bytes]]:
    return [base64.b64encode, base64.urlsafe_b64encode]


def base64_pieces(raw: bytes) -> set[bytes]:
    """The part of ``raw``'s base64 that every base64 text holding ``raw`` holds, whatever the
    bytes before it: one piece for each alignment and alphabet."""
    pieces = set()
    for encode in _encoders():
        for shift in range(3):
            encoded = encode(b"\0" * shift + raw)
            start = 4 if shift else 0  # the first group mixes in the bytes before
            piece = encoded[start : 4 * ((shift + len(raw)) // 3)]
            if len(piece) >= _SHORTEST:
                pieces.add(piece)
    return pieces


@dataclass
class Scanner:
    """What counts as a leak, and a ``scan`` of named bytes for it."""

    _folded: dict[bytes, str] = field(default_factory=dict)  # plain text, any case
    _exact: dict[bytes, str] = field(default_factory=dict)  # encodings: case matters
    secret_count: int = 0

    def __post_init__(self) -> None:
        self._folded[MARKER.lower().encode()] = f"the marker {MARKER}"

    def add_secret(self, label: str, value: str) -> None:
        raw = value.encode()
        self.secret_count += 1
        self._folded[raw.lower()] = label
        self._folded[raw.rpartition(b"-")[2].lower()] = f"the random part of {label}"
        self._exact[raw.hex().encode()] = f"{label}, hex-encoded"
        for piece in base64_pieces(raw):
            self._exact[piece] = f"{label}, base64-encoded"

    def add_jwt_pair(self, label: str, secret_id: str, secret_key: str, issued: range) -> None:
        """The pair, its signing key, and the tokens it signs at each second of ``issued``."""
        self.add_secret(f"{label}: the secret id", secret_id)
        self.add_secret(f"{label}: the secret key", secret_key)
        self.add_secret(f"{label}: the signing key ID||KEY", f"{secret_id}||{secret_key}")
        payload = f'{{"iss":"{secret_id}","iat":'.encode()
        for piece in base64_pieces(payload):
            self._exact[piece] = f"{label}: a token's payload"
        for second in issued:
            token = make_token(secret_id, secret_key, second).encode()
            self._exact[token] = f"{label}: a token"
            self._exact[token.rpartition(b".")[2]] = f"{label}: a token's signature"

    def scan(self, where: str, data: bytes) -> list[Leak]:
        found = [
            *self._found(where, data.lower(), data, self._folded),
            *self._found(where, data, data, self._exact),
        ]
        for what, pattern in _PATTERNS.items():
            found += [self._leak(where, what, data, hit.start()) for hit in pattern.finditer(data)]
        return found

    def scan_all(self, artifacts: Iterable[tuple[str, bytes]]) -> list[Leak]:
        return [leak for where, data in artifacts for leak in self.scan(where, data)]

    def _found(
        self, where: str, haystack: bytes, data: bytes, needles: dict[bytes, str]
    ) -> list[Leak]:
        return [
            self._leak(where, what, data, at)
            for needle, what in needles.items()
            if (at := haystack.find(needle)) >= 0
        ]

    @staticmethod
    def _leak(where: str, what: str, data: bytes, at: int) -> Leak:
        return Leak(where, what, data[max(0, at - _CONTEXT) : at + _CONTEXT * 2])
