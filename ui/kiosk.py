"""Kiosk mode for an unattended demo screen: ``CVVIZ_KIOSK=1 streamlit run app.py``.

Touch-sized controls and page links, no developer menus or error details, no downloads at run time
(pre-fetch with ``python -m cvviz weights fetch``), a sample photo with its prediction on the first screen
(the camera is one touch away in the sidebar), one column on a portrait screen, every job (a training run,
an experiment) capped at ``CVVIZ_KIOSK_RUN_S`` seconds (default 60), and an attract loop:
after ``CVVIZ_KIOSK_IDLE_S`` idle seconds the app starts a guided tour through sample images, the models
with trained weights on this machine and the pages, and any touch of a control (or the big "explore"
button) hands it back to the visitor. With a camera (``CVVIZ_KIOSK_CAMERA=1``, or by default when the
machine has a video device) the live camera is the first page.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from cvviz.catalog.registry import DEFAULT_MODEL
from cvviz.data.images import sample_images
from cvviz.i18n import _, ngettext
from ui.language import apply_language
from ui.resources import model_choices
from ui.sidebar import request_selection

KIOSK_ENV = "CVVIZ_KIOSK"
IDLE_ENV = "CVVIZ_KIOSK_IDLE_S"
STEP_ENV = "CVVIZ_KIOSK_STEP_S"
RUN_LIMIT_ENV = "CVVIZ_KIOSK_RUN_S"
CAMERA_ENV = "CVVIZ_KIOSK_CAMERA"

LAST_TOUCH_KEY = "kiosk.last_touch"
TOURING_KEY = "kiosk.touring"
TOUR_STEP_KEY = "kiosk.step"
TOUR_RERUN_KEY = "kiosk.tour_rerun"
STEP_STARTED_KEY = "kiosk.step_started"

NAV_KEY = "kiosk_nav"

# The toolbar (and with it Streamlit's own page menu) stays hidden: the pages get touch-sized links of
# their own (:func:`page_links`). On a portrait screen every row of columns becomes one column, and the
# home page's prediction comes before its timeline so that the first screen shows a result.
_CSS = """
<style>
  [data-testid="stToolbar"], [data-testid="stMainMenu"], #MainMenu, footer,
  [data-testid="stAppDeployButton"], [data-testid="stDecoration"] { display: none !important; }
  html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
  button, [role="radio"], [data-baseweb="select"] > div { min-height: 56px !important; }
  [data-testid="stSidebar"] label p { font-size: 1.15rem; }
  [data-testid="stSidebar"] [role="radiogroup"] label { padding: 0.4rem 0.8rem; }
  [data-testid="stMainBlockContainer"] { padding-top: 4.5rem; }  /* just below the (empty) header */
  /* Titles on one line at 1920 px, so that two rows of page links still leave the prediction in view. */
  [data-testid="stMainBlockContainer"] h1 { font-size: 2.2rem; }
  .st-key-kiosk_nav a[data-testid="stPageLink-NavLink"] {
    min-height: 56px; padding: 0 0.6rem; border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.6rem;
  }
  @media (orientation: portrait) {
    [data-testid="stMainBlockContainer"] { padding-left: 1.5rem; padding-right: 1.5rem; }
    [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]) { flex-wrap: wrap !important; }
    [data-testid="stColumn"] { flex: 1 1 100% !important; width: 100% !important; min-width: 100% !important; }
    [data-testid="stColumn"]:has(.st-key-home-prediction) { order: -1; }  /* the result first */
  }
</style>
"""


@dataclass(frozen=True)
class KioskSettings:
    """Kiosk behaviour, read from the environment."""

    enabled: bool
    idle_seconds: float = 90.0
    step_seconds: float = 12.0
    run_limit_seconds: float = 60.0
    """The longest a job (a training run, an experiment, a measurement) may run on a kiosk: a walk-up
    visitor's run must not hold a CPU core for long."""
    camera: bool = False
    """Whether the kiosk has a camera (its browser runs on this machine): the live view then comes first."""

    @property
    def job_time_limit(self) -> float | None:
        """The cap on every job this app starts (None: no cap outside kiosk mode)."""
        return self.run_limit_seconds if self.enabled else None


def kiosk_settings() -> KioskSettings:
    def number(name: str, default: float) -> float:
        try:
            return max(1.0, float(os.environ.get(name, default)))
        except ValueError:
            return default

    return KioskSettings(
        enabled=os.environ.get(KIOSK_ENV, "") not in ("", "0"),
        idle_seconds=number(IDLE_ENV, 90.0),
        step_seconds=number(STEP_ENV, 12.0),
        run_limit_seconds=number(RUN_LIMIT_ENV, 60.0),
        camera=has_camera(),
    )


