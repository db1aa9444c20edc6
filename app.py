"""cvviz: the Streamlit entry point. Builds the navigation and the shared sidebar, then runs the page.

Run with ``streamlit run app.py``.
"""

import streamlit as st

from ui.sidebar import shared_sidebar

st.set_page_config(page_title="cvviz — computer-vision backbones, explained", page_icon="🔭", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="The story", icon=":material/timeline:", default=True),
    st.Page("pages/architecture.py", title="Architecture", icon=":material/account_tree:"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:"),
]

navigation = st.navigation(PAGES)
with shared_sidebar():
    navigation.run()
