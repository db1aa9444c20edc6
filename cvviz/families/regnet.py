"""RegNetX and RegNetY (Radosavovic et al. 2020): stage widths and depths from a quantised linear rule.

Each model is five numbers of the design space (depth d, initial width w₀, slope wₐ, multiplier wₘ, group
width g; RegNetY adds squeeze-and-excitation): block j gets width wₐ·j + w₀, snapped to w₀·wₘ^k. The
builder adapter computes the stage widths from these numbers on the CPU and then builds the network
wherever the caller asks (the meta device included, which torchvision's builders cannot do because they
compute the widths with tensors on the current device).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch
from torch import nn
from torchvision.models.regnet import BlockParams, RegNet

from cvviz.architecture.signature import Fact, SignatureBlock
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity

STAGES = ("stem", "trunk_output.block1", "trunk_output.block2", "trunk_output.block3", "trunk_output.block4")


class DesignSpace(NamedTuple):
    """One RegNet's point in the design space (the arguments of torchvision's builder)."""

    depth: int
    w_0: int
    w_a: float
    w_m: float
    group_width: int
    se_ratio: float | None = None


# As in torchvision's builders (from the paper's released models).
DESIGNS: dict[str, DesignSpace] = {
    "regnet_x_400mf": DesignSpace(22, 24, 24.48, 2.54, 16),
    "regnet_x_800mf": DesignSpace(16, 56, 35.73, 2.28, 16),
    "regnet_x_1_6gf": DesignSpace(18, 80, 34.01, 2.25, 24),
    "regnet_x_3_2gf": DesignSpace(25, 88, 26.31, 2.25, 48),
    "regnet_x_8gf": DesignSpace(23, 80, 49.56, 2.88, 120),
    "regnet_x_16gf": DesignSpace(22, 216, 55.59, 2.1, 128),
    "regnet_x_32gf": DesignSpace(23, 320, 69.86, 2.0, 168),
    "regnet_y_400mf": DesignSpace(16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": DesignSpace(14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": DesignSpace(27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": DesignSpace(21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_y_8gf": DesignSpace(17, 192, 76.82, 2.19, 56, 0.25),
    "regnet_y_16gf": DesignSpace(18, 200, 106.23, 2.48, 112, 0.25),
    "regnet_y_32gf": DesignSpace(20, 232, 115.89, 2.53, 232, 0.25),
}
SIZES = (("400mf", "400MF"), ("800mf", "800MF"), ("1_6gf", "1.6GF"), ("3_2gf", "3.2GF"), ("8gf", "8GF"),
         ("16gf", "16GF"), ("32gf", "32GF"))  # fmt: skip


def block_params(design: DesignSpace) -> BlockParams:
    """The stage widths, depths and group widths of ``design`` (computed on the CPU, whatever device
    the caller's context names)."""
    with torch.device("cpu"):
        return BlockParams.from_init_params(**design._asdict())


def build_regnet(name: str, *, num_classes: int = 1000, weights: None = None) -> RegNet:
    """torchvision's RegNet ``name`` with random weights, as its builder makes it (same modules, same
    initialisation), from the stage widths of :func:`block_params`."""
    norm_layer = functools.partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1)
    return RegNet(block_params(DESIGNS[name]), num_classes=num_classes, norm_layer=norm_layer)


class RegNetFamily(Family):
    name = "RegNet"

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(
                f"regnet_{flavour}_{size}",
                f"RegNet{flavour.upper()}-{label}",
                self.name,
                "regnet",
                STAGES,
                builder=functools.partial(build_regnet, f"regnet_{flavour}_{size}"),
            )
            for flavour in ("x", "y")
            for size, label in SIZES
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        design = DESIGNS[spec.name]
        params = block_params(design)
        rows = tuple(
            (f"stage {i + 1}", width, depth, group, stride)
            for i, (width, depth, group, stride) in enumerate(
                zip(params.widths, params.depths, params.group_widths, params.strides)
            )
        )
        stage = model.trunk_output.block1
        facts = (
            Fact(N_("depth d"), design.depth, "blocks in all stages"),
            Fact(N_("initial width w₀"), design.w_0, "the design space's w_0"),
            Fact(N_("slope wₐ"), design.w_a, "width grows by wₐ per block before quantising"),
            Fact(N_("width multiplier wₘ"), design.w_m, "widths are snapped to w₀·wₘᵏ"),
            Fact(N_("group width g"), design.group_width, "channels per group of the 3×3 convs"),
            Fact(N_("squeeze-and-excitation"), design.se_ratio is not None, "RegNetY adds SE"),
            Fact(
                N_("stage 1 blocks in the model"),
                len(list(stage.children())),
                "children of trunk_output.block1",
            ),
        )
        return SignatureBlock(
            N_("A design space, not a hand-made network"),
            "trunk_output",
            N_(
                "Block j's width is wₐ·j + w₀, quantised to powers of wₘ; blocks of equal width form a stage. "
                "The table is computed from the five numbers on the left, and matches the built model."
            ),
            facts,
            (N_("stage"), N_("width"), N_("blocks"), N_("group width"), N_("stride")),
            rows,
        )


FAMILY = RegNetFamily()
