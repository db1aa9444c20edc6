"""Grad-CAM and EigenCAM on one detection, at one level of a detector's feature pyramid.

Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391) weighs a level's channels by the
gradient of a target; for a detection the target is the ``grad-cam`` library's
``FasterRCNNBoxScoreTarget`` (Gildenblat et al., pytorch-grad-cam): the model's output box that overlaps
the chosen one (IoU above 0.5, same class), scored by its IoU plus its class score. EigenCAM (Muhammad and
Yeasin, 2020, https://arxiv.org/abs/2008.00299) is the first principal component of the level's
activations: no gradient and no target, so it is the same map for every detection — the library's own
recipe for Faster R-CNN.

A detection's score reaches only the level its box was read from: a two-stage detector pools each box
from one FPN level (the model's own ``LevelMapper``, :attr:`DetectionCam.source_level`), a one-stage one
scores it from one level's anchor; Grad-CAM at any other level is zero. The model runs whole (resize,
backbone, FPN, heads, post-processing at the thresholds given); the gradient starts at the chosen level's
output (a hook hands the rest of the model a leaf copy of it), so the backward pass runs only through the
heads and the model's parameters never get a ``.grad``. Its thresholds are restored and every hook (the
library's and this module's) removed however the run ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from cvviz.errors import CvvizError
from cvviz.hooks import hooks_removed_on_exit
from cvviz.i18n import N_, _
from cvviz.tasks.pipeline import FeatureLevel, TaskRun, architecture_of, image_tensor

CAM_METHODS = {"gradcam": N_("Grad-CAM"), "eigencam": N_("EigenCAM")}


class DetectionCamError(CvvizError, ValueError):
    """A CAM that cannot be computed for this model, level or detection."""


@dataclass(frozen=True)
class DetectionCam:
    """One CAM: ``heatmap`` (H, W) in [0, 1] at the original image's size (the library's scaling: negative
    part cut, divided by the maximum; all zeros where the target has no gradient at this level),
    ``level`` the pyramid level's index among :func:`cam_levels`, ``box`` (4,) and ``label`` the chosen
    detection, ``source_level`` the level a two-stage detector pooled that box from (None otherwise)."""

    method: str
    heatmap: np.ndarray
    level: int
    box: np.ndarray
    label: int
    source_level: int | None = None

    @property
    def empty(self) -> bool:
        return not bool(np.any(self.heatmap > 0))


def cam_levels(run: TaskRun) -> tuple[FeatureLevel, ...]:
    """The FPN levels a CAM can look at: those its top-down path produces (P2–P5 or P3–P5), not the extra
    levels pooled or strided from them; () for a model without an FPN (SSD) or a segmenter."""
    if run.architecture not in ("two_stage", "dense"):
        return ()
    return tuple(level for level in run.levels if level.module.split("[")[-1].strip("']").isdigit())


class _OneImage(nn.Module):
    """Feeds a (1, 3, H, W) batch to a torchvision detector as the list of images it takes."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> list[dict]:
        return self.detector(list(x))


@contextlib.contextmanager
def _thresholds(owner: nn.Module, score: float | None, iou: float | None) -> Iterator[None]:
    """Set the post-processing thresholds of ``owner`` (the RoI heads or a one-stage detector) for the run,
    and restore them after."""
    saved = {name: getattr(owner, name) for name in ("score_thresh", "nms_thresh")}
    try:
        if score is not None:
            owner.score_thresh = score
        if iou is not None:
            owner.nms_thresh = iou
        yield
    finally:
        for name, value in saved.items():
            setattr(owner, name, value)


