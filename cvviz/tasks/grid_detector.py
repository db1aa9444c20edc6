"""A single-shot grid detector, written from the idea of YOLO (Redmon et al., "You Only Look Once: Unified,
Real-Time Object Detection", CVPR 2016), small enough to train on the CPU in seconds.

The image is divided into an S×S grid. One forward pass of a small convolutional network gives, for every
cell, B boxes, each with its centre offset in the cell, its size, and an objectness score (is there an
object whose centre falls in this cell, and does this box frame it?), plus one set of class scores per
cell. A box's confidence for a class is its objectness times the cell's class probability. Boxes below a
score threshold are dropped and the rest go through non-maximum suppression, class by class.

Training follows the paper's loss in spirit: the cell holding an object's centre is responsible for it,
and of its B boxes the one that already overlaps it most (IoU) learns its coordinates (squared error on
the centre offsets and on the square roots of width and height, weighted ×5) and objectness 1; every other
box learns objectness 0 (weighted ×0.5). Class scores learn by cross-entropy in cells that hold an object.
Objectness is learned with binary cross-entropy on logits rather than the paper's squared error, which
trains faster at this size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from cvviz.tasks.boxes import batched_nms, box_iou

GRID = 8
"""S: the grid's cells per side (a 64-pixel scene has 8-pixel cells)."""
BOXES = 2
"""B: boxes each cell predicts."""
COORD_WEIGHT = 5.0
NO_OBJECT_WEIGHT = 0.5
DEFAULT_SCORE = 0.3
"""The score threshold the page starts from (mAP is measured from :data:`EVAL_SCORE` up)."""
DEFAULT_IOU = 0.5
EVAL_SCORE = 0.01
"""Detections scored for mAP: every box above this confidence (mAP ranks them itself)."""


def _conv(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True)
    )


