"""Figures of the generative lab: the losses over training (the VAE's reconstruction and β·KL apart, the
GAN's two losses and its class-histogram entropy), rows of digits (inputs beside reconstructions, samples
over training), the latent plane coloured by class, the decoded grid over it and the class histogram of
generated digits. Built from the lab's results; nothing here computes on tensors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.i18n import _
from cvviz.plotting.style import image_trace
from cvviz.plotting.training import colour

if TYPE_CHECKING:
    from cvviz.generative.explore import LatentMap
    from cvviz.generative.results import GenerativeEpoch

CLASS_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
"""One colour per digit, the same in the latent plane and the class histogram."""
GAP = 2
"""Pixels between tiled digits (drawn in a mid grey, so black and white digits both stand apart)."""
GAP_GREY = 0.45


def _line(figure, x, y, *, name, colour_, dash, group, legend, row, col, what):
    figure.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            line={"color": colour_, "dash": dash},
            name=name,
            legendgroup=group,
            showlegend=legend,
            hovertemplate=_("{name}<br>{what}: %{{y:.4g}} at epoch %{{x}}").format(name=name, what=what)
            + "<extra></extra>",
        ),
        row=row,
        col=col,
    )


def losses_figure(runs: Sequence[tuple[str, str, Sequence[GenerativeEpoch]]]) -> go.Figure:
    """The losses per epoch of each ``(label, model, epochs)`` run, one colour per run.

    Autoencoders: reconstruction (training dashed, validation solid) on the left; on the right the VAE's
    β·KL, the sparse AE's weighted L1 penalty, or else the validation error per pixel. GAN: the generator's
    and discriminator's losses on the left, the class-histogram entropy on the right (its ceiling, ln 10,
    dotted)."""
    models = {model for _label, model, _epochs in runs}
    gan = models == {"gan"}
    if gan:
        titles = (
            _("Generator (solid) and discriminator (dashed) loss"),
            _("Entropy of the generated classes"),
        )
    elif models == {"vae"}:
        titles = (_("Reconstruction (BCE per image)"), _("β·KL per image"))
    else:
        titles = (_("Reconstruction (BCE per image)"), _("Validation error (MSE per pixel)"))
    figure = make_subplots(rows=1, cols=2, subplot_titles=titles)
    for index, (label, model, epochs) in enumerate(runs):
        x = [m.epoch for m in epochs]
        shade = colour(index)
        kw = {"colour_": shade, "group": label}
        if model == "gan":
            _line(figure, x, [m.g_loss for m in epochs], name=f"{label} (G)", dash="solid", legend=True,
                  row=1, col=1, what="G", **kw)  # fmt: skip
            _line(figure, x, [m.d_loss for m in epochs], name=f"{label} (D)", dash="dash", legend=True,
                  row=1, col=1, what="D", **kw)  # fmt: skip
            _line(figure, x, [m.entropy for m in epochs], name=label, dash="solid", legend=False,
                  row=1, col=2, what=_("entropy (nats)"), **kw)  # fmt: skip
            continue
        _line(figure, x, [m.recon_loss for m in epochs], name=_("{label} (train)").format(label=label), dash="dash",
              legend=True, row=1, col=1, what="BCE", **kw)  # fmt: skip
        _line(figure, x, [m.val_recon for m in epochs], name=_("{label} (validation)").format(label=label), dash="solid",
              legend=True, row=1, col=1, what="BCE", **kw)  # fmt: skip
        if models == {"vae"}:
            right = [(m.beta or 0.0) * (m.kl_loss or 0.0) for m in epochs]
            what = "β·KL"
        else:
            right, what = [m.val_mse for m in epochs], "MSE"
        _line(figure, x, right, name=label, dash="solid", legend=False, row=1, col=2, what=what, **kw)
    if gan:
        figure.add_hline(y=math.log(10), line_dash="dot", line_color="grey", row=1, col=2,
                         annotation_text="ln 10", annotation_position="bottom left")  # fmt: skip
        figure.update_yaxes(rangemode="tozero", row=1, col=2)
    figure.update_xaxes(title_text=_("epoch"))
    figure.update_layout(height=340, margin={"t": 40, "b": 40}, legend={"orientation": "h", "y": -0.3})
    return figure


def _tile(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Rows of digits (each (K, H, W), pixels in [0, 1]) tiled into one (H', W', 3) uint8 picture."""
    height, width = rows[0].shape[1:]
    columns = max(len(row) for row in rows)
    tiled = np.full((len(rows) * (height + GAP) - GAP, columns * (width + GAP) - GAP), GAP_GREY)
    for r, row in enumerate(rows):
        for c, digit in enumerate(row):
            top, left = r * (height + GAP), c * (width + GAP)
            tiled[top : top + height, left : left + width] = np.clip(digit, 0, 1)
    grey = (tiled * 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def digit_rows_figure(
    rows: Sequence[tuple[str, np.ndarray]], scale: float = 2.0, captions: Sequence[str] | None = None
) -> go.Figure:
    """Labelled rows of digits (``(label, (K, 32, 32))``, pixels in [0, 1]) one under another, e.g. inputs,
    noisy inputs and reconstructions, or samples after each epoch; ``captions`` go under the columns."""
    pictures = [images for _label, images in rows]
    tiled = _tile(pictures)
    height, width = pictures[0].shape[1:]
    figure = go.Figure(image_trace(tiled))
    centres = [r * (height + GAP) + height / 2 for r in range(len(rows))]
    figure.update_yaxes(
        tickmode="array", tickvals=centres, ticktext=[label for label, _images in rows], showgrid=False
    )
    xaxis: dict = {"showticklabels": False, "showgrid": False}
    if captions is not None:
        xaxis = {
            "tickmode": "array",
            "tickvals": [c * (width + GAP) + width / 2 for c in range(len(captions))],
            "ticktext": list(captions),
            "showgrid": False,
            "side": "bottom",
        }
    figure.update_xaxes(**xaxis)
    figure.update_layout(
        height=int(tiled.shape[0] * scale) + 50,
        width=int(tiled.shape[1] * scale) + 140,
        margin={"t": 10, "b": 30 if captions else 10, "l": 130, "r": 10},
    )
    return figure


def latent_scatter_figure(plane: LatentMap, classes: Sequence[str]) -> go.Figure:
    """The test digits on the latent plane, one colour per class; a point's ``customdata`` is its test
    index (the page reads it back when a point is picked). Axes are the code's two numbers, or its first
    two principal components when the code is larger."""
    figure = go.Figure()
    for label, name in enumerate(classes):
        chosen = np.flatnonzero(plane.labels == label)
        figure.add_trace(
            go.Scattergl(
                x=plane.points[chosen, 0],
                y=plane.points[chosen, 1],
                mode="markers",
                marker={"color": CLASS_COLOURS[label % len(CLASS_COLOURS)], "size": 6, "opacity": 0.8},
                name=name,
                customdata=chosen,
                hovertemplate=_("digit {name}, test image %{{customdata}}").format(name=name)
                + "<br>(%{x:.2f}, %{y:.2f})<extra></extra>",
            )
        )
    if plane.projected:
        x_title, y_title = _("principal component 1"), _("principal component 2")
    else:
        x_title, y_title = "z₁", "z₂"
    x0, x1, y0, y1 = plane.extent
    figure.add_shape(
        type="rect",
        x0=x0,
        x1=x1,
        y0=y0,
        y1=y1,
        line={"color": "grey", "dash": "dot"},
        fillcolor="rgba(0,0,0,0)",
    )
    figure.update_layout(
        height=460,
        xaxis_title=x_title,
        yaxis_title=y_title,
        margin={"t": 20, "b": 40},
        legend={"title": {"text": _("digit")}},
        clickmode="event+select",
    )
    return figure


def latent_grid_figure(grid: np.ndarray, scale: float = 1.5) -> go.Figure:
    """The decoded grid (S, S, 32, 32) tiled as one picture: the dotted rectangle of the latent plane,
    top row its top edge."""
    tiled = _tile(list(grid))
    figure = go.Figure(image_trace(tiled))
    figure.update_xaxes(showticklabels=False, showgrid=False)
    figure.update_yaxes(showticklabels=False, showgrid=False)
    figure.update_layout(
        height=int(tiled.shape[0] * scale) + 20, width=int(tiled.shape[1] * scale) + 20,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
    )  # fmt: skip
    return figure


def class_histogram_figure(histogram: Sequence[float], entropy: float, classes: Sequence[str]) -> go.Figure:
    """The share of generated digits the classifier puts in each class, with the entropy in the title; the
    dotted line is a uniform share (1/K), where a generator covering every digit equally would sit."""
    shares = list(histogram)
    figure = go.Figure(
        go.Bar(
            x=list(classes),
            y=shares,
            marker_color=[CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(len(shares))],
            hovertemplate=_("digit %{x}: %{y:.1%} of the samples") + "<extra></extra>",
        )
    )
    figure.add_hline(y=1 / len(shares), line_dash="dot", line_color="grey")
    figure.update_layout(
        height=300,
        title={
            "text": _("Entropy {value:.2f} nats of a possible {ceiling:.2f}").format(
                value=entropy, ceiling=math.log(len(shares))
            ),
            "font": {"size": 14},
        },
        xaxis={"title": _("digit, as the classifier reads it"), "type": "category"},
        yaxis={"tickformat": ".0%", "rangemode": "tozero"},
        margin={"t": 40, "b": 40},
    )
    return figure
