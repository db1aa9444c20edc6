"""MobileNet V1: a VGG-like stack built from depthwise-separable convolutions.

Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
arXiv:1704.04861, 2017.

The key idea is to split a standard K×K convolution (which filters and mixes channels at once) into a
depthwise K×K convolution that filters each channel on its own and a pointwise 1×1 convolution that
mixes channels. For 3×3 kernels this costs about 8–9 times fewer multiply-adds for a small loss in
accuracy (paper, Section 3.1).
"""

from __future__ import annotations

import torch
from torch import nn

from cvviz.i18n import _

__all__ = ["DepthwiseSeparableConv", "MobileNetV1", "mobilenet_v1"]

# (output channels, stride) of the 13 depthwise-separable blocks, from the paper's Table 1. The table
# lists the second-to-last depthwise layer as "s2", but its own 7×7 input and output sizes show that
# stride is 1; the reference TensorFlow implementation uses 1 too.
_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)
_STEM_CHANNELS = 32


def _scaled_channels(channels: int, width_mult: float, min_channels: int = 8) -> int:
    """Channels thinned by the width multiplier α, never below 8 (as TF-slim's reference V1 does)."""
    return max(int(channels * width_mult), min_channels)


class ConvBNReLU(nn.Sequential):
    """Convolution (no bias), batch norm, ReLU: (N, C_in, H, W) → (N, C_out, H/stride, W/stride)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class DepthwiseSeparableConv(nn.Module):
    """A depthwise 3×3 convolution then a pointwise 1×1 convolution, each with batch norm and ReLU.

    ``depthwise`` (groups = in_channels) filters every channel separately and carries the stride;
    ``pointwise`` mixes channels. (N, C_in, H, W) → (N, C_out, H/stride, W/stride).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = ConvBNReLU(in_channels, in_channels, 3, stride=stride, groups=in_channels)
        self.pointwise = ConvBNReLU(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class MobileNetV1(nn.Module):
    """MobileNet V1 with width multiplier ``width_mult`` (the paper's α).

    ``features`` is the 3×3 stride-2 stem followed by the 13 ``DepthwiseSeparableConv`` blocks:
    (N, 3, 224, 224) → (N, 1024·α, 7, 7). Then ``avgpool`` → (N, 1024·α, 1, 1) and ``classifier``
    (dropout, linear) → (N, num_classes) logits. Any input of at least 32×32 works.
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.001) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(
                _("width_mult must be positive, got {width_mult}.").format(width_mult=width_mult)
            )
        in_channels = _scaled_channels(_STEM_CHANNELS, width_mult)
        layers: list[nn.Module] = [ConvBNReLU(3, in_channels, 3, stride=2)]
        for channels, stride in _BLOCKS:
            out_channels = _scaled_channels(channels, width_mult)
            layers.append(DepthwiseSeparableConv(in_channels, out_channels, stride))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        # The reference implementations drop very little: TF-slim keeps 0.999, Keras drops 1e-3.
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(in_channels, num_classes))
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images → (N, num_classes) logits."""
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _init_weights(model: nn.Module) -> None:
    """The initialisation torchvision uses for its MobileNets."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


def mobilenet_v1(num_classes: int = 1000, width_mult: float = 1.0) -> MobileNetV1:
    """MobileNet V1 with randomly initialised weights (torchvision ships no pretrained V1)."""
    return MobileNetV1(num_classes=num_classes, width_mult=width_mult)
