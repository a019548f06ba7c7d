"""broadcaster: send large SMS/MMS campaigns through the Heymarket API."""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["__version__"]

if TYPE_CHECKING:
    __version__: str  # declared, not a __getattr__, so mypy still refuses any other name
else:

    def __getattr__(name: str) -> str:
        # The version is read when first asked for, not on import: importlib.metadata alone
        # takes about 50 ms, which every `broadcaster --help` would pay.
        if name != "__version__":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from importlib.metadata import version  # noqa: PLC0415 - see above

        return version("broadcaster")
