"""DINO's attention (Caron et al. 2021, https://arxiv.org/abs/2104.14294): where the last layer's [CLS]
token looks, per head, and the masks that keep a share of that attention's mass.

DINO trains without labels, yet its last layer's class-token attention falls on the objects of the image
(the paper's first figure); a supervised ViT of the same size spreads it more. The probabilities are
recomputed from the layer's own weights by :mod:`cvviz.explain.attention` (the same code, and the same
proof that ``attn @ V`` rebuilds the layer's output, as for the catalog's ViTs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cvviz.catalog.schema import ModelSpec
from cvviz.errors import CvvizError
from cvviz.explain.attention import require_attention, vit_attention
from cvviz.i18n import N_, _

OBJECTIVES = {
    "dino": N_(
        "DINO: a student network matches a momentum teacher's output on other crops of the same image; "
        "the teacher's output is centred and sharpened so that it cannot collapse to one answer."
    ),
    "mae": N_(
        "MAE: most patches are hidden and the network regresses their pixels from the visible ones; the "
        "loss counts the hidden patches only."
    ),
}
"""One sentence on each self-supervised objective (translated where shown)."""


@dataclass(frozen=True)
class ClassAttention:
    """The last layer's [CLS] attention of a ViT on one image.

    ``attention`` is (heads, patches): the class token's attention to each patch, patches row-major
    over ``grid`` (rows, cols); ``to_class`` (heads,) is its attention to itself, so that
    ``attention.sum(-1) + to_class`` is 1 for every head (each row of the full map sums to 1).
    """

    attention: np.ndarray
    to_class: np.ndarray
    grid: tuple[int, int]
    patch_size: int
    layer: str

    @property
    def heads(self) -> int:
        return self.attention.shape[0]

    def maps(self) -> np.ndarray:
        """(heads, rows, cols)."""
        return self.attention.reshape(self.heads, *self.grid)

    def masks(self, keep: float) -> np.ndarray:
        """Each head's :func:`mass_mask` keeping ``keep`` of its attention: (heads, rows, cols) booleans."""
        return mass_mask(self.attention, keep).reshape(self.heads, *self.grid)

    def mean_mask(self, keep: float) -> np.ndarray:
        """The patches holding ``keep`` of the heads' mean attention: (rows, cols) booleans."""
        return mass_mask(self.attention.mean(axis=0), keep).reshape(self.grid)


def last_layer_class_attention(spec: ModelSpec, model: nn.Module, batch: torch.Tensor) -> ClassAttention:
    """The [CLS] row of the last attention layer of a ViT, for the first image of ``batch``."""
    require_attention(spec, "global")
    layer = spec.attention_layers[-1]
    maps = vit_attention(model, batch, [layer])
    row = maps.attn[0, :, 0, :]
    prefix = maps.num_prefix_tokens
    return ClassAttention(
        attention=row[:, prefix:].copy(),
        to_class=row[:, :prefix].sum(axis=1),
        grid=maps.grid,
        patch_size=maps.patch_size,
        layer=layer,
    )


def mass_mask(weights: np.ndarray, keep: float) -> np.ndarray:
    """Per row of ``weights`` (…, P), the smallest set of patches holding at least ``keep`` of the row's
    mass, largest first: the paper's masks, which keep 60% of the attention mass.

    Returns a boolean array shaped like ``weights``.
    """
    if not 0.0 < keep <= 1.0:
        raise CvvizError(
            _("The kept share of attention must be above 0 and at most 1 (got {keep}).").format(keep=keep)
        )
    order = np.argsort(-weights, axis=-1, kind="stable")
    ranked = np.take_along_axis(weights, order, axis=-1)
    total = ranked.sum(axis=-1, keepdims=True)
    share = np.cumsum(ranked, axis=-1) / np.where(total > 0, total, 1.0)
    # A patch is kept while the mass before it is still short of ``keep``.
    before = share - ranked / np.where(total > 0, total, 1.0)
    kept_ranked = before < keep - 1e-12
    mask = np.zeros_like(kept_ranked)
    np.put_along_axis(mask, order, kept_ranked, axis=-1)
    return mask
