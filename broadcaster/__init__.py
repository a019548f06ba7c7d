"""broadcaster: send large SMS/MMS campaigns through the Heymarket API."""

from importlib.metadata import version

__version__ = version("broadcaster")
__all__ = ["__version__"]
