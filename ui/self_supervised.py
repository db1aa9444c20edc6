"""The self-supervised backbones (DINO, MAE, DeiT) shared by every session, and the note that says how to
fetch their weights when they are missing (random weights would make these views meaningless)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from cvviz.errors import CvvizError
from cvviz.formatting import format_decimal
from cvviz.i18n import _

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel


@st.cache_resource(show_spinner=False, max_entries=4)
def _loaded(name: str) -> LoadedModel:
    """The shared model with its published weights, from the cache (never a download: see
    :func:`self_supervised_model`)."""
    from cvviz.device import resolve_device
    from cvviz.models.loading import WeightsInfo
    from cvviz.models.workbench import LoadedModel, model_nbytes
    from cvviz.selfsupervised.checkpoints import get_model, load_pretrained, require_weights

    entry = get_model(name)
    model = load_pretrained(entry, require_weights(entry))
    info = WeightsInfo("pretrained", entry.filename, f"pretrained:{entry.filename}")
    return LoadedModel(entry.spec, model, info, resolve_device("cpu"), model_nbytes(model))


def self_supervised_model(name: str, place: str = "") -> LoadedModel | None:
    """The shared model ``name`` with its published weights; when they are not on this machine, None,
    after showing how to fetch them (and, where downloads are allowed, a button that does; ``place``
    tells apart the buttons of one model shown in two places of a page)."""
    from cvviz.models.weights import downloads_disabled
    from cvviz.selfsupervised.checkpoints import cached_path, fetch, get_model, missing_weights_message

    entry = get_model(name)
    if cached_path(entry) is None:
        st.info(missing_weights_message(entry), icon=":material/download:")
        st.code(f"python -m cvviz weights fetch {entry.name}", language="bash")
        if downloads_disabled() or not st.button(
            _("Download the weights of {title} now").format(title=entry.title),
            key=f"self_supervised.fetch.{name}.{place}",
        ):
            return None
        bar = st.progress(0.0, text=_("Downloading {model} weights…").format(model=entry.title))

        def progress(done: int, total: int | None) -> None:
            text = _("Downloading {model} weights: {done} MB").format(
                model=entry.title, done=format_decimal(done / 2**20, 0)
            )
            bar.progress(min(done / total, 1.0) if total else 0.0, text=text)

        try:
            fetch(entry, progress)
        except CvvizError as exc:
            st.error(str(exc))
            return None
        finally:
            bar.empty()
    try:
        with st.spinner(_("Loading {model}…").format(model=entry.title)):
            return _loaded(name)
    except CvvizError as exc:
        st.error(str(exc))
        return None


def attention_model_choice(key: str) -> str | None:
    """A picker for the attention page: the sidebar's model (None) or one of DINO's ViTs (its name)."""
    from cvviz.selfsupervised.checkpoints import list_self_supervised

    options = ["", *(entry.name for entry in list_self_supervised("dino"))]
    titles = {entry.name: entry.title for entry in list_self_supervised("dino")}
    chosen = st.columns(2)[0].selectbox(
        _("Attention of"),
        options,
        key=key,
        format_func=lambda name: (
            _("{model} (self-supervised, no labels)").format(model=titles[name])
            if name
            else _("the model chosen in the sidebar")
        ),
    )
    return chosen or None
