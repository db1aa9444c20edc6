"""One image walked through a task model step by step: backbone stages, neck levels, head, post-processing.

:func:`run_task` runs the model's own modules in the order its ``forward`` does, keeping each step's output:
the backbone's stage outputs (C2–C5), the neck's levels (P2–P6 or P3–P7, SSD's extra maps, DeepLabV3's
ASPP), the head's raw outputs, a two-stage detector's proposals before and after NMS, and the final
detections or class map. The head's raw outputs, its boxes decoded before NMS and (for Mask and Keypoint
R-CNN) the pyramid levels their heads read are kept on the result (:class:`HeadOutputs`), so that
:func:`cvviz.tasks.postprocess.select` re-applies other score and IoU thresholds, masks and joints
included, without running the backbone or the neck again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.models.detection.generalized_rcnn import GeneralizedRCNN
from torchvision.models.detection.rpn import concat_box_prediction_layers
from torchvision.models.detection.ssd import SSD
from torchvision.transforms.functional import pil_to_tensor

from cvviz.catalog.schema import ModelSpec
from cvviz.hooks import capture_outputs

Architecture = Literal["two_stage", "dense", "ssd", "semantic"]
"""``two_stage``: an RPN then RoI heads (Faster/Mask/Keypoint R-CNN); ``dense``: one head on every FPN
level (RetinaNet, FCOS); ``ssd``: default boxes on a backbone's own maps; ``semantic``: a class per pixel."""

GRID_CHANNELS = 4
"""How many channels of each feature map a result keeps for drawing (with the mean over all channels)."""


def architecture_of(model: nn.Module) -> Architecture:
    """Which pipeline ``model`` runs, read from the model in hand."""
    if isinstance(model, GeneralizedRCNN):
        return "two_stage"
    if isinstance(model, SSD):
        return "ssd"
    if hasattr(model, "anchor_generator") and hasattr(model, "head"):
        return "dense"
    if hasattr(model, "classifier") and hasattr(model, "backbone"):
        return "semantic"
    raise TypeError(f"{type(model).__name__} is not a torchvision detection or segmentation model")


@dataclass(frozen=True)
class FeatureLevel:
    """One feature map of the pipeline: ``name`` as a reader calls it (``C4``, ``P5``, ``pool``, ``ASPP``),
    ``module`` where it comes from, ``shape`` (C, H, W), ``stride`` in input pixels (input side / map side),
    ``mean`` the (H, W) mean over channels and ``channels`` the first few channels, (k, H, W)."""

    name: str
    module: str
    shape: tuple[int, int, int]
    stride: int
    mean: np.ndarray
    channels: np.ndarray


