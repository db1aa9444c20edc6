"""Guided Backpropagation: only positive gradients pass backwards through ReLUs (Springenberg et al. 2015,
"Striving for Simplicity: The All Convolutional Net")."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.private_model import SaliencyModel


class GuidedBackprop(AttributionMethod):
    name = "guided_backprop"
    title = "Guided Backprop"
    paper = "Springenberg, Dosovitskiy, Brox, Riedmiller 2015"

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import GuidedBackprop as CaptumGuidedBackprop

        private.unshare_activations(x.detach())
        return CaptumGuidedBackprop(private.model).attribute(x, target=target), None


METHOD = GuidedBackprop()
