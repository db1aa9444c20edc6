"""Masked autoencoders (He et al. 2022, https://arxiv.org/abs/2111.06377): hide most patches, rebuild them.

The encoder (a ViT) sees only the visible patches; a light decoder gets their encodings plus a shared
mask token at every hidden position and predicts every patch's pixels (the model:
:class:`cvviz.models.architectures.mae.MaskedAutoencoder`, a catalog entry of the MAE family). Training
minimises the mean squared error on the hidden patches only, against each patch's pixels normalised by
its own mean and variance (:func:`mae_loss`).

Shapes: an image batch is (N, 3, H, W); patches are (N, L, p·p·3) with L = (H/p)·(W/p) in row-major
order, each patch's values ordered (row, column, channel) as in the authors' ``patchify``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.models.architectures.mae import MaskedAutoencoder


class MaskError(CvvizError, ValueError):
    """A mask ratio or a painted mask that cannot be used."""


# --- Patches and masks --------------------------------------------------------------------------------


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) → (N, L, p·p·C): the patches in row-major order, each flattened (row, col, channel)."""
    n, c, h, w = images.shape
    if h % patch or w % patch:
        raise MaskError(_("The image side must be a multiple of the patch size {patch}.").format(patch=patch))
    rows, cols = h // patch, w // patch
    x = images.reshape(n, c, rows, patch, cols, patch)
    return torch.einsum("nchpwq->nhwpqc", x).reshape(n, rows * cols, patch * patch * c)


def unpatchify(patches: torch.Tensor, patch: int, grid: tuple[int, int], channels: int = 3) -> torch.Tensor:
    """The inverse of :func:`patchify`: (N, L, p·p·C) with L = rows·cols → (N, C, rows·p, cols·p)."""
    n = patches.shape[0]
    rows, cols = grid
    x = patches.reshape(n, rows, cols, patch, patch, channels)
    return torch.einsum("nhwpqc->nchpwq", x).reshape(n, channels, rows * patch, cols * patch)


def kept_count(num_patches: int, ratio: float) -> int:
    """How many patches stay visible at mask ``ratio``: round(N·(1 − ratio)), at least one."""
    return max(1, round(num_patches * (1.0 - ratio)))


def random_mask(num_patches: int, ratio: float, seed: int = 0) -> np.ndarray:
    """A boolean mask over ``num_patches`` (True = hidden) hiding a uniformly random subset, so that
    exactly :func:`kept_count` patches stay visible; the same seed gives the same mask.

    As in the paper: draw one uniform noise value per patch and keep the patches with the smallest.
    """
    if not 0.0 <= ratio < 1.0:
        raise MaskError(_("The mask ratio must be at least 0 and below 1 (got {ratio}).").format(ratio=ratio))
    noise = torch.rand(num_patches, generator=torch.Generator().manual_seed(int(seed)))
    keep = torch.argsort(noise)[: kept_count(num_patches, ratio)]
    mask = np.ones(num_patches, dtype=bool)
    mask[keep.numpy()] = False
    return mask


def check_mask(mask: np.ndarray, num_patches: int) -> np.ndarray:
    """``mask`` as a flat boolean array of ``num_patches`` with at least one visible patch."""
    flat = np.asarray(mask, dtype=bool).reshape(-1)
    if flat.size != num_patches:
        raise MaskError(
            _("The mask has {got} patches; the model cuts the image into {expected}.").format(
                got=flat.size, expected=num_patches
            )
        )
    if flat.all():
        raise MaskError(_("Every patch is hidden: leave at least one visible for the encoder."))
    return flat


def toggle_patch(mask: np.ndarray, patch: tuple[int, int]) -> np.ndarray:
    """A copy of ``mask`` (rows, cols) with one patch hidden or shown again; the last visible patch
    stays visible (the encoder needs at least one)."""
    toggled = np.array(mask, dtype=bool, copy=True)
    toggled[patch] = not toggled[patch]
    if toggled.all():
        toggled[patch] = False
    return toggled


