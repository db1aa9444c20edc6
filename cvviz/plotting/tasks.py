"""Figures of a task model's pipeline: feature levels with strides, anchors, boxes, masks, keypoints, the
parts' parameters and MACs. Built from :mod:`cvviz.tasks` results; nothing is computed here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.i18n import _
from cvviz.plotting.style import ACTIVATION, colourbar, image_trace, square_pixels

PALETTE = (
    "#E6194B", "#3CB44B", "#FFE119", "#4363D8", "#F58231", "#911EB4", "#46F0F0", "#F032E6",
    "#BCF60C", "#FABEBE", "#008080", "#E6BEFF", "#9A6324", "#FFFAC8", "#800000", "#AAFFC3",
    "#808000", "#FFD8B1", "#000075", "#808080", "#00A2FF",
)  # fmt: skip


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _image_figure(image: np.ndarray, height: int = 460) -> go.Figure:
    fig = go.Figure(image_trace(image))
    fig.update_xaxes(visible=False, range=[-0.5, image.shape[1] - 0.5])
    fig.update_yaxes(visible=False, range=[image.shape[0] - 0.5, -0.5])
    square_pixels(fig)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0), showlegend=True)
    return fig


def _box(fig: go.Figure, box: Sequence[float], colour_: str, name: str, hover: str, legend: bool) -> None:
    x1, y1, x2, y2 = (float(v) for v in box)
    fig.add_trace(
        go.Scatter(
            x=[x1, x2, x2, x1, x1],
            y=[y1, y1, y2, y2, y1],
            mode="lines",
            line=dict(color=colour_, width=2),
            name=name,
            legendgroup=name,
            showlegend=legend,
            hovertext=hover,
            hoverinfo="text",
        )
    )


def feature_levels_figure(levels: Sequence, title: str = "") -> go.Figure:
    """One heat map per level (the mean over its channels), titled with its name, shape and stride."""
    if not levels:
        return go.Figure()
    titles = [
        _("{name} · {c}×{h}×{w} · stride {stride}").format(
            name=lv.name, c=lv.shape[0], h=lv.shape[1], w=lv.shape[2], stride=lv.stride
        )
        for lv in levels
    ]
    fig = make_subplots(rows=1, cols=len(levels), subplot_titles=titles, horizontal_spacing=0.02)
    for i, level in enumerate(levels, 1):
        fig.add_trace(
            go.Heatmap(
                z=level.mean, colorscale=ACTIVATION, showscale=False, hovertemplate="%{z:.3f}<extra></extra>"
            ),
            row=1,
            col=i,
        )
        fig.update_yaxes(autorange="reversed", visible=False, row=1, col=i)
        fig.update_xaxes(visible=False, row=1, col=i)
    square_pixels(fig)
    fig.update_annotations(font_size=11)
    fig.update_layout(title=title, height=260, margin=dict(l=0, r=0, t=60, b=0))
    return fig


def anchors_figure(image: np.ndarray, anchors: Sequence, names: Sequence[str]) -> go.Figure:
    """The anchors of each level's centre location drawn on the image, one colour per level."""
    fig = _image_figure(image)
    for i, (level, name) in enumerate(zip(anchors, names, strict=False)):
        label = _("{name}: {each} per location × {rows}×{cols} = {count}").format(
            name=name, each=level.per_location, rows=level.grid[0], cols=level.grid[1], count=level.count
        )
        for j, box in enumerate(level.centre_boxes):
            hover = _("{name}, size {size:.0f} px, aspect {ratio:.2f}").format(
                name=name, size=level.sizes[j], ratio=level.aspect_ratios[j]
            )
            _box(fig, box, colour(i), label, hover, j == 0)
    fig.update_layout(legend=dict(orientation="h", y=-0.02, yanchor="top"))
    return fig


def boxes_figure(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: Sequence[str],
    scores: np.ndarray | None = None,
    *,
    colour_index: Sequence[int] | None = None,
    limit: int = 300,
) -> go.Figure:
    """Boxes (N, 4) on the image, coloured by label, each with its label and score on hover."""
    fig = _image_figure(image)
    seen: set[str] = set()
    for i, box in enumerate(boxes[:limit]):
        name = labels[i]
        score = "" if scores is None else f" {scores[i]:.2f}"
        index = colour_index[i] if colour_index is not None else 0
        _box(fig, box, colour(index), name, f"{name}{score}", name not in seen)
        seen.add(name)
    return fig


def instance_masks_figure(
    image: np.ndarray, masks: np.ndarray, labels: Sequence[str], threshold: float = 0.5
):
    """Each instance's mask (probability ≥ threshold) tinted over the image, in its own colour."""
    tinted = image.astype(np.float32).copy()
    for i, mask in enumerate(masks):
        rgb = np.array([int(colour(i)[k : k + 2], 16) for k in (1, 3, 5)], dtype=np.float32)
        inside = mask >= threshold
        tinted[inside] = 0.45 * tinted[inside] + 0.55 * rgb
    return _image_figure(tinted.astype(np.uint8))


