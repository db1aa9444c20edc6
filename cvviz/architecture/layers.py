"""A backbone's layer table and the shape of the network along depth, from its counted modules.

Every number comes from :func:`cvviz.measure.complexity.measure_complexity` (parameters by ``numel``,
MACs by torch's FLOP counter on the meta device); nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cvviz.catalog.schema import ModelSpec
from cvviz.i18n import _
from cvviz.layouts import layout_of, normalised_shape
from cvviz.measure.complexity import Complexity, LayerCost


@dataclass(frozen=True)
class LayerGroup:
    """A row of the layer table at some depth: a module and everything below it that has no row of its own.

    ``params``/``macs`` are the sums of its members' own costs, so the rows of a table add up to the whole
    model; ``param_share``/``mac_share`` are their fractions of the model's. A *container* row has other
    rows nested below it in the same table (``rows_below`` > 0; its own ``params`` are often 0): the
    ``total_*`` fields count its whole subtree, itself and every row below it, as a reader expects of a
    module. ``output_shape`` includes the batch dimension (None when the module returns no tensor).
    """

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    members: int
    param_share: float
    mac_share: float
    total_params: int = 0
    total_macs: int = 0
    total_members: int = 0
    total_param_share: float = 0.0
    total_mac_share: float = 0.0
    rows_below: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def container(self) -> bool:
        """Whether other rows of the table lie below this one (its totals include theirs)."""
        return self.rows_below > 0


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
    model's module order; their params and MACs add up to ``complexity.params`` and ``complexity.macs``,
    and each container row (a module whose children have rows too) also carries its subtree's totals.
    """
    by_name = {row.name: row for row in complexity.layers}
    groups: dict[str, list[LayerCost]] = {}
    for row in complexity.layers:
        groups.setdefault(_group_key(row, depth), []).append(row)
    own = {key: (sum(m.params for m in ms), sum(m.macs for m in ms), len(ms)) for key, ms in groups.items()}
    # Each row's cost also counts towards every ancestor that has a row: (params, macs, modules, rows).
    subtree = {key: [*own[key], 0] for key in groups}
    for key in groups:
        parts = key.split(".") if key in by_name else []
        for end in range(1, len(parts)):
            ancestor = ".".join(parts[:end])
            if ancestor in subtree:
                totals = subtree[ancestor]
                totals[0] += own[key][0]
                totals[1] += own[key][1]
                totals[2] += own[key][2]
                totals[3] += 1

    def share(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    result = []
    for key, members in groups.items():
        params, macs, count = own[key]
        total_params, total_macs, total_members, rows_below = subtree[key]
        head = by_name.get(key, members[0])
        result.append(
            LayerGroup(
                name=key,
                type=head.type,
                output_shape=head.output_shape,
                params=params,
                macs=macs,
                members=count,
                param_share=share(params, complexity.params),
                mac_share=share(macs, complexity.macs),
                total_params=total_params,
                total_macs=total_macs,
                total_members=total_members,
                total_param_share=share(total_params, complexity.params),
                total_mac_share=share(total_macs, complexity.macs),
                rows_below=rows_below,
            )
        )
    return tuple(result)


# --- The shape of the network ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfilePoint:
    """The feature map after one stage: ``channels`` × ``height`` × ``width`` (for tokens: width D and a
    √N × √N grid); ``tokens`` is the sequence length for token outputs (class token included), else None.
    ``name`` is the module; ``label`` what a reader calls the stage ("stem", "stage 2"; the name if none)."""

    name: str
    channels: int
    height: int
    width: int
    tokens: int | None
    layout: str
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name

    @property
    def positions(self) -> int:
        return self.height * self.width


def network_profile(
    spec: ModelSpec, complexity: Complexity, labels: Sequence[str] = ()
) -> tuple[ProfilePoint, ...]:
    """Resolution and width along depth: the input, then each of ``spec.stages``' outputs, labelled by
    ``labels`` (one per stage, e.g. the family's ``stage_labels(spec)``; module names without them).

    A CNN shows a pyramid (resolution falls, channels grow); a ViT a flat column (the same token count
    and width after the patch embedding). Swin's channels-last outputs are read as NHWC.
    """
    shapes = {row.name: row.output_shape for row in complexity.layers}
    _batch, c, h, w = complexity.input_shape
    points = [ProfilePoint(_("input"), c, h, w, None, "image", "input")]
    names = dict(zip(spec.stages, labels))
    for stage in spec.stages:
        shape = shapes.get(stage)
        if shape is None:
            continue
        channels, height, width = normalised_shape(shape)
        kind = layout_of(shape)
        tokens = shape[1] if kind in ("tokens", "tokens+cls") else None
        points.append(ProfilePoint(stage, channels, height, width, tokens, kind, names.get(stage, "")))
    return tuple(points)
