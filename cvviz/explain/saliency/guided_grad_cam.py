"""Guided Grad-CAM: Grad-CAM's coarse map multiplied with Guided Backpropagation's fine one (Selvaraju et
al. 2017)."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.grad_cam import grad_cam_map
from cvviz.explain.saliency.private_model import SaliencyModel


class GuidedGradCam(AttributionMethod):
    name = "guided_grad_cam"
    title = "Guided Grad-CAM"
    paper = "Selvaraju et al. 2017"
    uses_layer = True

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import GuidedBackprop

        cam, layer = grad_cam_map(private, x, target, options)
        private.unshare_activations(x.detach())
        guided = GuidedBackprop(private.model).attribute(x, target=target)
        return guided * cam, layer


METHOD = GuidedGradCam()
