"""The API's base URL: an http(s) origin (a scheme, a host, a port), checked before any use.

Credentials come from the environment, never from the URL; the client adds the API's paths.
Plain http would carry them in the clear, so it is for this machine alone (a sandbox, a local
stand-in) unless the user says ``--allow-insecure-http``. TLS certificates are always checked
(aiohttp's default context; nothing turns it off).
"""

from __future__ import annotations

import ipaddress
import re

import structlog
from yarl import URL

from broadcaster.credentials import API_KEY, SECRET_ID, SECRET_KEY
from broadcaster.errors import UsageError

log = structlog.get_logger("broadcaster")

INSECURE_FLAG = "--allow-insecure-http"
# Everything to the last @ after the scheme (or from the start without one): a password may
# hold a / ? or # typed raw, so the first of those does not end it.
_USERINFO = re.compile(r"(?:(?<=//)|^(?![a-z][a-z0-9+.-]*://)).*@", re.IGNORECASE | re.DOTALL)


def check_base_url(base_url: str, *, allow_insecure_http: bool = False) -> None:
    """An http(s) URL of a host (and port) only: the client adds the API's paths; plain http
    only to this machine, unless ``allow_insecure_http``."""
    named = "the base URL (--base-url or HEYMARKET_BASE_URL)"
    shown = repr(shown_url(base_url))
    try:
        url = URL(base_url)
        _ = url.port  # an out-of-range or non-numeric port raises only when read
    except ValueError as exc:
        raise UsageError(f"{named} {shown} is not a URL ({exc})") from None
    if url.user is not None or url.password is not None:
        # Said without the URL itself: it holds the secret.
        raise UsageError(
            f"{named} must not carry a user name or password: credentials come from the "
            f"environment ({API_KEY}, or {SECRET_ID} and {SECRET_KEY})"
        )
    if any(char.isspace() for char in base_url):  # yarl keeps it, in the host too
        raise UsageError(f"{named} {shown} has a space in it: a URL has none")
    if url.scheme not in ("http", "https") or not url.host or url.port == 0:
        raise UsageError(f"{named} {shown}: expected an http(s) URL")
    if url.path not in ("", "/") or url.query_string or url.fragment:
        # Said without the URL: a query string may hold a secret too.
        raise UsageError(
            f"{named} takes a scheme, a host and a port only, with no path or query: the "
            f"client adds the API's paths, such as /v1/message/send (for example {url.origin()})"
        )
    if url.scheme == "http" and not is_loopback(url.host):
        if not allow_insecure_http:
            raise UsageError(
                f"{named} {shown} is plain http to another machine: the credentials and every "
                f"message would cross the network unencrypted. Use https, or, for a test "
                f"server you trust on your own network, add {INSECURE_FLAG}"
            )
        log.warning(
            "insecure http",
            host=url.host,
            note=f"{INSECURE_FLAG}: the credentials and every message cross the network "
            "unencrypted",
        )


def shown_url(text: str) -> str:
    """A URL as a message may show it: a user name, password, query or fragment, which may
    hold a secret, replaced by "…" (said of any text, a URL or not)."""
    text = _USERINFO.sub("…@", text, count=1)
    for mark in "?#":
        head, found, _ = text.partition(mark)
        text = head + (mark + "…" if found else "")
    return text


def is_loopback(host: str) -> bool:
    """A host name that can only mean this machine: localhost, 127.0.0.0/8, ::1."""
    name = host.lower().rstrip(".").strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
