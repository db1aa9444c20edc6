"""The sidebar shared by every page: the model and image every page works on, kept across pages.

The widgets are light; the model itself loads the first time a page asks for ``selection.model``, so a
page can draw its first content before torch has loaded. The current selection is also kept in
``st.session_state`` (:data:`SELECTION_KEY`) for ``st.fragment`` reruns, which do not rerun the sidebar.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

from cvviz.catalog.registry import DEFAULT_MODEL
from cvviz.data.images import LoadedImage, load_sample, sample_images
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from ui.language import language_switch
from ui.resources import decode_image, load_model, model_choices

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel

MODEL_KEY = "global.model"
PENDING_KEY = "global.pending"
WEIGHTS_KEY = "global.weights"
WEIGHTS_FILE_KEY = "global.weights_file"
IMAGE_SOURCE_KEY = "global.image_source"
SAMPLE_KEY = "global.sample"
UPLOAD_KEY = "global.upload"
CAMERA_KEY = "global.camera"
FROZEN_KEY = "global.frozen"
NOTICE_KEY = "global.notice"
SELECTION_KEY = "global.selection"
TRAINED_KEY = "global.trained"
TRAINED_LABEL = N_("LeNet-5 · trained here")
"""The model picker's entry for the network trained in the training lab this session (the catalog's
LeNet-5 with the run's weights, loaded as an uploaded state_dict is)."""

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
# Radio options are the raw values, shown translated (the widget state stays a plain English word, which
# AppTest and a change of language both keep).
WEIGHTS_CHOICES = ("pretrained", "random", "user")
SOURCES = ("sample", "upload", "camera")
FROZEN_SOURCE = "frame"
"""The image source offered once a live-camera frame has been frozen (:func:`offer_frozen_frame`)."""
CHOICE_LABELS = {
    "pretrained": N_("pretrained"),
    "random": N_("random"),
    "user": N_("user"),
    "sample": N_("sample"),
    "upload": N_("upload"),
    "camera": N_("camera"),
    "frame": N_("frozen frame"),
}


def choice_label(value: str) -> str:
    """A radio option's label in the visitor's language."""
    return _(CHOICE_LABELS[value])


@dataclass(eq=False)
class Selection:
    """What every page works on: a catalog model with its weights, and the decoded image (None if none).

    :attr:`model` loads the shared model on first access and reports in the sidebar how it went.
    """

    name: str
    weights: str
    image: LoadedImage | None
    user_weights: bytes | None = field(default=None, repr=False)
    _status: object = field(default=None, repr=False)

    @functools.cached_property
    def model(self) -> LoadedModel:
        from cvviz.device import runtime_summary

        status = self._status
        try:
            loaded, fallback = load_model(self.name, self.weights, self.user_weights)
        except CvvizError as exc:
            loaded, fallback = load_model(self.name, "random")[0], None
            if status is not None:
                status.error(str(exc))
        if fallback is not None and self.weights == "pretrained":
            # Say it once, plainly, and set the Weights control to what is really running.
            st.session_state[NOTICE_KEY] = (fallback.sentence, fallback.detail)
            request_selection(weights="random")
            st.rerun()
        if status is not None:
            with status:
                _weights_status(loaded)
                st.caption(_("Device: **{device}**").format(device=runtime_summary(loaded.device)))
        return loaded


def _weights_status(loaded: LoadedModel) -> None:
    if loaded.note:
        st.warning(loaded.note)
    if loaded.trained:
        st.success(
            _("Weights: {weights}").format(weights=loaded.weights.description), icon=":material/check_circle:"
        )
    else:
        st.warning(_("Weights: random — **untrained**"), icon=":material/warning:")


_this_run = threading.local()


def begin_run() -> Selection:
    """Call in the entry point before running the page: draws the sidebar for this run.

    Its widgets must be created outside the page script, or Streamlit would treat them as the page's own
    and forget their values on the next change of page.
    """
    _this_run.selection = render_sidebar()
    return _this_run.selection


def current_selection() -> Selection:
    """The selection for this script run, drawing the sidebar the first time it is asked for in the run.

    A page run on its own (``streamlit run app_pages/x.py``, a page-level AppTest) draws it itself.
    """
    selection = getattr(_this_run, "selection", None)
    if selection is None:
        selection = render_sidebar()
        _this_run.selection = selection
    return selection


def stored_selection() -> Selection | None:
    """The selection of the last full run, for ``st.fragment`` reruns (which do not draw the sidebar)."""
    return st.session_state.get(SELECTION_KEY)


def request_model(name: str) -> None:
    """Ask for ``name`` to become the selected model on the next run (widgets cannot change mid-run)."""
    request_selection(model=name)


def request_selection(
    *,
    model: str | None = None,
    weights: str | None = None,
    source: str | None = None,
    sample: str | None = None,
) -> None:
    """Ask for sidebar choices to change on the next run; ``sample`` is a sample's name (e.g. ``"cat"``)."""
    pending = st.session_state.setdefault(PENDING_KEY, {})
    labels = {choice.name: choice.label for choice in model_choices()}
    if model in labels:
        pending[MODEL_KEY] = labels[model]
    if weights in WEIGHTS_CHOICES:
        pending[WEIGHTS_KEY] = weights
    if source in SOURCES or (source == FROZEN_SOURCE and frozen_frame() is not None):
        pending[IMAGE_SOURCE_KEY] = source
    titles = {sample.name: sample.title for sample in sample_images()}
    if sample in titles:
        pending[SAMPLE_KEY] = titles[sample]


@dataclass(frozen=True)
class TrainedModel:
    """A network trained in this session that the other pages can use: the catalog model its state_dict
    loads into, the state_dict as a ``torch.save`` file, and one line about the run."""

    name: str
    weights: bytes = field(repr=False)
    summary: str


