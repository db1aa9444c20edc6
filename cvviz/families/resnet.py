"""ResNet, ResNeXt and Wide ResNet (He et al. 2015; Xie et al. 2016; Zagoruyko & Komodakis 2016):
residual blocks with identity shortcuts."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.blocks import BlockChoice, block_cost
from cvviz.architecture.signature import Fact, SignatureBlock, conv_layers, first_of_type
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity

STAGES = ("relu", "layer1", "layer2", "layer3", "layer4")


class ResNet(Family):
    name = "ResNet"

    def entries(self) -> list[ModelSpec]:
        specs = [
            torchvision_spec(f"resnet{depth}", f"ResNet-{depth}", self.name, "resnet", STAGES)
            for depth in (18, 34, 50, 101, 152)
        ]
        for name, title in (
            ("resnext50_32x4d", "ResNeXt-50 32×4d"),
            ("resnext101_32x8d", "ResNeXt-101 32×8d"),
            ("resnext101_64x4d", "ResNeXt-101 64×4d"),
        ):
            specs.append(torchvision_spec(name, title, self.name, "resnext", STAGES))
        for name, title in (
            ("wide_resnet50_2", "Wide ResNet-50-2"),
            ("wide_resnet101_2", "Wide ResNet-101-2"),
        ):
            specs.append(torchvision_spec(name, title, self.name, "wide_resnet", STAGES))
        return specs

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        name, block = first_of_type(model, ("Bottleneck", "BasicBlock"))
        convs = [m for _, m in conv_layers(block) if "downsample" not in _]
        facts = [Fact(N_("block type"), type(block).__name__, "type of layer1.0")]
        for i, conv in enumerate(convs, 1):
            k = conv.kernel_size[0]
            facts.append(
                Fact(
                    f"conv{i}: {k}×{k} {conv.in_channels}→{conv.out_channels}",
                    conv.weight.numel(),
                    "weight.numel()" + (f" (groups={conv.groups})" if conv.groups > 1 else ""),
                )
            )
        block_convs = sum(c.weight.numel() for c in convs)
        facts.append(Fact(N_("block conv weights"), block_convs, "sum of the convs' weight.numel()"))
        facts.append(
            Fact(N_("has projection shortcut"), block.downsample is not None, "block.downsample is set")
        )
        # The paper's comparison at 256 channels: the bottleneck vs two plain 3×3s (built and counted).
        bottleneck = block_cost(BlockChoice("bottleneck", mid=64), 56, 56, 256, 256)
        plain = block_cost(BlockChoice("stack3x3", n=2), 56, 56, 256, 256)
        facts.append(
            Fact(N_("bottleneck 1×1→3×3→1×1 at 256 ch"), bottleneck.params, "built from nn.Conv2d, numel")
        )
        facts.append(Fact(N_("two 3×3 at 256 ch"), plain.params, "built from nn.Conv2d, numel"))
        return SignatureBlock(
            f"Residual {type(block).__name__} with a skip connection",
            name,
            N_(
                "The block learns F(x) and outputs F(x) + x, so the identity is always one step away; the "
                "bottleneck's 1×1 convs shrink and restore channels around the 3×3."
            ),
            tuple(facts),
        )


FAMILY = ResNet()
