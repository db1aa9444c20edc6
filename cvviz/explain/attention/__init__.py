"""The attention a Vision Transformer or Swin Transformer really uses, recomputed from its own weights.

torchvision's ViT calls ``nn.MultiheadAttention`` with ``need_weights=False`` and Swin's window attention
never returns its probabilities, so nothing can simply be read off the model. Instead a forward pre-hook
records each attention module's *input* and the probabilities are recomputed from the module's own
parameters exactly as its forward computes them: softmax(QKᵀ/√d) for ViT (Vaswani et al. 2017;
Dosovitskiy et al. 2020), and for Swin the windowed attention with relative position bias and the
shifted-window mask (Liu et al. 2021), or V2's scaled cosine attention with its continuous position bias
MLP (Liu et al. 2022). The shared model is never modified; every hook is removed on exit, also on error.

The tests prove the recomputation is the real thing: from the probabilities, ``attn @ V`` followed by the
module's output projection reproduces the module's actual output.
"""

from __future__ import annotations

from cvviz.explain.attention.capture import NotATransformerError, capture_attention_inputs
from cvviz.explain.attention.swin import (
    WindowAttention,
    WindowLayout,
    swin_attention,
    swin_attention_for,
    swin_attention_probs,
    swin_layout,
    swin_output_from_probs,
    swin_relative_position_bias,
    swin_shift_mask,
)
from cvviz.explain.attention.vit import (
    AttentionGradients,
    AttentionMaps,
    mha_attention_probs,
    mha_output_from_probs,
    require_attention,
    vit_attention,
    vit_attention_for,
    vit_attention_gradients,
    vit_patch_size,
)

__all__ = [
    "AttentionGradients",
    "AttentionMaps",
    "NotATransformerError",
    "WindowAttention",
    "WindowLayout",
    "capture_attention_inputs",
    "mha_attention_probs",
    "mha_output_from_probs",
    "require_attention",
    "swin_attention",
    "swin_attention_for",
    "swin_attention_probs",
    "swin_layout",
    "swin_output_from_probs",
    "swin_relative_position_bias",
    "swin_shift_mask",
    "vit_attention",
    "vit_attention_for",
    "vit_attention_gradients",
    "vit_patch_size",
]
