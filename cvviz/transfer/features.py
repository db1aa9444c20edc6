"""Pooled features: what a backbone's classifier sees of each image, computed once per image.

The *pooled feature* of an image is the input of the model's final classification layer — after global
pooling and flattening in a CNN (ResNet's ``fc``, EfficientNet's ``classifier``), the class token after the
last norm in a ViT — found in the model itself (:func:`classifier_layer`), so no family needs its own
table. A convolutional classifier (SqueezeNet's 1×1 convolution) sees a map; its input is averaged over
positions.

Features are kept per (model, image) in a :class:`cvviz.models.workbench.ResultCache` (the app passes the
workbench's), so trying another head, another number of folds or another seed never runs the backbone
again; only images not seen before are run, in batches, with progress.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from cvviz.catalog.schema import ModelSpec
from cvviz.data.images import image_fingerprint
from cvviz.errors import CvvizError, DeviceError
from cvviz.hooks import hooks_removed_on_exit
from cvviz.i18n import _
from cvviz.jobs import Reporter
from cvviz.models.inference import preprocess
from cvviz.models.workbench import LoadedModel, ResultCache

ANALYSIS = "transfer.pooled"
SPEED = "transfer.seconds_per_image"
BATCH_SIZE = 16

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class FeatureSet:
    """Pooled features of a set of images: ``features`` has shape (N, D), float32, row i for image i.

    ``computed`` images were run through the backbone for this call; the others came from the cache.
    ``seconds_per_image`` is what one image took through the backbone (preprocessing included), measured
    when this call or an earlier one with the same cache computed features; None when never measured.
    """

    model_key: str
    layer: str
    features: np.ndarray
    computed: int
    seconds_per_image: float | None = None

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])


def classifier_layer(model: nn.Module, spec: ModelSpec) -> str:
    """The qualified name of ``model``'s final classification layer: the last ``nn.Linear`` (or 1×1
    ``nn.Conv2d``) with one output per class of ``spec``, else the last ``nn.Linear``."""
    linear, per_class = None, None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            linear = name
            if module.out_features == spec.num_classes:
                per_class = name
        elif isinstance(module, nn.Conv2d) and module.out_channels == spec.num_classes:
            per_class = name
    found = per_class or linear
    if found is None:
        raise CvvizError(_("{model} has no classification layer to learn new classes with.").format(
            model=spec.title
        ))  # fmt: skip
    return found


def pooled(inputs: torch.Tensor) -> torch.Tensor:
    """The classifier's input as one vector per image: (B, D) kept, (B, C, H, W) averaged over H and W,
    anything else flattened."""
    if inputs.dim() == 4:
        return inputs.mean(dim=(2, 3))
    return inputs.flatten(1)


def capture_pooled(model: nn.Module, layer: str, batch: torch.Tensor) -> torch.Tensor:
    """One forward pass of ``batch``; the pooled input of ``layer`` (B, D), float32 on the CPU. The hook
    is removed afterwards, also on error, and records only this thread's pass."""
    module = dict(model.named_modules())[layer]
    captured: list[torch.Tensor] = []
    owner = threading.get_ident()

    def hook(_module: nn.Module, inputs: tuple) -> None:
        if threading.get_ident() == owner and inputs and isinstance(inputs[0], torch.Tensor):
            captured.append(inputs[0].detach())

    with hooks_removed_on_exit([]) as handles, torch.inference_mode():
        handles.append(module.register_forward_pre_hook(hook))
        model(batch)
    if not captured:
        raise CvvizError(_("The classification layer {layer} was not reached.").format(layer=layer))
    return pooled(captured[-1]).float().cpu()


def pooled_features(
    loaded: LoadedModel,
    images: Sequence[Image.Image],
    *,
    cache: ResultCache | None = None,
    fingerprints: Sequence[str] | None = None,
    reporter: Reporter | None = None,
    batch_size: int = BATCH_SIZE,
    layer: str | None = None,
) -> FeatureSet:
    """The pooled features (N, D) of ``images`` through the shared model ``loaded``: the input of
    ``layer``, by default the model's classification layer (:func:`classifier_layer`).

    Images whose features ``cache`` holds for this model are not run again; the others are preprocessed
    as the model's weights expect (:func:`cvviz.models.inference.preprocess`), run in batches of
    ``batch_size`` holding the model exclusively, and stored in ``cache``. ``fingerprints`` are the
    images' :func:`~cvviz.data.images.image_fingerprint` when already known.
    """
    spec = loaded.spec
    keys = list(fingerprints) if fingerprints is not None else [image_fingerprint(i) for i in images]
    found: dict[int, np.ndarray] = {}
    if cache is not None:
        for index, key in enumerate(keys):
            hit, value = cache.get((loaded.key, key, ANALYSIS, layer))
            if hit:
                found[index] = value  # type: ignore[assignment]
    missing = [index for index in range(len(images)) if index not in found]
    named = layer
    if layer is None:
        with loaded.exclusive() as model:
            layer = classifier_layer(model, spec)
    began = time.perf_counter()
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        if reporter is not None:
            reporter.update(
                start / len(missing),
                _("Extracting features: image {done} of {total}").format(done=start + 1, total=len(missing)),
            )
        batch = torch.cat([preprocess(images[index], spec) for index in chunk]).to(loaded.device)
        try:
            with loaded.exclusive() as model:
                vectors = capture_pooled(model, layer, batch).numpy()
        except torch.cuda.OutOfMemoryError as exc:
            raise DeviceError(
                _("The GPU ran out of memory running {model}; try the CPU.").format(model=spec.title)
            ) from exc
        for index, vector in zip(chunk, vectors):
            found[index] = vector.copy()
            if cache is not None:
                cache.put((loaded.key, keys[index], ANALYSIS, named), found[index])
    speed: float | None = None
    if missing:
        speed = (time.perf_counter() - began) / len(missing)
        if cache is not None:
            cache.put((loaded.key, None, SPEED, None), speed)
    elif cache is not None:
        speed = cache.get((loaded.key, None, SPEED, None))[1]  # type: ignore[assignment]
    if reporter is not None:
        reporter.update(1.0, _("Features ready"))
    dim = next(iter(found.values())).shape[0] if found else 0
    features = np.stack([found[i] for i in range(len(images))]) if found else np.zeros((0, dim), np.float32)
    return FeatureSet(loaded.key, layer, features.astype(np.float32), len(missing), speed)
