"""Process-wide resources shared by every browser session (``st.cache_resource``).

Imports of torch and the models happen inside the functions, so a page can draw its first content (title,
story, timeline from the persisted catalog figures) before the heavy libraries load.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from cvviz.data.images import LoadedImage, load_image
from cvviz.formatting import format_decimal
from cvviz.i18n import _
from cvviz.measure.catalog_figures import ModelSummary, catalog_summaries, persisted_summaries
from cvviz.transfer.data import bundled_shapes, from_zip

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel, Workbench

log = logging.getLogger("cvviz.app")

RETRY_DOWNLOAD_AFTER_S = 300


@st.cache_resource(show_spinner=False)
def workbench() -> Workbench:
    """The server's one workbench: the shared models and every result computed from them."""
    from cvviz.models.workbench import Workbench

    return Workbench()


@st.cache_resource(show_spinner=False)
def _download_failures() -> tuple[dict[str, tuple[float, str]], threading.Lock]:
    """Recent failed downloads by model, so an offline server does not retry on every rerun."""
    return {}, threading.Lock()


@st.cache_resource(show_spinner=False)
def _computed_summaries() -> list[ModelSummary]:
    return catalog_summaries()


def summaries() -> list[ModelSummary]:
    """Every catalog model's row, from the persisted figures when they are current (no torch needed)."""
    rows = persisted_summaries()
    if rows is not None:
        return rows
    with st.spinner(_("Counting every model's parameters and multiplications (once)…")):
        return _computed_summaries()


@dataclass(frozen=True)
class ModelChoice:
    """A model as the sidebar lists it: catalog name, display label and whether it has trained weights."""

    name: str
    label: str
    pretrained_available: bool


@st.cache_resource(show_spinner=False)
def model_choices() -> tuple[ModelChoice, ...]:
    """The catalog in story order, for the model picker: from the persisted figures when present (fast),
    else from the registry."""
    rows = persisted_summaries()
    if rows is not None:
        return tuple(
            ModelChoice(r.name, f"{r.title} · {r.family} {r.year}", r.pretrained_available) for r in rows
        )
    from cvviz.catalog import list_models

    return tuple(
        ModelChoice(s.name, f"{s.title} · {s.family} {s.year}", s.pretrained_available) for s in list_models()
    )


@st.cache_data(max_entries=16, show_spinner=False)
def decode_image(data: bytes) -> LoadedImage:
    """Decode uploaded bytes once per distinct upload (errors are not cached and re-raise)."""
    return load_image(data)


@dataclass(frozen=True)
class Fallback:
    """Why the pretrained weights could not be used: one plain sentence, and the technical reason."""

    sentence: str
    detail: str


def load_model(
    name: str, weights: str, user_weights: bytes | None = None
) -> tuple[LoadedModel, Fallback | None]:
    """The shared model, downloading pretrained weights with a progress bar on first use.

    When pretrained weights cannot be had (offline, say), falls back to random weights and says so in a
    :class:`Fallback`; the model is then marked untrained everywhere.
    """
    from cvviz.catalog import get_spec
    from cvviz.errors import WeightsError
    from cvviz.models.weights import cached_weights_path, downloads_disabled

    bench = workbench()
    spec = get_spec(name)
    if weights == "pretrained" and not spec.pretrained_available:
        return bench.get(name, "random"), Fallback(
            _("{model} has no published weights: showing random weights.").format(model=spec.title),
            _("The catalog lists none."),
        )
    if weights != "pretrained" or spec.packaged_weights is not None or cached_weights_path(spec) is not None:
        return bench.get(name, weights, user_weights=user_weights), None
    failures, lock = _download_failures()
    with lock:
        failed_at, reason = failures.get(name, (0.0, ""))
    where = _("offline") if downloads_disabled() else _("could not download them")
    fallback = Fallback(
        _("No trained weights for {model} here ({reason}): showing random weights.").format(
            model=spec.title, reason=where
        ),
        reason,
    )
    if time.monotonic() - failed_at < RETRY_DOWNLOAD_AFTER_S:
        return bench.get(name, "random"), fallback
    bar = st.progress(0.0, text=_("Downloading {model} weights…").format(model=spec.title))

    def progress(done: int, total: int | None) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        done_mb = format_decimal(done / 2**20, 0)
        if total:
            text = _("Downloading {model} weights: {done} MB of {total} MB").format(
                model=spec.title, done=done_mb, total=format_decimal(total / 2**20, 0)
            )
        else:
            text = _("Downloading {model} weights: {done} MB").format(model=spec.title, done=done_mb)
        bar.progress(fraction, text=text)

    try:
        return bench.get(name, "pretrained", progress=progress), None
    except WeightsError as exc:
        log.warning("pretrained weights for %s unavailable: %s", name, exc)
        with lock:
            failures[name] = (time.monotonic(), str(exc))
        return bench.get(name, "random"), Fallback(fallback.sentence, str(exc))
    finally:
        bar.empty()


@dataclass(frozen=True)
class Predictions:
    """A model's top-k for an image, and how long its forward pass took (the basis of time estimates)."""

    top: list
    forward_s: float


def predictions(loaded: LoadedModel, image: LoadedImage, topk: int = 5) -> Predictions:
    """The top-``topk`` prediction, computed once per model and image (every page shows it)."""
    from cvviz.models.inference import predict

    def compute() -> Predictions:
        start = time.perf_counter()
        top = predict(loaded, image.image, topk=topk)
        return Predictions(top, time.perf_counter() - start)

    return workbench().remember(loaded.key, image.fingerprint, "predict", topk, compute)


@st.cache_resource(show_spinner=False)
def drawn_shapes():
    """The transfer lab's bundled drawn shapes, drawn once for every session."""
    return bundled_shapes()


@st.cache_resource(scope="session", max_entries=1, show_spinner=False)
def session_zip_images(upload_id: str, _data: bytes):
    """This session's zip of class folders (one at a time), unpacked within limits into a private temporary
    folder, read and removed."""
    return from_zip(_data)
