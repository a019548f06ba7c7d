from __future__ import annotations

import warnings

import jwt
import pytest

from broadcaster.tokens import LIFETIME, make_token, token_is_valid

NOW = 1_780_000_000


class TestTokens:
    def test_pyjwt_reads_our_tokens(self) -> None:
        """An independent implementation agrees on header, claims and signature."""
        token = make_token("team-7", "s3cret", NOW)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            claims = jwt.decode(
                token, "team-7||s3cret", algorithms=["HS256"], options={"verify_iat": False}
            )
            header = jwt.get_unverified_header(token)
        assert claims == {"iss": "team-7", "iat": NOW}
        assert header == {"alg": "HS256", "typ": "JWT"}

    def test_we_accept_pyjwt_tokens(self) -> None:
        key = "team-7||" + "k" * 40
        token = jwt.encode({"iss": "team-7", "iat": NOW}, key, algorithm="HS256")
        assert token_is_valid(token, "team-7", "k" * 40, NOW)

    @pytest.mark.parametrize(
        ("offset", "valid"), [(0, True), (LIFETIME, True), (LIFETIME + 1, False), (-31, False)]
    )
    def test_a_token_is_valid_for_five_minutes_from_its_issue(
        self, offset: float, valid: bool
    ) -> None:
        """Valid up to LIFETIME seconds after iat; more than 30 s before it is too early."""
        token = make_token("id", "key", NOW)
        assert token_is_valid(token, "id", "key", NOW + offset) is valid

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.**",
            make_token("other", "key", NOW),
            make_token("id", "nope", NOW),
        ],
    )
    def test_forged_or_broken_tokens_are_invalid(self, token: str) -> None:
        assert not token_is_valid(token, "id", "key", NOW)

    def test_an_unsigned_alg_none_token_is_never_valid(self) -> None:
        """An unsigned token cannot pass, whatever its header claims."""
        token = jwt.encode({"iss": "id", "iat": NOW}, None, algorithm="none")
        assert not token_is_valid(token, "id", "key", NOW)
