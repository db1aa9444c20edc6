"""cvviz: see why computer-vision backbones look the way they do, computed live from the real models.

The library computes and returns data; the Streamlit app (``app.py``, ``app_pages/``) and the CLI
(``python -m cvviz``) are thin layers over it. It never imports Streamlit.
"""

__version__ = "0.2.0"
