"""Numbers and missing values as a reader sees them: the reader's locale's separators (Babel), and "—" for
what was not measured (never "None")."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from babel.dates import format_skeleton as _babel_skeleton
from babel.numbers import format_decimal as _babel_decimal
from babel.numbers import format_percent as _babel_percent

from cvviz.i18n import _, current_language

MISSING = "—"
# The locale whose number conventions each language follows.
LOCALES = {"en": "en_US", "ko": "ko_KR"}


def number_locale() -> str:
    """The Babel locale for numbers in the current language."""
    return LOCALES.get(current_language(), "en_US")


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
SMALLEST_WRITTEN_OUT = 1e-4
"""Below this, a number is written as a power of ten: written out in full it would be mostly zeros (and
past ten decimals, "0")."""


def format_number(value: float) -> str:
    """``value`` written out in full with the locale's separators: 1000 → "1,000", 0.05 → "0.05"; tiny
    magnitudes as a power of ten: 2e-7 → "2×10⁻⁷"."""
    if value and abs(value) < SMALLEST_WRITTEN_OUT:
        return _power_of_ten(value)
    if float(value).is_integer():
        return _babel_decimal(round(value), locale=number_locale())
    return _babel_decimal(value, format="#,##0.##########", locale=number_locale())


def _power_of_ten(value: float) -> str:
    """mantissa×10ⁿ with up to three significant digits and the locale's decimal sign: 2.5e-7 → "2.5×10⁻⁷"."""
    mantissa_text, exponent = f"{value:.2e}".split("e")
    mantissa = float(mantissa_text)
    written = _babel_decimal(mantissa, format="0.##", locale=number_locale())
    return f"{written}×10{str(int(exponent)).translate(_SUPERSCRIPTS)}"


def format_decimal(value: float, digits: int = 2) -> str:
    """``value`` with exactly ``digits`` decimals and the locale's separators: 1234.5 → "1,234.50"."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _babel_decimal(value, format=pattern, locale=number_locale(), decimal_quantization=True)


def format_percent(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage in the locale's style: 0.123 → "12.3%"."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return _babel_percent(fraction, format=pattern, locale=number_locale())


def format_timestamp(iso: str) -> str:
    """An ISO 8601 time (cvviz stores them in UTC) as the locale writes a date and a 24-hour time, in UTC:
    "2026-11-30T12:05:00+00:00" → "Nov 30, 2026 12:05" / "2026년 11월 30일 12:05"; other text as it is."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    locale = number_locale()
    day = _babel_skeleton("yMMMd", moment, tzinfo=UTC, locale=locale)
    return f"{day} {_babel_skeleton('Hm', moment, tzinfo=UTC, locale=locale)}"


def display_value(value: object) -> str:
    """Any table value as text: numbers with separators, None (or NaN) as "—", anything else as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)
