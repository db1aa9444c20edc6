"""A backbone's layer table and the shape of the network along depth, from its counted modules.

Every number comes from :func:`cvviz.measure.complexity.measure_complexity` (parameters by ``numel``,
MACs by torch's FLOP counter on the meta device); nothing is typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from cvviz.catalog.schema import ModelSpec
from cvviz.layouts import layout_of, normalised_shape
from cvviz.measure.complexity import Complexity, LayerCost


@dataclass(frozen=True)
class LayerGroup:
    """A row of the layer table at some depth: a module and everything below it.

    ``params``/``macs`` are the sums of its members' own costs, so the rows of a table add up to the whole
    model; ``share`` is its fraction of the model's MACs (of parameters when the model has no MACs).
    ``output_shape`` includes the batch dimension (None when the module returns no tensor).
    """

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    members: int
    param_share: float
    mac_share: float

    @property
    def flops(self) -> int:
        return 2 * self.macs


def _group_key(row: LayerCost, depth: int) -> str:
    if row.depth < 0:
        return row.name
    return ".".join(row.name.split(".")[: depth + 1])


def max_depth(complexity: Complexity) -> int:
    """The deepest module's depth (0 = the model's direct children)."""
    return max((row.depth for row in complexity.layers), default=0)


def group_layers(complexity: Complexity, depth: int) -> tuple[LayerGroup, ...]:
    """Aggregate the per-module rows to ``depth``: each group's params/MACs are its members' sums.

    Depth 0 gives one row per top-level child; :func:`max_depth` gives every module. Groups keep the
    model's module order; their totals equal ``complexity.params`` and ``complexity.macs``.
    """
    by_name = {row.name: row for row in complexity.layers}
    groups: dict[str, list[LayerCost]] = {}
    for row in complexity.layers:
        groups.setdefault(_group_key(row, depth), []).append(row)
    result = []
    for key, members in groups.items():
        head = by_name.get(key, members[0])
        params = sum(m.params for m in members)
        macs = sum(m.macs for m in members)
        result.append(
            LayerGroup(
                name=key,
                type=head.type,
                output_shape=head.output_shape,
                params=params,
                macs=macs,
                members=len(members),
                param_share=params / complexity.params if complexity.params else 0.0,
                mac_share=macs / complexity.macs if complexity.macs else 0.0,
            )
        )
    return tuple(result)


# --- The shape of the network ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfilePoint:
    """The feature map after one stage: ``channels`` × ``height`` × ``width`` (for tokens: width D and a
    √N × √N grid); ``tokens`` is the sequence length for token outputs (class token included), else None."""

    name: str
    channels: int
    height: int
    width: int
    tokens: int | None
    layout: str

    @property
    def positions(self) -> int:
        return self.height * self.width


def network_profile(spec: ModelSpec, complexity: Complexity) -> tuple[ProfilePoint, ...]:
    """Resolution and width along depth: the input, then each of ``spec.stages``' outputs.

    A CNN shows a pyramid (resolution falls, channels grow); a ViT a flat column (the same token count
    and width after the patch embedding). Swin's channels-last outputs are read as NHWC.
    """
    shapes = {row.name: row.output_shape for row in complexity.layers}
    _, c, h, w = complexity.input_shape
    points = [ProfilePoint("input", c, h, w, None, "image")]
    for stage in spec.stages:
        shape = shapes.get(stage)
        if shape is None:
            continue
        channels, height, width = normalised_shape(shape)
        kind = layout_of(shape)
        tokens = shape[1] if kind in ("tokens", "tokens+cls") else None
        points.append(ProfilePoint(stage, channels, height, width, tokens, kind))
    return tuple(points)
