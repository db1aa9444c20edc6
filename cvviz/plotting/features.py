"""Figures for feature maps: a grid of channels, one enlarged channel, the journey and first-layer filters."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.explain.features import FirstLayerFilters, JourneyStep


def channel_grid_figure(maps: np.ndarray, channels: Sequence[int], columns: int = 8) -> go.Figure:
    """Heatmaps of ``maps[c]`` (each (H, W), own colour scale) for the given channel indices."""
    count = max(1, len(channels))
    rows = math.ceil(count / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[f"#{c}" for c in channels],
        horizontal_spacing=0.01,
        vertical_spacing=0.04 if rows > 1 else 0.0,
    )
    for i, channel in enumerate(channels):
        fig.add_trace(
            go.Heatmap(
                z=maps[channel][::-1], colorscale="Viridis", showscale=False, name=f"channel {channel}"
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_annotations(font_size=10)
    fig.update_layout(height=max(160, 110 * rows), margin={"t": 20, "b": 0, "l": 0, "r": 0})
    return fig


def channel_figure(channel_map: np.ndarray, title: str) -> go.Figure:
    """One channel (H, W) enlarged, with a colour bar."""
    fig = go.Figure(go.Heatmap(z=channel_map[::-1], colorscale="Viridis"))
    fig.update_yaxes(scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(title=title, height=380, margin={"t": 40, "b": 0, "l": 0, "r": 0})
    return fig


def overlay_image(crop: np.ndarray, channel_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The input crop (H, W, 3) uint8 blended with ``channel_map`` upsampled to its size (nearest), as uint8."""
    h, w = crop.shape[:2]
    rows = (np.arange(h) * channel_map.shape[0] // h).clip(0, channel_map.shape[0] - 1)
    cols = (np.arange(w) * channel_map.shape[1] // w).clip(0, channel_map.shape[1] - 1)
    up = channel_map[rows][:, cols]
    low, high = float(up.min()), float(up.max())
    norm = (up - low) / (high - low) if high > low else np.zeros_like(up)
    heat = np.stack([norm, 0.3 * norm, 1.0 - norm], axis=-1) * 255.0
    base = (
        crop[..., :3].astype(np.float32)
        if crop.ndim == 3
        else np.repeat(crop[..., None], 3, -1).astype(np.float32)
    )
    return ((1 - alpha) * base + alpha * heat).clip(0, 255).astype(np.uint8)


def journey_figure(steps: Sequence[JourneyStep]) -> go.Figure:
    """One representative map per stage, stem to last stage, in a row."""
    fig = make_subplots(
        rows=1,
        cols=max(1, len(steps)),
        subplot_titles=[
            f"{s.layer}<br>{'mean' if s.channel is None else f'#{s.channel}'} of {s.channels}, {s.map.shape[0]}×{s.map.shape[1]}"
            for s in steps
        ],
        horizontal_spacing=0.02,
    )
    for i, step in enumerate(steps):
        fig.add_trace(go.Heatmap(z=step.map[::-1], colorscale="Viridis", showscale=False), 1, i + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_annotations(font_size=10)
    fig.update_layout(height=260, margin={"t": 50, "b": 0, "l": 0, "r": 0})
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
    fig.update_layout(title=title, height=60 * rows + 60, margin={"t": 40, "b": 0, "l": 0, "r": 0})
    return fig
