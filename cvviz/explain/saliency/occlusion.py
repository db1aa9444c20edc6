"""Occlusion: the drop in the target score when a sliding window is set to the baseline (Zeiler & Fergus
2014, "Visualizing and Understanding Convolutional Networks")."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.baselines import make_baseline
from cvviz.explain.saliency.private_model import SaliencyModel


class Occlusion(AttributionMethod):
    name = "occlusion"
    title = "Occlusion"
    paper = "Zeiler & Fergus 2014"
    uses_baseline = True

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import Occlusion as CaptumOcclusion

        baseline = make_baseline(x, options.baseline, private.spec, options.seed)
        channels = x.shape[1]
        window = min(options.window, x.shape[-1])
        attribution = CaptumOcclusion(private.model).attribute(
            x,
            sliding_window_shapes=(channels, window, window),
            strides=(channels, options.stride, options.stride),
            baselines=baseline,
            target=target,
            perturbations_per_eval=8,
        )
        return attribution, None


METHOD = Occlusion()
