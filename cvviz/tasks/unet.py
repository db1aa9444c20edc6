"""A small U-Net (Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015) that labels every pixel of a synthetic scene as background or one of the digits.

The contracting path halves the resolution and doubles the channels at each level; the expanding path
upsamples with transposed convolutions and, at each level, concatenates the contracting path's feature map
of the same size (the skip connection), so fine positions lost to pooling come back for the last layers.
Padded convolutions keep the output the size of the input (the paper's valid convolutions crop instead).

The U works at half the scene's resolution (``stride`` 2): the image is averaged over 2×2 pixels on the
way in and the class scores are upsampled bilinearly ×2 on the way out. The scenes' digits are 8×8 bitmaps
drawn 14–30 pixels tall, so at half resolution each bitmap pixel still spans one to two pixels and nearly
all of a digit's shape is kept, while every convolution costs a quarter and each level's receptive field
covers twice as much of a digit. The default run trains in under a minute on one CPU core and scores a
higher held-out mIoU than the same U at full resolution reached in well over two (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

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
    """(N, 1, H, W) images → (N, C, H, W) class logits per pixel; H and W divisible by
    stride · 2^(levels − 1).

    ``widths`` are the channels of each level, top to bottom (the last is the bottleneck); ``stride`` is how
    many image pixels one pixel of the top level spans (the input is average-pooled by it, the logits
    upsampled by it; 1 is the paper's full-resolution U)."""

    def __init__(
        self, classes: int = 11, widths: tuple[int, ...] = (12, 24, 48, 64), stride: int = 2
    ) -> None:
        super().__init__()
        self.widths, self.stride = widths, stride
        self.shrink = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.enlarge = (
            nn.Upsample(scale_factor=stride, mode="bilinear", align_corners=False)
            if stride > 1
            else nn.Identity()
        )
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
        features = self.shrink(images)
        for level, block in enumerate(self.down):
            if level:
                features = self.pool(features)
            features = block(features)
            skips.append(features)
        skips.pop()  # the bottleneck has no partner
        for upsample, block in zip(self.upsample, self.up):
            features = upsample(features)
            features = block(torch.cat([skips.pop(), features], dim=1))
        return self.enlarge(self.head(features))


def segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, background_weight: float = 0.1, dice_weight: float = 1.0
) -> torch.Tensor:
    """Cross-entropy per pixel plus soft Dice over the foreground classes, for (N, C, H, W) ``logits`` and
    (N, H, W) ``target`` labels (0 is background).

    Background is about nine pixels in ten: its cross-entropy weighs ``background_weight`` (a class's pixel
    weighs 1), so that the strokes are not drowned. The Dice term (Milletari, Navab & Ahmadi, "V-Net",
    3DV 2016), 1 − 2|P∩T| / (|P| + |T|) per class over the whole batch with soft predictions, averaged over
    classes 1…C−1, scores each digit by its overlap whatever its size, which is what mIoU rewards: thin
    strokes count as much as thick ones."""
    classes = logits.shape[1]
    weights = torch.ones(classes, dtype=logits.dtype)
    weights[0] = background_weight
    loss = F.cross_entropy(logits, target, weight=weights)
    if dice_weight:
        probs = logits.softmax(dim=1)[:, 1:]
        truth = F.one_hot(target, classes).permute(0, 3, 1, 2)[:, 1:].to(probs.dtype)
        overlap = (probs * truth).sum(dim=(0, 2, 3))
        sizes = probs.sum(dim=(0, 2, 3)) + truth.sum(dim=(0, 2, 3))
        loss = loss + dice_weight * (1 - (2 * overlap + 1) / (sizes + 1)).mean()
    return loss


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
    input (through hooks, removed afterwards), top level first (the top level is ``size / model.stride``
    pixels wide)."""
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
