"""Plotly figures built from cvviz results, one module per topic. Figures only: nothing is computed here
that the library did not already compute."""
