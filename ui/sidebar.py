"""The sidebar shared by every page: the global model and image choices, which persist across pages."""

from __future__ import annotations

import contextlib
import runpy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from cvviz.catalog import CATALOG, DEFAULT_MODEL, list_models
from cvviz.device import runtime_summary
from cvviz.errors import CvvizError
from cvviz.images import LoadedImage, load_sample, sample_images
from cvviz.model_cache import LoadedModel
from ui.resources import decode_image, load_model

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"
MODEL_KEY = "global.model"
PENDING_KEY = "global.pending"
WEIGHTS_KEY = "global.weights"
WEIGHTS_FILE_KEY = "global.weights_file"
IMAGE_SOURCE_KEY = "global.image_source"
SAMPLE_KEY = "global.sample"
UPLOAD_KEY = "global.upload"
CAMERA_KEY = "global.camera"

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
# Radio options are the raw values (lower-case words read fine as labels; no format_func to keep
# widget state simple across pages).
WEIGHTS_CHOICES = ("pretrained", "random", "user")
SOURCES = ("sample", "upload", "camera")


@dataclass(frozen=True)
class Selection:
    """What every page works on: the loaded model and the decoded image (None if there is none)."""

    model: LoadedModel
    image: LoadedImage | None


_this_run = threading.local()


@contextlib.contextmanager
def shared_sidebar() -> Iterator[Selection]:
    """Render the sidebar once in the entry point and make its selection the page's for this run."""
    _this_run.selection = render_sidebar()
    try:
        yield _this_run.selection
    finally:
        _this_run.selection = None


def current_selection() -> Selection:
    """The selection for the page being run, drawn once per run by the entry point.

    A page can also start on its own. On a fresh server's very first request for a page URL, Streamlit
    notices the ``pages/`` folder before ``app.py`` has registered its navigation and runs the page in
    its legacy folder mode: then the entry point is run instead, which draws the sidebar and the page
    through ``st.navigation``, and this run stops. Run directly (``streamlit run pages/x.py``, a
    page-level AppTest), a page draws the sidebar itself.
    """
    selection = getattr(_this_run, "selection", None)
    if selection is not None:
        return selection
    if _legacy_pages_folder_mode():
        runpy.run_path(str(APP_PATH), run_name="__main__")
        st.stop()
    return render_sidebar()


def _legacy_pages_folder_mode() -> bool:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the legacy mode
        return False
    return bool(getattr(PagesManager, "uses_pages_directory", False))


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
    if model in CATALOG:
        pending[MODEL_KEY] = model_label(model)
    if weights in WEIGHTS_CHOICES:
        pending[WEIGHTS_KEY] = weights
    if source in SOURCES:
        pending[IMAGE_SOURCE_KEY] = source
    titles = {sample.name: sample.title for sample in sample_images()}
    if sample in titles:
        pending[SAMPLE_KEY] = titles[sample]


def _init_state() -> None:
    for key, value in st.session_state.pop(PENDING_KEY, {}).items():
        st.session_state[key] = value
    st.session_state.setdefault(MODEL_KEY, model_label(DEFAULT_MODEL))
    st.session_state.setdefault(WEIGHTS_KEY, "pretrained")
    st.session_state.setdefault(IMAGE_SOURCE_KEY, "sample")
    st.session_state.setdefault(SAMPLE_KEY, sample_images()[0].title)


# Select boxes list display labels and map them back (no format_func: widget state stays plain strings).
def model_label(name: str) -> str:
    spec = CATALOG[name]
    return f"{spec.title} · {spec.family} {spec.year}"


_MODEL_BY_LABEL = {model_label(spec.name): spec.name for spec in list_models()}


def _choose_model() -> LoadedModel:
    label = st.selectbox("Model", list(_MODEL_BY_LABEL), key=MODEL_KEY, help="Every backbone in the catalog.")
    spec = CATALOG[_MODEL_BY_LABEL[label]]
    st.caption(spec.key_idea)
    choices = list(WEIGHTS_CHOICES) if spec.pretrained_available else ["random", "user"]
    if st.session_state[WEIGHTS_KEY] not in choices:
        st.session_state[WEIGHTS_KEY] = choices[0]
    weights = st.radio("Weights", choices, key=WEIGHTS_KEY, horizontal=True)
    user_bytes = None
    if weights == "user":
        upload = st.file_uploader(
            "state_dict (.pth)",
            type=["pth", "pt"],
            key=WEIGHTS_FILE_KEY,
            help="Loaded with torch.load(weights_only=True): a file that would run code is refused.",
        )
        if upload is None:
            st.info("Upload a state_dict for this model; until then it runs with random weights.")
            weights = "random"
        else:
            user_bytes = upload.getvalue()
    try:
        loaded, fallback_reason = load_model(spec.name, weights, user_bytes)
    except CvvizError as exc:
        st.error(str(exc))
        loaded, fallback_reason = load_model(spec.name, "random"), None
        loaded = loaded[0]
    else:
        if fallback_reason:
            st.warning(fallback_reason)
    if loaded.note:
        st.warning(loaded.note)
    if loaded.trained:
        st.success(f"Weights: {loaded.weights.description}", icon=":material/check_circle:")
    else:
        st.warning("Weights: random — **untrained**", icon=":material/warning:")
    return loaded


def _choose_image() -> LoadedImage | None:
    source = st.radio("Image", SOURCES, key=IMAGE_SOURCE_KEY, horizontal=True)
    try:
        if source == "sample":
            samples = {sample.title: sample for sample in sample_images()}
            title = st.selectbox("Sample photo", list(samples), key=SAMPLE_KEY)
            st.caption(samples[title].credit)
            image = load_sample(samples[title].name)
        elif source == "upload":
            upload = st.file_uploader("Upload an image", type=IMAGE_TYPES, key=UPLOAD_KEY)
            if upload is None:
                return None
            image = decode_image(upload.getvalue())
        else:
            shot = st.camera_input("Take a photo", key=CAMERA_KEY)
            if shot is None:
                return None
            image = decode_image(shot.getvalue())
    except CvvizError as exc:
        st.error(str(exc))
        return None
    for note in image.notes:
        st.caption(note)
    st.image(image.image, width="stretch")
    return image


def render_sidebar() -> Selection:
    """Draw the sidebar and return the current selection. Call once per run, before the page."""
    _init_state()
    with st.sidebar:
        loaded = _choose_model()
        image = _choose_image()
        st.caption(f"Device: **{runtime_summary()}**")
    return Selection(loaded, image)
