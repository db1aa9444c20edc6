"""Two task models on one image, in numbers: how many boxes each step of a one-stage and a two-stage
detector keeps, and how a semantic and an instance segmenter count what they see.

A one-stage detector (SSD, RetinaNet, FCOS) scores every anchor once and keeps the best per class; a
two-stage one (Faster R-CNN) first lets its RPN propose about a thousand regions, then classifies each
region into every class. A semantic segmenter (DeepLabV3) gives each pixel a class, so touching objects of
one class are one region; an instance segmenter (Mask R-CNN) gives each object its own mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from cvviz.i18n import N_
from cvviz.tasks.pipeline import Detections, SemanticMap, TaskRun


@dataclass(frozen=True)
class PipelineCounts:
    """A detector's steps in order, each (label, boxes it keeps), and how many times it scores a box:
    ``stages`` 1 (one-stage) or 2 (two-stage). Labels are marked for translation, shown with ``_()``."""

    steps: tuple[tuple[str, int], ...]
    stages: int


def detection_counts(run: TaskRun, found: Detections) -> PipelineCounts:
    """The boxes of each step of ``run``, ending with ``found`` (its final detections at some thresholds)."""
    anchors = sum(level.count for level in run.anchors)
    candidates = len(run.head.candidates) if run.head is not None and run.head.candidates is not None else 0
    if run.architecture == "two_stage":
        steps = (
            (N_("anchors the RPN scores"), anchors),
            (N_("RPN's best, before its NMS"), len(run.proposals_before_nms)),
            (N_("proposals after the RPN's NMS"), len(run.proposals)),
            (N_("class boxes above the lowest score"), candidates),
            (N_("final detections"), len(found)),
        )
        return PipelineCounts(steps, 2)
    steps = (
        (N_("anchors scored"), anchors),
        (N_("class boxes above the lowest score"), candidates),
        (N_("final detections"), len(found)),
    )
    return PipelineCounts(steps, 1)


class SegmentationCounts(NamedTuple):
    """What a segmenter tells apart: ``classes`` present (background excluded), ``objects`` — connected
    regions of one class for a semantic map, masks for instances — and ``pixels`` labelled as an object."""

    classes: int
    objects: int
    pixels: int


def semantic_counts(semantic: SemanticMap) -> SegmentationCounts:
    """A class map's classes, its connected regions per class (8-connected) and its object pixels."""
    labels = semantic.labels
    present = [int(c) for c in np.unique(labels) if c != 0]
    regions = sum(ndimage.label(labels == c, structure=np.ones((3, 3)))[1] for c in present)
    return SegmentationCounts(len(present), int(regions), int(np.count_nonzero(labels)))


def instance_counts(found: Detections, threshold: float = 0.5) -> SegmentationCounts:
    """Instance masks' classes, their number and the pixels any of them covers (probability ≥ threshold)."""
    if found.masks is None or not len(found):
        return SegmentationCounts(0, 0, 0)
    covered = np.any(found.masks >= threshold, axis=0)
    return SegmentationCounts(len(np.unique(found.labels)), len(found), int(np.count_nonzero(covered)))
