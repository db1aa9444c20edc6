"""Figures of the training lab: learning curves (runs overlaid), per-layer gradient norms over steps, the
first layer's filters, weight and activation histograms, the confusion matrix, gradient norm against depth,
accuracy against shift and rotation, and a drawing's reading. Built from the lab's results; nothing here computes on tensors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.i18n import N_, _
from cvviz.plotting.picking import add_pick_grid
from cvviz.plotting.style import DIVERGING, HEAT, colourbar, log_axis, square_pixels

if TYPE_CHECKING:
    from cvviz.data.digits import DigitSteps
    from cvviz.training.experiments import GradientDepthProfile, ShiftRobustness
    from cvviz.training.loop import EpochMetrics, Histogram
    from cvviz.training.search import Trial

NETWORK_NAMES = {"plain": N_("plain"), "residual": N_("residual")}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def colour(index: int) -> str:
    """The colour of the ``index``-th run (runs keep their colour across every chart)."""
    return PALETTE[index % len(PALETTE)]


def curves_figure(runs: Sequence[tuple[str, Sequence[EpochMetrics]]]) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch for each ``(label, epochs)`` run: training dashed,
    validation solid, one colour per run."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=(_("Loss (cross-entropy)"), _("Accuracy")))
    for index, (label, epochs) in enumerate(runs):
        x = [m.epoch for m in epochs]
        for col, (train, val) in enumerate((("train_loss", "val_loss"), ("train_acc", "val_acc")), start=1):
            for key, dash, kind in ((train, "dash", _("train")), (val, "solid", _("validation"))):
                figure.add_trace(
                    go.Scatter(
                        x=x,
                        y=[getattr(m, key) for m in epochs],
                        mode="lines+markers",
                        line={"color": colour(index), "dash": dash},
                        name=_("{run} ({kind})").format(run=label, kind=kind),
                        legendgroup=label,
                        showlegend=col == 1,
                        hovertemplate=label
                        + "<br>"
                        + _("{kind}: {value} at epoch {epoch}").format(
                            kind=kind, value="%{y:.4f}", epoch="%{x}"
                        )
                        + "<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    figure.update_xaxes(title_text=_("epoch"))
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    figure.update_layout(height=360, margin={"t": 40, "b": 40}, legend={"orientation": "h", "y": -0.25})
    return figure


def gradient_norms_figure(norms: np.ndarray, layers: Sequence[str], max_points: int = 400) -> go.Figure:
    """Each layer's weight-gradient norm (``norms``: (steps, layers)) against the step, on a log scale.
    Long runs are thinned to about ``max_points`` steps per line."""
    figure = go.Figure()
    steps = np.arange(1, norms.shape[0] + 1)
    stride = max(1, math.ceil(len(steps) / max_points))
    for index, name in enumerate(layers):
        figure.add_trace(
            go.Scatter(
                x=steps[::stride],
                y=norms[::stride, index],
                mode="lines",
                name=name,
                hovertemplate=name
                + "<br>"
                + _("step {step}: {value}").format(step="%{x}", value="%{y:.3g}")
                + "<extra></extra>",
            )
        )
    figure.update_layout(
        height=320,
        xaxis_title=_("step"),
        yaxis={**log_axis(norms.ravel().tolist()), "title": _("gradient norm (L2, per layer)")},
        margin={"t": 20, "b": 40},
    )
    return figure


def filters_figure(filters: np.ndarray, columns: int = 8, gap: int = 1) -> go.Figure:
    """The first layer's filters (F, H, W) tiled in a grid, blue negative, red positive, white zero
    (one shared scale, so filters compare)."""
    count, height, width = filters.shape
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    tiled = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for index, kernel in enumerate(filters):
        r, c = divmod(index, columns)
        tiled[
            r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width
        ] = kernel
    bound = float(np.nanmax(np.abs(tiled))) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=tiled,
            colorscale=DIVERGING,
            zmin=-bound,
            zmax=bound,
            colorbar=colourbar(_("weight")),
            hovertemplate=_("weight {value}").format(value="%{z:.3f}") + "<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", showticklabels=False)
    figure.update_xaxes(showticklabels=False)
    figure.update_layout(height=80 + 40 * rows * max(1, height // 5), margin={"t": 10, "b": 10})
    return square_pixels(figure)


def histograms_figure(histograms: Mapping[str, Histogram], title: str, columns: int = 4) -> go.Figure:
    """One small bar chart per layer of how its values are distributed."""
    names = list(histograms)
    columns = max(1, min(columns, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=names or [title])
    for index, name in enumerate(names):
        hist = histograms[name]
        centres = (hist.edges[:-1] + hist.edges[1:]) / 2
        figure.add_trace(
            go.Bar(x=centres, y=hist.counts, name=name, showlegend=False, marker_color=colour(0)),
            row=index // columns + 1,
            col=index % columns + 1,
        )
    figure.update_layout(height=180 * rows + 40, margin={"t": 40, "b": 20}, bargap=0)
    figure.update_annotations(font_size=11)
    return figure


def confusion_figure(matrix: np.ndarray, classes: Sequence[str], pickable: bool = False) -> go.Figure:
    """Counts of held-out images by true class (rows) and predicted class (columns), for the training and
    transfer labs alike. ``pickable`` lays a
    clickable point on every cell whose ``customdata`` is [true, predicted] (see
    :mod:`cvviz.plotting.picking`), so a click shows that cell's images."""
    labels = list(classes)
    positions = list(range(len(labels)))
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=positions,
            y=positions,
            colorscale=HEAT,
            text=matrix,
            texttemplate="%{text}",
            colorbar=colourbar(_("images")),
            customdata=[[[true, guess] for guess in labels] for true in labels],
            hovertemplate=_("true {true}, predicted {guess}: {count}").format(
                true="%{customdata[0]}", guess="%{customdata[1]}", count="%{z}"
            )
            + "<extra></extra>",
            hoverinfo="skip" if pickable else None,
        )
    )
    axis = {
        "tickmode": "array",
        "tickvals": positions,
        "ticktext": labels,
        "showgrid": False,
        "zeroline": False,
    }
    figure.update_xaxes(title_text=_("predicted"), side="top", **axis)
    figure.update_yaxes(title_text=_("true"), autorange="reversed", **axis)
    figure.update_layout(height=420, margin={"t": 60, "b": 10})
    if pickable:
        texts = np.array(
            [
                [
                    _("true {true}, predicted {guess}: {count}").format(
                        true=true, guess=guess, count=int(matrix[row, col])
                    )
                    for col, guess in enumerate(labels)
                ]
                for row, true in enumerate(labels)
            ]
        )
        add_pick_grid(figure, positions, positions, marker_px=28.0, hover="%{text}", texts=texts)
    return square_pixels(figure)


