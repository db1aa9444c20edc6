"""Small page helpers: guard clauses and the untrained-model banner."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel


def untrained_banner(loaded: LoadedModel) -> None:
    """Every view of a randomly initialised model says so."""
    if not loaded.trained:
        st.warning(
            f"**Untrained:** {loaded.spec.title} is running with random weights, so what it shows is not "
            "what a trained model learns.",
            icon=":material/warning:",
        )


def require(value, message: str):
    """Return ``value``, or show ``message`` and stop the page when it is missing."""
    if value is None:
        st.info(message)
        st.stop()
    return value
