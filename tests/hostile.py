"""The hostile-input corpus: nasty campaign files, built at test time (nothing big is committed),
each with what reading it must give. A file unusable as a whole is one error naming it; any
other file gives one row per record, its problem naming the line and the field, and the good
rows around the bad ones are still read (and sent).

Good rows are written by ``csv_row`` and ``jsonl_row``: each a different valid number, so no
two are duplicates; ``inbox_id`` and ``creator_id`` come from the command line (``OPTIONS``).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

OPTIONS = ("--inbox-id", "101", "--creator-id", "55")
HEADER = b"phone_number,text,name\n"
# The words users are shown, written out (as tests/reading.py does): a change is seen here.
ROW_TOO_LONG = "row: is longer than the limit of 1,048,576 bytes"
TOO_LONG = "is longer than the limit of 131,072 characters"
NOT_UTF8 = "is not valid UTF-8 text"
TOO_DEEP = "is nested deeper than the limit of 8 levels"
TEN_MB = 10_000_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Invisible characters people paste with a number: right-to-left mark, zero-width space and
# joiner, a BOM inside the text, left-to-right embedding and its pop.
INVISIBLE = "\u200f\u200b\u200d\ufeff\u202a\u202c"
ARABIC_INDIC = "\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660"  # 14155550100


def phone(index: int) -> str:
    """A valid US number, a different one for each index below 100."""
    return f"1415555{100 + index:04d}"


def csv_row(index: int, text: str = "Hello {{name}}", name: str | None = None) -> bytes:
    return f"{phone(index)},{text},{name or f'N{index}'}\n".encode()


def jsonl_row(index: int, **fields: object) -> bytes:
    row = {"phone_number": phone(index), "text": "Hello {{name}}", "name": f"N{index}"}
    return orjson.dumps(row | fields) + b"\n"


def random_bytes(size: int, seed: int = 0) -> bytes:
    """Noise with no line break: the same noise on every run."""
    noise = random.Random(seed).randbytes(size)
    return noise.replace(b"\n", b"\xff").replace(b"\r", b"\xfe")


def short_names(count: int) -> list[str]:
    """``count`` different names of three letters or digits."""
    alphabet = string.ascii_letters + string.digits
    size = len(alphabet)
    return [
        alphabet[index % size] + alphabet[index // size % size] + alphabet[index // size**2]
        for index in range(count)
    ]


@dataclass(frozen=True, slots=True)
class Case:
    """A file of the corpus and what reading it gives.

    ``problems`` maps a line to its problem as ``validate`` prints it after ``PATH:LINE: ``
    (one ending in ``…`` is a prefix: the rest is another module's wording); ``good`` counts
    the rows that are fine. ``error`` is the file error after ``PATH: ``.
    """

    name: str
    suffix: str
    build: Callable[[], bytes]
    problems: Mapping[int, str] = field(default_factory=dict)
    good: int = 0
    error: str | None = None
    big: bool = False  # a 10 MB line or 100k columns: its reading's memory is measured

    @property
    def rows(self) -> int:
        return len(self.problems) + self.good


def _file(*parts: bytes | Callable[[], bytes]) -> Callable[[], bytes]:
    """The file's content, built when asked: the big parts are functions (the corpus is not
    held while the tests run)."""
    return lambda: b"".join(part if isinstance(part, bytes) else part() for part in parts)


CSV_CASES = [
    Case(
        "invalid UTF-8 in the header",
        ".csv",
        _file(b"phone_number,te\xfft,name\n", csv_row(0)),
        error="the header row is not UTF-8 text",
    ),
    Case(
        "invalid UTF-8 in a value",
        ".csv",
        _file(HEADER, csv_row(0), b"14155550101,caf\xe9,x\n", csv_row(2)),
        problems={3: f"text: {NOT_UTF8}"},
        good=2,
    ),
    Case(
        "a multibyte character cut at the end of the file",
        ".csv",
        _file(HEADER, csv_row(0), b"14155550101,hi,\xe2\x82"),
        problems={3: f"name: {NOT_UTF8}"},
        good=1,
    ),
    Case(
        "a NUL byte in a value",
        ".csv",
        _file(HEADER, b"14155550100,a\x00b,x\n", csv_row(1)),
        problems={2: "text: contains a NUL character"},
        good=1,
    ),
    Case(
        "NUL bytes in the header (UTF-16)",
        ".csv",
        lambda: "phone_number,text\n14155550100,hi\n".encode("utf-16-le"),
        error="the header row holds NUL characters (is the file UTF-16? save it as UTF-8)",
    ),
    Case(
        "a 10 MB line of one field",
        ".csv",
        _file(HEADER, csv_row(0), lambda: b"14155550101,hi," + b"x" * TEN_MB + b"\n", csv_row(2)),
        problems={3: ROW_TOO_LONG},
        good=2,
        big=True,
    ),
    Case(
        "a 10 MB line of many fields",
        ".csv",
        _file(HEADER, lambda: b"14155550100,hi," + b"x," * (TEN_MB // 2) + b"\n", csv_row(1)),
        problems={2: ROW_TOO_LONG},
        good=1,
        big=True,
    ),
    Case(
        "a 10 MB quoted field over many lines",
        ".csv",
        _file(
            HEADER,
            lambda: b'14155550100,hi,"' + (b"x" * 998 + b"\r\n") * (TEN_MB // 1000) + b'"\n',
            csv_row(1),
        ),
        problems={2: f"name: {TOO_LONG}"},  # the csv module's limit comes first
        good=1,
        big=True,
    ),
    Case(
        "a 10 MB header",
        ".csv",
        _file(lambda: b"phone_number,text," + b"n" * TEN_MB + b"\n", csv_row(0)),
        error="the header row is longer than the limit of 1,048,576 bytes",
        big=True,
    ),
    Case(
        "100k columns in the header",
        ".csv",
        _file(lambda: b"phone_number,text," + ",".join(short_names(100_000)).encode() + b"\n"),
        error="the header has 100,002 columns, more than the limit of 1,000",
        big=True,
    ),
    Case(
        "100k fields in a row",
        ".csv",
        _file(HEADER, lambda: b"14155550100,hi" + b",x" * 100_000 + b"\n", csv_row(1)),
        problems={2: "row: has 100,002 fields, more than the limit of 1,000"},
        good=1,
        big=True,
    ),
    Case(
        "a field past its limit",
        ".csv",
        _file(HEADER, b"14155550100,hi," + b"x" * 131_073 + b"\n", csv_row(1)),
        problems={2: f"name: {TOO_LONG}"},
        good=1,
    ),
    Case(
        "a header naming a column twice",
        ".csv",
        _file(b"phone_number,text,text\n", csv_row(0)),
        error="the header names the column 'text' twice",
    ),
    Case(
        "a header naming a column twice in another case",
        ".csv",
        _file(b"Phone_Number,phone_number,text\n", csv_row(0)),
        error=(
            "the header names the column 'phone_number' twice: "
            "as 'Phone_Number' and as 'phone_number'"
        ),
    ),
    Case(
        "a BOM",
        ".csv",
        _file(b"\xef\xbb\xbf", HEADER, csv_row(0), csv_row(1)),
        good=2,
    ),
    Case(
        "CRLF line ends and a quoted CRLF",
        ".csv",
        _file(
            HEADER.replace(b"\n", b"\r\n"),
            b'14155550100,"two\r\nlines",x\r\n',
            b"\r\n",
            b"14155550101,bad {{,x\r\n",
            csv_row(2).replace(b"\n", b"\r\n"),
        ),
        problems={5: "text: unclosed merge field '{{' at character 5"},
        good=2,
    ),
    Case(
        "CR-only line ends",
        ".csv",
        _file(
            HEADER.replace(b"\n", b"\r"),
            csv_row(0).replace(b"\n", b"\r"),
            b"14155550101,bad {{,x\r",
            csv_row(2).replace(b"\n", b"\r"),
        ),
        problems={3: "text: unclosed merge field '{{' at character 5"},
        good=2,
    ),
    Case(
        "a quote left open at the end of the file",
        ".csv",
        _file(HEADER, csv_row(0), b'14155550101,"oops,x\n14155550102,hi,y\n'),
        problems={
            3: "row: a quote opened in this record is never closed (it runs to the end, line 4)"
        },
        good=1,
    ),
    Case(
        "formula cells",
        ".csv",
        _file(
            HEADER,
            csv_row(0, "=cmd|' /C calc'!A0"),
            csv_row(1, "+1+1", "-2+3"),
            csv_row(2, "-1", "@SUM(A1)"),
            csv_row(3, "@SUM(1)", "=HYPERLINK(1)"),
        ),
        good=4,
    ),
    Case(
        "template syntax in values",
        ".csv",
        _file(
            b"phone_number,text,name,other\n",
            b"14155550100,Hi {{name}},{{other}},X\n",
            b"14155550101,Hi {{name}},{{,X\n",
            b"14155550102,Hi {{name}},}}{{name}}{{{,X\n",
            b"14155550103,Hi {{,x,X\n",
            b"14155550104,Hi {{name}} {{surname}},x,X\n",
        ),
        problems={
            5: "text: unclosed merge field '{{' at character 4",
            6: "text: no value for {{surname}} (give the field a value, or write {{name|default}})",
        },
        good=3,
    ),
    Case(
        "an empty file",
        ".csv",
        lambda: b"",
        error="the file is empty (expected a header row, then one row a message)",
    ),
    Case("a header only", ".csv", _file(HEADER), error="the file has a header and no rows"),
    Case(
        "a PNG",
        ".csv",
        lambda: PNG_MAGIC + random_bytes(4_000),
        error="the header row is not UTF-8 text",
    ),
    Case(
        "random bytes",
        ".csv",
        lambda: random_bytes(4_000, seed=1),
        error="the header row is not UTF-8 text",
    ),
    Case(
        "a 5,000-digit phone number",
        ".csv",
        _file(HEADER, b"9" * 5_000 + b",hi,x\n", csv_row(1)),
        problems={2: "phone_number: '99999…"},
        good=1,
    ),
    Case(
        "Arabic-Indic digits in a phone number",
        ".csv",
        _file(HEADER, f"{ARABIC_INDIC},hi,x\n".encode(), csv_row(1)),
        problems={2: f"phone_number: '{ARABIC_INDIC}' has digits other than 0-9"},
        good=1,
    ),
    Case(
        "invisible characters in phone numbers and values",
        ".csv",
        _file(
            HEADER,
            *(
                f"{char}+1 415 555 010{index}".encode() + b",hi,x\n"
                for index, char in enumerate(INVISIBLE)
            ),
            csv_row(6, f"Hi {INVISIBLE}{{{{name}}}}", f"\u202eN{INVISIBLE}"),
        ),
        problems={},  # marks no one can see are not part of the number: each row is valid
        good=len(INVISIBLE) + 1,
    ),
]


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


JSONL_CASES = [
    Case(
        "invalid UTF-8 in a value",
        ".jsonl",
        _file(jsonl_row(0), b'{"phone_number": "14155550101", "text": "caf\xe9"}\n', jsonl_row(2)),
        problems={2: f"row: {NOT_UTF8}"},
        good=2,
    ),
    Case(
        "invalid UTF-8 in a name",
        ".jsonl",
        _file(b'{"phone_number": "14155550100", "te\xfft": "hi"}\n', jsonl_row(1)),
        problems={1: f"row: {NOT_UTF8}"},
        good=1,
    ),
    Case(
        "a multibyte character cut at the end of the file",
        ".jsonl",
        _file(jsonl_row(0), b'{"phone_number": "14155550101", "text": "\xe2\x82'),
        problems={2: f"row: {NOT_UTF8}"},
        good=1,
    ),
    Case(
        "NUL bytes",
        ".jsonl",
        _file(
            b'{"phone_number": "14155550100", "text": "a\x00b"}\n',
            b'{"phone_number": "14155550101", "text": "a\\u0000b"}\n',
            jsonl_row(2),
        ),
        problems={
            1: "row: is not valid JSON: a NUL byte at character 43 (is it a binary file?)",
            2: "text: contains a NUL character",
        },
        good=1,
    ),
    Case(
        "a 10 MB line of one field",
        ".jsonl",
        _file(jsonl_row(0), lambda: jsonl_row(1, text="x" * TEN_MB), jsonl_row(2)),
        problems={2: ROW_TOO_LONG},
        good=2,
        big=True,
    ),
    Case(
        "a 10 MB line of many values",
        ".jsonl",
        _file(
            lambda: b'{"phone_number": "14155550100", "l": [' + b"[]," * (TEN_MB // 3) + b"[]]}\n",
            jsonl_row(1),
        ),
        problems={1: ROW_TOO_LONG},
        good=1,
        big=True,
    ),
    Case(
        "a JSON array of rows on one line",
        ".jsonl",
        _file(lambda: b"[" + jsonl_row(0).strip() + b"," + b'{"chat_id": 1},' * 700_000 + b"{}]\n"),
        problems={1: ROW_TOO_LONG},
        big=True,
    ),
    Case(
        "100k keys",
        ".jsonl",
        _file(
            jsonl_row(0),
            lambda: orjson.dumps(dict.fromkeys(short_names(100_000), 0)) + b"\n",
            lambda: orjson.dumps({f"key{index}": index for index in range(100_000)}) + b"\n",
            jsonl_row(3),
        ),
        problems={
            2: "row: has 100,000 fields, more than the limit of 1,000",
            3: ROW_TOO_LONG,
        },
        good=2,
        big=True,
    ),
    Case(
        "deeply nested JSON",
        ".jsonl",
        _file(
            b"[" * 20_000 + b"]" * 20_000 + b"\n",
            _nested(20_000) + b"\n",
            b'{"phone_number": "14155550102", "a":' + _nested(10) + b"}\n",
            b"{" * 20_000 + b"\n",
            jsonl_row(4),
        ),
        problems={
            1: f"row: {TOO_DEEP}",
            2: f"row: {TOO_DEEP}",
            3: f"a: {TOO_DEEP}",
            4: "row: is not valid JSON: unexpected character, expected a string key at character 2",
        },
        good=1,
    ),
    Case(
        "JSON that is not an object",
        ".jsonl",
        _file(b"[1, 2]\n", b"42\n", b'"text"\n', b"null\n", b"true\n", jsonl_row(5)),
        problems={
            1: "row: is a JSON array, not an object",
            2: "row: is a JSON number, not an object",
            3: "row: is a JSON string, not an object",
            4: "row: is a JSON value, not an object",
            5: "row: is a JSON boolean, not an object",
        },
        good=1,
    ),
    Case(
        "huge numbers",
        ".jsonl",
        _file(
            b'{"phone_number": 123456789012345678901234567890, "text": "hi"}\n',
            b'{"phone_number": "14155550101", "text": "hi", "n": 1e400}\n',
            b'{"phone_number": "14155550102", "text": "hi", "n": ' + b"9" * 5_000 + b"}\n",
            b'{"phone_number": 14155550103, "text": 1e300}\n',
        ),
        problems={
            1: "phone_number: holds an integer beyond 64 bits, which cannot be read exactly "
            "(write it as a string)",
            2: "row: is not valid JSON: number is infinity when parsed as double at character 52",
            3: "row: holds an integer beyond 64 bits, which cannot be read exactly (write it as "
            "a string)",
        },
        good=1,
    ),
    Case(
        "a name given twice",
        ".jsonl",
        _file(
            b'{"Phone_Number": "14155550100", "phone_number": "14155550101", "text": "hi"}\n',
            b'{"phone_number": "14155550102", "text": "a", "text": "b"}\n',
        ),
        problems={
            1: "phone_number: given twice, as 'Phone_Number' and as 'phone_number'",
            2: "text: is given twice in the object: which one is meant cannot be known",
        },
        good=0,
    ),
    Case(
        "a BOM and CRLF line ends",
        ".jsonl",
        _file(b"\xef\xbb\xbf", jsonl_row(0).replace(b"\n", b"\r\n"), b"\r\n", jsonl_row(2)),
        good=2,
    ),
    Case(
        "CR-only line ends",
        ".jsonl",
        _file(jsonl_row(0).replace(b"\n", b"\r"), jsonl_row(1).replace(b"\n", b"\r")),
        problems={1: "row: is not valid JSON: unexpected content after document at character 68"},
    ),
    Case(
        "a string left open at the end of the file",
        ".jsonl",
        _file(jsonl_row(0), b'{"phone_number": "1415'),
        problems={2: "row: is not valid JSON: unexpected end of data at character 23"},
        good=1,
    ),
    Case(
        "formula cells",
        ".jsonl",
        _file(
            jsonl_row(0, text="=cmd|' /C calc'!A0"),
            jsonl_row(1, text="+1+1", name="-2+3"),
            jsonl_row(2, text="@SUM(1)", name="=1"),
        ),
        good=3,
    ),
    Case(
        "template syntax in values",
        ".jsonl",
        _file(
            jsonl_row(0, text="Hi {{name}}", name="{{other}}", other="X"),
            jsonl_row(1, name="{{"),
            jsonl_row(2, text="Hi {{"),
            jsonl_row(3, name=["a"]),
        ),
        problems={
            3: "text: unclosed merge field '{{' at character 4",
            4: "text: {{name}}: a merge field must be text or a number, not a list or an object",
        },
        good=2,
    ),
    Case(
        "an empty file",
        ".jsonl",
        lambda: b"",
        error="the file is empty (expected one JSON object a line)",
    ),
    Case(
        "white space only",
        ".jsonl",
        lambda: b"\xef\xbb\xbf\n \r\n\t\n",
        error="the file is empty (expected one JSON object a line)",
    ),
    Case(
        "a PNG",
        ".jsonl",
        _file(PNG_MAGIC, random_bytes(4_000)),
        problems={1: f"row: {NOT_UTF8}", 2: "row: …", 3: f"row: {NOT_UTF8}"},
    ),
    Case(
        "a 5,000-digit phone number",
        ".jsonl",
        _file(jsonl_row(0, phone_number="9" * 5_000), jsonl_row(1)),
        problems={1: "phone_number: '99999…"},
        good=1,
    ),
    Case(
        "Arabic-Indic digits in a phone number",
        ".jsonl",
        _file(jsonl_row(0, phone_number=ARABIC_INDIC), jsonl_row(1)),
        problems={1: f"phone_number: '{ARABIC_INDIC}' has digits other than 0-9"},
        good=1,
    ),
    Case(
        "invisible characters in phone numbers and values",
        ".jsonl",
        _file(
            *(
                jsonl_row(index, phone_number=f"+1 415 555 010{index}{char}")
                for index, char in enumerate(INVISIBLE)
            ),
            jsonl_row(6, text=f"Hi {INVISIBLE}{{{{name}}}}", name=f"\u202eN{INVISIBLE}"),
        ),
        problems={},
        good=len(INVISIBLE) + 1,
    ),
]

CASES = CSV_CASES + JSONL_CASES
