"""Faithfulness of a saliency map: deletion and insertion curves (Petsiuk, Das, Saenko 2018, "RISE").

Deletion removes the most salient pixels first (sets them to a baseline) and records the target class
probability: a faithful map makes it fall fast (low area under the curve). Insertion starts from a
blurred (or black) image and puts the most salient pixels back first: a faithful map makes the
probability rise fast (high area).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from cvviz.explain.saliency.base import SaliencyError
from cvviz.explain.saliency.baselines import BaselineKind, make_baseline
from cvviz.i18n import _
from cvviz.models.workbench import exclusive_module


@dataclass(frozen=True)
class FaithfulnessCurve:
    """``fractions`` (K+1,) of pixels deleted/inserted, in [0, 1]; ``probs`` (K+1,) the target class's
    softmax probability at each; ``auc`` the trapezoid area under ``probs`` over [0, 1]."""

    kind: Literal["deletion", "insertion"]
    fractions: np.ndarray
    probs: np.ndarray
    auc: float


def perturbation_curve(
    loaded_or_model,
    spec,
    image_tensor: torch.Tensor,
    attr_map: np.ndarray,
    target: int,
    kind: Literal["deletion", "insertion"] = "deletion",
    *,
    steps: int = 20,
    baseline: BaselineKind | None = None,
    batch_size: int = 8,
    progress: Callable[[float], None] | None = None,
) -> FaithfulnessCurve:
    """The deletion or insertion curve of ``attr_map`` (H, W; higher = more salient) for ``target``.

    ``baseline`` defaults to black for deletion and blur for insertion, as in the paper. Forward passes
    only, under ``inference_mode``; a shared model is used exclusively and only read.
    """
    if kind not in ("deletion", "insertion"):
        raise SaliencyError(_("Unknown curve {kind!r}; choose deletion or insertion.").format(kind=kind))
    with exclusive_module(loaded_or_model) as (model, device):
        x = image_tensor.detach().to(device)
        if attr_map.shape != tuple(x.shape[-2:]):
            raise SaliencyError(
                _("The map is {shape} but the image is {value}.").format(
                    shape=attr_map.shape, value=tuple(x.shape[-2:])
                )
            )
        base = make_baseline(x, baseline or ("black" if kind == "deletion" else "blur"), spec)
        order = torch.as_tensor(np.argsort(-attr_map.ravel(), kind="stable").copy(), device=device)
        n_pixels = order.numel()
        fractions = np.linspace(0.0, 1.0, steps + 1)
        start, end = (x, base) if kind == "deletion" else (base, x)
        images = []
        for fraction in fractions:
            mask = torch.zeros(n_pixels, device=device)
            mask[order[: round(float(fraction) * n_pixels)]] = 1.0
            mask = mask.view(1, 1, *x.shape[-2:])
            images.append(start * (1 - mask) + end * mask)
        probs = []
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                logits = model(torch.cat(images[i : i + batch_size]))
                probs.append(logits.float().softmax(-1)[:, target].cpu())
                if progress:
                    progress(min(1.0, (i + batch_size) / len(images)))
    values = torch.cat(probs).numpy().astype(np.float64)
    auc = float(np.trapezoid(values, fractions))
    return FaithfulnessCurve(kind, fractions, values, auc)
