"""Small page helpers: guard clauses and the untrained-model banner."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from cvviz.i18n import N_, _

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel


def untrained_banner(loaded: LoadedModel) -> None:
    """Every view of a randomly initialised model says so."""
    if not loaded.trained:
        st.warning(
            _(
                "**Untrained:** {model} is running with random weights, so what it shows is not what a "
                "trained model learns."
            ).format(model=loaded.spec.title),
            icon=":material/warning:",
        )


CHOOSE_IMAGE = N_("Choose a sample, upload a photo or take one with the camera (sidebar).")


def require(value, message: str):
    """Return ``value``, or show ``message`` (translated) and stop the page when it is missing."""
    if value is None:
        st.info(_(message))
        st.stop()
    return value
