"""Post-processing re-run from cached head outputs: new score and IoU thresholds, no backbone.

The model's own post-processing methods (``RoIHeads.postprocess_detections``,
``RetinaNet``/``FCOS``/``SSD.postprocess_detections``) are pure functions of the head's outputs and of a
few attributes (box coder, thresholds, top-k): they are called here on those attributes, copied when the
image was run (:class:`cvviz.tasks.pipeline.HeadOutputs`), so moving a slider never touches the shared
model. Their NMS is ``torchvision.ops.batched_nms`` (``torchvision.ops.nms`` per class).

A slider move is only thresholding and NMS. Everything before NMS — decoding the head's outputs into
boxes, the softmax or sigmoid, clipping, the per-level or per-class top-k — does not depend on the
thresholds beyond the score cut, so it runs once per image, at the lowest score a view offers
(:func:`head_candidates`, kept on the head as :class:`Candidates`); :func:`select` then cuts at a score
and runs NMS per class. A score slider does not even need NMS again: greedy NMS visits boxes best first,
so boxes below a threshold never decide whether a box above it is kept, and the per-level top-k and the
final cap keep the best boxes. The detections at a higher threshold are therefore those at a lower one
that score above it (:func:`ranked_detections`, then :meth:`cvviz.tasks.pipeline.Detections.above`); only
a new IoU runs NMS.

Mask R-CNN's masks and Keypoint R-CNN's joints follow the boxes: :func:`second_stage` runs the mask or
keypoint head on the cached pyramid levels for the boxes kept, each candidate box at most once per image
(the head's output is remembered by candidate), never the backbone or the FPN.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.fcos import FCOS
from torchvision.models.detection.retinanet import RetinaNet
from torchvision.models.detection.roi_heads import (
    RoIHeads,
    keypointrcnn_inference,
    maskrcnn_inference,
    paste_masks_in_image,
)
from torchvision.models.detection.ssd import SSD
from torchvision.ops import boxes as box_ops
from torchvision.ops import nms

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.tasks.pipeline import Detections, HeadOutputs

SCORE_FLOOR = 0.01
"""The lowest score threshold a view offers: a head's candidates are kept down to it."""

ABOVE_ANY_IOU = 2.0
"""An NMS threshold no IoU exceeds: the model's post-processing run at it suppresses nothing."""


class ThresholdError(CvvizError, ValueError):
    """A score or IoU threshold outside [0, 1], or a score below the cached candidates' floor."""


