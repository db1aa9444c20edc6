"""MobileNet V1, V2 and V3 (Howard et al. 2017, 2019; Sandler et al. 2018): depthwise-separable
convolutions and inverted residuals."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, conv_layers, expands, first_of_type
from cvviz.catalog.papers import PAPERS
from cvviz.catalog.schema import ModelSpec, Preprocessing
from cvviz.catalog.torchvision_meta import IMAGENET_CATEGORIES, torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity
from cvviz.models.architectures.mobilenet_v1 import mobilenet_v1


class MobileNet(Family):
    name = "MobileNet"

    def entries(self) -> list[ModelSpec]:
        return [
            ModelSpec(
                name="mobilenet_v1",
                title="MobileNet V1",
                family=self.name,
                paper=PAPERS["mobilenet_v1"],
                kind="cnn",
                builder=mobilenet_v1,
                preprocessing=Preprocessing(resize_size=256, crop_size=224),
                stages=("features.1", "features.3", "features.5", "features.11", "features.13"),
                categories=IMAGENET_CATEGORIES,
                notes="Written in cvviz (torchvision has no MobileNet V1); no pretrained weights ship with it.",
            ),
            torchvision_spec(
                "mobilenet_v2",
                "MobileNet V2",
                self.name,
                "mobilenet_v2",
                ("features.1", "features.3", "features.6", "features.13", "features.18"),
            ),
            torchvision_spec(
                "mobilenet_v3_small",
                "MobileNet V3 Small",
                self.name,
                "mobilenet_v3",
                ("features.0", "features.1", "features.3", "features.8", "features.12"),
            ),
            torchvision_spec(
                "mobilenet_v3_large",
                "MobileNet V3 Large",
                self.name,
                "mobilenet_v3",
                ("features.1", "features.3", "features.6", "features.12", "features.16"),
            ),
        ]

    def width_kwargs(self, spec: ModelSpec, width: float) -> dict:
        """Every MobileNet takes a width multiplier α that thins every layer (Howard et al. 2017, §4.2)."""
        return {"width_mult": width}

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        found = first_of_type(model, ("InvertedResidual",))
        if found is None:
            name, block = first_of_type(model, ("DepthwiseSeparableConv",))
            description = "A per-channel 3×3 (depthwise) then a 1×1 that mixes channels (pointwise)."
            title = "Depthwise-separable convolution"
        else:
            name, block = next(
                (n, m)
                for n, m in model.named_modules()
                if type(m).__name__ == "InvertedResidual" and expands(m)
            )
            description = (
                "Inverted residual: a 1×1 expands the thin input, a depthwise 3×3 filters it, and a linear 1×1 "
                "projects back, with a skip between the thin ends."
            )
            title = "Inverted residual with a depthwise convolution"
        convs = [c for _, c in conv_layers(block)]
        depthwise = next(c for c in convs if c.groups == c.in_channels and c.groups > 1)
        pointwise = convs[-1]
        c_in, c_out, k = depthwise.in_channels, pointwise.out_channels, depthwise.kernel_size[0]
        separable = depthwise.weight.numel() + pointwise.weight.numel()
        standard = k * k * c_in * c_out
        facts = [
            Fact(
                N_("depthwise kernel"), f"{k}×{k} on {c_in} channels", "the conv with groups == in_channels"
            ),
            Fact(N_("depthwise + pointwise weights"), separable, "weight.numel() of both convs"),
            Fact(f"standard {k}×{k} {c_in}→{c_out} weights", standard, f"{k}·{k}·{c_in}·{c_out}"),
            Fact(N_("cost ratio"), round(separable / standard, 4), f"= 1/{c_out} + 1/{k * k}"),
        ]
        if found is not None:
            expand = convs[0]
            facts.insert(
                0,
                Fact(
                    N_("expand ratio"),
                    round(expand.out_channels / expand.in_channels, 4),
                    "1×1 expand out/in",
                ),
            )
        return SignatureBlock(title, name, description, tuple(facts))


FAMILY = MobileNet()
