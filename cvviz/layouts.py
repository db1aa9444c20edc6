"""How a layer's output lays out space, and how to turn it into an (N, C, H, W) grid and back.

CNN layers give (N, C, H, W) already. A ViT's encoder gives tokens (N, 1 + H·W, D), class token first
(Dosovitskiy et al. 2020); Swin and ConvNeXt blocks work channels-last, (N, H, W, C). Families say which
layout their layers use; Grad-CAM and feature views use these to see every output as a grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from cvviz.errors import CvvizError
from cvviz.i18n import N_, _

LayoutKind = Literal["conv", "nhwc", "tokens", "tokens+cls", "vector", "other"]


def tokens_to_grid(tokens: torch.Tensor) -> torch.Tensor:
    """(N, 1+P, D) ViT tokens → (N, D, g, g) patch grid, dropping the class token (P = g²)."""
    patches = tokens[:, 1:]
    side = math.isqrt(patches.shape[1])
    if side * side != patches.shape[1]:
        raise CvvizError(_("{value} patch tokens do not form a square grid.").format(value=patches.shape[1]))
    return patches.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], side, side)


def grid_to_tokens(grid: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`tokens_to_grid`: the grid as patch tokens behind ``original``'s class token."""
    return torch.cat([original[:, :1], grid.flatten(2).transpose(1, 2)], dim=1)


def nhwc_to_nchw(tensor: torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) channels-last maps → (N, C, H, W)."""
    return tensor.permute(0, 3, 1, 2)


def nchw_to_nhwc(grid: torch.Tensor, original: torch.Tensor | None = None) -> torch.Tensor:
    """(N, C, H, W) → (N, H, W, C), the inverse of :func:`nhwc_to_nchw`."""
    return grid.permute(0, 2, 3, 1)


@dataclass(frozen=True)
class GridLayout:
    """A non-NCHW layout: ``to_grid(output)`` gives (N, C, H, W); ``from_grid(grid, output)`` gives the
    output's own layout back (``output`` supplies what the grid drops, such as the class token)."""

    name: str
    to_grid: Callable[[torch.Tensor], torch.Tensor]
    from_grid: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


TOKENS_WITH_CLASS = GridLayout("tokens with a class token", tokens_to_grid, grid_to_tokens)
CHANNELS_LAST = GridLayout("channels-last", nhwc_to_nchw, nchw_to_nhwc)


def _is_square(n: int) -> bool:
    return n > 0 and math.isqrt(n) ** 2 == n


def layout_of(shape: tuple[int, ...]) -> LayoutKind:
    """How an output of ``shape`` (batch first) is laid out; see the module docstring.

    A 4-D shape is channels-last when its two middle sizes agree and the last differs (square inputs give
    square maps, so (B, H, H, C) with C ≠ H is NHWC; a CNN's (B, C, H, H) has C ≠ H in that position).
    """
    if len(shape) == 4:
        return "nhwc" if shape[1] == shape[2] != shape[3] else "conv"
    if len(shape) == 3:
        tokens = shape[1]
        if _is_square(tokens - 1):
            return "tokens+cls"
        if _is_square(tokens):
            return "tokens"
        return "other"
    if len(shape) == 2:
        return "vector"
    return "other"


def normalised_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """The (C, H, W) that :func:`to_chw` turns an output of ``shape`` (batch first) into."""
    kind = layout_of(shape)
    if kind == "conv":
        return (shape[1], shape[2], shape[3])
    if kind == "nhwc":
        return (shape[3], shape[1], shape[2])
    if kind in ("tokens", "tokens+cls"):
        side = math.isqrt(shape[1] - (kind == "tokens+cls"))
        return (shape[2], side, side)
    if kind == "vector":
        return (shape[1], 1, 1)
    if len(shape) == 3:  # tokens that do not form a square grid: one row of T positions, D channels
        return (shape[2], 1, shape[1])
    return (shape[1], int(np.prod(shape[2:-1], dtype=np.int64)) if len(shape) > 3 else 1, shape[-1])


def to_chw(output: torch.Tensor) -> tuple[torch.Tensor, LayoutKind]:
    """The first batch element of ``output`` as a (C, H, W) tensor, and the layout it came in."""
    shape = tuple(output.shape)
    kind = layout_of(shape)
    first = output[0]
    if kind == "conv":
        chw = first
    elif kind == "nhwc":
        chw = first.permute(2, 0, 1)
    elif kind in ("tokens", "tokens+cls"):
        patches = first[1:] if kind == "tokens+cls" else first
        side = math.isqrt(patches.shape[0])
        chw = patches.reshape(side, side, -1).permute(2, 0, 1)
    elif len(shape) == 3:
        chw = first.transpose(0, 1).unsqueeze(1)
    else:
        chw = first.reshape(normalised_shape(shape))
    return chw, kind


SHAPE_CONVENTION = N_(
    "Shapes are for one image, channels first: C×H×W. Outputs the model keeps channels-last (Swin and "
    "ConvNeXt blocks compute N×H×W×C) are shown as C×H×W too and marked “channels-last”; a ViT's "
    "outputs are tokens × width (class token included)."
)
"""The one sentence that says how every shape in the app is written."""

LAYOUT_NOTES: dict[str, str] = {
    "conv": "",
    "nhwc": N_("The model keeps this output channels-last (N×H×W×C); it is shown channels first."),
    "tokens": N_("Tokens: laid back on their square grid of patches, one map per channel of the width."),
    "tokens+cls": N_(
        "Tokens: the class token is left out and the patch tokens are laid back on their grid, one map per "
        "channel of the width."
    ),
    "vector": N_("A vector: each channel is a single value (a 1×1 map)."),
    "other": N_("An unusual layout: read as one row of positions."),
}
"""For each layout, how the feature-map views turn it into C×H×W maps (empty when nothing changes)."""


def shape_text(shape: tuple[int, ...] | None) -> str:
    """An output's shape (batch first) as the app writes it: one image, channels first.

    (1, 64, 56, 56) → "64×56×56"; channels-last (1, 56, 56, 96) → "96×56×56 (channels-last)";
    ViT tokens (1, 197, 768) → "197 tokens × 768"; a vector (1, 1000) → "1,000"; None → "—".
    """
    if not shape:
        return "—"
    kind = layout_of(tuple(shape))
    if kind in ("conv", "nhwc"):
        channels, height, width = normalised_shape(tuple(shape))
        text = f"{channels:,}×{height:,}×{width:,}"
        return f"{text} (channels-last)" if kind == "nhwc" else text
    if len(shape) == 3:
        return f"{shape[1]:,} tokens × {shape[2]:,}"
    return "×".join(f"{size:,}" for size in shape[1:])
