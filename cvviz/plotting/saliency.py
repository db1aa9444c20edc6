"""Figures for saliency: maps over the model's input crop, method grids, sanity cascades and curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.explain.saliency import view
from cvviz.explain.saliency.faithfulness import FaithfulnessCurve
from cvviz.explain.saliency.sanity import SanityResult

_SCALES = {"positive": "Reds", "negative": "Blues", "absolute": "Inferno", "signed": "RdBu_r"}


def _heatmap(attr_map: np.ndarray, kind: str, opacity: float, showscale: bool) -> go.Heatmap:
    shown = view(attr_map, kind)
    top = float(np.abs(shown).max()) or 1.0
    signed = kind == "signed"
    return go.Heatmap(
        z=shown,
        colorscale=_SCALES[kind],
        zmin=-top if signed else 0.0,
        zmax=top,
        opacity=opacity,
        showscale=showscale,
        hovertemplate="x %{x}, y %{y}: %{z:.3g}<extra></extra>",
    )


def saliency_grid_figure(
    image: np.ndarray,
    maps: Sequence[tuple[str, np.ndarray]],
    kind: str = "absolute",
    opacity: float = 0.6,
    columns: int = 3,
) -> go.Figure:
    """Each (title, map (H, W)) over ``image`` (H, W, 3 uint8, the model's input crop), side by side."""
    columns = max(1, min(columns, len(maps)))
    rows = -(-len(maps) // columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=[title for title, _ in maps])
    for i, (_, attr_map) in enumerate(maps):
        row, col = i // columns + 1, i % columns + 1
        figure.add_trace(go.Image(z=image, hoverinfo="skip"), row=row, col=col)
        figure.add_trace(_heatmap(attr_map, kind, opacity, showscale=False), row=row, col=col)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    figure.update_layout(height=320 * rows, margin={"l": 5, "r": 5, "t": 30, "b": 5})
    return figure


def sanity_figure(results: Sequence[SanityResult], metric: str = "spearman") -> go.Figure:
    """Similarity with the original map (y) as the model is randomised from the top down (x)."""
    figure = go.Figure()
    for result in results:
        figure.add_trace(
            go.Scatter(
                x=[step.name for step in result.steps],
                y=[getattr(step, metric) for step in result.steps],
                mode="lines+markers",
                name=result.method,
            )
        )
    figure.update_layout(
        xaxis_title="randomised down to (cumulative, top first)",
        yaxis_title="Spearman rank correlation" if metric == "spearman" else "SSIM",
        yaxis_range=[-1.05, 1.05],
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return figure


def curves_figure(curves: Sequence[tuple[str, FaithfulnessCurve]]) -> go.Figure:
    """Deletion/insertion curves: target probability against the fraction of pixels changed."""
    figure = go.Figure()
    for label, curve in curves:
        figure.add_trace(
            go.Scatter(
                x=curve.fractions,
                y=curve.probs,
                mode="lines",
                name=f"{label} {curve.kind} (AUC {curve.auc:.3f})",
                line={"dash": "solid" if curve.kind == "deletion" else "dot"},
            )
        )
    figure.update_layout(
        xaxis_title="fraction of pixels deleted / inserted, most salient first",
        yaxis_title="target probability",
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return figure
