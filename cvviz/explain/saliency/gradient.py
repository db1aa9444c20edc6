"""Saliency: the gradient of the class score with respect to the input (Simonyan, Vedaldi, Zisserman 2013,
"Deep Inside Convolutional Networks")."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.private_model import SaliencyModel


class Gradient(AttributionMethod):
    name = "saliency"
    title = "Saliency (gradient)"
    paper = "Simonyan, Vedaldi, Zisserman 2013"

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import Saliency

        return Saliency(private.model).attribute(x, target=target, abs=False), None


METHOD = Gradient()