def has_camera() -> bool:
    """``CVVIZ_KIOSK_CAMERA`` when set ("1" or "0"); else whether this machine has a video device."""
    value = os.environ.get(CAMERA_ENV, "").strip()
    if value:
        return value not in ("0", "false", "no")
    return any(Path("/dev").glob("video[0-9]*"))


def trained_models() -> list[str]:
    """Catalog classifiers whose trained weights are on this machine (cached, or shipped in a package):
    the models the tour may pick in the sidebar (not task or self-supervised models, which it cannot show)."""
    from cvviz.catalog import list_models
    from cvviz.models.weights import list_cached_weights

    classifiers = {spec.name for spec in list_models()}
    return [row.model for row in list_cached_weights() if row.cached and row.model in classifiers]


SELF_SUPERVISED_MODELS = ("mae_vitb16", "dino_vits16", "deit_s16")
"""The self-supervised page's first views: MAE, DINO and DINO's supervised twin (pre-fetched by the image)."""


def self_supervised_weights_here() -> bool:
    """Whether the self-supervised page's first views have their weights on this machine. A kiosk offers
    the page only then: it never downloads, and without weights the page could only say how to fetch them."""
    from cvviz.models.weights import list_cached_weights

    cached = {row.model for row in list_cached_weights() if row.cached}
    return all(name in cached for name in SELF_SUPERVISED_MODELS)


def tour_models() -> list[str]:
    """Models the tour shows: the ones with trained weights here, else the default model, untrained."""
    return trained_models() or [DEFAULT_MODEL]


def tour_caption(models: list[str], trained: bool, samples: int, pages: int) -> str:
    """What the guided tour shows, in one line: the models by title, how many photos and pages."""
    from cvviz.catalog import get_spec

    titles = ", ".join(get_spec(name).title for name in models)
    if trained:
        count = ngettext(
            "{n} model with trained weights on this machine",
            "{n} models with trained weights on this machine",
            len(models),
        ).format(n=len(models))
    else:
        count = _("no trained weights on this machine, so an untrained model")
    return _("Guided tour: {models} ({titles}), {samples} sample photos, {pages} pages.").format(
        models=count, titles=titles, samples=samples, pages=pages
    )


def start(settings: KioskSettings) -> None:
    """Call first in the entry point: style the page and note whether this run was a visitor's touch."""
    if not settings.enabled:
        return
    st.html(_CSS)
    now = time.monotonic()
    if st.session_state.pop(TOUR_RERUN_KEY, False):
        return  # the tour itself asked for this run
    st.session_state[LAST_TOUCH_KEY] = now
    st.session_state[TOURING_KEY] = False


def page_links(settings: KioskSettings, pages: list) -> None:
    """A row of touch-sized links to every page, at the top of the main area (wraps on narrow screens)."""
    if not settings.enabled:
        return
    with st.container(horizontal=True, gap="small", key=NAV_KEY):
        for page in pages:
            st.page_link(page)


def _advance(pages: list) -> None:
    step = st.session_state.get(TOUR_STEP_KEY, -1) + 1
    st.session_state[TOUR_STEP_KEY] = step
    st.session_state[STEP_STARTED_KEY] = time.monotonic()
    models = tour_models()
    samples = sample_images()
    model = models[step % len(models)]
    request_selection(
        model=model,
        weights="pretrained"
        if any(c.name == model and c.pretrained_available for c in model_choices())
        else "random",
        source="sample",
        sample=samples[step % len(samples)].name,
    )
    st.session_state[TOUR_RERUN_KEY] = True
    st.switch_page(pages[step % len(pages)])


def attract_loop(settings: KioskSettings, pages: list) -> None:
    """Draw the tour banner while touring, and watch for idleness every few seconds."""
    if not settings.enabled:
        return

    if st.session_state.get(TOURING_KEY):
        if st.button(
            _("Touch here to explore on your own"),
            key="kiosk.explore",
            type="primary",
            icon=":material/touch_app:",
            width="stretch",
        ):
            st.session_state[TOURING_KEY] = False
            st.session_state[LAST_TOUCH_KEY] = time.monotonic()
            st.rerun()
        trained = trained_models()
        st.caption(tour_caption(trained or [DEFAULT_MODEL], bool(trained), len(sample_images()), len(pages)))

    @st.fragment(run_every=min(5.0, settings.step_seconds))
    def watch() -> None:
        apply_language()  # a fragment rerun does not run the entry point, which sets it
        now = time.monotonic()
        if not st.session_state.get(TOURING_KEY):
            if now - st.session_state.get(LAST_TOUCH_KEY, now) >= settings.idle_seconds:
                st.session_state[TOURING_KEY] = True
                _advance(pages)
        elif now - st.session_state.get(STEP_STARTED_KEY, now) >= settings.step_seconds:
            _advance(pages)

    watch()
