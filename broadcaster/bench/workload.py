"""The campaign every step sends: N rows of distinct, valid US numbers, and the request bodies
the bare baseline posts for the same rows.

Deterministic (row n is always the same person), so runs compare. Numbers are spread over
many area codes and exchanges, written the ways spreadsheets hold them, so the engine parses
what a real list would make it parse; their validity is a unit test's business, not the
bench's.
"""

from __future__ import annotations

from pathlib import Path

import orjson

TEXT = "Hi {{first_name}}, your order is ready for pickup today. Reply STOP to opt out."
HEADER = "phone_number,first_name,city\n"
AREA_CODES = (
    201, 202, 205, 206, 212, 213, 214, 215, 303, 305, 310, 312, 313, 314, 317, 402, 404, 405,
    407, 408, 412, 414, 415, 469, 480, 502, 503, 504, 510, 512, 513, 602, 608, 612, 615, 617,
    619, 626, 646, 650, 702, 704, 713, 714, 718, 720, 757, 763, 801, 804, 808, 813, 816, 818,
    832, 901, 904, 916, 919, 949, 952, 971, 972, 978,
)  # fmt: skip
# Exchanges 200-999 but N11 (service codes such as 411 and 911, never a subscriber's).
EXCHANGES = tuple(code for code in range(200, 1000) if code % 100 != 11)  # noqa: PLR2004
NAMES = ("Maya", "Jordan", "Ana", "Luis", "Priya", "Sam", "Noor", "Chen", "Olga", "Kofi")
CITIES = ("Oakland", "Austin", "Tulsa", "Boise", "Reno", "Tampa", "Salem")
# Stride through exchanges and lines by numbers prime to their counts: consecutive rows land
# far apart, and each row still gets a number of its own.
_EXCHANGE_STRIDE = 337
_LINE_STRIDE = 7919
_LINES = 10_000


def phone_digits(row: int) -> str:
    """Row ``row``'s number as the API takes it: ``1`` and ten digits, distinct per row."""
    rest, area = divmod(row, len(AREA_CODES))
    rest, exchange = divmod(rest, len(EXCHANGES))
    exchange = EXCHANGES[exchange * _EXCHANGE_STRIDE % len(EXCHANGES)]
    line = rest * _LINE_STRIDE % _LINES
    return f"1{AREA_CODES[area]}{exchange}{line:04d}"


def phone_written(row: int) -> str:
    """The same number as a person typed it: three common forms in turn."""
    digits = phone_digits(row)
    area, exchange, line = digits[1:4], digits[4:7], digits[7:]
    forms = (
        f"({area}) {exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"+1 {area} {exchange} {line}",
    )
    return forms[row % len(forms)]


def first_name(row: int) -> str:
    return f"{NAMES[row % len(NAMES)]}{row}"


def write_campaign(path: Path, rows: int) -> Path:
    """The campaign CSV of ``rows`` rows; ``TEXT`` is its --text."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for row in range(rows):
            out.write(f"{phone_written(row)},{first_name(row)},{CITIES[row % len(CITIES)]}\n")
    return path


def write_bodies(path: Path, rows: int, *, run: int, inbox_id: int, creator_id: int) -> Path:
    """The bodies the engine would send for the campaign's rows, one JSON a line.

    Each ``run`` has ``local_id``s of its own (24 characters, as the engine's keys are), so a
    server that de-duplicates sees fresh messages every run, as the engine's runs are.
    """
    with path.open("wb") as out:
        for row in range(rows):
            body = {
                "inbox_id": inbox_id,
                "creator_id": creator_id,
                "phone_number": phone_digits(row),
                "text": TEXT.replace("{{first_name}}", first_name(row)),
                "local_id": f"bare{run:04d}{row:016d}",
            }
            out.write(orjson.dumps(body) + b"\n")
    return path
