"""Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).

``parse`` handles one value; ``parse_column`` a whole Polars column without a Python loop
per row. Errors never echo the full number.
"""

from promise.pnr.column import parse_column
from promise.pnr.rules import InvalidPersonnummer, Personnummer, luhn_digit
from promise.pnr.scalar import parse, written_forms

__all__ = [
    "InvalidPersonnummer",
    "Personnummer",
    "luhn_digit",
    "parse",
    "parse_column",
    "written_forms",
]
