"""What the detection lab shows of a trained model, as plain numpy data the page can redraw at will.

The network runs once over the held-out scenes (:func:`detector_view`, :func:`segmenter_view`); every
slider after that (score threshold, IoU threshold, the cell, the NMS step) only re-runs post-processing
on the stored grid, never the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvviz.tasks.boxes import NmsStep, nms_steps
from cvviz.tasks.grid_detector import GridDetector, GridOutputs, candidates, postprocess
from cvviz.tasks.lab import (
    SavedTaskModel,
    TaskResult,
    detection_map,
    detector_outputs,
    model_from_result,
    segment,
)
from cvviz.tasks.metrics import AveragePrecision, SegmentationScore, mean_average_precision, mean_iou
from cvviz.tasks.synthetic import SEGMENT_CLASSES, Scene, held_out_scenes
from cvviz.tasks.unet import SkipLevel, UNet, skip_levels


@dataclass(frozen=True)
class DetectorView:
    """A trained grid detector's decoded grids over the held-out ``scenes``."""

    outputs: GridOutputs
    scenes: tuple[Scene, ...]

    @property
    def grid(self) -> int:
        return self.outputs.grid

    @property
    def boxes_per_cell(self) -> int:
        return self.outputs.boxes.shape[3]


def detector_view(
    result: TaskResult | SavedTaskModel, scenes: tuple[Scene, ...] | None = None
) -> DetectorView:
    """Run the trained detector once over ``scenes`` (default: the held-out scenes)."""
    scenes = scenes if scenes is not None else held_out_scenes()
    model = model_from_result(result)
    assert isinstance(model, GridDetector)
    return DetectorView(detector_outputs(model, scenes), scenes)


@dataclass(frozen=True)
class CellPrediction:
    """One cell's B boxes (B, 4) with their objectness (B,), and the cell's class probabilities (C,)."""

    boxes: np.ndarray
    objectness: np.ndarray
    class_probs: np.ndarray

    @property
    def confidences(self) -> np.ndarray:
        """(B,) each box's confidence for the cell's best class (objectness × its probability)."""
        return self.objectness * float(self.class_probs.max())


def cell_prediction(view: DetectorView, index: int, row: int, col: int) -> CellPrediction:
    outputs = view.outputs
    return CellPrediction(
        outputs.boxes[index, row, col],
        outputs.objectness[index, row, col],
        outputs.class_probs[index, row, col],
    )


@dataclass(frozen=True)
class ScoredBoxes:
    """Boxes with their confidences, classes and grid cells (row, column, box): a page draws them."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    cells: np.ndarray


def boxes_above(view: DetectorView, index: int, score_threshold: float) -> ScoredBoxes:
    """Every grid box of scene ``index`` whose confidence reaches ``score_threshold``, before NMS."""
    found = candidates(view.outputs, index)
    keep = found.scores >= score_threshold
    return ScoredBoxes(found.boxes[keep], found.scores[keep], found.labels[keep], found.cells[keep])


@dataclass(frozen=True)
class ClassNms:
    """NMS stepped for one class of one scene: that class's boxes above the score threshold (``boxes``,
    ``scores``) and every step (indices into them)."""

    label: int
    boxes: np.ndarray
    scores: np.ndarray
    steps: tuple[NmsStep, ...]


def class_nms(
    view: DetectorView, index: int, label: int, score_threshold: float, iou_threshold: float
) -> ClassNms:
    above = boxes_above(view, index, score_threshold)
    mine = above.labels == label
    boxes, scores = above.boxes[mine], above.scores[mine]
    return ClassNms(label, boxes, scores, nms_steps(boxes, scores, iou_threshold))


@dataclass(frozen=True)
class FinalBoxes:
    """Scene ``index``'s final detections, the counts of each stage, and AP@0.5 at these thresholds on
    this scene."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    grid_boxes: int
    above_threshold: int
    scene_ap: AveragePrecision


def final_boxes(view: DetectorView, index: int, score_threshold: float, iou_threshold: float) -> FinalBoxes:
    found = postprocess(view.outputs, index, score_threshold, iou_threshold)
    scene = view.scenes[index]
    return FinalBoxes(
        found.boxes,
        found.scores,
        found.labels,
        view.outputs.boxes[index].reshape(-1, 4).shape[0],
        found.above_threshold,
        mean_average_precision([(found.boxes, found.scores, found.labels)], [(scene.boxes, scene.labels)]),
    )


def held_out_map(view: DetectorView, score_threshold: float, iou_threshold: float) -> float:
    """mAP@0.5 over every held-out scene with these thresholds (post-processing only)."""
    return detection_map(view.outputs, view.scenes, score_threshold, iou_threshold)


@dataclass(frozen=True)
class SegmenterView:
    """A trained U-Net's label maps (N, H, W) over the held-out ``scenes``, its score over all of them,
    and its levels' shapes."""

    predicted: np.ndarray
    scenes: tuple[Scene, ...]
    score: SegmentationScore
    levels: tuple[SkipLevel, ...]

    def scene_score(self, index: int) -> SegmentationScore:
        return mean_iou(self.predicted[index], self.scenes[index].semantic, len(SEGMENT_CLASSES))


def segmenter_view(
    result: TaskResult | SavedTaskModel, scenes: tuple[Scene, ...] | None = None
) -> SegmenterView:
    """Run the trained U-Net once over ``scenes`` (default: the held-out scenes)."""
    scenes = scenes if scenes is not None else held_out_scenes()
    model = model_from_result(result)
    assert isinstance(model, UNet)
    predicted = segment(model, scenes)
    truth = np.stack([scene.semantic for scene in scenes])
    size = scenes[0].image.shape[0]
    return SegmenterView(
        predicted, scenes, mean_iou(predicted, truth, len(SEGMENT_CLASSES)), skip_levels(model, size)
    )
