"""Reference images for the methods that compare the input with a baseline (IG, DeepLift, GradientShap,
Occlusion, and the faithfulness curves)."""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as TF

from cvviz.catalog.schema import ModelSpec
from cvviz.explain.saliency.base import BASELINES, BaselineKind, SaliencyError
from cvviz.i18n import _

__all__ = ["BASELINES", "BaselineKind", "make_baseline"]


def make_baseline(x: torch.Tensor, kind: BaselineKind, spec: ModelSpec | None, seed: int = 0) -> torch.Tensor:
    """The reference image, in the model's (normalised) input space, shape of ``x`` (1, C, H, W).

    ``black``: pixel value 0 (normalised by the spec's mean/std; plain zeros without a spec); ``blur``: a
    strong Gaussian blur of the input (Sturmfels et al. 2020, "Visualizing the Impact of Feature
    Attribution Baselines"); ``noise``: uniform noise in pixel space, normalised, from a generator seeded
    with ``seed``.
    """
    if kind == "blur":
        side = max(3, (x.shape[-1] // 8) | 1)
        return TF.gaussian_blur(x, [side, side], [side / 3.0, side / 3.0])
    mean = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    std = torch.ones_like(mean)
    if spec is not None:
        mean = torch.tensor(spec.preprocessing.mean[: x.shape[1]], dtype=x.dtype, device=x.device)
        std = torch.tensor(spec.preprocessing.std[: x.shape[1]], dtype=x.dtype, device=x.device)
    if kind == "black":
        pixels = torch.zeros_like(x)
    elif kind == "noise":
        generator = torch.Generator(device="cpu").manual_seed(seed)
        pixels = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    else:
        raise SaliencyError(
            _("Unknown baseline {kind!r}; choose one of: {value}.").format(
                kind=kind, value=", ".join(BASELINES)
            )
        )
    if spec is None:
        return pixels if kind == "noise" else torch.zeros_like(x)
    return (pixels - mean[:, None, None]) / std[:, None, None]
