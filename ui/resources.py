"""Process-wide resources shared by every browser session (``st.cache_resource``)."""

from __future__ import annotations

import threading
import time

import streamlit as st

from cvviz.catalog import get_spec
from cvviz.errors import WeightsError
from cvviz.images import LoadedImage, load_image
from cvviz.model_cache import LoadedModel, ModelCache
from cvviz.summary import ModelSummary, model_summaries
from cvviz.weights import cached_weights_path


@st.cache_resource(show_spinner=False)
def model_cache() -> ModelCache:
    """One bounded cache of loaded models for the whole server."""
    return ModelCache()


RETRY_DOWNLOAD_AFTER_S = 300


@st.cache_resource(show_spinner=False)
def _download_failures() -> tuple[dict[str, tuple[float, str]], threading.Lock]:
    """Recent failed downloads by model, so an offline server does not retry on every rerun."""
    return {}, threading.Lock()


@st.cache_resource(show_spinner="Counting every model's parameters…")
def catalog_summaries() -> list[ModelSummary]:
    return model_summaries()


@st.cache_data(max_entries=16, show_spinner=False)
def decode_image(data: bytes) -> LoadedImage:
    """Decode uploaded bytes once per distinct upload (errors are not cached and re-raise)."""
    return load_image(data)


def load_model(name: str, weights: str, user_weights: bytes | None = None) -> tuple[LoadedModel, str | None]:
    """The shared model, downloading pretrained weights with a progress bar on first use.

    When pretrained weights cannot be had (offline, say), falls back to random weights and returns the
    reason as a sentence for the caller to show; the model is then marked untrained everywhere.
    """
    cache = model_cache()
    spec = get_spec(name)
    if weights == "pretrained" and not spec.pretrained_available:
        return cache.get(
            name, "random"
        ), f"{spec.title} has no pretrained weights; it runs with random weights."
    if weights != "pretrained" or spec.packaged_weights or cached_weights_path(spec) is not None:
        return cache.get(name, weights, user_weights=user_weights), None
    failures, lock = _download_failures()
    with lock:
        failed_at, reason = failures.get(name, (0.0, ""))
    if time.monotonic() - failed_at < RETRY_DOWNLOAD_AFTER_S:
        return cache.get(name, "random"), f"{reason} Showing {spec.title} with random weights instead."
    bar = st.progress(0.0, text=f"Downloading {spec.title} weights…")

    def progress(done: int, total: int | None) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        total_text = f" of {total / 2**20:.0f} MB" if total else ""
        bar.progress(fraction, text=f"Downloading {spec.title} weights: {done / 2**20:.0f} MB{total_text}")

    try:
        return cache.get(name, "pretrained", progress=progress), None
    except WeightsError as exc:
        with lock:
            failures[name] = (time.monotonic(), str(exc))
        return cache.get(name, "random"), f"{exc} Showing {spec.title} with random weights instead."
    finally:
        bar.empty()
