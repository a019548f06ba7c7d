"""Cells a spreadsheet would run as formulas, and the ``'`` that keeps them text (OWASP's advice
against CSV injection). ``failedcsv`` writes the ``'``; the CSV reader takes it off again in a
file with the ``replaces`` column that ``failedcsv`` adds, so an export reads back as it was,
and any other file is read as written."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def unescape_formula(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell
