"""cvviz: the Streamlit entry point. Builds the navigation and the shared sidebar, then runs the page.

The sidebar's widgets are drawn here, outside the pages, so that their state survives a change of page;
the model itself loads when a page first asks for it (``ui.sidebar.current_selection().model``).

Run with ``streamlit run app.py``. The pages live in ``app_pages/``, not ``pages/``: Streamlit treats a
``pages/`` folder beside the entry point as a legacy multipage app and runs a deep-linked page on its own
before this file has registered the navigation.
"""

import streamlit as st

from ui import kiosk
from ui.sidebar import begin_run

st.set_page_config(page_title="cvviz — computer-vision backbones, explained", page_icon="🔭", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="The story", icon=":material/timeline:", default=True),
    st.Page("app_pages/architecture.py", title="Architecture", icon=":material/account_tree:"),
    st.Page("app_pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:"),
    st.Page("app_pages/receptive_fields.py", title="Receptive fields", icon=":material/center_focus_strong:"),
    st.Page("app_pages/attention.py", title="Attention", icon=":material/center_focus_weak:"),
    st.Page("app_pages/saliency.py", title="Saliency", icon=":material/highlight:"),
    st.Page("app_pages/compare.py", title="Compare backbones", icon=":material/compare_arrows:"),
]
TRAINING = st.Page("app_pages/training.py", title="Training lab", icon=":material/model_training:")
TRANSFER = st.Page("app_pages/transfer.py", title="Transfer lab", icon=":material/school:")

settings = kiosk.kiosk_settings()
# An unattended kiosk offers no training: a walk-up visitor's run would hold the CPU for everyone.
if not settings.enabled:
    PAGES += [TRAINING, TRANSFER]
kiosk.start(settings)
# Kiosk mode hides Streamlit's menus (and with them its top page menu) and draws touch-sized page links.
navigation = st.navigation(PAGES, position="hidden" if settings.enabled else "sidebar")
kiosk.page_links(settings, PAGES)
kiosk.attract_loop(settings, PAGES)
begin_run()
navigation.run()
