"""Figures for what a unit looks for: optimised images and dataset patches side by side, and how the
objective rose during an optimisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.explain.neurons import FeatureVisualization, Patch
from cvviz.explain.neurons.tiles import to_uint8
from cvviz.formatting import format_decimal
from cvviz.i18n import _
from cvviz.plotting.style import image_trace, square_pixels, wrap


def short_ratio(result: FeatureVisualization) -> str:
    """ "12.3×" (the truth ratio), or "—" when no sample photo excites the unit."""
    ratio = result.truth_ratio
    return "—" if ratio is None else f"{format_decimal(ratio, 1)}×"


def ratio_text(result: FeatureVisualization) -> str:
    """ "12.3× the best photo", or a sentence saying there is no ratio."""
    ratio = result.truth_ratio
    if ratio is None:
        return _("no sample photo excites it")
    return _("{ratio}× the best photo").format(ratio=format_decimal(ratio, 1))


def images_figure(
    panels: Sequence[tuple[str, np.ndarray]], columns: int = 4, cell_px: int = 190
) -> go.Figure:
    """Each (title, image) side by side, ``columns`` per row; images are (H, W, C) arrays in [0, 1] or
    uint8 and may differ in size (each subplot has its own axes)."""
    columns = max(1, min(columns, len(panels)))
    rows = max(1, -(-len(panels) // columns))
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[wrap(title, 28) for title, _ in panels],
        horizontal_spacing=0.02,
        vertical_spacing=min(0.3, 0.25 / rows),
    )
    for n, (_title, image) in enumerate(panels):
        figure.add_trace(image_trace(to_uint8(image)), row=n // columns + 1, col=n % columns + 1)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    square_pixels(figure)
    figure.update_annotations(font_size=12)
    figure.update_layout(height=(cell_px + 40) * rows, margin={"l": 5, "r": 5, "t": 40, "b": 5})
    return figure


def visualizations_figure(results: Sequence[FeatureVisualization], columns: int = 4) -> go.Figure:
    """Optimised images titled with their objective and their truth ratio (the caption says what it is)."""
    return images_figure(
        [(f"{r.objective.label} · {short_ratio(r)}", r.image) for r in results], columns=columns
    )


def patches_figure(patches: Sequence[Patch], columns: int = 5) -> go.Figure:
    """Dataset examples, strongest first, titled with their image and activation."""
    return images_figure(
        [(f"{p.name} · {format_decimal(p.activation, 2)}", p.pixels) for p in patches],
        columns=columns,
        cell_px=140,
    )


def objective_curves_figure(results: Sequence[FeatureVisualization]) -> go.Figure:
    """The objective at every step of the optimisation, one line per image, with the best photo's value
    as a dotted line of the same colour."""
    figure = go.Figure()
    for n, result in enumerate(results):
        colour = f"hsl({(n * 47) % 360}, 65%, 45%)"
        steps = np.arange(1, len(result.curve) + 1)
        figure.add_trace(
            go.Scatter(
                x=steps, y=result.curve, mode="lines", name=result.objective.label, line={"color": colour}
            )
        )
        if np.isfinite(result.photo_activation):
            figure.add_trace(
                go.Scatter(
                    x=[steps[0], steps[-1]],
                    y=[result.photo_activation] * 2,
                    mode="lines",
                    line={"color": colour, "dash": "dot"},
                    name=_("{objective}: best photo").format(objective=result.objective.label),
                    showlegend=n == 0,
                )
            )
    figure.update_layout(
        xaxis_title=_("step"),
        yaxis_title=_("objective (mean activation)"),
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure
