"""Integrated Gradients: gradients integrated along the straight path from a baseline (Sundararajan, Taly,
Yan 2017, "Axiomatic Attribution for Deep Networks"). The attributions add up to f(x) − f(baseline)."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.baselines import make_baseline
from cvviz.explain.saliency.private_model import SaliencyModel


class IntegratedGradients(AttributionMethod):
    name = "integrated_gradients"
    title = "Integrated Gradients"
    paper = "Sundararajan, Taly, Yan 2017"
    uses_baseline = True

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import IntegratedGradients as CaptumIG

        baseline = make_baseline(x, options.baseline, private.spec, options.seed)
        attribution = CaptumIG(private.model).attribute(
            x,
            baselines=baseline,
            target=target,
            n_steps=options.steps,
            internal_batch_size=options.internal_batch_size,
        )
        return attribution, None


METHOD = IntegratedGradients()