def check_threshold(name: str, value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ThresholdError(
            _("The {name} threshold must be between 0 and 1, not {value}.").format(name=name, value=value)
        )
    return float(value)


def _postprocess(head: HeadOutputs, settings: dict) -> dict[str, torch.Tensor]:
    """The model's own post-processing of ``head`` with ``settings`` for its attributes: boxes in the
    model's input pixels, scores and labels, best first."""
    owner = SimpleNamespace(**settings)
    tensors = head.tensors
    sizes = [head.image_size]
    with torch.no_grad():
        if head.architecture == "two_stage":
            boxes, scores, labels = RoIHeads.postprocess_detections(
                owner, tensors["class_logits"], tensors["box_regression"], [tensors["proposals"]], sizes
            )
            return {"boxes": boxes[0], "scores": scores[0], "labels": labels[0]}
        if head.architecture == "ssd":
            outputs = {k: v for k, v in tensors.items() if k not in ("anchors", "anchors_per_level")}
            return SSD.postprocess_detections(owner, outputs, [tensors["anchors"]], sizes)[0]
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
        return method(owner, outputs, anchors, sizes)[0]


def _scale(head: HeadOutputs) -> np.ndarray:
    """x, y, x, y factors from the model's input back to the original image."""
    sy = head.original_size[0] / head.image_size[0]
    sx = head.original_size[1] / head.image_size[1]
    return np.array([sx, sy, sx, sy], dtype=np.float32)


def detect_from_head(head: HeadOutputs, score: float | None = None, iou: float | None = None) -> Detections:
    """Final detections from ``head`` at score threshold ``score`` and NMS IoU ``iou`` (the model's own
    when None), in the original image's pixels, best first: the model's own post-processing run whole
    (the reference :func:`select` is checked against)."""
    settings = dict(head.settings)
    if score is not None:
        settings["score_thresh"] = check_threshold(_("score"), score)
    if iou is not None:
        settings["nms_thresh"] = check_threshold(_("IoU"), iou)
    result = _postprocess(head, settings)
    boxes = result["boxes"].cpu().numpy() * _scale(head)
    order = np.argsort(-result["scores"].cpu().numpy(), kind="stable")
    return Detections(
        boxes[order].astype(np.float32),
        result["scores"].cpu().numpy()[order],
        result["labels"].cpu().numpy()[order].astype(np.int64),
    )


@dataclass(frozen=True)
class Candidates:
    """Every box post-processing may keep at a score above ``floor``: the head's outputs decoded into boxes
    in the model's input pixels, clipped to the image, empty boxes removed and the model's own top-k
    applied — what its post-processing hands to NMS. ``boxes`` (M, 4), ``scores`` (M,) and ``labels`` (M,)
    are grouped by class, ``groups`` holding each class's (start, stop) run, in the model's order within a
    class; ``position`` (M,) is each
    box's place in the order the model hands them to NMS, which decides between exactly equal scores."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor
    position: torch.Tensor
    groups: tuple[tuple[int, int], ...]
    floor: float

    def __len__(self) -> int:
        return len(self.scores)


def head_candidates(head: HeadOutputs, floor: float = SCORE_FLOOR) -> Candidates:
    """``head``'s candidates above ``floor`` (or above the model's own score threshold where that is lower),
    grouped by class. A two-stage detector's and SSD's are decoded here as their post-processing does
    (kept in its order, so NMS breaks ties as the model does); RetinaNet's and FCOS's are the model's own
    post-processing run with an NMS that suppresses nothing and no cap (ordered by score)."""
    floor = min(float(floor), float(head.settings.get("score_thresh", floor)))
    with torch.no_grad():
        if head.architecture == "two_stage":
            boxes, scores, labels = _two_stage_candidates(head, floor)
        elif head.architecture == "ssd":
            boxes, scores, labels = _ssd_candidates(head, floor)
        else:
            result = _postprocess(
                head,
                dict(head.settings, score_thresh=floor, nms_thresh=ABOVE_ANY_IOU, detections_per_img=None),
            )
            boxes, scores, labels = result["boxes"], result["scores"], result["labels"]
    labels = labels.to(torch.int64).cpu()
    order = torch.sort(labels, stable=True).indices
    counts = torch.unique_consecutive(labels[order], return_counts=True)[1].tolist()
    stops = np.cumsum(counts, dtype=np.int64).tolist()
    groups = tuple(zip([0, *stops[:-1]], stops, strict=True))
    return Candidates(boxes.cpu()[order], scores.cpu()[order], labels[order], order, groups, floor)


def _two_stage_candidates(head: HeadOutputs, floor: float) -> tuple[torch.Tensor, ...]:
    """``RoIHeads.postprocess_detections`` up to its NMS: every (proposal, class) box, background dropped."""
    tensors = head.tensors
    boxes = head.settings["box_coder"].decode(tensors["box_regression"], [tensors["proposals"]])
    scores = F.softmax(tensors["class_logits"], -1)
    boxes = box_ops.clip_boxes_to_image(boxes, head.image_size)
    labels = torch.arange(scores.shape[-1]).view(1, -1).expand_as(scores)
    boxes, scores, labels = boxes[:, 1:].reshape(-1, 4), scores[:, 1:].reshape(-1), labels[:, 1:].reshape(-1)
    inds = torch.where(scores > floor)[0]
    boxes, scores, labels = boxes[inds], scores[inds], labels[inds]
    keep = box_ops.remove_small_boxes(boxes, min_size=1e-2)
    return boxes[keep], scores[keep], labels[keep]


def _ssd_candidates(head: HeadOutputs, floor: float) -> tuple[torch.Tensor, ...]:
    """``SSD.postprocess_detections`` up to its NMS: each class's best ``topk_candidates`` default boxes."""
    tensors = head.tensors
    boxes = head.settings["box_coder"].decode_single(tensors["bbox_regression"][0], tensors["anchors"])
    boxes = box_ops.clip_boxes_to_image(boxes, head.image_size)
    scores = F.softmax(tensors["cls_logits"][0], dim=-1)
    found_boxes, found_scores, found_labels = [], [], []
    for label in range(1, scores.shape[-1]):
        score = scores[:, label]
        keep = score > floor
        score, box = score[keep], boxes[keep]
        score, idxs = score.topk(min(head.settings["topk_candidates"], score.shape[0]))
        found_boxes.append(box[idxs])
        found_scores.append(score)
        found_labels.append(torch.full_like(score, label, dtype=torch.int64))
    return torch.cat(found_boxes), torch.cat(found_scores), torch.cat(found_labels)


def candidates_of(head: HeadOutputs) -> Candidates:
    """The candidates cached on ``head`` (computed now if it carries none)."""
    return head.candidates if head.candidates is not None else head_candidates(head)


