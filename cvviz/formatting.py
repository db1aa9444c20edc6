"""Numbers and missing values as a reader sees them: thousands separators, and "—" for what was not
measured (never "None")."""

from __future__ import annotations

import math

MISSING = "—"


def format_number(value: float) -> str:
    """``value`` written out in full with thousands separators: 1000 → "1,000", 0.05 → "0.05"."""
    if float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:,.10f}".rstrip("0").rstrip(".")


def display_value(value: object) -> str:
    """Any table value as text: numbers with separators, None (or NaN) as "—", anything else as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)
