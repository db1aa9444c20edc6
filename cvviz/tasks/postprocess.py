"""Post-processing re-run from cached head outputs: new score and IoU thresholds, no backbone.

The model's own post-processing methods (``RoIHeads.postprocess_detections``,
``RetinaNet``/``FCOS``/``SSD.postprocess_detections``) are pure functions of the head's outputs and of a
few attributes (box coder, thresholds, top-k): they are called here on those attributes, copied when the
image was run (:class:`cvviz.tasks.pipeline.HeadOutputs`), so moving a slider never touches the shared
model. Their NMS is ``torchvision.ops.batched_nms`` (``torchvision.ops.nms`` per class).

A score slider does not even need NMS again: greedy NMS visits boxes best first, so boxes below a
threshold never decide whether a box above it is kept, and the per-level top-k and the final cap keep the
best boxes. The detections at a higher threshold are therefore those at a lower one that score above it
(:func:`ranked_detections`, then :meth:`cvviz.tasks.pipeline.Detections.above`); only a new IoU runs NMS.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from torchvision.models.detection.fcos import FCOS
from torchvision.models.detection.retinanet import RetinaNet
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.ssd import SSD

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.tasks.pipeline import Detections, HeadOutputs


class ThresholdError(CvvizError, ValueError):
    """A score or IoU threshold outside [0, 1]."""


def check_threshold(name: str, value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ThresholdError(
            _("The {name} threshold must be between 0 and 1, not {value}.").format(name=name, value=value)
        )
    return float(value)


def detect_from_head(head: HeadOutputs, score: float | None = None, iou: float | None = None) -> Detections:
    """Final detections from ``head`` at score threshold ``score`` and NMS IoU ``iou`` (the model's own
    when None), in the original image's pixels, best first."""
    settings = dict(head.settings)
    if score is not None:
        settings["score_thresh"] = check_threshold(_("score"), score)
    if iou is not None:
        settings["nms_thresh"] = check_threshold(_("IoU"), iou)
    owner = SimpleNamespace(**settings)
    tensors = head.tensors
    sizes = [head.image_size]
    with torch.no_grad():
        if head.architecture == "two_stage":
            boxes, scores, labels = RoIHeads.postprocess_detections(
                owner, tensors["class_logits"], tensors["box_regression"], [tensors["proposals"]], sizes
            )
            result = {"boxes": boxes[0], "scores": scores[0], "labels": labels[0]}
        elif head.architecture == "ssd":
            outputs = {k: v for k, v in tensors.items() if k not in ("anchors", "anchors_per_level")}
            result = SSD.postprocess_detections(owner, outputs, [tensors["anchors"]], sizes)[0]
        else:
            counts = tensors["anchors_per_level"]
            outputs = {
                k: list(v.split(counts, dim=1))
                for k, v in tensors.items()
                if k not in ("anchors", "anchors_per_level")
            }
            anchors = [list(tensors["anchors"].split(counts))]
            method = (
                FCOS.postprocess_detections if "bbox_ctrness" in outputs else RetinaNet.postprocess_detections
            )
            result = method(owner, outputs, anchors, sizes)[0]
    sy = head.original_size[0] / head.image_size[0]
    sx = head.original_size[1] / head.image_size[1]
    boxes = result["boxes"].cpu().numpy() * np.array([sx, sy, sx, sy], dtype=np.float32)
    order = np.argsort(-result["scores"].cpu().numpy(), kind="stable")
    return Detections(
        boxes[order].astype(np.float32),
        result["scores"].cpu().numpy()[order],
        result["labels"].cpu().numpy()[order].astype(np.int64),
    )


SCORE_FLOOR = 0.01
"""The lowest score threshold a view offers: :func:`ranked_detections` runs NMS once at it."""


def ranked_detections(head: HeadOutputs, iou: float | None = None, floor: float = SCORE_FLOOR) -> Detections:
    """The detections at score threshold ``floor`` and NMS IoU ``iou``, best first: for any threshold
    ``t ≥ floor``, ``ranked_detections(head, iou).above(t)`` equals ``detect_from_head(head, t, iou)``
    (see the module docstring), so a score slider filters this list instead of running NMS."""
    return detect_from_head(head, floor, iou)
