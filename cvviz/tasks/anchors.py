"""Anchors (default boxes, anchor points) per pyramid level, read from the model's own generator.

A detector's anchor generator tiles every level's grid with the same few boxes (sizes × aspect ratios),
one set per location, in (row, column, anchor) order. :func:`anchor_levels` splits the generator's own
output by level and keeps the boxes of the centre location for drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class AnchorLevel:
    """One level's anchors: ``grid`` (rows, columns) of locations, ``per_location`` boxes at each,
    ``count`` = rows × columns × per_location, ``stride`` in input pixels, ``centre_boxes``
    (per_location, 4) x1 y1 x2 y2 of the centre location in the original image's pixels (for drawing),
    and ``input_boxes`` the same boxes in the model's input pixels (where sizes and ratios are defined)."""

    grid: tuple[int, int]
    per_location: int
    count: int
    stride: int
    centre_boxes: np.ndarray
    input_boxes: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        """√(area) of each anchor, in the model's input pixels."""
        widths = self.input_boxes[:, 2] - self.input_boxes[:, 0]
        heights = self.input_boxes[:, 3] - self.input_boxes[:, 1]
        return np.sqrt(np.clip(widths * heights, 0, None))

    @property
    def aspect_ratios(self) -> np.ndarray:
        """Height / width of each anchor (torchvision rounds its base anchors to whole pixels, so 0.5
        may read 0.49)."""
        widths = self.input_boxes[:, 2] - self.input_boxes[:, 0]
        heights = self.input_boxes[:, 3] - self.input_boxes[:, 1]
        return heights / np.where(widths > 0, widths, 1)


def anchor_levels(
    anchors: torch.Tensor,
    maps: list[torch.Tensor],
    per_location: list[int],
    input_size: tuple[int, int],
    original_size: tuple[int, int],
    padded_width: int | None = None,
) -> tuple[AnchorLevel, ...]:
    """Split one image's anchors (N, 4), as the model's generator made them for the feature ``maps``
    (each (1, C, H, W)) with ``per_location`` anchors at every location of each level (the generator's
    ``num_anchors_per_location()``), into levels. Strides are the generator's: the batch's width
    (``padded_width``, the image padded to a multiple of the backbone's stride) over the map's."""
    counts = [m.shape[-2] * m.shape[-1] * a for m, a in zip(maps, per_location, strict=True)]
    if sum(counts) != anchors.shape[0]:
        raise ValueError(f"{anchors.shape[0]} anchors do not tile levels of {counts} anchors")
    sy, sx = original_size[0] / input_size[0], original_size[1] / input_size[1]
    scale = torch.tensor([sx, sy, sx, sy], dtype=anchors.dtype, device=anchors.device)
    levels = []
    for tensor, level_anchors, count, each in zip(
        maps, anchors.split(counts), counts, per_location, strict=True
    ):
        rows, columns = tensor.shape[-2:]
        grid = level_anchors.view(rows, columns, each, 4)
        centre = grid[rows // 2, columns // 2].detach()
        stride = max(1, round((padded_width or input_size[1]) / columns))
        levels.append(
            AnchorLevel(
                (rows, columns), each, count, stride, (centre * scale).cpu().numpy(), centre.cpu().numpy()
            )
        )
    return tuple(levels)
