from __future__ import annotations

import pytest

from broadcaster.credentials import ApiKey, JwtCredentials, credentials_from
from broadcaster.errors import UsageError
from broadcaster.tokens import token_is_valid


class TestFromEnvironment:
    def test_an_api_key_is_sent_as_a_bearer_token(self) -> None:
        creds = credentials_from({"HEYMARKET_API_KEY": "k-123"})
        assert creds.authorization() == "Bearer k-123"

    def test_jwt_wins_when_both_are_set(self) -> None:
        env = {"HEYMARKET_API_KEY": "k", "HEYMARKET_SECRET_ID": "i", "HEYMARKET_SECRET_KEY": "s"}
        assert isinstance(credentials_from(env), JwtCredentials)

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            ({}, "no credentials: set HEYMARKET_API_KEY"),
            ({"HEYMARKET_SECRET_ID": "i"}, "HEYMARKET_SECRET_KEY is not set"),
            ({"HEYMARKET_SECRET_KEY": "s"}, "HEYMARKET_SECRET_ID is not set"),
        ],
    )
    def test_missing_credentials_name_the_variable_to_set(
        self, env: dict[str, str], message: str
    ) -> None:
        with pytest.raises(UsageError, match=message):
            credentials_from(env)

    def test_secrets_never_show_in_reprs(self) -> None:
        assert "hunter2" not in repr(ApiKey("hunter2"))
        assert "hunter2" not in repr(JwtCredentials("id-hunter2", "hunter2"))


class TestJwtRenewal:
    def test_a_token_is_reused_then_renewed_well_before_expiry(self) -> None:
        now = [1_780_000_000.0]
        creds = JwtCredentials("id", "key", wall_clock=lambda: now[0])
        first = creds.authorization()
        now[0] += 170
        assert creds.authorization() == first
        now[0] += 10  # three minutes after issue: renewed, two minutes before it would expire
        second = creds.authorization()
        assert second != first
        token = second.removeprefix("Bearer ")
        assert token_is_valid(token, "id", "key", now[0] + 299)

    def test_a_clock_stepping_back_renews(self) -> None:
        now = [1_780_000_000.0]
        creds = JwtCredentials("id", "key", wall_clock=lambda: now[0])
        first = creds.authorization()
        now[0] -= 3600
        assert creds.authorization() != first


class TestValues:
    def test_a_key_saved_with_windows_line_endings_is_trimmed(self) -> None:
        assert credentials_from({"HEYMARKET_API_KEY": "k-123\r\n"}).authorization() == (
            "Bearer k-123"
        )

    def test_a_control_character_inside_is_refused_by_name_not_value(self) -> None:
        with pytest.raises(UsageError, match="HEYMARKET_API_KEY holds a control character") as err:
            credentials_from({"HEYMARKET_API_KEY": "top\x00secret"})
        assert "secret" not in str(err.value)
