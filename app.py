"""cvviz: the Streamlit entry point. Builds the navigation and the shared sidebar, then runs the page.

Run with ``streamlit run app.py``.
"""

import streamlit as st

from ui.sidebar import shared_sidebar

st.set_page_config(page_title="cvviz — computer-vision backbones, explained", page_icon="🔭", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="The story", icon=":material/timeline:", default=True),
    st.Page("pages/saliency.py", title="Saliency", icon=":material/highlight:"),
]

navigation = st.navigation(PAGES)
with shared_sidebar():
    navigation.run()
