"""``broadcaster inboxes``: reading the API's inbox list, the table, and the command end to end.

The command runs through ``main([...])`` in a worker thread (it starts its own event loop)
while the sandbox is served on the test's loop by aiohttp's test server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from broadcaster.cli import main
from broadcaster.errors import ApiError
from broadcaster.inboxes import Inbox, Member, parse_inboxes, table
from broadcaster.sandbox import SandboxConfig, create_app

DOCUMENTED = [
    {
        "id": 101,
        "name": "Support",
        "phone": "14155550198",
        "phones": ["14155550198"],
        "members": [{"id": 55, "name": "Dana Whitfield"}, {"id": 56, "name": "Luis Ortega"}],
        "created": "2024-01-02T03:04:05Z",  # fields the table does not show are left alone
    },
    {"id": 102, "name": "Marketing", "phone": "14155550199", "members": [{"id": 57, "name": "P"}]},
]
PARSED = (
    Inbox(101, "Support", "14155550198", (Member(55, "Dana Whitfield"), Member(56, "Luis Ortega"))),
    Inbox(102, "Marketing", "14155550199", (Member(57, "P"),)),
)
SANDBOX_TABLE = """\
INBOX ID  NAME       PHONE        MEMBER ID  MEMBER
101       Support    14155550198  55         Dana Whitfield
                                  56         Luis Ortega
102       Marketing  14155550199  57         Priya Raman

use --inbox-id N and --creator-id N (a member id of that inbox), e.g. --inbox-id 101 --creator-id 55
"""
CREDENTIAL_VARIABLES = (
    "HEYMARKET_API_KEY",
    "HEYMARKET_SECRET_ID",
    "HEYMARKET_SECRET_KEY",
    "HEYMARKET_API_SECRET_ID",
    "HEYMARKET_API_SECRET_KEY",
    "HEYMARKET_BASE_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class TestParse:
    def test_reads_the_documented_array(self) -> None:
        assert parse_inboxes(DOCUMENTED) == PARSED

    def test_reads_the_wrapped_shape_alike(self) -> None:
        assert parse_inboxes({"inboxes": DOCUMENTED, "total": 2}) == PARSED

    def test_missing_fields_are_none_and_missing_members_none_at_all(self) -> None:
        assert parse_inboxes([{}, {"id": 7, "members": None}]) == (
            Inbox(None, None, None, ()),
            Inbox(7, None, None, ()),
        )

    @pytest.mark.parametrize(
        ("inbox", "phone"),
        [
            ({"phones": ["14155550101", "14155550102"]}, "14155550101"),
            ({"phone": "", "phones": ["14155550101"]}, "14155550101"),
            ({"phones": [None, {"phone": "14155550103"}]}, "14155550103"),
            ({"phone": 14155550104}, "14155550104"),
            ({"phones": "14155550105"}, None),
            ({"phones": [{"number": "x"}]}, None),
        ],
    )
    def test_the_phone_is_phone_else_the_first_of_phones(
        self, inbox: dict[str, object], phone: str | None
    ) -> None:
        assert parse_inboxes([inbox])[0].phone == phone

    @pytest.mark.parametrize(
        ("value", "parsed"), [(5, 5), ("12", 12), (" 12 ", 12), ("x1", None), (True, None)]
    )
    def test_ids_are_integers_or_digits(self, value: object, parsed: int | None) -> None:
        (inbox,) = parse_inboxes([{"id": value, "members": [{"id": value}]}])
        assert (inbox.id, inbox.members[0].id) == (parsed, parsed)

    def test_names_are_trimmed_and_blank_is_none(self) -> None:
        (inbox,) = parse_inboxes([{"name": " Support ", "members": [{"name": "  "}]}])
        assert (inbox.name, inbox.members[0].name) == ("Support", None)

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            ({"data": [], "meta": {}}, "it is an object with keys 'data', 'meta'"),
            ({}, "it is an empty object"),
            ("<html>", "it is a string"),
            (None, "it is null"),
            ({"inboxes": 3}, "it is a number"),
            ([1], "inbox 1 of the API's list is a number, not an object"),
            ([{}, [101]], "inbox 2 of the API's list is an array, not an object"),
            ([{"members": {"55": "Dana"}}], "members of inbox 1 of the API's list are an object"),
            ([{"members": ["Dana"]}], "a member of inbox 1 of the API's list is a string"),
        ],
    )
    def test_what_is_not_a_list_of_objects_is_an_error(self, payload: object, message: str) -> None:
        with pytest.raises(ApiError, match=message):
            parse_inboxes(payload)


class TestTable:
    def test_aligns_columns_with_one_line_per_member(self) -> None:
        assert table(PARSED).splitlines()[:4] == [
            "INBOX ID  NAME       PHONE        MEMBER ID  MEMBER",
            "101       Support    14155550198  55         Dana Whitfield",
            "                                  56         Luis Ortega",
            "102       Marketing  14155550199  57         P",
        ]

    def test_missing_values_and_no_members_show_as_dashes(self) -> None:
        lines = table([Inbox(None, None, None, ()), Inbox(3, "A", None, (Member(None, None),))])
        assert lines.splitlines()[1:3] == [
            "-         -     -      -          -",
            "3         A     -      -          -",
        ]

    def test_the_footer_gives_ids_that_go_together(self) -> None:
        inboxes = [Inbox(1, "No members", None, ()), Inbox(2, "B", None, (Member(None, "x"),))]
        inboxes.append(Inbox(3, "C", None, (Member(None, "y"), Member(9, "z"))))
        assert table(inboxes).splitlines()[-1] == (
            "use --inbox-id N and --creator-id N (a member id of that inbox), "
            "e.g. --inbox-id 3 --creator-id 9"
        )

    def test_no_usable_pair_means_no_example(self) -> None:
        footer = table([Inbox(None, "A", None, (Member(5, "x"),))]).splitlines()[-1]
        assert footer == "use --inbox-id N and --creator-id N (a member id of that inbox)"

    def test_control_characters_from_the_api_cannot_break_a_row_or_the_terminal(self) -> None:
        text = table([Inbox(1, "Evil\n\x1b[2Jname", None, (Member(2, "a\rb"),))])
        assert "\x1b" not in text
        assert "\r" not in text
        assert (
            text.splitlines()[1] == "1         Evil\ufffd\ufffd[2Jname  -      2          a\ufffdb"
        )

    def test_wide_characters_count_two_columns(self) -> None:
        lines = table([Inbox(1, "客服", None, (Member(2, "x"),)), Inbox(3, "Sales", None, ())])
        first, second = lines.splitlines()[1:3]
        assert first == "1         客服   -      2          x"
        assert second == "3         Sales  -      -          -"

    def test_an_empty_account_says_so(self) -> None:
        assert table([]) == "no inboxes\n"


async def command(argv: list[str]) -> int:
    """``main`` in a worker thread: it runs its own loop while the test's serves the API."""
    return await asyncio.to_thread(main, ["inboxes", *argv])


