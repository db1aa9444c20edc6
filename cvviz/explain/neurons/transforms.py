"""Random transformations applied to the image at every optimisation step: what makes a visualisation
robust instead of adversarial noise (Olah et al. 2017, "Feature Visualization", section on
transformation robustness; the values are Lucid's ``standard_transforms``).

Each step pads the image, shifts it by a few pixels, scales it by up to ±10 %, rotates it by up to ±10° and
shifts it again; the unit must respond to every such version, so only features that survive them remain.
All draws come from the caller's generator, so a run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SCALES = tuple(1 + (i - 5) / 50 for i in range(11))
ANGLES = tuple(range(-10, 11))


def _choice(options: tuple, generator: torch.Generator):
    return options[int(torch.randint(len(options), (1,), generator=generator))]


def jitter(image: torch.Tensor, pixels: int, generator: torch.Generator) -> torch.Tensor:
    """Crop (B, C, H, W) by ``pixels`` at a random offset (every image of the batch alike)."""
    if pixels <= 0:
        return image
    dy, dx = (int(v) for v in torch.randint(pixels + 1, (2,), generator=generator))
    height, width = image.shape[-2:]
    return image[..., dy : dy + height - pixels, dx : dx + width - pixels]


def scale_and_rotate(image: torch.Tensor, scale: float, degrees: float) -> torch.Tensor:
    """Resample (B, C, H, W) scaled by ``scale`` and rotated by ``degrees`` about its centre (same size;
    pixels that come from outside take the border's value)."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=image.dtype, device=image.device)
    grid = F.affine_grid(theta.expand(image.shape[0], 2, 3), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)


@dataclass(frozen=True)
class Robustness:
    """The transformations and their strength: ``pad`` pixels of mid-grey, a first ``jitter``, ``scales``
    and ``angles`` (degrees) drawn uniformly, and a second, finer jitter of ``fine_jitter`` pixels."""

    pad: int = 12
    jitter: int = 8
    scales: tuple[float, ...] = SCALES
    angles: tuple[float, ...] = ANGLES
    fine_jitter: int = 4

    def __call__(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A randomly transformed copy of the batch ``image`` (B, C, H, W), resized back to (H, W)."""
        size = tuple(image.shape[-2:])
        out = F.pad(image, [self.pad] * 4, mode="constant", value=0.5)
        out = jitter(out, self.jitter, generator)
        scale, degrees = _choice(self.scales, generator), _choice(self.angles, generator)
        if scale != 1.0 or degrees != 0:
            out = scale_and_rotate(out, scale, degrees)
        out = jitter(out, self.fine_jitter, generator)
        if tuple(out.shape[-2:]) != size:
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        return out


STANDARD = Robustness()
NONE = Robustness(pad=0, jitter=0, scales=(1.0,), angles=(0.0,), fine_jitter=0)
