"""Phone numbers in the API's form: E.164 digits without the ``+`` (``14155551234``)."""

from __future__ import annotations

import re

from broadcaster.fields import FieldError

_DECORATION = re.compile(r"[\s\-.()\u00a0]")
_MIN_DIGITS = 11
_MAX_DIGITS = 15
_NATIONAL_DIGITS = 10
_MAX_COUNTRY_DIGITS = 3


def normalize_phone(raw: str, default_country_code: str | None = None) -> str:
    """Strip the ways people write numbers, add the country code to national numbers.

    ``+1 (415) 555-1234``, ``1.415.555.1234`` and ``14155551234`` all give ``14155551234``;
    ``415-555-1234`` does too when the default country code is ``1``.
    """
    text = raw.strip()
    digits = _DECORATION.sub("", text.removeprefix("+"))
    if not digits:
        raise FieldError("empty phone number")
    if not (digits.isascii() and digits.isdigit()):
        raise FieldError(f"{raw.strip()!r} is not a phone number")
    if len(digits) == _NATIONAL_DIGITS and not text.startswith("+"):
        if default_country_code is None:
            raise FieldError(
                f"{raw.strip()!r} has 10 digits and no country code "
                "(write it in full, or pass --default-country-code)"
            )
        digits = default_country_code + digits
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        raise FieldError(f"{raw.strip()!r} has {len(digits)} digits; expected 11 to 15")
    return digits


def parse_country_code(text: str) -> str:
    """``1``, ``+44``: one to three digits."""
    code = text.strip().removeprefix("+")
    if not (
        code.isascii()
        and code.isdigit()
        and 1 <= len(code) <= _MAX_COUNTRY_DIGITS
        and code[0] != "0"
    ):
        raise ValueError(f"country code {text!r}: expected 1 to 3 digits, such as 1 or 44")
    return code
