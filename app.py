"""cvviz: the Streamlit entry point. Builds the navigation and the shared sidebar, then runs the page.

The sidebar's widgets are drawn here, outside the pages, so that their state survives a change of page;
the model itself loads when a page first asks for it (``ui.sidebar.current_selection().model``).

Run with ``streamlit run app.py``. The pages live in ``app_pages/``, not ``pages/``: Streamlit treats a
``pages/`` folder beside the entry point as a legacy multipage app and runs a deep-linked page on its own
before this file has registered the navigation.
"""

import streamlit as st

from cvviz.i18n import _
from ui import kiosk
from ui.language import begin_language
from ui.sidebar import begin_run

# The visitor's language first: every word below, and on the page, is shown in it.
begin_language()
st.set_page_config(
    page_title=_("cvviz — computer-vision backbones, explained"), page_icon="🔭", layout="wide"
)

settings = kiosk.kiosk_settings()


def attended_only(*pages: st.Page) -> list[st.Page]:
    """Pages offered outside kiosk mode only: on an unattended kiosk a walk-up visitor's sweep or
    training would hold the CPU for everyone."""
    return [] if settings.enabled else list(pages)


# On a kiosk with a camera the live view comes first: walk-up visitors wave things at it.
live_first = settings.enabled and settings.camera
LIVE = st.Page(
    "app_pages/live_camera.py", title=_("Live camera"), icon=":material/videocam:", default=live_first
)

# The sidebar groups the pages; a kiosk's touch-sized links show them in the same order, in one row.
SECTIONS = {
    _("Inside a backbone"): [
        *([LIVE] if live_first else []),
        st.Page(
            "app_pages/home.py", title=_("The story"), icon=":material/timeline:", default=not live_first
        ),
        st.Page("app_pages/architecture.py", title=_("Architecture"), icon=":material/account_tree:"),
        st.Page("app_pages/feature_maps.py", title=_("Feature maps"), icon=":material/grid_view:"),
        st.Page(
            "app_pages/receptive_fields.py",
            title=_("Receptive fields"),
            icon=":material/center_focus_strong:",
        ),
        st.Page("app_pages/attention.py", title=_("Attention"), icon=":material/center_focus_weak:"),
        st.Page("app_pages/saliency.py", title=_("Saliency"), icon=":material/highlight:"),
        # A kiosk offers the live view only when it has a camera (and then first, above).
        *([] if live_first or settings.enabled else [LIVE]),
        # Feature visualisation optimises images for minutes on a CPU: too heavy for a walk-up kiosk.
        *attended_only(
            st.Page("app_pages/neurons.py", title=_("What a neuron looks for"), icon=":material/psychology:")
        ),
    ],
    _("Measure"): [
        st.Page("app_pages/compare.py", title=_("Compare backbones"), icon=":material/compare_arrows:"),
        *attended_only(
            st.Page("app_pages/cost_growth.py", title=_("How cost grows"), icon=":material/trending_up:")
        ),
    ],
    _("Beyond classification"): [
        # On a kiosk too, once its weights are pre-fetched: its models are shared through the workbench
        # (counted in its memory budget), each view is one or two ViT forward passes, and the k-NN run is
        # capped in time like every job. Without the weights a kiosk (which never downloads) leaves it out.
        *(
            [
                st.Page(
                    "app_pages/self_supervised.py",
                    title=_("Self-supervised: MAE, DINO"),
                    icon=":material/visibility:",
                )
            ]
            if not settings.enabled or kiosk.self_supervised_weights_here()
            else []
        ),
        *attended_only(
            # Detectors compute 1–330 GMACs per image at 800 px and weigh up to 230 MB each: one visitor's
            # choice would hold the CPU and the model budget for everyone on a kiosk.
            st.Page("app_pages/tasks.py", title=_("Task heads"), icon=":material/select_all:"),
        ),
    ],
    _("Labs"): [
        # On an unattended kiosk every run is capped in time (``CVVIZ_KIOSK_RUN_S``), so a walk-up
        # visitor's run cannot hold a CPU core for long.
        st.Page("app_pages/training.py", title=_("Training lab"), icon=":material/model_training:"),
        *attended_only(
            st.Page("app_pages/transfer.py", title=_("Transfer lab"), icon=":material/school:"),
            st.Page("app_pages/generative.py", title=_("Generative lab"), icon=":material/auto_awesome:"),
            st.Page("app_pages/task_lab.py", title=_("Detection lab"), icon=":material/crop_free:"),
        ),
    ],
}
SECTIONS = {section: pages for section, pages in SECTIONS.items() if pages}
PAGES = [page for pages in SECTIONS.values() for page in pages]

kiosk.start(settings)
# Kiosk mode hides Streamlit's menus (and with them its top page menu) and draws touch-sized page links.
navigation = (
    st.navigation(PAGES, position="hidden")
    if settings.enabled
    else st.navigation(SECTIONS, position="sidebar", expanded=True)
)
kiosk.page_links(settings, PAGES)
kiosk.attract_loop(settings, PAGES)
begin_run()
navigation.run()
