"""Attention rollout: attention followed through every layer, with the residual connection as ½A + ½I
(Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"). It reads no class and no gradient,
so it is the same map for every class, and the sanity check shows what that means. ViTs only (see
:mod:`.transformer`)."""

from __future__ import annotations

import torch

from cvviz.explain.attention.rollout import attention_rollout
from cvviz.explain.attention.vit import vit_attention
from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.private_model import SaliencyModel
from cvviz.explain.saliency.transformer import GLOBAL_ATTENTION, attention_layers, class_token_map


class AttentionRollout(AttributionMethod):
    name = "attention_rollout"
    title = "Attention rollout"
    paper = "Abnar & Zuidema 2020"
    layer_map = True
    attention = GLOBAL_ATTENTION

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        maps = vit_attention(private.model, x.detach(), attention_layers(private))
        joint = attention_rollout(maps.attn, "mean", 0.0)
        return class_token_map(joint, maps.grid, tuple(x.shape[-2:])), None


METHOD = AttentionRollout()
