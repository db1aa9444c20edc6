"""Streamlit glue shared by every page: the sidebar, cached resources and message helpers.

Only widgets and calls into the ``cvviz`` library live here; no tensor maths.
"""
