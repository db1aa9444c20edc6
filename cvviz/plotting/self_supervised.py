"""Figures for the self-supervised backbones: MAE's four panels and error map, DINO's attention per head
and its attention-mass masks. Built from :mod:`cvviz.selfsupervised` results; nothing computed here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from cvviz.i18n import _
from cvviz.plotting.style import HEAT, colourbar, image_trace, square_pixels, wrap

_MARGIN = {"l": 10, "r": 10, "t": 50, "b": 10}
_SHADE = [[0.0, "rgba(0,0,0,0)"], [1.0, "rgba(0,0,0,0.72)"]]


def _pixels(image: np.ndarray | Image.Image) -> np.ndarray:
    """A PIL image, or (H, W, 3) floats in [0, 1] or uint8, as (H, W, 3) uint8."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    return image if image.dtype == np.uint8 else (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def _blocks(grid: np.ndarray, cell: int, **extra) -> go.Heatmap:
    """A heat map of one value per ``cell``×``cell`` patch, placed over the image's pixels."""
    return go.Heatmap(z=grid, x0=cell / 2, dx=cell, y0=cell / 2, dy=cell, **extra)


def _image_axes(figure: go.Figure, size: int) -> None:
    figure.update_xaxes(visible=False, range=[0, size])
    figure.update_yaxes(visible=False, range=[size, 0])
    square_pixels(figure)


def image_panels_figure(panels: Sequence[tuple[str, np.ndarray]], title: str = "") -> go.Figure:
    """Images side by side, each with its title (MAE's original, masked, reconstruction, pasted)."""
    figure = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[wrap(name, 22) for name, _image in panels],
        horizontal_spacing=0.02,
    )
    for column, (_name, image) in enumerate(panels, start=1):
        figure.add_trace(image_trace(_pixels(image)), row=1, col=column)
    _image_axes(figure, _pixels(panels[0][1]).shape[0])
    figure.update_layout(title=title or None, margin={**_MARGIN, "t": 70 if title else 40}, height=300)
    return figure


def masked_patches_figure(
    original: np.ndarray | Image.Image, mask: np.ndarray, cell: int, title: str
) -> go.Figure:
    """The image with its hidden patches (``mask`` True, (rows, cols)) shaded, for painting a mask."""
    figure = go.Figure(image_trace(_pixels(original)))
    figure.add_trace(
        _blocks(
            mask.astype(float),
            cell,
            colorscale=_SHADE,
            zmin=0,
            zmax=1,
            showscale=False,
            xgap=1,
            ygap=1,
            hoverinfo="skip",
        )
    )
    _image_axes(figure, _pixels(original).shape[0])
    figure.update_layout(title={"text": wrap(title, 48), "font": {"size": 14}}, margin=_MARGIN, height=420)
    return figure


def patch_error_figure(
    original: np.ndarray | Image.Image, error: np.ndarray, mask: np.ndarray, cell: int, title: str
) -> go.Figure:
    """Each hidden patch's reconstruction error over the image (visible patches left clear)."""
    shown = np.where(mask, error, np.nan)
    figure = go.Figure(image_trace(_pixels(original)))
    figure.add_trace(
        _blocks(
            shown,
            cell,
            colorscale=HEAT,
            zmin=0.0,
            zmax=float(np.nanmax(shown)) if mask.any() else 1.0,
            opacity=0.75,
            colorbar=colourbar(_("error")),
            hovertemplate=_("patch (%{y}, %{x})<br>error %{z:.3f}") + "<extra></extra>",
        )
    )
    _image_axes(figure, _pixels(original).shape[0])
    figure.update_layout(title={"text": wrap(title, 48), "font": {"size": 14}}, margin=_MARGIN, height=420)
    return figure


def head_maps_figure(
    image: np.ndarray | Image.Image,
    maps: np.ndarray,
    cell: int,
    title: str,
    *,
    masks: np.ndarray | None = None,
    columns: int = 6,
) -> go.Figure:
    """One panel per head: the head's attention (heads, rows, cols) over the image, each as a share of
    its own peak; with ``masks`` (heads, rows, cols) the patches outside a head's mask are darkened
    instead, so the panel shows what the mask keeps."""
    heads = maps.shape[0]
    rows = -(-heads // columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[_("head {head}").format(head=h) for h in range(heads)],
        horizontal_spacing=0.01,
        vertical_spacing=0.06 if rows > 1 else 0.0,
    )
    pixels = _pixels(image)
    for h in range(heads):
        row, col = h // columns + 1, h % columns + 1
        figure.add_trace(image_trace(pixels), row=row, col=col)
        peak = float(maps[h].max()) or 1.0
        hover = _("patch (%{y}, %{x})<br>weight %{customdata:.4f}") + "<extra></extra>"
        if masks is None:
            trace = _blocks(
                maps[h] / peak,
                cell,
                customdata=maps[h],
                coloraxis="coloraxis",
                opacity=0.7,
                hovertemplate=hover,
            )
        else:
            trace = _blocks(
                (~masks[h]).astype(float),
                cell,
                customdata=maps[h],
                colorscale=_SHADE,
                zmin=0,
                zmax=1,
                showscale=False,
                hovertemplate=hover,
            )
        figure.add_trace(trace, row=row, col=col)
    _image_axes(figure, pixels.shape[0])
    layout: dict = {
        "title": {"text": wrap(title, 90), "font": {"size": 14}},
        "margin": {**_MARGIN, "t": 80},
        "height": 60 + 190 * rows,
    }
    if masks is None:
        layout["coloraxis"] = {
            "colorscale": HEAT,
            "cmin": 0.0,
            "cmax": 1.0,
            "colorbar": colourbar(_("share of the<br>head's peak")),
        }
    figure.update_layout(**layout)
    return figure
