"""Boxes: intersection over union and non-maximum suppression, as small pure functions over tensors.

Boxes are (x1, y1, x2, y2) in pixels, as torchvision's detection models give them. :func:`nms_steps`
records every decision NMS makes (the box it keeps, the boxes that box suppresses and their overlap with
it) so that a page can step through it; :func:`nms` is its kept set, the same as
``torchvision.ops.nms``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def _numpy(values) -> np.ndarray:
    return np.asarray(values.numpy() if isinstance(values, torch.Tensor) else values, dtype=np.float64)


def box_area(boxes) -> torch.Tensor:
    """(N,) areas of (N, 4) boxes."""
    return torch.from_numpy(_areas(_numpy(boxes).reshape(-1, 4))).float()


def _areas(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of (N, 4) and (M, 4) float64 boxes (numpy: a few boxes at a time, torch's per-call
    overhead would dominate)."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    sides = np.clip(bottom_right - top_left, 0, None)
    intersection = sides[..., 0] * sides[..., 1]
    union = _areas(a)[:, None] + _areas(b)[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(union), where=union > 0)


def box_iou(a, b) -> torch.Tensor:
    """(N, M) intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4).

    Boxes that do not meet have IoU 0; two empty boxes have IoU 0, not NaN."""
    return torch.from_numpy(_iou_matrix(_numpy(a).reshape(-1, 4), _numpy(b).reshape(-1, 4))).float()


@dataclass(frozen=True)
class NmsStep:
    """One step of NMS: the highest-scoring box still standing is ``kept`` (an index into the input),
    and every standing box that overlaps it by more than the threshold is ``suppressed``, with its
    ``ious`` with the kept box (same order)."""

    kept: int
    suppressed: tuple[int, ...]
    ious: tuple[float, ...]


def nms_steps(boxes, scores, iou_threshold: float) -> tuple[NmsStep, ...]:
    """Greedy non-maximum suppression, step by step: visit boxes from the highest score down; each box
    not yet suppressed is kept and suppresses the standing boxes whose IoU with it exceeds
    ``iou_threshold`` (strictly, as torchvision does)."""
    boxes, scores = _numpy(boxes).reshape(-1, 4), _numpy(scores).reshape(-1)
    if len(boxes) == 0:
        return ()
    order = np.argsort(-scores, kind="stable")
    overlaps = _iou_matrix(boxes, boxes)
    standing = np.ones(len(boxes), dtype=bool)
    steps = []
    for index in order.tolist():
        if not standing[index]:
            continue
        standing[index] = False
        row = overlaps[index]
        hit = standing & (row > iou_threshold)
        victims = order[hit[order]].tolist()  # in score order
        standing &= ~hit
        steps.append(NmsStep(index, tuple(victims), tuple(float(row[i]) for i in victims)))
    return tuple(steps)


def nms(boxes, scores, iou_threshold: float) -> torch.Tensor:
    """Indices (int64) of the boxes NMS keeps, highest score first (``torchvision.ops.nms``'s answer)."""
    return torch.from_numpy(_kept(_numpy(boxes).reshape(-1, 4), _numpy(scores).reshape(-1), iou_threshold))


def _kept(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """:func:`nms_steps`'s kept boxes without recording the steps (the fast path of post-processing)."""
    order = np.argsort(-scores, kind="stable")
    overlaps = _iou_matrix(boxes[order], boxes[order]) > iou_threshold
    standing = np.ones(len(order), dtype=bool)
    kept = []
    for place in range(len(order)):
        if standing[place]:
            kept.append(place)
            standing &= ~overlaps[place]
    return order[np.array(kept, dtype=np.int64)].astype(np.int64)


def batched_nms(boxes, scores, labels, iou_threshold: float) -> torch.Tensor:
    """NMS within each class apart (boxes of different classes never suppress each other); the kept
    indices, highest score first (``torchvision.ops.batched_nms``'s answer). Each class's boxes are moved
    apart by more than the span of all boxes, so one NMS does every class at once (as torchvision does)."""
    boxes, scores = _numpy(boxes).reshape(-1, 4), _numpy(scores).reshape(-1)
    labels = np.asarray(labels.numpy() if isinstance(labels, torch.Tensor) else labels).reshape(-1)
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long)
    apart = (labels.astype(np.float64) * (boxes.max() - min(boxes.min(), 0.0) + 1.0))[:, None]
    return torch.from_numpy(_kept(boxes + apart, scores, iou_threshold))
