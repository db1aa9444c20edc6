"""Parameters and MACs of a task model, split into backbone, neck and head, counted on the meta device.

Parameters are assigned to a part by module name (the longest prefix the family lists wins). MACs are
counted per module (its own work, as in :mod:`cvviz.measure.complexity`) by running each part on shape-only tensors at the model's test-time input size; work whose amount
depends on the image (a two-stage detector's RoI head runs once per proposal, its mask or keypoint head
once per detection) is counted for a stated number of proposals and detections. Element-wise work,
RoIAlign, anchor generation and NMS hold no matrix product and are not counted (as in torchvision's
published ``_ops``).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.hooks import hooks_removed_on_exit
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity, LayerCost, _norms_as_identity
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


class _OwnFlops(TorchDispatchMode):
    """FLOPs by torch's own formulas (``flop_registry``), each credited to the innermost module running:
    module pre/post hooks keep a stack of qualified names, so a part can be called on its own (an RoI
    head on pooled features) and still be credited under its name in the whole model."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = [""]
        self.flops: dict[str, int] = defaultdict(int)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops[self.stack[-1]] += formula(*args, **kwargs, out_val=out)
        return out


def _run_parts(model: nn.Module, x: torch.Tensor, proposals: int, detections: int) -> None:
    """Run every part of ``model`` once on ``x`` as its forward does, the data-dependent steps (RoIAlign,
    anchors, NMS) replaced by tensors of their output shapes: ``proposals`` pooled RoIs for the box head,
    ``detections`` for the mask or keypoint head."""
    kind = architecture_of(model)
    if kind == "semantic":
        model(x)
        return
    levels = list(model.backbone(x).values())
    if kind != "two_stage":
        model.head(levels)
        return
    model.rpn.head(levels)
    roi_heads = model.roi_heads

    def pooled(pool: nn.Module, count: int) -> torch.Tensor:
        side = pool.output_size[0] if isinstance(pool.output_size, (tuple, list)) else pool.output_size
        return torch.zeros(count, levels[0].shape[1], side, side, device=x.device)

    if proposals:
        roi_heads.box_predictor(roi_heads.box_head(pooled(roi_heads.box_roi_pool, proposals)))
    for prefix in ("mask", "keypoint") if detections else ():
        pool = getattr(roi_heads, f"{prefix}_roi_pool", None)
        if pool is not None:
            features = pooled(pool, detections)
            getattr(roi_heads, f"{prefix}_predictor")(getattr(roi_heads, f"{prefix}_head")(features))


def measure_task_complexity(
    model: nn.Module, size: int, proposals: int = 0, detections: int = 0
) -> Complexity:
    """Every module's own parameters and MACs (and output shape) for one size×size image, as
    :func:`cvviz.measure.complexity.measure_complexity` gives them for a classifier (see the module
    docstring for what is run); the model's parameters decide the device (meta is free)."""
    device = next(model.parameters()).device
    counter = _OwnFlops()
    shapes: dict[str, tuple[int, ...]] = {}
    calls: dict[str, int] = defaultdict(int)

    def enter(name: str):
        def hook(module: nn.Module, inputs: tuple) -> None:
            counter.stack.append(name)

        return hook

    def leave(name: str):
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            counter.stack.pop()
            calls[name] += 1
            tensor = output[0] if isinstance(output, (tuple, list)) and output else output
            if isinstance(tensor, torch.Tensor):
                shapes[name] = tuple(tensor.shape)

        return hook

    modules = [(name, module) for name, module in model.named_modules() if name]
    shortcut = _norms_as_identity(model) if device.type == "meta" else contextlib.nullcontext()
    with hooks_removed_on_exit([]) as handles:
        for name, module in modules:
            handles.append(module.register_forward_pre_hook(enter(name)))
            handles.append(module.register_forward_hook(leave(name)))
        with torch.no_grad(), shortcut, counter:
            _run_parts(model, torch.zeros(1, 3, size, size, device=device), proposals, detections)
    rows = tuple(
        LayerCost(
            name=name,
            type=type(module).__name__,
            output_shape=shapes.get(name),
            params=sum(p.numel() for p in module.parameters(recurse=False)),
            macs=counter.flops.get(name, 0) // 2,
            depth=name.count("."),
            calls=calls.get(name, 0),
        )
        for name, module in modules
    )
    return Complexity(
        layers=rows,
        params=sum(p.numel() for p in model.parameters()),
        macs=sum(counter.flops.values()) // 2,
        input_shape=(1, 3, size, size),
    )


def split_macs(
    model: nn.Module, size: int, proposals: int, detections: int, parts: Mapping
) -> dict[str, int]:
    """MACs per part for one size×size image: every module's own MACs summed by the part it belongs to."""
    macs = dict.fromkeys(PARTS, 0)
    for row in measure_task_complexity(model, size, proposals, detections).layers:
        if row.macs:
            part = part_of(row.name, parts)
            if part is None:
                raise ValueError(f"module {row.name!r} computes but belongs to no part of {sorted(parts)}")
            macs[part] += row.macs
    return macs


def default_rois(model: nn.Module) -> tuple[int, int]:
    """(proposals, detections) a cost is counted for by default: the RPN's test-time maximum of
    proposals and no detection (what torchvision's Faster R-CNN figures count); (0, 0) for models
    without a second stage."""
    if architecture_of(model) != "two_stage":
        return 0, 0
    return int(model.rpn._post_nms_top_n["testing"]), 0


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
    if architecture_of(model) != "two_stage":
        proposals, detections = 0, 0
    elif proposals is None:
        proposals = default_rois(model)[0]
    size = spec.preprocessing.crop_size
    macs = split_macs(model, size, proposals, detections, parts)
    return TaskCost(
        tuple(PartCost(p, tuple(parts[p]), params[p], macs[p]) for p in PARTS),
        (1, 3, size, size),
        proposals,
        detections,
    )


def task_complexity(spec: ModelSpec) -> Complexity:
    """Every module's parameters and MACs of task model ``spec`` at its test-time size, counted on the
    meta device, a two-stage detector's second stage for :func:`default_rois` (the ``layers`` table and
    the ``profile`` row of a task model)."""
    model = build_on_meta(spec)
    return measure_task_complexity(model, spec.preprocessing.crop_size, *default_rois(model))
