"""The block calculator: real blocks built from ``nn`` modules and counted, and the papers' classic pairs.

A block is built on the meta device and counted by :func:`cvviz.measure.complexity.measure_complexity`,
so the comparison is the modules' own arithmetic, not a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from cvviz.measure.complexity import LayerCost, measure_complexity

BlockKind = Literal["standard", "stack3x3", "reduce", "bottleneck", "separable", "fire", "grouped"]

BLOCK_KINDS: dict[str, str] = {
    "standard": "standard k×k convolution",
    "stack3x3": "stack of n 3×3 convolutions",
    "reduce": "1×1 reduction, then k×k",
    "bottleneck": "ResNet bottleneck (1×1 → 3×3 → 1×1)",
    "separable": "depthwise-separable (k×k depthwise, 1×1 pointwise)",
    "fire": "fire module (1×1 squeeze; 1×1 and 3×3 expand)",
    "grouped": "grouped k×k convolution",
}


@dataclass(frozen=True)
class BlockChoice:
    """One block for the calculator. ``mid`` is the reduced/bottleneck/squeeze width (None: C_out // 4),
    ``n`` the number of stacked 3×3s, ``groups`` the groups of a grouped conv; ``bias`` adds conv biases."""

    kind: BlockKind
    k: int = 3
    n: int = 2
    mid: int | None = None
    groups: int = 2
    bias: bool = False

    def label(self) -> str:
        mid = f", mid {self.mid}" if self.mid else ""
        if self.kind == "standard":
            return f"one {self.k}×{self.k} conv"
        if self.kind == "stack3x3":
            return f"{self.n} stacked 3×3 convs"
        if self.kind == "reduce":
            return f"1×1 reduction{mid} → {self.k}×{self.k}"
        if self.kind == "separable":
            return f"depthwise {self.k}×{self.k} + pointwise 1×1"
        if self.kind == "grouped":
            return f"{self.k}×{self.k} conv in {self.groups} groups"
        return BLOCK_KINDS[self.kind] + mid


class _Fire(nn.Module):
    """SqueezeNet's fire module: squeeze 1×1 to ``mid``, then 1×1 and 3×3 expands concatenated."""

    def __init__(self, c_in: int, c_out: int, mid: int, bias: bool) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, mid, 1, bias=bias)
        self.expand1x1 = nn.Conv2d(mid, c_out // 2, 1, bias=bias)
        self.expand3x3 = nn.Conv2d(mid, c_out - c_out // 2, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze(x))
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], dim=1)


class _Residual(nn.Module):
    """``body(x) + x`` (the addition is element-wise and not counted)."""

    def __init__(self, body: nn.Module, skip: bool) -> None:
        super().__init__()
        self.body = body
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.skip and out.shape == x.shape else out


def build_block(choice: BlockChoice, c_in: int, c_out: int) -> nn.Module:
    """The real block as ``nn`` modules (stride 1, 'same' padding), ready to be counted."""
    k, bias = choice.k, choice.bias
    mid = choice.mid or max(1, c_out // 4)
    if choice.kind == "standard":
        return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)
    if choice.kind == "stack3x3":
        layers: list[nn.Module] = []
        for i in range(choice.n):
            layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=bias), nn.ReLU()]
        return nn.Sequential(*layers)
    if choice.kind == "reduce":
        return nn.Sequential(
            nn.Conv2d(c_in, mid, 1, bias=bias), nn.ReLU(), nn.Conv2d(mid, c_out, k, padding=k // 2, bias=bias)
        )
    if choice.kind == "bottleneck":
        body = nn.Sequential(
            nn.Conv2d(c_in, mid, 1, bias=bias),
            nn.ReLU(),
            nn.Conv2d(mid, mid, 3, padding=1, bias=bias),
            nn.ReLU(),
            nn.Conv2d(mid, c_out, 1, bias=bias),
        )
        return _Residual(body, skip=True)
    if choice.kind == "separable":
        return nn.Sequential(
            nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=bias),
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, 1, bias=bias),
        )
    if choice.kind == "fire":
        return _Fire(c_in, c_out, mid, bias)
    if choice.kind == "grouped":
        if c_in % choice.groups or c_out % choice.groups:
            raise ValueError(f"{choice.groups} groups must divide C_in={c_in} and C_out={c_out}.")
        return nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=choice.groups, bias=bias)
    raise ValueError(f"Unknown block kind {choice.kind!r}; expected one of {', '.join(BLOCK_KINDS)}.")


@dataclass(frozen=True)
class BlockCost:
    """A built block's weights (``params``) and multiplications (``macs``) for one H×W×C_in input."""

    label: str
    params: int
    macs: int
    output_shape: tuple[int, ...]
    layers: tuple[LayerCost, ...]


def block_cost(choice: BlockChoice, height: int, width: int, c_in: int, c_out: int) -> BlockCost:
    """Build ``choice`` on the meta device and count it for a (1, C_in, H, W) input."""
    with torch.device("meta"):
        block = build_block(choice, c_in, c_out)
    counted = measure_complexity(block, (1, c_in, height, width))
    with torch.device("meta"), torch.no_grad():
        output = tuple(block(torch.zeros(1, c_in, height, width)).shape)
    rows = tuple(row for row in counted.layers if row.params or row.macs)
    return BlockCost(choice.label(), counted.params, counted.macs, output, rows)


@dataclass(frozen=True)
class BlockPreset:
    """A classic worked example: the same input and output computed by two blocks side by side."""

    title: str
    height: int
    width: int
    c_in: int
    c_out: int
    left: BlockChoice
    right: BlockChoice
    source: str


PRESETS: tuple[BlockPreset, ...] = (
    BlockPreset(
        "Three 3×3 convs vs one 7×7 (VGG)",
        56,
        56,
        64,
        64,
        BlockChoice("stack3x3", n=3),
        BlockChoice("standard", k=7),
        "Simonyan & Zisserman 2014, §2.3: three 3×3 layers see 7×7 with 27C² weights instead of 49C².",
    ),
    BlockPreset(
        "ResNet bottleneck at 256 channels vs two 3×3",
        56,
        56,
        256,
        256,
        BlockChoice("bottleneck", mid=64),
        BlockChoice("stack3x3", n=2),
        "He et al. 2015, Fig. 5: 1×1 256→64, 3×3 64→64, 1×1 64→256.",
    ),
    BlockPreset(
        "Depthwise-separable vs standard 3×3 (MobileNet)",
        112,
        112,
        64,
        128,
        BlockChoice("separable"),
        BlockChoice("standard", k=3),
        "Howard et al. 2017, §3.1: cost ratio 1/C_out + 1/k².",
    ),
    BlockPreset(
        "GoogLeNet 1×1 reduction before a 5×5",
        28,
        28,
        192,
        32,
        BlockChoice("reduce", k=5, mid=16),
        BlockChoice("standard", k=5),
        "Szegedy et al. 2014, §5: a 1×1 reduction to 16 channels cuts a 5×5 conv's multiplications ~10×.",
    ),
)


def compare_blocks(
    choices: Sequence[BlockChoice], height: int, width: int, c_in: int, c_out: int
) -> tuple[BlockCost, ...]:
    """Each block of ``choices`` counted for the same input and output, side by side."""
    return tuple(block_cost(choice, height, width, c_in, c_out) for choice in choices)