def normalised_patches(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Each patch's values minus its mean, over the square root of its (unbiased) variance plus ``eps``:
    the target of MAE's ``norm_pix_loss``."""
    mean = patches.mean(dim=-1, keepdim=True)
    var = patches.var(dim=-1, keepdim=True)
    return (patches - mean) / (var + eps) ** 0.5


def mae_loss(
    images: torch.Tensor, predicted: torch.Tensor, mask: torch.Tensor, patch: int, norm_pix: bool = True
) -> torch.Tensor:
    """MAE's training loss: the per-patch mean squared error averaged over the hidden patches only.

    ``images`` (N, 3, H, W); ``predicted`` (N, L, p·p·3); ``mask`` (L,) or (N, L), 1 = hidden. With
    ``norm_pix`` (the paper's default) each target patch is normalised by its own mean and variance.
    """
    target = patchify(images, patch)
    if norm_pix:
        target = normalised_patches(target)
    per_patch = ((predicted - target) ** 2).mean(dim=-1)
    weights = mask.to(per_patch.dtype).expand_as(per_patch)
    return (per_patch * weights).sum() / weights.sum()


# --- One image, the four panels of the paper ----------------------------------------------------------


@dataclass(frozen=True)
class Reconstruction:
    """MAE on one image. Images are (H, W, 3) floats in [0, 1]; grids are (rows, cols).

    ``mask`` is True where a patch was hidden; ``error`` is each patch's mean squared error in the
    normalised pixel space the model predicts (the loss counts the hidden ones only); ``loss`` is that
    mean over hidden patches.
    """

    original: np.ndarray
    masked: np.ndarray
    reconstruction: np.ndarray
    pasted: np.ndarray
    mask: np.ndarray
    error: np.ndarray
    loss: float
    patch_size: int

    @property
    def grid(self) -> tuple[int, int]:
        return self.mask.shape

    @property
    def hidden_share(self) -> float:
        """The share of patches hidden."""
        return float(self.mask.mean())


def _to_pixels(normalised: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> np.ndarray:
    image = (normalised[0] * std + mean).clamp(0, 1)
    return image.permute(1, 2, 0).float().cpu().numpy()


def reconstruct(
    model: MaskedAutoencoder,
    batch: torch.Tensor,
    mask: np.ndarray,
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> Reconstruction:
    """Run MAE on the first image of ``batch`` (1, 3, H, W), normalised by ``mean``/``std``, hiding the
    patches where ``mask`` is True; returns the paper's four panels and the per-patch error.

    The published visualisation model was trained on plain normalised pixels (no per-patch
    normalisation), so its prediction is drawn directly and its error measured against those pixels.
    """
    flat = check_mask(mask, model.num_patches)
    hidden = torch.from_numpy(flat).to(batch.device)
    patch = model.patch_size
    grid = (model.grid, model.grid)
    with torch.inference_mode():
        predicted = model(batch[:1], hidden)
        target = patchify(batch[:1], patch)
        error = ((predicted - target) ** 2).mean(dim=-1)[0]
        loss = float(mae_loss(batch[:1], predicted, hidden, patch, norm_pix=False))
        keep = (~hidden).to(batch.dtype)[None, :, None]
        pasted = predicted * (1 - keep) + target * keep
        masked = target * keep
        m = torch.tensor(mean, device=batch.device).view(3, 1, 1)
        s = torch.tensor(std, device=batch.device).view(3, 1, 1)
        original = _to_pixels(batch[:1], m, s)
        reconstruction = _to_pixels(unpatchify(predicted, patch, grid), m, s)
        pasted_image = _to_pixels(unpatchify(pasted, patch, grid), m, s)
        masked_image = _to_pixels(unpatchify(masked, patch, grid), m, s)
    # Hidden patches are drawn grey in the masked panel, as in the paper's figures.
    cell = np.repeat(np.repeat(flat.reshape(grid), patch, axis=0), patch, axis=1)
    masked_image[cell] = 0.5
    return Reconstruction(
        original=original,
        masked=masked_image,
        reconstruction=reconstruction,
        pasted=pasted_image,
        mask=flat.reshape(grid),
        error=error.float().cpu().numpy().reshape(grid),
        loss=loss,
        patch_size=patch,
    )