def offer_trained_model(name: str, weights: bytes, summary: str) -> None:
    """Make a network trained here the picker's "trained here" entry for the rest of the session
    (replacing the one before); it loads exactly as a state_dict uploaded in the sidebar does."""
    st.session_state[TRAINED_KEY] = TrainedModel(name, weights, summary)


def trained_model() -> TrainedModel | None:
    """The session's trained network, if one has been offered."""
    return st.session_state.get(TRAINED_KEY)


def request_trained_model() -> None:
    """Ask for the session's trained network to become the selected model on the next run."""
    if trained_model() is not None:
        st.session_state.setdefault(PENDING_KEY, {})[MODEL_KEY] = TRAINED_LABEL


def offer_frozen_frame(data: bytes) -> None:
    """Make a frame frozen on the live camera (encoded image bytes, e.g. PNG) the current image of every
    page from the next run on: the sidebar's "frozen frame" source, replacing any frame frozen before."""
    st.session_state[FROZEN_KEY] = data
    request_selection(source=FROZEN_SOURCE)


def frozen_frame() -> bytes | None:
    """The session's frozen live-camera frame (encoded image bytes), if one has been offered."""
    return st.session_state.get(FROZEN_KEY)


def model_label(name: str) -> str:
    """The model picker's label for catalog model ``name``."""
    return next(choice.label for choice in model_choices() if choice.name == name)


def _init_state() -> None:
    for key, value in st.session_state.pop(PENDING_KEY, {}).items():
        st.session_state[key] = value
    st.session_state.setdefault(MODEL_KEY, model_label(DEFAULT_MODEL))
    st.session_state.setdefault(WEIGHTS_KEY, "pretrained")
    st.session_state.setdefault(IMAGE_SOURCE_KEY, "sample")
    st.session_state.setdefault(SAMPLE_KEY, sample_images()[0].title)


def _choose_model() -> tuple[str, str, bytes | None]:
    choices = {choice.label: choice for choice in model_choices()}
    trained = trained_model()
    labels = list(choices)
    if trained is not None:
        labels.insert(0, TRAINED_LABEL)
    if st.session_state.get(MODEL_KEY) not in labels:
        st.session_state[MODEL_KEY] = model_label(DEFAULT_MODEL)
    label = st.selectbox(
        _("Model"),
        labels,
        key=MODEL_KEY,
        help=_("Every backbone in the catalog."),
        format_func=lambda label: _(TRAINED_LABEL) if label == TRAINED_LABEL else label,
    )
    if label == TRAINED_LABEL and trained is not None:
        st.caption(trained.summary)
        return trained.name, "user", trained.weights
    choice = choices[label]
    options = list(WEIGHTS_CHOICES) if choice.pretrained_available else ["random", "user"]
    if st.session_state[WEIGHTS_KEY] not in options:
        st.session_state[WEIGHTS_KEY] = options[0]
    weights = st.radio(_("Weights"), options, key=WEIGHTS_KEY, horizontal=True, format_func=choice_label)
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is not None:
        sentence, detail = notice
        st.info(sentence, icon=":material/cloud_off:")
        if detail:
            with st.expander(_("Why")):
                st.caption(detail)
    user_bytes = None
    if weights == "user":
        upload = st.file_uploader(
            "state_dict (.pth)",
            type=["pth", "pt"],
            key=WEIGHTS_FILE_KEY,
            help=_("Loaded with torch.load(weights_only=True): a file that would run code is refused."),
        )
        if upload is None:
            st.info(_("Upload a state_dict for this model; until then it runs with random weights."))
            weights = "random"
        else:
            user_bytes = upload.getvalue()
    return choice.name, weights, user_bytes


def _choose_image() -> LoadedImage | None:
    sources = SOURCES if frozen_frame() is None else (*SOURCES, FROZEN_SOURCE)
    if st.session_state.get(IMAGE_SOURCE_KEY) not in sources:
        st.session_state[IMAGE_SOURCE_KEY] = "sample"
    source = st.radio(_("Image"), sources, key=IMAGE_SOURCE_KEY, horizontal=True, format_func=choice_label)
    try:
        if source == FROZEN_SOURCE:
            image = decode_image(frozen_frame())
        elif source == "sample":
            samples = {sample.title: sample for sample in sample_images()}
            title = st.selectbox(_("Sample photo"), list(samples), key=SAMPLE_KEY, format_func=_)
            st.caption(samples[title].credit)
            image = load_sample(samples[title].name)
        elif source == "upload":
            upload = st.file_uploader(_("Upload an image"), type=IMAGE_TYPES, key=UPLOAD_KEY)
            if upload is None:
                return None
            image = decode_image(upload.getvalue())
        else:
            shot = st.camera_input(_("Take a photo"), key=CAMERA_KEY)
            if shot is None:
                return None
            image = decode_image(shot.getvalue())
    except CvvizError as exc:
        st.error(str(exc))
        return None
    for note in image.notes:
        st.caption(_(note))
    st.image(image.image, width="stretch")
    return image


def render_sidebar() -> Selection:
    """Draw the sidebar and return the current selection (the model loads when a page first needs it)."""
    _init_state()
    with st.sidebar:
        from ui.kiosk import kiosk_settings  # here: the kiosk module imports this one

        language_switch(large=kiosk_settings().enabled)
        name, weights, user_bytes = _choose_model()
        status = st.container()
        image = _choose_image()
    selection = Selection(name, weights, image, user_bytes, status)
    st.session_state[SELECTION_KEY] = Selection(name, weights, image, user_bytes)
    return selection
