"""Feature maps: what each layer of a backbone outputs for one image, as (C, H, W) arrays.

One forward pass records any number of layers through :func:`cvviz.hooks.capture_outputs` (hooks are
removed afterwards, also on error). Layouts differ between families, so every output is normalised to
channels × height × width:

* CNNs give (B, C, H, W) — kept as is (``kind="conv"``);
* Swin and ConvNeXt blocks work channels-last, (B, H, W, C) — permuted (``kind="nhwc"``);
* ViT encoder layers give tokens (B, 1 + N, D) — the class token is dropped and the N patch tokens are
  laid back on their √N × √N grid with D channels (``kind="tokens"``; Dosovitskiy et al., 2020);
* vectors (B, D) become D maps of 1 × 1 (``kind="vector"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from torch import nn

from cvviz.errors import CvvizError
from cvviz.hooks import capture_outputs, resolve_layers
from cvviz.i18n import _
from cvviz.layouts import LayoutKind, to_chw

if TYPE_CHECKING:
    from cvviz.catalog import ModelSpec
    from cvviz.models.workbench import LoadedModel

Statistic = Literal["mean", "max", "variance"]
STATISTICS: tuple[str, ...] = ("mean", "max", "variance")


@dataclass(frozen=True)
class FeatureMap:
    """One layer's output for one image: ``maps`` has shape (C, H, W); ``kind`` names the original layout."""

    layer: str
    maps: np.ndarray
    kind: LayoutKind
    original_shape: tuple[int, ...]

    @property
    def channels(self) -> int:
        return int(self.maps.shape[0])


def extract_features(
    loaded_or_model: LoadedModel | nn.Module, image_tensor: torch.Tensor, layers: Iterable[str]
) -> dict[str, FeatureMap]:
    """Run ONE forward pass on ``image_tensor`` (1, C, H, W) and return each named layer's output.

    A shared :class:`~cvviz.models.workbench.LoadedModel` is used exclusively, on its device.
    Unknown layer names raise :class:`~cvviz.hooks.UnknownLayerError` before anything runs.
    """
    from cvviz.models.workbench import exclusive_module

    names = list(dict.fromkeys(layers))
    with exclusive_module(loaded_or_model) as (model, device):
        return _extract(model, image_tensor.to(device), names)


def capture_chw(
    model: nn.Module, batch: torch.Tensor, names: list[str]
) -> dict[str, tuple[torch.Tensor, LayoutKind, tuple[int, ...]]]:
    """One forward pass; each layer's output as ((C, H, W) tensor, layout, original shape). Works on meta."""
    resolve_layers(model, names)
    with capture_outputs(model, names) as captured, torch.no_grad():
        model(batch)
    result = {}
    for name in names:
        if name not in captured:
            raise CvvizError(_("Layer {name!r} produced no tensor output for this image.").format(name=name))
        output = captured[name]
        chw, kind = to_chw(output)
        result[name] = (chw, kind, tuple(output.shape))
    return result


def _extract(model: nn.Module, batch: torch.Tensor, names: list[str]) -> dict[str, FeatureMap]:
    return {
        name: FeatureMap(name, chw.float().cpu().numpy(), kind, shape)
        for name, (chw, kind, shape) in capture_chw(model, batch, names).items()
    }


def channel_statistic(maps: np.ndarray, statistic: Statistic) -> np.ndarray:
    """One number per channel of ``maps`` (C, H, W): its mean, max or variance over positions, shape (C,)."""
    flat = maps.reshape(maps.shape[0], -1)
    if statistic == "mean":
        return flat.mean(axis=1)
    if statistic == "max":
        return flat.max(axis=1)
    if statistic == "variance":
        return flat.var(axis=1)
    raise ValueError(
        _("Unknown statistic {statistic!r}; expected one of {value}.").format(
            statistic=statistic, value=", ".join(STATISTICS)
        )
    )


def channel_order(maps: np.ndarray, statistic: Statistic) -> np.ndarray:
    """Channel indices of ``maps`` (C, H, W) sorted by ``statistic``, largest first (stable for ties)."""
    return np.argsort(-channel_statistic(maps, statistic), kind="stable")


@dataclass(frozen=True)
class JourneyStep:
    """One stage's representative map (H, W): the channel with the highest mean activation
    (``channel`` is its index), or the mean over all channels (``channel`` is None). ``label`` is what a
    reader calls the stage ("stem", "stage 2"); empty when only the module name is known."""

    layer: str
    channel: int | None
    map: np.ndarray
    channels: int
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.layer


JourneyMode = Literal["top channel", "mean of channels"]
JOURNEY_MODES: tuple[str, ...] = ("top channel", "mean of channels")


def journey(
    features: dict[str, FeatureMap],
    layers: Iterable[str],
    mode: JourneyMode = "top channel",
    labels: Sequence[str] = (),
) -> tuple[JourneyStep, ...]:
    """For each of ``layers`` (stem to last stage), one representative (H, W) map: the channel whose mean
    activation is highest, or the average over channels. ``labels`` name the stages for a reader (e.g.
    the family's ``stage_labels(spec)``), one per layer."""
    if mode not in JOURNEY_MODES:
        raise ValueError(
            _("Unknown journey mode {mode!r}; expected one of {value}.").format(
                mode=mode, value=", ".join(JOURNEY_MODES)
            )
        )
    steps = []
    layers = list(layers)
    names = [*labels, *[""] * len(layers)][: len(layers)]
    for layer, label in zip(layers, names):
        maps = features[layer].maps
        if mode == "mean of channels":
            steps.append(JourneyStep(layer, None, maps.mean(axis=0), maps.shape[0], label))
        else:
            best = int(channel_order(maps, "mean")[0])
            steps.append(JourneyStep(layer, best, maps[best], maps.shape[0], label))
    return tuple(steps)


@dataclass(frozen=True)
class FirstLayerFilters:
    """The first convolution's kernels as images: ``images`` (O, kh, kw, 3) in [0, 1], each filter
    min-max normalised on its own (one-channel inputs are shown grey)."""

    layer: str
    images: np.ndarray
    in_channels: int
    stride: tuple[int, ...]


def first_conv_name(model: nn.Module) -> str:
    """The qualified name of the first ``nn.Conv2d`` in module order (a ViT's patch embedding too)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name
    raise CvvizError(_("The model has no convolution to show filters of."))


def first_layer_filters(model: nn.Module) -> FirstLayerFilters:
    """The first convolution's weights (O, C, kh, kw) as O small RGB images, normalised per filter."""
    name = first_conv_name(model)
    conv = dict(model.named_modules())[name]
    weight = conv.weight.detach().float().cpu()
    if weight.shape[1] == 1:
        weight = weight.repeat(1, 3, 1, 1)
    weight = weight[:, :3]
    low = weight.amin(dim=(1, 2, 3), keepdim=True)
    high = weight.amax(dim=(1, 2, 3), keepdim=True)
    scaled = (weight - low) / (high - low).clamp_min(1e-12)
    return FirstLayerFilters(name, scaled.permute(0, 2, 3, 1).numpy(), conv.in_channels, tuple(conv.stride))


def default_layers(spec: ModelSpec) -> tuple[str, ...]:
    """The layers offered first: the catalog's stage outputs, stem to last stage."""
    return spec.stages
