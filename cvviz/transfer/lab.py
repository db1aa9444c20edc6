"""The lab's runs: features (once per image), then a head or a fine-tune, as one job; the same data through
several backbones; a trained head exported, loaded back and asked about a new image."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from cvviz.catalog import get_spec
from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.jobs import Cancelled, Job, Reporter
from cvviz.models.inference import preprocess
from cvviz.models.workbench import LoadedModel, ResultCache
from cvviz.transfer.data import TransferImages, check_minimum
from cvviz.transfer.features import FeatureSet, classifier_layer, pooled, pooled_features
from cvviz.transfer.finetune import FinetunedNet, FinetuneSettings, finetune, private_backbone
from cvviz.transfer.heads import (
    HEAD_MODES,
    MLP_DROPOUT,
    Head,
    TransferResult,
    TransferSettingsError,
    cross_validate_head,
)

MODES: tuple[str, ...] = (*HEAD_MODES, "finetune")
FORMAT = "cvviz-transfer-1"


@dataclass(frozen=True, eq=False)
class TransferRun:
    """One run: the pooled features of every image through the shared model, and the scored result."""

    features: FeatureSet
    result: TransferResult


def run_transfer(
    loaded: LoadedModel,
    data: TransferImages,
    mode: str = "probe",
    *,
    folds: int = 5,
    seed: int = 0,
    settings: FinetuneSettings | None = None,
    cache: ResultCache | None = None,
    reporter: Reporter | None = None,
) -> TransferRun:
    """Extract ``data``'s pooled features through ``loaded`` (those ``cache`` holds are reused), then score
    ``mode`` (``probe``, ``mlp`` or ``finetune``) by stratified ``folds``-fold cross-validation."""
    if mode not in MODES:
        raise TransferSettingsError(
            _("Unknown mode {mode!r}; expected one of {modes}.").format(mode=mode, modes=", ".join(MODES))
        )
    check_minimum(data)
    extract = reporter.part(0.0, 0.5 if mode == "finetune" else 0.8) if reporter is not None else None
    features = pooled_features(
        loaded, data.images, cache=cache, fingerprints=data.fingerprints, reporter=extract
    )
    if mode == "finetune":
        chosen = settings or FinetuneSettings(folds=folds, seed=seed)
        part = reporter.part(0.5, 1.0) if reporter is not None else None
        result = finetune(loaded, data, features.features, chosen, part)
    else:
        part = reporter.part(0.8, 1.0) if reporter is not None else None
        result = cross_validate_head(
            features.features, data.labels, data.classes, mode, folds, seed,  # type: ignore[arg-type]
            model_name=loaded.spec.name, reporter=part,
        )  # fmt: skip
    return TransferRun(features, result)


def transfer_job(loaded: LoadedModel, data: TransferImages, mode: str, **options) -> Job[TransferRun]:
    """:func:`run_transfer` as a job (progress, Stop): in the background in the app, in place in the CLI."""
    return Job(
        _("Teaching {model} your classes").format(model=loaded.spec.title),
        lambda reporter: run_transfer(loaded, data, mode, reporter=reporter, **options),
    )


@dataclass(frozen=True)
class BackboneRow:
    """One backbone's linear-probe score on the data, its size, and ``seconds``: the time every image takes
    through the backbone (as measured, whether its features were cached since or not) plus the K-fold
    scoring; ``error`` says why a backbone could not run (its other fields are then zero)."""

    name: str
    title: str
    params: int
    feature_dim: int
    acc_mean: float
    acc_std: float
    seconds: float
    trained: bool
    error: str = ""


def compare_backbones(
    names: Sequence[str],
    data: TransferImages,
    get_model: Callable[[str], LoadedModel],
    *,
    mode: str = "probe",
    folds: int = 5,
    seed: int = 0,
    cache: ResultCache | None = None,
    reporter: Reporter | None = None,
) -> list[BackboneRow]:
    """The same data, folds and head through each backbone in ``names`` (``get_model`` loads one)."""
    check_minimum(data)
    rows = []
    share = 1 / max(len(names), 1)
    for index, name in enumerate(names):
        part = reporter.part(index * share, (index + 1) * share) if reporter is not None else None
        spec = get_spec(name)
        if part is not None:
            part.update(0.0, _("Backbone {index} of {count}: {model}").format(
                index=index + 1, count=len(names), model=spec.title
            ))  # fmt: skip
        try:
            loaded = get_model(name)
            run = run_transfer(loaded, data, mode, folds=folds, seed=seed, cache=cache, reporter=part)
        except Cancelled:
            raise
        except (CvvizError, torch.cuda.OutOfMemoryError) as exc:
            rows.append(BackboneRow(name, spec.title, 0, 0, 0.0, 0.0, 0.0, False, str(exc)))
            continue
        with loaded.exclusive() as model:
            params = sum(p.numel() for p in model.parameters())
        rows.append(
            BackboneRow(
                name, spec.title, params, run.features.dim, run.result.acc_mean, run.result.acc_std,
                (run.features.seconds_per_image or 0.0) * len(data) + run.result.seconds, loaded.trained,
            )
        )  # fmt: skip
    return rows


def export_head(result: TransferResult, feature_dim: int) -> tuple[bytes, dict]:
    """The trained head (or fine-tuned network) as state_dict bytes, and its description as JSON-ready
    data: the format, backbone, mode, classes, feature size and hidden width."""
    buffer = io.BytesIO()
    torch.save(result.head.state_dict(), buffer)
    hidden = getattr(result.head, "hidden", 0) if isinstance(result.head, Head) else 0
    meta = {
        "format": FORMAT,
        "model": result.model_name,
        "mode": result.mode,
        "classes": list(result.classes),
        "feature_dim": feature_dim,
        "hidden": hidden,
        "acc_mean": result.acc_mean,
    }
    return buffer.getvalue(), meta


@dataclass(eq=False)
class LoadedHead:
    """An exported head loaded back: ``module`` maps pooled features to logits (a :class:`Head`), or is
    the whole fine-tuned network (a :class:`~cvviz.transfer.finetune.FinetunedNet`)."""

    model_name: str
    mode: str
    classes: tuple[str, ...]
    module: nn.Module


def load_head(state: bytes, meta: dict | str | bytes, loaded: LoadedModel) -> LoadedHead:
    """An exported head, read with ``torch.load(..., weights_only=True)`` and checked against its JSON
    description and the backbone ``loaded`` (which must be the one it was trained on)."""
    from cvviz.models.weights import load_state_dict_file

    try:
        info = json.loads(meta) if isinstance(meta, (str, bytes)) else dict(meta)
        classes = tuple(str(name) for name in info["classes"])
        mode, model_name = str(info["mode"]), str(info["model"])
        dim, hidden = int(info["feature_dim"]), int(info.get("hidden", 0))
    except (ValueError, KeyError, TypeError) as exc:
        raise CvvizError(_("The head's JSON file is not one cvviz wrote.")) from exc
    if info.get("format") != FORMAT or mode not in MODES or len(classes) < 2:
        raise CvvizError(_("The head's JSON file is not one cvviz wrote."))
    if model_name != loaded.spec.name:
        raise CvvizError(
            _("This head was trained on {trained}, not {model}.").format(
                trained=model_name, model=loaded.spec.name
            )
        )
    state_dict = load_state_dict_file(state)
    head = Head(dim, len(classes), hidden, MLP_DROPOUT if hidden else 0.0)
    module: nn.Module = FinetunedNet(private_backbone(loaded), head) if mode == "finetune" else head
    try:
        module.load_state_dict(state_dict)
    except (RuntimeError, KeyError) as exc:
        raise CvvizError(_("The head's weights do not fit its JSON description.")) from exc
    return LoadedHead(model_name, mode, classes, module.eval().requires_grad_(False))


def predict_with_head(
    loaded: LoadedModel,
    head: LoadedHead | nn.Module,
    image: Image.Image,
    *,
    cache: ResultCache | None = None,
) -> np.ndarray:
    """Class probabilities (K,) of ``image``: the shared backbone's pooled features (kept in ``cache``)
    through a head, or the fine-tuned network itself."""
    module = head.module if isinstance(head, LoadedHead) else head
    if isinstance(module, FinetunedNet):
        device = next(module.parameters()).device
        with torch.no_grad():
            logits = module(preprocess(image, loaded.spec).to(device))
        return logits.softmax(dim=1)[0].float().cpu().numpy()
    features = pooled_features(loaded, [image], cache=cache).features
    with torch.no_grad():
        return module(torch.as_tensor(features)).softmax(dim=1)[0].numpy()


class _HeadOnPooled(nn.Module):
    """Stands in for a backbone's classification layer: the new head on its pooled input."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(pooled(inputs))


