"""Sanity checks for saliency maps: cascading model-parameter randomisation (Adebayo et al. 2018).

Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity Checks for Saliency Maps" (NeurIPS 2018): a map
that explains the *model* must change when the model's weights are destroyed. Starting from the top
(the classifier head) and moving down stage by stage, each stage's parameters are re-initialised on a
private copy, the map is recomputed, and compared with the original. A method whose map barely changes
is showing the image (edges), not what the network learned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cvviz.explain.saliency.attribute import attribute
from cvviz.explain.saliency.base import SaliencyOptions
from cvviz.explain.saliency.private_model import private_copy
from cvviz.i18n import _

if TYPE_CHECKING:
    from cvviz.jobs import Reporter


@dataclass(frozen=True)
class SanityStep:
    """One step of the cascade: the groups randomised so far (``name`` is the last one) and similarities
    of the recomputed map with the original (both in [-1, 1]; 1.0 means unchanged)."""

    name: str
    spearman: float
    ssim: float


@dataclass(frozen=True)
class SanityResult:
    """The cascade for one method: ``steps[0]`` is the unrandomised model ("original")."""

    method: str
    target: int
    steps: tuple[SanityStep, ...]
    maps: tuple[np.ndarray, ...]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two arrays (average ranks for ties).

    A constant array has no ranking: two constant arrays count as the same (1: a flat map compared with
    itself), one constant against a varying one as unrelated (0).
    """

    def ranks(v: np.ndarray) -> np.ndarray:
        v = v.ravel()
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v), dtype=np.float64)
        r[order] = np.arange(len(v), dtype=np.float64)
        # average ranks over ties
        _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=r)
        return (sums / counts)[inverse]

    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra**2).sum() * (rb**2).sum())
    if denom > 0:
        return float((ra * rb).sum() / denom)
    return 1.0 if not ra.any() and not rb.any() else 0.0


def ssim(a: np.ndarray, b: np.ndarray, window: int = 7) -> float:
    """Mean structural similarity (Wang et al. 2004) of two maps, each scaled to [0, 1] by its maximum."""

    def scaled(v: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(v, dtype=torch.float64)[None, None]
        top = t.abs().max()
        return t / top if top > 0 else t

    x, y = scaled(a), scaled(b)
    pool = torch.nn.AvgPool2d(window, stride=1)
    mx, my = pool(x), pool(y)
    vx, vy = pool(x * x) - mx**2, pool(y * y) - my**2
    cxy = pool(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    score = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(score.mean())


def randomisation_groups(
    model: nn.Module, stages: tuple[str, ...] | None
) -> list[tuple[str, list[nn.Module]]]:
    """Groups of modules whose own parameters are re-initialised together, top first: the head (whatever
    follows the last stage), then each stage from last to first with the modules between it and the next
    stage (a ViT's unnamed encoder layers, a Swin's patch merging), then the stem (whatever precedes the
    first stage, such as a ViT's class token). Randomised cumulatively, step k leaves every module from
    group k's stage up random and everything below it trained. Groups without parameters are left out.
    Without ``stages``, the model's children in reverse.

    Each group lists every module with parameters of its own, so a module that also holds children (a
    ViT's encoder with its position embedding, the model with its class token) is re-initialised only in
    its own parameters, not wholesale.
    """
    if not stages:
        children = [
            (name, [m for m in child.modules() if list(m.parameters(recurse=False))])
            for name, child in model.named_children()
        ]
        return [(name, modules) for name, modules in reversed(children) if modules]
    modules = dict(model.named_modules())
    stage_of: dict[int, str] = {}
    for stage in stages:
        stage_of.update((id(m), stage) for m in modules[stage].modules())
    last = stages[-1]
    head = "head" if last != "head" else last  # a stage named "head" takes what follows it
    members: dict[str, list[nn.Module]] = {name: [] for name in ("stem", *stages, head)}
    current = "stem"
    for _name, module in model.named_modules():
        owner = stage_of.get(id(module))
        if owner is not None:
            current = head if owner == last else owner
            group = owner
        else:
            group = current  # between two stages it goes with the one below it; after the last, the head
        if list(module.parameters(recurse=False)):
            members[group].append(module)
    order = [head, *(s for s in reversed(stages) if s != head), "stem"]
    return [(name, members[name]) for name in order if members[name]]


_NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


def _fresh_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """New random values for ``module``'s own parameters, as PyTorch initialises them, from ``generator``.

    Convolutions and linear layers get their default init (Kaiming-uniform weights, uniform biases in
    ±1/√fan_in); normalisation layers their deterministic reset; any other parameter N(0, 0.02).
    """
    own = dict(module.named_parameters(recurse=False))
    if not own:
        return
    if isinstance(module, _NORM_LAYERS):
        module.reset_parameters()
        return
    with torch.no_grad():
        weight = own.get("weight")
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)) and weight is not None:
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
            bias = own.get("bias")
            if bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(bias, -bound, bound, generator=generator)
            return
        for param in own.values():
            nn.init.normal_(param, 0.0, 0.02, generator=generator)


def reinitialise(modules: list[nn.Module], generator_seed: int) -> None:
    """Fresh random values for the own parameters of each of ``modules`` (not their children's), drawn
    from a generator seeded with ``generator_seed`` (the process-wide torch seed is never touched)."""
    generator = torch.Generator(device="cpu").manual_seed(generator_seed)
    for module in modules:
        _fresh_parameters(module, generator)


def cascading_randomisation(
    loaded_or_model,
    spec,
    image_tensor: torch.Tensor,
    method: str,
    target: int,
    options: SaliencyOptions | None = None,
    progress: Callable[[float, str], None] | None = None,
    *,
    reporter: Reporter | None = None,
) -> SanityResult:
    """Recompute ``method``'s map after randomising the model cumulatively from the top down.

    Similarities compare absolute maps, as Adebayo et al. do. Runs on a private copy of the model. With a
    job's ``reporter`` each map reports into its share of the job's progress and stops part-way when the
    job is cancelled (see :func:`.attribute`).
    """
    if progress:
        progress(0.0, _("copying the model and computing the original map"))
    private = private_copy(loaded_or_model, spec)
    groups = randomisation_groups(private.model, private.spec.stages if private.spec else None)
    maps_total = len(groups) + 1

    def share(index: int) -> Reporter | None:
        return None if reporter is None else reporter.part(index / maps_total, (index + 1) / maps_total)

    original = attribute(private, private.spec, image_tensor, method, target, options, reporter=share(0))
    base = np.abs(original.map)
    steps = [SanityStep("original", spearman(base, base), ssim(base, base))]
    maps = [original.map]
    for i, (name, modules) in enumerate(groups):
        if progress:
            progress((i + 1) / maps_total, _("randomising {layer}").format(layer=name))
        reinitialise(modules, generator_seed=1000 + i)
        current = attribute(
            private, private.spec, image_tensor, method, target, options, reporter=share(i + 1)
        ).map
        steps.append(SanityStep(name, spearman(base, np.abs(current)), ssim(base, np.abs(current))))
        maps.append(current)
    if progress:
        progress(1.0, _("done"))
    return SanityResult(method, target, tuple(steps), tuple(maps))
