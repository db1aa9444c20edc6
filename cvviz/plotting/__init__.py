"""Plotly figures built from cvviz results, one module per topic. Figures only: nothing is computed here
that the library did not already compute."""

import contextlib

# Plotly imports pandas lazily the first time a figure checks its data; two threads (two browser
# sessions) doing that at once can see a half-imported module. Import it once, up front (pandas is
# optional for plotly: without it there is nothing to race on).
with contextlib.suppress(ImportError):
    import pandas  # noqa: F401
