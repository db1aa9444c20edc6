"""Loading a catalog model with its weights: pretrained (downloaded or packaged), random, or the user's."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Literal

from torch import nn

from cvviz.catalog.schema import ModelSpec
from cvviz.errors import WeightsError
from cvviz.i18n import _
from cvviz.models.build import build_architecture
from cvviz.models.weights import (
    ProgressCallback,
    adapt_published_state_dict,
    download_weights,
    fit_state_dict,
    load_state_dict_file,
)

WeightsKind = Literal["pretrained", "random", "user"]


@dataclass(frozen=True)
class WeightsInfo:
    """What weights a built model carries. ``trained`` is False for random initialisation.

    ``digest`` identifies these exact weights: the published weights' name, the SHA-256 of a user's
    file, or a fresh token for each random initialisation (two random builds are different models).
    """

    kind: WeightsKind
    description: str
    digest: str = ""

    @property
    def trained(self) -> bool:
        return self.kind != "random"


def pretrained_state_dict(spec: ModelSpec, progress: ProgressCallback | None = None) -> dict:
    """The spec's published weights: from its pip package, or downloaded into the torch cache if needed
    (torchvision's checkpoint or the authors' file), in the layout of the spec's model."""
    if spec.packaged_weights is not None:
        return spec.packaged_weights.load()
    if spec.torchvision_weights is None and spec.checkpoint is None:
        raise WeightsError(
            _("{title} has no pretrained weights; choose random weights or supply a file.").format(
                title=spec.title
            )
        )
    path = download_weights(spec, progress=progress)
    return adapt_published_state_dict(spec, load_state_dict_file(path))


def build_model(
    spec: ModelSpec,
    weights: WeightsKind = "pretrained",
    *,
    user_weights: bytes | str | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[nn.Module, WeightsInfo]:
    """Build ``spec`` on the CPU with the chosen weights, in eval mode with gradients off."""
    if weights not in ("pretrained", "random", "user"):
        raise ValueError(
            _("Unknown weights choice {weights!r}; expected pretrained, random or user.").format(
                weights=weights
            )
        )
    model = build_architecture(spec)
    if weights == "pretrained":
        fit_state_dict(model, pretrained_state_dict(spec, progress), spec.title)
        name = spec.weights_name or "pretrained"
        info = WeightsInfo("pretrained", name, f"pretrained:{name}")
    elif weights == "user":
        if user_weights is None:
            raise WeightsError(_("No weights file was given."))
        state_dict = load_state_dict_file(user_weights)
        if spec.checkpoint is not None:  # a file in the authors' layout, or already in the model's
            state_dict = spec.checkpoint.adapt(state_dict)
        fit_state_dict(model, state_dict, spec.title)
        digest = (
            hashlib.sha256(user_weights).hexdigest() if isinstance(user_weights, bytes) else str(user_weights)
        )
        info = WeightsInfo("user", "weights supplied by the user", f"user:{digest}")
    else:
        info = WeightsInfo("random", "random initialisation (untrained)", f"random:{uuid.uuid4().hex}")
    model.eval()
    model.requires_grad_(False)
    return model, info