@dataclass(frozen=True)
class Detections:
    """Final detections in the original image's pixels: ``boxes`` (N, 4) x1 y1 x2 y2, ``scores`` (N,),
    ``labels`` (N,) category indices; ``masks`` (N, H, W) probabilities for instance segmentation;
    ``keypoints`` (N, K, 3) x, y, visibility and ``keypoint_scores`` (N, K) for keypoint models;
    ``index`` (N,) each detection's place among the head's cached candidates (when selected from them)."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    keypoint_scores: np.ndarray | None = None
    index: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)

    def above(self, score: float) -> Detections:
        """The detections scoring more than ``score`` (the models' own strict test), best first."""
        return self.subset(np.flatnonzero(self.scores > score))

    def subset(self, keep: np.ndarray) -> Detections:
        """The detections at indices ``keep``, with their masks and keypoints."""

        def pick(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else array[keep]

        return Detections(
            self.boxes[keep],
            self.scores[keep],
            self.labels[keep],
            pick(self.masks),
            pick(self.keypoints),
            pick(self.keypoint_scores),
            pick(self.index),
        )


@dataclass(frozen=True)
class HeadOutputs:
    """What post-processing reads, detached on the CPU: the head's raw tensors, the anchors or
    proposals they refer to, and the sizes needed to map boxes back to the image. ``settings`` are the
    model's own post-processing attributes (box coder, thresholds, top-k) it was run with.

    ``candidates`` are the boxes decoded before NMS (:class:`cvviz.tasks.postprocess.Candidates`);
    ``features`` the pyramid levels a mask or keypoint head reads (None for models without one), on the
    model's device; ``extras`` remembers that head's output for each candidate it has run on (filled by
    :func:`cvviz.tasks.postprocess.second_stage`)."""

    architecture: Architecture
    tensors: dict
    image_size: tuple[int, int]
    original_size: tuple[int, int]
    settings: dict = field(default_factory=dict)
    candidates: object | None = None
    features: dict | None = None
    extras: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class SemanticMap:
    """A semantic segmentation: ``labels`` (H, W) class per pixel and ``confidence`` (H, W) its softmax
    probability, at the original image's size; ``output_shape`` (K, h, w) is the head's own output before
    upsampling, ``output_stride`` its stride, and ``upsampling`` how it becomes the image's size."""

    labels: np.ndarray
    confidence: np.ndarray
    output_shape: tuple[int, int, int]
    output_stride: int
    upsampling: str

    def class_pixels(self) -> list[tuple[int, int]]:
        """(class index, pixel count) of every class present, most pixels first."""
        counts = np.bincount(self.labels.ravel(), minlength=self.output_shape[0])
        return [(int(i), int(counts[i])) for i in np.argsort(-counts, kind="stable") if counts[i]]


@dataclass(frozen=True)
class TaskRun:
    """Everything one image produced, step by step (see the module docstring).

    ``input_size`` (H, W) is the image as the model computed on it (after its own resize);
    ``proposals_before_nms`` / ``proposals`` are a two-stage detector's RPN boxes (K, 4) in the original
    image's pixels, before and after the RPN's NMS (None otherwise); ``detections`` are at the model's own
    thresholds; ``semantic`` is set for segmentation models.
    """

    model: str
    architecture: Architecture
    input_size: tuple[int, int]
    original_size: tuple[int, int]
    stages: tuple[FeatureLevel, ...]
    levels: tuple[FeatureLevel, ...]
    head: HeadOutputs | None = None
    detections: Detections | None = None
    proposals_before_nms: np.ndarray | None = None
    proposals: np.ndarray | None = None
    semantic: SemanticMap | None = None
    anchors: tuple = ()


def _level(name: str, module: str, tensor: torch.Tensor, input_side: int) -> FeatureLevel:
    fmap = tensor[0].detach().float().cpu()
    stride = max(1, round(input_side / fmap.shape[-1]))
    return FeatureLevel(
        name,
        module,
        tuple(fmap.shape),
        stride,
        fmap.mean(0).numpy(),
        fmap[:GRID_CHANNELS].numpy(),
    )


def stride_name(prefix: str, stride: int) -> str:
    """``C4``/``P4`` for a map at stride 16: the level is log2 of its stride."""
    return f"{prefix}{round(math.log2(stride))}" if stride > 0 else prefix


def image_tensor(image: Image.Image) -> torch.Tensor:
    """(3, H, W) float pixels in [0, 1], as torchvision's detectors take them."""
    return pil_to_tensor(image.convert("RGB")).float().div_(255)


def _stage_levels(spec: ModelSpec, captured: dict, input_side: int) -> tuple[FeatureLevel, ...]:
    """The backbone's stage outputs, named by position with the last one ``C5`` (a dilated backbone keeps
    its last stages at one stride, so names by stride would repeat; the stride is shown beside)."""
    found = [module for module in spec.stages if module in captured]
    return tuple(
        _level(f"C{5 - (len(found) - 1 - i)}", module, captured[module], input_side)
        for i, module in enumerate(found)
    )


def _named_levels(features: dict, prefix: str, input_side: int, module: str) -> tuple[FeatureLevel, ...]:
    """The neck's levels: ``P3``… by stride for an FPN (``pool`` for its max-pooled extra level); SSD's
    maps, whose strides are not powers of two, numbered in order (``S1``…); an FPN over stages of one
    stride (MobileNetV3's) by torchvision's own level keys (``P·0``…), since names by stride would repeat."""
    levels = [_level(str(key), f"{module}[{key!r}]", tensor, input_side) for key, tensor in features.items()]
    by_stride = [lv.name if lv.name == "pool" else stride_name(prefix, lv.stride) for lv in levels]
    if prefix == "S":
        names = [f"S{i}" for i in range(1, len(levels) + 1)]
    elif len(set(by_stride)) == len(by_stride):
        names = by_stride
    else:
        names = [lv.name if lv.name == "pool" else f"{prefix}·{lv.name}" for lv in levels]
    return tuple(replace(level, name=name) for level, name in zip(levels, names, strict=True))


def _settings(owner: nn.Module, names: tuple[str, ...]) -> dict:
    return {name: getattr(owner, name) for name in names if hasattr(owner, name)}


_POSTPROCESS_ATTRIBUTES = ("box_coder", "score_thresh", "nms_thresh", "detections_per_img", "topk_candidates")


def run_task(spec: ModelSpec, model: nn.Module, image: Image.Image) -> TaskRun:
    """Run ``image`` through ``model`` (``spec``'s architecture) step by step; no gradients are kept.

    Call it under ``with loaded.exclusive() as model:`` for a shared model: hooks capture the stages.
    """
    from cvviz.tasks.anchors import anchor_levels
    from cvviz.tasks.postprocess import head_candidates, second_stage, select

    kind = architecture_of(model)
    device = next(model.parameters()).device
    pixels = image_tensor(image).to(device)
    original = (pixels.shape[-2], pixels.shape[-1])
    with torch.no_grad(), capture_outputs(model, spec.stages) as captured:
        if kind == "semantic":
            return _run_semantic(spec, model, pixels, captured)
        batch, _ = model.transform([pixels])
        input_size = tuple(int(s) for s in batch.image_sizes[0])
        side = batch.tensors.shape[-1]
        features = model.backbone(batch.tensors)
    stages = _stage_levels(spec, captured, side)
    prefix = "P" if kind != "ssd" else "S"
    levels = _named_levels(features, prefix, side, "backbone" if kind == "ssd" else "backbone.fpn")
    maps = list(features.values())
    generator = model.rpn.anchor_generator if kind == "two_stage" else model.anchor_generator
    with torch.no_grad():
        anchors_all = generator(batch, maps)
    anchors = anchor_levels(
        anchors_all[0], maps, list(generator.num_anchors_per_location()), input_size, original, side
    )
    proposals_before = proposals_after = None
    with torch.no_grad():
        if kind == "two_stage":
            tensors, proposals_before, proposals_after = _run_two_stage(
                model, batch, features, maps, anchors_all
            )
            settings = _settings(model.roi_heads, _POSTPROCESS_ATTRIBUTES)
        else:
            outputs = model.head(maps)
            tensors = {k: v.detach().cpu() for k, v in outputs.items()}
            tensors["anchors"] = anchors_all[0].detach().cpu()
            tensors["anchors_per_level"] = [a.count for a in anchors]
            settings = _settings(model, _POSTPROCESS_ATTRIBUTES)
    head_outputs = HeadOutputs(kind, tensors, input_size, original, settings)
    head_outputs = replace(
        head_outputs,
        candidates=head_candidates(head_outputs),
        features=_second_stage_levels(model, features) if kind == "two_stage" else None,
    )
    detections = select(head_outputs)
    if head_outputs.features is not None:
        detections = second_stage(head_outputs, detections, model.roi_heads)
    scale = _scale(input_size, original)
    return TaskRun(
        spec.name,
        kind,
        input_size,
        original,
        stages,
        levels,
        head_outputs,
        detections,
        None if proposals_before is None else proposals_before * scale,
        None if proposals_after is None else proposals_after * scale,
        None,
        anchors,
    )


def _scale(input_size: tuple[int, int], original: tuple[int, int]) -> np.ndarray:
    """x, y, x, y factors from the model's input back to the original image."""
    sy, sx = original[0] / input_size[0], original[1] / input_size[1]
    return np.array([sx, sy, sx, sy], dtype=np.float32)


def _run_two_stage(model, batch, features, maps, anchors):
    """The RPN (top-k per level, then its NMS) on the generator's ``anchors`` and the box head's raw
    outputs for the kept proposals, as ``RegionProposalNetwork.forward`` and ``RoIHeads.forward`` run."""
    rpn = model.rpn
    objectness, deltas = rpn.head(maps)
    per_level = [o[0].numel() for o in objectness]
    objectness, deltas = concat_box_prediction_layers(objectness, deltas)
    decoded = rpn.box_coder.decode(deltas.detach(), anchors).view(1, -1, 4)
    top = rpn._get_top_n_idx(objectness.detach().view(1, -1), per_level)
    before = decoded[0, top[0]]
    height, width = batch.image_sizes[0]
    before = before.clone()
    before[:, 0::2] = before[:, 0::2].clamp(0, width)
    before[:, 1::2] = before[:, 1::2].clamp(0, height)
    boxes, _ = rpn.filter_proposals(decoded, objectness, batch.image_sizes, per_level)
    roi = model.roi_heads
    pooled = roi.box_roi_pool(features, boxes, batch.image_sizes)
    class_logits, box_regression = roi.box_predictor(roi.box_head(pooled))
    head = {
        "class_logits": class_logits.cpu(),
        "box_regression": box_regression.cpu(),
        "proposals": boxes[0].cpu(),
    }
    return head, before.cpu().numpy(), boxes[0].cpu().numpy()


def _second_stage_levels(model: nn.Module, features: dict) -> dict | None:
    """The pyramid levels Mask R-CNN's or Keypoint R-CNN's RoI pooling reads (None without such a head)."""
    roi = model.roi_heads
    pools = [pool for pool in (roi.mask_roi_pool, roi.keypoint_roi_pool) if pool is not None]
    if not pools:
        return None
    names = {name for pool in pools for name in pool.featmap_names}
    return {name: level.detach() for name, level in features.items() if name in names}


def _run_semantic(spec: ModelSpec, model: nn.Module, pixels: torch.Tensor, captured: dict) -> TaskRun:
    """Resize the shorter side to the preset's size, normalise, then backbone → (ASPP →) head → upsample."""
    pre = spec.preprocessing
    height, width = pixels.shape[-2:]
    factor = pre.resize_size / min(height, width)
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    x = F.interpolate(pixels[None], size=size, mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(pre.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    with capture_outputs(model, _neck_modules(model)) as neck:
        features = model.backbone(x)
        logits = model.classifier(features) if _takes_dict(model) else model.classifier(features["out"])
    stages = _stage_levels(spec, captured, size[1])
    levels = tuple(_level("ASPP", name, tensor, size[1]) for name, tensor in neck.items())
    output_stride = max(1, round(size[1] / logits.shape[-1]))
    upsampled = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
    probabilities = upsampled.softmax(1)[0]
    confidence, labels = probabilities.max(0)
    semantic = SemanticMap(
        labels.cpu().numpy().astype(np.int64),
        confidence.cpu().numpy(),
        tuple(logits.shape[1:]),
        output_stride,
        "bilinear",
    )
    return TaskRun(spec.name, "semantic", size, (height, width), stages, levels, semantic=semantic)


def _neck_modules(model: nn.Module) -> list[str]:
    classifier = model.classifier
    if isinstance(classifier, nn.Sequential) and type(classifier[0]).__name__ == "ASPP":
        return ["classifier.0"]
    return []


def _takes_dict(model: nn.Module) -> bool:
    """LR-ASPP's head reads two backbone maps (a dict); FCN's and DeepLabV3's read ``out``."""
    return type(model.classifier).__name__ == "LRASPPHead"


def encode_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed run-length encoding of a binary (H, W) mask: ``{"size": [H, W], "counts": […]}``,
    runs in column-major order starting with a run of zeros."""
    flat = np.asarray(mask, dtype=bool).reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(c) for c in counts]}


def decode_rle(rle: dict) -> np.ndarray:
    """The (H, W) boolean mask of :func:`encode_rle`'s encoding."""
    height, width = rle["size"]
    values = np.zeros(len(rle["counts"]), dtype=bool)
    values[1::2] = True
    return np.repeat(values, rle["counts"]).reshape((height, width), order="F")
