"""A small U-Net (Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015) that labels every pixel of a synthetic scene as background or one of the digits.

The contracting path halves the resolution and doubles the channels at each level; the expanding path
upsamples with transposed convolutions and, at each level, concatenates the contracting path's feature map
of the same size (the skip connection), so fine positions lost to pooling come back for the last layers.
Padded convolutions keep the output the size of the input (the paper's valid convolutions crop instead).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cvviz.hooks import capture_outputs


def _double_conv(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """(N, 1, H, W) images → (N, C, H, W) class logits per pixel; H and W divisible by 2^(levels − 1).

    ``widths`` are the channels of each level, top to bottom (the last is the bottleneck)."""

    def __init__(self, classes: int = 11, widths: tuple[int, ...] = (12, 24, 48, 64)) -> None:
        super().__init__()
        self.widths = widths
        self.down = nn.ModuleList()
        inputs = 1
        for width in widths:
            self.down.append(_double_conv(inputs, width))
            inputs = width
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for width in reversed(widths[:-1]):
            self.upsample.append(nn.ConvTranspose2d(inputs, width, 2, stride=2))
            self.up.append(_double_conv(2 * width, width))
            inputs = width
        self.head = nn.Conv2d(inputs, classes, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        skips = []
        features = images
        for level, block in enumerate(self.down):
            if level:
                features = self.pool(features)
            features = block(features)
            skips.append(features)
        skips.pop()  # the bottleneck has no partner
        for upsample, block in zip(self.upsample, self.up):
            features = upsample(features)
            features = block(torch.cat([skips.pop(), features], dim=1))
        return self.head(features)


@dataclass(frozen=True)
class SkipLevel:
    """One level of the U: the contracting path's output (``encoder``, C×H×W), and where a decoder level
    exists, the upsampled map that meets it (``upsampled``) and the decoder's output after the
    concatenation (``decoder``); the bottleneck has neither."""

    level: int
    encoder: tuple[int, int, int]
    upsampled: tuple[int, int, int] | None
    decoder: tuple[int, int, int] | None


def skip_levels(model: UNet, size: int = 64) -> tuple[SkipLevel, ...]:
    """Every level's shapes, read from one forward pass of the model itself on a (1, 1, size, size)
    input (through hooks, removed afterwards), top level first."""
    levels = len(model.down)
    names = [f"down.{i}" for i in range(levels)]
    names += [f"upsample.{i}" for i in range(levels - 1)] + [f"up.{i}" for i in range(levels - 1)]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), capture_outputs(model, names) as seen:
            model(torch.zeros(1, 1, size, size))
    finally:
        model.train(was_training)

    def shape(name: str) -> tuple[int, int, int]:
        return tuple(int(side) for side in seen[name].shape[1:])  # type: ignore[return-value]

    result = []
    for level in range(levels):
        decoder_index = levels - 2 - level  # the decoder runs bottom-up
        has_decoder = level < levels - 1
        result.append(
            SkipLevel(
                level,
                shape(f"down.{level}"),
                shape(f"upsample.{decoder_index}") if has_decoder else None,
                shape(f"up.{decoder_index}") if has_decoder else None,
            )
        )
    return tuple(result)
