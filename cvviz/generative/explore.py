"""A trained generative model's latent space, as arrays to draw: the test digits encoded (projected on their
two principal directions when the code is larger than 2), a grid of codes over that plane decoded, a code
picked on it decoded, interpolations between two digits (or two noise vectors) and fresh samples.

Every picture is (…, 32, 32) pixels in [0, 1]. The model is rebuilt from the result for each call (a few
milliseconds), so nothing here holds on to a network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cvviz.errors import CvvizError
from cvviz.generative.loop import add_noise, model_from_result, reconstruct, to_pixels
from cvviz.generative.maths import lerp, pca_plane, slerp
from cvviz.generative.models import GAN, VAE
from cvviz.generative.results import GenerativeResult, SavedModel
from cvviz.i18n import _
from cvviz.training.data import Dataset

GRID_MARGIN = 0.02
"""The decoded grid spans the encoded digits' 2nd to 98th percentile on each axis."""


class ExploreError(CvvizError, ValueError):
    """A request the model cannot answer (an autoencoder asked for samples, an image index out of range)."""


@dataclass(frozen=True)
class LatentMap:
    """The test digits in the code space: ``codes`` (N, D), their labels (N,) and their positions on the
    plane drawn (N, 2). For D = 2 the plane is the code itself; otherwise it is the codes' two principal
    directions ``basis`` (2, D) through their ``mean`` (D,) (``projected`` is then True). ``extent`` is
    (x_min, x_max, y_min, y_max) of the decoded grid."""

    codes: np.ndarray
    labels: np.ndarray
    points: np.ndarray
    mean: np.ndarray
    basis: np.ndarray
    extent: tuple[float, float, float, float]

    @property
    def projected(self) -> bool:
        return self.codes.shape[1] != 2

    def to_code(self, x: float, y: float) -> np.ndarray:
        """The code (D,) at point (x, y) of the plane."""
        return self.mean + x * self.basis[0] + y * self.basis[1]


def _autoencoder(result: GenerativeResult | SavedModel) -> nn.Module:
    model = model_from_result(result)
    if isinstance(model, GAN):
        raise ExploreError(_("A GAN has no encoder: it only maps noise to digits."))
    return model


def digit_pixels(dataset: Dataset, indices: list[int] | np.ndarray) -> np.ndarray:
    """Test images ``indices`` as (K, 32, 32) pixels in [0, 1]."""
    count = len(dataset.test)
    bad = [int(i) for i in indices if not 0 <= int(i) < count]
    if bad:
        raise ExploreError(
            _("There is no test image {index}; choose one from 0 to {last}.").format(
                index=bad[0], last=count - 1
            )
        )
    chosen = dataset.test.images[torch.as_tensor(np.asarray(indices, dtype=np.int64))]
    return to_pixels(chosen)[:, 0].numpy()


@torch.inference_mode()
def latent_map(result: GenerativeResult | SavedModel, dataset: Dataset) -> LatentMap:
    """Every test digit encoded (the VAE's mean code), with the plane to draw them on."""
    model = _autoencoder(result)
    codes = model.encode(to_pixels(dataset.test.images)).numpy().astype(np.float64)
    mean, basis = pca_plane(codes)
    points = (codes - mean) @ basis.T
    low = np.percentile(points, 100 * GRID_MARGIN, axis=0)
    high = np.percentile(points, 100 * (1 - GRID_MARGIN), axis=0)
    extent = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    return LatentMap(codes, dataset.test.labels.numpy(), points, mean, basis, extent)


@torch.inference_mode()
def _decode(model: nn.Module, codes: np.ndarray) -> np.ndarray:
    return model.decode(torch.as_tensor(codes, dtype=torch.float32))[:, 0].numpy()


def decoded_grid(result: GenerativeResult | SavedModel, plane: LatentMap, steps: int = 12) -> np.ndarray:
    """(steps, steps, 32, 32): the decoder's image at evenly spaced points of the plane's ``extent``; rows
    from the top (largest y) down, columns from the left (smallest x)."""
    model = _autoencoder(result)
    x0, x1, y0, y1 = plane.extent
    xs, ys = np.linspace(x0, x1, steps), np.linspace(y1, y0, steps)
    codes = np.array([plane.to_code(x, y) for y in ys for x in xs])
    return _decode(model, codes).reshape(steps, steps, 32, 32)


