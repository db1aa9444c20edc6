"""Catalog entries for torchvision builders, with metadata read from their ``Weights`` enums.

Categories, published accuracy and preprocessing are what torchvision publishes with the weights; nothing
here retypes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import torchvision.models as tvm
from torchvision.models import WeightsEnum
from torchvision.transforms import InterpolationMode

from cvviz.catalog.papers import PAPERS
from cvviz.catalog.schema import ModelKind, ModelSpec, Preprocessing, PublishedAccuracy, PublishedMetric, Task

IMAGENET_CATEGORIES: tuple[str, ...] = tuple(tvm.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def preprocessing_from(weights: WeightsEnum) -> Preprocessing:
    """Read resize/crop/normalisation from the weights' own ``transforms`` preset."""
    preset = weights.transforms()
    interpolation = preset.interpolation
    if isinstance(interpolation, InterpolationMode):
        interpolation = interpolation.value
    return Preprocessing(
        resize_size=int(preset.resize_size[0]),
        crop_size=int(preset.crop_size[0]),
        mean=tuple(float(m) for m in preset.mean),
        std=tuple(float(s) for s in preset.std),
        interpolation=str(interpolation),
    )


def accuracy_from(weights: WeightsEnum) -> PublishedAccuracy:
    metrics = weights.meta["_metrics"]["ImageNet-1K"]
    return PublishedAccuracy(
        top1=float(metrics["acc@1"]),
        top5=float(metrics["acc@5"]),
        source=f"torchvision weight metadata ({weights})",
    )


def torchvision_spec(
    name: str,
    title: str,
    family: str,
    paper: str,
    stages: tuple[str, ...],
    *,
    kind: ModelKind = "cnn",
    weights: str = "DEFAULT",
    builder: Callable | None = None,
    architecture_kwargs: Mapping[str, object] | None = None,
    attention_layers: tuple[str, ...] = (),
    notes: str = "",
) -> ModelSpec:
    """A catalog entry for a torchvision builder (or a family's ``builder`` adapter of it), with metadata
    taken from its ``Weights`` enum."""
    enum = tvm.get_model_weights(name)
    chosen = enum[weights] if weights != "DEFAULT" else enum.DEFAULT
    kwargs = _builder_kwargs(chosen, architecture_kwargs)
    return ModelSpec(
        name=name,
        title=title,
        family=family,
        paper=PAPERS[paper],
        kind=kind,
        builder=builder or tvm.get_model_builder(name),
        preprocessing=preprocessing_from(chosen),
        stages=stages,
        categories=tuple(chosen.meta["categories"]),
        torchvision_weights=chosen,
        published=accuracy_from(chosen),
        architecture_kwargs=MappingProxyType(kwargs),
        attention_layers=attention_layers,
        notes=notes,
    )


def _builder_kwargs(weights: WeightsEnum, extra: Mapping[str, object] | None) -> dict[str, object]:
    """The builder's arguments for ``weights``: its class count, then the entry's own ``extra``."""
    return {"num_classes": len(weights.meta["categories"]), **(extra or {})}


def task_metrics_from(weights: WeightsEnum) -> tuple[PublishedMetric, ...]:
    """Every published task figure of ``weights`` (box/mask/keypoint AP, mIoU, pixel accuracy)."""
    return tuple(
        PublishedMetric(str(key), float(value), str(dataset), f"torchvision weight metadata ({weights})")
        for dataset, figures in weights.meta["_metrics"].items()
        for key, value in figures.items()
    )


def torchvision_task_spec(
    name: str,
    title: str,
    family: str,
    paper: str,
    task: Task,
    stages: tuple[str, ...],
    *,
    builder: Callable,
    input_size: int,
    mean: tuple[float, ...] = (0.0, 0.0, 0.0),
    std: tuple[float, ...] = (1.0, 1.0, 1.0),
    architecture_kwargs: Mapping[str, object] | None = None,
    notes: str = "",
) -> ModelSpec:
    """A catalog entry for a torchvision detection or segmentation builder, with its weights' metadata.

    ``input_size`` is the side of the square image the model computes on at test time (a detector's own
    transform resizes to it; the segmentation presets resize to it); ``mean``/``std`` are applied before
    the model (detectors normalise inside their own transform, so theirs are the identity).
    """
    chosen = tvm.get_model_weights(name).DEFAULT
    kwargs = _builder_kwargs(chosen, architecture_kwargs)
    return ModelSpec(
        name=name,
        title=title,
        family=family,
        paper=PAPERS[paper],
        kind="cnn",
        builder=builder,
        preprocessing=Preprocessing(resize_size=input_size, crop_size=input_size, mean=mean, std=std),
        stages=stages,
        categories=tuple(chosen.meta["categories"]),
        torchvision_weights=chosen,
        published_metrics=task_metrics_from(chosen),
        architecture_kwargs=MappingProxyType(kwargs),
        task=task,
        notes=notes,
    )
