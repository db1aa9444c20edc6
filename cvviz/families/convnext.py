"""ConvNeXt (Liu et al. 2022): a ResNet modernised step by step with Transformer design choices."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, conv_layers, first_of_type, numel
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity

STAGES = ("features.0", "features.1", "features.3", "features.5", "features.7")


class ConvNeXt(Family):
    name = "ConvNeXt"

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(f"convnext_{size}", f"ConvNeXt-{size.title()}", self.name, "convnext", STAGES)
            for size in ("tiny", "small", "base", "large")
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        name, block = first_of_type(model, ("CNBlock",))
        depthwise = next(c for _, c in conv_layers(block) if c.groups > 1)
        linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
        c = depthwise.in_channels
        facts = (
            Fact(
                N_("depthwise kernel"),
                f"{depthwise.kernel_size[0]}×{depthwise.kernel_size[1]}",
                "block.0.kernel_size",
            ),
            Fact(N_("channels"), c, "block.0.in_channels"),
            Fact(N_("expansion"), linears[0].out_features // c, "first Linear out_features / channels"),
            Fact(N_("norm"), type(block.block[2]).__name__, "block.2"),
            Fact(N_("params"), numel(block), "numel() over the block"),
            Fact(
                N_("depthwise weights"),
                depthwise.weight.numel(),
                f"{depthwise.kernel_size[0]}·{depthwise.kernel_size[1]}·{c}",
            ),
        )
        return SignatureBlock(
            N_("ConvNeXt block: a ResNet modernised"),
            name,
            N_(
                "A 7×7 depthwise conv, LayerNorm, then an inverted bottleneck of two pointwise layers (×4 with "
                "GELU) — Transformer choices in a pure CNN."
            ),
            facts,
        )


FAMILY = ConvNeXt()
