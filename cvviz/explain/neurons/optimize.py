"""Feature visualisation by optimisation: start from noise and change the image until a unit fires.

The image is parametrised in decorrelated Fourier space (:mod:`.parametrization`), randomly jittered,
scaled and rotated at every step (:mod:`.transforms`) and optimised with Adam to maximise one objective
per image (:mod:`.objectives`), after Olah, Mordvintsev, Schubert, "Feature Visualization", Distill 2017.
Several objectives share one batched optimisation, which is much cheaper than one run each where the
device is not already busy with one image. The forward pass stops at the layer read.

Truth: the optimised image should excite its unit far more than real photos do; each result carries the
unit's value on the bundled sample photos, and :attr:`FeatureVisualization.truth_ratio` the ratio.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.data.images import load_image, sample_images
from cvviz.explain.neurons.objectives import (
    NeuronError,
    Objective,
    check_objectives,
    diversity_penalty,
    objective_values,
)
from cvviz.explain.neurons.parametrization import ImageParam
from cvviz.explain.neurons.transforms import NONE, STANDARD
from cvviz.explain.saliency.private_model import SaliencyModel, private_copy
from cvviz.hooks import hooks_removed_on_exit, resolve_layers
from cvviz.i18n import _
from cvviz.jobs import Job, Reporter
from cvviz.models.inference import preprocess

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel, Workbench

ANALYSIS = "neurons.visualize"
MAX_STEPS = 4096
MAX_BATCH = 64


@dataclass(frozen=True)
class VisualizationSettings:
    """How to optimise: ``steps`` of Adam at learning rate ``lr`` on ``size``×``size`` images (None: the
    model's input size); ``fft``/``decorrelate``: the parametrisation; ``transforms``: the random
    jitter, scale and rotation; ``diversity``: weight of the term pushing images of one batch apart (0:
    off); ``seed``: the starting noise and every random transformation."""

    steps: int = 128
    size: int | None = None
    lr: float = 0.05
    fft: bool = True
    decorrelate: bool = True
    transforms: bool = True
    diversity: float = 0.0
    seed: int = 0

    def check(self) -> None:
        """Raise one sentence for a setting outside what makes sense."""
        if not 1 <= self.steps <= MAX_STEPS:
            raise NeuronError(_("Steps must be between 1 and {limit}.").format(limit=MAX_STEPS))
        if self.size is not None and not 16 <= self.size <= 1024:
            raise NeuronError(_("The image size must be between 16 and 1024 pixels."))
        if not 0 < self.lr <= 10:
            raise NeuronError(_("The learning rate must be above 0 and at most 10."))
        if self.diversity < 0:
            raise NeuronError(_("The diversity weight cannot be negative."))


@dataclass(frozen=True)
class FeatureVisualization:
    """One optimised image and how strongly it drives its objective.

    ``image``: (H, W, C) float32 in [0, 1] (C = 1 or 3, the model's input channels, before
    normalisation). ``activation``: the objective on the final image without transformations.
    ``photo_activation``: the highest value the objective reaches on the bundled sample photos.
    ``curve``: (steps,) the objective at each step (on that step's transformed image). ``seconds``: the
    time of the whole batched run this image came from, and ``batch`` how many images that run made.
    """

    objective: Objective
    image: np.ndarray
    activation: float
    photo_activation: float
    curve: np.ndarray
    seconds: float
    batch: int

    @property
    def truth_ratio(self) -> float | None:
        """How many times the photos' best value the optimised image reaches (None when no photo excites
        the unit at all, so there is no ratio to speak of)."""
        if self.photo_activation <= 1e-9:
            return None
        return self.activation / self.photo_activation


class _Reached(Exception):
    """Raised by the hook once the layer read has run: the rest of the network is not needed."""


@contextlib.contextmanager
def _reading(model: nn.Module, layer: str | None) -> Iterator[dict[str, torch.Tensor]]:
    """Record ``layer``'s output (with its graph) and stop the forward pass there; None: the logits."""
    captured: dict[str, torch.Tensor] = {}
    with hooks_removed_on_exit([]) as handles:
        if layer is not None:
            module = resolve_layers(model, [layer])[layer]

            def hook(_module, _inputs, output) -> None:
                captured["out"] = output[0] if isinstance(output, (tuple, list)) else output
                raise _Reached

            handles.append(module.register_forward_hook(hook))
        yield captured


def _read(model: nn.Module, spec: ModelSpec | None, layer: str | None, x: torch.Tensor) -> torch.Tensor:
    """The read layer's output as (B, C, H, W) (or (B, K) logits) for the batch ``x``."""
    with _reading(model, layer) as captured:
        try:
            out = model(x)
        except _Reached:
            out = captured["out"]
    if layer is None:
        return out
    layout = get_family(spec).grid_layout(spec, layer) if spec is not None else None
    if layout is not None:
        out = layout.to_grid(out)
    if out.dim() == 2:
        out = out[:, :, None, None]
    if out.dim() != 4:
        raise NeuronError(
            _("Layer {layer!r} does not output channels over positions; choose another.").format(layer=layer)
        )
    return out


class _Normalise(nn.Module):
    """[0, 1] images → the model's input: normalised, and resized when the model takes one size only."""

    def __init__(self, spec: ModelSpec | None, channels: int, size: int) -> None:
        super().__init__()
        mean = spec.preprocessing.mean if spec is not None else (0.5,) * channels
        std = spec.preprocessing.std if spec is not None else (0.5,) * channels
        self.register_buffer("mean", torch.tensor(mean[:channels]).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std[:channels]).view(1, -1, 1, 1))
        fixed = spec is not None and bool(get_family(spec).sized_kwargs(spec, size))
        self.size = spec.input_size if fixed and size != spec.input_size else None

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.size is not None:
            image = torch.nn.functional.interpolate(image, size=(self.size, self.size), mode="bilinear")
        return (image - self.mean) / self.std


