"""SqueezeNet (Iandola et al. 2016): fire modules, AlexNet accuracy with 50× fewer parameters."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, first_of_type, numel
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity


class SqueezeNet(Family):
    name = "SqueezeNet"

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(
                "squeezenet1_0",
                "SqueezeNet 1.0",
                self.name,
                "squeezenet",
                ("features.1", "features.5", "features.10", "features.12"),
            ),
            torchvision_spec(
                "squeezenet1_1",
                "SqueezeNet 1.1",
                self.name,
                "squeezenet",
                ("features.1", "features.4", "features.7", "features.12"),
            ),
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        name, fire = first_of_type(model, ("Fire",))
        facts = (
            Fact(N_("input channels"), fire.squeeze.in_channels, "squeeze.in_channels"),
            Fact(N_("squeeze 1×1"), fire.squeeze.out_channels, "squeeze.out_channels"),
            Fact(N_("expand 1×1"), fire.expand1x1.out_channels, "expand1x1.out_channels"),
            Fact(N_("expand 3×3"), fire.expand3x3.out_channels, "expand3x3.out_channels"),
            Fact(
                N_("output channels"),
                fire.expand1x1.out_channels + fire.expand3x3.out_channels,
                "1×1 + 3×3 expands",
            ),
            Fact(N_("params"), numel(fire), "numel() over the module"),
            Fact(
                N_("params of a plain 3×3 in→out"),
                9 * fire.squeeze.in_channels * (fire.expand1x1.out_channels + fire.expand3x3.out_channels),
                "3·3·C_in·C_out",
            ),
        )
        return SignatureBlock(
            N_("Fire module: squeeze, then expand"),
            name,
            N_(
                "A 1×1 squeeze layer cuts the channels, then 1×1 and 3×3 expand layers run in parallel and are "
                "concatenated: AlexNet accuracy with 50× fewer parameters."
            ),
            facts,
        )


FAMILY = SqueezeNet()
