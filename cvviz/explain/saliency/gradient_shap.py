"""GradientShap: expected gradients × (input − baseline) over noisy inputs, random baselines and random
points on the path between them (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model
Predictions"), computed as Captum's GradientShap does, with every draw from the seeded generator."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions, input_spread
from cvviz.explain.saliency.baselines import make_baseline
from cvviz.explain.saliency.private_model import SaliencyModel

CHUNK = 8


class GradientShap(AttributionMethod):
    name = "gradient_shap"
    title = "GradientShap"
    paper = "Lundberg & Lee 2017"
    uses_baseline = True

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import Saliency

        generator = options.generator()
        spread = input_spread(x, options)
        baselines = torch.cat(
            [
                make_baseline(x, options.baseline, private.spec, options.seed),
                make_baseline(x, "black", private.spec),
            ]
        )
        gradient = Saliency(private.model)
        total = torch.zeros_like(x)
        remaining = options.n_samples
        while remaining > 0:
            count = min(CHUNK, remaining)
            noise = torch.randn((count, *x.shape[1:]), generator=generator, dtype=x.dtype).to(x.device)
            noisy = x.detach() + spread * noise
            chosen = baselines[torch.randint(len(baselines), (count,), generator=generator).to(x.device)]
            alpha = torch.rand(count, generator=generator, dtype=x.dtype).to(x.device).view(-1, 1, 1, 1)
            points = (chosen + alpha * (noisy - chosen)).requires_grad_(True)
            grads = gradient.attribute(points, target=target, abs=False)
            total = total + (grads * (noisy - chosen)).sum(dim=0, keepdim=True)
            remaining -= count
        return total / options.n_samples, None


METHOD = GradientShap()