def photo_values(private: SaliencyModel, objectives: Sequence[Objective], layer: str | None) -> np.ndarray:
    """(B,) each objective's highest value over the bundled sample photos, each preprocessed as the model
    expects."""
    spec = private.spec
    if spec is None:
        raise NeuronError(_("Comparing with the sample photos needs a catalog model."))
    best = np.full(len(objectives), -np.inf, dtype=np.float64)
    with torch.no_grad():
        for sample in sample_images():
            x = preprocess(load_image(sample.path).image, spec).to(private.device)
            out = _read(private.model, spec, layer, x.expand(len(objectives), -1, -1, -1))
            best = np.maximum(best, objective_values(objectives, out).double().cpu().numpy())
    return best


def visualize(
    model: LoadedModel | nn.Module | SaliencyModel,
    spec: ModelSpec | None,
    objectives: Sequence[Objective],
    settings: VisualizationSettings | None = None,
    reporter: Reporter | None = None,
    *,
    compare_with_photos: bool = True,
    channels: int | None = None,
) -> list[FeatureVisualization]:
    """One image per objective, optimised together in one batch (see the module docstring).

    Runs on a private copy of the model (the shared one is only read, under its lock, while copying).
    ``reporter`` receives progress and stops the run when the job is cancelled. A model outside the
    catalog (``spec`` None, e.g. a training-lab network) takes ``channels`` input channels normalised with
    mean 0.5 and standard deviation 0.5, and is not compared with the photos.
    """
    settings = settings or VisualizationSettings()
    settings.check()
    objectives = list(objectives)
    layer = check_objectives(objectives)
    if len(objectives) > MAX_BATCH:
        raise NeuronError(_("At most {limit} images per optimisation.").format(limit=MAX_BATCH))
    private = private_copy(model, spec)
    spec = private.spec
    if layer is not None:
        resolve_layers(private.model, [layer])
    channels = spec.preprocessing.channels if spec is not None else (channels or 3)
    size = settings.size or (spec.input_size if spec is not None else 224)
    device = private.device
    param = ImageParam(
        [o.seed(settings.seed) for o in objectives],
        size,
        channels,
        fft=settings.fft,
        decorrelate=settings.decorrelate,
    ).to(device)
    normalise = _Normalise(spec, channels, size).to(device)
    robustness = STANDARD if settings.transforms else NONE
    generator = torch.Generator().manual_seed(settings.seed)
    optimizer = torch.optim.Adam(param.parameters(), lr=settings.lr)
    curve = np.zeros((settings.steps, len(objectives)), dtype=np.float32)
    start = time.perf_counter()
    every = max(1, settings.steps // 100)
    with torch.enable_grad():
        for step in range(settings.steps):
            optimizer.zero_grad(set_to_none=True)
            image = robustness(param(), generator)
            out = _read(private.model, spec, layer, normalise(image))
            values = objective_values(objectives, out)
            loss = -values.sum()
            if settings.diversity > 0 and out.dim() == 4:
                loss = loss + settings.diversity * len(objectives) * diversity_penalty(out)
            loss.backward()
            optimizer.step()
            curve[step] = values.detach().float().cpu().numpy()
            if reporter is not None and (step % every == 0 or step == settings.steps - 1):
                reporter.update(
                    0.95 * (step + 1) / settings.steps,
                    _("Optimising {count} images: step {step} of {steps}").format(
                        count=len(objectives), step=step + 1, steps=settings.steps
                    ),
                )
    with torch.no_grad():
        final = param()
        reached = objective_values(objectives, _read(private.model, spec, layer, normalise(final)))
        reached = reached.double().cpu().numpy()
    seconds = time.perf_counter() - start
    if reporter is not None:
        reporter.update(0.97, _("Comparing with the sample photos"))
    photos = (
        photo_values(private, objectives, layer)
        if compare_with_photos and spec is not None
        else np.full(len(objectives), np.nan)
    )
    images = final.detach().permute(0, 2, 3, 1).float().cpu().numpy()
    return [
        FeatureVisualization(
            objective=objective,
            image=images[b],
            activation=float(reached[b]),
            photo_activation=float(photos[b]),
            curve=curve[:, b].copy(),
            seconds=seconds,
            batch=len(objectives),
        )
        for b, objective in enumerate(objectives)
    ]


def visualize_cached(
    bench: Workbench,
    loaded: LoadedModel,
    objectives: Sequence[Objective],
    settings: VisualizationSettings,
    reporter: Reporter | None = None,
) -> list[FeatureVisualization]:
    """:func:`visualize` through the workbench's result cache, one entry per (model, objective, settings):
    only the objectives not seen before are optimised, together in one batch."""
    keys = [(loaded.key, None, ANALYSIS, (objective, settings)) for objective in objectives]
    found = {}
    for objective, key in zip(objectives, keys):
        hit, value = bench.results.get(key)
        if hit:
            found[objective] = value
    missing = [o for o in objectives if o not in found]
    if missing:
        for result in visualize(loaded, loaded.spec, missing, settings, reporter):
            found[result.objective] = result
            bench.results.put((loaded.key, None, ANALYSIS, (result.objective, settings)), result)
    if reporter is not None:
        reporter.update(1.0, _("done"))
    return [found[o] for o in objectives]


def cached_visualizations(
    bench: Workbench, loaded: LoadedModel, objectives: Sequence[Objective], settings: VisualizationSettings
) -> list[FeatureVisualization] | None:
    """The results :func:`visualize_cached` kept for every one of ``objectives``, or None when any is
    missing (nothing is computed)."""
    found = []
    for objective in objectives:
        hit, value = bench.results.get((loaded.key, None, ANALYSIS, (objective, settings)))
        if not hit:
            return None
        found.append(value)
    return found


def visualization_job(
    bench: Workbench,
    loaded: LoadedModel,
    objectives: Sequence[Objective],
    settings: VisualizationSettings,
    *,
    estimate_s: float | None = None,
) -> Job[list[FeatureVisualization]]:
    """:func:`visualize_cached` as a :class:`cvviz.jobs.Job` (progress, cancel, time limit)."""
    objectives = tuple(objectives)
    return Job(
        _("Feature visualisation"),
        lambda reporter: visualize_cached(bench, loaded, objectives, settings, reporter),
        estimate_s=estimate_s,
    )


def estimate_seconds(
    forward_s: float, spec: ModelSpec, images: int, settings: VisualizationSettings
) -> float:
    """Roughly how long :func:`visualize` takes, from one forward pass of one image (``forward_s``): a
    forward and a backward pass (about three forwards) per image and step, scaled by the pixel count."""
    size = settings.size or spec.input_size
    return forward_s * 3 * images * settings.steps * (size / spec.input_size) ** 2


def conv_layers(model: nn.Module) -> list[str]:
    """The names of ``model``'s convolutions, in order: the layers whose channels can be visualised on a
    small network outside the catalog."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def across_models(
    models: Sequence[tuple[str, nn.Module]],
    objective: Objective,
    settings: VisualizationSettings,
    reporter: Reporter | None = None,
    *,
    channels: int = 1,
) -> list[tuple[str, FeatureVisualization]]:
    """The same objective visualised on each (label, network) of ``models`` (e.g. the training lab's runs,
    early and late), with the same seed, so the differences come from the weights alone."""
    results = []
    for n, (label, model) in enumerate(models):
        part = reporter.part(n / len(models), (n + 1) / len(models)) if reporter is not None else None
        (result,) = visualize(model, None, [objective], settings, part, channels=channels)
        results.append((label, result))
    return results
