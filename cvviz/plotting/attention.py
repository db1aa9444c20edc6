"""Figures for transformer attention: maps over the image, layer × head grids, attention distance, and
Swin's windows. Built from :mod:`cvviz.explain.attention` / :mod:`cvviz.explain.attention.rollout` results; nothing computed here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from cvviz.explain.attention import WindowLayout
from cvviz.i18n import _
from cvviz.plotting.style import DIVERGING, HEAT, colourbar, image_trace, square_pixels, wrap

_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
# Titles are broken into lines of about this many characters: overlays are often half a page wide, and
# Swin's window views sit four to a row.
_TITLE_WIDTH = 44
_NARROW_TITLE_WIDTH = 28


def _image_axes(figure: go.Figure, size: int) -> None:
    figure.update_xaxes(visible=False, range=[0, size])
    figure.update_yaxes(visible=False, range=[size, 0])
    square_pixels(figure)


def _title(text: str, width: int = _TITLE_WIDTH) -> dict:
    return {"text": wrap(text, width), "font": {"size": 14}}


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
    figure = go.Figure(image_trace(pixels))
    figure.add_trace(
        go.Heatmap(
            z=heat,
            x0=cell / 2,
            dx=cell,
            y0=cell / 2,
            dy=cell,
            colorscale=HEAT,
            zmin=0.0,
            zmax=float(np.max(heat)) or 1.0,  # from zero: a nearly uniform map looks uniform
            opacity=opacity,
            colorbar=colourbar(_("weight")),
            hovertemplate=_("patch (%{y}, %{x})<br>weight %{z:.4f}") + "<extra></extra>",
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
    figure.update_layout(title=_title(title), margin={**_MARGIN, "t": 60}, height=440)
    return figure


def head_grid_figure(maps: np.ndarray, title: str) -> go.Figure:
    """A layers × heads grid of small heatmaps; ``maps`` is (layers, heads, rows, cols). Each thumbnail
    is shown as a share of its own largest weight (a head's pattern, not its scale, is what the grid
    shows); one colour bar keys them all and the hover gives the real weight."""
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
            thumb = maps[i, j]
            peak = float(thumb.max())
            figure.add_trace(
                go.Heatmap(
                    z=thumb / peak if peak > 0 else np.zeros_like(thumb),
                    customdata=thumb,
                    coloraxis="coloraxis",
                    hovertemplate=_("layer {layer}, head {head}").format(layer=i, head=j)
                    + "<br>"
                    + _("patch (%{y}, %{x})")
                    + "<br>%{customdata:.4f}<extra></extra>",
                ),
                row=i + 1,
                col=j + 1,
            )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed")
    square_pixels(figure)
    figure.update_layout(
        title=title,
        coloraxis={
            "colorscale": HEAT,
            "cmin": 0.0,
            "cmax": 1.0,
            "colorbar": colourbar(_("share of the<br>head's largest<br>weight")),
        },
        margin={**_MARGIN, "t": 70},
        height=max(300, 64 * layers + 80),
    )
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
            hovertemplate=_("layer %{x}, head %{customdata}<br>%{y:.1f} px") + "<extra></extra>",
        )
    )
    figure.add_hline(y=image_size, line={"dash": "dot", "color": "grey"}, annotation_text=_("image width"))
    figure.update_layout(
        xaxis_title=_("layer (depth)"),
        yaxis_title=_("mean attention distance (pixels)"),
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
    figure = go.Figure(image_trace(pixels))
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
    figure.update_layout(title=_title(title, _NARROW_TITLE_WIDTH), margin={**_MARGIN, "t": 60}, height=340)
    return figure


def window_attention_figure(attn: np.ndarray, bias: np.ndarray, title: str) -> go.Figure:
    """One window's attention (N, N) for one head, next to that head's relative position bias (N, N).

    Each panel's colour bar lies flat under its own panel, so neither can cover the other."""
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(_("attention<br>(query row → key column)"), _("relative position bias<br>(signed)")),
        horizontal_spacing=0.12,
    )
    under = {"orientation": "h", "y": -0.08, "yanchor": "top", "len": 0.42, "thickness": 10}
    figure.add_trace(
        go.Heatmap(
            z=attn,
            colorscale=HEAT,
            zmin=0.0,
            zmax=float(np.max(attn)) or 1.0,
            colorbar=colourbar(_("attention weight"), x=0.22, xanchor="center", side="bottom", **under),
            hovertemplate=_("query %{y} → key %{x}") + "<br>%{z:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    top = float(np.abs(bias).max()) or 1.0
    figure.add_trace(
        go.Heatmap(
            z=bias,
            colorscale=DIVERGING,
            zmin=-top,
            zmax=top,
            colorbar=colourbar(
                _("bias (added to the logits)"), x=0.78, xanchor="center", side="bottom", **under
            ),
            hovertemplate=_("query %{y}, key %{x}<br>bias %{z:.3f}") + "<extra></extra>",
        ),
        row=1,
        col=2,
    )
    figure.update_xaxes(showticklabels=False, ticks="")
    figure.update_yaxes(autorange="reversed", showticklabels=False, ticks="")
    square_pixels(figure)
    figure.update_annotations(font_size=12)
    figure.update_layout(title=_title(title), margin={"l": 10, "r": 10, "t": 80, "b": 90}, height=460)
    return figure
