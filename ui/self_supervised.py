"""The self-supervised backbones (DINO, DINOv2, DeiT, MAE) for the pages: shared through the workbench
like every catalog model, and, when their weights are missing, the note that says how to fetch them
(random weights would make these views meaningless, so they are never shown)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from cvviz.catalog import get_spec, list_self_supervised
from cvviz.errors import CvvizError
from cvviz.formatting import format_decimal
from cvviz.i18n import _
from ui.resources import workbench

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel


def self_supervised_model(name: str, place: str = "") -> LoadedModel | None:
    """The shared model ``name`` with its published weights, from the workbench (its memory counted in
    the shared budget); when they are not on this machine, None, after showing how to fetch them (and,
    where downloads are allowed, a button that does; ``place`` tells apart the buttons of one model shown
    in two places of a page)."""
    from cvviz.models.weights import download_weights, downloads_disabled
    from cvviz.selfsupervised.models import missing_weights_message, weights_cached

    spec = get_spec(name)
    if not weights_cached(spec):
        st.info(missing_weights_message(spec), icon=":material/download:")
        st.code(f"python -m cvviz weights fetch {spec.name}", language="bash")
        if downloads_disabled() or not st.button(
            _("Download the weights of {title} now").format(title=spec.title),
            key=f"self_supervised.fetch.{name}.{place}",
        ):
            return None
        bar = st.progress(0.0, text=_("Downloading {model} weights…").format(model=spec.title))

        def progress(done: int, total: int | None) -> None:
            text = _("Downloading {model} weights: {done} MB").format(
                model=spec.title, done=format_decimal(done / 2**20, 0)
            )
            bar.progress(min(done / total, 1.0) if total else 0.0, text=text)

        try:
            download_weights(spec, progress)
        except CvvizError as exc:
            st.error(str(exc))
            return None
        finally:
            bar.empty()
    try:
        with st.spinner(_("Loading {model}…").format(model=spec.title)):
            return workbench().get(name, "pretrained")
    except CvvizError as exc:
        st.error(str(exc))
        return None


def attention_model_choice(key: str) -> str | None:
    """A picker for the attention page: the sidebar's model (None) or one of the ViTs pretrained by DINO
    (its name)."""
    models = list_self_supervised("dino")
    titles = {spec.name: spec.title for spec in models}
    chosen = st.columns(2)[0].selectbox(
        _("Attention of"),
        ["", *titles],
        key=key,
        format_func=lambda name: (
            _("{model} (self-supervised, no labels)").format(model=titles[name])
            if name
            else _("the model chosen in the sidebar")
        ),
    )
    return chosen or None