def _gradient_starts_here(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    """The level's output as a leaf that requires grad: the backward pass stops at the level instead of
    running through the backbone (whose parameters need no gradient)."""
    return output.detach().requires_grad_(True)


def _source_level(model: nn.Module, box: np.ndarray, pixels: torch.Tensor) -> int | None:
    """The FPN level a two-stage detector's box head reads ``box`` (original pixels) from."""
    if architecture_of(model) != "two_stage":
        return None
    pool = model.roi_heads.box_roi_pool
    if pool.map_levels is None:  # set by the pool's first run
        return None
    with torch.no_grad():
        batch, _ = model.transform([pixels])
    height, width = batch.image_sizes[0]
    scale = torch.tensor([width / pixels.shape[-1], height / pixels.shape[-2]] * 2)
    scaled = torch.as_tensor(box, dtype=torch.float32) * scale
    return int(pool.map_levels([scaled[None].to(pixels.device)])[0])


def detection_cam(
    model: nn.Module,
    image: Image.Image,
    box: np.ndarray,
    label: int,
    level: int,
    method: str = "gradcam",
    *,
    score: float | None = None,
    iou: float | None = None,
) -> DetectionCam:
    """``method``'s map for the detection ``box`` (x1 y1 x2 y2 in the image's pixels) of class ``label``, at
    the ``level``-th FPN level (:func:`cam_levels`), the model post-processing at ``score`` and ``iou`` (its
    own when None; use the thresholds the detection was found at). Run it under ``loaded.exclusive()``."""
    from pytorch_grad_cam import EigenCAM, GradCAM
    from pytorch_grad_cam.utils.model_targets import FasterRCNNBoxScoreTarget

    if method not in CAM_METHODS:
        raise DetectionCamError(_("Unknown CAM method {method!r}.").format(method=method))
    fpn = getattr(getattr(model, "backbone", None), "fpn", None)
    if fpn is None:
        raise DetectionCamError(_("This model has no feature pyramid to look at."))
    if not 0 <= level < len(fpn.layer_blocks):
        raise DetectionCamError(
            _("The feature pyramid has levels 0 to {last}, not {level}.").format(
                last=len(fpn.layer_blocks) - 1, level=level
            )
        )
    device = next(model.parameters()).device
    pixels = image_tensor(image).to(device)
    box = np.asarray(box, dtype=np.float32)
    owner = model.roi_heads if architecture_of(model) == "two_stage" else model
    target = FasterRCNNBoxScoreTarget([int(label)], [box])
    cam_class = GradCAM if method == "gradcam" else EigenCAM
    layer = fpn.layer_blocks[level]
    gradients = torch.enable_grad() if method == "gradcam" else torch.no_grad()
    with _thresholds(owner, score, iou), gradients, hooks_removed_on_exit([]) as handles:
        if method == "gradcam":
            handles.append(layer.register_forward_hook(_gradient_starts_here))
        cam = cam_class(model=_OneImage(model), target_layers=[layer])
        try:
            heatmap = cam(input_tensor=pixels[None], targets=[target])[0]
        except RuntimeError as exc:
            if "does not require grad" not in str(exc):
                raise
            raise DetectionCamError(
                _("The model no longer finds this detection at these thresholds; choose another.")
            ) from exc
        finally:
            cam.activations_and_grads.release()
    return DetectionCam(
        method,
        np.nan_to_num(np.asarray(heatmap, dtype=np.float32)),
        level,
        box,
        int(label),
        _source_level(model, box, pixels),
    )


def pooled_level(run: TaskRun, box: np.ndarray) -> int | None:
    """The index among :func:`cam_levels` of the level a two-stage detector's box head reads ``box``
    (original pixels) from, by FPN's rule (Lin et al., 2017, eq. 1: level ⌊4 + log2(√area / 224)⌋, clamped
    to the pyramid, the area in the model's input pixels); None for other models."""
    levels = cam_levels(run)
    if run.architecture != "two_stage" or not levels:
        return None
    sy = run.input_size[0] / run.original_size[0]
    sx = run.input_size[1] / run.original_size[1]
    x1, y1, x2, y2 = (float(v) for v in box)
    area = max((x2 - x1) * sx * (y2 - y1) * sy, 1e-12)
    low = round(np.log2(levels[0].stride))
    high = round(np.log2(levels[-1].stride))
    level = int(np.floor(4 + np.log2(np.sqrt(area) / 224) + 1e-6))
    return min(max(level, low), high) - low
