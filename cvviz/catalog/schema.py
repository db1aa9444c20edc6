"""What a catalog entry is: typed, frozen data about one backbone (no torch needed to read it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from cvviz.i18n import N_

if TYPE_CHECKING:
    from torch import nn

ModelKind = Literal["cnn", "vit", "swin", "hybrid"]
"""A descriptive label shown in tables; behaviour is asked of the family (:mod:`cvviz.families`)."""

Task = Literal[
    "classification",
    "detection",
    "instance_segmentation",
    "keypoints",
    "semantic_segmentation",
    "self_supervised",
]
"""What the model's head does: an ImageNet label, boxes, boxes with masks, boxes with a skeleton, or a
class per pixel; ``self_supervised`` backbones have no head and are shown for their features (DINO's
attention, MAE's reconstructions), with the supervised twin they are compared with."""

TASK_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "classification": N_("classification"),
        "detection": N_("detection"),
        "instance_segmentation": N_("instance segmentation"),
        "keypoints": N_("keypoints"),
        "semantic_segmentation": N_("semantic segmentation"),
        "self_supervised": N_("self-supervised features"),
    }
)
"""Each task as a reader names it (marked for translation; shown through ``_()``)."""

HEAD_TASKS: tuple[Task, ...] = ("detection", "instance_segmentation", "keypoints", "semantic_segmentation")
"""The tasks whose models put a head (and often a neck) on a backbone instead of a classifier."""

Pretraining = Literal["supervised", "dino", "mae"]
"""How the published weights were learned: from ImageNet's labels (every classifier and task model), by
DINO's self-distillation (DINO, DINOv2) or by MAE's masked-patch regression; the last two use no labels."""

PRETRAINING_LABELS: Mapping[str, str] = MappingProxyType(
    {"supervised": N_("ImageNet labels"), "dino": N_("no labels (DINO)"), "mae": N_("no labels (MAE)")}
)
"""How each pretraining is named where it is shown (marked for translation; shown through ``_()``)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Paper:
    """The publication that introduced an architecture, and the idea it is remembered for."""

    title: str
    authors: str
    year: int
    url: str
    key_idea: str


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the model's input: resize the shorter side, centre-crop, normalise.

    ``mean``/``std`` apply to pixel values scaled to [0, 1]; ``grayscale`` models take one channel.
    ``digit`` models read one handwritten digit prepared as MNIST was (ink bright on black, fitted in
    20×20 and centred by centre of mass; :mod:`cvviz.data.digits`) instead of a resized, cropped photo.
    """

    resize_size: int
    crop_size: int
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"
    grayscale: bool = False
    digit: bool = False

    @property
    def channels(self) -> int:
        return 1 if self.grayscale else 3


@dataclass(frozen=True)
class PublishedAccuracy:
    """ImageNet-1K validation accuracy (percent) as published, with where it was published."""

    top1: float | None
    top5: float | None
    source: str


@dataclass(frozen=True)
class PublishedMetric:
    """One published task figure (percent), e.g. box AP on COCO val2017, with where it was published.

    ``name`` is torchvision's metric key (``box_map``, ``mask_map``, ``kp_map``, ``miou``, ``pixel_acc``).
    """

    name: str
    value: float
    dataset: str
    source: str


@dataclass(frozen=True)
class PackagedWeights:
    """Pretrained weights that ship inside a pip package (so they work offline).

    ``load`` returns the state_dict already in this catalog's key layout; ``locate`` returns the file's
    path (for listing) or raises :class:`cvviz.errors.WeightsError` when the package is missing.
    """

    description: str
    load: Callable[[], dict]
    locate: Callable[[], Any]


@dataclass(frozen=True)
class PublishedCheckpoint:
    """Pretrained weights the authors publish as one file (not through torchvision), downloaded into the
    torch hub cache by the same mechanism as torchvision's (progress, mirror, offline rule).

    ``adapt`` turns the file's state_dict (the authors' key layout) into the model's; it lives with the
    family and leaves a state_dict already in the model's layout as it is, so a user's file in either
    layout loads.
    """

    url: str
    adapt: Callable[[dict], dict]

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[1]


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry: how to build a backbone and everything cvviz shows about it.

    ``family`` names the plug-in in :mod:`cvviz.families` that answers every family-specific question.
    ``stages`` are the modules whose outputs form the model's feature pyramid (stem to last stage);
    ``attention_layers`` are its self-attention modules (empty for CNNs). ``pretraining`` says how its
    published weights were learned; ``checkpoint`` is the authors' file when torchvision does not carry
    them.
    """

    name: str
    title: str
    family: str
    paper: Paper
    kind: ModelKind
    builder: Callable[..., nn.Module]
    preprocessing: Preprocessing
    stages: tuple[str, ...]
    categories: tuple[str, ...]
    torchvision_weights: Any = None
    packaged_weights: PackagedWeights | None = None
    checkpoint: PublishedCheckpoint | None = None
    published: PublishedAccuracy | None = None
    published_metrics: tuple[PublishedMetric, ...] = ()
    architecture_kwargs: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    attention_layers: tuple[str, ...] = ()
    task: Task = "classification"
    pretraining: Pretraining = "supervised"
    notes: str = ""

    @property
    def year(self) -> int:
        return self.paper.year

    @property
    def key_idea(self) -> str:
        return self.paper.key_idea

    @property
    def input_size(self) -> int:
        return self.preprocessing.crop_size

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one preprocessed image."""
        size = self.preprocessing.crop_size
        return (self.preprocessing.channels, size, size)

    @property
    def num_classes(self) -> int:
        return len(self.categories)

    @property
    def pretrained_available(self) -> bool:
        return (
            self.torchvision_weights is not None
            or self.packaged_weights is not None
            or self.checkpoint is not None
        )

    @property
    def weights_name(self) -> str | None:
        """A stable name for the pretrained weights, e.g. ``ResNet50_Weights.IMAGENET1K_V2``."""
        if self.torchvision_weights is not None:
            return str(self.torchvision_weights)
        if self.packaged_weights is not None:
            return self.packaged_weights.description
        if self.checkpoint is not None:
            return self.checkpoint.filename
        return None
