"""Figures for feature maps: a grid of channels, one enlarged channel, the channel over the image, the
journey and first-layer filters. Every map keeps square pixels and a colour key (Viridis: dark is low)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.explain.features import FirstLayerFilters, JourneyStep
from cvviz.formatting import format_number
from cvviz.i18n import _
from cvviz.plotting.style import ACTIVATION, colourbar, image_trace, square_pixels


# The key of maps each scaled to their own range: 0 is a map's lowest value, 1 its highest.
def _own_range_axis() -> dict:
    """The colour axis of maps each scaled to their own range, its key in the visitor's language."""
    return {
        "colorscale": ACTIVATION,
        "cmin": 0.0,
        "cmax": 1.0,
        "colorbar": colourbar(
            _("each map:<br>own range"), tickvals=[0, 1], ticktext=[_("lowest"), _("highest")]
        ),
    }


def _own_range(channel_map: np.ndarray) -> np.ndarray:
    """``channel_map`` rescaled to [0, 1] between its own lowest and highest value (0 when flat)."""
    low, high = float(channel_map.min()), float(channel_map.max())
    return (channel_map - low) / (high - low) if high > low else np.zeros_like(channel_map, dtype=float)


def _image_axes(fig: go.Figure) -> None:
    """Hide the axes, put row 0 at the top, and keep every map's pixels square."""
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    square_pixels(fig)


