"""Figures of the detection lab: a scene with boxes (and the S×S grid), one step of NMS, a segmentation map
over the scene with its legend, the U-Net's levels with their shapes and skip connections, and the curves
of a run. Built from the lab's results; nothing here computes on tensors.

Scenes are drawn as pictures whose pixel (row, column) is centred on (column, row) in the figure, so a box
edge at pixel coordinate x is drawn at x − 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cvviz.i18n import _
from cvviz.plotting.generative import CLASS_COLOURS
from cvviz.plotting.style import image_trace

if TYPE_CHECKING:
    from cvviz.tasks.boxes import NmsStep
    from cvviz.tasks.lab import TaskEpoch
    from cvviz.tasks.unet import SkipLevel

KEPT, SUPPRESSED, DONE, GRID_LINE = "#2ca02c", "#d62728", "#9e9e9e", "rgba(255, 255, 255, 0.35)"


def _grey(image: np.ndarray) -> np.ndarray:
    pixels = np.clip(np.asarray(image, dtype=np.float64), 0, 1) * 255
    return np.repeat(pixels[..., None], 3, axis=-1).astype(np.uint8)


def _canvas(image: np.ndarray, title: str, height: int) -> go.Figure:
    """A figure showing ``image``: (H, W) grey levels in [0, 1], or an (H, W, 3) uint8 picture."""
    figure = go.Figure(image_trace(image if image.ndim == 3 else _grey(image)))
    size = image.shape[0]
    figure.update_xaxes(visible=False, range=[-0.5, size - 0.5])
    figure.update_yaxes(visible=False, range=[size - 0.5, -0.5], scaleanchor="x")
    figure.update_layout(
        title=title, height=height, margin={"l": 5, "r": 5, "t": 40, "b": 5}, showlegend=False
    )
    return figure


def _box(
    figure: go.Figure, box, colour: str, *, dash: str = "solid", width: float = 2, text: str = ""
) -> None:
    x1, y1, x2, y2 = (float(value) - 0.5 for value in box)
    figure.add_shape(
        type="rect", x0=x1, y0=y1, x1=x2, y1=y2, line={"color": colour, "width": width, "dash": dash}
    )
    if text:
        figure.add_annotation(
            x=x1, y=y1, text=text, showarrow=False, xanchor="left", yanchor="bottom",
            font={"color": "white", "size": 11}, bgcolor=colour, borderpad=1,
        )  # fmt: skip


def class_colour(label: int) -> str:
    """The colour of a digit, the same in every figure of the lab."""
    return CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]


def scene_figure(
    image: np.ndarray,
    boxes: np.ndarray | None = None,
    labels: Sequence[int] = (),
    scores: Sequence[float] | None = None,
    *,
    classes: Sequence[str] = (),
    grid: int | None = None,
    cell: tuple[int, int] | None = None,
    title: str = "",
    dashed: bool = False,
    height: int = 380,
) -> go.Figure:
    """The scene (H, W) with ``boxes`` (K, 4) in their class's colour, labelled with the class (and score);
    with ``grid``, the S×S grid over it, and ``cell`` (row, column) outlined."""
    figure = _canvas(image, title, height)
    size = image.shape[0]
    boxes = np.zeros((0, 4)) if boxes is None else boxes
    if grid:
        step = size / grid
        for line in range(1, grid):
            where = line * step - 0.5
            figure.add_shape(type="line", x0=where, x1=where, y0=-0.5, y1=size - 0.5,
                             line={"color": GRID_LINE, "width": 1})  # fmt: skip
            figure.add_shape(type="line", y0=where, y1=where, x0=-0.5, x1=size - 0.5,
                             line={"color": GRID_LINE, "width": 1})  # fmt: skip
        if cell is not None:
            row, col = cell
            _box(figure, (col * step, row * step, (col + 1) * step, (row + 1) * step), "#ffd54f", width=3)
    for index, (box, label) in enumerate(zip(boxes, labels)):
        name = classes[int(label)] if classes else str(int(label))
        text = name if scores is None else f"{name} {float(scores[index]):.2f}"
        _box(figure, box, class_colour(int(label)), dash="dot" if dashed else "solid", text=text)
    return figure


def nms_figure(
    image: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    steps: Sequence[NmsStep],
    shown: int,
    *,
    title: str = "",
    height: int = 380,
) -> go.Figure:
    """NMS after ``shown`` steps: boxes kept by earlier steps in grey, this step's kept box in green with
    its score, the boxes it suppresses in dashed red with their IoU with it, and boxes not yet decided
    dotted."""
    figure = _canvas(image, title, height)
    decided: set[int] = set()
    for step in steps[: max(shown - 1, 0)]:
        _box(figure, boxes[step.kept], DONE, width=1.5)
        decided.update((step.kept, *step.suppressed))
    current = steps[shown - 1] if 0 < shown <= len(steps) else None
    if current is not None:
        decided.update((current.kept, *current.suppressed))
    for index in range(len(boxes)):
        if index not in decided:
            _box(figure, boxes[index], "#90caf9", dash="dot", width=1)
    if current is not None:
        for index, iou in zip(current.suppressed, current.ious):
            _box(
                figure,
                boxes[index],
                SUPPRESSED,
                dash="dash",
                width=1.5,
                text=_("IoU {iou:.2f}").format(iou=iou),
            )
        _box(figure, boxes[current.kept], KEPT, width=3,
             text=_("kept {score:.2f}").format(score=float(scores[current.kept])))  # fmt: skip
    return figure


def mask_figure(
    image: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    *,
    title: str = "",
    opacity: float = 0.6,
    height: int = 380,
) -> go.Figure:
    """The scene with each pixel's class (0 = background, left clear; k = ``classes[k]``) painted over it,
    and a legend of the classes present."""
    base = _grey(image).astype(np.float64)
    painted = base.copy()
    present = [int(k) for k in np.unique(labels) if k > 0]
    for k in present:
        rgb = np.array([int(class_colour(k - 1)[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
        where = labels == k
        painted[where] = (1 - opacity) * base[where] + opacity * rgb
    figure = _canvas(painted.astype(np.uint8), title, height)
    for k in present:
        figure.add_trace(
            go.Scatter(x=[None], y=[None], mode="markers", name=classes[k],
                       marker={"color": class_colour(k - 1), "size": 12, "symbol": "square"})
        )  # fmt: skip
    figure.update_layout(showlegend=bool(present), legend={"title": {"text": _("class")}})
    return figure


def unet_figure(
    levels: Sequence[SkipLevel], classes: int, *, stride: int = 1, height: int = 420
) -> go.Figure:
    """The U: the contracting path down the left, the expanding path up the right, each block labelled
    with its output shape (channels × height × width) as the model computes it, and the skip connections
    across, with the concatenated channels. A ``stride`` above 1 (the U runs on an average-pooled image and
    its class scores are upsampled back) adds the image on the left and the upsampling on the right."""
    figure = go.Figure()
    depth = len(levels)

    def block(x: float, y: float, text: str, colour: str) -> None:
        figure.add_shape(type="rect", x0=x - 1.1, x1=x + 1.1, y0=y - 0.32, y1=y + 0.32,
                         fillcolor=colour, line={"color": "#455a64"}, layer="below")  # fmt: skip
        figure.add_annotation(x=x, y=y, text=text, showarrow=False, font={"size": 12})

    def arrow(
        x0,
        y0,
        x1,
        y1,
        text: str = "",
        colour: str = "#455a64",
        dash: bool = False,
        lift: int = 10,
        side: str = "above",
    ) -> None:
        """An arrow with its label above it, or (``side`` "left"/"right", for the diagonal pool and
        up-conv arrows) beside its middle, so that the label crosses neither the line nor a block."""
        figure.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                              showarrow=True, arrowhead=3, arrowwidth=1.6, arrowcolor=colour, text="")  # fmt: skip
        if text:
            place = (
                {"yshift": lift}
                if side == "above"
                else {
                    "xanchor": "right" if side == "left" else "left",
                    "xshift": -14 if side == "left" else 14,
                }
            )
            figure.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False,
                                  font={"size": 11, "color": colour}, **place)  # fmt: skip

    def shape(values) -> str:
        return "×".join(str(v) for v in values)

    spacing, middle = 2.7, (depth - 1) * 2.7
    for level in levels:
        y, away = -level.level, (depth - 1 - level.level) * spacing
        block(middle - away, y, shape(level.encoder), "#bbdefb")
        if level.level + 1 < depth:
            arrow(middle - away + 0.4, y - 0.32, middle - away + spacing - 0.4, y - 0.68, _("max-pool ÷2"),
                  side="left")  # fmt: skip
        if level.decoder is not None and level.upsampled is not None:
            block(middle + away, y, shape(level.decoder), "#c8e6c9")
            concatenated = level.encoder[0] + level.upsampled[0]
            # Its label above the blocks: the deepest level's gap is narrower than the label.
            arrow(
                middle - away + 1.1,
                y,
                middle + away - 1.1,
                y,
                _("skip: concatenate → {channels} channels").format(channels=concatenated),
                colour="#e65100",
                lift=42,
            )
            below = middle + away - spacing
            arrow(below + 0.4, y - 0.68, middle + away - 0.4, y - 0.32,
                  _("up-conv ×2 → {shape}").format(shape=shape(level.upsampled)), side="right")  # fmt: skip
    top = levels[0]
    right = middle + (depth - 1) * spacing
    left = 0.0
    if stride > 1:
        left = -spacing
        size = f"{top.encoder[1] * stride}×{top.encoder[2] * stride}"
        block(left, 0, f"1×{size}", "#eeeeee")
        arrow(left + 1.1, 0, -1.1, 0, _("avg-pool ÷{n}").format(n=stride), lift=44)
    if top.decoder is not None:
        block(right + spacing, 0, f"{classes}×{top.decoder[1]}×{top.decoder[2]}", "#ffe0b2")
        arrow(right + 1.1, 0, right + spacing - 1.1, 0, _("1×1 conv"), lift=44)
        right += spacing
        if stride > 1:
            block(
                right + spacing,
                0,
                f"{classes}×{top.decoder[1] * stride}×{top.decoder[2] * stride}",
                "#ffe0b2",
            )
            arrow(right + 1.1, 0, right + spacing - 1.1, 0, _("bilinear ×{n}").format(n=stride), lift=44)
            right += spacing
    figure.update_xaxes(range=[left - 1.4, right + 1.4])
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, range=[-depth + 0.4, 0.7])
    figure.update_layout(
        height=height, margin={"l": 5, "r": 5, "t": 30, "b": 5}, showlegend=False,
        title=_("U-Net: shapes from the model itself (channels × height × width)"),
    )  # fmt: skip
    return figure


def task_curves_figure(runs: Sequence[tuple[str, str, Sequence[TaskEpoch]]]) -> go.Figure:
    """Training loss (left) and the held-out score (right) per epoch of each ``(label, metric, epochs)``
    run; the metric is ``"map50"`` or ``"miou"``."""
    names = {"map50": _("held-out mAP@0.5"), "miou": _("held-out mIoU")}
    metrics = {metric for _label, metric, _epochs in runs}
    right = names[next(iter(metrics))] if len(metrics) == 1 else _("held-out score")
    figure = make_subplots(rows=1, cols=2, subplot_titles=(_("Training loss"), right))
    for index, (label, _metric, epochs) in enumerate(runs):
        x = [epoch.epoch for epoch in epochs]
        colour = CLASS_COLOURS[index % len(CLASS_COLOURS)]
        figure.add_trace(go.Scatter(x=x, y=[e.loss for e in epochs], name=label, mode="lines+markers",
                                    line={"color": colour}, legendgroup=label), row=1, col=1)  # fmt: skip
        figure.add_trace(go.Scatter(x=x, y=[e.score for e in epochs], name=label, mode="lines+markers",
                                    line={"color": colour}, legendgroup=label, showlegend=False),
                         row=1, col=2)  # fmt: skip
    figure.update_xaxes(title=_("epoch"))
    figure.update_yaxes(range=[0, 1], row=1, col=2)
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure
