"""The papers' own scaling experiments, recounted on the models: MobileNet V1's width and resolution
multipliers (beside the numbers Howard et al. printed) and EfficientNet's compound scaling of depth, width
and resolution. Counting is :func:`cvviz.measure.scaling.cost_at`'s; this module only lays the points out
the way each paper did."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cvviz.catalog.registry import get_family, get_spec
from cvviz.i18n import _
from cvviz.measure.profiling import count_row
from cvviz.measure.scaling import ScalingError, cost_at, fit_slope

# --- MobileNet V1: the width multiplier α and the resolution multiplier ρ -------------------------------

MOBILENET_WIDTHS = (1.0, 0.75, 0.5, 0.25)
MOBILENET_SIZES = (224, 192, 160, 128)
MOBILENET_SOURCE = (
    "Howard et al. 2017, MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
    "Applications (arXiv:1704.04861), Table 6 (width multiplier) and Table 7 (resolution multiplier)"
)


@dataclass(frozen=True)
class PublishedCost:
    """A row of a paper's table: mult-adds and parameters (as printed, rounded) and ImageNet top-1 %."""

    macs: float
    params: float
    top1: float


MOBILENET_V1_PUBLISHED: dict[tuple[float, int], PublishedCost] = {
    (1.0, 224): PublishedCost(569e6, 4.2e6, 70.6),
    (0.75, 224): PublishedCost(325e6, 2.6e6, 68.4),
    (0.5, 224): PublishedCost(149e6, 1.3e6, 63.7),
    (0.25, 224): PublishedCost(41e6, 0.5e6, 50.6),
    (1.0, 192): PublishedCost(418e6, 4.2e6, 69.1),
    (1.0, 160): PublishedCost(290e6, 4.2e6, 67.2),
    (1.0, 128): PublishedCost(186e6, 4.2e6, 64.4),
}
"""(α, input size) → the published row, from :data:`MOBILENET_SOURCE`."""


@dataclass(frozen=True)
class GridCell:
    """One (α, ρ) point: counted on the model built with that width at that size, beside the paper's
    figures where the paper prints them (``published`` None elsewhere)."""

    width: float
    size: int
    params: int
    macs: int
    published: PublishedCost | None

    @property
    def macs_error(self) -> float | None:
        """Relative difference of the counted MACs from the paper's (0.01 = 1 % more)."""
        return None if self.published is None else self.macs / self.published.macs - 1

    @property
    def params_error(self) -> float | None:
        return None if self.published is None else self.params / self.published.params - 1


def mobilenet_grid(
    widths: Sequence[float] = MOBILENET_WIDTHS,
    sizes: Sequence[int] = MOBILENET_SIZES,
    name: str = "mobilenet_v1",
) -> list[GridCell]:
    """MobileNet V1 (or another MobileNet) counted at every width × size, width by width."""
    published = MOBILENET_V1_PUBLISHED if name == "mobilenet_v1" else {}
    cells = []
    for width in widths:
        for size in sizes:
            row = cost_at(name, size, width)
            cells.append(GridCell(width, size, row.params, row.macs, published.get((width, size))))
    return cells


# --- EfficientNet: compound scaling of depth, width and resolution --------------------------------------

EFFICIENTNET_B = tuple(f"efficientnet_b{v}" for v in range(8))
EFFICIENTNET_LITE = tuple(f"efficientnet_lite{v}" for v in range(3))


@dataclass(frozen=True)
class CompoundRow:
    """One variant's depth (blocks), width (channels of the last block) and resolution, read from the
    model built on meta, each also as a ratio to the series' first; MACs at its native size; published
    top-1 with its source (None when the catalog has none)."""

    model: str
    title: str
    blocks: int
    channels: int
    size: int
    depth_ratio: float
    width_ratio: float
    resolution_ratio: float
    params: int
    macs: int
    acc1: float | None
    accuracy_source: str | None

    def to_record(self) -> dict:
        return asdict(self)


def compound_scaling(names: Sequence[str] = EFFICIENTNET_B) -> list[CompoundRow]:
    """Depth, width and resolution of each named model (a family that describes them, EfficientNet), with
    its cost and published accuracy; ratios are to the first name's."""
    rows = []
    first = None
    for name in names:
        spec = get_spec(name)
        dimensions = get_family(spec).scaling_dimensions(spec)
        if dimensions is None:
            raise ScalingError(
                _("{title} does not describe its depth and width; EfficientNets do.").format(title=spec.title)
            )
        blocks, channels = dimensions
        first = first or (blocks, channels, spec.input_size)
        counted = count_row(name)
        rows.append(
            CompoundRow(
                model=spec.name,
                title=spec.title,
                blocks=blocks,
                channels=channels,
                size=spec.input_size,
                depth_ratio=blocks / first[0],
                width_ratio=channels / first[1],
                resolution_ratio=spec.input_size / first[2],
                params=counted.params,
                macs=counted.macs,
                acc1=counted.acc1,
                accuracy_source=counted.accuracy_source,
            )
        )
    return rows


def compound_exponent(rows: Sequence[CompoundRow]) -> float:
    """How MACs grow with the compound coefficient: the paper expects FLOPs ∝ (α·β²·γ²)^φ ≈ 2^φ; fitted
    here as the slope of log₂ MACs against log₂(depth · width² · resolution²) (1.0 = as the formula says)."""
    xs = [r.depth_ratio * r.width_ratio**2 * r.resolution_ratio**2 for r in rows]
    return fit_slope(xs, [r.macs for r in rows]) if len(set(xs)) > 1 else math.nan
