"""How the optimised image is represented: Fourier coefficients with a 1/f scale, colours decorrelated.

Optimising pixels directly gives high-frequency noise that excites a unit without showing anything. Lucid's
answer (Olah, Mordvintsev, Schubert, "Feature Visualization", Distill 2017) is to optimise in a space where
the gradient is whitened: the image's 2-D Fourier spectrum, each frequency scaled by 1/f so that every
frequency gets about the same energy as in natural images, and colour through the square root of ImageNet's
colour covariance, so that steps move decorrelated colour directions. A sigmoid keeps pixels in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

# The square root of ImageNet's RGB covariance from its singular value decomposition (as used by Lucid).
COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float32
)
_MAX_NORM_SVD_SQRT = float(COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max())
_COLOR_MATRIX = COLOR_CORRELATION_SVD_SQRT / _MAX_NORM_SVD_SQRT


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> torch.Tensor:
    """(H, W//2+1): 1/f for every frequency of a real 2-D FFT (f floored at 1/max(H, W)).

    With the orthonormal inverse FFT this is Lucid's scale (there √(H·W) times an unnormalised inverse)."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    frequencies = torch.sqrt(fx * fx + fy * fy)
    return 1.0 / torch.clamp(frequencies, min=1.0 / max(height, width)) ** decay_power


class ImageParam(nn.Module):
    """A batch of ``batch`` images (B, channels, size, size) in [0, 1], parametrised for optimisation.

    ``fft``: optimise a 1/f-scaled Fourier spectrum (else pixels); ``decorrelate``: colours through
    :data:`COLOR_CORRELATION_SVD_SQRT` (three-channel images only). Image ``b`` starts from small noise
    drawn with the seed ``seeds[b]``, so each image's run is reproducible whatever else is in the batch.
    """

    def __init__(
        self,
        seeds: list[int] | tuple[int, ...],
        size: int,
        channels: int = 3,
        *,
        fft: bool = True,
        decorrelate: bool = True,
        sd: float = 0.01,
    ) -> None:
        super().__init__()
        self.size = size
        self.fft = fft
        self.decorrelate = decorrelate and channels == 3
        if fft:
            shape = (channels, size, size // 2 + 1, 2)
            self.register_buffer("scale", spectrum_scale(size, size)[None, None, :, :, None])
        else:
            shape = (channels, size, size)
        start = [torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        self.values = nn.Parameter(torch.stack(start) * sd)

    def forward(self) -> torch.Tensor:
        if self.fft:
            spectrum = torch.view_as_complex((self.scale * self.values).contiguous())
            image = torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho") / 4.0
        else:
            image = self.values
        if self.decorrelate:
            image = torch.einsum("ij,bjhw->bihw", _COLOR_MATRIX.to(image), image)
        return torch.sigmoid(image)
