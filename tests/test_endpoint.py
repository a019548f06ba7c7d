"""The base URL check: an http(s) origin, and plain http only to this machine unless allowed."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from broadcaster.endpoint import check_base_url, is_loopback
from broadcaster.errors import UsageError


@pytest.mark.parametrize(
    "url",
    [
        "https://api.heymarket.com",
        "https://staging.example.com:8443/",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost:9000",
        "http://LOCALHOST.",
        "http://api.localhost",
        "http://[::1]:8080",
    ],
)
def test_https_anywhere_and_http_to_this_machine_pass(url: str) -> None:
    check_base_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.heymarket.com",
        "http://10.0.0.5:8080",
        "http://192.168.1.20",
        "http://[2001:db8::1]",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0:8080",
    ],
)
def test_plain_http_to_another_machine_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UsageError) as raised:
        check_base_url(url)
    message = str(raised.value)
    assert "is plain http to another machine" in message
    assert "Use https, or, for a test server you trust on your own network, add " in message
    assert message.endswith("--allow-insecure-http")
    with capture_logs() as logs:
        check_base_url(url, allow_insecure_http=True)
    (warning,) = logs  # allowed, and said: nothing crosses the network in the clear unsaid
    assert warning["event"] == "insecure http"
    assert "cross the network unencrypted" in warning["note"]


def test_a_password_is_refused_before_the_scheme_is_judged_and_never_repeated() -> None:
    with pytest.raises(UsageError) as raised:
        check_base_url("http://me:hunter2@example.com", allow_insecure_http=True)
    assert "must not carry a user name or password" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert not is_loopback("::")
    assert not is_loopback("example.com")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:hunter2@127.0.0.1:80800", "http://…@127.0.0.1:80800"),
        ("http://u:hunter2@[::1", "http://…@[::1"),
        ("ftp://api.example.com/?api_key=hunter2", "ftp://api.example.com/?…"),
        ("http://10.0.0.1/#hunter2", "http://10.0.0.1/#…"),
        ("https://api.heymarket.com", "https://api.heymarket.com"),
        ("user:hunter2@host", "…@host"),  # no scheme: what comes before @ may be one
        ("host/a@b", "…@b"),  # no scheme: anything before an @ may be a password
        ("http://user:pa/ss@example.com:99999", "http://…@example.com:99999"),
        ("http://user:pa#ss@example.com", "http://…@example.com"),
        ("http://user:p@ss?x@example.com", "http://…@example.com"),
    ],
)
def test_a_url_is_shown_without_what_may_be_a_secret(url: str, shown: str) -> None:
    from broadcaster.endpoint import shown_url  # noqa: PLC0415

    assert shown_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@127.0.0.1:80800",
        "http://user:hunter2@127.0.0.1:8o80",
        "ftp://api.example.com/?api_key=hunter2",
        "gopher://x?token=hunter2",
        "user:hunter2@127.0.0.1",
        "http://user:hun/ter2@example.com:99999",
        "http://user:hun#ter2@example.com",
        "http://user:hun?ter2@example.com",
    ],
)
def test_a_url_refused_for_any_reason_never_repeats_a_secret(url: str) -> None:
    with pytest.raises(UsageError) as raised:
        check_base_url(url)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("url", ["https://exa mple.com", "https://api.heymarket.com "])
def test_a_space_in_the_url_is_refused_not_sent_to_dns(url: str) -> None:
    with pytest.raises(UsageError, match="has a space in it: a URL has none"):
        check_base_url(url)
