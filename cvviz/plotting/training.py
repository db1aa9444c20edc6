"""Figures of the training lab: learning curves (runs overlaid), per-layer gradient norms over steps, the
first layer's filters, weight and activation histograms, the confusion matrix, gradient norm against depth
and accuracy against shift. Built from the lab's results; nothing here computes on tensors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.plotting.style import DIVERGING, HEAT, colourbar, log_axis, square_pixels

if TYPE_CHECKING:
    from cvviz.training.experiments import GradientDepthProfile, ShiftRobustness
    from cvviz.training.loop import EpochMetrics, Histogram
    from cvviz.training.search import Trial

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def colour(index: int) -> str:
    """The colour of the ``index``-th run (runs keep their colour across every chart)."""
    return PALETTE[index % len(PALETTE)]


def curves_figure(runs: Sequence[tuple[str, Sequence[EpochMetrics]]]) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch for each ``(label, epochs)`` run: training dashed,
    validation solid, one colour per run."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss (cross-entropy)", "Accuracy"))
    for index, (label, epochs) in enumerate(runs):
        x = [m.epoch for m in epochs]
        for col, (train, val) in enumerate((("train_loss", "val_loss"), ("train_acc", "val_acc")), start=1):
            for key, dash, kind in ((train, "dash", "train"), (val, "solid", "validation")):
                figure.add_trace(
                    go.Scatter(
                        x=x,
                        y=[getattr(m, key) for m in epochs],
                        mode="lines+markers",
                        line={"color": colour(index), "dash": dash},
                        name=f"{label} ({kind})",
                        legendgroup=label,
                        showlegend=col == 1,
                        hovertemplate=f"{label}<br>{kind}: %{{y:.4f}} at epoch %{{x}}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    figure.update_xaxes(title_text="epoch")
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
                hovertemplate=f"{name}<br>step %{{x}}: %{{y:.3g}}<extra></extra>",
            )
        )
    figure.update_layout(
        height=320,
        xaxis_title="step",
        yaxis={**log_axis(norms.ravel().tolist()), "title": "gradient norm (L2, per layer)"},
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
            colorbar=colourbar("weight"),
            hovertemplate="weight %{z:.3f}<extra></extra>",
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


def confusion_figure(matrix: np.ndarray, classes: Sequence[str]) -> go.Figure:
    """Counts of test images by true class (rows) and predicted class (columns)."""
    labels = list(classes)
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            colorscale=HEAT,
            text=matrix,
            texttemplate="%{text}",
            colorbar=colourbar("images"),
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="predicted", type="category", side="top")
    figure.update_yaxes(title_text="true", type="category", autorange="reversed")
    figure.update_layout(height=420, margin={"t": 60, "b": 10})
    return square_pixels(figure)


def depth_profile_figure(profiles: Sequence[GradientDepthProfile]) -> go.Figure:
    """Gradient norm of every layer (input side left) at initialisation (dotted) and after training
    (solid), one colour per network, on a log scale."""
    figure = go.Figure()
    values: list[float] = []
    for index, profile in enumerate(profiles):
        x = np.arange(1, len(profile.layers) + 1)
        for norms, dash, when in ((profile.at_init, "dot", "at init"), (profile.after, "solid", f"after {profile.steps} steps")):  # fmt: skip
            values.extend(norms.tolist())
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=norms,
                    customdata=list(profile.layers),
                    mode="lines+markers",
                    line={"color": colour(index), "dash": dash},
                    name=f"{profile.model}, {when}",
                    hovertemplate="%{customdata}: %{y:.3g}<extra></extra>",
                )
            )
    figure.update_layout(
        height=360,
        xaxis_title="layer (1 = next to the input)",
        yaxis={**log_axis(values), "title": "gradient norm"},
        margin={"t": 20, "b": 40},
    )
    return figure


def shift_figure(results: Sequence[ShiftRobustness]) -> go.Figure:
    """Test accuracy against a horizontal (solid) and vertical (dashed) shift, one colour per network."""
    figure = go.Figure()
    for index, result in enumerate(results):
        for values, dash, way in ((result.horizontal, "solid", "horizontal"), (result.vertical, "dash", "vertical")):  # fmt: skip
            figure.add_trace(
                go.Scatter(
                    x=result.shifts,
                    y=values,
                    mode="lines+markers",
                    line={"color": colour(index), "dash": dash},
                    name=f"{result.label} ({way})",
                    hovertemplate="shift %{x:+d} px: %{y:.1%}<extra></extra>",
                )
            )
    figure.update_layout(
        height=360,
        xaxis_title="shift (pixels)",
        yaxis={"title": "test accuracy", "tickformat": ".0%", "range": [0, 1.02]},
        margin={"t": 20, "b": 40},
    )
    return figure


def search_figure(trials: Sequence[Trial]) -> go.Figure:
    """Left: every trial's learning rate and weight decay (log axes), coloured by validation accuracy, one
    marker per method. Right: the best accuracy found so far against the number of runs, per method."""
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("Where each method looked", "Best so far"), horizontal_spacing=0.14
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
                    "colorbar": colourbar("val. accuracy", x=0.44) if index == 0 else None,
                },
                hovertemplate="lr %{x:.2g}, decay %{y:.2g}: %{marker.color:.1%}<extra>" + method + "</extra>",
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
    figure.update_xaxes(type="log", title_text="learning rate", row=1, col=1)
    figure.update_yaxes(type="log", title_text="weight decay", row=1, col=1)
    figure.update_xaxes(title_text="runs", row=1, col=2)
    figure.update_yaxes(tickformat=".0%", title_text="best validation accuracy", row=1, col=2)
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
