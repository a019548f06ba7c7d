"""The API's base URL: an http(s) origin (a scheme, a host, a port), checked before any use.

Credentials come from the environment, never from the URL; the client adds the API's paths.
"""

from __future__ import annotations

from yarl import URL

from broadcaster.credentials import API_KEY, SECRET_ID, SECRET_KEY
from broadcaster.errors import UsageError


def check_base_url(base_url: str) -> None:
    """An http(s) URL of a host (and port) only: the client adds the API's paths."""
    named = "the base URL (--base-url or HEYMARKET_BASE_URL)"
    try:
        url = URL(base_url)
        _ = url.port  # an out-of-range or non-numeric port raises only when read
    except ValueError as exc:
        raise UsageError(f"{named} {base_url!r} is not a URL ({exc})") from None
    if url.user is not None or url.password is not None:
        # Said without the URL itself: it holds the secret.
        raise UsageError(
            f"{named} must not carry a user name or password: credentials come from the "
            f"environment ({API_KEY}, or {SECRET_ID} and {SECRET_KEY})"
        )
    if url.scheme not in ("http", "https") or not url.host or url.port == 0:
        raise UsageError(f"{named} {base_url!r}: expected an http(s) URL")
    if url.path not in ("", "/") or url.query_string or url.fragment:
        # Said without the URL: a query string may hold a secret too.
        raise UsageError(
            f"{named} takes a scheme, a host and a port only, with no path or query: the "
            f"client adds the API's paths, such as /v1/message/send (for example {url.origin()})"
        )
