"""VGG (Simonyan & Zisserman 2014): stacks of 3×3 convolutions, with and without batch norm."""

from __future__ import annotations

import itertools

import torchvision.models as tvm
from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity


def vgg_stages(config: str, batch_norm: bool) -> tuple[str, ...]:
    """The ReLU just before each max-pool of a VGG ``features`` stack (five stages)."""
    stages, index = [], 0
    for item in tvm.vgg.cfgs[config]:
        if item == "M":
            stages.append(f"features.{index - 1}")
            index += 1
        else:
            index += 3 if batch_norm else 2
    return tuple(stages)


DEPTHS = (("11", "A"), ("13", "B"), ("16", "D"), ("19", "E"))


class VGG(Family):
    name = "VGG"

    def entries(self) -> list[ModelSpec]:
        plain = [
            torchvision_spec(f"vgg{depth}", f"VGG-{depth}", self.name, "vgg", vgg_stages(config, False))
            for depth, config in DEPTHS
        ]
        normed = [
            torchvision_spec(
                f"vgg{depth}_bn", f"VGG-{depth} (BN)", self.name, "vgg", vgg_stages(config, True)
            )
            for depth, config in DEPTHS
        ]
        return plain + normed

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """Five blocks of 3×3 convolutions, each ended by a max-pool."""
        return tuple(f"block {i}" for i in range(1, len(spec.stages) + 1))

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        features = model.features
        stage, start = [], None
        for index, layer in enumerate(features):  # the first stage that stacks two or more 3×3 convs
            if isinstance(layer, nn.MaxPool2d):
                if len(stage) >= 2:
                    break
                stage, start = [], None
            elif isinstance(layer, nn.Conv2d):
                start = index if start is None else start
                stage.append(layer)
        if len(stage) < 2:  # VGG-11's first stages hold one conv each; fall back to the first conv pair
            convs = [m for m in features if isinstance(m, nn.Conv2d)]
            pairs = [
                (a, b)
                for a, b in itertools.pairwise(convs)
                if a.out_channels == b.in_channels == b.out_channels
            ]
            stage = list(pairs[0])
            start = list(features).index(stage[0])
        first, second = stage[0], stage[1]
        c_in, c_out = second.in_channels, second.out_channels
        two = second.weight.numel() * 2
        five = 5 * 5 * c_in * c_out
        facts = (
            Fact(N_("convs in the stage"), len(stage), "Conv2d modules before the stage's max-pool"),
            Fact(N_("channels"), c_out, "out_channels of the stage's convs"),
            Fact(N_("receptive field of two 3×3"), 5, "1 + 2·(3 − 1)"),
            Fact(N_("weights of two 3×3"), two, f"2 × weight.numel() of a 3×3 {c_in}→{c_out} conv"),
            Fact(N_("weights of one 5×5"), five, f"5·5·{c_in}·{c_out}"),
            Fact(N_("saving"), round(1 - two / five, 4), "1 − (2·3·3)/(5·5)"),
            Fact(N_("first conv weights"), first.weight.numel(), "weight.numel()"),
        )
        return SignatureBlock(
            N_("A stage of stacked 3×3 convolutions"),
            f"features.{start}",
            N_(
                "Two 3×3 convolutions see a 5×5 window with 18C² weights instead of 25C², and add a ReLU between."
            ),
            facts,
        )


FAMILY = VGG()
