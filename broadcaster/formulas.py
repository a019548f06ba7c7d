"""Cells a spreadsheet would run as formulas, and the ``'`` that keeps them text (OWASP's advice
against CSV injection). ``failedcsv`` writes the ``'``; the CSV reader takes it off again in a
file with the ``replaces`` column that ``failedcsv`` adds, so an export reads back as it was,
and any other file is read as written."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(cell: str) -> str:
    """A ``'`` before a formula, and before a cell that already begins with ``'`` and then one
    (``'=)`` becomes ``''=)``), so that ``unescape_formula`` gives every cell back as it was."""
    return "'" + cell if _formula(cell) else cell


def unescape_formula(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _formula(cell) else cell


def _formula(cell: str) -> bool:
    return cell.lstrip("'").startswith(FORMULA_STARTS)