def depth_profile_figure(profiles: Sequence[GradientDepthProfile]) -> go.Figure:
    """Gradient norm of every layer (input side left) at initialisation (dotted) and after training
    (solid), one colour per network, on a log scale."""
    figure = go.Figure()
    values: list[float] = []
    for index, profile in enumerate(profiles):
        x = np.arange(1, len(profile.layers) + 1)
        after = _("after {steps} steps").format(steps=profile.steps)
        for norms, dash, when in ((profile.at_init, "dot", _("at init")), (profile.after, "solid", after)):
            values.extend(norms.tolist())
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=norms,
                    customdata=list(profile.layers),
                    mode="lines+markers",
                    line={"color": colour(index), "dash": dash},
                    name=_("{network}, {when}").format(
                        network=_(NETWORK_NAMES.get(profile.model, profile.model)), when=when
                    ),
                    hovertemplate="%{customdata}: %{y:.3g}<extra></extra>",
                )
            )
    figure.update_layout(
        height=360,
        xaxis_title=_("layer (1 = next to the input)"),
        yaxis={**log_axis(values), "title": _("gradient norm")},
        margin={"t": 20, "b": 40},
    )
    return figure


def shift_figure(results: Sequence[ShiftRobustness]) -> go.Figure:
    """Test accuracy against a horizontal (solid) and vertical (dashed) shift (left), and against a
    rotation (right), one colour per network."""
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(_("Shifted"), _("Rotated")),
        horizontal_spacing=0.08,
        shared_yaxes=True,
    )
    for index, result in enumerate(results):
        ways = ((result.horizontal, "solid", _("horizontal")), (result.vertical, "dash", _("vertical")))
        for values, dash, way in ways:
            figure.add_trace(
                go.Scatter(
                    x=result.shifts,
                    y=values,
                    mode="lines+markers",
                    line={"color": colour(index), "dash": dash},
                    name=_("{run} ({kind})").format(run=result.label, kind=way),
                    legendgroup=result.label,
                    hovertemplate=_("shift {shift} px: {accuracy}").format(
                        shift="%{x:+d}", accuracy="%{y:.1%}"
                    )
                    + "<extra></extra>",
                ),
                row=1,
                col=1,
            )
        figure.add_trace(
            go.Scatter(
                x=result.angles,
                y=result.rotated,
                mode="lines+markers",
                line={"color": colour(index), "dash": "dot"},
                name=_("{label} (rotated)").format(label=result.label),
                legendgroup=result.label,
                hovertemplate=_("rotation {angle}°: {accuracy}").format(angle="%{x:+d}", accuracy="%{y:.1%}")
                + "<extra></extra>",
            ),
            row=1,
            col=2,
        )
    figure.update_xaxes(title_text=_("shift (pixels)"), row=1, col=1)
    figure.update_xaxes(title_text=_("rotation (degrees, anticlockwise)"), row=1, col=2)
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02])
    figure.update_yaxes(title_text=_("test accuracy"), row=1, col=1)
    figure.update_layout(height=400, margin={"t": 40, "b": 40}, legend={"orientation": "h", "y": -0.25})
    return figure


