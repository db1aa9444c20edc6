"""torchvision's Vision Transformer as the published self-supervised checkpoints need it: without a
classifier (a backbone's output is its normalised [CLS] token) and, for DINOv2, with layer scale.

Layer scale (Touvron et al. 2021, "Going deeper with Image Transformers", https://arxiv.org/abs/2103.17239)
multiplies each residual branch, channel by channel, by a learned vector before it is added:
``x = x + γ₁ ⊙ attn(ln_1(x))``, then ``x = x + γ₂ ⊙ mlp(ln_2(x))``. torchvision's ``EncoderBlock`` has
none, so :class:`LayerScaleEncoderBlock` subclasses it and keeps every module name (``ln_1``,
``self_attention``, ``ln_2``, ``mlp``): the attention tools, which hook each block's ``self_attention``,
work on it unchanged. Shapes: tokens are (N, 1 + patches, D) throughout.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn
from torchvision.models.vision_transformer import EncoderBlock, VisionTransformer


class LayerScale(nn.Module):
    """A learned per-channel scale ``gamma`` (D,), the key name of the DINOv2 checkpoints
    (``blocks.N.ls1.gamma``)."""

    def __init__(self, dim: int, init_values: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class LayerScaleEncoderBlock(EncoderBlock):
    """torchvision's pre-norm encoder block with layer scale on both residual branches (``ls1``, ``ls2``)."""

    def __init__(
        self, num_heads: int, hidden_dim: int, mlp_dim: int, init_values: float = 1e-5, eps: float = 1e-6
    ) -> None:
        super().__init__(num_heads, hidden_dim, mlp_dim, 0.0, 0.0, partial(nn.LayerNorm, eps=eps))
        self.ls1 = LayerScale(hidden_dim, init_values)
        self.ls2 = LayerScale(hidden_dim, init_values)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        torch._assert(input.dim() == 3, f"Expected (batch_size, seq_length, hidden_dim) got {input.shape}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = input + self.ls1(self.dropout(x))
        return x + self.ls2(self.mlp(self.ln_2(x)))


def vision_transformer(
    *,
    image_size: int = 224,
    patch_size: int,
    num_layers: int,
    num_heads: int,
    hidden_dim: int,
    mlp_dim: int,
    num_classes: int = 0,
    layer_scale: bool = False,
) -> VisionTransformer:
    """torchvision's ViT of this shape with random weights; ``num_classes=0`` replaces its classifier by
    the identity (the output is then the normalised [CLS] token, (N, D)); ``layer_scale`` swaps every
    encoder block for a :class:`LayerScaleEncoderBlock`."""
    model = VisionTransformer(
        image_size=image_size,
        patch_size=patch_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        mlp_dim=mlp_dim,
        num_classes=max(num_classes, 1),
    )
    if layer_scale:
        for name, _block in list(model.encoder.layers.named_children()):
            setattr(model.encoder.layers, name, LayerScaleEncoderBlock(num_heads, hidden_dim, mlp_dim))
    if not num_classes:
        model.heads = nn.Identity()
    return model
