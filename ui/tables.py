"""Tables as a visitor reads them: counts with thousands separators, "—" where nothing was measured."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from cvviz.formatting import display_value
from cvviz.i18n import N_, _

# Numbers that are names, not amounts: written without separators ("2014", not "2,014").
PLAIN = (N_("year"),)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def readable(rows: Sequence[dict], plain: Sequence[str] = PLAIN) -> tuple[list[dict], dict]:
    """``rows`` ready for ``st.dataframe``, and the column settings to pass with them.

    A column of numbers stays numeric (it sorts) and is shown with the reader's thousands separators
    (``plain`` columns without); a column with gaps (None) is written out as text, numbers with
    separators and the gaps as "—".
    """
    plain = {*plain, *(_(name) for name in plain)}  # the column's name as shown, in the visitor's language
    rows = [dict(row) for row in rows]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    config = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        present = [v for v in values if v is not None]
        if len(present) == len(values) and present and all(_is_number(v) for v in present):
            if column not in plain:  # Streamlit's default shows whole numbers as they are
                config[column] = st.column_config.NumberColumn(column, format="localized")
        elif len(present) < len(values) or any(_is_number(v) for v in present):
            for row in rows:
                value = row.get(column)
                row[column] = str(value) if column in plain and value is not None else display_value(value)
    return rows, config


def table(rows: Sequence[dict], plain: Sequence[str] = PLAIN, **options) -> None:
    """``st.dataframe`` of ``rows`` made :func:`readable`; ``options`` go to ``st.dataframe``."""
    shown, config = readable(rows, plain)
    st.dataframe(shown, column_config={**config, **options.pop("column_config", {})}, **options)
