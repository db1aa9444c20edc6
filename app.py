"""cvviz: the Streamlit entry point. Builds the navigation and the shared sidebar, then runs the page.

Run with ``streamlit run app.py``.
"""

import streamlit as st

from ui import kiosk
from ui.sidebar import shared_sidebar

st.set_page_config(page_title="cvviz — computer-vision backbones, explained", page_icon="🔭", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="The story", icon=":material/timeline:", default=True),
    st.Page("pages/architecture.py", title="Architecture", icon=":material/account_tree:"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:"),
    st.Page("pages/receptive_fields.py", title="Receptive fields", icon=":material/center_focus_strong:"),
    st.Page("pages/attention.py", title="Attention", icon=":material/center_focus_weak:"),
    st.Page("pages/saliency.py", title="Saliency", icon=":material/highlight:"),
    st.Page("pages/compare.py", title="Compare backbones", icon=":material/compare_arrows:"),
]

settings = kiosk.kiosk_settings()
kiosk.start(settings)
navigation = st.navigation(PAGES, position="top" if settings.enabled else "sidebar")
kiosk.attract_loop(settings, PAGES)
with shared_sidebar():
    navigation.run()