def decode_point(result: GenerativeResult | SavedModel, plane: LatentMap, x: float, y: float) -> np.ndarray:
    """The decoder's image (32, 32) at point (x, y) of the plane."""
    return _decode(_autoencoder(result), plane.to_code(x, y)[None])[0]


@torch.inference_mode()
def interpolate_digits(
    result: GenerativeResult | SavedModel, dataset: Dataset, first: int, second: int, steps: int = 8
) -> np.ndarray:
    """(steps, 32, 32): test digits ``first`` and ``second`` encoded, the straight line between their codes
    decoded (both ends included)."""
    model = _autoencoder(result)
    pixels = torch.as_tensor(digit_pixels(dataset, [first, second]))[:, None]
    codes = model.encode(pixels)
    return model.decode(lerp(codes[0], codes[1], steps))[:, 0].numpy()


def noise_vector(latent: int, seed: int) -> torch.Tensor:
    """The GAN's input noise (latent,) ~ N(0, I) drawn with ``seed``: a digit is named by its seed."""
    return torch.randn(latent, generator=torch.Generator().manual_seed(seed))


@torch.inference_mode()
def interpolate_noise(
    result: GenerativeResult | SavedModel, first: int, second: int, steps: int = 8, spherical: bool = True
) -> np.ndarray:
    """(steps, 32, 32): the GAN's images along the path between the noise of seeds ``first`` and
    ``second``, spherical (default) or straight."""
    model = model_from_result(result)
    if not isinstance(model, GAN):
        raise ExploreError(_("Noise interpolation needs a GAN; interpolate between two digits instead."))
    start, end = noise_vector(model.latent, first), noise_vector(model.latent, second)
    path = slerp(start, end, steps) if spherical else lerp(start, end, steps)
    return to_pixels(model.generator(path))[:, 0].numpy()


@torch.inference_mode()
def samples(result: GenerativeResult | SavedModel, count: int = 16, seed: int = 0) -> np.ndarray:
    """(count, 32, 32) new digits: the GAN's from noise, the VAE's decoded from codes drawn from its prior
    N(0, I). A plain autoencoder has no distribution to draw codes from, and is refused."""
    model = model_from_result(result)
    generator = torch.Generator().manual_seed(seed)
    if isinstance(model, GAN):
        return to_pixels(model.generator(torch.randn(count, model.latent, generator=generator)))[:, 0].numpy()
    if isinstance(model, VAE):
        return model.decode(torch.randn(count, model.latent, generator=generator))[:, 0].numpy()
    raise ExploreError(
        _("An autoencoder has no prior to sample codes from; train a VAE or a GAN to make new digits.")
    )


@dataclass(frozen=True)
class Reconstructions:
    """Test digits (K, 32, 32), what the model saw of them (the noisy versions for the denoising AE) and
    its reconstructions; the mean squared error per pixel of each (K,)."""

    inputs: np.ndarray
    seen: np.ndarray
    outputs: np.ndarray
    errors: np.ndarray


def reconstructions(
    result: GenerativeResult | SavedModel,
    dataset: Dataset,
    indices: list[int],
    noise: float = 0.0,
    seed: int = 0,
) -> Reconstructions:
    """Test digits ``indices`` through the autoencoder, with Gaussian noise of standard deviation
    ``noise`` added to what it sees (0: clean)."""
    model = _autoencoder(result)
    pixels = torch.as_tensor(digit_pixels(dataset, indices))[:, None]
    seen = add_noise(pixels, noise, torch.Generator().manual_seed(seed)) if noise > 0 else pixels
    outputs = reconstruct(model, seen)
    errors = ((outputs - pixels) ** 2).mean(dim=(1, 2, 3)).numpy()
    return Reconstructions(pixels[:, 0].numpy(), seen[:, 0].numpy(), outputs[:, 0].numpy(), errors)


def tile_digits(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """Digits (N, H, W), pixels in [0, 1], tiled row by row, ``columns`` to a row, into one grey picture
    (H', W') of unsigned bytes with black ``gap``-pixel gutters (what ``generate --out`` saves)."""
    count, height, width = images.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    tiled = np.zeros((rows * (height + gap) - gap, columns * (width + gap) - gap))
    for index, digit in enumerate(images):
        r, c = divmod(index, columns)
        tiled[
            r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width
        ] = np.clip(digit, 0, 1)
    return (tiled * 255).round().astype(np.uint8)


def digit_labels(dataset: Dataset) -> np.ndarray:
    """The class (N,) of every test image."""
    return dataset.test.labels.numpy()
