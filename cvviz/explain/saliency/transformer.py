"""What the transformer methods (attention rollout, Chefer relevance) share: which models they apply to,
their attention layers, and the class token's row over the patches as a map at the input size.

Both follow the class token through a ViT's global attention, layer after layer. Swin has neither a class
token nor a fixed set of tokens (attention stays inside windows that shift, and patch merging fuses four
tokens into one between stages), so the recursion R ← R + Ā·R has no matrix to multiply there; cvviz
offers these methods for ViTs only and says so, and the CAM family covers Swin.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvviz.catalog.registry import get_family
from cvviz.explain.saliency.base import SaliencyError
from cvviz.explain.saliency.private_model import SaliencyModel
from cvviz.i18n import _

GLOBAL_ATTENTION = "global"
"""The attention view (a family's ``attention``) the transformer methods need: one softmax over all tokens."""


def attention_layers(private: SaliencyModel) -> tuple[str, ...]:
    """The ViT's self-attention modules, first to last: the catalog's ``attention_layers``, or for a model
    outside the catalog (tests) its ``nn.MultiheadAttention`` modules in order. Anything else raises one
    sentence that points to the CAM family."""
    spec = private.spec
    if spec is not None:
        view = get_family(spec).attention
        if view != GLOBAL_ATTENTION or not spec.attention_layers:
            raise SaliencyError(
                _(
                    "Relevance and attention rollout follow a Vision Transformer's class token through its "
                    "global attention, which {title} does not have; use the CAM family for it."
                ).format(title=spec.title)
            )
        return tuple(spec.attention_layers)
    names = tuple(n for n, m in private.model.named_modules() if isinstance(m, nn.MultiheadAttention))
    if not names:
        raise SaliencyError(
            _("Relevance and attention rollout need a Vision Transformer; this model has no self-attention.")
        )
    return names


def class_token_map(joint: np.ndarray, grid: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """Row 0 of a (T, T) token-to-token matrix over the patches, upsampled bilinearly to ``size``:
    (1, 1, H, W), as the CAM family's maps are."""
    patches = grid[0] * grid[1]
    row = torch.as_tensor(np.ascontiguousarray(joint[0, joint.shape[-1] - patches :]), dtype=torch.float32)
    return F.interpolate(row.reshape(1, 1, *grid), size=size, mode="bilinear", align_corners=False)
