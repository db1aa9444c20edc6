"""Fine-tuning: a private copy of a backbone, its last N stages trained with the new head.

The shared model is never touched: it is copied (``copy.deepcopy``, holding its lock) and only the copy
learns. The copy's classification layer (:func:`cvviz.transfer.features.classifier_layer`) is replaced by
an identity, so the copy outputs exactly the pooled features the probe reads, and a new head follows it.
The head starts as the linear probe fitted on the same training images ("LP-FT": Kumar et al.,
"Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution", 2022), so the first
steps refine a good classifier instead of back-propagating a random head's noise into the backbone.

Which parameters learn: the head's, at ``head_lr``, and those of the last ``stages`` of the catalog's
stages (``spec.stages``, stem to last stage), at ``lr``: every parameter registered after the end of the
stage before them. ``stages=0`` trains the head alone. The copy stays in eval mode — batch-norm
statistics stay those of the pretrained model and dropout is off — which suits a few images per class.

Scoring is stratified K-fold like the heads' (each fold fine-tunes a fresh copy), then one more copy is
fine-tuned on every image: the network that is exported and whose features are shown "after".
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from cvviz.catalog.schema import ModelSpec
from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.jobs import Job, Reporter
from cvviz.models.inference import preprocess
from cvviz.models.workbench import LoadedModel
from cvviz.training.data import stratified_folds
from cvviz.transfer.data import TransferImages
from cvviz.transfer.features import classifier_layer, pooled
from cvviz.transfer.heads import TransferResult, TransferSettingsError, fit_head

EVAL_BATCH = 16


class FinetuneDiverged(CvvizError):
    """The loss became infinite or NaN."""


@dataclass(frozen=True)
class FinetuneSettings:
    """How to fine-tune: the last ``stages`` stages at ``lr`` and the head at ``head_lr`` (AdamW), for
    ``epochs`` passes over the training images in batches of ``batch_size``; scored by ``folds``-fold
    cross-validation; ``seed`` fixes the folds and the order of the images."""

    stages: int = 1
    epochs: int = 2
    lr: float = 1e-4
    head_lr: float = 1e-3
    batch_size: int = 16
    folds: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.stages < 0:
            raise TransferSettingsError(_("The number of stages to fine-tune cannot be negative."))
        if self.epochs < 0:
            raise TransferSettingsError(_("The number of epochs cannot be negative."))
        if self.batch_size < 1:
            raise TransferSettingsError(_("The batch size must be at least 1."))
        for value in (self.lr, self.head_lr):
            if not (math.isfinite(value) and value > 0):
                raise TransferSettingsError(_("Learning rates must be positive numbers."))


class FinetunedNet(nn.Module):
    """``head(backbone(x))``: ``backbone`` is the private copy with its classifier replaced by an identity
    (it outputs pooled features, (B, D)); ``head`` a :class:`~cvviz.transfer.heads.Head`."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def features(self, batch: torch.Tensor) -> torch.Tensor:
        return pooled(self.backbone(batch))

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(batch))


def private_backbone(loaded: LoadedModel) -> nn.Module:
    """A copy of the shared model (taken holding its lock) whose classification layer is an identity."""
    with loaded.exclusive() as model:
        layer = classifier_layer(model, loaded.spec)
        backbone = copy.deepcopy(model)
    parent_name, _dot, child = layer.rpartition(".")
    parent = backbone.get_submodule(parent_name) if parent_name else backbone
    setattr(parent, child, nn.Identity())
    return backbone.eval().requires_grad_(False)


def trainable_parameters(backbone: nn.Module, spec: ModelSpec, stages: int) -> list[nn.Parameter]:
    """The parameters of the last ``stages`` catalog stages and everything registered after them."""
    names = [name for name, _ in backbone.named_parameters()]
    if stages == 0:
        return []
    if stages >= len(spec.stages):
        return list(backbone.parameters())
    boundary = spec.stages[-stages - 1]
    last = max((i for i, name in enumerate(names) if name.startswith(boundary + ".")), default=-1)
    chosen = set(names[last + 1 :])
    return [p for name, p in backbone.named_parameters() if name in chosen]


def _batches(images: list[Image.Image], spec: ModelSpec, size: int, device: torch.device):
    for start in range(0, len(images), size):
        yield torch.cat([preprocess(image, spec) for image in images[start : start + size]]).to(device)


def net_features(net: FinetunedNet, images: list[Image.Image], spec: ModelSpec) -> np.ndarray:
    """The network's pooled features (N, D) for ``images``."""
    device = next(net.parameters()).device
    with torch.no_grad():
        parts = [net.features(batch).float().cpu() for batch in _batches(images, spec, EVAL_BATCH, device)]
    return torch.cat(parts).numpy()


