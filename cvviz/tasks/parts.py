"""Parameters and MACs of a task model, split into backbone, neck and head, counted on the meta device.

Parameters are assigned to a part by module name (the longest prefix the family lists wins). MACs are
counted by running each part on shape-only tensors at the model's test-time input size; work whose amount
depends on the image (a two-stage detector's RoI head runs once per proposal, its mask or keypoint head
once per detection) is counted for a stated number of proposals and detections. Element-wise work,
RoIAlign, anchor generation and NMS hold no matrix product and are not counted (as in torchvision's
published ``_ops``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.i18n import N_
from cvviz.measure.complexity import _norms_as_identity, _TotalFlops
from cvviz.models.build import build_on_meta
from cvviz.tasks.pipeline import architecture_of

PARTS: tuple[str, ...] = ("backbone", "neck", "head")
PART_LABELS: Mapping[str, str] = {"backbone": N_("backbone"), "neck": N_("neck"), "head": N_("head")}


@dataclass(frozen=True)
class PartCost:
    """One part's parameters and MACs; ``modules`` are the module names that make it up."""

    part: str
    modules: tuple[str, ...]
    params: int
    macs: int


@dataclass(frozen=True)
class TaskCost:
    """A task model's cost split into parts, at ``input_shape`` (1, C, H, W).

    ``proposals``/``detections``: how many RoIs the second stage (and its mask or keypoint head) was
    counted for; both 0 for one-stage detectors and segmenters, whose cost does not depend on them.
    """

    parts: tuple[PartCost, ...]
    input_shape: tuple[int, ...]
    proposals: int = 0
    detections: int = 0

    @property
    def params(self) -> int:
        return sum(p.params for p in self.parts)

    @property
    def macs(self) -> int:
        return sum(p.macs for p in self.parts)

    def part(self, name: str) -> PartCost:
        return next(p for p in self.parts if p.part == name)


def part_of(name: str, parts: Mapping[str, tuple[str, ...]]) -> str | None:
    """The part whose longest listed prefix names the parameter or module ``name`` (None if none)."""
    best, length = None, -1
    for part, prefixes in parts.items():
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > length:
                best, length = part, len(prefix)
    return best


def split_params(model: nn.Module, parts: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """Parameters per part; a parameter outside every part raises (the parts must cover the model)."""
    counts = dict.fromkeys(PARTS, 0)
    for name, parameter in model.named_parameters():
        part = part_of(name, parts)
        if part is None:
            raise ValueError(f"parameter {name!r} belongs to no part of {sorted(parts)}")
        counts[part] += parameter.numel()
    return counts


def _macs(run: Callable[[], object]) -> int:
    with torch.no_grad(), _TotalFlops() as counter:
        run()
    return counter.flops // 2


def split_macs(model: nn.Module, size: int, proposals: int, detections: int) -> dict[str, int]:
    """MACs per part for one size×size image (the model's parameters decide the device: meta is free)."""
    device = next(model.parameters()).device
    x = torch.zeros(1, 3, size, size, device=device)
    kind = architecture_of(model)
    macs = dict.fromkeys(PARTS, 0)
    shortcut = _norms_as_identity(model) if device.type == "meta" else contextlib.nullcontext()
    with shortcut:
        if kind == "semantic":
            features = model.backbone(x)
            macs["backbone"] = _macs(lambda: model.backbone(x))
            total = _macs(lambda: model(x))
            if isinstance(model.classifier, nn.Sequential) and type(model.classifier[0]).__name__ == "ASPP":
                macs["neck"] = _macs(lambda: model.classifier[0](features["out"]))
            macs["head"] = total - macs["backbone"] - macs["neck"]
        elif kind == "ssd":
            macs["backbone"] = _macs(lambda: model.backbone.features(x))
            levels = model.backbone(x)
            macs["neck"] = _macs(lambda: model.backbone(x)) - macs["backbone"]
            macs["head"] = _macs(lambda: model.head(list(levels.values())))
        else:
            stages = model.backbone.body(x)
            levels = model.backbone.fpn(stages)
            macs["backbone"] = _macs(lambda: model.backbone.body(x))
            macs["neck"] = _macs(lambda: model.backbone.fpn(stages))
            features = list(levels.values())
            if kind == "dense":
                macs["head"] = _macs(lambda: model.head(features))
            else:
                macs["head"] = _macs(lambda: model.rpn.head(features)) + _roi_macs(
                    model.roi_heads, features[0].shape[1], device, proposals, detections
                )
    return macs


def _roi_macs(roi_heads: nn.Module, channels: int, device, proposals: int, detections: int) -> int:
    """The second stage's MACs for ``proposals`` boxes (box head) and ``detections`` (mask/keypoint head),
    run on pooled features of the poolers' own output size (RoIAlign itself holds no matrix product)."""
    total = 0

    def pooled(pool: nn.Module, count: int) -> torch.Tensor:
        side = pool.output_size[0] if isinstance(pool.output_size, (tuple, list)) else pool.output_size
        return torch.zeros(count, channels, side, side, device=device)

    if proposals:
        features = pooled(roi_heads.box_roi_pool, proposals)
        total += _macs(lambda: roi_heads.box_predictor(roi_heads.box_head(features)))
    if detections:
        for prefix in ("mask", "keypoint"):
            pool = getattr(roi_heads, f"{prefix}_roi_pool", None)
            if pool is None:
                continue
            head, predictor = getattr(roi_heads, f"{prefix}_head"), getattr(roi_heads, f"{prefix}_predictor")
            features = pooled(pool, detections)
            total += _macs(partial(_head_then_predictor, head, predictor, features))
    return total


def _head_then_predictor(head: nn.Module, predictor: nn.Module, features: torch.Tensor) -> torch.Tensor:
    return predictor(head(features))


def task_cost(
    spec: ModelSpec,
    model: nn.Module | None = None,
    *,
    proposals: int | None = None,
    detections: int = 0,
) -> TaskCost:
    """``spec``'s parameters and MACs per part, from ``model`` (built on meta when not given).

    ``proposals`` defaults to the RPN's test-time maximum (``post_nms_top_n``) for a two-stage detector.
    """
    model = build_on_meta(spec) if model is None else model
    parts = get_family(spec).parts(spec)
    params = split_params(model, parts)
    kind = architecture_of(model)
    if kind != "two_stage":
        proposals, detections = 0, 0
    elif proposals is None:
        proposals = int(model.rpn._post_nms_top_n["testing"])
    size = spec.preprocessing.crop_size
    macs = split_macs(model, size, proposals, detections)
    return TaskCost(
        tuple(PartCost(p, tuple(parts[p]), params[p], macs[p]) for p in PARTS),
        (1, 3, size, size),
        proposals,
        detections,
    )
