"""DenseNet (Huang et al. 2016): every layer sees the concatenated maps of all earlier layers."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity

STAGES = (
    "features.relu0",
    "features.denseblock1",
    "features.denseblock2",
    "features.denseblock3",
    "features.norm5",
)


class DenseNet(Family):
    name = "DenseNet"

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(f"densenet{depth}", f"DenseNet-{depth}", self.name, "densenet", STAGES)
            for depth in (121, 161, 169, 201)
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        block = model.features.denseblock1
        layers = list(block.children())
        growth = layers[0].conv2.out_channels
        c0 = layers[0].norm1.num_features
        widths = (*(layer.norm1.num_features for layer in layers), c0 + growth * len(layers))
        transition = model.features.transition1.conv
        table = (
            *((f"denselayer{i + 1} input", w) for i, w in enumerate(widths[:-1])),
            ("block output", widths[-1]),
        )
        facts = (
            Fact(N_("growth rate k"), growth, "conv2.out_channels of each dense layer"),
            Fact(N_("layers in block 1"), len(layers), "children of denseblock1"),
            Fact(N_("input channels"), c0, "norm1.num_features of the first layer"),
            Fact(N_("block output channels"), widths[-1], "input + k × layers (concatenation)"),
            Fact(N_("bottleneck width"), layers[0].conv1.out_channels, "conv1.out_channels (4k)"),
            Fact(
                N_("transition compression"),
                round(transition.out_channels / transition.in_channels, 4),
                "transition1.conv out/in channels",
            ),
        )
        return SignatureBlock(
            N_("Dense block: every layer sees all earlier maps"),
            "features.denseblock1",
            N_(
                "Each layer adds k new channels and passes on the concatenation of everything before it; a "
                "transition layer halves the channels between blocks."
            ),
            facts,
            (N_("where"), N_("channels")),
            table,
        )


FAMILY = DenseNet()