def finetune_once(
    backbone: nn.Module,
    spec: ModelSpec,
    images: list[Image.Image],
    labels: np.ndarray,
    features: np.ndarray,
    classes: int,
    settings: FinetuneSettings,
    reporter: Reporter | None = None,
) -> FinetunedNet:
    """Fine-tune ``backbone`` (a private copy, changed in place) with a head that starts as the linear
    probe fitted on ``features`` (the pooled features of ``images``, (N, D)); returns the network."""
    head = fit_head(features, labels, classes, "probe", settings.seed)
    net = FinetunedNet(backbone, head).to(next(backbone.parameters()).device)
    body = trainable_parameters(backbone, spec, settings.stages)
    for parameter in body:
        parameter.requires_grad_(True)
    head.layers.requires_grad_(True)
    groups = [{"params": list(head.layers.parameters()), "lr": settings.head_lr}]
    if body:
        groups.append({"params": body, "lr": settings.lr})
    optimiser = torch.optim.AdamW(groups, weight_decay=1e-4)
    device = next(backbone.parameters()).device
    generator = torch.Generator().manual_seed(settings.seed)
    target = torch.as_tensor(labels, dtype=torch.long)
    steps = settings.epochs * math.ceil(len(images) / settings.batch_size)
    step = 0
    net.eval()
    for epoch in range(settings.epochs):
        order = torch.randperm(len(images), generator=generator).tolist()
        for start in range(0, len(order), settings.batch_size):
            chosen = order[start : start + settings.batch_size]
            batch = torch.cat([preprocess(images[i], spec) for i in chosen]).to(device)
            loss = nn.functional.cross_entropy(net(batch), target[chosen].to(device))
            if not torch.isfinite(loss):
                raise FinetuneDiverged(
                    _("Fine-tuning diverged at step {step}: try a smaller learning rate.").format(
                        step=step + 1
                    )
                )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            if reporter is not None:
                reporter.update(
                    step / steps,
                    _("Epoch {epoch} of {epochs}, loss {loss:.3f}").format(
                        epoch=epoch + 1, epochs=settings.epochs, loss=loss.item()
                    ),
                )
    return net.eval().requires_grad_(False)


def finetune(
    loaded: LoadedModel,
    data: TransferImages,
    features: np.ndarray,
    settings: FinetuneSettings,
    reporter: Reporter | None = None,
) -> TransferResult:
    """Score fine-tuning of ``loaded``'s private copies on ``data`` by stratified K-fold, then fine-tune
    one more copy on every image. ``features`` (N, D) are ``data``'s pooled features through the shared
    model (for the heads' starting point). The result's ``head`` is the whole fine-tuned network
    (:class:`FinetunedNet`), and ``extra["features_after"]`` its pooled features of every image (N, D)."""
    start = time.perf_counter()
    spec = loaded.spec
    images = list(data.images)
    labels = data.labels
    splits = stratified_folds(labels, settings.folds, settings.seed)
    pristine = private_backbone(loaded)
    share = 1 / (len(splits) + 1)
    predicted = np.full(len(labels), -1, dtype=np.int64)
    accuracies = []
    for index, (train, held) in enumerate(splits):
        part = reporter.part(index * share, (index + 1) * share) if reporter is not None else None
        if part is not None:
            part.update(0.0, _("Fold {fold} of {folds}").format(fold=index + 1, folds=len(splits)))
        net = finetune_once(
            copy.deepcopy(pristine), spec, [images[i] for i in train], labels[train], features[train],
            len(data.classes), settings, part,
        )  # fmt: skip
        held_images = [images[i] for i in held]
        guess = net.head(torch.as_tensor(net_features(net, held_images, spec))).argmax(dim=1).numpy()
        predicted[held] = guess
        accuracies.append(float((guess == labels[held]).mean()))
    part = reporter.part(1 - share, 1.0) if reporter is not None else None
    if part is not None:
        part.update(0.0, _("Fine-tuning on every image"))
    final = finetune_once(pristine, spec, images, labels, features, len(data.classes), settings, part)
    after = net_features(final, images, spec)
    return TransferResult(
        spec.name, "finetune", data.classes, labels.copy(), tuple(accuracies), predicted,
        time.perf_counter() - start, final, settings.seed, {"features_after": after, "settings": settings},
    )  # fmt: skip


def finetune_job(
    loaded: LoadedModel, data: TransferImages, features: np.ndarray, settings: FinetuneSettings
) -> Job[TransferResult]:
    """:func:`finetune` as a job (progress, Stop); the app runs it in the background, the CLI in place."""
    return Job(
        _("Fine-tuning {model}").format(model=loaded.spec.title),
        lambda reporter: finetune(loaded, data, features, settings, reporter),
    )
