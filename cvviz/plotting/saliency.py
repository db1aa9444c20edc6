"""Figures for saliency: maps over the model's input crop, method grids, sanity cascades and curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.explain.saliency import METHODS, view
from cvviz.explain.saliency.faithfulness import FaithfulnessCurve
from cvviz.explain.saliency.sanity import SanityResult
from cvviz.formatting import format_decimal
from cvviz.i18n import N_, _
from cvviz.plotting.style import CIVIDIS, DIVERGING, HEAT, MAGMA, colourbar, image_trace, square_pixels

# Perceptually uniform and darkest at zero for the one-sided views; a diverging scale, white at zero,
# only for the signed view.
_SCALES = {"positive": MAGMA, "negative": CIVIDIS, "absolute": HEAT, "signed": DIVERGING}
_KEYS = {
    "positive": N_("positive attribution<br>(share of the<br>map's largest)"),
    "negative": N_("negative attribution<br>(share of the<br>map's largest)"),
    "absolute": N_("|attribution|<br>(share of the<br>map's largest)"),
    "signed": N_("attribution<br>(share of the map's<br>largest magnitude)"),
}


def _coloraxis(kind: str) -> dict:
    """One key for every map of a figure: each map is shown as a share of its own largest magnitude."""
    return {
        "colorscale": _SCALES[kind],
        "cmin": -1.0 if kind == "signed" else 0.0,
        "cmax": 1.0,
        "colorbar": colourbar(_(_KEYS[kind])),
    }


def _heatmap(attr_map: np.ndarray, kind: str, opacity: float) -> go.Heatmap:
    shown = view(attr_map, kind)
    top = float(np.abs(shown).max()) or 1.0
    return go.Heatmap(
        z=shown / top,
        customdata=shown,
        coloraxis="coloraxis",
        opacity=opacity,
        hovertemplate=_("x %{x}, y %{y}: %{customdata:.3g} (%{z:.0%} of the largest)") + "<extra></extra>",
    )


def method_title(name: str) -> str:
    """A method's display name ("Grad-CAM" for ``grad_cam``); unknown names are shown as they are."""
    method = METHODS.get(name)
    return method.title if method is not None else name


def saliency_grid_figure(
    image: np.ndarray,
    maps: Sequence[tuple[str, np.ndarray]],
    kind: str = "absolute",
    opacity: float = 0.6,
    columns: int = 3,
) -> go.Figure:
    """Each (title, map (H, W)) over ``image`` (H, W, 3 uint8, the model's input crop), side by side,
    each scaled to its own largest magnitude and keyed by one colour bar."""
    columns = max(1, min(columns, len(maps)))
    rows = -(-len(maps) // columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=[title for title, _ in maps])
    for i, (_title, attr_map) in enumerate(maps):
        row, col = i // columns + 1, i % columns + 1
        figure.add_trace(image_trace(image), row=row, col=col)
        figure.add_trace(_heatmap(attr_map, kind, opacity), row=row, col=col)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed")
    square_pixels(figure)
    figure.update_layout(
        coloraxis=_coloraxis(kind), height=320 * rows, margin={"l": 5, "r": 5, "t": 30, "b": 5}
    )
    return figure


def sanity_figure(results: Sequence[SanityResult], metric: str = "spearman") -> go.Figure:
    """Similarity with the original map (y) as the model is randomised from the top down (x), one line
    per method, named as the app names it. Steps are placed by their order, so two groups that share a
    name keep their own places."""
    figure = go.Figure()
    names: list[str] = []
    for result in results:
        steps = [step.name for step in result.steps]
        names = steps if len(steps) > len(names) else names
        figure.add_trace(
            go.Scatter(
                x=list(range(len(steps))),
                y=[getattr(step, metric) for step in result.steps],
                customdata=steps,
                mode="lines+markers",
                name=method_title(result.method),
                hovertemplate=_("randomised down to %{customdata}") + "<br>%{y:.2f}",
            )
        )
    figure.update_layout(
        xaxis={
            "title": _("randomised down to (cumulative, top first)"),
            "tickmode": "array",
            "tickvals": list(range(len(names))),
            "ticktext": names,
        },
        yaxis_title=_("Spearman rank correlation") if metric == "spearman" else "SSIM",
        yaxis_range=[-1.05, 1.05],
        showlegend=True,
        legend_title=_("method"),
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
                name=f"{label} {_(curve.kind)} (AUC {format_decimal(curve.auc, 3)})",
                line={"dash": "solid" if curve.kind == "deletion" else "dot"},
            )
        )
    figure.update_layout(
        xaxis_title=_("fraction of pixels deleted / inserted, most salient first"),
        yaxis_title=_("target probability"),
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return figure
