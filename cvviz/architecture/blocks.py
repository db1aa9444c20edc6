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

from cvviz.i18n import _
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


BlockInput = Literal["k", "n", "mid", "groups"]

BLOCK_INPUTS: dict[str, tuple[BlockInput, ...]] = {
    "standard": ("k",),
    "stack3x3": ("n",),
    "reduce": ("k", "mid"),
    "bottleneck": ("mid",),
    "separable": ("k",),
    "fire": ("mid",),
    "grouped": ("k", "groups"),
}
"""The settings each block kind is built from; the others do not change it (a stack's kernels are 3×3)."""


@dataclass(frozen=True)
class InputRange:
    """How the calculator asks for one setting: its label, bounds, default and step."""

    label: str
    low: int
    high: int
    default: int
    step: int = 1


INPUT_RANGES: dict[BlockInput, InputRange] = {
    "k": InputRange("kernel k", 1, 11, 3, 2),
    "n": InputRange("n (3×3 convs stacked)", 1, 8, 2),
    "mid": InputRange("mid channels", 1, 2048, 16),
    "groups": InputRange("groups", 1, 64, 2),
}

_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")


def _count(n: int, noun: str) -> str:
    word = _COUNT_WORDS[n] if 0 <= n < len(_COUNT_WORDS) else f"{n:,}"
    return f"{word} {noun}" if n == 1 else f"{word} {noun}s"


@dataclass(frozen=True)
class BlockChoice:
    """One block for the calculator. ``mid`` is the reduced/bottleneck/squeeze width (None: C_out // 4),
    ``n`` the number of stacked 3×3s, ``groups`` the groups of a grouped conv; ``bias`` adds conv biases.
    Only the settings in ``BLOCK_INPUTS[kind]`` shape the block."""

    kind: BlockKind
    k: int = 3
    n: int = 2
    mid: int | None = None
    groups: int = 2
    bias: bool = False

    def width(self, c_out: int) -> int:
        """The reduced/bottleneck/squeeze width used for ``c_out`` output channels."""
        return self.mid or max(1, c_out // 4)

    def label(self, c_out: int | None = None) -> str:
        """What the block is, naming every setting that shapes it (``c_out`` resolves the default
        ``mid``)."""
        k = f"{self.k}×{self.k}"
        mid = self.mid if c_out is None else self.width(c_out)
        if self.kind == "standard":
            return f"one {k} conv"
        if self.kind == "stack3x3":
            return "one 3×3 conv" if self.n == 1 else _count(self.n, "stacked 3×3 conv")
        if self.kind == "reduce":
            return f"1×1 reduction to {mid} channels, then {k}"
        if self.kind == "bottleneck":
            return f"bottleneck 1×1 → 3×3 → 1×1, {mid} channels inside"
        if self.kind == "separable":
            return f"depthwise {k} + pointwise 1×1"
        if self.kind == "fire":
            return f"fire module, squeeze to {mid} channels"
        if self.kind == "grouped":
            return f"{k} conv in {self.groups} groups"
        return BLOCK_KINDS[self.kind]


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
    mid = choice.width(c_out)
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
            raise ValueError(
                _("{groups} groups must divide C_in={c_in} and C_out={c_out}.").format(
                    groups=choice.groups, c_in=c_in, c_out=c_out
                )
            )
        return nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=choice.groups, bias=bias)
    raise ValueError(
        _("Unknown block kind {kind!r}; expected one of {value}.").format(
            kind=choice.kind, value=", ".join(BLOCK_KINDS)
        )
    )


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
    return BlockCost(choice.label(c_out), counted.params, counted.macs, output, rows)


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


def _times(ratio: float, more: bool, noun: str) -> str:
    """ "17× fewer weights", "2.1× more multiplications", "4% more weights"."""
    word = "more" if more else "fewer"
    if ratio >= 9.95:
        return f"{round(ratio):,}× {word} {noun}"
    if ratio >= 1.095:
        return f"{ratio:.1f}× {word} {noun}"
    percent = round(100 * (ratio - 1))
    return f"{percent}% {word} {noun}" if percent else f"about as many {noun}"


def ratio_phrase(a: int, b: int, noun: str) -> str:
    """How ``a`` compares with ``b`` in words, as a factor of the smaller: "17× fewer weights"."""
    if a == b:
        return f"as many {noun}"
    if min(a, b) <= 0:
        return f"no {noun} against {b:,}" if a <= 0 else f"{a:,} {noun} against none"
    return _times(max(a, b) / min(a, b), a > b, noun)


def comparison_sentence(a: BlockCost, b: BlockCost) -> str:
    """One sentence comparing block A with block B: weights, then multiplications."""
    return (
        f"Against block B ({b.label}), block A ({a.label}) needs "
        f"{ratio_phrase(a.params, b.params, 'weights')} and {ratio_phrase(a.macs, b.macs, 'multiplications')}."
    )