def select(head: HeadOutputs, score: float | None = None, iou: float | None = None) -> Detections:
    """The detections at score threshold ``score`` and NMS IoU ``iou`` (the model's own when None), from the
    cached candidates: a cut at the score and NMS within each class, then the model's cap on the count.
    Equals :func:`detect_from_head` at the same thresholds; ``index`` on the result points into the
    candidates. ``score`` must not be below the candidates' floor."""
    found = candidates_of(head)
    score = check_threshold(_("score"), head.settings.get("score_thresh", 0.05) if score is None else score)
    iou = check_threshold(_("IoU"), head.settings.get("nms_thresh", 0.5) if iou is None else iou)
    if score < found.floor - 1e-9:
        raise ThresholdError(
            _("The score threshold cannot go below {floor}.").format(floor=format(found.floor, "g"))
        )
    kept = []
    with torch.no_grad():
        for start, stop in found.groups:
            above = torch.nonzero(found.scores[start:stop] > score)[:, 0] + start
            if len(above):
                kept.append(above[nms(found.boxes[above], found.scores[above], iou)])
        keep = torch.cat(kept) if kept else torch.zeros(0, dtype=torch.int64)
        keep = keep[torch.argsort(found.position[keep])]
        keep = keep[torch.sort(found.scores[keep], descending=True, stable=True).indices]
        keep = keep[: head.settings.get("detections_per_img")]
    index = keep.numpy()
    return Detections(
        found.boxes[keep].numpy() * _scale(head),
        found.scores[keep].numpy(),
        found.labels[keep].numpy(),
        index=index,
    )


def ranked_detections(head: HeadOutputs, iou: float | None = None, floor: float = SCORE_FLOOR) -> Detections:
    """The detections at score threshold ``floor`` and NMS IoU ``iou``, best first: for any threshold
    ``t ≥ floor``, ``ranked_detections(head, iou).above(t)`` equals ``detect_from_head(head, t, iou)``
    (see the module docstring), so a score slider filters this list instead of running NMS."""
    return select(head, max(floor, candidates_of(head).floor), iou)


def has_second_stage(head: HeadOutputs) -> bool:
    """Whether ``head`` comes from a model with a mask or keypoint head (its pyramid levels are cached)."""
    return head.features is not None


def second_stage(
    head: HeadOutputs, detections: Detections, roi_heads: nn.Module, limit: int | None = None
) -> Detections:
    """``detections`` (from :func:`select`) with Mask R-CNN's masks (N, H, W) and Keypoint R-CNN's joints
    for the first ``limit`` of them (all when None; the result keeps only those), as the model's
    ``RoIHeads.forward`` and transform compute them: RoIAlign on the cached pyramid levels, the mask or
    keypoint head, then masks pasted into the original image. ``roi_heads`` is the model's own (use it
    under ``loaded.exclusive()``); each candidate box runs through it at most once per image."""
    count = len(detections) if limit is None else min(int(limit), len(detections))
    shown = detections.subset(np.arange(count))
    if not has_second_stage(head) or detections.index is None:
        return shown
    found = candidates_of(head)
    missing = [int(i) for i in dict.fromkeys(shown.index.tolist()) if int(i) not in head.extras]
    if missing:
        _run_second_stage(head, found, missing, roi_heads)
    remembered = [head.extras[int(i)] for i in shown.index]
    masks = keypoints = keypoint_scores = None
    if count and remembered[0][0] is not None:
        boxes = torch.as_tensor(shown.boxes)
        pasted = paste_masks_in_image(torch.stack([r[0] for r in remembered]), boxes, head.original_size)
        masks = pasted[:, 0].numpy()
    elif roi_heads.has_mask():
        masks = np.zeros((0, *head.original_size), dtype=np.float32)
    if count and remembered[0][1] is not None:
        scale = _scale(head)
        keypoints = torch.stack([r[1] for r in remembered]).numpy() * np.array(
            [scale[0], scale[1], 1.0], dtype=np.float32
        )
        keypoint_scores = torch.stack([r[2] for r in remembered]).numpy()
    return replace(shown, masks=masks, keypoints=keypoints, keypoint_scores=keypoint_scores)


def _run_second_stage(head: HeadOutputs, found: Candidates, indices: list[int], roi_heads: nn.Module) -> None:
    """Run the mask and keypoint heads for candidates ``indices`` and remember their outputs on ``head``:
    (mask probabilities (1, M, M) of the box's class or None, joints (K, 3) and their scores (K,) in the
    model's input pixels or None)."""
    device = next(roi_heads.parameters()).device
    picked = torch.as_tensor(indices, dtype=torch.int64)
    boxes = [found.boxes[picked].to(device)]
    labels = [found.labels[picked].to(device)]
    features = {name: level.to(device) for name, level in head.features.items()}
    sizes = [head.image_size]
    masks = points = scores = None
    with torch.no_grad():
        if roi_heads.has_mask():
            pooled = roi_heads.mask_roi_pool(features, boxes, sizes)
            logits = roi_heads.mask_predictor(roi_heads.mask_head(pooled))
            masks = maskrcnn_inference(logits, labels)[0].cpu()
        if roi_heads.has_keypoint():
            pooled = roi_heads.keypoint_roi_pool(features, boxes, sizes)
            logits = roi_heads.keypoint_predictor(roi_heads.keypoint_head(pooled))
            found_points, found_scores = keypointrcnn_inference(logits, boxes)
            points, scores = found_points[0].cpu(), found_scores[0].cpu()
    for j, index in enumerate(indices):
        head.extras[index] = (
            None if masks is None else masks[j],
            None if points is None else points[j],
            None if scores is None else scores[j],
        )
