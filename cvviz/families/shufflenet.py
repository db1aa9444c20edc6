"""ShuffleNet V2 (Ma et al. 2018): channel split and channel shuffle."""

from __future__ import annotations

import torch
from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, first_of_type, numel
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_, _
from cvviz.measure.complexity import Complexity

STAGES = ("conv1", "stage2", "stage3", "stage4", "conv5")


class ShuffleNet(Family):
    name = "ShuffleNet"

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(
                f"shufflenet_v2_x{width}",
                f"ShuffleNet V2 ×{width.replace('_', '.')}",
                self.name,
                "shufflenet_v2",
                STAGES,
            )
            for width in ("0_5", "1_0", "1_5", "2_0")
        ]

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """The paper's own names: conv1, stages 2–4 and conv5 (Ma et al. 2018, Table 5)."""
        return ("conv1", *(_("stage {n}").format(n=n) for n in (2, 3, 4)), "conv5")

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        name, block = first_of_type(model, ("InvertedResidual",))
        channels = block.branch2[0].out_channels * 2
        groups = 2
        order = torch.arange(channels).reshape(groups, channels // groups).t().reshape(-1)
        permutation = order.tolist()
        shown = ", ".join(str(i) for i in permutation[:12])
        facts = (
            Fact(N_("output channels"), channels, "2 × branch2[0].out_channels (two branches concatenated)"),
            Fact(N_("groups shuffled"), groups, "torchvision channel_shuffle(x, 2)"),
            Fact(N_("shuffle permutation (first 12)"), shown, "reshape (2, C/2) → transpose → flatten"),
            Fact(N_("params"), numel(block), "numel() over the unit"),
        )
        return SignatureBlock(
            N_("Channel split and channel shuffle"),
            name,
            N_(
                "Half the channels pass through, half go through a cheap branch; a shuffle then interleaves the two "
                "halves so the next unit's split mixes information from both."
            ),
            facts,
            (N_("output position"), N_("comes from channel")),
            tuple((i, p) for i, p in enumerate(permutation)),
        )


FAMILY = ShuffleNet()
