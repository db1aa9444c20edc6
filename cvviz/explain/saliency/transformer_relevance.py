"""Transformer relevance: attention weighted by the gradient of the class logit, accumulated through the
layers (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability for Interpreting Bi-Modal and
Encoder-Decoder Transformers", ICCV, Eqs. 5–6). From R = I, each block adds Ā·R with
Ā = mean over heads of (∇A ⊙ A)⁺; the class token's row of R, over the patches, is the map. Unlike
rollout it depends on the class. The gradients come from the recomputed attention of
:func:`cvviz.explain.attention.vit_attention_gradients`. ViTs only (see :mod:`.transformer`)."""

from __future__ import annotations

import torch

from cvviz.explain.attention.rollout import gradient_rollout
from cvviz.explain.attention.vit import vit_attention_gradients
from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.private_model import SaliencyModel
from cvviz.explain.saliency.transformer import GLOBAL_ATTENTION, attention_layers, class_token_map


class TransformerRelevance(AttributionMethod):
    name = "transformer_relevance"
    title = "Transformer relevance"
    paper = "Chefer et al. 2021"
    layer_map = True
    attention = GLOBAL_ATTENTION

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        grads = vit_attention_gradients(private.model, x.detach(), attention_layers(private), target)
        joint = gradient_rollout(grads.maps.attn, grads.grad)
        return class_token_map(joint, grads.maps.grid, tuple(x.shape[-2:])), None


METHOD = TransformerRelevance()
