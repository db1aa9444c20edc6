"""DeepLift: differences from a reference propagated with the rescale rule (Shrikumar, Greenside, Kundaje
2017, "Learning Important Features Through Propagating Activation Differences")."""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyOptions
from cvviz.explain.saliency.baselines import make_baseline
from cvviz.explain.saliency.private_model import SaliencyModel


class DeepLift(AttributionMethod):
    name = "deeplift"
    title = "DeepLift"
    paper = "Shrikumar, Greenside, Kundaje 2017"
    uses_baseline = True

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        from captum.attr import DeepLift as CaptumDeepLift

        baseline = make_baseline(x, options.baseline, private.spec, options.seed)
        private.unshare_activations(x.detach())
        return CaptumDeepLift(private.model).attribute(x, baselines=baseline, target=target), None


METHOD = DeepLift()
