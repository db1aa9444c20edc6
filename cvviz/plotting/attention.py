"""Figures for transformer attention: maps over the image, layer × head grids, attention distance, and
Swin's windows. Built from :mod:`cvviz.explain.attention` / :mod:`cvviz.explain.attention.rollout` results; nothing computed here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from cvviz.explain.attention import WindowLayout

_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def _image_axes(figure: go.Figure, size: int) -> None:
    figure.update_xaxes(visible=False, range=[0, size])
    figure.update_yaxes(visible=False, range=[size, 0], scaleanchor="x")


def attention_overlay_figure(
    image: Image.Image,
    heat: np.ndarray,
    cell: int,
    title: str,
    *,
    marker: tuple[int, int] | None = None,
    opacity: float = 0.55,
) -> go.Figure:
    """``heat`` (rows, cols), one value per ``cell``×``cell`` pixel patch, over ``image`` (the model's
    input crop). ``marker`` (row, col) outlines one patch (the chosen query)."""
    pixels = np.asarray(image.convert("RGB"))
    figure = go.Figure(go.Image(z=pixels, hoverinfo="skip"))
    figure.add_trace(
        go.Heatmap(
            z=heat,
            x0=cell / 2,
            dx=cell,
            y0=cell / 2,
            dy=cell,
            colorscale="Inferno",
            opacity=opacity,
            colorbar={"title": "weight", "thickness": 12},
            hovertemplate="patch (%{y}, %{x})<br>weight %{z:.4f}<extra></extra>",
        )
    )
    if marker is not None:
        row, col = marker
        figure.add_shape(
            type="rect",
            x0=col * cell,
            x1=(col + 1) * cell,
            y0=row * cell,
            y1=(row + 1) * cell,
            line={"color": "cyan", "width": 3},
        )
    _image_axes(figure, pixels.shape[0])
    figure.update_layout(title=title, margin=_MARGIN, height=420)
    return figure


def head_grid_figure(maps: np.ndarray, title: str) -> go.Figure:
    """A layers × heads grid of small heatmaps; ``maps`` is (layers, heads, rows, cols). Each thumbnail
    has its own colour range (a head's pattern, not its scale, is what the grid shows)."""
    layers, heads = maps.shape[:2]
    figure = make_subplots(
        rows=layers,
        cols=heads,
        horizontal_spacing=0.004,
        vertical_spacing=0.004,
        row_titles=[f"L{i}" for i in range(layers)],
        column_titles=[f"h{j}" for j in range(heads)],
    )
    for i in range(layers):
        for j in range(heads):
            figure.add_trace(
                go.Heatmap(
                    z=maps[i, j],
                    colorscale="Inferno",
                    showscale=False,
                    hovertemplate=f"layer {i}, head {j}<br>patch (%{{y}}, %{{x}})<br>%{{z:.4f}}<extra></extra>",
                ),
                row=i + 1,
                col=j + 1,
            )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed")
    figure.update_layout(title=title, margin=_MARGIN, height=max(300, 42 * layers + 60))
    return figure


def attention_distance_figure(distance: np.ndarray, image_size: int) -> go.Figure:
    """Mean attention distance (pixels) of every head against depth: ``distance`` is (layers, heads);
    a dotted line marks the image width (``image_size`` pixels) for scale."""
    layers, heads = distance.shape
    x = np.repeat(np.arange(layers), heads)
    head = np.tile(np.arange(heads), layers)
    figure = go.Figure(
        go.Scatter(
            x=x,
            y=distance.ravel(),
            mode="markers",
            marker={"size": 8, "color": head, "colorscale": "Viridis", "opacity": 0.8},
            customdata=head,
            hovertemplate="layer %{x}, head %{customdata}<br>%{y:.1f} px<extra></extra>",
        )
    )
    figure.add_hline(y=image_size, line={"dash": "dot", "color": "grey"}, annotation_text="image width")
    figure.update_layout(
        xaxis_title="layer (depth)",
        yaxis_title="mean attention distance (pixels)",
        yaxis_rangemode="tozero",
        margin=_MARGIN,
        height=380,
    )
    return figure


def swin_windows_figure(
    image: Image.Image, layout: WindowLayout, title: str, highlight: Sequence[tuple[int, int]] = ()
) -> go.Figure:
    """``image`` with ``layout``'s window boundaries drawn (shifted windows are offset by the shift and
    wrap around the edges); ``highlight`` lists token (row, col) cells of one window to outline."""
    pixels = np.asarray(image.convert("RGB"))
    size = pixels.shape[0]
    stride = layout.stride
    figure = go.Figure(go.Image(z=pixels, hoverinfo="skip"))
    for axis, (padded, window, shift) in enumerate(
        zip(layout.padded_size, layout.window_size, layout.shift_size)
    ):
        for boundary in range(0, padded, window):
            position = ((boundary + shift) % padded) * stride
            line = {"color": "white", "width": 2, "dash": "dash" if shift else "solid"}
            if axis == 0:
                figure.add_shape(type="line", x0=0, x1=size, y0=position, y1=position, line=line)
            else:
                figure.add_shape(type="line", y0=0, y1=size, x0=position, x1=position, line=line)
    for row, col in highlight:
        figure.add_shape(
            type="rect",
            x0=col * stride,
            x1=(col + 1) * stride,
            y0=row * stride,
            y1=(row + 1) * stride,
            line={"width": 0},
            fillcolor="rgba(0, 255, 255, 0.35)",
        )
    _image_axes(figure, size)
    figure.update_layout(title=title, margin=_MARGIN, height=380)
    return figure


def window_attention_figure(attn: np.ndarray, bias: np.ndarray, title: str) -> go.Figure:
    """One window's attention (N, N) for one head, next to that head's relative position bias (N, N)."""
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("attention (query row → key column)", "relative position bias")
    )
    figure.add_trace(
        go.Heatmap(
            z=attn,
            colorscale="Inferno",
            colorbar={"x": 0.45, "thickness": 10},
            hovertemplate="query %{y} → key %{x}<br>%{z:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Heatmap(
            z=bias,
            colorscale="RdBu",
            zmid=0,
            colorbar={"thickness": 10},
            hovertemplate="query %{y}, key %{x}<br>bias %{z:.3f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    figure.update_yaxes(autorange="reversed", scaleanchor="x")
    figure.update_yaxes(autorange="reversed", scaleanchor="x2", row=1, col=2)
    figure.update_layout(title=title, margin=_MARGIN, height=420)
    return figure