def search_figure(trials: Sequence[Trial]) -> go.Figure:
    """Left: every trial's learning rate and weight decay (log axes), coloured by validation accuracy, one
    marker per method. Right: the best accuracy found so far against the number of runs, per method."""
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(_("Where each method looked"), _("Best so far")),
        horizontal_spacing=0.14,
    )
    methods = list(dict.fromkeys(t.method for t in trials))
    symbols = ("square", "circle", "diamond", "cross")
    for index, method in enumerate(methods):
        mine = [t for t in trials if t.method == method]
        figure.add_trace(
            go.Scatter(
                x=[t.lr for t in mine],
                y=[t.weight_decay for t in mine],
                mode="markers",
                name=method,
                legendgroup=method,
                marker={
                    "symbol": symbols[index % len(symbols)],
                    "size": 11,
                    "color": [t.val_acc for t in mine],
                    "colorscale": HEAT,
                    "cmin": 0,
                    "cmax": 1,
                    "line": {"width": 1, "color": colour(index)},
                    "colorbar": colourbar(_("val. accuracy"), x=0.44) if index == 0 else None,
                },
                hovertemplate=_("learning rate {lr}, decay {decay}: {accuracy}").format(
                    lr="%{x:.2g}", decay="%{y:.2g}", accuracy="%{marker.color:.1%}"
                )
                + "<extra>"
                + method
                + "</extra>",
            ),
            row=1,
            col=1,
        )
        best = np.maximum.accumulate([t.val_acc for t in mine])
        figure.add_trace(
            go.Scatter(
                x=list(range(1, len(mine) + 1)),
                y=best,
                mode="lines+markers",
                name=method,
                legendgroup=method,
                showlegend=False,
                line={"color": colour(index)},
            ),
            row=1,
            col=2,
        )
    figure.update_xaxes(type="log", title_text=_("learning rate"), row=1, col=1)
    figure.update_yaxes(type="log", title_text=_("weight decay"), row=1, col=1)
    figure.update_xaxes(title_text=_("runs"), row=1, col=2)
    figure.update_yaxes(tickformat=".0%", title_text=_("best validation accuracy"), row=1, col=2)
    figure.update_layout(height=380, margin={"t": 40, "b": 40})
    return figure


def probabilities_figure(probabilities: np.ndarray, classes: Sequence[str]) -> go.Figure:
    """The probability of each class, as bars."""
    figure = go.Figure(
        go.Bar(
            x=list(classes),
            y=probabilities,
            marker_color=colour(0),
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=260,
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        xaxis={"type": "category"},
        margin={"t": 10, "b": 30},
    )
    return figure


DIGIT_STEP_TITLES = (
    N_("ink on black"),
    N_("cropped to the ink"),
    N_("fitted in 20×20"),
    N_("centred in 28×28"),
    N_("padded to 32×32"),
)


def digit_steps_figure(steps: DigitSteps) -> go.Figure:
    """The MNIST preparation of a picture, step by step, as grey pixels (ink white on black): the ink,
    the crop, the 20×20 fit, the 28×28 field centred by centre of mass, the 32×32 input. The field and
    the input mark their centre with a cross (where the centre of mass lands)."""
    images = (steps.ink, steps.cropped, steps.fitted, steps.centred, steps.padded)
    figure = make_subplots(
        rows=1,
        cols=len(images),
        subplot_titles=[_(title) for title in DIGIT_STEP_TITLES],
        horizontal_spacing=0.03,
    )
    for col, pixels in enumerate(images, start=1):
        height, width = pixels.shape
        figure.add_trace(
            go.Heatmap(
                z=pixels,
                colorscale="gray",
                zmin=0,
                zmax=1,
                showscale=False,
                hovertemplate=_("row {row}, column {col}: {value}").format(
                    row="%{y}", col="%{x}", value="%{z:.2f}"
                )
                + "<extra></extra>",
            ),
            row=1,
            col=col,
        )
        if col >= 4:
            middle_x, middle_y = (width - 1) / 2, (height - 1) / 2
            figure.add_trace(
                go.Scatter(
                    x=[middle_x],
                    y=[middle_y],
                    mode="markers",
                    marker={"symbol": "cross-thin", "size": 10, "line": {"width": 1.5, "color": "#d62728"}},
                    hoverinfo="skip",
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
        figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=col)
        figure.update_yaxes(
            showticklabels=False, showgrid=False, zeroline=False, autorange="reversed", row=1, col=col
        )
    figure.update_layout(height=190, margin={"t": 30, "b": 5, "l": 5, "r": 5})
    figure.update_annotations(font_size=11)
    return square_pixels(figure)
