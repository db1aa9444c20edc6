"""Figures of the transfer-learning lab: the out-of-fold confusion matrix (cells clickable), the pooled
features in 2-D coloured by class or drawn as thumbnails, and accuracy against time and size across
backbones. Built from the lab's results; nothing here computes on tensors."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from cvviz.i18n import _
from cvviz.plotting.style import log_axis
from cvviz.plotting.training import colour

if TYPE_CHECKING:
    from cvviz.transfer.lab import BackboneRow

MAX_THUMBNAILS = 300
THUMBNAIL_PX = 48


def _thumbnail_uri(image: Image.Image) -> str:
    small = image.copy()
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def embedding_figure(
    points: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    names: Sequence[str],
    *,
    title: str = "",
    thumbnails: Sequence[Image.Image] | None = None,
) -> go.Figure:
    """Points (N, 2) coloured by class (one trace per class, so the legend toggles a class); with
    ``thumbnails``, each image drawn at its point (up to :data:`MAX_THUMBNAILS`)."""
    figure = go.Figure()
    for index, name in enumerate(classes):
        chosen = np.flatnonzero(labels == index)
        figure.add_trace(
            go.Scatter(
                x=points[chosen, 0],
                y=points[chosen, 1],
                mode="markers",
                name=name,
                marker={"color": colour(index), "size": 9, "line": {"width": 1, "color": "white"}},
                text=[names[i] for i in chosen],
                hovertemplate="%{text}<extra>" + name + "</extra>",
            )
        )
    if thumbnails is not None and len(points):
        span = np.ptp(points, axis=0)
        size = float(max(span.max(), 1e-6) * 0.07)
        for index, (x, y) in enumerate(points[:MAX_THUMBNAILS]):
            figure.add_layout_image(
                source=_thumbnail_uri(thumbnails[index]), x=float(x), y=float(y), xref="x", yref="y",
                sizex=size, sizey=size, xanchor="center", yanchor="middle", layer="above",
            )  # fmt: skip
    figure.update_layout(
        title={"text": title}, height=420, margin={"t": 40 if title else 10, "b": 10},
        xaxis={"showticklabels": False, "zeroline": False}, yaxis={"showticklabels": False, "zeroline": False},
        legend={"orientation": "h", "y": -0.05},
    )  # fmt: skip
    return figure


def backbones_figure(rows: Sequence[BackboneRow]) -> go.Figure:
    """Held-out accuracy (mean ± std over folds) against seconds taken, one point per backbone, its area
    growing with the parameter count (log-scaled time axis)."""
    shown = [row for row in rows if not row.error]
    params = np.array([row.params for row in shown], dtype=float)
    sizes = 10 + 30 * np.sqrt(params / params.max()) if len(shown) else []
    figure = go.Figure(
        go.Scatter(
            x=[row.seconds for row in shown],
            y=[row.acc_mean for row in shown],
            error_y={"type": "data", "array": [row.acc_std for row in shown], "visible": True},
            mode="markers+text",
            text=[row.title for row in shown],
            textposition="top center",
            marker={"size": sizes, "color": [colour(i) for i in range(len(shown))], "opacity": 0.8},
            customdata=[[row.params / 1e6, row.feature_dim] for row in shown],
            hovertemplate="%{text}: %{y:.1%} in %{x:.1f} s<br>%{customdata[0]:.1f} M "
            + _("parameters")
            + ", %{customdata[1]} "
            + _("features")
            + "<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_xaxes(
        title_text=_("seconds (every image through the backbone, and K-fold scoring)"),
        **log_axis([r.seconds for r in shown]),
    )
    figure.update_yaxes(title_text=_("held-out accuracy"), tickformat=".0%", range=[0, 1.08])
    figure.update_layout(height=420, margin={"t": 20, "b": 10})
    return figure