async def serve(aiohttp_server: AiohttpServer, **config: Any) -> str:
    server: TestServer = await aiohttp_server(create_app(SandboxConfig(**config)))
    return str(server.make_url("")).rstrip("/")


async def serve_handler(
    aiohttp_server: AiohttpServer, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> str:
    app = web.Application()
    app.router.add_get("/v1/inboxes", handler)
    server: TestServer = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class TestCommand:
    async def test_lists_the_sandbox_with_the_api_key(
        self,
        aiohttp_server: AiohttpServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url = await serve(aiohttp_server, api_key="right-key")
        monkeypatch.setenv("HEYMARKET_API_KEY", "right-key")
        assert await command(["--base-url", url]) == 0
        assert capsys.readouterr() == (SANDBOX_TABLE, "")

    async def test_the_base_url_comes_from_the_environment_and_jwts_from_the_other_names(
        self,
        aiohttp_server: AiohttpServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url = await serve(aiohttp_server, api_key="unused", secret_id="team-9", secret_key="k9")
        monkeypatch.setenv("HEYMARKET_BASE_URL", url)
        monkeypatch.setenv("HEYMARKET_API_SECRET_ID", "team-9")
        monkeypatch.setenv("HEYMARKET_API_SECRET_KEY", "k9")
        assert await command([]) == 0
        assert capsys.readouterr().out == SANDBOX_TABLE

    async def test_json_is_the_normalised_array(
        self,
        aiohttp_server: AiohttpServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url = await serve(aiohttp_server)
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")
        assert await command(["--json", "--base-url", url]) == 0
        printed = orjson.loads(capsys.readouterr().out)
        assert printed == [inbox.record() for inbox in parse_inboxes(printed)]
        assert printed[1] == {
            "id": 102,
            "name": "Marketing",
            "phone": "14155550199",
            "members": [{"id": 57, "name": "Priya Raman"}],
        }

    async def test_a_wrong_key_is_refused_in_one_line_that_does_not_show_it(
        self,
        aiohttp_server: AiohttpServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url = await serve(aiohttp_server, api_key="right-key")
        monkeypatch.setenv("HEYMARKET_API_KEY", "wrong-key-s3cret")
        assert await command(["--base-url", url]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err == (
            "error: the API refused the credentials (HTTP 401 unauthorized: invalid or expired "
            "token): check HEYMARKET_API_KEY\n"
        )
        assert "s3cret" not in out + err

    async def test_a_wrong_jwt_names_the_variables_it_came_from(
        self,
        aiohttp_server: AiohttpServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url = await serve(aiohttp_server, secret_id="team-9", secret_key="right")
        monkeypatch.setenv("HEYMARKET_SECRET_ID", "team-9")
        monkeypatch.setenv("HEYMARKET_API_SECRET_KEY", "wrong-s3cret")
        assert await command(["--base-url", url]) == 2
        err = capsys.readouterr().err
        assert err.endswith("check HEYMARKET_SECRET_ID and HEYMARKET_API_SECRET_KEY\n")
        assert "s3cret" not in err

    @pytest.mark.parametrize(
        ("response", "message"),
        [
            (
                web.Response(text="<html>\nupstream hiccup</html>", content_type="text/html"),
                "HTTP 200 with a body that is not JSON: '<html>\\nupstream hiccup</html>'",
            ),
            (
                web.json_response({"data": []}),
                "the API's inbox list is not an array of inboxes",
            ),
            (web.Response(status=502, text="bad gateway"), "inboxes: HTTP 502: 'bad gateway'"),
        ],
    )
    async def test_a_server_answering_garbage_is_one_line(
        self,
        aiohttp_server: AiohttpServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        response: web.Response,
        message: str,
    ) -> None:
        async def garbage(_: web.Request) -> web.Response:
            return response

        url = await serve_handler(aiohttp_server, garbage)
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")
        assert await command(["--base-url", url]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ")
        assert message in err
        assert err.count("\n") == 1

    def test_a_refused_connection_is_one_line(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        closed_port: int,
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")
        assert main(["inboxes", "--base-url", f"http://127.0.0.1:{closed_port}"]) == 2
        assert capsys.readouterr().err == (
            f"error: GET http://127.0.0.1:{closed_port}/v1/inboxes: cannot connect to "
            f"127.0.0.1:{closed_port}: Connection refused\n"
        )

    async def test_no_answer_within_the_timeout_is_one_line(
        self,
        aiohttp_server: AiohttpServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        release = asyncio.Event()

        async def stalled(_: web.Request) -> web.Response:
            await release.wait()
            return web.json_response([])

        url = await serve_handler(aiohttp_server, stalled)
        monkeypatch.setenv("HEYMARKET_API_KEY", "k")
        try:
            assert await command(["--base-url", url, "--timeout", "0.05"]) == 2
        finally:
            release.set()
        assert capsys.readouterr().err.endswith("/v1/inboxes: no response within 0.05s\n")

    def test_sandbox_needs_no_credentials(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["inboxes", "--sandbox"]) == 0
        assert capsys.readouterr() == (SANDBOX_TABLE, "")

    def test_sandbox_and_a_base_url_are_one_or_the_other(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["inboxes", "--sandbox", "--base-url", "http://127.0.0.1:1"]) == 2
        assert "not allowed with argument --sandbox" in capsys.readouterr().err

    def test_no_credentials_offers_the_sandbox(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["inboxes"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: no credentials: set HEYMARKET_API_KEY, or ")
        assert err.endswith("; or use --sandbox\n")

    def test_the_base_url_is_checked_before_credentials(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HEYMARKET_BASE_URL", "ftp://example.com")
        assert main(["inboxes"]) == 2
        assert "'ftp://example.com': expected an http(s) URL" in capsys.readouterr().err