def channel_grid_figure(maps: np.ndarray, channels: Sequence[int], columns: int = 8) -> go.Figure:
    """Heatmaps of ``maps[c]`` (each (H, W), scaled to its own range) for the given channel indices."""
    count = max(1, len(channels))
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[f"#{c}" for c in channels],
        horizontal_spacing=0.01,
        # Room for the next row's titles (about 20 px of a 120 px row).
        vertical_spacing=min(0.15, 20 / (120 * rows)) if rows > 1 else 0.0,
    )
    for i, channel in enumerate(channels):
        fig.add_trace(
            go.Heatmap(
                z=_own_range(maps[channel]),
                customdata=maps[channel],
                coloraxis="coloraxis",
                name=_("channel {channel}").format(channel=channel),
                hovertemplate=_("channel {channel}").format(channel=channel)
                + "<br>"
                + _("row %{y}, column %{x}")
                + "<br>%{customdata:.3g}<extra></extra>",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    _image_axes(fig)
    fig.update_annotations(font_size=10)
    fig.update_layout(
        coloraxis=_own_range_axis(),
        height=max(160, 120 * rows + 20),
        margin={"t": 20, "b": 0, "l": 0, "r": 0},
    )
    return fig


def channel_figure(channel_map: np.ndarray, title: str) -> go.Figure:
    """One channel (H, W) enlarged, with a colour bar of its activation values."""
    fig = go.Figure(
        go.Heatmap(
            z=channel_map,
            colorscale=ACTIVATION,
            colorbar=colourbar(_("activation")),
            hovertemplate=_("row %{y}, column %{x}") + "<br>%{z:.3g}<extra></extra>",
        )
    )
    _image_axes(fig)
    fig.update_layout(title=title, height=380, margin={"t": 40, "b": 0, "l": 0, "r": 0})
    return fig


def channel_overlay_figure(crop: np.ndarray, channel_map: np.ndarray, title: str, opacity: float = 0.55):
    """``channel_map`` (h, w) laid over the input crop (H, W, 3 uint8) it came from, each map cell
    covering its share of the crop, with a colour bar of the activation values."""
    height, width = crop.shape[:2]
    rows, cols = channel_map.shape
    fig = go.Figure(image_trace(crop[..., :3] if crop.ndim == 3 else np.repeat(crop[..., None], 3, -1)))
    fig.data[0].hoverinfo = "skip"
    fig.add_trace(
        go.Heatmap(
            z=channel_map,
            x0=width / cols / 2,
            dx=width / cols,
            y0=height / rows / 2,
            dy=height / rows,
            colorscale=ACTIVATION,
            opacity=opacity,
            colorbar=colourbar(_("activation")),
            hovertemplate="%{z:.3g}<extra></extra>",
        )
    )
    fig.update_xaxes(visible=False, range=[0, width])
    fig.update_yaxes(visible=False, range=[height, 0])
    square_pixels(fig)
    fig.update_layout(title=title, height=380, margin={"t": 40, "b": 0, "l": 0, "r": 0})
    return fig


def _viridis_table(levels: int = 256) -> np.ndarray:
    """(levels, 3) uint8: the Viridis scale sampled evenly, dark purple (0) to yellow (levels - 1)."""
    stops = [plotly.colors.hex_to_rgb(c) for c in plotly.colors.sequential.Viridis]
    positions = np.linspace(0.0, 1.0, len(stops))
    samples = np.linspace(0.0, 1.0, levels)
    channels = [np.interp(samples, positions, [s[i] for s in stops]) for i in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


_VIRIDIS = _viridis_table()


def overlay_image(crop: np.ndarray, channel_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The input crop (H, W, 3) uint8 blended with ``channel_map`` upsampled to its size (nearest) and
    coloured by Viridis (the map's lowest value darkest), as uint8."""
    h, w = crop.shape[:2]
    rows = (np.arange(h) * channel_map.shape[0] // h).clip(0, channel_map.shape[0] - 1)
    cols = (np.arange(w) * channel_map.shape[1] // w).clip(0, channel_map.shape[1] - 1)
    norm = _own_range(channel_map[rows][:, cols])
    heat = _VIRIDIS[(norm * (len(_VIRIDIS) - 1)).round().astype(int)].astype(np.float32)
    base = (
        crop[..., :3].astype(np.float32)
        if crop.ndim == 3
        else np.repeat(crop[..., None], 3, -1).astype(np.float32)
    )
    return ((1 - alpha) * base + alpha * heat).clip(0, 255).astype(np.uint8)


def journey_figure(steps: Sequence[JourneyStep]) -> go.Figure:
    """One representative map per stage, stem to last stage, in a row, each scaled to its own range.
    Titles name the stage as a reader would; the hover names the module."""
    fig = make_subplots(
        rows=1,
        cols=max(1, len(steps)),
        subplot_titles=[
            f"<b>{s.title}</b><br>"
            + _("{which} of {channels}, {height}×{width}").format(
                which=_("mean") if s.channel is None else f"#{s.channel}",
                channels=format_number(s.channels),
                height=s.map.shape[0],
                width=s.map.shape[1],
            )
            for s in steps
        ],
        horizontal_spacing=0.02,
    )
    for i, step in enumerate(steps):
        fig.add_trace(
            go.Heatmap(
                z=_own_range(step.map),
                customdata=step.map,
                coloraxis="coloraxis",
                name=step.title,
                hovertemplate=f"{step.title} ({step.layer})<br>"
                + _("row %{y}, column %{x}")
                + "<br>%{customdata:.3g}<extra></extra>",
            ),
            1,
            i + 1,
        )
    _image_axes(fig)
    fig.update_annotations(font_size=11)
    fig.update_layout(coloraxis=_own_range_axis(), height=280, margin={"t": 60, "b": 0, "l": 0, "r": 0})
    return fig


def filters_figure(filters: FirstLayerFilters, title: str, limit: int = 64, columns: int = 8) -> go.Figure:
    """The first convolution's kernels as RGB images (each normalised on its own)."""
    images = filters.images[:limit]
    rows = math.ceil(len(images) / columns)
    fig = make_subplots(rows=rows, cols=columns, horizontal_spacing=0.01, vertical_spacing=0.01)
    for i, image in enumerate(images):
        fig.add_trace(go.Image(z=(image * 255).astype(np.uint8)), i // columns + 1, i % columns + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    square_pixels(fig)
    fig.update_layout(title=title, height=60 * rows + 60, margin={"t": 40, "b": 0, "l": 0, "r": 0})
    return fig