class GridDetector(nn.Module):
    """(N, 1, H, W) images → (N, S, S, B·5 + C) raw outputs: for each cell, B × (x, y, √w, √h, objectness)
    as logits, then C class logits. H and W are S × 8 (three 2× poolings, then the grid)."""

    def __init__(self, classes: int = 10, grid: int = GRID, boxes: int = BOXES, width: int = 12) -> None:
        super().__init__()
        self.classes, self.grid, self.boxes = classes, grid, boxes
        self.backbone = nn.Sequential(
            _conv(1, width),
            nn.MaxPool2d(2),
            _conv(width, 2 * width),
            nn.MaxPool2d(2),
            _conv(2 * width, 4 * width),
            nn.MaxPool2d(2),
            _conv(4 * width, 4 * width),
            _conv(4 * width, 4 * width),
        )
        self.head = nn.Conv2d(4 * width, boxes * 5 + classes, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.backbone(images)
        if features.shape[-1] != self.grid or features.shape[-2] != self.grid:
            raise ValueError(f"a {self.grid}×{self.grid} grid needs {self.grid * 8}-pixel images")
        return self.head(features).permute(0, 2, 3, 1)


@dataclass(frozen=True)
class GridOutputs:
    """A grid detector's decoded predictions for N images (numpy, ready to post-process again and again).

    ``boxes`` (N, S, S, B, 4) as (x1, y1, x2, y2) pixels, ``objectness`` (N, S, S, B) in [0, 1],
    ``class_probs`` (N, S, S, C) (each cell's softmax), ``image_size`` in pixels."""

    boxes: np.ndarray
    objectness: np.ndarray
    class_probs: np.ndarray
    image_size: int

    @property
    def grid(self) -> int:
        return self.boxes.shape[1]

    def __len__(self) -> int:
        return self.boxes.shape[0]


def decode(raw: torch.Tensor, image_size: int, boxes: int = BOXES) -> tuple[torch.Tensor, ...]:
    """Raw outputs (N, S, S, B·5 + C) → boxes (N, S, S, B, 4) in pixels, objectness logits (N, S, S, B),
    class logits (N, S, S, C). A box's centre is its cell's corner plus a sigmoid offset of up to one
    cell; its width and height are the image size times the square of a sigmoid (the paper regresses
    square roots so that an error counts more on a small box than on a large one)."""
    count, grid = raw.shape[0], raw.shape[1]
    per_box = raw[..., : boxes * 5].reshape(count, grid, grid, boxes, 5)
    cell = image_size / grid
    rows = torch.arange(grid, dtype=raw.dtype).view(1, grid, 1, 1)
    cols = torch.arange(grid, dtype=raw.dtype).view(1, 1, grid, 1)
    centre_x = (cols + torch.sigmoid(per_box[..., 0])) * cell
    centre_y = (rows + torch.sigmoid(per_box[..., 1])) * cell
    width = torch.sigmoid(per_box[..., 2]) ** 2 * image_size
    height = torch.sigmoid(per_box[..., 3]) ** 2 * image_size
    decoded = torch.stack(
        [centre_x - width / 2, centre_y - height / 2, centre_x + width / 2, centre_y + height / 2], dim=-1
    )
    return decoded, per_box[..., 4], raw[..., boxes * 5 :]


@torch.inference_mode()
def predict(model: GridDetector, images: torch.Tensor) -> GridOutputs:
    """Run the detector (in eval mode; restored after) on (N, 1, H, W) images and decode its grid."""
    was_training = model.training
    model.eval()
    try:
        raw = model(images)
    finally:
        model.train(was_training)
    boxes, objectness, classes = decode(raw, images.shape[-1], model.boxes)
    return GridOutputs(
        boxes.numpy(),
        torch.sigmoid(objectness).numpy(),
        torch.softmax(classes, dim=-1).numpy(),
        int(images.shape[-1]),
    )


@dataclass(frozen=True)
class Candidates:
    """Every box of one image's grid with its best class: ``boxes`` (S·S·B, 4), ``scores`` (objectness ×
    the class's probability), ``labels``, and ``cells`` (S·S·B, 3): each box's (row, column, box) in the
    grid."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    cells: np.ndarray


def candidates(outputs: GridOutputs, index: int) -> Candidates:
    """Image ``index``'s S·S·B boxes, each with its class-specific confidence for its cell's best class."""
    grid, boxes = outputs.grid, outputs.boxes.shape[3]
    probs = outputs.class_probs[index]
    labels = np.repeat(probs.argmax(axis=-1)[..., None], boxes, axis=-1)
    scores = outputs.objectness[index] * np.repeat(probs.max(axis=-1)[..., None], boxes, axis=-1)
    cells = np.stack(np.meshgrid(np.arange(grid), np.arange(grid), np.arange(boxes), indexing="ij"), -1)
    return Candidates(
        outputs.boxes[index].reshape(-1, 4),
        scores.reshape(-1),
        labels.reshape(-1),
        cells.reshape(-1, 3),
    )


@dataclass(frozen=True)
class Detections:
    """The final boxes of one image: ``boxes`` (K, 4), ``scores`` (K,), ``labels`` (K,), highest score
    first; ``above_threshold`` counts the boxes that passed the score threshold, before NMS, and
    ``indices`` (K,) are the kept boxes' places among :func:`candidates`."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    above_threshold: int
    indices: np.ndarray


def postprocess(outputs: GridOutputs, index: int, score_threshold: float, iou_threshold: float) -> Detections:
    """Image ``index``'s detections: its candidates at or above ``score_threshold``, then NMS within each
    class at ``iou_threshold``. Cheap: the network is not run again."""
    found = candidates(outputs, index)
    above = np.flatnonzero(found.scores >= score_threshold)
    kept = above[
        batched_nms(found.boxes[above], found.scores[above], found.labels[above], iou_threshold).numpy()
    ]
    kept = kept.astype(np.int64).reshape(-1)
    return Detections(
        np.clip(found.boxes[kept], 0, outputs.image_size).reshape(-1, 4),
        found.scores[kept],
        found.labels[kept],
        len(above),
        kept,
    )


def detection_loss(
    raw: torch.Tensor, targets: list[tuple[np.ndarray, np.ndarray]], image_size: int, boxes: int = BOXES
) -> torch.Tensor:
    """The training loss of a batch (see the module docstring), per image.

    ``targets`` holds one ``(boxes (K, 4), labels (K,))`` per image, boxes in pixels (x1, y1, x2, y2)."""
    count, grid = raw.shape[0], raw.shape[1]
    cell = image_size / grid
    decoded, objectness, class_logits = decode(raw, image_size, boxes)
    per_box = raw[..., : boxes * 5].reshape(count, grid, grid, boxes, 5)
    where = [(image, box, int(label)) for image, (bs, ls) in enumerate(targets) for box, label in zip(bs, ls)]
    wanted = torch.zeros(count, grid, grid, boxes)
    if not where:
        return (
            NO_OBJECT_WEIGHT * F.binary_cross_entropy_with_logits(objectness, wanted, reduction="sum") / count
        )
    images = torch.tensor([image for image, _box, _label in where])
    truth = torch.as_tensor(np.array([box for _image, box, _label in where]), dtype=raw.dtype)
    labels = torch.tensor([label for _image, _box, label in where])
    centre = (truth[:, :2] + truth[:, 2:]) / 2
    size = (truth[:, 2:] - truth[:, :2]).clamp(min=1e-6)
    col = (centre[:, 0] / cell).long().clamp(0, grid - 1)
    row = (centre[:, 1] / cell).long().clamp(0, grid - 1)
    with torch.no_grad():
        overlap = torch.stack(
            [box_iou(decoded[images[k], row[k], col[k]], truth[k : k + 1])[:, 0] for k in range(len(where))]
        )
    chosen = overlap.argmax(dim=1)
    wanted[images, row, col, chosen] = 1.0
    responsible = per_box[images, row, col, chosen]
    offset = torch.stack([centre[:, 0] / cell - col, centre[:, 1] / cell - row], dim=1)
    root_size = (size / image_size).sqrt()
    coord = F.mse_loss(torch.sigmoid(responsible[:, :2]), offset, reduction="sum") + F.mse_loss(
        torch.sigmoid(responsible[:, 2:4]), root_size, reduction="sum"
    )
    weights = torch.where(wanted > 0, 1.0, NO_OBJECT_WEIGHT)
    objects = F.binary_cross_entropy_with_logits(objectness, wanted, weight=weights, reduction="sum")
    classes = F.cross_entropy(class_logits[images, row, col], labels, reduction="sum")
    return (COORD_WEIGHT * coord + objects + classes) / count