def semantic_figure(image: np.ndarray, labels: np.ndarray, categories: Sequence[str]) -> go.Figure:
    """The class map tinted over the image, with a legend of the classes present (background clear)."""
    tinted = image.astype(np.float32).copy()
    fig = _image_figure(image)
    for index in np.unique(labels):
        if index == 0:
            continue
        rgb = np.array([int(colour(int(index))[k : k + 2], 16) for k in (1, 3, 5)], dtype=np.float32)
        inside = labels == index
        tinted[inside] = 0.4 * tinted[inside] + 0.6 * rgb
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", marker=dict(color=colour(int(index)), size=12, symbol="square"),
                name=categories[int(index)],
            )
        )  # fmt: skip
    fig.data[0].source = image_trace(tinted.astype(np.uint8)).source
    return fig


def keypoints_figure(
    image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, names: Sequence[str], skeleton: Sequence
) -> go.Figure:
    """Each person's joints (K, 3) joined by the skeleton, every joint's score on hover."""
    fig = _image_figure(image)
    index = {name: i for i, name in enumerate(names)}
    for person, (points, joint_scores) in enumerate(zip(keypoints, scores, strict=True)):
        xs, ys = [], []
        for a, b in skeleton:
            xs += [points[index[a], 0], points[index[b], 0], None]
            ys += [points[index[a], 1], points[index[b], 1], None]
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour(person), width=2), hoverinfo="skip",
                       name=_("person {n}").format(n=person + 1))
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=points[:, 0], y=points[:, 1], mode="markers", marker=dict(color=colour(person), size=7),
                text=[f"{n}: {s:.2f}" for n, s in zip(names, joint_scores, strict=True)], hoverinfo="text",
                showlegend=False,
            )
        )  # fmt: skip
    return fig


def parts_figure(cost, published_params: int | None, published_gmacs: float | None) -> go.Figure:
    """Parameters and MACs per part as stacked bars, the published totals as markers."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(_("parameters (millions)"), _("MACs (billions)")),
        horizontal_spacing=0.2,
    )
    for i, part in enumerate(cost.parts):
        name = _(part.part)
        fig.add_trace(go.Bar(x=[""], y=[part.params / 1e6], name=name, marker_color=colour(i), legendgroup=name),
                      row=1, col=1)  # fmt: skip
        fig.add_trace(go.Bar(x=[""], y=[part.macs / 1e9], name=name, marker_color=colour(i), legendgroup=name,
                             showlegend=False), row=1, col=2)  # fmt: skip
    for col, value in ((1, published_params and published_params / 1e6), (2, published_gmacs)):
        if value:
            fig.add_trace(
                go.Scatter(x=[""], y=[value], mode="markers", marker=dict(symbol="line-ew-open", size=40, color="black"),
                           name=_("published total"), showlegend=col == 1),
                row=1, col=col,
            )  # fmt: skip
    fig.update_layout(
        barmode="stack",
        height=340,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.08),
    )
    return fig


def detection_cam_figure(
    image: np.ndarray, heatmap: np.ndarray, box: Sequence[float], label: str, opacity: float = 0.5
) -> go.Figure:
    """A CAM (H, W) in [0, 1] over the image, with the detection it was computed for outlined."""
    fig = _image_figure(image)
    fig.add_trace(
        go.Heatmap(
            z=heatmap,
            zmin=0.0,
            zmax=1.0,
            colorscale=ACTIVATION,
            opacity=opacity,
            colorbar=colourbar(_("share of the<br>map's largest")),
            hovertemplate=_("x %{x}, y %{y}: %{z:.0%} of the largest") + "<extra></extra>",
        )
    )
    _box(fig, box, "#FFFFFF", label, label, True)
    fig.update_layout(showlegend=False)
    return fig


def pipeline_counts_figure(sides: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> go.Figure:
    """Each model's pipeline as horizontal bars, one per step with its count of boxes (log scale), one model
    above the other on a shared axis: (model title, ((step, count), …)) each, steps top to bottom."""
    rows = [len(steps) for _title, steps in sides]
    fig = make_subplots(
        rows=len(sides),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[title for title, _steps in sides],
        row_heights=rows,
        vertical_spacing=0.12,
    )
    top = max((count for _title, steps in sides for _name, count in steps), default=1)
    for row, (_title, steps) in enumerate(sides, 1):
        counts = [max(count, 0) for _name, count in steps]
        fig.add_trace(
            go.Bar(
                x=[max(c, 0.8) for c in counts],
                y=[name for name, _count in steps],
                orientation="h",
                text=[f"{c:,}" for c in counts],
                textposition="outside",
                cliponaxis=False,
                marker_color=colour(row - 1),
                hovertemplate="%{y}: %{text}<extra></extra>",
                showlegend=False,
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(autorange="reversed", row=row, col=1)
    fig.update_xaxes(type="log", range=[-0.2, np.log10(max(top, 1)) + 0.6])
    fig.update_xaxes(title=_("boxes (log scale)"), row=len(sides), col=1)
    fig.update_layout(height=140 + 34 * sum(rows), margin=dict(l=10, r=30, t=40, b=10))
    return fig
