"""What every attribution method shares: the method interface, its options, and the result.

One method per module behind :class:`AttributionMethod`, as Captum keeps one algorithm per file; the
registry in :mod:`.methods` lists them in the order the app offers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import torch

from cvviz.catalog.registry import get_family
from cvviz.errors import CvvizError
from cvviz.hooks import before_each_forward
from cvviz.i18n import _

if TYPE_CHECKING:
    from cvviz.catalog.schema import ModelSpec
    from cvviz.explain.saliency.private_model import SaliencyModel
    from cvviz.jobs import Reporter


class SaliencyError(CvvizError, ValueError):
    """A saliency request that cannot be met (unknown method, target out of range, unusable layer)."""


BaselineKind = Literal["black", "blur", "noise"]
BASELINES: tuple[str, ...] = ("black", "blur", "noise")


@dataclass(frozen=True)
class SaliencyOptions:
    """The main parameters of every method (each method reads only its own).

    ``steps``/``internal_batch_size``: Integrated Gradients. ``baseline``: the reference image for IG,
    DeepLift, GradientShap and Occlusion (black, a blurred copy, or uniform noise). ``n_samples``/
    ``stdevs``: SmoothGrad and GradientShap (``stdevs`` as a fraction of the input's value range).
    ``window``/``stride``: Occlusion, in pixels. ``layer``: Grad-CAM's layer (None: the family's
    default). ``relu``: keep only Grad-CAM's positive evidence, as the paper does. ``seed``: every random
    draw (noise, baselines) comes from a generator seeded with it, so a map is reproducible.
    """

    steps: int = 32
    internal_batch_size: int | None = 10
    baseline: BaselineKind = "black"
    n_samples: int = 16
    stdevs: float = 0.15
    window: int = 32
    stride: int = 16
    layer: str | None = None
    relu: bool = True
    seed: int = 0

    def generator(self) -> torch.Generator:
        """A fresh CPU generator seeded with :attr:`seed` (never the process-wide torch seed)."""
        return torch.Generator(device="cpu").manual_seed(self.seed)


class AttributionMethod:
    """One attribution method. ``name`` is its catalog name, ``title`` its display name, ``paper`` the
    publication; ``uses_layer``/``uses_baseline`` say which options it reads; ``layer_map`` that its map is
    one (1, 1, H, W) map over the layer's grid, with no per-channel attribution to keep; ``per_channel``
    that it runs the model once per channel of its layer (slow on wide layers); ``attention`` the attention
    view a model's family must have (``"global"``: ViTs only), None for any model."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    uses_layer: ClassVar[bool] = False
    uses_baseline: ClassVar[bool] = False
    layer_map: ClassVar[bool] = False
    per_channel: ClassVar[bool] = False
    attention: ClassVar[str | None] = None

    def applies_to(self, spec: ModelSpec | None) -> bool:
        """Whether the method can explain the catalog model ``spec`` (a model outside it: try and see)."""
        if self.attention is None or spec is None:
            return True
        return get_family(spec).attention == self.attention and bool(spec.attention_layers)

    def run(
        self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions
    ) -> tuple[torch.Tensor, str | None]:
        """The attribution of ``target`` to ``x`` (1, C, H, W) on the private model: a tensor shaped like
        ``x`` (or (1, 1, H, W) for layer methods), and the layer used (None for input methods)."""
        raise NotImplementedError

    def run_reported(
        self,
        private: SaliencyModel,
        x: torch.Tensor,
        target: int,
        options: SaliencyOptions,
        reporter: Reporter,
    ) -> tuple[torch.Tensor, str | None]:
        """:meth:`run` as part of a job: ``reporter`` is checked before every forward pass of the model, so
        a cancelled job stops before the next one (methods that know their number of passes override
        this to report progress too)."""
        with before_each_forward(private.model, reporter.check):
            return self.run(private, x, target, options)

    def __repr__(self) -> str:
        return f"<attribution method {self.name}>"


@dataclass(frozen=True)
class Attribution:
    """What one method says about one image and one target class.

    ``map``: (H, W) float32 at the model's input resolution, the signed attribution summed over channels
    (positive: evidence for ``target``; use :func:`view` for positive/negative/absolute). ``raw``: the
    per-channel attribution (C, H, W), or None for layer methods. ``layer``: the layer a layer method used.
    """

    map: np.ndarray
    method: str
    target: int
    raw: np.ndarray | None = None
    layer: str | None = None


View = Literal["positive", "negative", "absolute", "signed"]
VIEWS: tuple[str, ...] = ("absolute", "positive", "negative", "signed")


def view(attr_map: np.ndarray, kind: View = "absolute") -> np.ndarray:
    """The map as shown: positive part, magnitude of the negative part, absolute value, or signed."""
    if kind == "positive":
        return np.clip(attr_map, 0, None)
    if kind == "negative":
        return np.clip(-attr_map, 0, None)
    if kind == "absolute":
        return np.abs(attr_map)
    if kind == "signed":
        return attr_map
    raise SaliencyError(
        _("Unknown view {kind!r}; choose one of: {value}.").format(kind=kind, value=", ".join(VIEWS))
    )


def input_spread(x: torch.Tensor, options: SaliencyOptions) -> float:
    """The noise standard deviation: ``options.stdevs`` of the input's value range."""
    return float(options.stdevs * (x.max() - x.min()))
