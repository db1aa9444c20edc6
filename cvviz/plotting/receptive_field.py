"""Figures for receptive fields: growth along depth, a unit's box on the input, and effective-field maps.

Built from :class:`cvviz.explain.receptive_field.LayerField` / :class:`UnitBox` and numpy arrays; nothing here
computes a field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from cvviz.explain.receptive_field import LayerField, UnitBox
from cvviz.formatting import format_number
from cvviz.i18n import _
from cvviz.plotting.style import HEAT, colourbar, image_trace, log_axis, square_pixels


def growth_figure(curves: Mapping[str, Sequence[LayerField]]) -> go.Figure:
    """Receptive-field height (log scale) against depth, one line per model (``{title: leaf fields}``).

    Layers whose field is not a real count (global pooling: "the whole image") are left out; layers whose
    units also see the whole image through squeeze-and-excitation keep their convolutional field.
    """
    fig = go.Figure()
    sizes: list[int] = []
    for title, all_fields in curves.items():
        # Global pooling (one 1×1 unit that sees the whole image) is not a field size: leave it out.
        fields = [f for f in all_fields if f.exact or (f.global_context and f.output_size != (1, 1))]
        sizes += [f.size[0] for f in fields]
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(fields) + 1)),
                y=[f.size[0] for f in fields],
                mode="lines",
                name=title,
                customdata=[
                    [f.layer, f"{format_number(f.size[0])}×{format_number(f.size[1])}", f.stride[0], f.exact]
                    for f in fields
                ],
                hovertemplate="%{customdata[0]}<br>"
                + _("field %{customdata[1]} · stride %{customdata[2]}<br>exact: %{customdata[3]}")
                + "<extra>"
                + title
                + "</extra>",
            )
        )
    fig.update_layout(
        xaxis_title=_("depth (operations in forward order)"),
        yaxis_title=_("receptive field (pixels, height; log scale)"),
        yaxis=log_axis(sizes),
        height=380,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return fig


def _rect(box: tuple[int, int, int, int], **style) -> dict:
    top, left, bottom, right = box
    return dict(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5, **style)


def unit_box_figure(
    image: np.ndarray, box: UnitBox, heat: np.ndarray | None = None, title: str = ""
) -> go.Figure:
    """The (H, W, 3) uint8 ``image`` with the unit's theoretical box: solid inside the image, dashed where it
    runs into the padding (shaded). ``heat`` (H, W), if given, is overlaid as the effective field."""
    height, width = image.shape[:2]
    fig = go.Figure(image_trace(image))
    if heat is not None:
        peak = float(heat.max()) or 1.0
        fig.add_trace(
            go.Heatmap(
                z=heat / peak,
                colorscale=HEAT,
                zmin=0.0,
                zmax=1.0,
                opacity=0.6,
                colorbar=colourbar(_("effective field<br>(share of its<br>largest value)")),
                hovertemplate=_("row %{y}, column %{x}<br>%{z:.3f} of the largest") + "<extra></extra>",
            )
        )
    top, left, bottom, right = box.box
    fig.add_shape(
        _rect(box.box, line=dict(color="#FFD400", dash="dash", width=2), fillcolor="rgba(255,212,0,0.12)")
    )
    if box.clipped is not None:
        fig.add_shape(_rect(box.clipped, line=dict(color="#00E5FF", width=3)))
    fig.update_xaxes(range=[min(left, 0) - 2, max(right, width - 1) + 2], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[max(bottom, height - 1) + 2, min(top, 0) - 2], showgrid=False, zeroline=False)
    square_pixels(fig)
    fig.update_layout(
        title=title, height=420, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="rgba(128,128,128,0.25)"
    )
    return fig


def heatmap_figure(heat: np.ndarray, box: UnitBox | None = None, title: str = "") -> go.Figure:
    """An (H, W) effective-field map on its own, with the theoretical box (clipped) for scale."""
    fig = go.Figure(
        go.Heatmap(
            z=heat,
            colorscale=HEAT,
            zmin=0.0,
            zmax=float(np.max(heat)) or 1.0,
            colorbar=colourbar("|∂unit/∂pixel|"),
            hovertemplate=_("row %{y}, column %{x}") + "<br>%{z:.3g}<extra></extra>",
        )
    )
    if box is not None and box.clipped is not None:
        fig.add_shape(_rect(box.clipped, line=dict(color="#00E5FF", width=2)))
    fig.update_yaxes(autorange="reversed")
    square_pixels(fig)
    fig.update_layout(title=title, height=420, margin=dict(l=10, r=10, t=40, b=10))
    return fig