def new_class_grad_cam(
    loaded: LoadedModel, head: LoadedHead | nn.Module, image: Image.Image, target: int, classes: Sequence[str]
):
    """Grad-CAM (Selvaraju et al., 2017) of the new class ``target`` for ``image``: a private copy of the
    backbone (fine-tuned or not) whose classification layer is replaced by the head, so every layer keeps
    its name and the family's Grad-CAM layer applies. Returns a
    :class:`cvviz.explain.saliency.Attribution` at the model's input resolution."""
    from cvviz.explain.saliency import SaliencyModel, attribute, private_copy
    from cvviz.explain.saliency.private_model import set_submodule

    module = head.module if isinstance(head, LoadedHead) else head
    with loaded.exclusive() as model:
        layer = classifier_layer(model, loaded.spec)
    if isinstance(module, FinetunedNet):
        backbone, new_head = copy.deepcopy(module.backbone), copy.deepcopy(module.head)
    else:
        backbone, new_head = private_backbone(loaded), copy.deepcopy(module)
    set_submodule(backbone, layer, _HeadOnPooled(new_head))
    spec = dataclasses.replace(loaded.spec, categories=tuple(classes))
    private: SaliencyModel = private_copy(backbone.to(loaded.device), spec)
    private.device = loaded.device
    return attribute(private, spec, preprocess(image, loaded.spec), "grad_cam", int(target))


__all__ = [
    "MODES",
    "BackboneRow",
    "LoadedHead",
    "TransferRun",
    "compare_backbones",
    "export_head",
    "load_head",
    "new_class_grad_cam",
    "predict_with_head",
    "run_transfer",
    "transfer_job",
]
