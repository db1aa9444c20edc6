"""Detectors from torchvision: Faster R-CNN (Ren et al. 2015) with an FPN (Lin et al. 2017), Mask and
Keypoint R-CNN (He et al. 2017), RetinaNet (Lin et al. 2017), FCOS (Tian et al. 2019) and SSD (Liu et al.
2016): a backbone, a neck that builds a feature pyramid, and a head that turns it into boxes.

Each entry is built as torchvision builds it for its published weights: the backbone's BatchNorm frozen
(``FrozenBatchNorm2d``, whose scale and shift are buffers, not parameters) where torchvision freezes it,
and never with a download of ImageNet backbone weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import torchvision.models as tvm
from torch import nn
from torchvision.ops.misc import FrozenBatchNorm2d

from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_task_spec
from cvviz.families.base import TaskFamily
from cvviz.i18n import N_

R50_STAGES = tuple(f"backbone.body.layer{i}" for i in range(1, 5))
MOBILE_STAGES = ("backbone.body.3", "backbone.body.6", "backbone.body.12", "backbone.body.16")

# torchvision freezes the backbone's BatchNorm for these weights (the v2 models and SSD train theirs).
_FROZEN_BACKBONE_NORM = frozenset(
    {
        "fasterrcnn_resnet50_fpn",
        "fasterrcnn_mobilenet_v3_large_fpn",
        "fasterrcnn_mobilenet_v3_large_320_fpn",
        "retinanet_resnet50_fpn",
        "fcos_resnet50_fpn",
        "maskrcnn_resnet50_fpn",
        "keypointrcnn_resnet50_fpn",
    }
)

COCO_KEYPOINT_SKELETON: tuple[tuple[str, str], ...] = (
    ("left_ankle", "left_knee"),
    ("left_knee", "left_hip"),
    ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"),
    ("nose", "left_eye"),
    ("nose", "right_eye"),
    ("left_eye", "left_ear"),
    ("right_eye", "right_ear"),
    ("left_ear", "left_shoulder"),
    ("right_ear", "right_shoulder"),
)
"""COCO's person skeleton: the joints a keypoint overlay connects, by torchvision's keypoint names."""


def freeze_backbone_norm(model: nn.Module) -> nn.Module:
    """Replace every ``BatchNorm2d`` under ``model.backbone`` by ``FrozenBatchNorm2d``, as torchvision's
    builders do when they load detection weights (default eps, as there)."""
    for parent in list(model.backbone.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(parent, child_name, FrozenBatchNorm2d(child.num_features))
    return model


def task_builder(name: str) -> Callable[..., nn.Module]:
    """torchvision's builder for ``name``, never downloading backbone weights, with the backbone's norm
    frozen where torchvision freezes it for the published weights."""
    build = tvm.get_model_builder(name)
    frozen = name in _FROZEN_BACKBONE_NORM

    def builder(**kwargs) -> nn.Module:
        model = build(weights_backbone=None, **kwargs)
        return freeze_backbone_norm(model) if frozen else model

    builder.__name__ = name
    builder.__doc__ = build.__doc__
    return builder


PARTS_RCNN: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"backbone": ("backbone.body",), "neck": ("backbone.fpn",), "head": ("rpn", "roi_heads")}
)
PARTS_DENSE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"backbone": ("backbone.body",), "neck": ("backbone.fpn",), "head": ("head",)}
)
PARTS_SSD: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"backbone": ("backbone",), "neck": ("backbone.extra",), "head": ("head",)}
)


class Detection(TaskFamily):
    name = "Detection"
    shape_note = N_(
        "A backbone computes features, a neck (the FPN) mixes them into a pyramid of levels, and a head "
        "predicts boxes on every level."
    )

    def entries(self) -> list[ModelSpec]:
        def spec(name, title, paper, task, stages, size, notes="", **kwargs):
            return torchvision_task_spec(
                name,
                title,
                self.name,
                paper,
                task,
                stages,
                builder=task_builder(name),
                input_size=size,
                architecture_kwargs=kwargs,
                notes=notes,
            )

        keypoints = len(tvm.get_model_weights("keypointrcnn_resnet50_fpn").DEFAULT.meta["keypoint_names"])
        return [
            spec(
                "fasterrcnn_resnet50_fpn",
                "Faster R-CNN ResNet-50 FPN",
                "faster_rcnn",
                "detection",
                R50_STAGES,
                800,
            ),
            spec(
                "fasterrcnn_resnet50_fpn_v2",
                "Faster R-CNN ResNet-50 FPN v2",
                "vitdet_transfer",
                "detection",
                R50_STAGES,
                800,
            ),
            spec(
                "fasterrcnn_mobilenet_v3_large_fpn",
                "Faster R-CNN MobileNetV3-Large FPN",
                "faster_rcnn",
                "detection",
                MOBILE_STAGES,
                800,
            ),
            spec(
                "fasterrcnn_mobilenet_v3_large_320_fpn",
                "Faster R-CNN MobileNetV3-Large 320 FPN",
                "faster_rcnn",
                "detection",
                MOBILE_STAGES,
                320,
            ),
            spec(
                "retinanet_resnet50_fpn", "RetinaNet ResNet-50 FPN", "retinanet", "detection", R50_STAGES, 800
            ),
            spec(
                "retinanet_resnet50_fpn_v2",
                "RetinaNet ResNet-50 FPN v2",
                "retinanet",
                "detection",
                R50_STAGES,
                800,
            ),
            spec("fcos_resnet50_fpn", "FCOS ResNet-50 FPN", "fcos", "detection", R50_STAGES, 800),
            spec(
                "ssd300_vgg16",
                "SSD300 VGG-16",
                "ssd",
                "detection",
                ("backbone.features.8", "backbone.features.15", "backbone.features.22", "backbone.extra.0"),
                300,
            ),
            spec(
                "ssdlite320_mobilenet_v3_large",
                "SSDlite320 MobileNetV3-Large",
                "ssd",
                "detection",
                ("backbone.features.0", "backbone.features.1"),
                320,
            ),
            spec(
                "maskrcnn_resnet50_fpn",
                "Mask R-CNN ResNet-50 FPN",
                "mask_rcnn",
                "instance_segmentation",
                R50_STAGES,
                800,
            ),
            spec(
                "maskrcnn_resnet50_fpn_v2",
                "Mask R-CNN ResNet-50 FPN v2",
                "vitdet_transfer",
                "instance_segmentation",
                R50_STAGES,
                800,
            ),
            spec(
                "keypointrcnn_resnet50_fpn",
                "Keypoint R-CNN ResNet-50 FPN",
                "mask_rcnn",
                "keypoints",
                R50_STAGES,
                800,
                num_keypoints=keypoints,
            ),
        ]

    def parts(self, spec: ModelSpec) -> Mapping[str, tuple[str, ...]]:
        """The modules of each part: ``backbone``, ``neck`` and ``head`` (a module's parameters belong to
        the part of the longest prefix naming it)."""
        if spec.name.startswith("ssd"):
            return PARTS_SSD
        if spec.name.startswith(("retinanet", "fcos")):
            return PARTS_DENSE
        return PARTS_RCNN

    def published_rois(self, spec: ModelSpec) -> tuple[int, int] | None:
        """(proposals, detections) the second stage ran on when torchvision counted the weights' ``_ops``
        (found by reproducing the figure); None for one-stage detectors, whose cost does not depend on it.

        The MobileNet models' RPN keeps no proposal above its score threshold on the counting input, so
        their published figure has no RoI head at all; Mask R-CNN v2's includes 100 masks and Keypoint
        R-CNN's one person's keypoints."""
        if not self.two_stage(spec):
            return None
        if "mobilenet" in spec.name:
            return (0, 0)
        if spec.name == "maskrcnn_resnet50_fpn_v2":
            return (1000, 100)
        if spec.name == "keypointrcnn_resnet50_fpn":
            return (1000, 1)
        return (1000, 0)

    def two_stage(self, spec: ModelSpec) -> bool:
        """Whether ``spec`` proposes regions first and classifies them second (the R-CNN models), rather
        than scoring every anchor or location once (SSD, RetinaNet, FCOS)."""
        return spec.name.startswith(("fasterrcnn", "maskrcnn", "keypointrcnn"))

    def keypoint_names(self, spec: ModelSpec) -> tuple[str, ...]:
        """The joints a keypoint model predicts, in its output order (empty for other models)."""
        if spec.task != "keypoints":
            return ()
        return tuple(spec.torchvision_weights.meta["keypoint_names"])

    def skeleton(self, spec: ModelSpec) -> tuple[tuple[str, str], ...]:
        """The joints a keypoint overlay connects (COCO's person skeleton; empty for other models)."""
        return COCO_KEYPOINT_SKELETON if spec.task == "keypoints" else ()


FAMILY = Detection()
