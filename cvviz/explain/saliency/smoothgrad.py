"""SmoothGrad: the gradient averaged over noisy copies of the input (Smilkov et al. 2017, "SmoothGrad:
removing noise by adding noise"). The noise comes from the options' seeded generator."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions, input_spread
from cvviz.explain.saliency.private_model import SaliencyModel

CHUNK = 8


class SmoothGrad(AttributionMethod):
    name = "smoothgrad"
    title = "SmoothGrad"
    paper = "Smilkov, Thorat, Kim, Viégas, Wattenberg 2017"

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import Saliency

        generator = options.generator()
        spread = input_spread(x, options)
        gradient = Saliency(private.model)
        total = torch.zeros_like(x)
        remaining = options.n_samples
        while remaining > 0:
            count = min(CHUNK, remaining)
            noise = torch.randn((count, *x.shape[1:]), generator=generator, dtype=x.dtype).to(x.device)
            noisy = (x.detach() + spread * noise).requires_grad_(True)
            total = total + gradient.attribute(noisy, target=target, abs=False).sum(dim=0, keepdim=True)
            remaining -= count
        return total / options.n_samples, None


METHOD = SmoothGrad()
