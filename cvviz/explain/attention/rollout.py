"""What a ViT's attention adds up to across layers: attention rollout, its gradient-weighted,
class-specific variant, and the mean attention distance of every head.

All functions take numpy arrays of attention probabilities shaped (layers, heads, tokens, tokens), token 0
being the class token (see :class:`cvviz.explain.attention.AttentionMaps`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cvviz.i18n import _

HeadFusion = Literal["mean", "max", "min"]
FUSIONS: tuple[str, ...] = ("mean", "max", "min")


def fuse_heads(attn: np.ndarray, fusion: HeadFusion = "mean") -> np.ndarray:
    """(layers, heads, T, T) → (layers, T, T) by the mean, max or min over heads."""
    if fusion == "mean":
        return attn.mean(axis=1)
    if fusion == "max":
        return attn.max(axis=1)
    if fusion == "min":
        return attn.min(axis=1)
    raise ValueError(
        _("Unknown head fusion {fusion!r}; expected one of {value}.").format(
            fusion=fusion, value=", ".join(FUSIONS)
        )
    )


def discard_lowest(layer: np.ndarray, ratio: float) -> np.ndarray:
    """Zero the lowest ``ratio`` fraction of one (T, T) map's weights, never the class token's attention
    to itself (entry [0, 0]), as in the reference rollout code (Gildenblat's vit-explain)."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(_("Discard ratio must be in [0, 1), got {ratio}.").format(ratio=ratio))
    out = layer.copy()
    count = int(out.size * ratio)
    if count == 0:
        return out
    flat = out.reshape(-1)
    order = np.argsort(flat, kind="stable")[:count]
    flat[order[order != 0]] = 0.0
    return out


def attention_rollout(
    attn: np.ndarray, fusion: HeadFusion = "mean", discard_ratio: float = 0.0
) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

    Per layer the heads are fused, the lowest ``discard_ratio`` of weights dropped, the residual
    connection modelled as A' = 0.5·A + 0.5·I and rows renormalised; the layers are multiplied,
    R = A'_L ⋯ A'_1. Returns R: (T, T); row 0 is how much each token flows into the class token.
    """
    fused = fuse_heads(attn, fusion)
    tokens = fused.shape[-1]
    eye = np.eye(tokens)
    result = eye.copy()
    for layer in fused:
        kept = discard_lowest(layer.astype(np.float64), discard_ratio)
        mixed = 0.5 * kept + 0.5 * eye
        mixed = mixed / mixed.sum(axis=-1, keepdims=True)
        result = mixed @ result
    return result


def gradient_rollout(attn: np.ndarray, grad: np.ndarray, clamp: bool = True) -> np.ndarray:
    """Class-specific relevance (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability", ICCV,
    Eqs. 5–6).

    Per layer Ā = mean over heads of (∇A ⊙ A)⁺, ∇A = ∂y_c/∂A; relevance accumulates as R ← R + Ā·R from
    R = I. Returns R: (T, T); row 0, over the patches, is the class-specific map. ``clamp=False`` keeps
    the negative part (with every gradient 1 the recursion is then R = (I + Ā_L)⋯(I + Ā_1), rollout's
    product without its ½ and row normalisation).
    """
    weighted = grad.astype(np.float64) * attn.astype(np.float64)
    if clamp:
        weighted = np.maximum(weighted, 0.0)
    weighted = weighted.mean(axis=1)
    tokens = weighted.shape[-1]
    result = np.eye(tokens)
    for layer in weighted:
        result = result + layer @ result
    return result


def class_token_grid(joint: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """The class token's row of a (T, T) rollout over the patches, as a (rows, cols) image."""
    patches = grid[0] * grid[1]
    return joint[0, joint.shape[-1] - patches :].reshape(grid)


def patch_centres(grid: tuple[int, int], patch_size: int) -> np.ndarray:
    """(patches, 2) pixel coordinates (y, x) of each patch centre, row-major."""
    rows, cols = np.meshgrid(np.arange(grid[0]), np.arange(grid[1]), indexing="ij")
    return (np.stack([rows.ravel(), cols.ravel()], axis=1) + 0.5) * patch_size


def mean_attention_distance(attn: np.ndarray, grid: tuple[int, int], patch_size: int) -> np.ndarray:
    """Mean attention distance in pixels per layer and head: (layers, heads) (Dosovitskiy et al. 2020,
    Fig. 7) — the ViT analogue of a receptive field size.

    Patch-to-patch attention only: the class token is dropped and each query's row renormalised over the
    patches; the attention-weighted distance between patch centres is averaged over query patches.
    """
    patches = grid[0] * grid[1]
    inner = attn[..., -patches:, -patches:].astype(np.float64)
    inner = inner / inner.sum(axis=-1, keepdims=True)
    centres = patch_centres(grid, patch_size)
    distance = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
    return (inner * distance).sum(axis=-1).mean(axis=-1)
