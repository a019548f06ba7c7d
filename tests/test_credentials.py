from __future__ import annotations

import time

import pytest

from broadcaster.credentials import ApiKey, Credentials, JwtCredentials, credentials_from
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

    def test_no_credentials_names_both_spellings_and_what_the_command_offers_instead(
        self,
    ) -> None:
        with pytest.raises(UsageError) as err:
            credentials_from({}, instead="--sandbox")
        assert str(err.value) == (
            "no credentials: set HEYMARKET_API_KEY, or HEYMARKET_SECRET_ID and "
            "HEYMARKET_SECRET_KEY (also read as HEYMARKET_API_SECRET_ID and "
            "HEYMARKET_API_SECRET_KEY); or use --sandbox"
        )

    def test_secrets_never_show_in_reprs(self) -> None:
        assert "hunter2" not in repr(ApiKey("hunter2"))
        assert "hunter2" not in repr(JwtCredentials("id-hunter2", "hunter2"))


class TestSecretNames:
    """The JWT pair under this project's names or the ones other integrations use."""

    @pytest.mark.parametrize(
        ("id_name", "key_name"),
        [
            ("HEYMARKET_SECRET_ID", "HEYMARKET_SECRET_KEY"),
            ("HEYMARKET_API_SECRET_ID", "HEYMARKET_API_SECRET_KEY"),
            ("HEYMARKET_SECRET_ID", "HEYMARKET_API_SECRET_KEY"),
            ("HEYMARKET_API_SECRET_ID", "HEYMARKET_SECRET_KEY"),
        ],
    )
    def test_either_name_of_each_half_signs_the_token_and_is_named_as_its_source(
        self, id_name: str, key_name: str
    ) -> None:
        creds = credentials_from({id_name: "team-9", key_name: "k9"})
        token = creds.authorization().removeprefix("Bearer ")
        assert token_is_valid(token, "team-9", "k9", time.time())
        assert creds.source == f"{id_name} and {key_name}"

    @pytest.mark.parametrize(
        ("env", "missing", "spelling"),
        [
            ({"HEYMARKET_API_SECRET_ID": "i"}, "HEYMARKET_API_SECRET_KEY", "API_"),
            ({"HEYMARKET_API_SECRET_KEY": "s"}, "HEYMARKET_API_SECRET_ID", "API_"),
            ({"HEYMARKET_SECRET_ID": "i"}, "HEYMARKET_SECRET_KEY", ""),
            ({"HEYMARKET_SECRET_KEY": "s", "HEYMARKET_API_KEY": "k"}, "HEYMARKET_SECRET_ID", ""),
            (
                {"HEYMARKET_SECRET_ID": "i", "HEYMARKET_API_SECRET_ID": "i"},
                "HEYMARKET_SECRET_KEY",
                "",
            ),
        ],
    )
    def test_half_a_pair_names_the_other_half_in_the_spelling_used(
        self, env: dict[str, str], missing: str, spelling: str
    ) -> None:
        """Half a pair is a mistake even beside an API key: it is never quietly passed over."""
        with pytest.raises(UsageError) as err:
            credentials_from(env)
        assert str(err.value) == (
            f"{missing} is not set: JWT credentials need both HEYMARKET_{spelling}SECRET_ID and "
            f"HEYMARKET_{spelling}SECRET_KEY"
        )

    def test_both_names_of_a_half_with_one_value_are_fine(self) -> None:
        env = {
            "HEYMARKET_SECRET_ID": "team-9",
            "HEYMARKET_API_SECRET_ID": " team-9\r\n",
            "HEYMARKET_SECRET_KEY": "k9",
        }
        creds = credentials_from(env)
        assert token_is_valid(creds.authorization()[7:], "team-9", "k9", time.time())
        assert creds.source == "HEYMARKET_SECRET_ID and HEYMARKET_SECRET_KEY"

    @pytest.mark.parametrize("half", ["ID", "KEY"])
    def test_both_names_of_a_half_with_two_values_are_refused_by_name(self, half: str) -> None:
        env = {"HEYMARKET_SECRET_ID": "i", "HEYMARKET_SECRET_KEY": "k"}
        env[f"HEYMARKET_API_SECRET_{half}"] = "other-s3cret"
        with pytest.raises(UsageError) as err:
            credentials_from(env)
        assert str(err.value) == (
            f"HEYMARKET_SECRET_{half} and HEYMARKET_API_SECRET_{half} are both set, to different "
            "values: they are two names of one setting, so unset one of them"
        )

    def test_a_jwt_pair_comes_before_an_api_key_and_says_so(self) -> None:
        env = {
            "HEYMARKET_API_KEY": "k",
            "HEYMARKET_API_SECRET_ID": "i",
            "HEYMARKET_API_SECRET_KEY": "s",
        }
        creds = credentials_from(env)
        assert isinstance(creds, JwtCredentials)
        assert creds.source == (
            "HEYMARKET_API_SECRET_ID and HEYMARKET_API_SECRET_KEY "
            "(used instead of HEYMARKET_API_KEY, which is set too)"
        )

    def test_an_api_key_is_its_own_source(self) -> None:
        assert credentials_from({"HEYMARKET_API_KEY": "k"}).source == "HEYMARKET_API_KEY"

    @pytest.mark.parametrize(
        "env",
        [
            {"HEYMARKET_API_SECRET_ID": "s3cret-id"},
            {"HEYMARKET_API_SECRET_KEY": "s3cret-key"},
            {"HEYMARKET_SECRET_ID": "s3cret-a", "HEYMARKET_API_SECRET_ID": "s3cret-b"},
            {"HEYMARKET_SECRET_KEY": "s3cret-a", "HEYMARKET_API_SECRET_KEY": "s3cret-b"},
            {"HEYMARKET_API_SECRET_KEY": "s3cret\x1b[0m"},
            {"HEYMARKET_API_SECRET_ID": "s3cret\x00"},
        ],
    )
    def test_no_message_shows_a_value(self, env: dict[str, str]) -> None:
        with pytest.raises(UsageError) as err:
            credentials_from(env)
        assert "s3cret" not in str(err.value)
        assert any(name in str(err.value) for name in env)

    @pytest.mark.parametrize(
        "creds",
        [
            ApiKey("s3cret"),
            JwtCredentials("s3cret-id", "s3cret"),
            credentials_from({"HEYMARKET_API_SECRET_ID": "s3cret", "HEYMARKET_SECRET_KEY": "s3"}),
        ],
    )
    def test_no_repr_or_source_shows_a_value(self, creds: Credentials) -> None:
        assert "s3cret" not in repr(creds)
        assert "s3cret" not in creds.source


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
