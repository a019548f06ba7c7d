"""Phone numbers in the API's form: E.164 digits without the ``+`` (``14155551234``).

Reading, validation and formatting are Google's libphonenumber (the ``phonenumbers``
package); this module decides which text it is given and in what order:

1. The raw text must look like a phone number and nothing else: ASCII digits, spaces
   (no-break spaces too), ``-``, ``.``, ``(``, ``)``, ``/`` and one leading ``+``. Left to
   itself the library pulls a number out of surrounding text, reads vanity letters
   (``1-800-FLOWERS``) and keeps extensions, none of which a text message can reach, so
   letters are refused with the reason. A spreadsheet float (``14155550132.0``,
   ``1.4155550132E+10``) is refused too, never repaired: the ``.0`` would become a digit
   and scientific notation has already lost digits, so the only fix is to format the column
   as text.
2. A leading ``+`` means international: the country code follows.
3. Otherwise the text is read as written in the region (``--region``, US by default): its
   national form with any trunk ``0`` (``07911 123456`` in GB), its international prefix
   (``011 44 …`` in US) or its own country code first (``14155551234`` in US).
   One exception comes first: in a region whose national numbers start with a trunk prefix
   (``0`` in DE, ``1`` in US), digits that start with the region's country code are read as
   that country code first when this gives a valid number. The library alone reads
   ``4915123456789`` in DE as a national number, +49 4915123456789, which its loose German
   ranges call valid; a German writes that number ``0151 23456789`` nationally, so digits
   starting ``49`` there mean the country code. Regions without a trunk prefix (IT, ES, NO)
   write national numbers bare, so there the national reading stays first.
4. Only if that is not a valid number is it read as the API writes numbers: country code and
   digits without the ``+`` (``447911123456``), or after the ``00`` international prefix most
   countries use (``00 44 …``); written with spaces or dashes, only when the country code is
   its first group of digits (``44 7911 123456``). A national number with a digit too many
   is refused, not read as another country's: ``(415) 555-26711`` is not +41 555 526711.

The region wins because ambiguity is common, not rare: about one valid ten-digit US number
in ten is also a valid international number when read as ``+`` and its digits, so refusing
ambiguous numbers would refuse good rows. Numbers of other countries are written with a
``+``, or with their country code where the region's reading fails.

Numbers in the canonical API form of the North American plan (``14155551234`` or
``4155551234`` in a +1 region) skip ``phonenumbers.parse``: for them its result is known (see
``_nanp_fast_path``), and a property test checks the two paths agree. Their validity is the
library's too, asked once per prefix of the digits that decide it (``nanpranges``).
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult

from broadcaster.fields import FieldError, shown
from broadcaster.inputs import DEFAULT_REGION as DEFAULT_REGION  # noqa: PLC0414 - see inputs
from broadcaster.nanpranges import NanpVerdicts, nanp_rule

_SPACES = " \u00a0\u2007\u202f"  # space, no-break, figure and narrow no-break space
# Unicode format characters a copy from a web page or a spreadsheet brings along, invisible:
# zero-width spaces and joiners, direction marks, embeddings and isolates, the BOM, the soft
# hyphen.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_ALLOWED = re.compile(rf"\+?[0-9{_SPACES}\-.()/]*")
_SPREADSHEET = re.compile(r"\+?[0-9]+(?:\.0+|(?:\.[0-9]+)?[eE][+-]?[0-9]+)")
_EXTENSION = re.compile(r"[0-9]\W*(?:ext(?:ension)?|x)\W*[0-9]+$", re.IGNORECASE)
_NOT_DIGIT = re.compile(r"[^0-9]")
_DIGIT_GROUPS = re.compile(r"[0-9]+")
_MAX_COUNTRY_CODE_DIGITS = 3

_NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
# The ways the North American plan's numbers are written: the API's digits, +1, a trunk 1,
# the area code in parentheses, and a space, dot or dash between the groups.
_NANP_WRITTEN = re.compile(
    r"(\+)?(?:1[ .-]?)?(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))[ .-]?([0-9]{3})[ .-]?([0-9]{4})"
)

_WHY_NOT_POSSIBLE = {  # {where} names the country code, when it is not the region's own
    ValidationResult.TOO_SHORT: "too short{where}",
    ValidationResult.TOO_LONG: "too long{where}",
    ValidationResult.INVALID_LENGTH: "the wrong number of digits{where}",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short{where}",
    ValidationResult.IS_POSSIBLE: "not in a number range in use{where}",
}
_WHY_NOT_PARSED = {
    NumberParseException.INVALID_COUNTRY_CODE: "no such country code",
    NumberParseException.NOT_A_NUMBER: "too short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 digits without '+', or raise FieldError with a reason a user reads.

    ``region`` is a code from ``phonenumbers.SUPPORTED_REGIONS`` (see ``parse_region``); an
    unknown one raises a plain ``ValueError``, since it is the caller's mistake, not the row's.
    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}")
    text = raw.strip()
    fast = _nanp_fast_path(text, region)
    if fast is not None:
        return fast
    return _normalize(text, region)


def parse_region(text: str) -> str:
    """``--region``: a two-letter region code, any case: ``us``, `` GB `` give ``US``, ``GB``."""
    region = text.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"region {text!r}: expected a two-letter country code such as US, GB or DE"
        )
    return region


def region_for_country_code(text: str) -> str:
    """The old ``--default-country-code``: ``1`` or ``+1`` give ``US``, ``44`` gives ``GB``.

    A code shared by several regions gives its main one (``1`` is ``US``, ``7`` is ``RU``),
    which reads the same national numbers.
    """
    code = text.strip().removeprefix("+")
    if code.isascii() and code.isdigit() and len(code) <= _MAX_COUNTRY_CODE_DIGITS:
        region = phonenumbers.region_code_for_country_code(int(code))
        if region in phonenumbers.SUPPORTED_REGIONS:
            return region
    raise ValueError(f"country code {text!r}: expected a country's calling code, such as 1 or 44")


def _normalize(text: str, region: str) -> str:
    """The policy of the module docstring, on stripped text."""
    text = _INVISIBLE.sub("", text).strip()  # pasted from a page: marks no one can see
    text = text.removeprefix("'").strip()  # a spreadsheet's "keep this as text" mark
    _check_characters(text)
    if text.startswith("+"):
        number, why = _valid(text, None)
        if number is None:
            raise FieldError(f"{shown(text)} is not a valid phone number: {why}")
        return _api_form(number)
    digits = _NOT_DIGIT.sub("", text)
    own_code = _own_code_when_trunk_prefixed(region)
    if own_code is not None and digits.startswith(own_code):
        number, _ = _valid("+" + digits, None)
        if number is not None:
            return _api_form(number)
    number, why = _valid(text, region)
    if number is None:
        number, _ = _valid("+" + digits.removeprefix("00"), None)
        if number is not None and not _code_written_first(text, number.country_code):
            number = None  # (415) 555-26711: a US number with a digit too many, not +41
    if number is None:
        raise FieldError(
            f"{shown(text)} is not a valid phone number in {region}: {why} "
            "(write it with + and the country code, or pass --region)"
        )
    return _api_form(number)


def _code_written_first(text: str, code: int | None) -> bool:
    """Whether text read as a country code and digits was written so: one run of digits (the
    API's form, ``447911123456``), the ``00`` prefix first (``00 44 …``, ``0044 …``), or the
    code as its first group of digits (``44 7911 123456``). Digits grouped otherwise (``4420
    7946 0958``, refused) were written as a national number, and one with a digit too many
    is not another country's: ``(415) 555-26711`` and ``415 555 26 71 1`` would be +41
    (Switzerland), ``(312) 345-67890`` +31 (the Netherlands)."""
    groups: list[str] = _DIGIT_GROUPS.findall(text)
    if len(groups) == 1 or groups[0].startswith("00"):  # 00: dialled abroad, as written
        return True
    return groups[0] == str(code)


def _nanp_fast_path(text: str, region: str) -> str | None:
    """``14155551234``, ``(415) 555-1234`` or ``1.415.555.1234`` in a +1 region, and
    ``+1 415 555 1234`` in any, without ``phonenumbers.parse``.

    The library drops the spaces, dots, dashes and parentheses before it reads the digits, so
    a written form reads as its digits do (``+1`` and ten digits in any region, as the
    country-code-first reading below).

    Every reading of these strings by the full path gives country code 1 and the ten digits.
    ``parse("+1" + ten, None)`` (the country-code-first reading of ``1…``): 1 is a whole country
    code, and the US national prefix ``1`` cannot match ten digits starting 2-9.
    ``parse(text, region)``: the regions' international prefix is ``011``, so it cannot match;
    eleven digits are too long for any +1 region, so a leading ``1`` is the country code; and
    no +1 region's national prefix pattern (``1``, or seven digits to the end) matches ten
    digits starting 2-9. So the full path answers these digits exactly when they are valid.
    ``None`` (take the full path) otherwise, so refusals and their reasons come from one place.
    """
    match = _NANP_WRITTEN.fullmatch(text)
    if match is None:
        return None
    plus, bracketed, area, exchange, line = match.groups()
    if plus is not None and not text.startswith("+1"):
        return None  # + and ten digits: another country's code
    if plus is None and region not in _NANP_REGIONS:
        return None
    national = (bracketed or area) + exchange + line
    if not _nanp_verdicts().is_valid(national):
        return None
    return "1" + national


def _check_characters(text: str) -> None:
    if not text:
        raise FieldError("empty phone number")
    if _SPREADSHEET.fullmatch(text):
        raise FieldError(
            f"{shown(text)} looks like a spreadsheet number, not a phone number "
            "(format the column as text)"
        )
    if _ALLOWED.fullmatch(text):
        if not any(char.isdigit() for char in text):
            raise FieldError(f"{shown(text)} has no digits")
        return
    if _EXTENSION.search(text):
        raise FieldError(f"{shown(text)} has an extension, which a text message cannot reach")
    if any(char.isalpha() for char in text):
        raise FieldError(f"{shown(text)} has letters; write the phone number in digits only")
    if "+" in text[1:]:
        raise FieldError(f"{shown(text)} has a '+' that is not at the start")
    if any(char.isdigit() for char in text if not char.isascii()):
        raise FieldError(f"{shown(text)} has digits other than 0-9")
    odd = next(char for char in text.removeprefix("+") if not _ALLOWED.fullmatch(char))
    raise FieldError(f"{shown(text)} has {odd!r}, which is not part of a phone number")


def _valid(text: str, region: str | None) -> tuple[PhoneNumber | None, str]:
    """The number if ``text`` parses to a valid one, else ``None`` and why not.

    The reason names the country code unless it is the region's own.
    """
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return None, _WHY_NOT_PARSED.get(exc.error_type, "not a phone number")
    if number.extension is not None:  # pragma: no cover - letters and '#' are refused first
        return None, "it has an extension"
    if phonenumbers.is_valid_number(number):
        return number, ""
    code = number.country_code
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        return None, f"+{code} is not a country code"
    where = (
        "" if region and phonenumbers.country_code_for_region(region) == code else f" for +{code}"
    )
    why = _WHY_NOT_POSSIBLE.get(reason, "not a phone number{where}")
    return None, why.format(where=where)


@functools.cache
def _nanp_verdicts() -> NanpVerdicts:
    return NanpVerdicts(nanp_rule())


@functools.cache
def _own_code_when_trunk_prefixed(region: str) -> str | None:
    """The region's country code, if its national numbers start with a trunk prefix."""
    if phonenumbers.ndd_prefix_for_region(region, strip_non_digits=True) is None:
        return None
    return str(phonenumbers.country_code_for_region(region))


def _api_form(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164).removeprefix("+")
