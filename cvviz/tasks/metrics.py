"""How good a detector or a segmenter is: mean average precision at IoU 0.5 and mean intersection over union.

mAP@0.5 follows the COCO evaluation (Lin et al., 2014, and its reference code ``pycocotools``): per
class, each image's detections (at most ``max_detections`` of the highest-scoring ones) are matched in
score order to the unmatched ground-truth box they overlap most, if that IoU is at least 0.5; the
detections of all images are then ranked by score, precision is made non-increasing from the right, and
read at 101 recall levels 0, 0.01, …, 1 (0 beyond the highest recall reached). A class's AP is the mean
of those readings; mAP is the mean over the classes that have ground truth (a class with ground truth but
no detection scores 0). This is the ``map_50`` of torchmetrics' ``MeanAveragePrecision``.

mIoU follows the PASCAL VOC segmentation benchmark: per class, the pixels both call that class over the
pixels either does, averaged over the classes present in the prediction or the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cvviz.tasks.boxes import box_iou

RECALL_LEVELS = np.linspace(0.0, 1.0, 101)
"""Where COCO reads the precision–recall curve."""


@dataclass(frozen=True)
class AveragePrecision:
    """``map50``: mean AP at IoU 0.5 over the classes with ground truth (NaN when no image has any);
    ``per_class``: ``(class, AP)`` for each of them, in class order."""

    map50: float
    per_class: tuple[tuple[int, float], ...]


def _as_array(values, dtype) -> np.ndarray:
    return np.asarray(values.numpy() if hasattr(values, "numpy") else values, dtype=dtype)


def mean_average_precision(
    predictions: Sequence[tuple],
    targets: Sequence[tuple],
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> AveragePrecision:
    """COCO-style mAP at one IoU threshold (see the module docstring).

    ``predictions`` holds one ``(boxes (K, 4), scores (K,), labels (K,))`` per image, ``targets`` one
    ``(boxes (G, 4), labels (G,))`` per image, in the same order; boxes are (x1, y1, x2, y2).
    """
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} images")
    scores_of: dict[int, list[np.ndarray]] = {}
    matched_of: dict[int, list[np.ndarray]] = {}
    truths: dict[int, int] = {}
    for (boxes, scores, labels), (true_boxes, true_labels) in zip(predictions, targets):
        boxes, scores = _as_array(boxes, np.float64).reshape(-1, 4), _as_array(scores, np.float64)
        labels = _as_array(labels, np.int64)
        true_boxes, true_labels = (
            _as_array(true_boxes, np.float64).reshape(-1, 4),
            _as_array(true_labels, np.int64),
        )
        for label in np.union1d(labels, true_labels).tolist():
            truth = true_boxes[true_labels == label]
            truths[label] = truths.get(label, 0) + len(truth)
            mine = labels == label
            order = np.argsort(-scores[mine], kind="mergesort")[:max_detections]
            found, found_scores = boxes[mine][order], scores[mine][order]
            matched = np.zeros(len(found), dtype=bool)
            if len(found) and len(truth):
                overlaps = box_iou(found, truth).double().numpy()
                taken = np.zeros(len(truth), dtype=bool)
                for d in range(len(found)):
                    best, best_iou = -1, min(iou_threshold, 1 - 1e-10)
                    for g in range(len(truth)):
                        if taken[g] or overlaps[d, g] < best_iou:
                            continue
                        best, best_iou = g, overlaps[d, g]
                    if best >= 0:
                        taken[best] = matched[d] = True
            scores_of.setdefault(label, []).append(found_scores)
            matched_of.setdefault(label, []).append(matched)
    per_class = []
    for label in sorted(truths):
        if truths[label] == 0:
            continue
        scores = np.concatenate(scores_of[label])
        order = np.argsort(-scores, kind="mergesort")
        matched = np.concatenate(matched_of[label])[order]
        per_class.append((label, _average_precision(matched, truths[label])))
    value = float(np.mean([ap for _label, ap in per_class])) if per_class else float("nan")
    return AveragePrecision(value, tuple(per_class))


def _average_precision(matched: np.ndarray, truths: int) -> float:
    """COCO's 101-point interpolated AP of detections ranked by score (``matched``: a true positive?)."""
    if len(matched) == 0:
        return 0.0
    true_positives = np.cumsum(matched)
    false_positives = np.cumsum(~matched)
    recall = true_positives / truths
    precision = true_positives / np.maximum(true_positives + false_positives, np.finfo(np.float64).eps)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    where = np.searchsorted(recall, RECALL_LEVELS, side="left")
    readings = np.where(where < len(precision), precision[np.minimum(where, len(precision) - 1)], 0.0)
    return float(readings.mean())


@dataclass(frozen=True)
class SegmentationScore:
    """``miou``: mean IoU over the classes present in the prediction or the truth; ``ious`` (C,) each
    class's IoU (NaN for a class in neither); ``pixel_accuracy``: the share of pixels labelled right."""

    miou: float
    ious: tuple[float, ...]
    pixel_accuracy: float


def confusion_matrix(predicted, truth, classes: int) -> np.ndarray:
    """(C, C) int64 counts: row = true class, column = predicted class, over every pixel."""
    predicted, truth = _as_array(predicted, np.int64).ravel(), _as_array(truth, np.int64).ravel()
    if predicted.shape != truth.shape:
        raise ValueError(f"prediction of {predicted.size} pixels for a truth of {truth.size}")
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def mean_iou(predicted, truth, classes: int) -> SegmentationScore:
    """mIoU, each class's IoU and pixel accuracy of integer label maps of the same shape."""
    counts = confusion_matrix(predicted, truth, classes)
    hits = np.diag(counts).astype(np.float64)
    union = counts.sum(axis=0) + counts.sum(axis=1) - hits
    ious = np.where(union > 0, hits / np.maximum(union, 1), np.nan)
    total = counts.sum()
    return SegmentationScore(
        miou=float(np.nanmean(ious)) if (union > 0).any() else float("nan"),
        ious=tuple(float(value) for value in ious),
        pixel_accuracy=float(hits.sum() / total) if total else float("nan"),
    )
